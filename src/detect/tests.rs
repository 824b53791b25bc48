use super::*;

fn peer(id: &str, state: &str, bgp: &str, bfd: &str, liveness: &str) -> PeerSnapshot {
    PeerSnapshot {
        route_server_peer_id: id.into(),
        route_server_id: "rs-00000000000000001".into(),
        route_server_endpoint_id: "rse-00000000000000001".into(),
        vpc_id: "vpc-1".into(),
        subnet_id: "subnet-1".into(),
        peer_address: "10.0.1.5".into(),
        peer_asn: Some(65001),
        peer_liveness_detection: liveness.into(),
        endpoint_eni_id: "eni-1".into(),
        endpoint_eni_address: "10.0.1.4".into(),
        state: state.into(),
        failure_reason: None,
        bgp_status: Some(bgp.into()),
        bfd_status: Some(bfd.into()),
        tags: Default::default(),
    }
}

fn t(n: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + n * 60_000).unwrap()
}

/// Runs cycles over a sequence of listings, carrying state as the store would.
struct Harness {
    known: HashMap<String, PeerRecord>,
    rules: Rules,
    tick: i64,
}

impl Harness {
    fn new() -> Self {
        Harness {
            known: HashMap::new(),
            rules: Rules::default(),
            tick: 0,
        }
    }

    fn cycle(&mut self, listed: &[PeerSnapshot]) -> Vec<Transition> {
        self.tick += 1;
        let out = detect(&self.known, listed, t(self.tick), &self.rules);
        for tr in &out {
            self.known
                .insert(tr.peer_id().to_string(), tr.record.clone());
        }
        out
    }

    fn one(&mut self, listed: &[PeerSnapshot]) -> Transition {
        let mut out = self.cycle(listed);
        assert_eq!(out.len(), 1, "{out:#?}");
        out.remove(0)
    }
}

#[test]
fn health_table_every_row() {
    let cases = [
        (("failed", "up", "up", "bfd"), Health::Down),
        (("failed", "down", "down", "bgp-keepalive"), Health::Down),
        (("available", "down", "up", "bfd"), Health::Down),
        (("available", "down", "up", "bgp-keepalive"), Health::Down),
        (("available", "up", "down", "bfd"), Health::Down),
        (
            ("available", "up", "down", "bgp-keepalive"),
            Health::Healthy,
        ),
        (("failing", "up", "up", "bfd"), Health::Degraded),
        (("available", "up", "up", "bfd"), Health::Healthy),
        (("available", "up", "up", "bgp-keepalive"), Health::Healthy),
        (("pending", "down", "down", "bfd"), Health::Transitional),
        (("deleting", "down", "down", "bfd"), Health::Transitional),
        (("deleted", "down", "down", "bfd"), Health::Transitional),
        (("quarantined", "up", "up", "bfd"), Health::Transitional),
        (("available", "idle", "up", "bfd"), Health::Transitional),
    ];
    for ((state, bgp, bfd, liveness), want) in cases {
        assert_eq!(
            health(&peer("rsp-1", state, bgp, bfd, liveness)),
            want,
            "{state} {bgp} {bfd} {liveness}"
        );
    }
}

#[test]
fn steady_state_produces_nothing() {
    let mut h = Harness::new();
    let fleet = [
        peer("rsp-1", "available", "up", "up", "bfd"),
        peer("rsp-2", "available", "up", "up", "bgp-keepalive"),
    ];
    assert_eq!(h.cycle(&fleet).len(), 2);
    assert!(h.cycle(&fleet).is_empty());
    assert!(h.cycle(&fleet).is_empty());
}

#[test]
fn discovered_healthy_is_info_and_not_notified() {
    let mut h = Harness::new();
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(tr.kind, TransitionKind::Discovered);
    assert_eq!(
        (tr.severity, tr.event, tr.notification),
        (
            Severity::Info,
            Event::PeerDiscovered,
            NotificationState::NotRequired
        )
    );
    assert_eq!(tr.record.version, 1);
    assert_eq!(tr.expected_version, None);
    assert!(tr.changes.iter().all(|c| c.from.is_none()));
    assert_eq!(
        tr.change(Field::State).unwrap().to.as_deref(),
        Some("available")
    );
    assert_eq!(
        (tr.previous_observed_at, tr.previous_duration_seconds),
        (None, None)
    );
}

#[test]
fn discovered_already_down_alerts() {
    let mut h = Harness::new();
    let mut p = peer("rsp-1", "failed", "down", "down", "bfd");
    p.failure_reason = Some("hold timer expired".into());
    let tr = h.one(&[p]);
    assert_eq!(
        (tr.severity, tr.event, tr.notification),
        (
            Severity::Critical,
            Event::PeerFailed,
            NotificationState::Pending
        )
    );
    assert_eq!(tr.record.open_alert, Some(Severity::Critical));
    let tr = h.one(&[peer("rsp-1", "failing", "up", "up", "bfd")]);
    assert_eq!(
        (tr.severity, tr.event),
        (Severity::Warning, Event::PeerFailing)
    );
}

#[test]
fn bgp_down_then_recovery_in_order() {
    let mut h = Harness::new();
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    let down = h.one(&[peer("rsp-1", "available", "down", "up", "bfd")]);
    assert_eq!(
        (down.severity, down.event, down.kind),
        (Severity::Critical, Event::BgpDown, TransitionKind::Changed)
    );
    assert_eq!(
        down.changes,
        vec![FieldChange {
            field: Field::BgpStatus,
            from: Some("up".into()),
            to: Some("down".into())
        }]
    );
    assert_eq!(down.health_from, Some(Health::Healthy));
    assert_eq!((down.expected_version, down.record.version), (Some(1), 2));
    assert_eq!(down.previous_observed_at, Some(t(1)));
    assert_eq!(down.previous_duration_seconds, Some(60));
    let up = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (up.severity, up.event, up.notification),
        (Severity::Recovery, Event::BgpUp, NotificationState::Pending)
    );
    assert_eq!(up.record.open_alert, None);
    assert_eq!(up.record.first_seen_at, t(1));
}

#[test]
fn bfd_down_alerts_only_with_bfd_liveness() {
    let mut h = Harness::new();
    h.cycle(&[
        peer("rsp-b", "available", "up", "up", "bfd"),
        peer("rsp-k", "available", "up", "up", "bgp-keepalive"),
    ]);
    let out = h.cycle(&[
        peer("rsp-b", "available", "up", "down", "bfd"),
        peer("rsp-k", "available", "up", "down", "bgp-keepalive"),
    ]);
    assert_eq!(out.len(), 2, "both changes are recorded");
    assert_eq!(
        (out[0].severity, out[0].event, out[0].notification),
        (
            Severity::Critical,
            Event::BfdDown,
            NotificationState::Pending
        )
    );
    assert_eq!(
        (out[1].severity, out[1].event, out[1].notification),
        (
            Severity::Info,
            Event::BfdDown,
            NotificationState::NotRequired
        )
    );
    let out = h.cycle(&[
        peer("rsp-b", "available", "up", "up", "bfd"),
        peer("rsp-k", "available", "up", "up", "bgp-keepalive"),
    ]);
    assert_eq!(
        (out[0].severity, out[0].event),
        (Severity::Recovery, Event::BfdUp)
    );
    assert_eq!(
        (out[1].severity, out[1].notification),
        (Severity::Info, NotificationState::NotRequired),
        "no recovery without an alert"
    );
}

#[test]
fn new_peer_coming_up_never_alerts_nor_recovers() {
    let mut h = Harness::new();
    let tr = h.one(&[peer("rsp-1", "pending", "down", "down", "bfd")]);
    assert_eq!(
        (tr.severity, tr.record.health),
        (Severity::Info, Health::Transitional)
    );
    let tr = h.one(&[peer("rsp-1", "available", "down", "down", "bfd")]);
    assert_eq!(
        (tr.severity, tr.event),
        (Severity::Critical, Event::BgpDown),
        "available with BGP down is down"
    );
    let mut h = Harness::new();
    h.cycle(&[peer("rsp-1", "pending", "down", "down", "bfd")]);
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (tr.severity, tr.notification),
        (Severity::Info, NotificationState::NotRequired)
    );
    assert_eq!(tr.event, Event::BgpUp);
}

#[test]
fn failed_with_reason_and_several_fields_at_once() {
    let mut h = Harness::new();
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    let mut p = peer("rsp-1", "failed", "down", "down", "bfd");
    p.failure_reason = Some("BGP hold timer expired".into());
    let tr = h.one(&[p]);
    assert_eq!(tr.changes.len(), 3);
    assert_eq!(
        (tr.severity, tr.event),
        (Severity::Critical, Event::PeerFailed)
    );
    assert_eq!(
        tr.record.peer.failure_reason.as_deref(),
        Some("BGP hold timer expired")
    );
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (tr.severity, tr.event),
        (Severity::Recovery, Event::PeerRecovered)
    );
}

#[test]
fn vanished_without_deleting_warns_and_after_deleting_is_info() {
    let mut h = Harness::new();
    h.cycle(&[
        peer("rsp-1", "available", "up", "up", "bfd"),
        peer("rsp-2", "available", "up", "up", "bfd"),
    ]);
    let out = h.cycle(&[peer("rsp-2", "deleting", "down", "down", "bfd")]);
    assert_eq!(out.len(), 2);
    let gone = out
        .iter()
        .find(|t| t.kind == TransitionKind::Vanished)
        .unwrap();
    assert_eq!(
        (gone.peer_id(), gone.severity, gone.event),
        ("rsp-1", Severity::Warning, Event::PeerVanished)
    );
    assert_eq!(gone.notification, NotificationState::Pending);
    assert!(!gone.record.present);
    assert!(gone.changes.is_empty());
    let deleting = out
        .iter()
        .find(|t| t.kind == TransitionKind::Changed)
        .unwrap();
    assert_eq!(
        (deleting.severity, deleting.event),
        (Severity::Info, Event::BgpDown)
    );
    let tr = h.one(&[]);
    assert_eq!(
        (tr.peer_id(), tr.severity, tr.notification),
        ("rsp-2", Severity::Info, NotificationState::NotRequired)
    );
    assert!(
        h.cycle(&[]).is_empty(),
        "a vanished peer is not vanished again"
    );
}

#[test]
fn a_vanished_peer_that_returns_is_discovered_again_with_its_version_sequence() {
    let mut h = Harness::new();
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    h.cycle(&[]);
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (tr.kind, tr.record.version, tr.expected_version),
        (TransitionKind::Discovered, 3, Some(2))
    );
    assert!(tr.record.present);
}

#[test]
fn unknown_enum_values_are_kept_raw() {
    let mut h = Harness::new();
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    let tr = h.one(&[peer("rsp-1", "quarantined", "established", "up", "bfd")]);
    assert_eq!(tr.record.peer.state, "quarantined");
    assert_eq!(
        tr.change(Field::BgpStatus).unwrap().to.as_deref(),
        Some("established")
    );
    assert_eq!(
        (tr.severity, tr.record.health, tr.event),
        (Severity::Info, Health::Transitional, Event::PeerChanged)
    );
}

#[test]
fn missing_status_fields_are_recorded_as_absent() {
    let mut h = Harness::new();
    let mut p = peer("rsp-1", "pending", "down", "down", "bfd");
    p.bgp_status = None;
    p.bfd_status = None;
    let tr = h.one(&[p]);
    assert_eq!(tr.change(Field::BgpStatus).unwrap().to, None);
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(tr.change(Field::BgpStatus).unwrap().from, None);
}

#[test]
fn min_severity_decides_and_recovery_follows_its_alert() {
    let mut h = Harness::new();
    h.rules.min_severity = Severity::Critical;
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    let failing = h.one(&[peer("rsp-1", "failing", "up", "up", "bfd")]);
    assert_eq!(
        (failing.severity, failing.notification),
        (Severity::Warning, NotificationState::NotRequired)
    );
    let back = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (back.severity, back.notification),
        (Severity::Info, NotificationState::NotRequired),
        "no recovery for an alert never sent"
    );
    h.one(&[peer("rsp-1", "failed", "down", "down", "bfd")]);
    h.one(&[peer("rsp-1", "failing", "up", "up", "bfd")]);
    let back = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(
        (back.severity, back.notification),
        (Severity::Recovery, NotificationState::Pending),
        "the critical alert is still open"
    );

    let mut h = Harness::new();
    h.rules.min_severity = Severity::Info;
    let tr = h.one(&[peer("rsp-1", "available", "up", "up", "bfd")]);
    assert_eq!(tr.notification, NotificationState::Pending);
}

#[test]
fn route_server_scope_limits_listing_and_vanishing() {
    let mut h = Harness::new();
    let mut other = peer("rsp-2", "available", "up", "up", "bfd");
    other.route_server_id = "rs-other".into();
    h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd"), other]);
    h.rules.route_server_ids = Some(vec!["rs-00000000000000001".into()]);
    // rsp-2 is not listed because the run is scoped; it must not be taken as vanished.
    assert!(
        h.cycle(&[peer("rsp-1", "available", "up", "up", "bfd")])
            .is_empty()
    );
}

#[test]
fn duplicate_listing_entries_count_once() {
    let mut h = Harness::new();
    let p = peer("rsp-1", "available", "up", "up", "bfd");
    assert_eq!(h.cycle(&[p.clone(), p]).len(), 1);
}
