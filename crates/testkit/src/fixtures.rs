//! Records as the tables hold them, for tests outside the core.

use peerwatch_core::model::{AlertState, Health, PeerRecord, PeerSnapshot, Timestamp};

/// A present-or-not peer of route server `rs`, `available` with BGP `bgp` and liveness
/// `bgp-keepalive`, first seen and last changed at `at_ms`, with `health` recorded.
pub fn peer_record(
    peer: &str,
    rs: &str,
    health: Health,
    bgp: &str,
    present: bool,
    at_ms: i64,
) -> PeerRecord {
    let at = Timestamp::from_millis(at_ms).expect("a time in range");
    PeerRecord {
        peer: PeerSnapshot {
            route_server_peer_id: peer.into(),
            route_server_id: rs.into(),
            route_server_endpoint_id: "rse-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-1".into(),
            peer_address: "10.0.0.5".into(),
            peer_asn: Some(65001),
            peer_liveness_detection: "bgp-keepalive".into(),
            endpoint_eni_id: "eni-1".into(),
            endpoint_eni_address: "10.0.0.4".into(),
            state: "available".into(),
            bgp_status: Some(bgp.into()),
            ..PeerSnapshot::default()
        },
        first_seen_at: at,
        last_changed_at: at,
        present,
        version: 1,
        sessions_changed_at: Default::default(),
        health,
        open_alert: None,
        alerting: AlertState::default(),
    }
}
