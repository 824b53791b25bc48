//! Hand-computed figures: the window is 10:00 to 11:00 unless a test says otherwise, so one
//! minute is 1/60 of it.

use super::*;
use crate::fabric::{FibRoute, RouteSnapshot, route_key};
use crate::model::{FieldChange, PeerSnapshot};

const RS1: &str = "rs-00000000000000001";
const RS2: &str = "rs-00000000000000002";

/// 2026-11-20 at `10:00 + minutes`.
fn t(minutes: i64) -> Timestamp {
    let base: Timestamp = "2026-11-20T10:00:00Z".parse().unwrap();
    base.plus_seconds(minutes * 60)
}

fn health(h: &str) -> Health {
    Health::parse(h).unwrap()
}

/// A `PeerState` record: its health now, when it was first seen, whether it is listed.
fn state(id: &str, rs: &str, now: &str, first_seen: i64, present: bool) -> PeerRecord {
    PeerRecord {
        peer: PeerSnapshot {
            route_server_peer_id: id.into(),
            route_server_id: rs.into(),
            peer_address: "10.0.1.5".into(),
            peer_asn: Some(65001),
            ..Default::default()
        },
        first_seen_at: t(first_seen),
        last_changed_at: t(first_seen),
        present,
        version: 1,
        sessions_changed_at: Default::default(),
        health: health(now),
        open_alert: None,
        alerting: Default::default(),
    }
}

/// A transition at `10:00 + at` minutes.
fn row(id: &str, rs: &str, at: i64, kind: &str, from: Option<&str>, to: &str) -> HistoryRow {
    HistoryRow {
        route_server_peer_id: id.into(),
        observed_at: t(at),
        route_server_id: rs.into(),
        kind: kind.into(),
        source: None,
        late: false,
        changes: Vec::new(),
        health_from: from.map(String::from),
        health_to: Some(to.into()),
        severity: "info".into(),
        event: None,
        notification_state: "not-required".into(),
        notification_message_id: None,
        failure_reason: None,
        previous_observed_at: None,
        previous_duration_seconds: None,
        version: 1,
        ack: None,
    }
}

fn changed(id: &str, at: i64, from: &str, to: &str) -> HistoryRow {
    row(id, RS1, at, "changed", Some(from), to)
}

fn hour(states: &[PeerRecord], rows: &[HistoryRow]) -> Report {
    build(states, rows, t(0), t(60))
}

fn only(report: &Report) -> &PeerReport {
    assert_eq!(report.peers.len(), 1, "{report:#?}");
    &report.peers[0]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn percent(p: &PeerReport) -> f64 {
    p.availability_percent.expect("some counted time")
}

fn seg(from: i64, to: i64, health: Condition) -> Segment {
    Segment {
        from: t(from),
        to: t(to),
        health,
    }
}

#[test]
fn healthy_50_minutes_and_down_10_is_83_33_percent_with_one_10_minute_recovery() {
    let a = "rsp-a";
    let report = hour(
        &[state(a, RS1, "healthy", -60, true)],
        &[
            changed(a, 20, "healthy", "down"),
            changed(a, 30, "down", "healthy"),
        ],
    );
    let p = only(&report);
    assert!(close(percent(p), 50.0 / 60.0 * 100.0), "{p:#?}");
    assert_eq!(format_percent(p.availability_percent), "83.33 %");
    assert_eq!(
        (p.time.healthy_seconds, p.time.down_seconds),
        (3000.0, 600.0)
    );
    assert_eq!((p.outage_count, p.recovered_count), (1, 1));
    assert_eq!(p.mean_time_to_recover_seconds, Some(600.0));
    assert_eq!(p.longest_time_to_recover_seconds, Some(600.0));
    assert_eq!(p.open_outage, None);
    assert_eq!(
        p.timeline,
        [
            seg(0, 20, Condition::Healthy),
            seg(20, 30, Condition::Down),
            seg(30, 60, Condition::Healthy)
        ]
    );
    assert_eq!(
        p.outages,
        [Outage {
            started_at: t(20),
            started_before_window: false,
            ended_at: Some(t(30)),
            ended_as: Some(Condition::Healthy),
            duration_seconds: 600.0,
            worst: Condition::Down,
        }]
    );
    assert_eq!(p.health_at_until, Condition::Healthy);
}

#[test]
fn an_outage_spanning_the_window_start_is_clipped_to_it() {
    // Down since 09:50 (before the window), healthy again at 10:15: 15 minutes count.
    let a = "rsp-a";
    let report = hour(
        &[state(a, RS1, "healthy", -120, true)],
        &[changed(a, 15, "down", "healthy")],
    );
    let p = only(&report);
    assert!(close(percent(p), 75.0));
    assert_eq!(p.mean_time_to_recover_seconds, Some(900.0));
    let o = &p.outages[0];
    assert!(o.started_before_window);
    assert_eq!((o.started_at, o.ended_at), (t(0), Some(t(15))));
}

#[test]
fn a_peer_discovered_mid_window_is_unobserved_before() {
    let g = "rsp-g";
    let report = hour(
        &[state(g, RS1, "healthy", 30, true)],
        &[row(g, RS1, 30, "discovered", None, "healthy")],
    );
    let p = only(&report);
    assert_eq!(p.availability_percent, Some(100.0));
    assert_eq!(
        (p.time.unobserved_seconds, p.time.healthy_seconds),
        (1800.0, 1800.0)
    );
    assert_eq!(
        p.timeline,
        [
            seg(0, 30, Condition::Unobserved),
            seg(30, 60, Condition::Healthy)
        ]
    );
}

#[test]
fn first_seen_inside_the_window_counts_even_when_its_discovery_is_not_in_the_history() {
    let report = hour(&[state("rsp-g", RS1, "healthy", 30, true)], &[]);
    assert_eq!(only(&report).time.unobserved_seconds, 1800.0);
}

#[test]
fn a_vanished_peer_is_unobserved_after_and_peers_gone_before_the_window_are_left_out() {
    let d = "rsp-d";
    let gone = "rsp-gone";
    let report = hour(
        &[
            state(d, RS1, "healthy", -60, false),
            state(gone, RS1, "healthy", -600, false),
            state("rsp-later", RS1, "healthy", 90, true),
        ],
        &[
            row(d, RS1, 45, "vanished", Some("healthy"), "healthy"),
            row("rsp-later", RS1, 90, "discovered", None, "healthy"),
        ],
    );
    let p = only(&report);
    assert_eq!(p.route_server_peer_id, d);
    assert_eq!(p.availability_percent, Some(100.0));
    assert_eq!(
        (p.time.healthy_seconds, p.time.unobserved_seconds),
        (2700.0, 900.0)
    );
    assert_eq!(p.health_at_until, Condition::Unobserved);
    assert_eq!(p.outage_count, 0);
}

#[test]
fn a_rediscovered_peer_was_unobserved_while_it_was_gone() {
    let d = "rsp-d";
    let report = hour(
        &[state(d, RS1, "healthy", -60, true)],
        &[
            row(d, RS1, 10, "vanished", Some("healthy"), "healthy"),
            row(d, RS1, 40, "discovered", None, "healthy"),
        ],
    );
    let p = only(&report);
    assert_eq!(
        (p.time.healthy_seconds, p.time.unobserved_seconds),
        (1800.0, 1800.0)
    );
    assert_eq!(p.timeline.len(), 3);
}

#[test]
fn degraded_then_down_then_healthy_is_one_outage() {
    let b = "rsp-b";
    let report = hour(
        &[state(b, RS1, "healthy", -60, true)],
        &[
            changed(b, 10, "healthy", "degraded"),
            changed(b, 15, "degraded", "down"),
            changed(b, 25, "down", "healthy"),
        ],
    );
    let p = only(&report);
    assert_eq!((p.outage_count, p.recovered_count), (1, 1));
    assert_eq!(p.outages[0].worst, Condition::Down);
    assert_eq!(p.outages[0].duration_seconds, 900.0);
    assert_eq!(
        (p.time.degraded_seconds, p.time.down_seconds),
        (300.0, 600.0)
    );
    assert!(close(percent(p), 75.0));
}

#[test]
fn an_outage_still_going_at_the_end_is_open_and_not_a_recovery() {
    let c = "rsp-c";
    let report = hour(
        &[state(c, RS1, "down", -60, true)],
        &[changed(c, 40, "healthy", "down")],
    );
    let p = only(&report);
    assert!(close(percent(p), 40.0 / 60.0 * 100.0));
    assert_eq!(format_percent(p.availability_percent), "66.67 %");
    assert_eq!((p.outage_count, p.recovered_count), (1, 0));
    assert_eq!(p.mean_time_to_recover_seconds, None);
    assert_eq!(
        p.open_outage,
        Some(OpenOutage {
            since: t(40),
            started_before_window: false,
            duration_seconds: 1200.0,
            health: Condition::Down,
        })
    );
    assert_eq!(p.outages[0].ended_at, None);
}

#[test]
fn with_no_transitions_at_all_the_current_state_holds_for_the_whole_window() {
    let report = hour(
        &[
            state("rsp-up", RS1, "healthy", -600, true),
            state("rsp-down", RS1, "down", -600, true),
        ],
        &[],
    );
    let down = &report.peers[0];
    assert_eq!(down.route_server_peer_id, "rsp-down");
    assert_eq!(down.availability_percent, Some(0.0));
    let open = down.open_outage.as_ref().unwrap();
    assert!(open.started_before_window);
    assert_eq!((open.since, open.duration_seconds), (t(0), 3600.0));
    let up = &report.peers[1];
    assert_eq!(up.availability_percent, Some(100.0));
    assert_eq!(up.timeline, [seg(0, 60, Condition::Healthy)]);
}

#[test]
fn transitional_time_is_left_out_of_availability() {
    let p = "rsp-new";
    let report = hour(
        &[state(p, RS1, "healthy", 0, true)],
        &[
            row(p, RS1, 0, "discovered", None, "transitional"),
            changed(p, 10, "transitional", "healthy"),
        ],
    );
    let p = only(&report);
    assert_eq!(p.availability_percent, Some(100.0));
    assert_eq!(p.time.transitional_seconds, 600.0);
    assert_eq!(p.time.unobserved_seconds, 0.0);
}

#[test]
fn a_peer_transitional_all_along_has_no_availability() {
    let report = hour(&[state("rsp-p", RS1, "transitional", -10, true)], &[]);
    assert_eq!(only(&report).availability_percent, None);
    assert_eq!(report.fleet.availability_percent, None);
    assert_eq!(format_percent(None), "-");
}

#[test]
fn an_outage_ended_by_vanishing_or_deletion_is_not_a_recovery() {
    let v = "rsp-v";
    let x = "rsp-x";
    let report = hour(
        &[
            state(v, RS1, "down", -60, false),
            state(x, RS1, "transitional", -60, true),
        ],
        &[
            changed(v, 10, "healthy", "down"),
            row(v, RS1, 20, "vanished", Some("down"), "down"),
            changed(x, 10, "healthy", "down"),
            changed(x, 30, "down", "transitional"),
        ],
    );
    let [v, x] = &report.peers[..] else {
        panic!("{report:#?}")
    };
    assert_eq!((v.outage_count, v.recovered_count), (1, 0));
    assert_eq!(v.outages[0].ended_as, Some(Condition::Unobserved));
    assert_eq!(v.open_outage, None);
    assert_eq!(x.outages[0].ended_as, Some(Condition::Transitional));
    assert_eq!(x.mean_time_to_recover_seconds, None);
    assert_eq!(report.fleet.recovered_count, 0);
}

#[test]
fn transitions_after_the_window_tell_the_health_at_its_start() {
    // Down at 10:00 and until 10:45; the window ends at 10:30: open for all of it.
    let a = "rsp-a";
    let report = build(
        &[state(a, RS1, "healthy", -60, true)],
        &[changed(a, 45, "down", "healthy")],
        t(0),
        t(30),
    );
    let p = only(&report);
    assert_eq!(p.health_at_until, Condition::Down);
    let open = p.open_outage.as_ref().unwrap();
    assert!(open.started_before_window);
    assert_eq!(open.duration_seconds, 1800.0);
}

#[test]
fn transitions_at_the_window_edges() {
    let a = "rsp-a";
    let b = "rsp-b";
    let report = hour(
        &[
            state(a, RS1, "healthy", -60, true),
            state(b, RS1, "down", -60, true),
        ],
        &[
            // A: down before 10:00, healthy at 10:00 sharp: no outage in the window.
            changed(a, 0, "down", "healthy"),
            // B: down at 11:00 sharp: open, zero long.
            changed(b, 60, "healthy", "down"),
        ],
    );
    let [a, b] = &report.peers[..] else {
        panic!("{report:#?}")
    };
    assert_eq!((a.outage_count, a.availability_percent), (0, Some(100.0)));
    assert_eq!(b.availability_percent, Some(100.0));
    assert_eq!(b.outage_count, 1);
    assert_eq!(
        b.open_outage
            .as_ref()
            .map(|o| (o.since, o.duration_seconds)),
        Some((t(60), 0.0))
    );
}

#[test]
fn a_recovery_at_the_window_end_is_a_recovery() {
    let a = "rsp-a";
    let report = hour(
        &[state(a, RS1, "healthy", -60, true)],
        &[
            changed(a, 50, "healthy", "down"),
            changed(a, 60, "down", "healthy"),
        ],
    );
    let p = only(&report);
    assert_eq!(p.open_outage, None);
    assert_eq!(p.outages[0].ended_at, Some(t(60)));
    assert_eq!(p.mean_time_to_recover_seconds, Some(600.0));
}

#[test]
fn changes_that_keep_the_health_do_not_split_the_timeline() {
    let a = "rsp-a";
    let report = hour(
        &[state(a, RS1, "down", -60, true)],
        &[
            changed(a, 10, "healthy", "healthy"),
            changed(a, 20, "healthy", "down"),
            changed(a, 30, "down", "down"),
        ],
    );
    let p = only(&report);
    assert_eq!(
        p.timeline,
        [seg(0, 20, Condition::Healthy), seg(20, 60, Condition::Down)]
    );
    assert_eq!(p.outage_count, 1);
}

#[test]
fn route_servers_and_the_fleet_sum_time_and_pool_recoveries() {
    // rs-1: A (healthy 50, down 10), B (degraded 5 + down 10 = one 15-minute outage),
    // C (down from 10:40, open). rs-2: E (two outages: 2 and 8 minutes), F (healthy).
    let rows = [
        changed("rsp-a", 20, "healthy", "down"),
        changed("rsp-a", 30, "down", "healthy"),
        changed("rsp-b", 10, "healthy", "degraded"),
        changed("rsp-b", 15, "degraded", "down"),
        changed("rsp-b", 25, "down", "healthy"),
        changed("rsp-c", 40, "healthy", "down"),
        row("rsp-e", RS2, 5, "changed", Some("healthy"), "down"),
        row("rsp-e", RS2, 7, "changed", Some("down"), "healthy"),
        row("rsp-e", RS2, 50, "changed", Some("healthy"), "degraded"),
        row("rsp-e", RS2, 58, "changed", Some("degraded"), "healthy"),
    ];
    let states = [
        state("rsp-a", RS1, "healthy", -60, true),
        state("rsp-b", RS1, "healthy", -60, true),
        state("rsp-c", RS1, "down", -60, true),
        state("rsp-e", RS2, "healthy", -60, true),
        state("rsp-f", RS2, "healthy", -60, true),
    ];
    let report = hour(&states, &rows);
    let [rs1, rs2] = &report.route_servers[..] else {
        panic!("{report:#?}")
    };
    assert_eq!(rs1.route_server_id, RS1);
    let r = &rs1.totals;
    assert_eq!(r.peers, 3);
    // Healthy 50 + 45 + 40 = 135 of 180 minutes.
    assert!(close(r.availability_percent.unwrap(), 75.0));
    assert_eq!(
        (r.outage_count, r.recovered_count, r.open_outages),
        (3, 2, 1)
    );
    assert_eq!(r.mean_time_to_recover_seconds, Some(750.0));
    assert_eq!(r.longest_time_to_recover_seconds, Some(900.0));

    let r = &rs2.totals;
    // Healthy 50 + 60 = 110 of 120 minutes.
    assert!(close(
        r.availability_percent.unwrap(),
        110.0 / 120.0 * 100.0
    ));
    assert_eq!(r.mean_time_to_recover_seconds, Some(300.0));
    assert_eq!(r.longest_time_to_recover_seconds, Some(480.0));
    assert_eq!(r.open_outages, 0);

    let f = &report.fleet;
    assert_eq!(f.peers, 5);
    // Healthy 245 of 300 minutes; recoveries 600, 900, 120, 480 s.
    assert!(close(
        f.availability_percent.unwrap(),
        245.0 / 300.0 * 100.0
    ));
    assert_eq!(
        (f.outage_count, f.recovered_count, f.open_outages),
        (5, 4, 1)
    );
    assert_eq!(f.mean_time_to_recover_seconds, Some(525.0));
    assert_eq!(f.longest_time_to_recover_seconds, Some(900.0));
    assert_eq!(f.time.down_seconds, (10 + 10 + 20 + 2) as f64 * 60.0);
    assert_eq!(f.time.degraded_seconds, (5 + 8) as f64 * 60.0);

    let ids: Vec<&str> = report
        .peers
        .iter()
        .map(|p| p.route_server_peer_id.as_str())
        .collect();
    assert_eq!(ids, ["rsp-a", "rsp-b", "rsp-c", "rsp-e", "rsp-f"]);
}

#[test]
fn history_without_a_state_record_still_reports_the_peer() {
    let report = hour(
        &[],
        &[row("rsp-z", RS2, 30, "changed", Some("healthy"), "down")],
    );
    let p = only(&report);
    assert_eq!(p.route_server_id, RS2);
    assert_eq!(p.peer_address, None);
    assert!(close(percent(p), 50.0));
}

#[test]
fn an_empty_or_reversed_window_reports_nothing() {
    let states = [state("rsp-a", RS1, "healthy", -60, true)];
    assert!(build(&states, &[], t(10), t(10)).peers.is_empty());
    let report = build(&states, &[], t(20), t(10));
    assert!(report.peers.is_empty() && report.route_servers.is_empty());
    assert_eq!(report.fleet.peers, 0);
}

#[test]
fn the_json_keeps_its_documented_shape() {
    let a = "rsp-a";
    let report = hour(
        &[state(a, RS1, "down", -60, true)],
        &[changed(a, 40, "healthy", "down")],
    );
    let json = serde_json::to_value(&report).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&json),
        ["fleet", "peers", "routeServers", "since", "until"]
    );
    assert_eq!(json["since"], "2026-11-20T10:00:00.000Z");
    let totals = [
        "availabilityPercent",
        "degradedSeconds",
        "downSeconds",
        "healthySeconds",
        "longestTimeToRecoverSeconds",
        "meanTimeToRecoverSeconds",
        "openOutages",
        "outageCount",
        "peers",
        "recoveredCount",
        "transitionalSeconds",
        "unobservedSeconds",
    ];
    assert_eq!(keys(&json["fleet"]), totals);
    let mut rs: Vec<&str> = totals.to_vec();
    rs.extend([
        "routeServerId",
        "routeFailovers",
        "routeLostSeconds",
        "routes",
    ]);
    rs.sort();
    assert_eq!(keys(&json["routeServers"][0]), rs);
    let peer = &json["peers"][0];
    assert_eq!(
        keys(peer),
        [
            "availabilityPercent",
            "degradedSeconds",
            "downSeconds",
            "healthAtUntil",
            "healthySeconds",
            "longestTimeToRecoverSeconds",
            "meanTimeToRecoverSeconds",
            "openOutage",
            "outageCount",
            "outages",
            "peerAddress",
            "peerAsn",
            "recoveredCount",
            "routeServerId",
            "routeServerPeerId",
            "timeline",
            "transitionalSeconds",
            "unobservedSeconds",
        ]
    );
    assert_eq!(
        peer["openOutage"],
        serde_json::json!({"since": "2026-11-20T10:40:00.000Z", "startedBeforeWindow": false,
                           "durationSeconds": 1200.0, "health": "down"})
    );
    assert_eq!(
        peer["outages"][0],
        serde_json::json!({"startedAt": "2026-11-20T10:40:00.000Z", "startedBeforeWindow": false,
                           "endedAt": null, "endedAs": null, "durationSeconds": 1200.0,
                           "worst": "down"})
    );
    assert_eq!(
        peer["timeline"][1],
        serde_json::json!({"from": "2026-11-20T10:40:00.000Z", "to": "2026-11-20T11:00:00.000Z",
                           "health": "down"})
    );
    assert_eq!(peer["meanTimeToRecoverSeconds"], serde_json::Value::Null);
}

// Routes: the same window; a route's key is `route#<rs>#<prefix>`.

/// A route record in `PeerState`: its health now (`healthy` in the FIB via `peer`, `down`
/// lost, `transitional` never in it), first seen at `10:00 + first_seen`.
fn route_state(rs: &str, prefix: &str, now: &str, first_seen: i64, present: bool) -> FabricRecord {
    let fib = (now != "down" && now != "transitional").then(|| FibRoute {
        route_server_peer_id: "rsp-a".into(),
        route_server_endpoint_id: "rse-1".into(),
        next_hop_ip: "10.0.1.5".into(),
        as_paths: vec!["65001".into()],
        med: Some(0),
        route_tables: Vec::new(),
    });
    FabricRecord {
        subject: Subject::Route(RouteSnapshot {
            route_server_id: rs.into(),
            vpc_id: "vpc-1".into(),
            prefix: prefix.into(),
            fib,
        }),
        first_seen_at: t(first_seen),
        last_changed_at: t(first_seen),
        present,
        version: 1,
        health: health(now),
        open_alert: None,
        alerting: Default::default(),
    }
}

/// A route transition at `10:00 + at`: health `from` -> `to`, next hop peer `hop.0` -> `hop.1`.
fn route_row(
    rs: &str,
    prefix: &str,
    at: i64,
    kind: &str,
    health: (Option<&str>, &str),
    hop: (Option<&str>, Option<&str>),
    event: &str,
) -> HistoryRow {
    let mut r = row(&route_key(rs, prefix), rs, at, kind, health.0, health.1);
    r.event = Some(event.into());
    if hop.0 != hop.1 {
        r.changes.push(FieldChange {
            field: Field::RouteServerPeerId,
            from: hop.0.map(String::from),
            to: hop.1.map(String::from),
        });
    }
    r
}

fn moved(rs: &str, prefix: &str, at: i64, from: &str, to: &str, event: &str) -> HistoryRow {
    route_row(
        rs,
        prefix,
        at,
        "changed",
        (Some("healthy"), "healthy"),
        (Some(from), Some(to)),
        event,
    )
}

fn lost(rs: &str, prefix: &str, at: i64, from: &str) -> HistoryRow {
    route_row(
        rs,
        prefix,
        at,
        "changed",
        (Some("healthy"), "down"),
        (Some(from), None),
        "route.lost",
    )
}

fn restored(rs: &str, prefix: &str, at: i64, to: &str) -> HistoryRow {
    route_row(
        rs,
        prefix,
        at,
        "changed",
        (Some("down"), "healthy"),
        (None, Some(to)),
        "route.restored",
    )
}

fn routes_hour(routes: &[FabricRecord], rows: &[HistoryRow]) -> Report {
    let peers = [state("rsp-a", RS1, "healthy", -60, true)];
    build_with_routes(&peers, &[], routes, rows, t(0), t(60))
}

fn route_server<'a>(report: &'a Report, rs: &str) -> &'a RouteServerReport {
    report
        .route_servers
        .iter()
        .find(|r| r.route_server_id == rs)
        .unwrap_or_else(|| panic!("no {rs}: {report:#?}"))
}

fn prefix<'a>(rs: &'a RouteServerReport, p: &str) -> &'a RouteReport {
    rs.routes
        .iter()
        .find(|r| r.prefix == p)
        .unwrap_or_else(|| panic!("no {p}: {rs:#?}"))
}

fn rseg(from: i64, to: i64, state: RouteCondition) -> RouteSegment {
    RouteSegment {
        from: t(from),
        to: t(to),
        state,
    }
}

fn lost_interval(from: i64, to: Option<i64>, before: bool) -> LostInterval {
    LostInterval {
        started_at: t(from),
        started_before_window: before,
        ended_at: to.map(t),
        duration_seconds: ((to.unwrap_or(60) - from) * 60) as f64,
    }
}

const P1: &str = "100.64.0.0/24";
const P2: &str = "100.64.2.0/24";
const P10: &str = "100.64.10.0/24";

#[test]
fn failovers_and_lost_time_of_one_prefix() {
    // In the FIB via a; fails over to b at 10:10; lost 10:20; restored via a at 10:30 (no
    // move: it had no next hop); moves a -> b at 10:50 as `route.flapping`: 2 failovers,
    // 10 minutes lost.
    let report = routes_hour(
        &[route_state(RS1, P1, "healthy", -60, true)],
        &[
            moved(RS1, P1, 10, "rsp-a", "rsp-b", "route.failover"),
            lost(RS1, P1, 20, "rsp-b"),
            restored(RS1, P1, 30, "rsp-a"),
            moved(RS1, P1, 50, "rsp-a", "rsp-b", "route.flapping"),
        ],
    );
    let rs = route_server(&report, RS1);
    assert_eq!((rs.route_failovers, rs.route_lost_seconds), (2, 600.0));
    let r = prefix(rs, P1);
    assert_eq!(r.failovers, 2);
    assert_eq!(
        r.failover_events,
        [
            Failover {
                observed_at: t(10),
                from_peer_id: "rsp-a".into(),
                to_peer_id: "rsp-b".into()
            },
            Failover {
                observed_at: t(50),
                from_peer_id: "rsp-a".into(),
                to_peer_id: "rsp-b".into()
            }
        ]
    );
    assert_eq!(r.lost_intervals, [lost_interval(20, Some(30), false)]);
    assert_eq!((r.lost_seconds, r.in_fib_seconds), (600.0, 3000.0));
    assert_eq!(
        r.timeline,
        [
            rseg(0, 20, RouteCondition::InFib),
            rseg(20, 30, RouteCondition::Lost),
            rseg(30, 60, RouteCondition::InFib)
        ]
    );
    assert_eq!(r.state_at_until, RouteCondition::InFib);
    // The peers' figures are untouched.
    assert_eq!(rs.totals.peers, 1);
    assert_eq!(report.fleet.peers, 1);
}

#[test]
fn a_prefix_lost_before_the_window_counts_from_its_start_and_one_lost_at_the_end_is_open() {
    // P2: restored at 10:15 (so lost at 10:00), lost again 10:45 until after the window:
    // 15 + 15 minutes. P10: lost since before the window, with no transition at all since
    // (PeerState says lost): the whole hour.
    let report = routes_hour(
        &[
            route_state(RS1, P2, "down", -60, true),
            route_state(RS1, P10, "down", -60, true),
        ],
        &[restored(RS1, P2, 15, "rsp-a"), lost(RS1, P2, 45, "rsp-a")],
    );
    let rs = route_server(&report, RS1);
    let p2 = prefix(rs, P2);
    assert_eq!(
        p2.lost_intervals,
        [
            lost_interval(0, Some(15), true),
            lost_interval(45, None, false)
        ]
    );
    assert_eq!((p2.lost_seconds, p2.failovers), (1800.0, 0));
    assert_eq!(p2.state_at_until, RouteCondition::Lost);
    let p10 = prefix(rs, P10);
    assert_eq!(p10.lost_intervals, [lost_interval(0, None, true)]);
    assert_eq!(p10.timeline, [rseg(0, 60, RouteCondition::Lost)]);
    assert_eq!((rs.route_failovers, rs.route_lost_seconds), (0, 5400.0));
    // Address order, not text order.
    let order: Vec<&str> = rs.routes.iter().map(|r| r.prefix.as_str()).collect();
    assert_eq!(order, [P2, P10]);
}

#[test]
fn a_transition_after_the_window_tells_a_route_was_lost_all_along() {
    // Restored at 11:10: lost for the whole window, though nothing happened in it.
    let report = routes_hour(
        &[route_state(RS1, P1, "healthy", -60, true)],
        &[restored(RS1, P1, 70, "rsp-a")],
    );
    let r = prefix(route_server(&report, RS1), P1);
    assert_eq!(r.lost_intervals, [lost_interval(0, None, true)]);
    assert_eq!(r.lost_seconds, 3600.0);
}

#[test]
fn a_lost_prefix_that_vanishes_stops_counting_and_unseen_prefixes_are_left_out() {
    // P1 lost 10:10, vanishes with its route server 10:40: 30 minutes lost, then unobserved.
    // P2 was only ever seen without a FIB route; P10 vanished before the window.
    let report = routes_hour(
        &[
            route_state(RS1, P1, "down", -60, false),
            route_state(RS1, P2, "transitional", -60, true),
            route_state(RS1, P10, "healthy", -600, false),
        ],
        &[
            lost(RS1, P1, 10, "rsp-a"),
            route_row(
                RS1,
                P1,
                40,
                "vanished",
                (Some("down"), "down"),
                (None, None),
                "route.vanished",
            ),
        ],
    );
    let rs = route_server(&report, RS1);
    assert_eq!(rs.routes.len(), 1, "{rs:#?}");
    let r = &rs.routes[0];
    assert_eq!(r.lost_intervals, [lost_interval(10, Some(40), false)]);
    assert_eq!(
        (r.in_fib_seconds, r.lost_seconds, r.unobserved_seconds),
        (600.0, 1800.0, 1200.0)
    );
    assert_eq!(r.state_at_until, RouteCondition::Unobserved);
}

#[test]
fn a_prefix_discovered_in_the_window_and_route_servers_are_summed_separately() {
    // RS1: P1 discovered in the FIB at 10:30 and failed over at 10:40. RS2 (no peer in the
    // window): P1 lost 10:00-10:05 by a history-only record, failover 10:30.
    let report = routes_hour(
        &[route_state(RS1, P1, "healthy", 30, true)],
        &[
            route_row(
                RS1,
                P1,
                30,
                "discovered",
                (None, "healthy"),
                (None, Some("rsp-a")),
                "route.discovered",
            ),
            moved(RS1, P1, 40, "rsp-a", "rsp-b", "route.failover"),
            restored(RS2, P1, 5, "rsp-x"),
            moved(RS2, P1, 30, "rsp-x", "rsp-y", "route.failover"),
        ],
    );
    let rs1 = route_server(&report, RS1);
    assert_eq!((rs1.route_failovers, rs1.route_lost_seconds), (1, 0.0));
    assert_eq!(
        prefix(rs1, P1).timeline,
        [
            rseg(0, 30, RouteCondition::Unobserved),
            rseg(30, 60, RouteCondition::InFib)
        ]
    );
    let rs2 = route_server(&report, RS2);
    assert_eq!(rs2.totals.peers, 0);
    assert_eq!((rs2.route_failovers, rs2.route_lost_seconds), (1, 300.0));
    assert_eq!(report.fleet.peers, 1);
    assert_eq!(report.route_servers.len(), 2);
}

#[test]
fn a_report_without_routes_has_zero_route_figures() {
    let report = hour(&[state("rsp-a", RS1, "healthy", -60, true)], &[]);
    let rs = route_server(&report, RS1);
    assert!(rs.routes.is_empty());
    assert_eq!((rs.route_failovers, rs.route_lost_seconds), (0, 0.0));
}

#[test]
fn the_route_json_keeps_its_documented_shape() {
    let report = routes_hour(
        &[route_state(RS1, P1, "healthy", -60, true)],
        &[
            moved(RS1, P1, 10, "rsp-a", "rsp-b", "route.failover"),
            lost(RS1, P1, 20, "rsp-b"),
        ],
    );
    let json = serde_json::to_value(&report).unwrap();
    let rs = &json["routeServers"][0];
    assert_eq!(rs["routeFailovers"], 1);
    assert_eq!(rs["routeLostSeconds"], 2400.0);
    assert_eq!(
        rs["routes"][0],
        serde_json::json!({
            "prefix": P1,
            "stateAtUntil": "lost",
            "failovers": 1,
            "lostSeconds": 2400.0,
            "inFibSeconds": 1200.0,
            "unobservedSeconds": 0.0,
            "lostIntervals": [{"startedAt": "2026-11-20T10:20:00.000Z", "startedBeforeWindow": false,
                               "endedAt": null, "durationSeconds": 2400.0}],
            "failoverEvents": [{"observedAt": "2026-11-20T10:10:00.000Z",
                                "fromPeerId": "rsp-a", "toPeerId": "rsp-b"}],
            "timeline": [
                {"from": "2026-11-20T10:00:00.000Z", "to": "2026-11-20T10:20:00.000Z", "state": "in-fib"},
                {"from": "2026-11-20T10:20:00.000Z", "to": "2026-11-20T11:00:00.000Z", "state": "lost"}
            ]
        })
    );
}
