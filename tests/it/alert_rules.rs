//! The alert rules through the emulators: storms, mutes.

// --- mutes ------------------------------------------------------------------------------------
//
// Maintenance mutes through the emulators: mutes set with the real `peerwatch mute` binary or
// with the peer's `peerwatch:mute` tag in the simulator, real poll cycles on a scripted clock
// (started at the real time, since the CLI stamps and checks mutes with the real clock), every
// delivered message read field by field.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_core::model::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, chat_of, moto, s, sdk_config, user_command};

static MUTE_PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));
/// Who the CLI says set a mute (`CreatedBy` is the `USER` variable).
const MUTE_USER: &str = "netops-oncall";

struct MuteCli {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl MuteCli {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}\n{}", self.stdout, self.stderr))
    }

    fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "{}\n{}", self.stdout, self.stderr);
        self
    }
}

/// `peerwatch ARGS` run as an operator runs it, against the stack's tables and endpoints.
fn mute_cli(stack: &Stack, args: &[&str]) -> MuteCli {
    let out = user_command(MUTE_PEERWATCH.as_str(), Some(stack))
        .env("USER", MUTE_USER)
        .args(args)
        .output()
        .expect("peerwatch runs");
    MuteCli {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Sets one tag on a simulator peer, keeping its other tags (the control API replaces them).
fn mute_tag(stack: &Stack, id: &str, key: &str, value: Option<&str>) {
    let mut tags = stack.sim.peers()[id]["tags"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    match value {
        Some(v) => tags.insert(key.into(), v.into()),
        None => tags.remove(key),
    };
    let answer = stack.sim.set_peer(id, json!({ "tags": tags }));
    assert_eq!(
        answer["tags"],
        Value::Object(tags),
        "the simulator took the tags"
    );
}

/// The one delivery expected of `peer`, read field by field as its SQS subscriber got it;
/// answers the event JSON.
fn mute_read_delivery(
    d: &Value,
    peer: &Value,
    observed_at: Timestamp,
    (severity, event_name, kind): (&str, &str, &str),
    subject_phrase: &str,
) -> Value {
    let event: Value =
        serde_json::from_str(d["Message"].as_str().expect("Message")).expect("event JSON");
    let id = peer["routeServerPeerId"].as_str().unwrap();
    assert_eq!(event["schemaVersion"], "1");
    assert_eq!(event["event"], event_name);
    assert_eq!(event["severity"], severity);
    assert_eq!(event["kind"], kind);
    assert_eq!(event["routeServerPeerId"], id);
    assert_eq!(event["routeServerId"], peer["routeServerId"]);
    assert_eq!(event["vpcId"], peer["vpcId"]);
    assert_eq!(event["observedAt"], observed_at.to_string());
    assert_eq!(event["peer"]["routeServerPeerId"], id);
    assert_eq!(event["peer"]["peerAddress"], peer["peerAddress"]);
    assert_eq!(event["peer"]["peerAsn"], peer["peerAsn"]);
    assert_eq!(event["peer"]["state"], peer["state"]);
    assert_eq!(event["peer"]["bgpStatus"], peer["bgpStatus"]);
    assert_eq!(event["peer"]["bfdStatus"], peer["bfdStatus"]);
    assert_eq!(event["peer"]["tags"], peer["tags"]);
    let attrs = &d["MessageAttributes"];
    assert_eq!(attrs["severity"]["Value"], severity);
    assert_eq!(attrs["event"]["Value"], event_name);
    assert_eq!(attrs["routeServerPeerId"]["Value"], id);
    assert_eq!(attrs["routeServerId"]["Value"], peer["routeServerId"]);
    assert_eq!(attrs["vpcId"]["Value"], peer["vpcId"]);
    for a in [
        "severity",
        "event",
        "routeServerPeerId",
        "routeServerId",
        "vpcId",
    ] {
        assert_eq!(attrs[a]["Type"], "String", "{a}");
    }
    let subject = format!(
        "[{}] {id} {subject_phrase} ({}, {}, AS{})",
        severity.to_uppercase(),
        peer["tags"]["Name"].as_str().unwrap(),
        peer["peerAddress"].as_str().unwrap(),
        peer["peerAsn"]
    );
    assert_eq!(d["Subject"], subject.as_str());
    assert!(subject.len() < 100, "{subject}");
    event
}

/// What the poller published so far (the recorder sees every `Publish`): (subject, the plain
/// text, the chat document's threadId).
fn mute_published(stack: &Stack) -> Vec<(String, String, String)> {
    stack
        .recorder
        .calls()
        .into_iter()
        .filter_map(|c| c.published)
        .map(|(subject, doc)| {
            let doc: Value = serde_json::from_str(&doc).expect("MessageStructure JSON");
            let chat = chat_of(&doc);
            (
                subject,
                doc["default"].as_str().unwrap().to_string(),
                chat["metadata"]["threadId"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// One peer's recorded transitions, oldest first: (Kind, Event, Severity, NotificationState).
async fn mute_history(stack: &Stack, id: &str) -> Vec<[String; 4]> {
    stack
        .history()
        .await
        .iter()
        .filter(|t| s(t, "RouteServerPeerId") == id)
        .map(|t| {
            [
                s(t, "Kind"),
                s(t, "Event"),
                s(t, "Severity"),
                s(t, "NotificationState"),
            ]
        })
        .collect()
}

fn rows(want: &[[&str; 4]]) -> Vec<[String; 4]> {
    want.iter().map(|r| r.map(str::to_string)).collect()
}

fn mute_ddb() -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config())
        .endpoint_url(moto().endpoint())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// The stored item of the mute of `target`, if any.
async fn mute_item(stack: &Stack, target: &str) -> Option<HashMap<String, AttributeValue>> {
    mute_ddb()
        .get_item()
        .table_name(&stack.config.peer_state_table)
        .key(
            "RouteServerPeerId",
            AttributeValue::S(format!("mute#{target}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

fn ts(v: &Value) -> Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("a time: {v}"))
        .parse()
        .unwrap()
}

/// A fleet of `route_servers` x `peers`, discovered by one cycle; answers the peer ids grouped
/// by route server (each sorted), and the route server ids.
async fn mute_fleet(
    stack: &Stack,
    route_servers: u32,
    peers: u32,
) -> (Vec<Vec<String>>, Vec<String>) {
    stack.sim.fleet(route_servers, peers);
    let mut by_rs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, p) in stack.sim.peers() {
        by_rs
            .entry(p["routeServerId"].as_str().unwrap().to_string())
            .or_default()
            .push(id);
    }
    let summary = stack.cycle().await;
    assert_eq!(
        summary.transitions_recorded,
        (route_servers * peers) as usize
    );
    assert!(stack.deliveries().await.is_empty());
    let rs: Vec<String> = by_rs.keys().cloned().collect();
    (by_rs.into_values().collect(), rs)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_muted_with_the_cli_records_and_sends_nothing_until_the_mute_ends() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(&Timestamp::now().to_string());
    stack.poller.set_clock(clock.clock());
    let (peers, _) = mute_fleet(&stack, 1, 2).await;
    let (a, b) = (&peers[0][0], &peers[0][1]);

    // The mute, as an operator sets it.
    let before = Timestamp::now();
    let run = mute_cli(
        &stack,
        &[
            "mute",
            "--peer",
            a,
            "--for",
            "2h",
            "--reason",
            "firewall upgrade",
            "--output",
            "json",
        ],
    )
    .ok();
    let after = Timestamp::now();
    let doc = run.json();
    let until = ts(&doc["mute"]["until"]);
    assert!(
        before.plus_seconds(7200) <= until && until <= after.plus_seconds(7200),
        "{until} is 2h from when it was set"
    );
    let created = ts(&doc["mute"]["createdAt"]);
    assert!(before <= created && created <= after);
    assert_eq!(
        doc,
        json!({"mute": {"target": a, "until": until.to_string(), "reason": "firewall upgrade",
                        "createdAt": created.to_string(), "createdBy": MUTE_USER},
               "replaced": null, "covers": [a]})
    );
    assert_eq!(run.stderr, "");
    // The item beside the peers in PeerState, attribute by attribute.
    let item = mute_item(&stack, a).await.expect("the mute is stored");
    let want: HashMap<String, AttributeValue> = [
        ("RouteServerPeerId", format!("mute#{a}")),
        ("Kind", "mute".into()),
        ("Target", a.clone()),
        ("Until", until.to_string()),
        ("Reason", "firewall upgrade".into()),
        ("CreatedAt", created.to_string()),
        ("CreatedBy", MUTE_USER.into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttributeValue::S(v)))
    .collect();
    assert_eq!(item, want);

    // Both peers go down: the muted one is recorded and held back; the other alerts.
    stack.recorder.take();
    clock.advance_secs(60);
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.sim.set_peer(b, json!({"bgpStatus": "down"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (2, 1)
    );
    let sim = stack.sim.peers();
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    mute_read_delivery(
        &delivered[0],
        &sim[b],
        clock.now(),
        ("critical", "bgp.down", "changed"),
        "BGP down",
    );
    let published = mute_published(&stack);
    assert_eq!(published.len(), 1);
    assert!(published[0].0.contains(b.as_str()) && !published[0].0.contains(a.as_str()));

    // The other peer recovers; the muted one stays down through the mute: nothing at all,
    // not even a reminder (its alert was never sent).
    stack.recorder.take();
    clock.advance_secs(60);
    stack.sim.set_peer(b, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[b],
        clock.now(),
        ("recovery", "bgp.up", "changed"),
        "BGP up",
    );
    stack.recorder.take();
    for minutes in [60, 119] {
        clock.set(&created.plus_seconds(minutes * 60).to_string());
        assert!(clock.now() < until);
        let summary = stack.cycle().await;
        assert_eq!(
            (summary.transitions_recorded, summary.notifications_sent),
            (0, 0),
            "{minutes} min: {summary:?}"
        );
    }
    assert!(stack.deliveries().await.is_empty());
    assert!(mute_published(&stack).is_empty(), "no Publish while muted");

    // The mute ends with the peer still down: exactly one alert, kind `unmuted`.
    clock.set(&until.plus_seconds(30).to_string());
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 1)
    );
    let sim = stack.sim.peers();
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    let event = mute_read_delivery(
        &delivered[0],
        &sim[a],
        clock.now(),
        ("critical", "bgp.down", "unmuted"),
        "BGP down (mute ended)",
    );
    assert_eq!(event["changes"], json!([]));
    assert_eq!(event["health"], json!({"from": "down", "to": "down"}));
    assert_eq!(event["peer"]["health"], "down");
    assert_eq!(event["peer"]["openAlert"], "critical");
    assert_eq!(event["version"], 3);
    let published = mute_published(&stack);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, delivered[0]["Subject"].as_str().unwrap());
    assert!(
        published[0]
            .1
            .contains("The mute on this peer has ended and it is still down"),
        "{}",
        published[0].1
    );
    assert_eq!(&published[0].2, a, "in the peer's own chat thread");

    // Nothing more while it stays down; then its recovery is sent.
    clock.advance_secs(60);
    assert_eq!(stack.cycle().await.transitions_recorded, 0);
    clock.advance_secs(60);
    stack.sim.set_peer(a, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[a],
        clock.now(),
        ("recovery", "bgp.up", "changed"),
        "BGP up",
    );

    assert_eq!(
        mute_history(&stack, a).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "bgp.down", "critical", "suppressed"],
            ["unmuted", "bgp.down", "critical", "sent"],
            ["changed", "bgp.up", "recovery", "sent"],
        ])
    );
    assert_eq!(
        mute_history(&stack, b).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "bgp.down", "critical", "sent"],
            ["changed", "bgp.up", "recovery", "sent"],
        ])
    );
    // The mute itself stays stored until `peerwatch unmute`; ended, it no longer applies.
    assert!(mute_item(&stack, a).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_server_mute_covers_each_of_its_peers() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(&Timestamp::now().to_string());
    stack.poller.set_clock(clock.clock());
    let (peers, rs) = mute_fleet(&stack, 2, 2).await;
    let (a1, a2, b1) = (&peers[0][0], &peers[0][1], &peers[1][0]);

    let until = Timestamp::now().plus_seconds(3600);
    let run = mute_cli(
        &stack,
        &[
            "mute",
            "--route-server",
            &rs[0],
            "--until",
            &until.to_string(),
        ],
    )
    .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!(
            "muted route server {} until {} (in 59m) (set by {MUTE_USER} at ",
            rs[0],
            peerwatch_cli::time::absolute(until),
        )),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], format!("covers 2 known peers: {a1}, {a2}"));
    assert!(lines[2].starts_with("Changes are recorded, alerts held back"));
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    let item = mute_item(&stack, &rs[0]).await.expect("stored");
    assert!(!item.contains_key("Reason"), "no --reason, no Reason");
    assert_eq!(item["Until"].as_s().unwrap(), &until.to_string());

    // Both peers of the muted route server go down (one failed, one BGP), and one of the
    // other route server: only that one alerts.
    clock.advance_secs(60);
    stack.sim.set_peer(
        a1,
        json!({"state": "failed", "failureReason": "BGP hold timer expired", "bgpStatus": "down"}),
    );
    stack.sim.set_peer(a2, json!({"bgpStatus": "down"}));
    stack.sim.set_peer(b1, json!({"bgpStatus": "down"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (3, 1)
    );
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[b1.as_str()],
        clock.now(),
        ("critical", "bgp.down", "changed"),
        "BGP down",
    );

    // One muted peer recovers during the mute: recorded, nothing owed when the mute ends.
    clock.advance_secs(600);
    stack.sim.set_peer(a2, json!({"bgpStatus": "up"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 0)
    );
    assert!(stack.deliveries().await.is_empty());

    // The end: the peer still failed alerts once; the recovered one says nothing.
    stack.recorder.take();
    clock.set(&until.plus_seconds(1).to_string());
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 1)
    );
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    let event = mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[a1.as_str()],
        clock.now(),
        ("critical", "peer.failed", "unmuted"),
        "failed (mute ended)",
    );
    assert_eq!(event["peer"]["failureReason"], "BGP hold timer expired");
    assert_eq!(mute_published(&stack).len(), 1);

    assert_eq!(
        mute_history(&stack, a1).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "peer.failed", "critical", "suppressed"],
            ["unmuted", "peer.failed", "critical", "sent"],
        ])
    );
    assert_eq!(
        mute_history(&stack, a2).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "bgp.down", "critical", "suppressed"],
            ["changed", "bgp.up", "info", "not-required"],
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_muted_by_its_tag_records_and_sends_nothing_until_the_tag_time() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(&Timestamp::now().to_string());
    stack.poller.set_clock(clock.clock());
    let (peers, _) = mute_fleet(&stack, 1, 3).await;
    let (a, c) = (&peers[0][0], &peers[0][1]);

    // `a` muted for 30 minutes by its tag, `c` until the tag is removed; both go down.
    let until = clock.now().plus_seconds(1800);
    mute_tag(&stack, a, "peerwatch:mute", Some(&until.to_string()));
    mute_tag(&stack, c, "peerwatch:mute", Some("true"));
    clock.advance_secs(60);
    stack.sim.set_peer(a, json!({"bgpStatus": "down"}));
    stack.sim.set_peer(c, json!({"bgpStatus": "down"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (2, 0)
    );
    assert!(stack.deliveries().await.is_empty());
    assert!(mute_published(&stack).is_empty());

    // `peerwatch mutes` shows both, from the tags recorded in PeerState.
    let doc = mute_cli(&stack, &["mutes", "--output", "json"]).ok().json();
    let tag_mute = |id: &str, until: Value, value: &str| {
        json!({"target": id, "targetType": "peer", "source": "tag", "until": until,
               "active": true, "peersCovered": 1, "reason": null, "createdAt": null,
               "createdBy": null, "tagValue": value})
    };
    assert_eq!(
        doc,
        json!({"mutes": [
            tag_mute(a, json!(until.to_string()), &until.to_string()),
            tag_mute(c, Value::Null, "true"),
        ]})
    );

    // Still within the tag's time: nothing; `c` recovers meanwhile, recorded, not sent.
    clock.set(&until.plus_seconds(-60).to_string());
    stack.sim.set_peer(c, json!({"bgpStatus": "up"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 0)
    );
    assert!(stack.deliveries().await.is_empty());

    // The tag's time passes with `a` still down: one alert.
    clock.set(&until.plus_seconds(60).to_string());
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 1)
    );
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    let event = mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[a.as_str()],
        clock.now(),
        ("critical", "bgp.down", "unmuted"),
        "BGP down (mute ended)",
    );
    assert_eq!(
        event["peer"]["tags"]["peerwatch:mute"],
        until.to_string(),
        "the event carries the tag"
    );
    // Then its recovery.
    clock.advance_secs(60);
    stack.sim.set_peer(a, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[a.as_str()],
        clock.now(),
        ("recovery", "bgp.up", "changed"),
        "BGP up",
    );

    // `c`, muted with `true`, goes down again: held back until the tag is removed.
    clock.advance_secs(60);
    stack.sim.set_peer(c, json!({"bgpStatus": "down"}));
    let summary = stack.cycle().await;
    assert_eq!(summary.notifications_sent, 0);
    assert!(stack.deliveries().await.is_empty());
    clock.advance_secs(60);
    mute_tag(&stack, c, "peerwatch:mute", None);
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (1, 1)
    );
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 1);
    mute_read_delivery(
        &delivered[0],
        &stack.sim.peers()[c.as_str()],
        clock.now(),
        ("critical", "bgp.down", "unmuted"),
        "BGP down (mute ended)",
    );

    assert_eq!(
        mute_history(&stack, a).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "bgp.down", "critical", "suppressed"],
            ["unmuted", "bgp.down", "critical", "sent"],
            ["changed", "bgp.up", "recovery", "sent"],
        ])
    );
    assert_eq!(
        mute_history(&stack, c).await,
        rows(&[
            ["discovered", "peer.discovered", "info", "not-required"],
            ["changed", "bgp.down", "critical", "suppressed"],
            ["changed", "bgp.up", "info", "not-required"],
            ["changed", "bgp.down", "critical", "suppressed"],
            ["unmuted", "bgp.down", "critical", "sent"],
        ])
    );
    assert_eq!(mute_history(&stack, &peers[0][2]).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn mutes_lists_exactly_the_active_mutes_and_unmute_removes_them() {
    let stack = Stack::new().await;
    let (peers, rs) = mute_fleet(&stack, 1, 3).await;
    let (a, b, c) = (&peers[0][0], &peers[0][1], &peers[0][2]);

    // Nothing muted: exit 3 in both formats; the JSON document still comes.
    let run = mute_cli(&stack, &["mutes"]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("no mute: none stored in table")
            && run.stderr.contains(&stack.config.peer_state_table),
        "{}",
        run.stderr
    );
    let run = mute_cli(&stack, &["mutes", "--output", "json"]);
    assert_eq!(run.code, Some(3));
    assert_eq!(run.json(), json!({"mutes": []}));
    let run = mute_cli(&stack, &["unmute", "--peer", a]);
    assert_eq!(run.code, Some(3));
    assert!(
        run.stderr
            .starts_with(&format!("peerwatch: no stored mute of peer {a} in table")),
        "{}",
        run.stderr
    );

    // A failed AWS call: exit 1, worded as the other commands word it.
    for args in [
        vec!["mute", "--peer", a, "--for", "2h"],
        vec!["unmute", "--peer", a],
        vec!["mutes"],
    ] {
        let mut args = args;
        args.extend(["--state-table", "NoSuchPeerState"]);
        let run = mute_cli(&stack, &args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(
                "peerwatch: DynamoDB table NoSuchPeerState does not exist in region us-east-1"
            ),
            "{args:?}: {}",
            run.stderr
        );
    }

    // Bad arguments: exit 2, nothing stored.
    let soon = Timestamp::now().plus_seconds(600).to_string();
    let past = Timestamp::now().plus_seconds(-600).to_string();
    for (args, says) in [
        (
            vec!["mute", "--peer", a],
            "required arguments were not provided",
        ),
        (
            vec!["mute", "--for", "2h"],
            "required arguments were not provided",
        ),
        (
            vec!["mute", "--peer", "fw-1", "--for", "2h"],
            "is not a route server peer id",
        ),
        (
            vec!["mute", "--route-server", a, "--for", "2h"],
            "is not a route server id",
        ),
        (
            vec!["mute", "--peer", a, "--route-server", &rs[0], "--for", "2h"],
            "cannot be used with",
        ),
        (
            vec!["mute", "--peer", a, "--for", "2h", "--until", &soon],
            "cannot be used with",
        ),
        (
            vec!["mute", "--peer", a, "--for", "2h", "--indefinitely"],
            "cannot be used with",
        ),
        (
            vec!["mute", "--peer", a, "--for", "soon"],
            "invalid --for: \"soon\" is not a duration",
        ),
        (
            vec!["mute", "--peer", a, "--until", "2h"],
            "for a duration from now use --for 2h",
        ),
        (
            vec!["mute", "--peer", a, "--until", &past],
            "is not in the future",
        ),
        (
            vec!["unmute", "--peer", a, "--for", "2h"],
            "unexpected argument",
        ),
    ] {
        let run = mute_cli(&stack, &args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    assert!(mute_item(&stack, a).await.is_none());

    // Three stored mutes (one replaced), and one that ended, written as the CLI writes it
    // (the CLI itself refuses an end in the past).
    mute_cli(&stack, &["mute", "--peer", a, "--for", "30m"]).ok();
    let run = mute_cli(
        &stack,
        &[
            "mute",
            "--peer",
            a,
            "--for",
            "2h",
            "--reason",
            "line card swap",
        ],
    )
    .ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("muted peer {a} until ")) && lines[0].contains("(in 2h)"),
        "{}",
        run.stdout
    );
    assert!(
        lines[1].starts_with("replaces the earlier mute until ")
            && lines[1].contains("(in 29m) (set by netops-oncall at "),
        "{}",
        run.stdout
    );
    let run = mute_cli(
        &stack,
        &[
            "mute",
            "--peer",
            a,
            "--for",
            "2h",
            "--reason",
            "line card swap",
            "--output",
            "json",
        ],
    )
    .ok();
    let a_doc = run.json();
    assert_eq!(a_doc["replaced"]["target"], a.as_str());
    assert_eq!(a_doc["replaced"]["reason"], "line card swap");
    assert!(ts(&a_doc["replaced"]["until"]) < ts(&a_doc["mute"]["until"]));
    let run = mute_cli(
        &stack,
        &[
            "mute",
            "--route-server",
            &rs[0],
            "--indefinitely",
            "--reason",
            "migration",
        ],
    )
    .ok();
    assert!(
        run.stdout.starts_with(&format!(
            "muted route server {} until unmuted, reason: migration (set by {MUTE_USER} at ",
            rs[0]
        )),
        "{}",
        run.stdout
    );
    let typo = "rsp-0000000000000dead";
    let run = mute_cli(&stack, &["mute", "--peer", typo, "--for", "1h"]).ok();
    assert!(
        run.stderr
            .contains(&format!("note: no peer {typo} is known in table")),
        "{}",
        run.stderr
    );
    let ended = peerwatch_core::mute::MuteRecord {
        mute: peerwatch_core::mute::Mute {
            target: peerwatch_core::mute::MuteTarget::parse(b).expect("a peer id"),
            until: Some(Timestamp::now().plus_seconds(-3600)),
        },
        reason: Some("done".into()),
        created_at: Timestamp::now().plus_seconds(-7200),
        created_by: "earlier-shift".into(),
    };
    peerwatch_aws::mutes::put(&mute_ddb(), &stack.config.peer_state_table, &ended)
        .await
        .expect("PutItem");
    // And a tag that mutes nothing, recorded with a change of the peer.
    mute_tag(&stack, c, "peerwatch:mute", Some("tomorrow"));
    stack.sim.set_peer(c, json!({"bfdStatus": "down"}));
    assert_eq!(stack.cycle().await.transitions_recorded, 1);
    // The poller's cycle read the mutes with the peers and applied them: `c` is covered by
    // the route-server mute.
    assert_eq!(
        mute_history(&stack, c).await.last().unwrap()[3],
        if stack.sim.peers()[c.as_str()]["peerLivenessDetection"] == "bfd" {
            "suppressed"
        } else {
            "not-required"
        }
    );

    let stored = |doc: &Value, target: &str, until: Value, reason: Value, covered: usize| {
        json!({"target": target,
               "targetType": if target.starts_with("rs-") { "route-server" } else { "peer" },
               "source": "stored", "until": until, "active": true, "peersCovered": covered,
               "reason": reason, "createdAt": doc["createdAt"], "createdBy": MUTE_USER,
               "tagValue": null})
    };
    let run = mute_cli(&stack, &["mutes", "--output", "json"]).ok();
    assert!(
        run.stderr.contains(&format!(
            "note: peer {c} has the tag peerwatch:mute=\"tomorrow\", which mutes nothing"
        )),
        "{}",
        run.stderr
    );
    let doc = run.json();
    let listed = doc["mutes"].as_array().unwrap();
    let by_target = |t: &str| listed.iter().find(|m| m["target"] == t).unwrap().clone();
    assert_eq!(
        doc,
        json!({"mutes": [
            stored(&by_target(typo), typo, by_target(typo)["until"].clone(), Value::Null, 0),
            stored(&a_doc["mute"], a, a_doc["mute"]["until"].clone(), json!("line card swap"), 1),
            stored(&by_target(&rs[0]), &rs[0], Value::Null, json!("migration"), 3),
        ]}),
        "soonest end first, open-ended last; the ended mute left out"
    );
    assert!(ts(&by_target(typo)["until"]) < ts(&a_doc["mute"]["until"]));

    let run = mute_cli(&stack, &["mutes"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "TARGET", "TYPE", "SOURCE", "STATUS", "UNTIL", "PEERS", "REASON", "SET", "BY"
        ]
    );
    assert!(lines[1].starts_with(typo), "{}", run.stdout);
    assert!(lines[2].starts_with(a.as_str()) && lines[2].contains("line card swap"));
    assert!(lines[2].contains("(in 1h 59m)"), "{}", lines[2]);
    let rs_line = lines[3];
    for want in [
        "route-server",
        "stored",
        "active",
        "until unmuted",
        " 3 ",
        "migration",
    ] {
        assert!(rs_line.contains(want), "{want} in {rs_line}");
    }
    assert!(rs_line.contains(&format!("{MUTE_USER} at ")), "{rs_line}");
    assert_eq!(&lines[4..], ["", "3 active mutes (3 stored, 0 by tag)"]);

    // --all adds the ended one, last.
    let doc = mute_cli(&stack, &["mutes", "--all", "--output", "json"])
        .ok()
        .json();
    let all = doc["mutes"].as_array().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[3],
        json!({"target": b, "targetType": "peer", "source": "stored",
               "until": ended.mute.until.unwrap().to_string(), "active": false,
               "peersCovered": 1, "reason": "done", "createdAt": ended.created_at.to_string(),
               "createdBy": "earlier-shift", "tagValue": null})
    );
    let run = mute_cli(&stack, &["mutes", "--all"]).ok();
    let b_line = run.stdout.lines().nth(4).unwrap();
    assert!(
        b_line.starts_with(b.as_str()) && b_line.contains("ended"),
        "{b_line}"
    );
    assert!(
        b_line.contains("(1h ago)") && b_line.contains("earlier-shift at "),
        "{b_line}"
    );
    assert!(
        run.stdout
            .ends_with("3 active mutes (3 stored, 0 by tag); 1 ended\n"),
        "{}",
        run.stdout
    );

    // A tag mute shows up as such once recorded.
    mute_tag(&stack, b, "peerwatch:mute", Some("true"));
    stack.sim.set_peer(b, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    let doc = mute_cli(&stack, &["mutes", "--output", "json"]).ok().json();
    assert_eq!(
        doc["mutes"][3],
        json!({"target": b, "targetType": "peer", "source": "tag", "until": null,
               "active": true, "peersCovered": 1, "reason": null, "createdAt": null,
               "createdBy": null, "tagValue": "true"})
    );

    // unmute deletes: once, then exit 3; an ended mute is deleted too, with a note that the
    // peer stays muted by its tag.
    let run = mute_cli(&stack, &["unmute", "--peer", a]).ok();
    assert!(
        run.stdout.starts_with(&format!("unmuted peer {a} until ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("reason: line card swap"));
    assert!(mute_item(&stack, a).await.is_none());
    let run = mute_cli(&stack, &["unmute", "--peer", a]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let run = mute_cli(&stack, &["unmute", "--peer", b, "--output", "json"]).ok();
    assert_eq!(run.json()["unmuted"]["reason"], "done");
    assert!(
        run.stderr.contains(&format!(
            "note: {b} is still muted by its tag peerwatch:mute=true; remove it in EC2"
        )),
        "{}",
        run.stderr
    );
    mute_cli(&stack, &["unmute", "--route-server", &rs[0]]).ok();
    mute_cli(&stack, &["unmute", "--peer", typo]).ok();
    let doc = mute_cli(&stack, &["mutes", "--all", "--output", "json"])
        .ok()
        .json();
    let left: Vec<(&str, &str)> = doc["mutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["target"].as_str().unwrap(), m["source"].as_str().unwrap()))
        .collect();
    assert_eq!(left, [(b.as_str(), "tag")]);
    let run = mute_cli(
        &stack,
        &["unmute", "--route-server", &rs[0], "--output", "json"],
    );
    assert_eq!(run.code, Some(3));
    assert_eq!(run.json(), json!({"unmuted": null}));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_report_do_not_show_mutes_as_peers() {
    let stack = Stack::new().await;
    let (peers, rs) = mute_fleet(&stack, 1, 2).await;
    let mut fleet = peers[0].clone();
    fleet.sort();
    mute_cli(&stack, &["mute", "--route-server", &rs[0], "--for", "1h"]).ok();
    mute_cli(&stack, &["mute", "--peer", &fleet[0], "--indefinitely"]).ok();
    assert!(mute_item(&stack, &fleet[0]).await.is_some());

    let ids = |list: &Value| -> Vec<String> {
        let mut ids: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["routeServerPeerId"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let doc = mute_cli(&stack, &["status", "--output", "json"])
        .ok()
        .json();
    assert_eq!(ids(&doc["peers"]), fleet);
    assert_eq!(doc["vanished"], json!([]));
    let run = mute_cli(&stack, &["status"]).ok();
    assert!(!run.stdout.contains("mute"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("2 peers: 2 healthy\n"),
        "{}",
        run.stdout
    );
    let doc = mute_cli(&stack, &["report", "--since", "1h", "--output", "json"])
        .ok()
        .json();
    assert_eq!(ids(&doc["peers"]), fleet);
    assert_eq!(doc["fleet"]["peers"], 2);
    let run = mute_cli(&stack, &["report", "--since", "1h"]).ok();
    assert!(!run.stdout.contains("mute#"), "{}", run.stdout);

    // And a poll cycle with the mutes stored sees only the peers: no vanished, no error.
    let summary = stack.cycle().await;
    assert_eq!((summary.peers_seen, summary.transitions_recorded), (2, 0));
}

// --- storms -----------------------------------------------------------------------------------
//
// Storm control through the emulators: more alerts (or recoveries) for one route server in one
// cycle than STORM_THRESHOLD go out as one grouped message; every transition is still recorded
// and marked with the message that covered it. Every delivery is read field by field.

mod storms {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use aws_sdk_dynamodb::types::AttributeValue;
    use peerwatch_aws::cycle::RunOptions;
    use peerwatch_core::summary::Summary;
    use serde_json::{Value, json};

    use crate::helpers::{Stack, moto, s};

    type Item = HashMap<String, AttributeValue>;

    const FAILED_REASON: &str = "BGP hold timer expired";

    /// A fleet of `route_servers` x `peers`, discovered by one cycle; answers the peer ids by
    /// route server (in the simulator's order).
    async fn storm_fleet(
        stack: &Stack,
        route_servers: u32,
        peers: u32,
    ) -> Vec<(String, Vec<String>)> {
        let ids = stack.sim.fleet(route_servers, peers);
        let sim = stack.sim.peers();
        let mut by_rs: Vec<(String, Vec<String>)> = Vec::new();
        for id in ids {
            let rs = sim[&id]["routeServerId"].as_str().unwrap().to_string();
            match by_rs.iter_mut().find(|(r, _)| *r == rs) {
                Some((_, v)) => v.push(id),
                None => by_rs.push((rs, vec![id])),
            }
        }
        let summary = stack.cycle().await;
        assert_eq!(summary.notifications_sent, 0, "discovering alerts nobody");
        assert!(stack.deliveries().await.is_empty());
        by_rs
    }

    /// Takes `ids` down: BGP down, except `failed` (state failed with a reason).
    fn storm_take_down(stack: &Stack, ids: &[String], failed: &[&String]) {
        for id in ids {
            if failed.contains(&id) {
                stack.sim.set_peer(
                    id,
                    json!({"state": "failed", "failureReason": FAILED_REASON, "bgpStatus": "down"}),
                );
            } else {
                stack.sim.set_peer(id, json!({"bgpStatus": "down"}));
            }
        }
    }

    fn storm_bring_up(stack: &Stack, ids: &[String]) {
        for id in ids {
            stack.sim.set_peer(
                id,
                json!({"state": "available", "failureReason": null, "bgpStatus": "up"}),
            );
        }
    }

    /// The poller's summary in the figures storm control changes.
    fn storm_figures(s: &Summary) -> [usize; 6] {
        [
            s.transitions_recorded,
            s.notifications_sent,
            s.notifications_retried,
            s.notifications_pending,
            s.grouped_notifications,
            s.transitions_grouped,
        ]
    }

    /// Every Publish document the poller sent so far, parsed: (subject, document).
    fn storm_published(stack: &Stack) -> Vec<(String, Value)> {
        stack
            .recorder
            .calls()
            .into_iter()
            .filter_map(|c| c.published)
            .map(|(subject, doc)| (subject, serde_json::from_str(&doc).unwrap()))
            .collect()
    }

    fn storm_part(doc: &Value, key: &str) -> Value {
        serde_json::from_str(doc[key].as_str().unwrap()).unwrap()
    }

    /// The transitions recorded at `observed_at` for `ids`, by peer id.
    fn storm_items<'a>(
        history: &'a [Item],
        ids: &[String],
        observed_at: &str,
    ) -> BTreeMap<String, &'a Item> {
        let out: BTreeMap<String, &Item> = history
            .iter()
            .filter(|t| {
                s(t, "ObservedAt") == observed_at && ids.contains(&s(t, "RouteServerPeerId"))
            })
            .map(|t| (s(t, "RouteServerPeerId"), t))
            .collect();
        assert_eq!(
            out.len(),
            ids.len(),
            "one transition per peer at {observed_at}"
        );
        out
    }

    /// Checks a grouped delivery field by field: the SNS envelope, its attributes and the
    /// storm event JSON, each peer's entry against the simulator. Answers the event JSON.
    #[allow(clippy::too_many_arguments)]
    fn storm_check_grouped(
        d: &Value,
        stack: &Stack,
        rs: &str,
        kind: &str,
        severity: &str,
        subject: &str,
        want: &BTreeMap<String, (&str, Value)>,
    ) -> Value {
        let sim = stack.sim.peers();
        let vpc = sim[want.keys().next().unwrap()]["vpcId"].clone();
        assert_eq!(d["Type"], "Notification");
        assert_eq!(
            d["TopicArn"].as_str(),
            stack.config.alert_topic_arn.as_deref()
        );
        assert_eq!(d["Subject"], subject);
        let attrs = d["MessageAttributes"].as_object().unwrap();
        let names: BTreeSet<&str> = attrs.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            BTreeSet::from(["event", "routeServerId", "severity", "vpcId"]),
            "no routeServerPeerId on a grouped message"
        );
        assert_eq!(
            attrs["severity"],
            json!({"Type": "String", "Value": severity})
        );
        assert_eq!(
            attrs["event"],
            json!({"Type": "String", "Value": "route-server.storm"})
        );
        assert_eq!(
            attrs["routeServerId"],
            json!({"Type": "String", "Value": rs})
        );
        assert_eq!(attrs["vpcId"]["Value"], vpc);

        let ev: Value = serde_json::from_str(d["Message"].as_str().unwrap()).unwrap();
        let keys: BTreeSet<&str> = ev.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "event",
                "groupId",
                "groupKind",
                "observedAt",
                "peerCount",
                "peers",
                "peersOmitted",
                "routeServerId",
                "schemaVersion",
                "severity",
                "threshold",
                "vpcId",
            ])
        );
        let observed_at = ev["observedAt"].as_str().unwrap();
        assert!(
            observed_at
                .parse::<peerwatch_core::model::Timestamp>()
                .is_ok()
                && observed_at.ends_with('Z')
        );
        assert_eq!(ev["schemaVersion"], "1");
        assert_eq!(ev["event"], "route-server.storm");
        assert_eq!(ev["severity"], severity);
        assert_eq!(ev["groupId"], format!("{rs}/{kind}@{observed_at}"));
        assert_eq!(ev["groupKind"], kind);
        assert_eq!(ev["routeServerId"], rs);
        assert_eq!(ev["vpcId"], vpc);
        assert_eq!(ev["threshold"], 5);
        assert_eq!(ev["peerCount"], want.len());
        assert_eq!(ev["peersOmitted"], 0);
        let peers = ev["peers"].as_array().unwrap();
        let ids: Vec<&str> = peers
            .iter()
            .map(|p| p["routeServerPeerId"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            want.keys().map(String::as_str).collect::<Vec<_>>(),
            "every peer, once, in peer id order (all of one severity)"
        );
        for p in peers {
            let id = p["routeServerPeerId"].as_str().unwrap();
            let (event, changes) = &want[id];
            let sp = &sim[id];
            assert_eq!(p["schemaVersion"], "1");
            assert_eq!(p["event"], *event, "{id}");
            assert_eq!(p["severity"], severity);
            assert_eq!(p["kind"], "changed");
            assert_eq!(p["routeServerId"], rs);
            assert_eq!(p["vpcId"], vpc);
            assert_eq!(p["observedAt"], observed_at);
            assert_eq!(&p["changes"], changes, "{id}");
            assert!(p["previousObservedAt"].as_str().unwrap() < observed_at);
            let peer = &p["peer"];
            assert_eq!(peer["routeServerPeerId"], id);
            assert_eq!(peer["routeServerId"], rs);
            assert_eq!(peer["peerAddress"], sp["peerAddress"]);
            assert_eq!(peer["peerAsn"], sp["peerAsn"]);
            assert_eq!(peer["state"], sp["state"]);
            assert_eq!(peer["bgpStatus"], sp["bgpStatus"]);
            assert_eq!(peer["bfdStatus"], sp["bfdStatus"]);
            assert_eq!(peer["failureReason"], sp["failureReason"]);
            assert_eq!(peer["present"], true);
            assert_eq!(p["version"], peer["version"]);
        }
        ev
    }

    /// Checks the Publish document of a grouped message: the text for people names every
    /// peer with its address and ASN, and the chat notification is in the route server's thread.
    fn storm_check_document(doc: &Value, stack: &Stack, rs: &str, ids: &[String], title: &str) {
        let sim = stack.sim.peers();
        let text = doc["default"].as_str().unwrap();
        assert_eq!(doc["email"], doc["default"]);
        assert_eq!(doc["sqs"], doc["lambda"]);
        assert_eq!(doc["sqs"], doc["email-json"]);
        for id in ids {
            let line = format!(
                "  {id}  {}, AS{}",
                sim[id]["peerAddress"].as_str().unwrap(),
                sim[id]["peerAsn"]
            );
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(text.contains(&format!("Peers ({})\n", ids.len())), "{text}");
        let chat = storm_part(doc, "https");
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["title"], title);
        let description = chat["content"]["description"].as_str().unwrap();
        for id in ids {
            assert!(
                description.contains(&format!("`{id}`")),
                "{id} in {description}"
            );
        }
        assert_eq!(
            chat["metadata"]["threadId"], rs,
            "one thread for the route server"
        );
        assert_eq!(chat["metadata"]["eventType"], "route-server.storm");
        assert_eq!(chat["id"], storm_part(doc, "sqs")["groupId"]);
    }

    /// Checks the recorded transitions of a group: sent, one message id, one GroupId, and
    /// nothing left of the outbox.
    fn storm_check_recorded(items: &BTreeMap<String, &Item>, group_id: &str, message_id: &str) {
        for (id, t) in items {
            assert_eq!(s(t, "NotificationState"), "sent", "{id}");
            assert_eq!(s(t, "NotificationMessageId"), message_id, "{id}");
            assert_eq!(s(t, "GroupId"), group_id, "{id}");
            for gone in [
                "Pending",
                "ClaimedUntil",
                "Subject",
                "Message",
                "MessageAttributes",
            ] {
                assert!(!t.contains_key(gone), "{id}: {gone} is gone once sent");
            }
        }
    }

    /// 12 peers of one route server go down in one cycle (10 BGP down, 2 failed), and 2 of
    /// another: answers (route server, its 12 ids, the 2 failed ids, the other's 2 ids).
    struct StormScene {
        rs: String,
        twelve: Vec<String>,
        failed: Vec<String>,
        other: Vec<String>,
    }

    async fn storm_scene(stack: &Stack) -> StormScene {
        let fleet = storm_fleet(stack, 2, 12).await;
        let (rs, twelve) = fleet[0].clone();
        let other = fleet[1].1[..2].to_vec();
        let failed = vec![twelve[4].clone(), twelve[9].clone()];
        let failed_refs: Vec<&String> = failed.iter().collect();
        storm_take_down(stack, &twelve, &failed_refs);
        storm_take_down(stack, &other, &[]);
        let mut failed = failed;
        failed.sort();
        StormScene {
            rs,
            twelve,
            failed,
            other,
        }
    }

    fn storm_down_changes(scene: &StormScene) -> BTreeMap<String, (&'static str, Value)> {
        scene
            .twelve
            .iter()
            .map(|id| {
                let want = if scene.failed.contains(id) {
                    (
                        "peer.failed",
                        json!([
                            {"field": "State", "from": "available", "to": "failed"},
                            {"field": "BgpStatus", "from": "up", "to": "down"}
                        ]),
                    )
                } else {
                    (
                        "bgp.down",
                        json!([{"field": "BgpStatus", "from": "up", "to": "down"}]),
                    )
                };
                (id.clone(), want)
            })
            .collect()
    }

    /// Splits deliveries into the grouped ones and the others.
    fn storm_split(deliveries: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
        deliveries
            .into_iter()
            .partition(|d| d["MessageAttributes"]["event"]["Value"] == "route-server.storm")
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn twelve_peers_of_one_route_server_down_in_one_cycle_are_one_grouped_message() {
        let stack = Stack::new().await;
        let scene = storm_scene(&stack).await;
        stack.recorder.take();

        let summary = stack.cycle().await;
        // 14 recorded; 3 messages: the group of 12 and the other route server's 2 alone.
        assert_eq!(storm_figures(&summary), [14, 3, 0, 0, 1, 12], "{summary:?}");

        let (grouped, single) = storm_split(stack.deliveries().await);
        assert_eq!(grouped.len(), 1, "exactly one grouped delivery");
        let d = &grouped[0];
        let ev = storm_check_grouped(
            d,
            &stack,
            &scene.rs,
            "alerts",
            "critical",
            &format!(
                "[CRITICAL] {} 12 peers down (BGP down 10, failed 2)",
                scene.rs
            ),
            &storm_down_changes(&scene),
        );
        let observed_at = ev["observedAt"].as_str().unwrap().to_string();
        for id in &scene.failed {
            let p = ev["peers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["routeServerPeerId"] == id.as_str())
                .unwrap();
            assert_eq!(p["peer"]["failureReason"], FAILED_REASON);
        }

        // The other route server's two: one message each, in each peer's own thread.
        let mut singles: Vec<String> = single
            .iter()
            .map(|d| {
                let attrs = &d["MessageAttributes"];
                let ev: Value = serde_json::from_str(d["Message"].as_str().unwrap()).unwrap();
                assert_eq!(attrs["event"]["Value"], "bgp.down");
                assert_eq!(ev["event"], "bgp.down");
                assert_eq!(ev["routeServerPeerId"], attrs["routeServerPeerId"]["Value"]);
                assert_eq!(ev["observedAt"], observed_at.as_str());
                let id = ev["routeServerPeerId"].as_str().unwrap().to_string();
                assert!(
                    d["Subject"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("[CRITICAL] {id} BGP down"))
                );
                id
            })
            .collect();
        singles.sort();
        let mut other = scene.other.clone();
        other.sort();
        assert_eq!(singles, other);

        // What was published: three documents, the grouped one in the route server's thread.
        let published = storm_published(&stack);
        assert_eq!(published.len(), 3, "one Publish per message");
        let (subject, doc) = published
            .iter()
            .find(|(_, doc)| storm_part(doc, "sqs")["event"] == "route-server.storm")
            .unwrap();
        assert_eq!(subject, d["Subject"].as_str().unwrap());
        assert_eq!(
            storm_part(doc, "sqs"),
            ev,
            "the SQS subscriber got the sqs document"
        );
        storm_check_document(
            doc,
            &stack,
            &scene.rs,
            &scene.twelve,
            &format!(
                "\u{1F534} CRITICAL: 12 peers of route server {} down at once",
                scene.rs
            ),
        );
        let text = doc["default"].as_str().unwrap();
        assert!(
            text.contains(&format!("Failure reason: {FAILED_REASON}")),
            "{text}"
        );
        for (_, doc) in published
            .iter()
            .filter(|(_, d)| storm_part(d, "sqs")["event"] == "bgp.down")
        {
            let chat = storm_part(doc, "https");
            assert_eq!(
                chat["metadata"]["threadId"],
                storm_part(doc, "sqs")["routeServerPeerId"]
            );
        }

        // Every transition recorded, each marked with the message that covered it.
        let history = stack.history().await;
        let items = storm_items(&history, &scene.twelve, &observed_at);
        for (id, t) in &items {
            let (event, _) = &storm_down_changes(&scene)[id];
            assert_eq!(
                (s(t, "Kind"), s(t, "Severity"), s(t, "Event")),
                ("changed".into(), "critical".into(), event.to_string())
            );
            assert_eq!(s(t, "RouteServerId"), scene.rs);
        }
        storm_check_recorded(
            &items,
            ev["groupId"].as_str().unwrap(),
            d["MessageId"].as_str().unwrap(),
        );
        let others = storm_items(&history, &scene.other, &observed_at);
        let ids: BTreeSet<String> = others
            .values()
            .map(|t| s(t, "NotificationMessageId"))
            .collect();
        assert_eq!(ids.len(), 2, "a message each");
        assert!(
            others
                .values()
                .all(|t| s(t, "NotificationState") == "sent" && !t.contains_key("GroupId"))
        );

        // Nothing changed: nothing more.
        assert_eq!(storm_figures(&stack.cycle().await), [0; 6]);
        assert!(stack.deliveries().await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn when_all_12_come_back_the_recovery_is_grouped_in_the_same_thread() {
        let stack = Stack::new().await;
        let scene = storm_scene(&stack).await;
        assert_eq!(storm_figures(&stack.cycle().await), [14, 3, 0, 0, 1, 12]);
        let (grouped, _) = storm_split(stack.deliveries().await);
        let alert: Value = serde_json::from_str(grouped[0]["Message"].as_str().unwrap()).unwrap();
        stack.recorder.take();

        storm_bring_up(&stack, &scene.twelve);
        storm_bring_up(&stack, &scene.other);
        let summary = stack.cycle().await;
        assert_eq!(storm_figures(&summary), [14, 3, 0, 0, 1, 12], "{summary:?}");

        let (grouped, single) = storm_split(stack.deliveries().await);
        assert_eq!(grouped.len(), 1);
        let want: BTreeMap<String, (&str, Value)> = scene
            .twelve
            .iter()
            .map(|id| {
                let want = if scene.failed.contains(id) {
                    (
                        "peer.recovered",
                        json!([
                            {"field": "State", "from": "failed", "to": "available"},
                            {"field": "BgpStatus", "from": "down", "to": "up"}
                        ]),
                    )
                } else {
                    (
                        "bgp.up",
                        json!([{"field": "BgpStatus", "from": "down", "to": "up"}]),
                    )
                };
                (id.clone(), want)
            })
            .collect();
        let d = &grouped[0];
        let ev = storm_check_grouped(
            d,
            &stack,
            &scene.rs,
            "recoveries",
            "recovery",
            &format!(
                "[RECOVERY] {} 12 peers recovered (BGP up 10, recovered 2)",
                scene.rs
            ),
            &want,
        );
        assert!(ev["observedAt"].as_str() > alert["observedAt"].as_str());
        for p in ev["peers"].as_array().unwrap() {
            assert_eq!(
                p["previousObservedAt"], alert["observedAt"],
                "down since the storm"
            );
            assert_eq!(p["health"], json!({"from": "down", "to": "healthy"}));
            assert_eq!(p["peer"]["openAlert"], Value::Null);
        }
        // The two alone recover alone, in their own threads.
        assert_eq!(single.len(), 2);
        assert!(single.iter().all(
            |d| d["MessageAttributes"]["severity"]["Value"] == "recovery"
                && d["MessageAttributes"]["event"]["Value"] == "bgp.up"
        ));

        let published = storm_published(&stack);
        let (_, doc) = published
            .iter()
            .find(|(_, doc)| storm_part(doc, "sqs")["event"] == "route-server.storm")
            .unwrap();
        storm_check_document(
            doc,
            &stack,
            &scene.rs,
            &scene.twelve,
            &format!(
                "\u{2705} RECOVERY: 12 peers of route server {} recovered at once",
                scene.rs
            ),
        );
        assert!(
            !doc["default"]
                .as_str()
                .unwrap()
                .contains("--health down,degraded"),
            "a recovery asks for nothing but the history"
        );

        let history = stack.history().await;
        let items = storm_items(&history, &scene.twelve, ev["observedAt"].as_str().unwrap());
        assert!(items.values().all(|t| s(t, "Severity") == "recovery"));
        storm_check_recorded(
            &items,
            ev["groupId"].as_str().unwrap(),
            d["MessageId"].as_str().unwrap(),
        );
        // Two messages, two groups: the alert's GroupId stays on the alerts.
        let alerts = storm_items(
            &history,
            &scene.twelve,
            alert["observedAt"].as_str().unwrap(),
        );
        assert!(
            alerts
                .values()
                .all(|t| s(t, "GroupId") == alert["groupId"].as_str().unwrap())
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_sns_outage_during_a_storm_leaves_the_12_pending_and_the_group_goes_out_once() {
        let stack = Stack::new().await;
        let fleet = storm_fleet(&stack, 1, 12).await;
        let (rs, twelve) = fleet[0].clone();
        storm_take_down(&stack, &twelve, &[]);
        stack.recorder.take();

        // A port nothing listens on: SNS is unreachable for this run.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_endpoint = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let cut_off = Stack::poller_with(
            &stack.sim,
            moto().endpoint(),
            &dead_endpoint,
            &stack.recorder,
            stack.config.clone(),
        );
        let summary = cut_off
            .run(RunOptions::default())
            .await
            .expect("recording does not need SNS");
        // 12 recorded; the one message could not be published and stays pending.
        assert_eq!(storm_figures(&summary), [12, 0, 0, 1, 0, 12], "{summary:?}");
        let publishes = stack
            .recorder
            .take()
            .iter()
            .filter(|c| c.operation == "Publish")
            .count();
        assert_eq!(publishes, 1, "one Publish attempt for the group, not 12");
        assert!(stack.deliveries().await.is_empty());

        let history = stack.history().await;
        let pending: Vec<&Item> = history
            .iter()
            .filter(|t| s(t, "NotificationState") == "pending")
            .collect();
        assert_eq!(pending.len(), 12);
        let group_ids: BTreeSet<String> = pending.iter().map(|t| s(t, "GroupId")).collect();
        assert_eq!(group_ids.len(), 1);
        let group_id = group_ids.into_iter().next().unwrap();
        let observed_at = s(pending[0], "ObservedAt");
        assert_eq!(group_id, format!("{rs}/alerts@{observed_at}"));
        let message = s(pending[0], "Message");
        let subject = s(pending[0], "Subject");
        assert_eq!(
            subject,
            format!("[CRITICAL] {rs} 12 peers down (BGP down 12)")
        );
        for t in &pending {
            assert_eq!(s(t, "Pending"), "pending");
            assert_eq!(
                s(t, "Message"),
                message,
                "every member holds the group's message"
            );
            assert_eq!(s(t, "Subject"), subject);
            assert_eq!(t["ClaimedUntil"].as_n().unwrap(), "0", "given back at once");
            let attrs = t["MessageAttributes"].as_m().unwrap();
            assert_eq!(attrs["event"].as_s().unwrap(), "route-server.storm");
            assert!(!attrs.contains_key("routeServerPeerId"));
        }
        let stored: Value = serde_json::from_str(&message).unwrap();
        assert_eq!(storm_part(&stored, "sqs")["peerCount"], 12);

        // The next cycle publishes the group, once, and marks all 12.
        let summary = stack.cycle().await;
        assert_eq!(storm_figures(&summary), [0, 0, 1, 0, 1, 0], "{summary:?}");
        let deliveries = stack.deliveries().await;
        assert_eq!(deliveries.len(), 1, "exactly once");
        let want: BTreeMap<String, (&str, Value)> = twelve
            .iter()
            .map(|id| {
                (
                    id.clone(),
                    (
                        "bgp.down",
                        json!([{"field": "BgpStatus", "from": "up", "to": "down"}]),
                    ),
                )
            })
            .collect();
        let ev = storm_check_grouped(
            &deliveries[0],
            &stack,
            &rs,
            "alerts",
            "critical",
            &subject,
            &want,
        );
        assert_eq!(
            ev["observedAt"],
            observed_at.as_str(),
            "as recorded, not as retried"
        );
        let history = stack.history().await;
        let items = storm_items(&history, &twelve, &observed_at);
        storm_check_recorded(
            &items,
            &group_id,
            deliveries[0]["MessageId"].as_str().unwrap(),
        );

        let summary = stack.cycle().await;
        assert_eq!(storm_figures(&summary), [0; 6]);
        assert!(stack.deliveries().await.is_empty());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn two_runs_retrying_a_pending_group_at_once_publish_it_once() {
        let stack = Stack::new().await;
        let fleet = storm_fleet(&stack, 1, 8).await;
        let eight = fleet[0].1.clone();
        storm_take_down(&stack, &eight, &[]);
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_endpoint = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let cut_off = Stack::poller_with(
            &stack.sim,
            moto().endpoint(),
            &dead_endpoint,
            &stack.recorder,
            stack.config.clone(),
        );
        let summary = cut_off.run(RunOptions::default()).await.unwrap();
        assert_eq!(storm_figures(&summary), [8, 0, 0, 1, 0, 8]);

        let other = Stack::poller_with(
            &stack.sim,
            moto().endpoint(),
            moto().endpoint(),
            &stack.recorder,
            stack.config.clone(),
        );
        let (a, b) = tokio::join!(
            stack.poller.run(RunOptions::default()),
            other.run(RunOptions::default())
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            (
                a.notifications_retried + b.notifications_retried,
                a.grouped_notifications + b.grouped_notifications,
                a.notifications_pending + b.notifications_pending
            ),
            (1, 1, 0),
            "{a:?} {b:?}"
        );
        assert_eq!(stack.deliveries().await.len(), 1);
        let history = stack.history().await;
        assert!(
            history
                .iter()
                .filter(|t| s(t, "Kind") == "changed")
                .all(|t| s(t, "NotificationState") == "sent")
        );
    }

    /// `n` peers of one route server down in one cycle with `threshold`: answers the
    /// deliveries, checked to be one per peer, none grouped, none recorded with a GroupId.
    async fn storm_not_grouped(threshold: u32, n: u32) {
        let stack = Stack::with(|c| c.alerting.storm_threshold = threshold).await;
        let fleet = storm_fleet(&stack, 1, n).await;
        let ids = fleet[0].1.clone();
        storm_take_down(&stack, &ids, &[]);
        let summary = stack.cycle().await;
        let n = n as usize;
        assert_eq!(storm_figures(&summary), [n, n, 0, 0, 0, 0], "{summary:?}");
        let deliveries = stack.deliveries().await;
        assert_eq!(deliveries.len(), n);
        let mut peers: Vec<String> = deliveries
            .iter()
            .map(|d| {
                assert_eq!(d["MessageAttributes"]["event"]["Value"], "bgp.down");
                let ev: Value = serde_json::from_str(d["Message"].as_str().unwrap()).unwrap();
                assert_eq!(
                    ev["routeServerPeerId"],
                    d["MessageAttributes"]["routeServerPeerId"]["Value"]
                );
                ev["routeServerPeerId"].as_str().unwrap().to_string()
            })
            .collect();
        peers.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(peers, want, "one message per peer");
        let history = stack.history().await;
        let changed: Vec<&Item> = history
            .iter()
            .filter(|t| s(t, "Kind") == "changed")
            .collect();
        assert_eq!(changed.len(), n);
        let message_ids: BTreeSet<String> = changed
            .iter()
            .map(|t| s(t, "NotificationMessageId"))
            .collect();
        assert_eq!(message_ids.len(), n);
        assert!(changed.iter().all(|t| !t.contains_key("GroupId")));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_storm_threshold_of_0_never_groups() {
        storm_not_grouped(0, 12).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn exactly_the_threshold_of_alerts_is_not_a_storm() {
        storm_not_grouped(5, 5).await;
    }
}
