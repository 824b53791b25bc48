use super::*;
use crate::ids::RouteServerId;
use crate::mute::{MUTE_TAG, MuteTarget, tag_mute};

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
    h.rules.flap_threshold = 0; // five health changes in five minutes would be flapping
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
    h.rules.route_server_ids = Some(vec![RouteServerId::parse("rs-00000000000000001").unwrap()]);
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

// --- the alert rules: flapping, mutes, reminders ----------------------------------------------

fn up(id: &str) -> PeerSnapshot {
    peer(id, "available", "up", "up", "bgp-keepalive")
}

fn down(id: &str) -> PeerSnapshot {
    peer(id, "available", "down", "up", "bgp-keepalive")
}

impl Harness {
    /// Moves the clock to `minute` (the next cycle runs at it).
    fn at(&mut self, minute: i64) -> &mut Self {
        self.tick = minute - 1;
        self
    }

    /// (event, notification) of what one cycle produced for its only peer, if anything.
    fn said(&mut self, listed: &[PeerSnapshot]) -> Option<(Event, NotificationState)> {
        let out = self.cycle(listed);
        assert!(out.len() <= 1, "{out:#?}");
        out.first().map(|t| (t.event, t.notification))
    }
}

#[test]
fn a_flapping_peer_alerts_once_then_holds_its_alerts_until_it_settles() {
    use Event::*;
    use NotificationState::*;
    let mut h = Harness::new();
    assert_eq!(
        h.at(0).said(&[up("rsp-1")]),
        Some((PeerDiscovered, NotRequired))
    );
    // Four health changes in the window alert as usual, the fifth says "flapping" once.
    let mut said = Vec::new();
    for (minute, p) in [
        (2, down("rsp-1")),
        (4, up("rsp-1")),
        (6, down("rsp-1")),
        (8, up("rsp-1")),
        (10, down("rsp-1")),
        (12, up("rsp-1")),
    ] {
        said.push(h.at(minute).said(&[p]).unwrap());
    }
    assert_eq!(
        said,
        [
            (BgpDown, Pending),
            (BgpUp, Pending),
            (BgpDown, Pending),
            (BgpUp, Pending),
            (PeerFlapping, Pending),
            (BgpUp, Suppressed),
        ]
    );
    let record = &h.known["rsp-1"];
    assert_eq!(record.alerting.flapping_since, Some(t(10)));
    assert_eq!(
        record.open_alert,
        Some(Severity::Warning),
        "the flapping alert is open"
    );
    // Stable, but not for the hold time yet (15 minutes after the last change at 12).
    assert_eq!(h.at(20).said(&[up("rsp-1")]), None);
    let settled = h.at(27).one(&[up("rsp-1")]);
    assert_eq!(
        (
            settled.kind,
            settled.event,
            settled.severity,
            settled.notification
        ),
        (
            TransitionKind::Settled,
            PeerSettled,
            Severity::Recovery,
            Pending
        )
    );
    assert_eq!(settled.previous_duration_seconds, Some(15 * 60));
    assert!(settled.changes.is_empty());
    assert_eq!(settled.record.alerting, AlertState::default());
    assert_eq!(settled.record.open_alert, None);
    assert_eq!(settled.record.last_changed_at, t(12), "no field changed");
    // Settled means settled: nothing more, and the next failure alerts normally.
    assert_eq!(h.at(40).said(&[up("rsp-1")]), None);
    assert_eq!(h.at(41).said(&[down("rsp-1")]), Some((BgpDown, Pending)));
}

#[test]
fn changes_spread_wider_than_the_window_are_not_flapping() {
    let mut h = Harness::new();
    h.at(0).cycle(&[up("rsp-1")]);
    for i in 1..=8 {
        let p = if i % 2 == 1 {
            down("rsp-1")
        } else {
            up("rsp-1")
        };
        let tr = h.at(i * 10).one(&[p]);
        assert_ne!(tr.event, Event::PeerFlapping, "change {i}");
        assert_eq!(tr.notification, NotificationState::Pending);
        assert!(
            tr.record.alerting.health_changes.len() <= 3,
            "pruned to the window"
        );
    }
}

#[test]
fn a_peer_settling_down_opens_a_critical_alert_and_gets_reminders() {
    let mut h = Harness::new();
    h.rules.remind_every_secs = 60 * 60;
    h.at(0).cycle(&[up("rsp-1")]);
    for m in [1, 2, 3, 4, 5] {
        let p = if m % 2 == 1 {
            down("rsp-1")
        } else {
            up("rsp-1")
        };
        h.at(m).cycle(&[p]);
    }
    assert!(h.known["rsp-1"].alerting.flapping_since.is_some());
    let settled = h.at(20).one(&[down("rsp-1")]);
    assert_eq!(
        (settled.event, settled.severity, settled.notification),
        (
            Event::PeerSettled,
            Severity::Critical,
            NotificationState::Pending
        )
    );
    assert_eq!(settled.record.open_alert, Some(Severity::Critical));
    assert_eq!(settled.record.alerting.alerted_at, Some(t(20)));
    assert_eq!(h.at(79).said(&[down("rsp-1")]), None);
    assert_eq!(
        h.at(80).said(&[down("rsp-1")]),
        Some((Event::PeerReminder, NotificationState::Pending))
    );
}

#[test]
fn reminders_come_once_per_interval_while_the_alert_is_open() {
    let mut h = Harness::new();
    h.rules.remind_every_secs = 60 * 60;
    h.at(0).cycle(&[up("rsp-1")]);
    let alert = h.at(1).one(&[down("rsp-1")]);
    assert_eq!(alert.record.alerting.alerted_at, Some(t(1)));
    let mut reminders = Vec::new();
    for minute in 2..=200 {
        for tr in h.at(minute).cycle(&[down("rsp-1")]) {
            assert_eq!(
                (tr.kind, tr.event, tr.severity, tr.notification),
                (
                    TransitionKind::Reminder,
                    Event::PeerReminder,
                    Severity::Critical,
                    NotificationState::Pending
                )
            );
            assert!(tr.changes.is_empty());
            assert_eq!(tr.record.last_changed_at, t(1));
            assert_eq!(tr.record.open_alert, Some(Severity::Critical));
            reminders.push((minute, tr.record.alerting.reminders_sent));
        }
    }
    assert_eq!(reminders, [(61, 1), (121, 2), (181, 3)]);
    // Recovery closes the alert, and with it the reminders.
    let back = h.at(201).one(&[up("rsp-1")]);
    assert_eq!(back.severity, Severity::Recovery);
    let a = &back.record.alerting;
    assert_eq!((a.alerted_at, a.reminders_sent), (None, 0));
    assert!(h.at(400).cycle(&[up("rsp-1")]).is_empty());
}

#[test]
fn a_poller_that_was_away_sends_one_reminder_not_a_burst() {
    let mut h = Harness::new();
    h.rules.remind_every_secs = 60 * 60;
    h.at(0).cycle(&[up("rsp-1")]);
    h.at(1).cycle(&[down("rsp-1")]);
    let tr = h.at(1 + 5 * 60).one(&[down("rsp-1")]);
    assert_eq!(
        (tr.event, tr.record.alerting.reminders_sent),
        (Event::PeerReminder, 5)
    );
    assert!(h.at(2 + 5 * 60).cycle(&[down("rsp-1")]).is_empty());
}

#[test]
fn zero_turns_reminders_off() {
    let mut h = Harness::new();
    h.rules.remind_every_secs = 0;
    h.at(0).cycle(&[up("rsp-1")]);
    h.at(1).cycle(&[down("rsp-1")]);
    assert!(h.at(10_000).cycle(&[down("rsp-1")]).is_empty());
}

#[test]
fn a_muted_peer_records_but_sends_nothing_and_alerts_once_when_the_mute_ends() {
    use Event::*;
    use NotificationState::*;
    let mut h = Harness::new();
    h.rules.mutes = vec![Mute {
        target: MuteTarget::parse("rsp-1").unwrap(),
        until: Some(t(30)),
    }];
    h.at(0).cycle(&[up("rsp-1")]);
    assert_eq!(h.at(5).said(&[down("rsp-1")]), Some((BgpDown, Suppressed)));
    assert_eq!(
        h.known["rsp-1"].alerting.muted_alert,
        Some(Severity::Critical)
    );
    assert_eq!(h.known["rsp-1"].open_alert, None);
    assert_eq!(
        h.at(10).said(&[up("rsp-1")]),
        Some((BgpUp, NotRequired)),
        "no recovery for an alert never sent"
    );
    assert_eq!(
        h.known["rsp-1"].alerting.muted_alert, None,
        "it got better while muted"
    );
    assert_eq!(h.at(20).said(&[down("rsp-1")]), Some((BgpDown, Suppressed)));
    assert_eq!(
        h.at(29).said(&[down("rsp-1")]),
        None,
        "no reminders while muted"
    );
    // The mute ends with the peer still down: one alert.
    let tr = h.at(30).one(&[down("rsp-1")]);
    assert_eq!(
        (tr.kind, tr.event, tr.severity, tr.notification),
        (
            TransitionKind::Unmuted,
            BgpDown,
            Severity::Critical,
            Pending
        )
    );
    assert_eq!(tr.record.open_alert, Some(Severity::Critical));
    assert_eq!(tr.record.alerting.muted_alert, None);
    assert_eq!(h.at(31).said(&[down("rsp-1")]), None);
    assert_eq!(
        h.at(32).said(&[up("rsp-1")]),
        Some((BgpUp, Pending)),
        "its recovery follows"
    );
}

#[test]
fn mutes_by_route_server_and_by_tag() {
    let mut rules = Rules::default();
    let mut p = down("rsp-1");
    assert!(!rules.muted(&p, t(0)));
    rules.mutes.push(Mute {
        target: MuteTarget::parse(&p.route_server_id).unwrap(),
        until: None,
    });
    assert!(
        rules.muted(&p, t(0)),
        "the whole route server, until unmuted"
    );
    rules.mutes.clear();
    for (value, muted_at_0) in [
        ("true", true),
        ("TRUE", true),
        (&t(10).to_string()[..], true),
        (&t(-10).to_string()[..], false),
        ("false", false),
        ("tomorrow", false),
    ] {
        p.tags.insert(MUTE_TAG.into(), value.into());
        assert_eq!(rules.muted(&p, t(0)), muted_at_0, "{value}");
    }
    p.tags.insert(MUTE_TAG.into(), t(10).to_string());
    assert!(!rules.muted(&p, t(10)), "ends at its time");
}

#[test]
fn a_recovery_of_an_alert_sent_before_the_mute_still_goes_out() {
    let mut h = Harness::new();
    h.at(0).cycle(&[up("rsp-1")]);
    assert_eq!(
        h.at(1).one(&[down("rsp-1")]).notification,
        NotificationState::Pending
    );
    h.rules.mutes = vec![Mute {
        target: MuteTarget::parse("rsp-1").unwrap(),
        until: None,
    }];
    let back = h.at(2).one(&[up("rsp-1")]);
    assert_eq!(
        (back.severity, back.notification),
        (Severity::Recovery, NotificationState::Pending)
    );
}

#[test]
fn a_muted_peer_that_vanishes_is_recorded_and_not_alerted() {
    let mut h = Harness::new();
    h.rules.mutes = vec![Mute {
        target: MuteTarget::parse("rsp-1").unwrap(),
        until: None,
    }];
    h.at(0).cycle(&[up("rsp-1")]);
    let gone = h.at(1).one(&[]);
    assert_eq!(
        (gone.kind, gone.severity, gone.notification),
        (
            TransitionKind::Vanished,
            Severity::Warning,
            NotificationState::Suppressed
        )
    );
    assert_eq!(gone.record.alerting, AlertState::default());
}

#[test]
fn the_tag_is_read_exactly_as_the_pure_core_reads_it() {
    let t = |s: &str| -> Timestamp { s.parse().unwrap() };
    let now = t("2026-11-25T19:05:00.000Z");
    let rules = Rules::default();
    for value in [
        "true",
        " TRUE ",
        "True",
        "2026-11-25T20:00:00Z",
        "2026-11-25T20:00:00.500+01:00",
        "2026-11-25T19:05:00.000Z",
        "2026-11-25T10:00:00Z",
        "false",
        "tomorrow",
        "2026-11-25",
        "",
    ] {
        let mut peer = PeerSnapshot::default();
        peer.tags.insert(MUTE_TAG.into(), value.into());
        let ours = tag_mute(value).is_some_and(|until| until.is_none_or(|u| now < u));
        assert_eq!(ours, rules.muted(&peer, now), "{value:?}");
    }
    assert_eq!(tag_mute("true"), Some(None));
    assert_eq!(
        tag_mute("2026-11-25T20:00:00Z"),
        Some(Some(t("2026-11-25T20:00:00Z")))
    );
    assert_eq!(tag_mute("yes"), None);
}
