//! The poller end to end: the simulator for EC2, moto for DynamoDB, SNS and SQS.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_ec2::error::ProvideErrorMetadata;
use peerwatch_aws::cycle::{CycleError, RunOptions};
use serde_json::{Value, json};

use crate::helpers::{Stack, chat_of, ec2_client, moto, s};

fn ops(stack: &Stack) -> Vec<String> {
    let mut ops = stack.recorder.operations();
    ops.sort();
    ops
}

fn writes(ops: &[String]) -> Vec<&String> {
    ops.iter()
        .filter(|o| {
            [
                "TransactWriteItems",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "BatchWriteItem",
                "Publish",
            ]
            .iter()
            .any(|w| o.ends_with(&format!(":{w}")))
        })
        .collect()
}

/// The SNS `Publish` documents the poller sent, parsed, keyed by peer id then in order.
fn published(stack: &Stack) -> Vec<(String, Value)> {
    stack
        .recorder
        .calls()
        .into_iter()
        .filter_map(|c| c.published)
        .map(|(subject, doc)| {
            (
                subject,
                serde_json::from_str(&doc).expect("MessageStructure JSON"),
            )
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    peer: String,
    event: &'static str,
    severity: &'static str,
}

/// Checks every delivered envelope and its event JSON field by field; answers what was seen.
fn check_deliveries(deliveries: &[Value], peers: &BTreeMap<String, Value>) -> Vec<Expected> {
    let mut seen = Vec::new();
    for d in deliveries {
        let event: Value =
            serde_json::from_str(d["Message"].as_str().expect("Message")).expect("event JSON");
        let id = event["routeServerPeerId"].as_str().unwrap().to_string();
        let sim_peer = &peers[&id];
        assert_eq!(event["schemaVersion"], "1");
        assert_eq!(event["routeServerId"], sim_peer["routeServerId"]);
        assert_eq!(event["vpcId"], sim_peer["vpcId"]);
        assert!(event["observedAt"].as_str().unwrap().ends_with('Z'));
        assert_eq!(event["peer"]["routeServerPeerId"], id.as_str());
        assert_eq!(event["peer"]["peerAddress"], sim_peer["peerAddress"]);
        assert_eq!(event["peer"]["peerAsn"], sim_peer["peerAsn"]);
        let attrs = &d["MessageAttributes"];
        assert_eq!(attrs["severity"]["Value"], event["severity"]);
        assert_eq!(attrs["event"]["Value"], event["event"]);
        assert_eq!(attrs["routeServerPeerId"]["Value"], id.as_str());
        assert_eq!(attrs["routeServerId"]["Value"], sim_peer["routeServerId"]);
        assert_eq!(attrs["vpcId"]["Value"], sim_peer["vpcId"]);
        let subject = d["Subject"].as_str().unwrap();
        assert!(subject.len() <= 100 && subject.contains(&id), "{subject}");
        assert!(
            subject.starts_with(&format!(
                "[{}]",
                event["severity"].as_str().unwrap().to_uppercase()
            )),
            "{subject}"
        );
        let event_name = event["event"].as_str().unwrap();
        let severity = event["severity"].as_str().unwrap();
        seen.push(Expected {
            peer: id,
            event: leak(event_name),
            severity: leak(severity),
        });
    }
    seen.sort();
    seen
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_fleet_of_50_records_alerts_and_recovers_exactly_once() {
    // The six alerts below fall on one route server, which storm control would send as one
    // grouped message; this scenario checks the per-peer messages (storms: alert_rules.rs).
    let stack = Stack::with(|c| c.alerting.storm_threshold = 0).await;
    // Every call of the scenario, for the IAM check at the end.
    let mut performed = Vec::new();
    let ids = stack.sim.fleet(5, 10);
    let peers = stack.sim.peers();
    let liveness = |id: &String| {
        peers[id]["peerLivenessDetection"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let bfd: Vec<&String> = ids.iter().filter(|id| liveness(id) == "bfd").collect();
    let keepalive: Vec<&String> = ids
        .iter()
        .filter(|id| liveness(id) == "bgp-keepalive")
        .collect();

    // Cycle 1: every peer discovered, nothing alerted.
    let summary = stack.cycle().await;
    assert_eq!(
        (
            summary.peers_seen,
            summary.transitions_recorded,
            summary.notifications_sent
        ),
        (50, 50, 0)
    );
    let history = stack.history().await;
    assert_eq!(history.len(), 50);
    assert!(
        history
            .iter()
            .all(|t| s(t, "Kind") == "discovered" && s(t, "Severity") == "info")
    );
    assert!(
        history
            .iter()
            .all(|t| s(t, "NotificationState") == "not-required" && !t.contains_key("StateFrom"))
    );
    assert!(stack.deliveries().await.is_empty());

    // The changes: BGP down on 3, BFD down on 2 (one bfd, one bgp-keepalive), failed with a
    // reason on 1, delete 1 through the EC2 API, vanish 1.
    let bgp_down = [bfd[0], bfd[1], keepalive[0]];
    for id in bgp_down {
        stack.sim.set_peer(id, json!({"bgpStatus": "down"}));
    }
    let (bfd_alert, bfd_quiet) = (bfd[2], keepalive[1]);
    stack.sim.set_peer(bfd_alert, json!({"bfdStatus": "down"}));
    stack.sim.set_peer(bfd_quiet, json!({"bfdStatus": "down"}));
    let failed = bfd[3];
    stack.sim.set_peer(
        failed,
        json!({"state": "failed", "failureReason": "BGP hold timer expired", "bgpStatus": "down"}),
    );
    let deleted = keepalive[2];
    ec2_client(stack.sim.endpoint())
        .delete_route_server_peer()
        .route_server_peer_id(deleted)
        .send()
        .await
        .unwrap();
    let vanished = keepalive[3];
    stack
        .sim
        .control("POST", &format!("/_sim/peers/{vanished}/vanish"), None);

    // Cycle 2: exactly those transitions, and exactly the expected messages.
    performed.extend(stack.recorder.take());
    let summary = stack.cycle().await;
    assert_eq!(
        (
            summary.peers_seen,
            summary.transitions_recorded,
            summary.notifications_sent
        ),
        (49, 8, 6)
    );
    let history = stack.history().await;
    let cycle2: Vec<_> = history
        .iter()
        .filter(|t| s(t, "Kind") != "discovered")
        .collect();
    assert_eq!(cycle2.len(), 8);
    let by_peer: BTreeMap<String, _> = cycle2
        .iter()
        .map(|t| (s(t, "RouteServerPeerId"), *t))
        .collect();
    for id in bgp_down {
        let t = by_peer[id.as_str()];
        assert_eq!(
            (s(t, "BgpStatusFrom"), s(t, "BgpStatusTo")),
            ("up".into(), "down".into())
        );
        assert!(
            !t.contains_key("StateFrom") && !t.contains_key("BfdStatusFrom"),
            "only what changed"
        );
        assert_eq!(
            (s(t, "Severity"), s(t, "Event"), s(t, "NotificationState")),
            ("critical".into(), "bgp.down".into(), "sent".into())
        );
        assert_eq!(s(t, "Kind"), "changed");
        assert_eq!(t["Version"].as_n().unwrap(), "2");
        assert!(!s(t, "NotificationMessageId").is_empty());
        assert!(
            !t.contains_key("Pending"),
            "the outbox entry is gone once sent"
        );
        assert!(t.contains_key("PreviousObservedAt") && t.contains_key("PreviousDurationSeconds"));
    }
    let t = by_peer[bfd_alert.as_str()];
    assert_eq!(
        (
            s(t, "BfdStatusFrom"),
            s(t, "BfdStatusTo"),
            s(t, "Severity"),
            s(t, "Event")
        ),
        (
            "up".into(),
            "down".into(),
            "critical".into(),
            "bfd.down".into()
        )
    );
    let t = by_peer[bfd_quiet.as_str()];
    assert_eq!(
        (s(t, "Severity"), s(t, "NotificationState")),
        ("info".into(), "not-required".into()),
        "BFD down under bgp-keepalive never alerts"
    );
    let t = by_peer[failed.as_str()];
    assert_eq!(
        (s(t, "StateFrom"), s(t, "StateTo"), s(t, "FailureReason")),
        (
            "available".into(),
            "failed".into(),
            "BGP hold timer expired".into()
        )
    );
    assert_eq!(
        (s(t, "Severity"), s(t, "Event")),
        ("critical".into(), "peer.failed".into())
    );
    let t = by_peer[deleted.as_str()];
    assert_eq!(
        (s(t, "StateTo"), s(t, "Severity"), s(t, "NotificationState")),
        ("deleted".into(), "info".into(), "not-required".into())
    );
    let t = by_peer[vanished.as_str()];
    assert_eq!(
        (s(t, "Kind"), s(t, "Severity"), s(t, "Event")),
        ("vanished".into(), "warning".into(), "peer.vanished".into())
    );

    let mut all_peers = peers.clone();
    all_peers.extend(stack.sim.peers());
    let seen = check_deliveries(&stack.deliveries().await, &all_peers);
    let mut want: Vec<Expected> = bgp_down
        .iter()
        .map(|id| Expected {
            peer: id.to_string(),
            event: "bgp.down",
            severity: "critical",
        })
        .chain([
            Expected {
                peer: bfd_alert.clone(),
                event: "bfd.down",
                severity: "critical",
            },
            Expected {
                peer: failed.clone(),
                event: "peer.failed",
                severity: "critical",
            },
            Expected {
                peer: vanished.clone(),
                event: "peer.vanished",
                severity: "warning",
            },
        ])
        .collect();
    want.sort();
    assert_eq!(seen, want);
    let alerts = published(&stack);
    assert_eq!(alerts.len(), 6);

    // Cycle 3: nothing changed, so nothing is written and nothing is sent.
    performed.extend(stack.recorder.take());
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (0, 0)
    );
    let ops = ops(&stack);
    assert!(
        writes(&ops).is_empty(),
        "a steady-state cycle writes nothing: {ops:?}"
    );
    // One call per listing, and one routing database read per route server (five here).
    let mut expected = vec![
        "DynamoDB:Query",
        "DynamoDB:Scan",
        "EC2:DescribeRouteServerEndpoints",
        "EC2:DescribeRouteServerPeers",
        "EC2:DescribeRouteServers",
    ];
    expected.extend(["EC2:GetRouteServerRoutingDatabase"; 5]);
    assert_eq!(ops, expected);
    assert!(stack.deliveries().await.is_empty());

    // Recovery: each alerted peer that can recover sends one recovery in its alert's thread.
    for id in bgp_down {
        stack.sim.set_peer(id, json!({"bgpStatus": "up"}));
    }
    stack.sim.set_peer(bfd_alert, json!({"bfdStatus": "up"}));
    stack.sim.set_peer(bfd_quiet, json!({"bfdStatus": "up"}));
    stack.sim.set_peer(
        failed,
        json!({"state": "available", "failureReason": null, "bgpStatus": "up"}),
    );
    performed.extend(stack.recorder.take());
    let summary = stack.cycle().await;
    assert_eq!(
        (summary.transitions_recorded, summary.notifications_sent),
        (6, 5)
    );
    let seen = check_deliveries(&stack.deliveries().await, &all_peers);
    let mut want: Vec<Expected> = bgp_down
        .iter()
        .map(|id| Expected {
            peer: id.to_string(),
            event: "bgp.up",
            severity: "recovery",
        })
        .chain([
            Expected {
                peer: bfd_alert.clone(),
                event: "bfd.up",
                severity: "recovery",
            },
            Expected {
                peer: failed.clone(),
                event: "peer.recovered",
                severity: "recovery",
            },
        ])
        .collect();
    want.sort();
    assert_eq!(seen, want);
    let recoveries = published(&stack);
    let thread_of = |doc: &Value| -> String {
        let chat = chat_of(doc);
        chat["metadata"]["threadId"].as_str().unwrap().to_string()
    };
    let alert_threads: HashSet<String> = alerts.iter().map(|(_, d)| thread_of(d)).collect();
    for (_, doc) in &recoveries {
        let thread = thread_of(doc);
        assert!(
            alert_threads.contains(&thread),
            "recovery thread {thread} has its alert"
        );
        let event: Value = serde_json::from_str(doc["sqs"].as_str().unwrap()).unwrap();
        assert_eq!(thread, event["routeServerPeerId"].as_str().unwrap());
    }

    // The template's role allows exactly the operations this scenario performed.
    performed.extend(stack.recorder.take());
    crate::infra::assert_template_allows_exactly(&performed, &stack.config);
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_cycles_record_and_send_each_change_once() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(2, 5);
    stack.cycle().await;
    for id in &ids[..4] {
        stack.sim.set_peer(id, json!({"bgpStatus": "down"}));
    }
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
        a.transitions_recorded + b.transitions_recorded,
        4,
        "{a:?} {b:?}"
    );
    assert_eq!(
        a.transitions_lost_race + b.transitions_lost_race,
        a.transitions_detected + b.transitions_detected - 4
    );
    assert_eq!(a.notifications_sent + b.notifications_sent, 4);
    let history = stack.history().await;
    assert_eq!(
        history.iter().filter(|t| s(t, "Kind") == "changed").count(),
        4
    );
    let deliveries = stack.deliveries().await;
    assert_eq!(deliveries.len(), 4);
    let peers: HashSet<String> = deliveries
        .iter()
        .map(|d| {
            d["MessageAttributes"]["routeServerPeerId"]["Value"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(peers, ids[..4].iter().cloned().collect());
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_outage_leaves_notifications_pending_until_the_next_cycle() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 4);
    stack.cycle().await;
    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    stack.sim.set_peer(&ids[1], json!({"state": "failing"}));

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
    assert_eq!(
        (
            summary.transitions_recorded,
            summary.notifications_sent,
            summary.notifications_pending
        ),
        (2, 0, 2)
    );
    let pending: Vec<_> = stack
        .history()
        .await
        .into_iter()
        .filter(|t| s(t, "NotificationState") == "pending")
        .collect();
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|t| s(t, "Pending") == "pending"));
    assert!(stack.deliveries().await.is_empty());

    let summary = stack.cycle().await;
    assert_eq!(
        (
            summary.transitions_recorded,
            summary.notifications_retried,
            summary.notifications_pending
        ),
        (0, 2, 0)
    );
    let deliveries = stack.deliveries().await;
    assert_eq!(deliveries.len(), 2, "each delivered exactly once");
    let history = stack.history().await;
    assert!(
        history
            .iter()
            .all(|t| s(t, "NotificationState") != "pending" && !t.contains_key("Pending"))
    );
    assert_eq!(
        history
            .iter()
            .filter(|t| s(t, "NotificationState") == "sent")
            .count(),
        2
    );
    let summary = stack.cycle().await;
    assert_eq!(summary.notifications_retried, 0);
    assert!(stack.deliveries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_throttle_is_ridden_over_and_a_persistent_500_fails_loudly() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 3);
    stack
        .sim
        .fault("DescribeRouteServerPeers", 2, "RequestLimitExceeded", 503);
    let summary = stack.cycle().await;
    assert_eq!(summary.transitions_recorded, 3);

    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    stack
        .sim
        .fault("DescribeRouteServerPeers", 100, "InternalError", 500);
    let before = stack.history().await.len();
    let err = stack.poller.run(RunOptions::default()).await.unwrap_err();
    assert!(matches!(err, CycleError::List(_)), "{err:?}");
    let chain = peerwatch_core::error_chain(&err);
    assert!(chain.contains("cannot list route server peers"), "{chain}");
    if let CycleError::List(list) = &err {
        assert_eq!(list.0.code(), Some("InternalError"));
    }
    assert_eq!(stack.history().await.len(), before, "nothing recorded");
    assert!(stack.deliveries().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_detects_but_writes_and_sends_nothing() {
    let stack = Stack::new().await;
    stack.sim.fleet(1, 3);
    let summary = stack
        .poller
        .run(RunOptions {
            dry_run: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            summary.transitions_detected,
            summary.routing_transitions_detected,
            summary.transitions_recorded,
            summary.routing_transitions_recorded,
            summary.detected.len()
        ),
        // Three peers; a route server and its two endpoints.
        (3, 3, 0, 0, 6)
    );
    let ops = ops(&stack);
    assert!(
        ops.contains(&"EC2:DescribeRouteServerPeers".to_string()),
        "the recorder sees the run: {ops:?}"
    );
    assert!(writes(&ops).is_empty(), "{ops:?}");
    assert!(stack.history().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_topic_transitions_are_recorded_and_nothing_is_owed() {
    let stack = Stack::with(|c| c.alert_topic_arn = None).await;
    let ids = stack.sim.fleet(1, 2);
    stack.cycle().await;
    stack.sim.set_peer(&ids[0], json!({"state": "failed"}));
    let summary = stack.cycle().await;
    assert_eq!(
        (
            summary.transitions_recorded,
            summary.notifications_sent,
            summary.notifications_pending
        ),
        (1, 0, 0)
    );
    let history = stack.history().await;
    assert!(
        history
            .iter()
            .all(|t| s(t, "NotificationState") == "not-required")
    );
    assert!(
        !stack
            .recorder
            .operations()
            .iter()
            .any(|o| o.starts_with("SNS:"))
    );
}
