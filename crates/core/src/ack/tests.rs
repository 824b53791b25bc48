use std::collections::HashMap;

use super::*;
use crate::detect::{Rules, detect};
use crate::fabric::{EndpointSnapshot, Fabric};
use crate::model::PeerSnapshot;
use crate::render::{render, render_fabric};
use crate::testing::at;

fn peer(bgp: &str, state: &str) -> PeerSnapshot {
    PeerSnapshot {
        route_server_peer_id: "rsp-1".into(),
        route_server_id: "rs-1".into(),
        vpc_id: "vpc-1".into(),
        peer_address: "10.0.1.5".into(),
        peer_asn: Some(65001),
        peer_liveness_detection: "bgp-keepalive".into(),
        state: state.into(),
        bgp_status: Some(bgp.into()),
        bfd_status: Some("up".into()),
        ..Default::default()
    }
}

fn up() -> PeerSnapshot {
    peer("up", "available")
}

fn down() -> PeerSnapshot {
    peer("down", "available")
}

fn ack(by: &str, secs: i64) -> Ack {
    Ack {
        by: by.into(),
        reason: Some("on it".into()),
        at: at(secs),
    }
}

/// Cycles of one peer, reminders every hour, carrying its record as the store would.
struct Peer {
    record: Option<PeerRecord>,
    rules: Rules,
}

impl Peer {
    fn new() -> Self {
        let rules = Rules {
            remind_every_secs: 3600,
            ..Rules::default()
        };
        Peer {
            record: None,
            rules,
        }
    }

    /// The transition of one cycle at `secs`, if any.
    fn cycle(&mut self, secs: i64, listed: PeerSnapshot) -> Option<Transition> {
        let known: HashMap<String, PeerRecord> = self
            .record
            .iter()
            .map(|r| (r.peer.route_server_peer_id.clone(), r.clone()))
            .collect();
        let mut out = detect(&known, &[listed], at(secs), &self.rules);
        assert!(out.len() <= 1, "{out:#?}");
        let t = out.pop()?;
        self.record = Some(t.record.clone());
        Some(t)
    }

    fn ack(&mut self, a: Ack) -> Result<Transition, AckError> {
        let t = acknowledge(self.record.as_ref().unwrap(), a, None)?;
        self.record = Some(t.record.clone());
        Ok(t)
    }
}

/// A peer healthy at 0 and down (alerted) at 60 s.
fn alerted() -> Peer {
    let mut p = Peer::new();
    p.cycle(0, up());
    let alert = p.cycle(60, down()).unwrap();
    assert_eq!(alert.record.open_alert, Some(Severity::Critical));
    p
}

#[test]
fn an_acknowledgement_is_an_info_note_always_notified_and_changes_nothing_else() {
    let mut p = alerted();
    // Even a deployment that notifies criticals only sends the note.
    p.rules.min_severity = Severity::Critical;
    let before = p.record.clone().unwrap();
    let t = p.ack(ack("OnCall/alice", 1800)).unwrap();
    assert_eq!(
        (t.kind, t.event, t.severity, t.notification, t.source),
        (
            TransitionKind::Acknowledged,
            Event::AlertAcknowledged,
            Severity::Info,
            NotificationState::Pending,
            Source::Operator
        )
    );
    assert!(t.changes.is_empty());
    assert_eq!(
        (t.health_from, t.health_to),
        (Some(Health::Down), Health::Down)
    );
    assert_eq!(t.observed_at, at(1800));
    assert_eq!(t.expected_version, Some(before.version));
    assert_eq!(t.record.version, before.version + 1);
    assert_eq!(t.record.last_changed_at, before.last_changed_at);
    assert_eq!(t.previous_observed_at, Some(at(60)));
    assert_eq!(t.record.open_alert, Some(Severity::Critical));
    assert_eq!(t.record.alerting.alerted_at, before.alerting.alerted_at);
    assert_eq!(t.record.alerting.acked, Some(ack("OnCall/alice", 1800)));
    assert_eq!(t.record.peer, before.peer);

    // The note: in the alert's thread, `info`, with who and why.
    let n = render(&t);
    assert_eq!(
        n.subject,
        "[INFO] rsp-1 acknowledged by OnCall/alice: on it (10.0.1.5, AS65001)"
    );
    let attrs: HashMap<_, _> = n.attributes.iter().cloned().collect();
    assert_eq!(attrs["severity"], "info");
    assert_eq!(attrs["event"], "alert.acknowledged");
    let doc: serde_json::Value = serde_json::from_str(&n.message).unwrap();
    let chat: serde_json::Value = serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
    assert_eq!(chat["metadata"]["threadId"], "rsp-1");
    assert_eq!(chat["metadata"]["eventType"], "alert.acknowledged");
    let event: serde_json::Value = serde_json::from_str(doc["sqs"].as_str().unwrap()).unwrap();
    assert_eq!(event["kind"], "acknowledged");
    assert_eq!(event["severity"], "info");
    assert_eq!(event["peer"]["acked"]["by"], "OnCall/alice");
    assert_eq!(event["peer"]["acked"]["reason"], "on it");
    let text = doc["default"].as_str().unwrap();
    assert!(
        text.starts_with(
            "INFO: the critical alert on rsp-1 is acknowledged by OnCall/alice: on it"
        ),
        "{text}"
    );
    assert!(text.contains("its reminders stop until it ends"), "{text}");
}

#[test]
fn reminders_stop_while_acknowledged_and_come_back_for_the_next_alert() {
    let mut p = alerted();
    p.ack(ack("OnCall/alice", 1800)).unwrap();
    for secs in (120..=3 * 3600).step_by(60) {
        assert!(p.cycle(secs, down()).is_none(), "nothing at {secs} s");
    }
    // The recovery is still sent, and ends the acknowledgement with the alert.
    let back = p.cycle(3 * 3600 + 60, up()).unwrap();
    assert_eq!(
        (back.severity, back.notification),
        (Severity::Recovery, NotificationState::Pending)
    );
    assert_eq!(back.record.alerting.acked, None);
    // The next failure alerts, and reminds, as if nobody had ever acknowledged anything.
    let again = p.cycle(4 * 3600, down()).unwrap();
    assert_eq!(
        (again.severity, again.notification),
        (Severity::Critical, NotificationState::Pending)
    );
    assert_eq!(again.record.alerting.acked, None);
    let reminder = p.cycle(5 * 3600, down()).unwrap();
    assert_eq!(reminder.kind, TransitionKind::Reminder);
    // Without the ack, the same alert would have reminded: the rule is what stopped them.
    let mut control = alerted();
    assert_eq!(
        control.cycle(3660, down()).map(|t| t.kind),
        Some(TransitionKind::Reminder)
    );
}

#[test]
fn an_escalation_is_a_new_alert_and_not_acknowledged() {
    let mut p = Peer::new();
    p.cycle(0, up());
    let warning = p.cycle(60, peer("up", "failing")).unwrap();
    assert_eq!(warning.record.open_alert, Some(Severity::Warning));
    p.ack(ack("OnCall/alice", 120)).unwrap();
    // A change that keeps the health keeps the acknowledgement.
    let same = p.cycle(
        180,
        PeerSnapshot {
            failure_reason: Some("hold timer".into()),
            ..peer("up", "failing")
        },
    );
    assert!(same.is_none(), "the failure reason is not a recorded field");
    let worse = p.cycle(240, peer("down", "failed")).unwrap();
    assert_eq!(
        (worse.severity, worse.notification),
        (Severity::Critical, NotificationState::Pending)
    );
    assert_eq!(worse.record.alerting.acked, None);
    assert_eq!(
        p.cycle(240 + 3600, peer("down", "failed")).map(|t| t.kind),
        Some(TransitionKind::Reminder)
    );
    assert!(p.ack(ack("OnCall/bob", 240 + 3700)).is_ok());
}

#[test]
fn nothing_open_and_already_acknowledged_are_told_apart() {
    let mut p = Peer::new();
    p.cycle(0, up());
    assert_eq!(
        p.ack(ack("a", 10)).unwrap_err(),
        AckError::NothingOpen {
            health: Health::Healthy,
            present: true
        }
    );
    // Down, but below NOTIFY_MIN_SEVERITY: nothing was alerted, so nothing is open.
    let mut quiet = Peer::new();
    quiet.rules.min_severity = Severity::Critical;
    quiet.cycle(0, up());
    quiet.cycle(60, peer("up", "failing"));
    let err = quiet.ack(ack("a", 120)).unwrap_err();
    assert_eq!(
        err,
        AckError::NothingOpen {
            health: Health::Degraded,
            present: true
        }
    );
    assert_eq!(err.to_string(), "no alert is open: it is degraded");

    let mut p = alerted();
    let first = p.ack(ack("OnCall/alice", 1800)).unwrap();
    let err = p.ack(ack("OnCall/bob", 1801)).unwrap_err();
    assert_eq!(err, AckError::AlreadyAcked(ack("OnCall/alice", 1800)));
    assert!(err.to_string().contains("OnCall/alice"), "{err}");
    // The loser of a race holds the record from before: the store's `Version` condition
    // rejects its write, and it reads the winner's record back as above.
    assert_eq!(first.expected_version, Some(first.record.version - 1));
}

#[test]
fn an_acknowledgement_at_or_before_the_newest_item_is_recorded_one_ms_after_it() {
    let p = alerted();
    let r = p.record.as_ref().unwrap();
    // A reminder at 3660 s left no time on the record; the history says so.
    let t = acknowledge(r, ack("x", 3000), Some(at(3660))).unwrap();
    assert_eq!(t.observed_at, at(3660).plus_millis(1));
    assert_eq!(t.record.alerting.acked.unwrap().at, t.observed_at);
    // In the same millisecond as the alert, with no history read.
    let t = acknowledge(r, ack("x", 60), None).unwrap();
    assert_eq!(t.observed_at, at(60).plus_millis(1));
}

#[test]
fn a_fabric_subject_is_acknowledged_by_the_same_rule_in_its_own_thread() {
    let endpoint = |state: &str| EndpointSnapshot {
        route_server_endpoint_id: "rse-1".into(),
        route_server_id: "rs-1".into(),
        vpc_id: "vpc-1".into(),
        state: state.into(),
        ..Default::default()
    };
    let rules = Rules {
        remind_every_secs: 3600,
        ..Rules::default()
    };
    let fabric = |state: &str| Fabric {
        endpoints: vec![endpoint(state)],
        ..Default::default()
    };
    let mut known = HashMap::new();
    let step = |known: &mut HashMap<String, FabricRecord>, secs: i64, state: &str| {
        let out = crate::fabric::detect::detect(known, &fabric(state), at(secs), &rules);
        for t in &out {
            known.insert(t.key(), t.record.clone());
        }
        out
    };
    step(&mut known, 0, "available");
    let alert = step(&mut known, 60, "failed");
    assert_eq!(alert[0].record.open_alert, Some(Severity::Critical));
    let healthy_err = acknowledge_fabric(
        &FabricRecord {
            open_alert: None,
            ..known["rse-1"].clone()
        },
        ack("a", 100),
        None,
    );
    assert!(matches!(healthy_err, Err(AckError::NothingOpen { .. })));

    let t = acknowledge_fabric(&known["rse-1"], ack("OnCall/alice", 1800), None).unwrap();
    assert_eq!(
        (t.kind, t.severity, t.notification, t.event),
        (
            TransitionKind::Acknowledged,
            Severity::Info,
            NotificationState::Pending,
            Event::AlertAcknowledged
        )
    );
    assert_eq!(t.detail.route_server_endpoint_id.as_deref(), Some("rse-1"));
    let n = render_fabric(&t);
    assert_eq!(
        n.subject,
        "[INFO] endpoint rse-1 acknowledged by OnCall/alice: on it"
    );
    let doc: serde_json::Value = serde_json::from_str(&n.message).unwrap();
    let chat: serde_json::Value = serde_json::from_str(doc["https"].as_str().unwrap()).unwrap();
    let alert_chat: serde_json::Value = serde_json::from_str(
        serde_json::from_str::<serde_json::Value>(&render_fabric(&alert[0]).message).unwrap()
            ["https"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        chat["metadata"]["threadId"],
        alert_chat["metadata"]["threadId"]
    );
    known.insert(t.key(), t.record.clone());
    assert!(
        step(&mut known, 3700, "failed").is_empty(),
        "no reminder while acknowledged"
    );
    assert!(matches!(
        acknowledge_fabric(&known["rse-1"], ack("b", 3800), None),
        Err(AckError::AlreadyAcked(_))
    ));
    let back = step(&mut known, 3900, "available");
    assert_eq!(back[0].severity, Severity::Recovery);
    assert_eq!(back[0].record.alerting.acked, None);
}
