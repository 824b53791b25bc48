use std::collections::HashMap;

use super::*;
use crate::fabric::{FibRoute, PeerRoutesSnapshot, RouteServerSnapshot, RouteTableInstall};
use crate::ids::RouteServerId;
use crate::model::NotificationState;
use crate::mute::{Mute, MuteTarget};
use crate::testing::at;

const RS: &str = "rs-0a1b2c3d4e5f60718";

fn route(prefix: &str, peer: &str, tables: &[(&str, &str)]) -> RouteSnapshot {
    RouteSnapshot {
        route_server_id: RS.into(),
        vpc_id: "vpc-1".into(),
        prefix: prefix.into(),
        fib: Some(FibRoute {
            route_server_peer_id: peer.into(),
            route_server_endpoint_id: "rse-1".into(),
            next_hop_ip: format!("10.0.0.{}", peer.len()),
            as_paths: vec!["65001".into()],
            med: Some(0),
            route_tables: tables
                .iter()
                .map(|(id, status)| RouteTableInstall {
                    route_table_id: (*id).into(),
                    status: (*status).into(),
                    reason: (*status == "rejected").then(|| "static route in the way".into()),
                })
                .collect(),
        }),
    }
}

fn installed(prefix: &str, peer: &str) -> RouteSnapshot {
    route(
        prefix,
        peer,
        &[("rtb-a", "installed"), ("rtb-b", "installed")],
    )
}

fn server(persisted: bool) -> RouteServerSnapshot {
    RouteServerSnapshot {
        route_server_id: RS.into(),
        vpc_id: "vpc-1".into(),
        state: "available".into(),
        persist_routes_state: Some("enabled".into()),
        persist_routes_duration: Some(1),
        are_routes_persisted: persisted,
        tags: Default::default(),
        advertised: Default::default(),
    }
}

fn endpoint(state: &str, reason: Option<&str>) -> EndpointSnapshot {
    EndpointSnapshot {
        route_server_endpoint_id: "rse-1".into(),
        route_server_id: RS.into(),
        vpc_id: "vpc-1".into(),
        state: state.into(),
        failure_reason: reason.map(str::to_string),
        ..Default::default()
    }
}

fn advertises(peer: &str, n: u32) -> PeerRoutesSnapshot {
    PeerRoutesSnapshot {
        route_server_peer_id: peer.into(),
        route_server_id: RS.into(),
        vpc_id: "vpc-1".into(),
        advertised: n,
    }
}

fn healthy() -> Fabric {
    Fabric {
        route_servers: vec![server(false)],
        endpoints: vec![endpoint("available", None)],
        routes: vec![
            installed("0.0.0.0/0", "rsp-a"),
            installed("10.1.0.0/16", "rsp-a"),
        ],
        advertising: vec![advertises("rsp-a", 2), advertises("rsp-b", 1)],
        ..Default::default()
    }
}

/// Cycles of one fabric after another, one minute apart, carrying the records.
struct Run {
    known: HashMap<String, FabricRecord>,
    rules: Rules,
    minute: i64,
}

impl Run {
    fn new() -> Run {
        Run {
            known: HashMap::new(),
            rules: Rules::default(),
            minute: 0,
        }
    }

    fn cycle(&mut self, fabric: &Fabric) -> Vec<FabricTransition> {
        let out = detect(&self.known, fabric, at(self.minute * 60), &self.rules);
        self.minute += 1;
        for t in &out {
            self.known.insert(t.key(), t.record.clone());
        }
        out
    }

    /// Discovers `healthy()`, then answers the next cycle's notified events.
    fn after(&mut self, fabric: &Fabric) -> Vec<FabricTransition> {
        if self.known.is_empty() {
            self.cycle(&healthy());
        }
        self.cycle(fabric)
    }
}

fn events(out: &[FabricTransition]) -> Vec<(String, &'static str, Severity)> {
    out.iter()
        .map(|t| (t.key(), t.event.as_str(), t.severity))
        .collect()
}

#[test]
fn first_sight_is_discovered_info_and_a_steady_cycle_is_silent() {
    let mut run = Run::new();
    let first = run.cycle(&healthy());
    assert_eq!(first.len(), 4, "route server, endpoint, two routes");
    assert!(first.iter().all(|t| t.kind == TransitionKind::Discovered
        && t.severity == Severity::Info
        && t.notification == NotificationState::NotRequired));
    // What each peer advertises is the route server's, not an item per peer.
    let rs = first.iter().find(|t| t.key() == RS).unwrap();
    let c = rs
        .changes
        .iter()
        .find(|c| c.field == Field::AdvertisedRoutes)
        .unwrap();
    assert_eq!(
        (c.from.as_deref(), c.to.as_deref()),
        (None, Some("rsp-a: 2, rsp-b: 1"))
    );
    assert!(run.cycle(&healthy()).is_empty());
}

#[test]
fn a_peer_that_never_advertised_is_not_tracked() {
    let mut run = Run::new();
    let mut f = healthy();
    f.advertising.push(advertises("rsp-c", 0));
    run.cycle(&f);
    assert!(run.cycle(&f).is_empty());
    assert!(!run.known.contains_key("routes#rsp-c"));
}

#[test]
fn failover_names_both_next_hops_and_leaves_nothing_open() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes[0] = installed("0.0.0.0/0", "rsp-bb");
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [(
            "route#rs-0a1b2c3d4e5f60718#0.0.0.0/0".to_string(),
            "route.failover",
            Severity::Warning
        )]
    );
    let t = &out[0];
    assert_eq!(t.notification, NotificationState::Pending);
    assert_eq!(t.detail.prefix.as_deref(), Some("0.0.0.0/0"));
    assert_eq!(
        t.detail.from.as_ref().unwrap().route_server_peer_id,
        "rsp-a"
    );
    assert_eq!(t.detail.to.as_ref().unwrap().route_server_peer_id, "rsp-bb");
    assert_eq!(t.detail.route_tables, ["rtb-a", "rtb-b"]);
    assert_eq!(t.peers(), ["rsp-a", "rsp-bb"]);
    assert_eq!(t.record.open_alert, None);
    // And back: a failover again, still nothing open.
    let back = run.cycle(&healthy());
    assert_eq!(back[0].event, Event::RouteFailover);
    assert_eq!(back[0].record.open_alert, None);
}

#[test]
fn a_lost_prefix_alerts_and_its_return_recovers() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes.remove(1);
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [(
            "route#rs-0a1b2c3d4e5f60718#10.1.0.0/16".to_string(),
            "route.lost",
            Severity::Critical
        )]
    );
    assert_eq!(
        out[0].detail.from.as_ref().unwrap().route_server_peer_id,
        "rsp-a"
    );
    assert_eq!(out[0].detail.to, None);
    assert_eq!(out[0].record.open_alert, Some(Severity::Critical));
    assert!(run.cycle(&f).is_empty(), "lost stays lost, silently");
    let back = run.cycle(&healthy());
    assert_eq!(events(&back)[0].1, "route.restored");
    assert_eq!(back[0].severity, Severity::Recovery);
}

#[test]
fn a_rejection_names_its_table_and_reason_and_installation_recovers() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes[1] = route(
        "10.1.0.0/16",
        "rsp-a",
        &[("rtb-a", "installed"), ("rtb-b", "rejected")],
    );
    let out = run.after(&f);
    assert_eq!(events(&out)[0].1, "route.rejected");
    assert_eq!(out[0].severity, Severity::Warning);
    assert_eq!(out[0].detail.route_table_id.as_deref(), Some("rtb-b"));
    assert_eq!(
        out[0].detail.reason.as_deref(),
        Some("static route in the way")
    );
    let back = run.cycle(&healthy());
    assert_eq!(events(&back)[0].1, "route.installed");
    assert_eq!(back[0].severity, Severity::Recovery);
    assert_eq!(back[0].detail.route_table_id.as_deref(), Some("rtb-b"));
}

#[test]
fn persisted_routes_are_critical_and_list_prefixes_and_tables() {
    let mut run = Run::new();
    let mut f = healthy();
    f.route_servers[0].are_routes_persisted = true;
    f.advertising.clear();
    f.quiet = ["rsp-a".to_string(), "rsp-b".to_string()].into();
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [(RS.to_string(), "routes.persisted", Severity::Critical)]
    );
    assert_eq!(out[0].detail.prefixes, ["0.0.0.0/0", "10.1.0.0/16"]);
    assert_eq!(out[0].detail.route_tables, ["rtb-a", "rtb-b"]);
    let back = run.cycle(&healthy());
    assert_eq!(
        events(&back),
        [(RS.to_string(), "routes.unpersisted", Severity::Recovery)]
    );
}

#[test]
fn an_endpoint_failing_with_a_reason_then_recovering() {
    let mut run = Run::new();
    let mut f = healthy();
    f.endpoints[0] = endpoint("failed", Some("ENI deleted"));
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [("rse-1".to_string(), "endpoint.failed", Severity::Critical)]
    );
    assert_eq!(out[0].detail.failure_reason.as_deref(), Some("ENI deleted"));
    assert_eq!(
        out[0].detail.route_server_endpoint_id.as_deref(),
        Some("rse-1")
    );
    let back = run.cycle(&healthy());
    assert_eq!(
        events(&back),
        [(
            "rse-1".to_string(),
            "endpoint.recovered",
            Severity::Recovery
        )]
    );
}

#[test]
fn delete_failed_and_failing_are_warnings() {
    for (state, event) in [
        ("failing", "endpoint.failing"),
        ("delete-failed", "endpoint.delete-failed"),
    ] {
        let mut run = Run::new();
        let mut f = healthy();
        f.endpoints[0] = endpoint(state, None);
        let out = run.after(&f);
        assert_eq!(
            events(&out),
            [("rse-1".to_string(), event, Severity::Warning)]
        );
    }
}

#[test]
fn a_peer_that_withdraws_everything_with_its_session_up() {
    let mut run = Run::new();
    let mut f = healthy();
    f.advertising[1] = advertises("rsp-b", 0);
    // The first silent reading is recorded on the route server, not alerted.
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [(RS.to_string(), "route-server.changed", Severity::Info)]
    );
    let c = &out[0].changes[0];
    assert_eq!(
        (c.from.as_deref(), c.to.as_deref()),
        (Some("rsp-b: 1"), Some("rsp-b: 0"))
    );
    // Silent again a cycle later: confirmed.
    let out = run.cycle(&f);
    assert_eq!(
        events(&out),
        [(
            "routes#rsp-b".to_string(),
            "peer.no-routes",
            Severity::Warning
        )]
    );
    let silent = &out[0];
    assert_eq!(silent.detail.route_server_peer_id.as_deref(), Some("rsp-b"));
    assert_eq!(silent.peers(), ["rsp-b"]);
    assert_eq!(silent.health_from, Some(Health::Healthy));
    let back = run.cycle(&healthy());
    assert_eq!(
        events(&back),
        [
            (RS.to_string(), "route-server.changed", Severity::Info),
            (
                "routes#rsp-b".to_string(),
                "peer.routes-restored",
                Severity::Recovery
            )
        ]
    );
    // Silent again: the same record, its next version.
    run.cycle(&f);
    let again = run.cycle(&f);
    assert_eq!(again[0].event, Event::PeerNoRoutes);
    assert_eq!(again[0].version(), 3);
}

#[test]
fn one_silent_reading_between_two_with_routes_alerts_nothing() {
    let mut run = Run::new();
    let mut f = healthy();
    f.advertising[1] = advertises("rsp-b", 0);
    run.after(&f);
    let back = run.cycle(&healthy());
    assert!(
        back.iter()
            .all(|t| t.notification == NotificationState::NotRequired)
    );
    assert!(!run.known.contains_key("routes#rsp-b"));
}

#[test]
fn a_lost_prefix_back_but_rejected_is_a_rejection() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes.remove(1);
    run.after(&f);
    let mut g = healthy();
    g.routes[1] = route(
        "10.1.0.0/16",
        "rsp-a",
        &[("rtb-a", "installed"), ("rtb-b", "rejected")],
    );
    let out = run.cycle(&g);
    assert_eq!(out[0].event, Event::RouteRejected);
    assert_eq!(out[0].severity, Severity::Warning);
    assert_eq!(out[0].record.open_alert, Some(Severity::Warning));
    let out = run.cycle(&healthy());
    assert_eq!(
        (out[0].event, out[0].severity),
        (Event::RouteInstalled, Severity::Recovery)
    );
}

#[test]
fn failing_then_delete_failed_alerts_each() {
    let mut run = Run::new();
    let mut f = healthy();
    f.endpoints[0] = endpoint("failing", None);
    run.after(&f);
    f.endpoints[0] = endpoint("delete-failed", None);
    let out = run.cycle(&f);
    assert_eq!(
        (out[0].event, out[0].notification),
        (Event::EndpointDeleteFailed, NotificationState::Pending)
    );
}

#[test]
fn an_as_path_or_med_change_is_named() {
    let mut run = Run::new();
    let mut f = healthy();
    if let Some(fib) = f.routes[0].fib.as_mut() {
        fib.as_paths = vec!["65001".into(), "65001".into()];
        fib.med = Some(20);
    }
    let out = run.after(&f);
    let fields: Vec<Field> = out[0].changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, [Field::AsPaths, Field::Med]);
    assert_eq!(out[0].event, Event::RouteChanged);
}

#[test]
fn a_withdrawal_without_a_change_of_the_fib_is_recorded_not_notified() {
    let mut run = Run::new();
    let mut f = healthy();
    f.advertising[0] = advertises("rsp-a", 1);
    let out = run.after(&f);
    assert_eq!(
        events(&out),
        [(RS.to_string(), "route-server.changed", Severity::Info)]
    );
    assert_eq!(out[0].notification, NotificationState::NotRequired);
    let c = &out[0].changes[0];
    assert_eq!(
        (c.field, c.from.as_deref(), c.to.as_deref()),
        (Field::AdvertisedRoutes, Some("rsp-a: 2"), Some("rsp-a: 1"))
    );
    assert_eq!(out[0].peers(), ["rsp-a"], "it shows in that peer's history");
}

#[test]
fn a_session_down_leaves_the_advertisement_as_it_was() {
    let mut run = Run::new();
    let mut f = healthy();
    f.advertising.remove(1);
    f.quiet.insert("rsp-b".into());
    assert!(run.after(&f).is_empty());
}

#[test]
fn an_unread_routing_database_records_nothing_lost() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes.clear();
    f.advertising.clear();
    f.unread.push(RS.into());
    assert!(run.after(&f).is_empty());
}

#[test]
fn a_route_server_that_goes_takes_its_things_with_it_quietly() {
    let mut run = Run::new();
    let out = run.after(&Fabric::default());
    assert_eq!(out.len(), 4);
    assert!(out.iter().all(|t| t.kind == TransitionKind::Vanished
        && t.severity == Severity::Info
        && !t.record.present));
}

#[test]
fn out_of_scope_route_servers_are_left_alone() {
    let mut run = Run::new();
    run.rules.route_server_ids = Some(vec![RouteServerId::parse("rs-other").unwrap()]);
    assert!(run.cycle(&healthy()).is_empty());
}

#[test]
fn a_route_server_mute_holds_back_its_route_alerts() {
    let mut run = Run::new();
    run.cycle(&healthy());
    run.rules.mutes = vec![Mute {
        target: MuteTarget::RouteServer(RouteServerId::parse(RS).unwrap()),
        until: None,
    }];
    let mut f = healthy();
    f.routes.remove(1);
    f.endpoints[0] = endpoint("failed", None);
    let out = run.cycle(&f);
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|t| t.notification == NotificationState::Suppressed)
    );
    // The mute ends: the alert it held back is sent once.
    run.rules.mutes.clear();
    let out = run.cycle(&f);
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|t| t.kind == TransitionKind::Unmuted
                && t.notification == NotificationState::Pending)
    );
}

#[test]
fn a_lost_prefix_is_reminded_of() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes.remove(1);
    run.after(&f);
    run.minute += 60;
    let out = run.cycle(&f);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, TransitionKind::Reminder);
    assert_eq!(out[0].event, Event::RouteLost);
    assert_eq!(out[0].severity, Severity::Critical);
}

#[test]
fn a_prefix_failing_over_back_and_forth_is_flapping() {
    let mut run = Run::new();
    run.cycle(&healthy());
    let mut other = healthy();
    other.routes[0] = installed("0.0.0.0/0", "rsp-bb");
    let mut seen = Vec::new();
    for i in 0..6 {
        let f = if i % 2 == 0 { &other } else { &healthy() };
        let out = run.cycle(f);
        seen.push((out[0].event.as_str(), out[0].notification));
    }
    assert_eq!(
        seen[4],
        ("route.flapping", NotificationState::Pending),
        "{seen:?}"
    );
    assert_eq!(seen[5].1, NotificationState::Suppressed, "{seen:?}");
}

#[test]
fn installed_again_on_another_peer_is_the_recovery_of_the_rejection() {
    let mut run = Run::new();
    let mut f = healthy();
    f.routes[0] = route(
        "0.0.0.0/0",
        "rsp-a",
        &[("rtb-a", "rejected"), ("rtb-b", "installed")],
    );
    run.after(&f);
    let mut g = healthy();
    g.routes[0] = installed("0.0.0.0/0", "rsp-bb");
    let out = run.cycle(&g);
    assert_eq!(out[0].event, Event::RouteInstalled);
    assert_eq!(out[0].severity, Severity::Recovery);
    assert_eq!(
        out[0].detail.to.as_ref().unwrap().route_server_peer_id,
        "rsp-bb"
    );
    assert_eq!(out[0].record.open_alert, None);
}
