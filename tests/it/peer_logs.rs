//! Between polls: the route server's peer log records, handed to the consumer as CloudWatch
//! Logs hands them (an `awslogs` payload built from route-server-sim's own records), through
//! the real `poller` binary under cargo-lambda's runtime emulator, and races met in process.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_core::peer_logs::Batch;
use peerwatch_testkit::awslogs;
use peerwatch_testkit::emulators::{Emulator, project_python};
use peerwatch_testkit::recorder::Recorder;
use serde_json::{Value, json};

use crate::helpers::{Sim, Stack, moto, s};
use crate::lambda::LocalLambda;

type Item = HashMap<String, AttributeValue>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// The simulator's peer log records stamped at or after `since_ms`, of `peer` only.
fn records_of(sim: &Sim, since_ms: i64, peer: &str) -> Vec<Value> {
    let (status, body) = sim.control("GET", &format!("/_sim/peer-logs?since={since_ms}"), None);
    assert_eq!(status, 200, "{body}");
    body["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| {
            r["resource_arn"]
                .as_str()
                .is_some_and(|a| a.ends_with(&format!("/{peer}")))
        })
        .cloned()
        .collect()
}

fn sessions_only(records: Vec<Value>) -> Vec<Value> {
    records
        .into_iter()
        .filter(|r| r["type"] != "RouteStatus")
        .collect()
}

fn ms(r: &Value) -> i64 {
    r["event_timestamp"].as_i64().expect("event_timestamp")
}

fn rfc3339(ms: i64) -> String {
    peerwatch_core::model::Timestamp::from_millis(ms)
        .expect("in range")
        .to_string()
}

fn of_peer(items: &[Item], peer: &str) -> Vec<Item> {
    items
        .iter()
        .filter(|i| s(i, "RouteServerPeerId") == peer)
        .cloned()
        .collect()
}

/// What "the same history" compares: each item's time, source and session changes.
fn changes_of(items: &[Item]) -> Vec<[String; 6]> {
    let mut rows: Vec<[String; 6]> = items
        .iter()
        .map(|i| {
            [
                s(i, "ObservedAt"),
                s(i, "Source"),
                s(i, "BgpStatusFrom"),
                s(i, "BgpStatusTo"),
                s(i, "BfdStatusFrom"),
                s(i, "BfdStatusTo"),
            ]
        })
        .collect();
    rows.sort();
    rows
}

async fn state_items(stack: &Stack) -> Vec<Item> {
    let mut items = stack
        .poller
        .store()
        .client()
        .scan()
        .table_name(&stack.config.peer_state_table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan PeerState")
        .items
        .unwrap_or_default();
    items.sort_by_key(|i| s(i, "RouteServerPeerId"));
    items
}

fn late(i: &Item) -> bool {
    i.get("Late").and_then(|v| v.as_bool().ok()).copied() == Some(true)
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_peer_log_payloads_through_the_cargo_lambda_runtime_emulator() {
    let stack = Stack::new().await;
    // Liveness alternates: the first and third peers use BFD.
    let ids = stack.sim.fleet(1, 3);
    let mut lambda = LocalLambda::start(&stack);
    let first = lambda.invoke("scheduled.json").await.answer();
    assert_eq!(first["transitionsRecorded"], 3, "{first}");

    // A flap between two polls: BFD and BGP down, and back a moment later.
    let mark = now_ms();
    stack
        .sim
        .set_peer(&ids[0], json!({"bfdStatus": "down", "bgpStatus": "down"}));
    tokio::time::sleep(Duration::from_millis(40)).await;
    stack
        .sim
        .set_peer(&ids[0], json!({"bfdStatus": "up", "bgpStatus": "up"}));
    let flap = records_of(&stack.sim, mark, &ids[0]);
    let sessions = sessions_only(flap.clone());
    assert_eq!(sessions.len(), 4, "BGP and BFD, down and up: {flap:#?}");
    let (down_ms, up_ms) = (ms(&sessions[0]), ms(&sessions[3]));
    assert!(up_ms > down_ms);
    let batch = awslogs::payload(&flap);
    let answer = lambda.invoke_payload("the flap", &batch).await.answer();
    assert_eq!(answer["changesRecorded"], 2, "{answer}");
    assert_eq!(answer["notificationsSent"], 2, "{answer}");
    assert_eq!(answer["recordsSkipped"], 0, "{answer}");
    let history = stack.history().await;
    let logged: Vec<Item> = of_peer(&history, &ids[0])
        .into_iter()
        .filter(|i| s(i, "Source") == "log")
        .collect();
    assert_eq!(
        logged
            .iter()
            .map(|i| (s(i, "ObservedAt"), s(i, "Event"), s(i, "Severity")))
            .collect::<Vec<_>>(),
        [
            (rfc3339(down_ms), "bgp.down".into(), "critical".into()),
            (rfc3339(up_ms), "bgp.up".into(), "recovery".into()),
        ],
        "recorded at both of the records' own times"
    );
    let delivered = stack.deliveries().await;
    assert_eq!(delivered.len(), 2, "{delivered:#?}");
    let events: Vec<Value> = delivered
        .iter()
        .map(|d| serde_json::from_str(d["Message"].as_str().unwrap_or("{}")).unwrap_or_default())
        .collect();
    assert!(
        delivered[0]["Subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("[CRITICAL]")),
        "{delivered:#?}"
    );
    assert!(events.iter().all(|e| e.is_object()) || !events.is_empty());

    // The same batch delivered again writes nothing and sends nothing.
    let states = state_items(&stack).await;
    let again = lambda
        .invoke_payload("the flap again", &batch)
        .await
        .answer();
    assert_eq!(again["changesRecorded"], 0, "{again}");
    assert_eq!(again["lateRecorded"], 0, "{again}");
    assert_eq!(stack.history().await, history);
    assert_eq!(state_items(&stack).await, states);
    assert!(stack.deliveries().await.is_empty());
    // Nor does the poll find anything the logs have not recorded.
    let poll = lambda.invoke("scheduled.json").await.answer();
    assert_eq!(poll["transitionsRecorded"], 0, "{poll}");

    // Two flaps of two peers at once; one peer's batches arrive in order, the other's reversed.
    let flap_both = |bgp: &str| {
        let patch = json!({"bgpStatus": bgp});
        json!({"peers": {ids[1].as_str(): patch, ids[2].as_str(): patch}}).to_string()
    };
    let mut batches = Vec::new();
    for _ in 0..2 {
        let mark = now_ms();
        for bgp in ["down", "up"] {
            let (status, body) = stack
                .sim
                .control("POST", "/_sim/peers", Some(&flap_both(bgp)));
            assert_eq!(status, 200, "{body}");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        batches.push((
            records_of(&stack.sim, mark, &ids[1]),
            records_of(&stack.sim, mark, &ids[2]),
        ));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for (i, batch) in [&batches[0].0, &batches[1].0].into_iter().enumerate() {
        let a = lambda
            .invoke_payload(&format!("in order {i}"), &awslogs::payload(batch))
            .await
            .answer();
        assert_eq!(a["changesRecorded"], 2, "{a}");
    }
    for (i, batch) in [&batches[1].1, &batches[0].1].into_iter().enumerate() {
        lambda
            .invoke_payload(&format!("reversed {i}"), &awslogs::payload(batch))
            .await
            .answer();
    }
    let history = stack.history().await;
    let (forward, backward) = (of_peer(&history, &ids[1]), of_peer(&history, &ids[2]));
    assert_eq!(forward.len(), 5, "discovered and four changes");
    assert_eq!(
        changes_of(&forward),
        changes_of(&backward),
        "the same changes, whatever the order"
    );
    // The older batch, arriving second, is kept as late: it alerted nobody.
    assert_eq!(backward.iter().filter(|i| late(i)).count(), 2);
    let states = state_items(&stack).await;
    let state = |peer: &str| {
        states
            .iter()
            .find(|i| s(i, "RouteServerPeerId") == peer)
            .map(|i| (s(i, "BgpStatus"), s(i, "LastChangedAt")))
    };
    assert_eq!(state(&ids[1]), state(&ids[2]));
    let delivered = stack.deliveries().await;
    let about = |peer: &str| {
        delivered
            .iter()
            .filter(|d| d["Message"].as_str().is_some_and(|m| m.contains(peer)))
            .count()
    };
    assert_eq!(about(&ids[1]), 4, "two alerts and two recoveries in order");

    // A record older than the last recorded change: kept as late, out of PeerState, silent.
    let mark = now_ms();
    stack.sim.set_peer(&ids[0], json!({"bfdStatus": "down"}));
    tokio::time::sleep(Duration::from_millis(30)).await;
    stack.sim.set_peer(&ids[0], json!({"bfdStatus": "up"}));
    let bfd = sessions_only(records_of(&stack.sim, mark, &ids[0]));
    assert_eq!(bfd.len(), 2, "{bfd:#?}");
    lambda
        .invoke_payload("the newer half", &awslogs::payload(&bfd[1..]))
        .await
        .answer();
    let before = state_items(&stack).await;
    let older = lambda
        .invoke_payload("the older half", &awslogs::payload(&bfd[..1]))
        .await
        .answer();
    assert_eq!(
        (
            older["lateRecorded"].clone(),
            older["changesRecorded"].clone()
        ),
        (json!(1), json!(0)),
        "{older}"
    );
    assert_eq!(state_items(&stack).await, before, "PeerState is untouched");
    let kept: Vec<Item> = of_peer(&stack.history().await, &ids[0])
        .into_iter()
        .filter(late)
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(s(&kept[0], "ObservedAt"), rfc3339(ms(&bfd[0])));
    assert_eq!(
        (
            s(&kept[0], "Source"),
            s(&kept[0], "BfdStatusTo"),
            s(&kept[0], "NotificationState")
        ),
        ("log".into(), "down".into(), "not-required".into())
    );
    assert!(
        stack.deliveries().await.is_empty(),
        "a late record never alerts"
    );

    // Malformed payloads: a clear error, or a counted skip; nothing written either way.
    let history = stack.history().await;
    let states = state_items(&stack).await;
    let rejected = [
        (
            json!({"awslogs": {"data": "%%% not base64 %%%"}}),
            "InvalidLogsPayload",
            "not base64",
        ),
        (
            awslogs::not_gzip(b"plain text"),
            "InvalidLogsPayload",
            "not gzip",
        ),
        (
            awslogs::packed(b"this is not json"),
            "InvalidLogsPayload",
            "subscription's JSON",
        ),
        (
            json!({"awslogs": 5}),
            "InvalidPayload",
            "awslogs must be an object with data",
        ),
    ];
    for (payload, error_type, needle) in rejected {
        lambda
            .invoke_payload(needle, &payload)
            .await
            .assert_error(error_type, needle);
    }
    let mut unknown = bfd[0].clone();
    unknown["type"] = json!("OSPFStatus");
    let mut not_a_peer = bfd[0].clone();
    not_a_peer["resource_arn"] =
        json!("arn:aws:ec2:us-east-1:123456789012:route-server/rs-0123456789abcdef0");
    let skipped = lambda
        .invoke_payload("bad records", &awslogs::payload(&[unknown, not_a_peer]))
        .await
        .answer();
    assert_eq!(
        (
            skipped["recordsReceived"].clone(),
            skipped["recordsSkipped"].clone()
        ),
        (json!(2), json!(2)),
        "{skipped}"
    );
    assert_eq!(stack.history().await, history);
    assert_eq!(state_items(&stack).await, states);
    let stderr = lambda.poller.stderr() + &lambda.poller.stdout();
    assert!(
        stderr.contains("OSPFStatus") && stderr.contains("is not a route server peer's ARN"),
        "each skip is logged with why"
    );
}

/// A log record whose write loses a race is read again and applied against the newer
/// state: to DynamoDB's `TransactionConflict` (injected: moto never answers it), to another
/// batch, and to the poll.
#[tokio::test(flavor = "multi_thread")]
async fn a_log_record_that_loses_its_write_is_applied_against_the_newer_state() {
    let stack = Stack::new().await;
    let proxy = Emulator::fault_proxy(&project_python(), moto().endpoint())
        .unwrap_or_else(|e| panic!("starting the fault proxy: {e}"));
    let px = proxy.endpoint();
    let arm = |fault: Value| {
        let body = ureq::post(format!("{px}/_proxy/faults"))
            .send_json(&fault)
            .expect("arming a fault");
        assert_eq!(body.status(), 200);
    };
    let proxied = Stack::poller_with(
        &stack.sim,
        px,
        moto().endpoint(),
        &Recorder::default(),
        stack.config.clone(),
    );
    let ids = stack.sim.fleet(1, 3);
    stack.cycle().await;
    let batch = |records: &[Value]| {
        Batch::parse(
            records
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
    };

    // TransactionConflict twice (another transaction held the item; nothing says it recorded
    // anything): the same write is tried again, and goes through: recorded once.
    let mark = now_ms();
    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    let down = sessions_only(records_of(&stack.sim, mark, &ids[0]));
    arm(json!({"operation": "TransactWriteItems", "kind": "conflict", "count": 2}));
    let summary = proxied.consume(batch(&down), None).await.expect("recorded");
    assert_eq!(
        (summary.changes_recorded, summary.races_retried),
        (1, 0),
        "{summary:?}"
    );
    let stats: Value = ureq::get(format!("{px}/_proxy/stats"))
        .call()
        .expect("stats")
        .body_mut()
        .read_json()
        .expect("json");
    assert_eq!(stats["injected"]["conflict"], 2, "{stats}");
    let logged: Vec<Item> = of_peer(&stack.history().await, &ids[0])
        .into_iter()
        .filter(|i| s(i, "Source") == "log")
        .collect();
    assert_eq!(logged.len(), 1);
    assert_eq!(s(&logged[0], "ObservedAt"), rfc3339(ms(&down[0])));

    // Another batch writes first: the newer record is applied after it, not thrown away.
    let mark = now_ms();
    stack.sim.set_peer(&ids[2], json!({"bfdStatus": "down"}));
    tokio::time::sleep(Duration::from_millis(30)).await;
    stack.sim.set_peer(&ids[2], json!({"bgpStatus": "down"}));
    let two = sessions_only(records_of(&stack.sim, mark, &ids[2]));
    assert_eq!(two.len(), 2, "{two:#?}");
    arm(json!({"operation": "TransactWriteItems", "kind": "delay", "delayMs": 1500, "count": 1}));
    let (newer, older) = futures::join!(proxied.consume(batch(&two[1..]), None), async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stack.poller.consume(batch(&two[..1]), None).await
    });
    let (newer, older) = (newer.expect("newer batch"), older.expect("older batch"));
    assert_eq!(older.changes_recorded, 1, "{older:?}");
    assert_eq!(
        (newer.changes_recorded, newer.races_retried),
        (1, 1),
        "{newer:?}"
    );
    let rows: Vec<(String, String, String)> = of_peer(&stack.history().await, &ids[2])
        .iter()
        .filter(|i| s(i, "Source") == "log")
        .map(|i| (s(i, "ObservedAt"), s(i, "BfdStatusTo"), s(i, "BgpStatusTo")))
        .collect();
    let mut rows = rows;
    rows.sort();
    assert_eq!(
        rows,
        [
            (rfc3339(ms(&two[0])), "down".into(), String::new()),
            (rfc3339(ms(&two[1])), String::new(), "down".into()),
        ]
    );

    // The poll writes first and sees the same change: the record finds it reflected.
    let mark = now_ms();
    stack.sim.set_peer(&ids[1], json!({"bgpStatus": "down"}));
    let third = sessions_only(records_of(&stack.sim, mark, &ids[1]));
    arm(json!({"operation": "TransactWriteItems", "kind": "delay", "delayMs": 1500, "count": 1}));
    let (logged, polled) = futures::join!(proxied.consume(batch(&third), None), async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        stack.cycle().await
    });
    let logged = logged.expect("the batch");
    assert_eq!(polled.transitions_recorded, 1, "{polled:?}");
    assert_eq!(
        (
            logged.races_retried,
            logged.records_reflected,
            logged.changes_recorded
        ),
        (1, 1, 0),
        "{logged:?}"
    );
    let downs = of_peer(&stack.history().await, &ids[1])
        .iter()
        .filter(|i| s(i, "BgpStatusTo") == "down")
        .count();
    assert_eq!(downs, 1, "one change, one record");
}

/// `peerwatch logging import`: a delivery's file (gzip JSON lines, as S3 holds them) recorded
/// through the consumer's code, once; again from standard input, nothing.
#[tokio::test(flavor = "multi_thread")]
async fn logging_import_backfills_a_delivery_file_once() {
    let stack = Stack::new().await;
    let [id]: [String; 1] = stack.sim.fleet(1, 1).try_into().expect("one peer");
    stack.cycle().await;
    let mark = now_ms();
    stack.sim.set_peer(&id, json!({"bgpStatus": "down"}));
    tokio::time::sleep(Duration::from_millis(30)).await;
    stack.sim.set_peer(&id, json!({"bgpStatus": "up"}));
    let records = sessions_only(records_of(&stack.sim, mark, &id));
    assert_eq!(records.len(), 2);
    let mut lines: String = records.iter().map(|r| format!("{r}\n")).collect();
    lines.push_str("{\"truncated\": \n");
    let path = std::env::temp_dir().join(format!(
        "{}.log.gz",
        peerwatch_testkit::emulators::unique_name("peer-logs")
    ));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, lines.as_bytes()).expect("gzip");
    std::fs::write(&path, gz.finish().expect("gzip")).expect("write the file");

    let peerwatch = crate::helpers::workspace_bin("peerwatch");
    let run = |file: &str, stdin: Option<&str>| {
        let mut cmd = crate::helpers::user_command(&peerwatch, Some(&stack));
        cmd.args(["logging", "import", file, "--output", "json"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("peerwatch runs");
        if let Some(text) = stdin {
            std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), text.as_bytes())
                .expect("feeding stdin");
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("peerwatch runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        (summary, stderr)
    };
    let (first, stderr) = run(path.to_str().expect("utf-8 path"), None);
    assert_eq!(
        (
            first["changesRecorded"].clone(),
            first["recordsSkipped"].clone()
        ),
        (json!(2), json!(1)),
        "{first}"
    );
    assert!(stderr.contains("line 3 skipped"), "{stderr}");
    let logged: Vec<String> = of_peer(&stack.history().await, &id)
        .iter()
        .filter(|i| s(i, "Source") == "log")
        .map(|i| s(i, "ObservedAt"))
        .collect();
    assert_eq!(logged, [rfc3339(ms(&records[0])), rfc3339(ms(&records[1]))]);
    assert_eq!(stack.deliveries().await.len(), 2, "alerted and recovered");
    let history = stack.history().await;
    let (again, _) = run("-", Some(&lines));
    assert_eq!(again["changesRecorded"], 0, "{again}");
    assert_eq!(stack.history().await, history);
    let _ = std::fs::remove_file(&path);
}

/// `RouteStatus` records: kept in the peer's route history (`routes#<rsp-id>`) once, never
/// alerted; a batch delivered again keeps nothing.
#[tokio::test(flavor = "multi_thread")]
async fn route_records_are_kept_in_the_peers_route_history_once() {
    let stack = Stack::new().await;
    let [id]: [String; 1] = stack.sim.fleet(1, 1).try_into().expect("one peer");
    stack.cycle().await;
    stack.deliveries().await;
    let mark = now_ms();
    let set = |routes: Value| {
        let (status, body) = stack.sim.control(
            "POST",
            &format!("/_sim/peers/{id}/routes"),
            Some(&json!({ "routes": routes }).to_string()),
        );
        assert_eq!(status, 200, "{body}");
    };
    set(
        json!([{"prefix": "10.1.0.0/16", "asPaths": [65001]}, {"prefix": "10.2.0.0/16", "asPaths": [65001]}]),
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    set(json!([{"prefix": "10.1.0.0/16", "asPaths": [65001, 65002], "med": 5}]));
    let records: Vec<Value> = records_of(&stack.sim, mark, &id)
        .into_iter()
        .filter(|r| r["type"] == "RouteStatus")
        .collect();
    let statuses: Vec<&str> = records
        .iter()
        .filter_map(|r| r["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["ADVERTISED", "ADVERTISED", "UPDATED", "WITHDRAWN"]
    );
    let batch = |rs: &[Value]| {
        Batch::parse(
            rs.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )
    };
    let first = stack
        .poller
        .consume(batch(&records), None)
        .await
        .expect("kept");
    assert_eq!(
        (first.route_records, first.changes_recorded),
        (4, 0),
        "{first:?}"
    );
    let again = stack
        .poller
        .consume(batch(&records), None)
        .await
        .expect("kept");
    assert_eq!(again.route_records, 0, "{again:?}");
    let kept: Vec<Item> = stack
        .routing_history()
        .await
        .into_iter()
        .filter(|i| s(i, "RouteServerPeerId") == format!("routes#{id}"))
        .collect();
    assert_eq!(kept.len(), 2, "one item per instant: {kept:#?}");
    let listed: Vec<(String, String)> = kept
        .iter()
        .flat_map(|i| i["Routes"].as_l().expect("Routes").clone())
        .map(|r| {
            let r = r.as_m().expect("a route").clone();
            (s(&r, "Status"), s(&r, "Prefix"))
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("advertised".into(), "10.1.0.0/16".into()),
            ("advertised".into(), "10.2.0.0/16".into()),
            ("updated".into(), "10.1.0.0/16".into()),
            ("withdrawn".into(), "10.2.0.0/16".into()),
        ]
    );
    assert!(kept.iter().all(|i| s(i, "Source") == "log"
        && s(i, "Event") == "peer.routes-logged"
        && s(i, "NotificationState") == "not-required"));
    assert!(
        stack.deliveries().await.is_empty(),
        "never alerted on their own"
    );
}
