//! Publishing a rendered notification (`peerwatch_core::render`): one SNS `Publish` with
//! `MessageStructure=json`.

use aws_sdk_sns::operation::publish::PublishError as SnsPublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use peerwatch_core::render::Notification;

/// Why a notification could not be published. The SDK error is kept whole as the source.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("SNS Publish to {topic_arn} failed")]
    Sns {
        topic_arn: String,
        #[source]
        source: Box<aws_sdk_sns::error::SdkError<SnsPublishError>>,
    },
    #[error("invalid message attribute {name}")]
    Attribute {
        name: String,
        #[source]
        source: aws_smithy_types::error::operation::BuildError,
    },
    #[error("SNS Publish to {topic_arn} returned no MessageId")]
    NoMessageId { topic_arn: String },
}

impl PublishError {
    /// The SDK's error, when the call itself failed (to inspect codes or retryability).
    pub fn sdk_error(&self) -> Option<&aws_sdk_sns::error::SdkError<SnsPublishError>> {
        match self {
            PublishError::Sns { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Publishes `n` to `topic_arn` with `MessageStructure=json` and returns the `MessageId`.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    n: &Notification,
) -> Result<String, PublishError> {
    let mut request = sns
        .publish()
        .topic_arn(topic_arn)
        .message_structure("json")
        .subject(&n.subject)
        .message(&n.message);
    for (name, value) in &n.attributes {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|source| PublishError::Attribute {
                name: name.clone(),
                source,
            })?;
        request = request.message_attributes(name, attribute);
    }
    let output = request.send().await.map_err(|source| PublishError::Sns {
        topic_arn: topic_arn.to_string(),
        source: Box::new(source),
    })?;
    output.message_id.ok_or_else(|| PublishError::NoMessageId {
        topic_arn: topic_arn.to_string(),
    })
}
