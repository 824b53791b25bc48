//! Maintenance mutes: what they cover and until when. Set with `peerwatch mute` and stored
//! beside the peers (`peerwatch-aws`, module `mutes`), or set on a peer by its tag
//! [`MUTE_TAG`]. [`crate::detect::Rules::muted`] applies them.

use std::fmt;

use serde::Serialize;

use crate::ids::{IdError, RouteServerId, RouteServerPeerId};
use crate::model::{PeerSnapshot, Timestamp};

/// The tag that mutes a peer: `true`, or the RFC 3339 time the mute ends.
pub const MUTE_TAG: &str = "peerwatch:mute";

/// What a mute covers: one peer, or every peer of one route server (peers added to it later
/// included).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MuteTarget {
    Peer(RouteServerPeerId),
    RouteServer(RouteServerId),
}

impl MuteTarget {
    /// A peer id (`rsp-...`) or a route server id (`rs-...`).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        if s.starts_with(RouteServerPeerId::PREFIX) {
            RouteServerPeerId::parse(s).map(MuteTarget::Peer)
        } else {
            RouteServerId::parse(s).map(MuteTarget::RouteServer)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            MuteTarget::Peer(id) => id.as_str(),
            MuteTarget::RouteServer(id) => id.as_str(),
        }
    }

    /// `peer` or `route server`, for messages and the CLI's `targetType`.
    pub fn kind(&self) -> &'static str {
        match self {
            MuteTarget::Peer(_) => "peer",
            MuteTarget::RouteServer(_) => "route server",
        }
    }

    /// Whether a mute of this target covers `peer`.
    pub fn covers(&self, peer: &PeerSnapshot) -> bool {
        match self {
            MuteTarget::Peer(id) => *id == *peer.route_server_peer_id,
            MuteTarget::RouteServer(id) => *id == *peer.route_server_id,
        }
    }
}

impl fmt::Display for MuteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MuteTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A mute as the poller applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mute {
    pub target: MuteTarget,
    /// `None`: until `peerwatch unmute`.
    pub until: Option<Timestamp>,
}

impl Mute {
    /// Whether the mute still holds at `now` (one without an end holds until unmuted).
    pub fn active(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|u| now < u)
    }
}

/// A stored mute: what the poller applies ([`Mute`]) and who set it, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MuteRecord {
    #[serde(flatten)]
    pub mute: Mute,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub created_by: String,
}

impl MuteRecord {
    /// Whether the mute still holds at `now`.
    pub fn active(&self, now: Timestamp) -> bool {
        self.mute.active(now)
    }
}

/// What the tag [`MUTE_TAG`] says: `Some(None)` for `true` (until the tag is removed),
/// `Some(Some(end))` for an RFC 3339 time, `None` for anything else, which mutes nothing.
pub fn tag_mute(value: &str) -> Option<Option<Timestamp>> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Some(None)
    } else {
        v.parse::<Timestamp>().ok().map(Some)
    }
}

/// The tag's value on these tags, if any.
pub fn tag_value(tags: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    tags.get(MUTE_TAG).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_a_peer_or_a_route_server() {
        let peer = MuteTarget::parse("rsp-0a1").unwrap();
        assert!(matches!(peer, MuteTarget::Peer(_)));
        assert_eq!((peer.as_str(), peer.kind()), ("rsp-0a1", "peer"));
        let rs = MuteTarget::parse(" rs-0a1 ").unwrap();
        assert_eq!((rs.as_str(), rs.kind()), ("rs-0a1", "route server"));
        for bad in ["", "rsp-", "vpc-1", "rs-0a#1"] {
            assert!(MuteTarget::parse(bad).is_err(), "{bad:?}");
        }
        let p = PeerSnapshot {
            route_server_peer_id: "rsp-0a1".into(),
            route_server_id: "rs-0a1".into(),
            ..Default::default()
        };
        assert!(peer.covers(&p) && rs.covers(&p));
        assert!(!MuteTarget::parse("rs-other").unwrap().covers(&p));
    }

    #[test]
    fn json_names_target_and_until_in_camel_case() {
        let r = MuteRecord {
            mute: Mute {
                target: MuteTarget::parse("rsp-1").unwrap(),
                until: None,
            },
            reason: Some("maintenance".into()),
            created_at: "2026-11-25T19:05:00.123Z".parse().unwrap(),
            created_by: "ops".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"target": "rsp-1", "until": null, "reason": "maintenance",
                "createdAt": "2026-11-25T19:05:00.123Z", "createdBy": "ops"})
        );
    }
}
