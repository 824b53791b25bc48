//! Records as the tables hold them, for tests outside the core.

use peerwatch_core::model::{Health, PeerRecord, Timestamp};
use serde_json::json;

/// A `PeerState` record as the table holds it, first seen and last changed at `at_ms` (built
/// from JSON, so fields the record gains later with defaults need no change here).
pub fn peer_record(
    peer: &str,
    rs: &str,
    health: Health,
    bgp: &str,
    present: bool,
    at_ms: i64,
) -> PeerRecord {
    let at = Timestamp::from_millis(at_ms)
        .expect("a time in range")
        .to_string();
    serde_json::from_value(json!({
        "routeServerPeerId": peer, "routeServerId": rs, "routeServerEndpointId": "rse-1",
        "vpcId": "vpc-1", "subnetId": "subnet-1", "peerAddress": "10.0.0.5", "peerAsn": 65001,
        "peerLivenessDetection": "bgp-keepalive", "endpointEniId": "eni-1",
        "endpointEniAddress": "10.0.0.4", "state": "available", "bgpStatus": bgp,
        "bfdStatus": null, "failureReason": null, "tags": {},
        "firstSeenAt": at, "lastChangedAt": at, "present": present, "version": 1,
        "health": health, "openAlert": null,
    }))
    .expect("a PeerRecord")
}
