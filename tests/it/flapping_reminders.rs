//! Flap detection and reminders through the emulators: real poll cycles against the simulator
//! and moto, on a scripted clock, every delivered message read field by field.

use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, chat_of, s};

/// One delivery as the SQS subscriber got it, read field by field against the simulator's
/// peer: answers (subject, event JSON).
fn read_delivery(d: &Value, peer: &Value, observed_at: &str) -> (String, Value) {
    let event: Value =
        serde_json::from_str(d["Message"].as_str().expect("Message")).expect("event JSON");
    let id = peer["routeServerPeerId"].as_str().unwrap();
    assert_eq!(event["schemaVersion"], "1");
    assert_eq!(event["routeServerPeerId"], id);
    assert_eq!(event["routeServerId"], peer["routeServerId"]);
    assert_eq!(event["vpcId"], peer["vpcId"]);
    assert_eq!(event["observedAt"], observed_at);
    assert_eq!(event["peer"]["routeServerPeerId"], id);
    assert_eq!(event["peer"]["peerAddress"], peer["peerAddress"]);
    assert_eq!(event["peer"]["peerAsn"], peer["peerAsn"]);
    let attrs = &d["MessageAttributes"];
    assert_eq!(attrs["severity"]["Value"], event["severity"]);
    assert_eq!(attrs["event"]["Value"], event["event"]);
    assert_eq!(attrs["routeServerPeerId"]["Value"], id);
    assert_eq!(attrs["routeServerId"]["Value"], peer["routeServerId"]);
    assert_eq!(attrs["vpcId"]["Value"], peer["vpcId"]);
    let subject = d["Subject"].as_str().unwrap().to_string();
    assert!(subject.len() < 100, "{subject}");
    assert!(
        subject.starts_with(&format!(
            "[{}] {id} ",
            event["severity"].as_str().unwrap().to_uppercase()
        )),
        "{subject}"
    );
    (subject, event)
}

/// The Amazon Q Developer documents of every Publish so far: (eventType, threadId).
fn chat_threads(stack: &Stack) -> Vec<(String, String)> {
    stack
        .recorder
        .calls()
        .into_iter()
        .filter_map(|c| c.published)
        .map(|(_, doc)| {
            let doc: Value = serde_json::from_str(&doc).unwrap();
            let chat = chat_of(&doc);
            (
                chat["metadata"]["eventType"].as_str().unwrap().to_string(),
                chat["metadata"]["threadId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_flapping_6_times_in_10_cycles_alerts_flapping_once_and_settles_once() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at("2026-11-20T10:00:00Z");
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(1, 2);
    let (a, steady) = (&ids[0], &ids[1]);
    stack.cycle().await;

    // Six health changes two minutes apart (defaults: more than 4 in 30 minutes is flapping),
    // then three quiet cycles; the hold time is 15 minutes after the last change.
    let mut delivered = Vec::new();
    for (minute, bgp) in [
        (2, "down"),
        (4, "up"),
        (6, "down"),
        (8, "up"),
        (10, "down"),
        (12, "up"),
        (20, "up"),
        (27, "up"),
        (40, "up"),
    ] {
        clock.set(&format!("2026-11-20T10:{minute:02}:00Z"));
        stack.sim.set_peer(a, json!({"bgpStatus": bgp}));
        stack.cycle().await;
        let peer = stack.sim.peers()[a].clone();
        for d in stack.deliveries().await {
            let observed = format!("2026-11-20T10:{minute:02}:00.000Z");
            let (subject, event) = read_delivery(&d, &peer, &observed);
            delivered.push((
                minute,
                event["event"].as_str().unwrap().to_string(),
                event["severity"].as_str().unwrap().to_string(),
                subject,
            ));
        }
    }
    let said: Vec<(i64, &str, &str)> = delivered
        .iter()
        .map(|(m, e, s, _)| (*m, e.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            (2, "bgp.down", "critical"),
            (4, "bgp.up", "recovery"),
            (6, "bgp.down", "critical"),
            (8, "bgp.up", "recovery"),
            (10, "peer.flapping", "warning"),
            (27, "peer.settled", "recovery"),
        ],
        "exactly one flapping alert and one settled message; the change at 12 is held back"
    );
    assert!(delivered[4].3.contains(" flapping "), "{}", delivered[4].3);
    assert!(
        delivered[5].3.contains(" settled, healthy "),
        "{}",
        delivered[5].3
    );
    // Every message is in the peer's own thread.
    let threads = chat_threads(&stack);
    assert_eq!(threads.len(), 6);
    assert!(threads.iter().all(|(_, thread)| thread == a), "{threads:?}");

    // The history holds every change, the held-back one as `suppressed`, and the settling.
    let history: Vec<(String, String, String, String)> = stack
        .history()
        .await
        .iter()
        .filter(|t| s(t, "RouteServerPeerId") == *a)
        .map(|t| {
            (
                s(t, "ObservedAt")[11..16].to_string(),
                s(t, "Kind"),
                s(t, "Event"),
                s(t, "NotificationState"),
            )
        })
        .collect();
    let want = [
        ("10:00", "discovered", "peer.discovered", "not-required"),
        ("10:02", "changed", "bgp.down", "sent"),
        ("10:04", "changed", "bgp.up", "sent"),
        ("10:06", "changed", "bgp.down", "sent"),
        ("10:08", "changed", "bgp.up", "sent"),
        ("10:10", "changed", "peer.flapping", "sent"),
        ("10:12", "changed", "bgp.up", "suppressed"),
        ("10:27", "settled", "peer.settled", "sent"),
    ];
    assert_eq!(
        history,
        want.map(|(a, b, c, d)| (a.into(), b.into(), c.into(), d.into()))
    );
    assert!(
        stack
            .history()
            .await
            .iter()
            .all(|t| s(t, "RouteServerPeerId") != *steady || s(t, "Kind") == "discovered"),
        "the steady peer recorded nothing after its discovery"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_down_for_3_reminder_intervals_gets_exactly_3_reminders() {
    let mut stack = Stack::with(|c| c.alerting.remind_every_minutes = 60).await;
    let clock = ManualClock::at("2026-11-20T10:00:00Z");
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(1, 2);
    let a = &ids[0];
    stack.cycle().await;
    clock.set("2026-11-20T10:01:00Z");
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    let peer = stack.sim.peers()[a].clone();
    let alert = stack.deliveries().await;
    assert_eq!(alert.len(), 1);
    let (_, event) = read_delivery(&alert[0], &peer, "2026-11-20T10:01:00.000Z");
    assert_eq!(event["event"], "bgp.down");

    // Every 10 minutes for 3 h 10 min: reminders at 11:01, 12:01 and 13:01, no more.
    let mut reminders = Vec::new();
    for step in 1..=19 {
        clock.advance_secs(600);
        let now = clock.now().to_string();
        let summary = stack.cycle().await;
        for d in stack.deliveries().await {
            let (subject, event) = read_delivery(&d, &peer, &now);
            assert_eq!(
                (event["event"].as_str(), event["severity"].as_str()),
                (Some("peer.reminder"), Some("critical"))
            );
            assert_eq!(event["changes"], json!([]));
            assert_eq!(event["peer"]["bgpStatus"], "down");
            reminders.push((now[11..16].to_string(), subject));
        }
        assert!(summary.notifications_sent <= 1, "step {step}: {summary:?}");
    }
    let subjects: Vec<(&str, &str)> = reminders
        .iter()
        .map(|(t, s)| (t.as_str(), s.split(" (").next().unwrap()))
        .collect();
    let reminder = |h| format!("[CRITICAL] {a} still down after {h}h");
    assert_eq!(
        subjects,
        [
            ("11:01", reminder(1).as_str()),
            ("12:01", reminder(2).as_str()),
            ("13:01", reminder(3).as_str()),
        ]
    );
    // Same thread as the alert, and each one recorded once with its own version.
    let threads = chat_threads(&stack);
    assert_eq!(
        threads,
        [
            ("bgp.down", a),
            ("peer.reminder", a),
            ("peer.reminder", a),
            ("peer.reminder", a)
        ]
        .map(|(e, t)| (e.to_string(), t.to_string()))
    );
    let recorded: Vec<(String, String, String)> = stack
        .history()
        .await
        .iter()
        .filter(|t| s(t, "RouteServerPeerId") == *a && s(t, "Kind") == "reminder")
        .map(|t| {
            (
                s(t, "ObservedAt")[11..16].to_string(),
                s(t, "NotificationState"),
                t["Version"].as_n().unwrap().clone(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            ("11:01", "sent", "3"),
            ("12:01", "sent", "4"),
            ("13:01", "sent", "5")
        ]
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    // The recovery closes the alert: no reminder after it.
    clock.advance_secs(300);
    stack.sim.set_peer(a, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    let back = stack.deliveries().await;
    assert_eq!(back.len(), 1);
    let (_, event) = read_delivery(&back[0], &stack.sim.peers()[a], &clock.now().to_string());
    assert_eq!(
        (event["event"].as_str(), event["severity"].as_str()),
        (Some("bgp.up"), Some("recovery"))
    );
    clock.advance_secs(4 * 3600);
    assert_eq!(stack.cycle().await.notifications_sent, 0);
}
