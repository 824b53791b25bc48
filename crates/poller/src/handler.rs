//! The Lambda handler: checks the payload before any AWS call, then runs one poll cycle, or,
//! for a CloudWatch Logs subscription (`{"awslogs": {"data": ...}}`), applies its peer log
//! records; answers what it did.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent};
use peerwatch_aws::config::Config;
use peerwatch_aws::cycle::{CycleError, Poller, RunOptions};
use peerwatch_aws::peer_logs::{ConsumeError, LogSummary};
use peerwatch_core::error_chain;
use peerwatch_core::ids::RouteServerId;
use peerwatch_core::metrics::{self, PeerHealth};
use peerwatch_core::peer_logs::{Batch, PayloadError, decode_subscription};
use peerwatch_core::summary::Summary;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("poll cycle failed")]
    Cycle(#[from] CycleError),
    #[error("invalid CloudWatch Logs payload")]
    InvalidLogs(#[from] PayloadError),
    #[error("peer log batch failed")]
    Consume(#[from] ConsumeError),
}

/// What an invocation did: a poll cycle's summary, or a peer log batch's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Poll(Summary),
    PeerLogs(LogSummary),
}

impl Answer {
    pub fn poll(self) -> Option<Summary> {
        match self {
            Answer::Poll(s) => Some(s),
            Answer::PeerLogs(_) => None,
        }
    }

    pub fn peer_logs(self) -> Option<LogSummary> {
        match self {
            Answer::PeerLogs(s) => Some(s),
            Answer::Poll(_) => None,
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        let error_type = match &e {
            HandlerError::InvalidPayload(_) => "InvalidPayload",
            HandlerError::Cycle(CycleError::List(_)) => "ListPeersFailed",
            HandlerError::Cycle(CycleError::LoadStates(_)) => "LoadStatesFailed",
            HandlerError::Cycle(CycleError::Outbox(_)) => "OutboxFailed",
            HandlerError::Cycle(CycleError::Record { .. }) => "RecordFailed",
            HandlerError::Cycle(CycleError::Fabric(_)) => "ListRouteServersFailed",
            HandlerError::Cycle(CycleError::Unread { .. }) => "RoutingDatabaseUnread",
            HandlerError::Cycle(CycleError::Scope { .. }) => "InvalidPayload",
            HandlerError::Cycle(CycleError::PeerLogs(_)) => "EnablePeerLogsFailed",
            HandlerError::InvalidLogs(_) => "InvalidLogsPayload",
            HandlerError::Consume(ConsumeError::Load(_)) => "LoadStatesFailed",
            HandlerError::Consume(_) => "PeerLogsUnrecorded",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: error_chain(&e),
        }
    }
}

/// The payload's options. A scheduled event (EventBridge Scheduler or a classic rule) is an
/// object whose other keys are ignored; the options, when present, must be well-formed. Each
/// option reads its raw JSON value and names itself in its error, so the error says which
/// option is wrong and shows only the start of a large value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// Detect and report; write and publish nothing.
    #[serde(default, deserialize_with = "dry_run")]
    pub dry_run: bool,
    /// Watch only these route servers in this run.
    #[serde(default, deserialize_with = "route_server_ids")]
    pub route_server_ids: Option<Vec<RouteServerId>>,
}

fn dry_run<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        other => Err(serde::de::Error::custom(format!(
            "dryRun must be true or false, got {}",
            kind(&other)
        ))),
    }
}

fn route_server_ids<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<RouteServerId>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(ids) if !ids.is_empty() => ids
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(|id| RouteServerId::parse(id).ok())
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "routeServerIds must hold route server ids (rs-...), got {}",
                            shown(v)
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(serde::de::Error::custom(format!(
            "routeServerIds must be a non-empty array of route server ids, got {}",
            shown(&other)
        ))),
    }
}

/// The run options a payload asks for, or why it is rejected.
pub fn options_from_payload(payload: &Value) -> Result<RunOptions, HandlerError> {
    if !payload.is_object() {
        return Err(HandlerError::InvalidPayload(format!(
            "expected a JSON object (a scheduled event or options such as {{\"dryRun\": true}}), got {}",
            kind(payload)
        )));
    }
    let options =
        Payload::deserialize(payload).map_err(|e| HandlerError::InvalidPayload(e.to_string()))?;
    Ok(RunOptions {
        dry_run: options.dry_run,
        route_server_ids: options.route_server_ids,
        deadline: None,
    })
}

/// The offending value for an error message, cut short: a payload can be megabytes, and the
/// error must still be one readable line.
fn shown(v: &Value) -> String {
    const MAX: usize = 80;
    let text = v.to_string();
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({}, {} bytes)", &text[..end], kind(v), text.len())
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

/// The `awslogs.data` of a CloudWatch Logs subscription payload, if it is one. A payload
/// with an `awslogs` key is one, and must be well-formed.
pub fn awslogs_data(payload: &Value) -> Option<Result<&str, HandlerError>> {
    let awslogs = payload.get("awslogs")?;
    Some(awslogs.get("data").and_then(Value::as_str).ok_or_else(|| {
        HandlerError::InvalidPayload(format!(
            "awslogs must be an object with data, a string (base64 of gzip), got {}",
            shown(awslogs)
        ))
    }))
}

pub async fn handle(poller: &Poller, event: LambdaEvent<Value>) -> Result<Answer, HandlerError> {
    if let Some(data) = awslogs_data(&event.payload) {
        let subscription = decode_subscription(data?).inspect_err(|e| {
            tracing::error!(error = %error_chain(e), "peer log payload rejected");
        })?;
        if subscription.is_control() {
            return Ok(Answer::PeerLogs(LogSummary::default()));
        }
        let batch = Batch::of_subscription(&subscription);
        drop(subscription);
        let deadline = deadline_instant(event.context.deadline);
        return Ok(Answer::PeerLogs(poller.consume(batch, deadline).await?));
    }
    handle_poll(poller, event).await.map(Answer::Poll)
}

async fn handle_poll(poller: &Poller, event: LambdaEvent<Value>) -> Result<Summary, HandlerError> {
    let mut opts = options_from_payload(&event.payload)?;
    // Real Lambda always gives a future deadline; a local emulator may send 0 or a fixed
    // small number (cargo-lambda sends 600000), which would defer every write: no deadline then.
    opts.deadline = deadline_instant(event.context.deadline);
    match poller.run_observing(opts).await {
        Ok((summary, peers)) => {
            emit_metrics(
                &summary,
                &peers,
                poller.config(),
                &event.context.env_config.function_name,
            );
            Ok(summary)
        }
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "poll cycle failed");
            Err(e.into())
        }
    }
}

/// Prints a finished cycle's metrics on stdout as CloudWatch Embedded Metric Format lines
/// (see [`metrics`]); CloudWatch Logs extracts the metrics, so no CloudWatch API call is made
/// and the role needs no `cloudwatch:PutMetricData`. Answers how many lines were printed.
///
/// `peers` are the present peers as they stand after the cycle (the cycle already saw them:
/// loading them again would be an extra `Scan`), `function_name` the Lambda's
/// (`event.context.env_config.function_name`).
///
/// The lines go straight to stdout, one JSON object each, not through `tracing`: a tracing
/// event would wrap the document in its own JSON (`{"level": ..., "fields": {...}}`), and
/// CloudWatch looks for `_aws` on the root of the log event. With the function's JSON log
/// format (`LoggingConfig.LogFormat: JSON` in the template), Lambda formats only its own
/// system logs for an OS-only runtime such as `provided.al2023` and does not re-encode
/// application lines that are already JSON, so each line reaches CloudWatch Logs as written
/// (the EMF specification also accepts a document after a Lambda-added prefix). For log-level
/// filtering, a JSON line without a `level` key counts as INFO: the template's
/// `ApplicationLogLevel: INFO` keeps them; a level of WARN or above would drop the metrics.
pub fn emit_metrics(
    summary: &Summary,
    peers: &[PeerHealth],
    config: &Config,
    function_name: &str,
) -> usize {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    write_metrics(&mut out, summary, peers, config, function_name, now_ms)
}

/// [`emit_metrics`] into any writer, at a given time. A dry run writes nothing (it is a look,
/// not a cycle, and would add a second datapoint to its minute). The lines are built valid by
/// construction; the tests check them against the EMF specification.
pub fn write_metrics(
    out: &mut impl Write,
    summary: &Summary,
    peers: &[PeerHealth],
    config: &Config,
    function_name: &str,
    timestamp_ms: i64,
) -> usize {
    if summary.dry_run {
        return 0;
    }
    let lines = metrics::from_cycle(
        summary,
        peers,
        function_name,
        timestamp_ms,
        config.alerting.peer_metrics,
    )
    .lines();
    let mut written = 0;
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            break;
        }
        written += 1;
    }
    let _ = out.flush();
    written
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
        assert_eq!(
            scoped.route_server_ids,
            Some(vec![RouteServerId::parse("rs-1").unwrap()])
        );
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

    fn metrics_config(peer_metrics: bool) -> Config {
        let peer_metrics = peer_metrics.to_string();
        Config::from_lookup(|k| match k {
            peerwatch_aws::config::PEER_STATE_TABLE => Some("PeerState".into()),
            peerwatch_aws::config::PEER_TRANSITIONS_TABLE => Some("PeerTransitions".into()),
            peerwatch_aws::config::PEER_METRICS => Some(peer_metrics.clone()),
            _ => None,
        })
        .unwrap()
    }

    fn metrics_records() -> Vec<peerwatch_core::model::PeerRecord> {
        use peerwatch_core::model::Health;
        [
            ("rsp-1", "rs-1", Health::Healthy, "up", true),
            ("rsp-2", "rs-1", Health::Down, "down", true),
            ("rsp-3", "rs-2", Health::Healthy, "up", true),
            ("rsp-4", "rs-2", Health::Down, "down", false),
        ]
        .into_iter()
        .map(|(peer, rs, health, bgp, present)| {
            peerwatch_testkit::fixtures::peer_record(
                peer,
                rs,
                health,
                bgp,
                present,
                1_795_000_000_000,
            )
        })
        .collect()
    }

    fn printed(summary: &Summary, peer_metrics: bool) -> (usize, Vec<Value>) {
        let mut out = Vec::new();
        let n = write_metrics(
            &mut out,
            summary,
            &metrics_records()
                .iter()
                .filter_map(PeerHealth::of)
                .collect::<Vec<_>>(),
            &metrics_config(peer_metrics),
            "pw-poller",
            1_795_000_000_000,
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        let lines = text
            .lines()
            .map(|l| {
                peerwatch_testkit::emf::validate_emf_line(l).unwrap_or_else(|e| panic!("{e}: {l}"))
            })
            .collect::<Vec<_>>();
        (n, lines)
    }

    #[test]
    fn metrics_are_printed_one_valid_emf_document_per_line() {
        let summary = Summary {
            transitions_recorded: 2,
            notifications_sent: 1,
            duration_ms: 90,
            ..Summary::default()
        };
        let (n, lines) = printed(&summary, false);
        assert_eq!(n, lines.len());
        // rs-1, rs-2 (its vanished peer counts nowhere), the cycle.
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert_eq!(lines[0]["RouteServerId"], "rs-1");
        assert_eq!(
            (&lines[0]["PeersHealthy"], &lines[0]["PeersDown"]),
            (&json!(1), &json!(1))
        );
        assert_eq!(lines[2]["FunctionName"], "pw-poller");
        assert_eq!(lines[2]["TransitionsRecorded"], 2);

        // PEER_METRICS=true adds one line per present peer.
        let (n, lines) = printed(&summary, true);
        assert_eq!((n, lines.len()), (6, 6));
        let bgp: Vec<(&Value, &Value)> = lines
            .iter()
            .filter(|l| l.get("BgpUp").is_some())
            .map(|l| (&l["RouteServerPeerId"], &l["BgpUp"]))
            .collect();
        assert_eq!(
            bgp,
            [
                (&json!("rsp-1"), &json!(1)),
                (&json!("rsp-2"), &json!(0)),
                (&json!("rsp-3"), &json!(1))
            ]
        );
    }

    #[test]
    fn a_dry_run_prints_no_metrics() {
        let dry = Summary {
            dry_run: true,
            ..Summary::default()
        };
        assert_eq!(printed(&dry, true), (0, vec![]));
    }
}
