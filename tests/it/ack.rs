//! `peerwatch ack` through the emulators: real poll cycles against the simulator and moto on a
//! scripted clock, acknowledgements in process and through the binary (its caller from moto's
//! STS), every message read from the SQS queue subscribed to the topic, and the chat threads
//! from the published documents.

use std::process::Output;

use peerwatch_aws::ack::{AckOutcome, AckTarget};
use peerwatch_core::model::{Ack, Timestamp};
use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, chat_of, moto, s, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

/// Every message delivered since the last call: (event, subject key, severity), in order,
/// each checked against its message attributes.
async fn said(stack: &Stack) -> Vec<(String, String, String)> {
    stack
        .deliveries()
        .await
        .iter()
        .map(|d| {
            let event: Value = serde_json::from_str(d["Message"].as_str().unwrap()).unwrap();
            let attrs = &d["MessageAttributes"];
            assert_eq!(attrs["severity"]["Value"], event["severity"], "{d}");
            assert_eq!(attrs["event"]["Value"], event["event"], "{d}");
            let key = event["routeServerPeerId"]
                .as_str()
                .filter(|_| event.get("key").is_none())
                .or(event["key"].as_str())
                .unwrap()
                .to_string();
            (
                event["event"].as_str().unwrap().to_string(),
                key,
                event["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn said_of<'a>(said: &'a [(String, String, String)], key: &str) -> Vec<(&'a str, &'a str)> {
    said.iter()
        .filter(|(_, k, _)| k == key)
        .map(|(e, _, s)| (e.as_str(), s.as_str()))
        .collect()
}

/// The chat documents published since the last call: (eventType, threadId, title).
fn chats(stack: &Stack) -> Vec<(String, String, String)> {
    stack
        .recorder
        .take()
        .into_iter()
        .filter_map(|c| c.published)
        .map(|(_, doc)| {
            let doc: Value = serde_json::from_str(&doc).unwrap();
            let chat = chat_of(&doc);
            (
                chat["metadata"]["eventType"].as_str().unwrap().to_string(),
                chat["metadata"]["threadId"].as_str().unwrap().to_string(),
                chat["content"]["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn ack(by: &str, at: Timestamp) -> Ack {
    Ack {
        by: by.into(),
        reason: Some("looking at the firewall".into()),
        at,
    }
}

fn reminders() -> impl FnOnce(&mut peerwatch_aws::config::Config) {
    |c| c.alerting.remind_every_minutes = 60
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledged_alert_reminds_no_more_until_it_ends_and_the_next_one_reminds_again() {
    let mut stack = Stack::with(reminders()).await;
    let clock = ManualClock::at("2026-11-20T09:59:00Z");
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(1, 2);
    let (a, control) = (&ids[0], &ids[1]);
    stack.cycle().await;
    assert_eq!(said(&stack).await, []);

    // T0: both go down and alert.
    clock.set("2026-11-20T10:00:00Z");
    for id in [a, control] {
        stack.sim.set_peer(id, json!({"bgpStatus": "down"}));
    }
    stack.cycle().await;
    let got = said(&stack).await;
    assert_eq!(said_of(&got, a), [("bgp.down", "critical")]);
    assert_eq!(said_of(&got, control), [("bgp.down", "critical")]);
    let alert_thread = chats(&stack)
        .into_iter()
        .find(|(_, thread, _)| thread == a)
        .expect("the alert's chat document")
        .1;

    // T0+30 min: two operators at once, through two pollers of their own.
    let at = clock.now().plus_seconds(30 * 60);
    let recorder = stack.recorder.clone();
    let moto = moto().endpoint().to_string();
    let other = Stack::poller_with(&stack.sim, &moto, &moto, &recorder, stack.config.clone());
    let target = AckTarget::Peer(a.parse().unwrap());
    let (first, second) = tokio::join!(
        stack.poller.acknowledge(&target, ack("OnCall/alice", at)),
        other.acknowledge(&target, ack("OnCall/bob", at.plus_millis(3))),
    );
    let outcomes = [first.expect("ack"), second.expect("ack")];
    let acked: Vec<&AckOutcome> = outcomes
        .iter()
        .filter(|o| matches!(o, AckOutcome::Acknowledged { .. }))
        .collect();
    assert_eq!(acked.len(), 1, "exactly one acknowledgement: {outcomes:?}");
    let AckOutcome::Acknowledged {
        ack: winner,
        delivered,
        thread_id,
        ..
    } = acked[0]
    else {
        unreachable!()
    };
    assert!(*delivered);
    assert_eq!(thread_id, a);
    let loser = outcomes
        .iter()
        .find_map(|o| match o {
            AckOutcome::AlreadyAcked(first) => Some(first),
            _ => None,
        })
        .expect("the other one is told who was first");
    assert_eq!(loser, winner);
    // Both wrote, from the same Version: the loser's write failed its condition, and it read
    // the record again (join! sends both reads before either answer comes back).
    let calls = stack.recorder.calls();
    let count = |op: &str| calls.iter().filter(|c| c.operation == op).count();
    assert_eq!(
        (
            count("GetItem"),
            count("TransactWriteItems"),
            count("Publish")
        ),
        (3, 2, 1),
        "{:?}",
        stack.recorder.operations()
    );
    // What an operator's policy must allow for it (docs/operating.md, "Acknowledging an alert").
    let mut iam: Vec<(String, String)> = calls.iter().flat_map(|c| c.iam.clone()).collect();
    iam.sort();
    iam.dedup();
    let table = |name: &str| format!("table/{name}");
    let (state, history) = (
        &stack.config.peer_state_table,
        &stack.config.peer_transitions_table,
    );
    let topic = stack.config.alert_topic_arn.clone().unwrap();
    let mut want: Vec<(String, String)> = [
        ("dynamodb:GetItem", table(state)),
        ("dynamodb:PutItem", table(state)),
        ("dynamodb:PutItem", table(history)),
        ("dynamodb:Query", table(history)),
        ("dynamodb:UpdateItem", table(history)),
        ("sns:Publish", topic),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r))
    .collect();
    want.sort();
    assert_eq!(iam, want);
    // One note, in the alert's thread, saying who and why.
    assert_eq!(
        said(&stack).await,
        [(
            "alert.acknowledged".to_string(),
            a.to_string(),
            "info".to_string()
        )]
    );
    let notes = chats(&stack);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "alert.acknowledged");
    assert_eq!(notes[0].1, alert_thread);
    assert!(
        notes[0].2.contains(&format!(
            "acknowledged by {}: looking at the firewall",
            winner.by
        )),
        "{}",
        notes[0].2
    );
    let history = stack.history().await;
    let acks: Vec<_> = history
        .iter()
        .filter(|i| s(i, "Kind") == "acknowledged")
        .collect();
    assert_eq!(acks.len(), 1, "{history:#?}");
    assert_eq!(s(acks[0], "RouteServerPeerId"), *a);
    assert_eq!(s(acks[0], "AckedBy"), winner.by);
    assert_eq!(s(acks[0], "AckReason"), "looking at the firewall");
    assert_eq!(s(acks[0], "Event"), "alert.acknowledged");
    assert_eq!(s(acks[0], "Source"), "operator");
    assert_eq!(s(acks[0], "NotificationState"), "sent");

    // T0+90 and T0+150: the control peer is reminded, the acknowledged one is not.
    for time in ["2026-11-20T11:30:00Z", "2026-11-20T12:30:00Z"] {
        clock.set(time);
        stack.cycle().await;
        let got = said(&stack).await;
        assert_eq!(
            said_of(&got, control),
            [("peer.reminder", "critical")],
            "{time}"
        );
        assert_eq!(
            said_of(&got, a),
            [],
            "no reminder of an acknowledged alert at {time}"
        );
    }

    // The recovery still goes out, and ends the acknowledgement.
    clock.set("2026-11-20T13:00:00Z");
    stack.sim.set_peer(a, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    assert_eq!(said_of(&said(&stack).await, a), [("bgp.up", "recovery")]);
    let state = stack.poller.store().load_states().await.unwrap();
    assert_eq!(state[a.as_str()].alerting.acked, None);
    // A new failure alerts, and is reminded of: nobody acknowledged this one.
    clock.set("2026-11-20T13:10:00Z");
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    assert_eq!(said_of(&said(&stack).await, a), [("bgp.down", "critical")]);
    clock.set("2026-11-20T14:10:00Z");
    stack.cycle().await;
    assert_eq!(
        said_of(&said(&stack).await, a),
        [("peer.reminder", "critical")]
    );
    assert!(
        chats(&stack)
            .iter()
            .filter(|c| c.1 == *a)
            .all(|c| c.1 == alert_thread)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endpoint_alert_is_acknowledged_in_its_own_thread() {
    let mut stack = Stack::with(reminders()).await;
    let clock = ManualClock::at("2026-11-20T09:59:00Z");
    stack.poller.set_clock(clock.clock());
    stack.sim.fleet(1, 1);
    stack.cycle().await;
    said(&stack).await;
    chats(&stack);
    let (_, endpoints) = stack.sim.control("GET", "/_sim/endpoints", None);
    let ep = endpoints[0]["routeServerEndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = stack.sim.control(
        "POST",
        &format!("/_sim/endpoints/{ep}"),
        Some(&json!({"state": "failed", "failureReason": "ENI deleted"}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    clock.set("2026-11-20T10:00:00Z");
    stack.cycle().await;
    assert_eq!(
        said_of(&said(&stack).await, &ep),
        [("endpoint.failed", "critical")]
    );
    let alert_thread = chats(&stack)
        .into_iter()
        .find(|c| c.0 == "endpoint.failed")
        .unwrap()
        .1;

    let target = AckTarget::Endpoint(ep.parse().unwrap());
    let at = "2026-11-20T10:30:00Z".parse().unwrap();
    let out = stack
        .poller
        .acknowledge(&target, ack("netops", at))
        .await
        .unwrap();
    assert!(
        matches!(&out, AckOutcome::Acknowledged { delivered: true, thread_id, .. } if *thread_id == alert_thread),
        "{out:?}"
    );
    assert_eq!(
        said_of(&said(&stack).await, &ep),
        [("alert.acknowledged", "info")]
    );
    let notes = chats(&stack);
    assert_eq!(
        (notes[0].0.as_str(), notes[0].1.as_str()),
        ("alert.acknowledged", alert_thread.as_str())
    );
    // Again: already acknowledged, nothing sent.
    let again = stack
        .poller
        .acknowledge(&target, ack("someone-else", at.plus_seconds(60)))
        .await
        .unwrap();
    assert!(
        matches!(&again, AckOutcome::AlreadyAcked(a) if a.by == "netops"),
        "{again:?}"
    );
    // No reminder an hour and more after the alert, while acknowledged.
    clock.set("2026-11-20T11:30:00Z");
    stack.cycle().await;
    let got = said(&stack).await;
    assert_eq!(said_of(&got, &ep), [], "{got:?}");
    let items = stack.routing_history().await;
    let acks: Vec<_> = items
        .iter()
        .filter(|i| s(i, "Kind") == "acknowledged")
        .collect();
    assert_eq!(acks.len(), 1);
    assert_eq!(
        (s(acks[0], "RouteServerPeerId"), s(acks[0], "AckedBy")),
        (ep.clone(), "netops".to_string())
    );
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn peerwatch(stack: &Stack) -> std::process::Command {
    let mut cmd = user_command(PEERWATCH.as_str(), Some(stack));
    cmd.env("AWS_ENDPOINT_URL_STS", moto().endpoint());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_acknowledges_once_for_two_operators_and_answers_3_when_nothing_is_open() {
    let mut stack = Stack::with(reminders()).await;
    // The binary acknowledges at the real time: the alert is scripted 30 minutes before it.
    let t0 = Timestamp::now().plus_seconds(-30 * 60);
    let clock = ManualClock::at(&t0.plus_seconds(-60).to_string());
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(1, 2);
    let (a, healthy) = (&ids[0], &ids[1]);
    stack.cycle().await;
    clock.set(&t0.to_string());
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    assert_eq!(said_of(&said(&stack).await, a), [("bgp.down", "critical")]);

    // Nothing open: 3, saying what state the subject is in; nothing unknown either.
    let out = peerwatch(&stack)
        .args(["ack", "--peer", healthy])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("nothing to acknowledge on peer {healthy}"))
            && err.contains("it is healthy"),
        "{err}"
    );
    let out = peerwatch(&stack)
        .args(["ack", "--peer", "rsp-00000000000000000"])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("is not known"), "{err}");
    // No topic: 2, naming the setting, before any AWS call.
    let out = peerwatch(&stack)
        .env_remove("ALERT_TOPIC_ARN")
        .args(["ack", "--peer", a])
        .output()
        .unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ALERT_TOPIC_ARN"), "{err}");
    // Usage: one subject, a prefix only with its route server.
    for args in [
        vec!["ack"],
        vec!["ack", "--peer", a, "--endpoint", "rse-1"],
        vec!["ack", "--peer", a, "--prefix", "10.0.0.0/16"],
        vec!["ack", "--peer", "peer-1"],
    ] {
        let out = peerwatch(&stack).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out).1);
    }
    assert_eq!(said(&stack).await, [], "nothing was sent by the refusals");

    // Two operators at once: one by its STS identity, one by name.
    let by_sts = peerwatch(&stack)
        .args(["ack", "--peer", a, "--reason", "on it", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let by_name = peerwatch(&stack)
        .args([
            "ack",
            "--peer",
            a,
            "--by",
            "netops-oncall",
            "--output",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let docs: Vec<Value> = [by_sts, by_name]
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let (stdout, stderr) = text(&out);
            assert_eq!(out.status.code(), Some(0), "{stderr}");
            serde_json::from_str(&stdout).expect("a JSON document")
        })
        .collect();
    let outcomes: Vec<&str> = docs
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "acknowledged").count(),
        1,
        "{docs:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == "already-acknowledged")
            .count(),
        1,
        "{docs:?}"
    );
    let winner = docs
        .iter()
        .find(|d| d["outcome"] == "acknowledged")
        .unwrap();
    let loser = docs
        .iter()
        .find(|d| d["outcome"] != "acknowledged")
        .unwrap();
    assert_eq!(loser["by"], winner["by"], "the loser is told who was first");
    assert_eq!(loser["at"], winner["at"]);
    assert_eq!(winner["notification"], "sent");
    assert_eq!(winner["threadId"], a.as_str());
    assert_eq!(winner["alert"], "critical");
    let by = winner["by"].as_str().unwrap().to_string();
    if by != "netops-oncall" {
        // The caller's identity from STS, made readable; the full ARN beside it.
        let arn = winner["callerArn"].as_str().unwrap();
        assert!(arn.starts_with("arn:aws:"), "{winner}");
        assert!(!by.starts_with("arn:") && arn.ends_with(&by), "{winner}");
        assert_eq!(winner["reason"], "on it");
    }
    let got = said(&stack).await;
    assert_eq!(
        got,
        [(
            "alert.acknowledged".to_string(),
            a.to_string(),
            "info".to_string()
        )],
        "one note for two acknowledgements"
    );
    // A third, as a table: already acknowledged, by whom and when, exit 0.
    let out = peerwatch(&stack)
        .args(["ack", "--peer", a, "--by", "late"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.starts_with(&format!("Already acknowledged: peer {a} by {by}")),
        "{stdout}"
    );

    // Status and history show it.
    let out = peerwatch(&stack).args(["status"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let row = stdout.lines().find(|l| l.contains(a.as_str())).unwrap();
    assert!(
        row.ends_with(&format!("critical, acked by {by}")),
        "{stdout}"
    );
    let out = peerwatch(&stack)
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_str(&text(&out).0).unwrap();
    let peer = doc["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["routeServerPeerId"] == a.as_str())
        .unwrap();
    assert_eq!(peer["acked"]["by"], by.as_str());
    let out = peerwatch(&stack)
        .args(["history", "--peer", a, "--output", "json"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<&Value> = doc["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "alert.acknowledged")
        .collect();
    assert_eq!(rows.len(), 1, "{stdout}");
    assert_eq!(rows[0]["kind"], "acknowledged");
    assert_eq!(rows[0]["ack"]["by"], by.as_str());
    assert_eq!(rows[0]["notificationState"], "sent");
    let out = peerwatch(&stack)
        .args(["history", "--peer", a])
        .output()
        .unwrap();
    let stdout = text(&out).0;
    let row = stdout
        .lines()
        .find(|l| l.contains("alert.acknowledged"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains(&format!("acked by {by}")), "{row}");

    // T0+90 and T0+150: no reminder.
    for minutes in [90, 150] {
        clock.set(&t0.plus_seconds(minutes * 60).to_string());
        stack.cycle().await;
        assert_eq!(said_of(&said(&stack).await, a), [], "at T0+{minutes} min");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_that_cannot_be_published_stays_pending_and_the_next_cycle_sends_it() {
    let mut stack = Stack::with(reminders()).await;
    let clock = ManualClock::at("2026-11-20T09:59:00Z");
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(1, 1);
    let a = &ids[0];
    stack.cycle().await;
    clock.set("2026-11-20T10:00:00Z");
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    assert_eq!(said_of(&said(&stack).await, a), [("bgp.down", "critical")]);

    // SNS unreachable for the acknowledging process: recorded, the note left in the outbox.
    let moto = moto().endpoint().to_string();
    let cut_off = Stack::poller_with(
        &stack.sim,
        &moto,
        "http://127.0.0.1:9",
        &stack.recorder,
        stack.config.clone(),
    );
    let target = AckTarget::Peer(a.parse().unwrap());
    let out = cut_off
        .acknowledge(
            &target,
            ack("OnCall/alice", "2026-11-20T10:30:00Z".parse().unwrap()),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            out,
            AckOutcome::Acknowledged {
                delivered: false,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(said(&stack).await, []);
    let pending = stack.poller.store().pending_notifications().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].peer_id, *a);
    assert_eq!(pending[0].claimed_until_ms, 0, "the claim was given back");

    // The next cycle sends it, and no reminder.
    clock.set("2026-11-20T11:30:00Z");
    let summary = stack.cycle().await;
    assert_eq!(summary.notifications_retried, 1);
    assert_eq!(
        said(&stack).await,
        [(
            "alert.acknowledged".to_string(),
            a.to_string(),
            "info".to_string()
        )]
    );
    let note = stack
        .history()
        .await
        .into_iter()
        .find(|i| s(i, "Kind") == "acknowledged")
        .unwrap();
    assert_eq!(s(&note, "NotificationState"), "sent");
}
