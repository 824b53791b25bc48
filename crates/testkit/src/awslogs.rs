//! Peer log records packed as CloudWatch Logs hands them to a subscription's Lambda:
//! `{"awslogs": {"data": base64(gzip(subscription JSON))}}`, one log event per record.

use std::io::Write;

use base64::Engine;
use serde_json::{Value, json};

/// The log group the stack delivers peer logs to, as a payload names it.
pub const LOG_GROUP: &str = "/peerwatch/peer-logs";

/// The Lambda payload of one delivery of `records` (each one record's JSON object).
pub fn payload(records: &[Value]) -> Value {
    let events: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"id": format!("{:056}", i), "timestamp": r["event_timestamp"].as_i64().unwrap_or(0),
                   "message": r.to_string()})
        })
        .collect();
    let subscription = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": LOG_GROUP,
        "logStream": "peerwatch-route-server-peers", "subscriptionFilters": ["peerwatch-peer-logs"],
        "logEvents": events,
    });
    packed(subscription.to_string().as_bytes())
}

/// `{"awslogs": {"data": base64(gzip(bytes))}}` of any bytes, for malformed payloads too.
pub fn packed(bytes: &[u8]) -> Value {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("writing to memory");
    let gz = gz.finish().expect("writing to memory");
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(gz)}})
}

/// `{"awslogs": {"data": base64(bytes)}}`: base64, but not of gzip.
pub fn not_gzip(bytes: &[u8]) -> Value {
    json!({"awslogs": {"data": base64::engine::general_purpose::STANDARD.encode(bytes)}})
}
