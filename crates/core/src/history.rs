//! A recorded transition read back from the history, and the questions asked of it. The
//! queries themselves are `peerwatch-aws`'s (module `history`).

use serde::Serialize;

use crate::model::{Ack, FieldChange, Timestamp};

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Peer(String),
    RouteServer(String),
    Fleet,
}

/// One question to the history: a scope, a time window (both ends included) and at most
/// `limit` rows, newest first.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    pub scope: Scope,
    pub since: Timestamp,
    pub until: Timestamp,
    pub limit: Option<usize>,
}

/// One `PeerTransitions` item. Serialised as the CLI's JSON (camelCase, stable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    pub route_server_peer_id: String,
    pub observed_at: Timestamp,
    pub route_server_id: String,
    /// `discovered`, `changed`, `vanished`, or what the alert rules and operators add
    /// (`reminder`, `settled`, `unmuted`, `acknowledged`).
    pub kind: String,
    /// `poll` or `log`: which path recorded it (absent in items written before there were
    /// two).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A peer log record older than the peer's last change when it arrived: kept here, not
    /// applied to `PeerState`, never notified.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    pub changes: Vec<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_to: Option<String>,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub notification_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_observed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_duration_seconds: Option<i64>,
    pub version: u64,
    /// An acknowledgement's who and why (`AckedBy`, `AckReason`; `at` is its `ObservedAt`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack: Option<Ack>,
}

/// Where a listing stopped: the last row of a page. The next page starts after it. Written
/// as `ObservedAt,RouteServerPeerId` for the command line (`--starting-token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub observed_at: Timestamp,
    pub route_server_peer_id: String,
}

impl Cursor {
    pub fn after(row: &HistoryRow) -> Self {
        Cursor {
            observed_at: row.observed_at,
            route_server_peer_id: row.route_server_peer_id.clone(),
        }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.observed_at, self.route_server_peer_id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a token printed by `peerwatch history` (TIME,PEER_ID)");
        let (time, peer) = s.trim().split_once(',').ok_or_else(bad)?;
        if peer.is_empty() || peer.contains(',') {
            return Err(bad());
        }
        Ok(Cursor {
            observed_at: time.parse().map_err(|_| bad())?,
            route_server_peer_id: peer.to_string(),
        })
    }
}
