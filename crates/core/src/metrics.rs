//! CloudWatch metrics without a CloudWatch call: each cycle's figures as CloudWatch Embedded
//! Metric Format (EMF) documents, one JSON object per log line, which CloudWatch Logs turns into
//! metrics in the namespace `peerwatch`. Pure: the handler prints the lines (see
//! `peerwatch-poller`, `handler::emit_metrics`); nothing here talks to AWS.
//!
//! Lines (docs/data-model.md, "Metrics"):
//! - one per route server, dimension set `[["RouteServerId"]]`: `PeersHealthy`,
//!   `PeersDegraded`, `PeersDown`, `PeersTransitional` (Count), over the peers present in the
//!   listing (a vanished peer counts nowhere; a route server left with none gets no line, so
//!   a deleted route server stops producing, and stops costing, metrics);
//! - one for the cycle, dimension set `[["FunctionName"]]`: `TransitionsRecorded`,
//!   `NotificationsSent` (Count), `CycleDuration` (Milliseconds). The EMF specification allows
//!   an empty dimension set, and a constant `Service` dimension would only repeat the
//!   namespace; either way two stacks in one account and region would pour their cycles into
//!   one metric. The function's name (`<stack>-poller`) keeps each stack's cycles apart, costs
//!   nothing more, and the template's dashboard names it with `${PollerFunction}`;
//! - only with `PEER_METRICS=true`, one per peer, dimension set
//!   `[["RouteServerId", "RouteServerPeerId"]]`: `BgpUp` (1 when BGP is `up`, else 0). A
//!   document carries one value per dimension, so each peer needs its own line. Every peer
//!   is one more custom metric billed each month, hence off by default.
//!
//! The tests check every line this module builds against the EMF specification with
//! `peerwatch-testkit`'s validator (module `emf`); checking is a test's job, not the Lambda's.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::model::{Health, PeerRecord};
use crate::summary::Summary;

/// The CloudWatch namespace of every metric peerwatch emits.
pub const NAMESPACE: &str = "peerwatch";

/// Dimension names, as the template's dashboard searches for them.
pub const DIM_ROUTE_SERVER: &str = "RouteServerId";
pub const DIM_PEER: &str = "RouteServerPeerId";
pub const DIM_FUNCTION: &str = "FunctionName";

/// Per route server, one per health.
pub const PEERS_HEALTHY: &str = "PeersHealthy";
pub const PEERS_DEGRADED: &str = "PeersDegraded";
pub const PEERS_DOWN: &str = "PeersDown";
pub const PEERS_TRANSITIONAL: &str = "PeersTransitional";
/// Per cycle.
pub const TRANSITIONS_RECORDED: &str = "TransitionsRecorded";
pub const NOTIFICATIONS_SENT: &str = "NotificationsSent";
pub const CYCLE_DURATION: &str = "CycleDuration";
/// Per peer, only with `PEER_METRICS=true`.
pub const BGP_UP: &str = "BgpUp";

/// Every metric name this module can emit, with the dimension names it carries.
pub const METRICS: [(&str, &[&str]); 8] = [
    (PEERS_HEALTHY, &[DIM_ROUTE_SERVER]),
    (PEERS_DEGRADED, &[DIM_ROUTE_SERVER]),
    (PEERS_DOWN, &[DIM_ROUTE_SERVER]),
    (PEERS_TRANSITIONAL, &[DIM_ROUTE_SERVER]),
    (TRANSITIONS_RECORDED, &[DIM_FUNCTION]),
    (NOTIFICATIONS_SENT, &[DIM_FUNCTION]),
    (CYCLE_DURATION, &[DIM_FUNCTION]),
    (BGP_UP, &[DIM_ROUTE_SERVER, DIM_PEER]),
];

/// One peer as the metrics see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHealth {
    pub peer_id: String,
    pub route_server_id: String,
    pub health: Health,
    pub bgp_up: bool,
}

impl PeerHealth {
    /// A `PeerState` record as the metrics see it; `None` for a vanished peer (`present`
    /// false), which the metrics leave out.
    pub fn of(r: &PeerRecord) -> Option<PeerHealth> {
        r.present.then(|| PeerHealth {
            peer_id: r.peer.route_server_peer_id.clone(),
            route_server_id: r.peer.route_server_id.clone(),
            health: r.health,
            bgp_up: r.peer.bgp_status.as_deref() == Some("up"),
        })
    }
}

/// What one cycle's metrics are made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleMetrics {
    /// The `_aws.Timestamp` of every line: epoch milliseconds.
    pub timestamp_ms: i64,
    /// The `FunctionName` dimension of the cycle line.
    pub function_name: String,
    pub duration_ms: u64,
    pub transitions_recorded: usize,
    /// Every successful publish of the cycle: new notifications and retried ones.
    pub notifications_sent: usize,
    /// The peers present in the listing.
    pub peers: Vec<PeerHealth>,
    /// Per-peer `BgpUp` lines (`PEER_METRICS`).
    pub peer_metrics: bool,
}

/// The metrics of a finished cycle: its summary, and the present peers as they stand after it
/// ([`PeerHealth::of`] their `PeerState` records). Pass the peers of the route servers the run
/// watched (a run narrowed with `routeServerIds` should pass only theirs). An empty
/// `function_name` (a test, a local emulator) becomes `peerwatch`.
pub fn from_cycle(
    summary: &Summary,
    peers: &[PeerHealth],
    function_name: &str,
    timestamp_ms: i64,
    peer_metrics: bool,
) -> CycleMetrics {
    let function_name = if function_name.trim().is_empty() {
        NAMESPACE.to_string()
    } else {
        function_name.to_string()
    };
    CycleMetrics {
        timestamp_ms,
        function_name,
        duration_ms: summary.duration_ms,
        transitions_recorded: summary.transitions_recorded,
        notifications_sent: summary.notifications_sent + summary.notifications_retried,
        peers: peers.to_vec(),
        peer_metrics,
    }
}

impl CycleMetrics {
    /// The EMF documents, one per log line: the route servers (sorted by id), the cycle, then
    /// the peers when per-peer metrics are on (sorted by route server and peer id).
    pub fn lines(&self) -> Vec<Value> {
        let mut by_route_server: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
        for p in &self.peers {
            let counts = by_route_server.entry(&p.route_server_id).or_default();
            counts[health_slot(p.health)] += 1;
        }
        let mut out = Vec::with_capacity(by_route_server.len() + 1);
        for (route_server, counts) in &by_route_server {
            let mut members = Map::new();
            members.insert(DIM_ROUTE_SERVER.into(), json!(route_server));
            for (name, count) in [
                PEERS_HEALTHY,
                PEERS_DEGRADED,
                PEERS_DOWN,
                PEERS_TRANSITIONAL,
            ]
            .iter()
            .zip(counts)
            {
                members.insert((*name).into(), json!(count));
            }
            out.push(self.document(
                &[DIM_ROUTE_SERVER],
                &[
                    (PEERS_HEALTHY, "Count"),
                    (PEERS_DEGRADED, "Count"),
                    (PEERS_DOWN, "Count"),
                    (PEERS_TRANSITIONAL, "Count"),
                ],
                members,
            ));
        }

        let mut members = Map::new();
        members.insert(DIM_FUNCTION.into(), json!(self.function_name));
        members.insert(
            TRANSITIONS_RECORDED.into(),
            json!(self.transitions_recorded),
        );
        members.insert(NOTIFICATIONS_SENT.into(), json!(self.notifications_sent));
        members.insert(CYCLE_DURATION.into(), json!(self.duration_ms));
        out.push(self.document(
            &[DIM_FUNCTION],
            &[
                (TRANSITIONS_RECORDED, "Count"),
                (NOTIFICATIONS_SENT, "Count"),
                (CYCLE_DURATION, "Milliseconds"),
            ],
            members,
        ));

        if self.peer_metrics {
            let mut peers: Vec<&PeerHealth> = self.peers.iter().collect();
            peers.sort_by(|a, b| {
                (&a.route_server_id, &a.peer_id).cmp(&(&b.route_server_id, &b.peer_id))
            });
            for p in peers {
                let mut members = Map::new();
                members.insert(DIM_ROUTE_SERVER.into(), json!(p.route_server_id));
                members.insert(DIM_PEER.into(), json!(p.peer_id));
                members.insert(BGP_UP.into(), json!(u8::from(p.bgp_up)));
                // Not a metric: for CloudWatch Logs Insights queries on the same line.
                members.insert("Health".into(), json!(p.health.as_str()));
                out.push(self.document(
                    &[DIM_ROUTE_SERVER, DIM_PEER],
                    &[(BGP_UP, "None")],
                    members,
                ));
            }
        }
        out
    }

    /// One document: `_aws` with a single MetricDirective of one dimension set, then the
    /// members it references (and any others given).
    fn document(
        &self,
        dimensions: &[&str],
        metrics: &[(&str, &str)],
        members: Map<String, Value>,
    ) -> Value {
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [dimensions],
                    "Metrics": definitions,
                }],
            }),
        );
        doc.extend(members);
        Value::Object(doc)
    }
}

fn health_slot(h: Health) -> usize {
    match h {
        Health::Healthy => 0,
        Health::Degraded => 1,
        Health::Down => 2,
        Health::Transitional => 3,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Timestamp;

    const NOW_MS: i64 = 1_795_000_000_000;

    /// A `PeerState` record as the table holds it (built from JSON, so fields the record
    /// gains later with defaults need no change here).
    pub(crate) fn record(
        peer: &str,
        rs: &str,
        health: Health,
        bgp: &str,
        present: bool,
    ) -> PeerRecord {
        let at = Timestamp::from_millis(NOW_MS).unwrap().to_string();
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

    fn fleet() -> Vec<PeerRecord> {
        vec![
            record("rsp-a1", "rs-a", Health::Healthy, "up", true),
            record("rsp-a2", "rs-a", Health::Down, "down", true),
            record("rsp-a3", "rs-a", Health::Degraded, "up", true),
            record("rsp-a4", "rs-a", Health::Healthy, "up", false),
            record("rsp-b1", "rs-b", Health::Transitional, "down", true),
            record("rsp-b2", "rs-b", Health::Healthy, "up", true),
            // Only vanished peers: the route server gets no line.
            record("rsp-c1", "rs-c", Health::Down, "down", false),
        ]
    }

    fn summary() -> Summary {
        Summary {
            peers_seen: 5,
            transitions_recorded: 3,
            notifications_sent: 2,
            notifications_retried: 1,
            duration_ms: 212,
            ..Summary::default()
        }
    }

    pub(crate) fn healths(records: &[PeerRecord]) -> Vec<PeerHealth> {
        records.iter().filter_map(PeerHealth::of).collect()
    }

    fn metrics(peer_metrics: bool) -> CycleMetrics {
        from_cycle(
            &summary(),
            &healths(&fleet()),
            "pw-poller",
            NOW_MS,
            peer_metrics,
        )
    }

    #[test]
    fn route_server_lines_count_present_peers_by_health() {
        let lines = metrics(false).lines();
        let rs: Vec<&Value> = lines
            .iter()
            .filter(|l| l.get(DIM_ROUTE_SERVER).is_some())
            .collect();
        assert_eq!(rs.len(), 2, "rs-c has only vanished peers: no line");
        let a = rs[0];
        assert_eq!(a[DIM_ROUTE_SERVER], "rs-a");
        assert_eq!(
            [
                &a[PEERS_HEALTHY],
                &a[PEERS_DEGRADED],
                &a[PEERS_DOWN],
                &a[PEERS_TRANSITIONAL]
            ],
            [&json!(1), &json!(1), &json!(1), &json!(0)],
            "the vanished rsp-a4 counts nowhere"
        );
        let b = rs[1];
        assert_eq!(b[DIM_ROUTE_SERVER], "rs-b");
        assert_eq!(
            (&b[PEERS_HEALTHY], &b[PEERS_TRANSITIONAL]),
            (&json!(1), &json!(1))
        );
        assert_eq!(
            a["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[DIM_ROUTE_SERVER]])
        );
        let units: Vec<&Value> = a["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| &m["Unit"])
            .collect();
        assert_eq!(units, [&json!("Count"); 4]);
    }

    #[test]
    fn cycle_line_carries_transitions_notifications_and_duration() {
        let lines = metrics(false).lines();
        let cycle: Vec<&Value> = lines
            .iter()
            .filter(|l| l.get(DIM_FUNCTION).is_some())
            .collect();
        assert_eq!(cycle.len(), 1);
        let c = cycle[0];
        assert_eq!(c[DIM_FUNCTION], "pw-poller");
        assert_eq!(c[TRANSITIONS_RECORDED], 3);
        assert_eq!(c[NOTIFICATIONS_SENT], 3, "sent plus retried");
        assert_eq!(c[CYCLE_DURATION], 212);
        assert_eq!(
            c["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([
                {"Name": TRANSITIONS_RECORDED, "Unit": "Count"},
                {"Name": NOTIFICATIONS_SENT, "Unit": "Count"},
                {"Name": CYCLE_DURATION, "Unit": "Milliseconds"},
            ])
        );
        // Without a function name (a test, a local emulator) the dimension is still valid.
        let local = from_cycle(&summary(), &[], "", NOW_MS, false).lines();
        assert_eq!(local.len(), 1);
        assert_eq!(local[0][DIM_FUNCTION], NAMESPACE);
    }

    #[test]
    fn per_peer_lines_only_when_switched_on() {
        assert!(
            metrics(false)
                .lines()
                .iter()
                .all(|l| l.get(BGP_UP).is_none())
        );
        let lines = metrics(true).lines();
        let peers: Vec<(&str, &str, &Value)> = lines
            .iter()
            .filter(|l| l.get(BGP_UP).is_some())
            .map(|l| {
                (
                    l[DIM_ROUTE_SERVER].as_str().unwrap(),
                    l[DIM_PEER].as_str().unwrap(),
                    &l[BGP_UP],
                )
            })
            .collect();
        assert_eq!(
            peers,
            [
                ("rs-a", "rsp-a1", &json!(1)),
                ("rs-a", "rsp-a2", &json!(0)),
                ("rs-a", "rsp-a3", &json!(1)),
                ("rs-b", "rsp-b1", &json!(0)),
                ("rs-b", "rsp-b2", &json!(1)),
            ],
            "present peers only, sorted"
        );
        let one = lines.iter().find(|l| l.get(BGP_UP).is_some()).unwrap();
        assert_eq!(
            one["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[DIM_ROUTE_SERVER, DIM_PEER]])
        );
        assert_eq!(one["Health"], "healthy");
    }

    /// Every line names only metrics and dimensions listed in [`METRICS`], the list the
    /// template's dashboard is checked against; and every listed metric is emitted somewhere.
    #[test]
    fn lines_use_exactly_the_listed_metrics() {
        let mut seen = std::collections::BTreeSet::new();
        for line in metrics(true).lines() {
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            let dims: Vec<&str> = directive["Dimensions"][0]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            for m in directive["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                let listed = METRICS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("{name} is not in METRICS"));
                assert_eq!(listed.1, dims.as_slice(), "{name}");
                seen.insert(name.to_string());
            }
        }
        let listed: std::collections::BTreeSet<String> =
            METRICS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(seen, listed);
    }
}
