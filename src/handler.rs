//! The Lambda handler: checks the payload before any AWS call, runs one cycle, answers the summary.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::cycle::{CycleError, Poller, RunOptions, Summary, error_chain};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("poll cycle failed")]
    Cycle(#[from] CycleError),
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match &e {
            HandlerError::InvalidPayload(_) => "InvalidPayload",
            HandlerError::Cycle(CycleError::List(_)) => "ListPeersFailed",
            HandlerError::Cycle(CycleError::LoadStates(_)) => "LoadStatesFailed",
            HandlerError::Cycle(CycleError::Outbox(_)) => "OutboxFailed",
            HandlerError::Cycle(CycleError::Record { .. }) => "RecordFailed",
            HandlerError::Cycle(CycleError::Scope { .. }) => "InvalidPayload",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error_chain(&e),
        }
    }
}

/// Payload options. A scheduled event (EventBridge Scheduler or a classic rule) is an object
/// whose other keys are ignored; the options, when present, must be well-formed.
pub fn options_from_payload(payload: &Value) -> Result<RunOptions, HandlerError> {
    let obj = payload.as_object().ok_or_else(|| {
        HandlerError::InvalidPayload(format!(
            "expected a JSON object (a scheduled event or options such as {{\"dryRun\": true}}), got {}",
            kind(payload)
        ))
    })?;
    let dry_run = match obj.get("dryRun") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(HandlerError::InvalidPayload(format!(
                "dryRun must be true or false, got {}",
                kind(other)
            )));
        }
    };
    let route_server_ids = match obj.get("routeServerIds") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) if !ids.is_empty() => Some(
            ids.iter()
                .map(|v| match v.as_str() {
                    Some(id) if id.starts_with("rs-") => Ok(id.to_string()),
                    _ => Err(HandlerError::InvalidPayload(format!(
                        "routeServerIds must hold route server ids (rs-...), got {v}"
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(other) => {
            return Err(HandlerError::InvalidPayload(format!(
                "routeServerIds must be a non-empty array of route server ids, got {other}"
            )));
        }
    };
    Ok(RunOptions {
        dry_run,
        route_server_ids,
        deadline: None,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The Lambda's deadline (epoch milliseconds) as an `Instant`, if it is still ahead.
fn deadline_instant(deadline_ms: u64) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    (deadline_ms > now_ms).then(|| Instant::now() + Duration::from_millis(deadline_ms - now_ms))
}

pub async fn handle(poller: &Poller, event: LambdaEvent<Value>) -> Result<Summary, HandlerError> {
    let mut opts = options_from_payload(&event.payload)?;
    // Real Lambda always gives a future deadline; a local emulator may send 0 or a fixed
    // small number (cargo-lambda sends 600000), which would defer every write: no deadline then.
    opts.deadline = deadline_instant(event.context.deadline);
    match poller.run(opts).await {
        Ok(summary) => Ok(summary),
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "poll cycle failed");
            Err(e.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_scheduled_events_and_options() {
        let scheduler = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}});
        assert!(!options_from_payload(&scheduler).unwrap().dry_run);
        assert!(
            options_from_payload(&json!({"dryRun": true}))
                .unwrap()
                .dry_run
        );
        let scoped = options_from_payload(&json!({"routeServerIds": ["rs-1"]})).unwrap();
        assert_eq!(scoped.route_server_ids, Some(vec!["rs-1".to_string()]));
    }

    #[test]
    fn only_a_deadline_still_ahead_counts() {
        // cargo-lambda's emulator sends a fixed 600000 ms; a real deadline is epoch ms ahead.
        assert!(deadline_instant(0).is_none());
        assert!(deadline_instant(600_000).is_none());
        let in_a_minute = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + 60_000;
        let d = deadline_instant(in_a_minute).unwrap();
        assert!(d > Instant::now() + Duration::from_secs(50));
    }

    #[test]
    fn rejects_malformed_payloads_clearly() {
        for (payload, needle) in [
            (json!([1, 2]), "expected a JSON object"),
            (json!("poll"), "got a string"),
            (json!(null), "got null"),
            (json!({"dryRun": "yes"}), "dryRun must be true or false"),
            (json!({"routeServerIds": "rs-1"}), "routeServerIds must be"),
            (
                json!({"routeServerIds": ["vpc-1"]}),
                "routeServerIds must hold",
            ),
        ] {
            let err = options_from_payload(&payload).unwrap_err().to_string();
            assert!(err.contains(needle), "{payload}: {err}");
        }
    }
}
