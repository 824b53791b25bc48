//! Hand-computed figures: the window is 10:00 to 11:00 unless a test says otherwise, so one
//! minute is 1/60 of it.

use super::*;
use crate::model::PeerSnapshot;

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
    rs.push("routeServerId");
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
