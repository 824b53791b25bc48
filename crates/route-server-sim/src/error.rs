//! EC2's error envelope: what every failed Query call answers.

use super::xml::escape;

/// An EC2 API error: HTTP status, code and message, rendered as EC2's `<Response><Errors>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Ec2Error {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Ec2Error {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterValue", message)
    }

    pub fn missing_parameter(name: &str) -> Self {
        Self::client(
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    }

    pub fn incorrect_state(message: impl Into<String>) -> Self {
        Self::client("IncorrectState", message)
    }

    pub fn dry_run() -> Self {
        Self::new(
            412,
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        )
    }

    pub fn to_xml(&self, request_id: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
            escape(&self.code),
            escape(&self.message),
            escape(request_id)
        )
    }
}
