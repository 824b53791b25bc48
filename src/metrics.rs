//! CloudWatch metrics without a CloudWatch call: each cycle's figures as CloudWatch Embedded
//! Metric Format (EMF) documents, one JSON object per log line, which CloudWatch Logs turns into
//! metrics in the namespace `peerwatch`. Pure: the handler prints the lines (see
//! `handler::emit_metrics`); nothing here talks to AWS.
//!
//! Lines (README, "Metrics"):
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
//! [`validate_emf`] checks a document against every rule of the EMF specification
//! ("Specification: Embedded metric format", CloudWatch User Guide): the tests run it on
//! every line this module builds, and the handler drops (and logs) a line that would fail.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::cycle::Summary;
use crate::model::{Health, PeerRecord};

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

/// The largest log event CloudWatch Logs accepted when the EMF specification was written
/// (256 KB; the limit has since been raised, the lower one is kept as the safe bound).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// MetricDefinitions in one MetricDirective.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Dimension keys in one DimensionSet.
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// Values in one metric array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Characters in a dimension value.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

/// The units CloudWatch accepts (`MetricDatum.Unit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
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

/// Checks one log line: a single line holding one JSON object and nothing else, that is a
/// valid EMF document ([`validate_emf`]).
pub fn validate_emf_line(line: &str) -> Result<Value, String> {
    if line.contains('\n') || line.contains('\r') {
        return Err("an EMF document must be one log line".into());
    }
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON document: {e}"))?;
    validate_emf(&doc)?;
    Ok(doc)
}

/// Checks a document against the EMF specification's rules:
/// - the root is an object of at most [`MAX_EVENT_BYTES`] serialised, with the member `_aws`;
/// - `_aws` is an object with `Timestamp` (a whole number of epoch milliseconds) and
///   `CloudWatchMetrics` (an array of MetricDirectives), and no other member;
/// - a MetricDirective has exactly `Namespace` (a string of 1 to 255 characters),
///   `Dimensions` (an array of at least one DimensionSet) and `Metrics` (an array of at most
///   100 MetricDefinitions);
/// - a DimensionSet is an array of at most 30 strings (1 to 250 characters), each naming a
///   member of the root whose value is a string of 1 to 1024 characters;
/// - a MetricDefinition has `Name` (a string of 1 to 255 characters naming a member of the
///   root whose value is a number or an array of at most 100 numbers), optionally `Unit` (a
///   CloudWatch unit) and `StorageResolution` (1 or 60), and nothing else.
///
/// Target members are looked up by their whole name on the root (a reference `A.a` names the
/// member `"A.a"`, never a nested one).
pub fn validate_emf(doc: &Value) -> Result<(), String> {
    let root = doc
        .as_object()
        .ok_or("the root of an EMF document must be a JSON object")?;
    let size = serde_json::to_string(doc).map(|s| s.len()).unwrap_or(0);
    if size > MAX_EVENT_BYTES {
        return Err(format!(
            "the document is {size} bytes, more than a log event's {MAX_EVENT_BYTES}"
        ));
    }
    let aws = root
        .get("_aws")
        .ok_or("the root has no `_aws` metadata member")?
        .as_object()
        .ok_or("`_aws` must be an object")?;
    only_members(aws, &["Timestamp", "CloudWatchMetrics"], "`_aws`")?;
    match aws.get("Timestamp") {
        None => return Err("`_aws.Timestamp` is missing".into()),
        Some(t) if t.as_i64().is_some_and(|ms| ms >= 0) || t.as_u64().is_some() => {}
        Some(t) => {
            return Err(format!(
                "`_aws.Timestamp` must be whole epoch milliseconds, got {t}"
            ));
        }
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .ok_or("`_aws.CloudWatchMetrics` is missing")?
        .as_array()
        .ok_or("`_aws.CloudWatchMetrics` must be an array of MetricDirectives")?;
    for (i, directive) in directives.iter().enumerate() {
        let at = format!("CloudWatchMetrics[{i}]");
        let directive = directive
            .as_object()
            .ok_or_else(|| format!("{at} must be an object"))?;
        only_members(directive, &["Namespace", "Dimensions", "Metrics"], &at)?;
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}.Namespace must be a string"))?;
        chars_within(namespace, 1, 255, &format!("{at}.Namespace"))?;

        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}.Dimensions must be an array of DimensionSets"))?;
        if sets.is_empty() {
            return Err(format!(
                "{at}.Dimensions must hold at least one DimensionSet (it may be empty: [[]])"
            ));
        }
        for (j, set) in sets.iter().enumerate() {
            let set_at = format!("{at}.Dimensions[{j}]");
            let keys = set
                .as_array()
                .ok_or_else(|| format!("{set_at} must be an array of dimension names"))?;
            if keys.len() > MAX_DIMENSIONS_PER_SET {
                return Err(format!(
                    "{set_at} has {} dimensions, more than {MAX_DIMENSIONS_PER_SET}",
                    keys.len()
                ));
            }
            for key in keys {
                let key = key
                    .as_str()
                    .ok_or_else(|| format!("{set_at} holds {key}, not a dimension name"))?;
                chars_within(key, 1, 250, &format!("dimension name in {set_at}"))?;
                let value = root.get(key).ok_or_else(|| {
                    format!("dimension {key:?} of {set_at} is not a member of the root")
                })?;
                let value = value.as_str().ok_or_else(|| {
                    format!("dimension {key:?} must have a string value, got {value}")
                })?;
                chars_within(
                    value,
                    1,
                    MAX_DIMENSION_VALUE_CHARS,
                    &format!("the value of dimension {key:?}"),
                )?;
            }
        }

        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}.Metrics must be an array of MetricDefinitions"))?;
        if metrics.len() > MAX_METRICS_PER_DIRECTIVE {
            return Err(format!(
                "{at}.Metrics has {} MetricDefinitions, more than {MAX_METRICS_PER_DIRECTIVE}",
                metrics.len()
            ));
        }
        for (k, def) in metrics.iter().enumerate() {
            let def_at = format!("{at}.Metrics[{k}]");
            let def = def
                .as_object()
                .ok_or_else(|| format!("{def_at} must be an object"))?;
            only_members(def, &["Name", "Unit", "StorageResolution"], &def_at)?;
            let name = def
                .get("Name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{def_at}.Name must be a string"))?;
            chars_within(name, 1, 255, &format!("{def_at}.Name"))?;
            if let Some(unit) = def.get("Unit") {
                let unit = unit.as_str().unwrap_or_default();
                if !UNITS.contains(&unit) {
                    return Err(format!(
                        "{def_at}.Unit must be a CloudWatch unit, got {:?}",
                        def["Unit"]
                    ));
                }
            }
            if let Some(res) = def.get("StorageResolution")
                && !matches!(res.as_u64(), Some(1 | 60))
            {
                return Err(format!(
                    "{def_at}.StorageResolution must be 1 or 60, got {res}"
                ));
            }
            let value = root
                .get(name)
                .ok_or_else(|| format!("metric {name:?} is not a member of the root"))?;
            match value {
                Value::Number(_) => {}
                Value::Array(values) => {
                    if values.len() > MAX_VALUES_PER_METRIC {
                        return Err(format!(
                            "metric {name:?} has {} values, more than {MAX_VALUES_PER_METRIC}",
                            values.len()
                        ));
                    }
                    if let Some(bad) = values.iter().find(|v| !v.is_number()) {
                        return Err(format!("metric {name:?} must hold only numbers, got {bad}"));
                    }
                }
                other => {
                    return Err(format!(
                        "metric {name:?} must be a number or an array of numbers, got {other}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn only_members(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("{what} must not have the member {extra:?}")),
        None => Ok(()),
    }
}

fn chars_within(s: &str, min: usize, max: usize, what: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(format!("{what} must be {min} to {max} characters, got {n}"));
    }
    Ok(())
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
    fn every_line_is_valid_emf() {
        for peer_metrics in [false, true] {
            let lines = metrics(peer_metrics).lines();
            assert!(!lines.is_empty());
            for line in &lines {
                validate_emf(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let text = serde_json::to_string(line).unwrap();
                assert_eq!(validate_emf_line(&text).as_ref(), Ok(line));
                assert_eq!(line["_aws"]["Timestamp"], NOW_MS);
                assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
            }
        }
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
        validate_emf(&local[0]).unwrap();
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

    /// A large fleet: one line per route server and per peer, each well within the limits.
    #[test]
    fn a_large_fleet_stays_within_the_limits() {
        let records: Vec<PeerRecord> = (0..2000)
            .map(|i| {
                record(
                    &format!("rsp-{i:017x}"),
                    &format!("rs-{:017x}", i % 40),
                    Health::Healthy,
                    "up",
                    true,
                )
            })
            .collect();
        let lines = from_cycle(&summary(), &healths(&records), "pw-poller", NOW_MS, true).lines();
        assert_eq!(lines.len(), 40 + 1 + 2000);
        for line in &lines {
            validate_emf(line).unwrap();
            assert!(serde_json::to_string(line).unwrap().len() < 1024);
        }
    }

    fn valid() -> Value {
        json!({
            "_aws": {
                "Timestamp": NOW_MS,
                "CloudWatchMetrics": [{
                    "Namespace": "example",
                    "Dimensions": [["Stage"]],
                    "Metrics": [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 60}]
                }]
            },
            "Stage": "prod",
            "Latency": [12, 15.5],
            "requestId": "not a metric, allowed",
        })
    }

    #[test]
    fn validator_accepts_valid_documents() {
        validate_emf(&valid()).unwrap();
        // An empty DimensionSet is allowed (a metric with no dimensions).
        let mut no_dims = valid();
        no_dims["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([[]]);
        validate_emf(&no_dims).unwrap();
        // A reference with a dot names a root member with a dot, not a nested one.
        let mut dotted = valid();
        dotted["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("A.a");
        dotted["A.a"] = json!(1);
        validate_emf(&dotted).unwrap();
    }

    /// The validator can fail: each broken document is rejected for its own reason.
    #[test]
    fn validator_rejects_broken_documents() {
        type Break = fn(&mut Value);
        let cases: Vec<(&str, Break, &str)> = vec![
            (
                "root not an object",
                |d| *d = json!([1]),
                "must be a JSON object",
            ),
            (
                "missing _aws",
                |d| {
                    d.as_object_mut().unwrap().remove("_aws");
                },
                "no `_aws`",
            ),
            (
                "_aws not an object",
                |d| d["_aws"] = json!("x"),
                "`_aws` must be an object",
            ),
            (
                "extra member in _aws",
                |d| d["_aws"]["Extra"] = json!(1),
                "member \"Extra\"",
            ),
            (
                "missing Timestamp",
                |d| {
                    d["_aws"].as_object_mut().unwrap().remove("Timestamp");
                },
                "Timestamp` is missing",
            ),
            (
                "Timestamp a string",
                |d| d["_aws"]["Timestamp"] = json!("2026-11-25T19:05:00Z"),
                "whole epoch milliseconds",
            ),
            (
                "Timestamp fractional",
                |d| d["_aws"]["Timestamp"] = json!(1.5),
                "whole epoch milliseconds",
            ),
            (
                "missing CloudWatchMetrics",
                |d| {
                    d["_aws"]
                        .as_object_mut()
                        .unwrap()
                        .remove("CloudWatchMetrics");
                },
                "CloudWatchMetrics` is missing",
            ),
            (
                "CloudWatchMetrics not an array",
                |d| d["_aws"]["CloudWatchMetrics"] = json!({}),
                "array of MetricDirectives",
            ),
            (
                "missing Namespace",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("Namespace");
                },
                "Namespace must be a string",
            ),
            (
                "empty Namespace",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(""),
                "1 to 255 characters",
            ),
            (
                "extra member in a directive",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Unit"] = json!("Count"),
                "member \"Unit\"",
            ),
            (
                "Dimensions not nested",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!(["Stage"]),
                "array of dimension names",
            ),
            (
                "no DimensionSet",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([]),
                "at least one DimensionSet",
            ),
            (
                "dimension not a member",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["Region"]]),
                "\"Region\" of CloudWatchMetrics[0].Dimensions[0] is not a member",
            ),
            (
                "dimension value a number",
                |d| d["Stage"] = json!(3),
                "must have a string value",
            ),
            (
                "dimension value empty",
                |d| d["Stage"] = json!(""),
                "1 to 1024 characters",
            ),
            (
                "dimension value too long",
                |d| d["Stage"] = json!("x".repeat(1025)),
                "1 to 1024 characters",
            ),
            (
                "31 dimensions",
                |d| {
                    let names: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
                    for n in &names {
                        d[n.as_str()] = json!("v");
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([names]);
                },
                "31 dimensions, more than 30",
            ),
            (
                "101 metrics",
                |d| {
                    let defs: Vec<Value> =
                        (0..101).map(|i| json!({"Name": format!("M{i}")})).collect();
                    for i in 0..101 {
                        d[format!("M{i}").as_str()] = json!(i);
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(defs);
                },
                "101 MetricDefinitions, more than 100",
            ),
            (
                "metric not a member",
                |d| {
                    d.as_object_mut().unwrap().remove("Latency");
                },
                "metric \"Latency\" is not a member",
            ),
            (
                "metric value a string",
                |d| d["Latency"] = json!("12"),
                "must be a number or an array of numbers",
            ),
            (
                "metric value a boolean",
                |d| d["Latency"] = json!(true),
                "must be a number or an array of numbers",
            ),
            (
                "metric array with a string",
                |d| d["Latency"] = json!([1, "2"]),
                "must hold only numbers",
            ),
            (
                "metric array of 101 values",
                |d| d["Latency"] = json!(vec![1; 101]),
                "101 values, more than 100",
            ),
            (
                "metric name not a string",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!(7),
                "Name must be a string",
            ),
            (
                "unknown unit",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Peers"),
                "must be a CloudWatch unit",
            ),
            (
                "storage resolution 30",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = json!(30)
                },
                "1 or 60",
            ),
            (
                "extra member in a MetricDefinition",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Stat"] = json!("Sum"),
                "member \"Stat\"",
            ),
            (
                "nested target",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("A.a");
                    d["A"] = json!({"a": 1});
                },
                "metric \"A.a\" is not a member",
            ),
            (
                "larger than a log event",
                |d| d["padding"] = json!("x".repeat(MAX_EVENT_BYTES)),
                "more than a log event's",
            ),
        ];
        for (what, break_it, needle) in cases {
            let mut doc = valid();
            break_it(&mut doc);
            let err = validate_emf(&doc).expect_err(what);
            assert!(err.contains(needle), "{what}: {err}");
        }
    }

    #[test]
    fn a_line_is_one_json_object_and_nothing_else() {
        let text = serde_json::to_string(&valid()).unwrap();
        validate_emf_line(&text).unwrap();
        for (bad, needle) in [
            (format!("INFO {text}"), "not a JSON document"),
            (format!("{text} trailing"), "not a JSON document"),
            (
                serde_json::to_string_pretty(&valid()).unwrap(),
                "one log line",
            ),
        ] {
            let err = validate_emf_line(&bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
