//! Route server peer log records (`EVENT_LOGS`): parsed, and applied to a peer's last known
//! state between polls (docs/design.md, "Between polls: peer logs").
//!
//! A record says what changed and when (`event_timestamp`, ms), never what the peer's
//! `State` is: the poll stays the safety net and the only source of `State` and
//! `FailureReason`. Each record is applied at its own time, exactly once whichever path saw
//! the change first ([`apply`]).
//!
//! The records arrive as CloudWatch Logs delivers a subscription (`{"awslogs": {"data":
//! base64(gzip(JSON))}}`, [`decode_subscription`]) or as JSON lines, the form S3 and Firehose
//! deliveries hold ([`LogRecord::parse`] per line).

use std::io::Read;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::ids::RouteServerPeerId;
use crate::model::{Field, Timestamp};

mod apply;
pub use apply::{Applied, LateRecord, apply};

/// Which session a status record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Session {
    Bgp,
    Bfd,
}

impl Session {
    /// The `PeerState` field the record changes.
    pub fn field(self) -> Field {
        match self {
            Session::Bgp => Field::BgpStatus,
            Session::Bfd => Field::BfdStatus,
        }
    }
}

/// What a `RouteStatus` record says happened to one of the peer's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteChange {
    Advertised,
    Updated,
    Withdrawn,
}

impl RouteChange {
    pub fn as_str(self) -> &'static str {
        match self {
            RouteChange::Advertised => "advertised",
            RouteChange::Updated => "updated",
            RouteChange::Withdrawn => "withdrawn",
        }
    }
}

/// The route a `RouteStatus` record carries in its `message`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoggedRoute {
    pub prefix: String,
    pub as_path: Option<String>,
    pub med: Option<i64>,
    pub next_hop_ip: Option<String>,
}

/// What one record says happened.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Happened {
    /// A BGP or BFD session went up or down; the status as `PeerState` writes it (`up`, `down`).
    Session { session: Session, status: String },
    Route {
        change: RouteChange,
        route: LoggedRoute,
    },
}

/// One peer log record, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRecord {
    pub peer_id: RouteServerPeerId,
    /// `event_timestamp`: when the change happened, by the route server's clock.
    pub at: Timestamp,
    pub happened: Happened,
}

/// Why one record cannot be applied. Each names the field at fault; a record that fails is
/// skipped and counted, and the rest of its batch is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record is not JSON: {0}")]
    NotJson(String),
    #[error("the record is not a JSON object")]
    NotAnObject,
    #[error("the record has no {0}")]
    Missing(&'static str),
    #[error("{field} must be {expected}, got {got}")]
    Invalid {
        field: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error(
        "resource_arn {0:?} is not a route server peer's ARN (arn:aws:ec2:REGION:ACCOUNT:route-server-peer/rsp-...)"
    )]
    NotAPeer(String),
    #[error("unknown type {0:?} (expected BGPStatus, BFDStatus or RouteStatus)")]
    UnknownType(String),
    #[error("unknown {kind} status {status:?}")]
    UnknownStatus { kind: &'static str, status: String },
}

impl LogRecord {
    /// One record from its JSON text (a log event's `message`, or one JSON line).
    pub fn parse(text: &str) -> Result<LogRecord, RecordError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| RecordError::NotJson(e.to_string()))?;
        LogRecord::from_value(&value)
    }

    pub fn from_value(v: &Value) -> Result<LogRecord, RecordError> {
        let obj = v.as_object().ok_or(RecordError::NotAnObject)?;
        let field = |name: &'static str| obj.get(name).filter(|v| !v.is_null());
        let text = |name: &'static str| -> Result<&str, RecordError> {
            let v = field(name).ok_or(RecordError::Missing(name))?;
            v.as_str().ok_or_else(|| RecordError::Invalid {
                field: name,
                expected: "a string",
                got: shown(v),
            })
        };
        let arn = text("resource_arn")?;
        let peer_id = peer_of_arn(arn).ok_or_else(|| RecordError::NotAPeer(cut(arn)))?;
        let ms = field("event_timestamp").ok_or(RecordError::Missing("event_timestamp"))?;
        let at = ms
            .as_i64()
            .and_then(Timestamp::from_millis)
            .ok_or_else(|| RecordError::Invalid {
                field: "event_timestamp",
                expected: "epoch milliseconds",
                got: shown(ms),
            })?;
        let kind = text("type")?;
        let status = text("status")?;
        let session = |session: Session, kind: &'static str| match status {
            "UP" | "DOWN" => Ok(Happened::Session {
                session,
                status: status.to_ascii_lowercase(),
            }),
            other => Err(RecordError::UnknownStatus {
                kind,
                status: cut(other),
            }),
        };
        let happened = match kind {
            "BGPStatus" => session(Session::Bgp, "BGPStatus")?,
            "BFDStatus" => session(Session::Bfd, "BFDStatus")?,
            "RouteStatus" => {
                let change = match status {
                    "ADVERTISED" => RouteChange::Advertised,
                    "UPDATED" => RouteChange::Updated,
                    "WITHDRAWN" => RouteChange::Withdrawn,
                    other => {
                        return Err(RecordError::UnknownStatus {
                            kind: "RouteStatus",
                            status: cut(other),
                        });
                    }
                };
                let route = route_of(field("message").ok_or(RecordError::Missing("message"))?)?;
                Happened::Route { change, route }
            }
            other => return Err(RecordError::UnknownType(cut(other))),
        };
        Ok(LogRecord {
            peer_id,
            at,
            happened,
        })
    }
}

fn route_of(message: &Value) -> Result<LoggedRoute, RecordError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Message {
        prefix: Option<String>,
        as_path: Option<Value>,
        med: Option<Value>,
        next_hop_ip: Option<String>,
    }
    let invalid = |field, expected| RecordError::Invalid {
        field,
        expected,
        got: shown(message),
    };
    let m: Message = serde_json::from_value(message.clone()).map_err(|_| {
        invalid(
            "message",
            "an object with prefix, asPath, med and nextHopIp",
        )
    })?;
    let prefix = m
        .prefix
        .filter(|p| !p.is_empty())
        .ok_or(RecordError::Missing("message.prefix"))?;
    // AS paths come as "65000 65001"; a number is one AS.
    let as_path = match m.as_path {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(invalid("message.asPath", "a string of AS numbers")),
    };
    let med = match m.med {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(n.as_i64().ok_or(invalid("message.med", "an integer"))?),
        Some(Value::String(s)) => Some(
            s.parse()
                .map_err(|_| invalid("message.med", "an integer"))?,
        ),
        Some(_) => return Err(invalid("message.med", "an integer")),
    };
    Ok(LoggedRoute {
        prefix,
        as_path,
        med,
        next_hop_ip: m.next_hop_ip,
    })
}

/// The peer id of `arn:PARTITION:ec2:REGION:ACCOUNT:route-server-peer/rsp-...`.
pub fn peer_of_arn(arn: &str) -> Option<RouteServerPeerId> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    let id = resource.strip_prefix("route-server-peer/")?;
    let shaped = scheme == "arn"
        && partition.starts_with("aws")
        && service == "ec2"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    shaped.then(|| RouteServerPeerId::parse(id).ok()).flatten()
}

/// A value for an error message, cut short: a record can be large, and the error must stay
/// one readable line.
fn shown(v: &Value) -> String {
    cut(&v.to_string())
}

/// At most about 80 characters as an error shows them (`{:?}` escapes some as up to ten).
fn cut(text: &str) -> String {
    let mut shown = 0;
    for (i, c) in text.char_indices() {
        shown += c.escape_debug().count();
        if shown > 80 {
            return format!("{}...", &text[..i]);
        }
    }
    text.to_string()
}

/// One CloudWatch Logs subscription delivery, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// `DATA_MESSAGE`, or `CONTROL_MESSAGE` (CloudWatch Logs checking that it can deliver:
    /// it carries no records).
    pub message_type: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub log_group: String,
    #[serde(default)]
    pub log_stream: String,
    #[serde(default)]
    pub log_events: Vec<SubscriptionEvent>,
}

/// One log event of a subscription: its `message` is one peer log record's JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscriptionEvent {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub timestamp: i64,
    pub message: String,
}

impl Subscription {
    pub fn is_control(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

/// Why an `awslogs` payload cannot be read at all. Nothing of it is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("awslogs.data is not base64: {0}")]
    NotBase64(String),
    #[error("awslogs.data is not gzip: {0}")]
    NotGzip(String),
    #[error("awslogs.data is not a CloudWatch Logs subscription's JSON: {0}")]
    NotJson(String),
    #[error("awslogs.data unpacks to more than {MAX_UNPACKED} bytes")]
    TooLarge,
}

/// Why a file of records cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("it starts as gzip but does not unpack: {0}")]
    NotGzip(String),
    #[error("it is not UTF-8 text: {0}")]
    NotText(String),
}

/// A subscription unpacks to at most this. CloudWatch Logs sends at most 1 MB of events per
/// delivery, so anything far larger is not one of its payloads.
pub const MAX_UNPACKED: u64 = 16 * 1024 * 1024;

/// `awslogs.data` (base64 of gzip of the subscription JSON), decoded.
pub fn decode_subscription(data: &str) -> Result<Subscription, PayloadError> {
    let packed = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| PayloadError::NotBase64(e.to_string()))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(packed.as_slice())
        .take(MAX_UNPACKED + 1)
        .read_to_end(&mut json)
        .map_err(|e| PayloadError::NotGzip(e.to_string()))?;
    if json.len() as u64 > MAX_UNPACKED {
        return Err(PayloadError::TooLarge);
    }
    serde_json::from_slice(&json).map_err(|e| PayloadError::NotJson(e.to_string()))
}

/// What a batch of records holds once parsed: the records in time order, and those that
/// could not be parsed, with why.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<LogRecord>,
    pub skipped: Vec<(usize, RecordError)>,
}

impl Batch {
    /// Parses each text as one record (numbered from 1 in `skipped`), then orders them by
    /// time, so a batch's own order never matters. Exact duplicates are applied once.
    pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Batch {
        let mut batch = Batch::default();
        for (i, text) in texts.into_iter().enumerate() {
            match LogRecord::parse(text) {
                Ok(r) => batch.records.push(r),
                Err(e) => batch.skipped.push((i + 1, e)),
            }
        }
        batch.sort();
        batch
    }

    pub fn of_subscription(s: &Subscription) -> Batch {
        Batch::parse(s.log_events.iter().map(|e| e.message.as_str()))
    }

    /// JSON lines, numbered from 1 in `skipped`; blank lines are not records, and a line may
    /// hold several records back to back (a delivery that was not given a newline delimiter).
    pub fn of_lines(text: &str) -> Batch {
        let mut batch = Batch::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let mut values = serde_json::Deserializer::from_str(line).into_iter::<Value>();
            let mut parsed = Vec::new();
            let failed = loop {
                match values.next() {
                    None => break None,
                    Some(Ok(v)) => parsed.push(v),
                    Some(Err(e)) => break Some(RecordError::NotJson(e.to_string())),
                }
            };
            if let Some(e) = failed {
                batch.skipped.push((i + 1, e));
                continue;
            }
            for v in parsed {
                match LogRecord::from_value(&v) {
                    Ok(r) => batch.records.push(r),
                    Err(e) => batch.skipped.push((i + 1, e)),
                }
            }
        }
        batch.sort();
        batch
    }

    /// A file of JSON lines as S3 or Firehose deliveries hold it: plain, or gzip (`.log.gz`,
    /// told by its first bytes).
    pub fn of_file(bytes: &[u8]) -> Result<Batch, FileError> {
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .map_err(|e| FileError::NotGzip(e.to_string()))?;
            String::from_utf8(out)
        } else {
            String::from_utf8(bytes.to_vec())
        };
        let text = text.map_err(|e| FileError::NotText(e.to_string()))?;
        Ok(Batch::of_lines(&text))
    }

    fn sort(&mut self) {
        // Stable: two records of one peer in the same millisecond keep their delivery order.
        self.records
            .sort_by(|a, b| (a.at, &a.peer_id).cmp(&(b.at, &b.peer_id)));
        let mut seen = std::collections::HashSet::new();
        self.records.retain(|r| seen.insert(r.clone()));
    }
}

#[cfg(test)]
mod tests;
