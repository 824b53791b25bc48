//! `peerwatch status` and `peerwatch history` on a history made by real poll cycles, with a
//! scripted clock so that windows and day partitions are exact; the binary driven as a user
//! drives it. Plus paging through 5,000 seeded transitions, counting the DynamoDB requests.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use peerwatch_aws::history::History;
use peerwatch_core::history::{HistoryQuery, HistoryRow, Scope};
use peerwatch_core::model::{
    Event, Field, FieldChange, Health, NotificationState, PeerRecord, PeerSnapshot, Severity,
    Timestamp, Transition, TransitionKind,
};
use peerwatch_testkit::recorder::Recorder;
use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, moto, sdk_config, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `peerwatch` as a user does, against the stack's tables and endpoints; `adjust` may
/// change the environment first.
fn peerwatch_with(
    stack: &Stack,
    args: &[&str],
    adjust: impl FnOnce(&mut std::process::Command),
) -> Run {
    let mut cmd = user_command(PEERWATCH.as_str(), Some(stack));
    cmd.args(args);
    adjust(&mut cmd);
    let out = cmd.output().expect("peerwatch runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn peerwatch(stack: &Stack, args: &[&str]) -> Run {
    peerwatch_with(stack, args, |_| {})
}

/// What the simulator says of each peer: (route server, VPC).
fn peers_of(stack: &Stack) -> HashMap<String, (String, String)> {
    stack
        .sim
        .peers()
        .into_iter()
        .map(|(id, p)| {
            let s = |k: &str| p[k].as_str().expect(k).to_string();
            (id, (s("routeServerId"), s("vpcId")))
        })
        .collect()
}

/// The fleet's peers as (route server, peer id), sorted: `[rs1's three, rs2's three]`, and the
/// two route servers and their VPCs.
struct Fleet {
    rs: [String; 2],
    vpc: [String; 2],
    /// Peers of `rs[0]`, then of `rs[1]`, each sorted by id.
    p: [String; 6],
}

fn fleet(stack: &Stack) -> Fleet {
    stack.sim.fleet(2, 3);
    let peers = peers_of(stack);
    let mut by_rs: Vec<(String, String, String)> = peers
        .iter()
        .map(|(id, (rs, vpc))| (rs.clone(), vpc.clone(), id.clone()))
        .collect();
    by_rs.sort();
    let (rs, vpc) = (
        [by_rs[0].0.clone(), by_rs[3].0.clone()],
        [by_rs[0].1.clone(), by_rs[3].1.clone()],
    );
    assert!(
        by_rs[..3].iter().all(|p| p.0 == rs[0]) && rs[0] != rs[1] && vpc[0] != vpc[1],
        "two route servers of three peers each, one VPC each: {by_rs:?}"
    );
    Fleet {
        rs,
        vpc,
        p: std::array::from_fn(|i| by_rs[i].2.clone()),
    }
}

fn owned(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("an array")
        .iter()
        .map(|p| {
            p["routeServerPeerId"]
                .as_str()
                .expect("peer id")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_every_peer_worst_first_and_filters_exactly() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at("2026-11-20T10:00:00Z");
    stack.poller.set_clock(clock.clock());

    // Nothing recorded yet: exit 3, the table named; JSON mode still prints its document.
    let run = peerwatch(&stack, &["status"]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains("no peers known")
            && run.stderr.contains(&stack.config.peer_state_table),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    let run = peerwatch(&stack, &["status", "--output", "json"]);
    assert_eq!(run.code, Some(3));
    assert_eq!(run.json(), json!({"peers": [], "vanished": []}));

    let f = fleet(&stack);
    let [a, b, c, d, e, g] = f.p.clone();
    assert_eq!(stack.cycle().await.transitions_recorded, 6);
    clock.set("2026-11-20T10:10:00Z");
    stack.sim.set_peer(&a, json!({"bgpStatus": "down"}));
    stack.sim.set_peer(
        &b,
        json!({"state": "failing", "failureReason": "BGP hold timer expired"}),
    );
    stack.sim.set_peer(&d, json!({"state": "deleting"}));
    let (s, body) = stack
        .sim
        .control("POST", &format!("/_sim/peers/{e}/vanish"), None);
    assert_eq!(s, 200, "{body}");
    assert_eq!(stack.cycle().await.transitions_recorded, 4);
    clock.set("2026-11-20T10:20:00Z");
    assert_eq!(stack.cycle().await.transitions_recorded, 0);

    let run = peerwatch(&stack, &["status", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc = run.json();
    // Worst first: down, degraded, transitional, then the healthy ones by route server, peer.
    let mut healthy = [(&f.rs[0], &c), (&f.rs[1], &g)];
    healthy.sort();
    let want = [&a, &b, &d, healthy[0].1, healthy[1].1];
    assert_eq!(ids(&doc["peers"]), owned(&want));
    assert_eq!(ids(&doc["vanished"]), owned(&[&e]));
    let by_id: HashMap<String, &Value> = doc["peers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(doc["vanished"].as_array().unwrap())
        .map(|p| (p["routeServerPeerId"].as_str().unwrap().to_string(), p))
        .collect();
    for (id, health, changed, present) in [
        (&a, "down", "2026-11-20T10:10:00.000Z", true),
        (&b, "degraded", "2026-11-20T10:10:00.000Z", true),
        (&c, "healthy", "2026-11-20T10:00:00.000Z", true),
        (&d, "transitional", "2026-11-20T10:10:00.000Z", true),
        (&e, "healthy", "2026-11-20T10:10:00.000Z", false),
        (&g, "healthy", "2026-11-20T10:00:00.000Z", true),
    ] {
        let p = by_id[id.as_str()];
        assert_eq!(
            (
                p["health"].as_str(),
                p["lastChangedAt"].as_str(),
                p["present"].as_bool()
            ),
            (Some(health), Some(changed), Some(present)),
            "{p}"
        );
    }
    // Each is the whole PeerState record in camelCase.
    let pb = by_id[b.as_str()];
    assert_eq!(pb["state"], "failing");
    assert_eq!(pb["failureReason"], "BGP hold timer expired");
    assert_eq!(pb["routeServerId"], f.rs[0].as_str());
    assert_eq!(pb["vpcId"], f.vpc[0].as_str());
    assert_eq!(pb["firstSeenAt"], "2026-11-20T10:00:00.000Z");
    assert_eq!(pb["version"], 2);
    for key in [
        "routeServerEndpointId",
        "subnetId",
        "peerAddress",
        "peerAsn",
        "peerLivenessDetection",
        "endpointEniId",
        "endpointEniAddress",
        "bgpStatus",
        "bfdStatus",
        "tags",
        "openAlert",
    ] {
        assert!(pb.get(key).is_some(), "{key} in {pb}");
    }

    // Filters: exactly the expected peers, in the same order, vanished ones apart.
    let rs0 = [&a, &b, &c];
    let rs1_present = [&d, &g];
    let both = format!("{},{}", f.rs[0], f.rs[1]);
    let cases: Vec<(Vec<&str>, Vec<&String>, Vec<&String>)> = vec![
        (
            vec!["--route-server", f.rs[0].as_str()],
            rs0.to_vec(),
            vec![],
        ),
        (
            vec!["--route-server", f.rs[1].as_str()],
            rs1_present.to_vec(),
            vec![&e],
        ),
        (
            vec![
                "--route-server",
                f.rs[0].as_str(),
                "--route-server",
                f.rs[1].as_str(),
            ],
            want.to_vec(),
            vec![&e],
        ),
        (
            vec!["--route-server", both.as_str()],
            want.to_vec(),
            vec![&e],
        ),
        (vec!["--vpc", f.vpc[0].as_str()], rs0.to_vec(), vec![]),
        (
            vec!["--vpc", f.vpc[1].as_str()],
            rs1_present.to_vec(),
            vec![&e],
        ),
        (vec!["--health", "down,degraded"], vec![&a, &b], vec![]),
        (
            vec!["--health", "down", "--health", "transitional"],
            vec![&a, &d],
            vec![],
        ),
        // A vanished peer keeps the health it had when last seen.
        (
            vec!["--health", "healthy"],
            vec![healthy[0].1, healthy[1].1],
            vec![&e],
        ),
        (
            vec!["--health", "healthy", "--route-server", f.rs[0].as_str()],
            vec![&c],
            vec![],
        ),
    ];
    for (filter, peers, vanished) in cases {
        let mut args = vec!["status", "--output", "json"];
        args.extend(&filter);
        let run = peerwatch(&stack, &args);
        assert_eq!(run.code, Some(0), "{filter:?}: {}", run.stderr);
        let doc = run.json();
        assert_eq!(
            (ids(&doc["peers"]), ids(&doc["vanished"])),
            (owned(&peers), owned(&vanished)),
            "{filter:?}"
        );
    }

    // No match: exit 3, the JSON document still printed, the filter and table named.
    let run = peerwatch(
        &stack,
        &[
            "status",
            "--health",
            "down",
            "--vpc",
            f.vpc[1].as_str(),
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.json(), json!({"peers": [], "vanished": []}));
    assert!(
        run.stderr.contains("no peer matches")
            && run.stderr.contains("--health down")
            && run.stderr.contains("6 peers known")
            && run.stderr.contains(&stack.config.peer_state_table),
        "{}",
        run.stderr
    );
    let run = peerwatch(&stack, &["status", "--health", "sick"]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("--health"), "{}", run.stderr);

    // The table: one line per peer in the same order, the vanished apart, a count at the end;
    // not a terminal, so no colour.
    let run = peerwatch(&stack, &["status"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = &run.stdout;
    assert!(!text.contains('\u{1b}'), "no colour into a pipe: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        [
            "HEALTH",
            "STATE",
            "BGP",
            "BFD",
            "PEER",
            "ADDRESS",
            "ASN",
            "ROUTE SERVER",
            "SINCE"
        ]
        .iter()
        .all(|h| lines[0].contains(h)),
        "{text}"
    );
    let line_of = |id: &str| {
        let found: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(id))
            .collect();
        assert_eq!(found.len(), 1, "{id} on one line: {text}");
        found[0]
    };
    let order: Vec<usize> = want.iter().map(|id| line_of(id)).collect();
    assert_eq!(order, (1..=5).collect::<Vec<_>>(), "{text}");
    let vanished_heading = lines
        .iter()
        .position(|l| l.starts_with("Vanished"))
        .expect("a vanished section");
    assert!(line_of(&e) > vanished_heading + 1, "{text}");
    let row_a = lines[line_of(&a)];
    for want in [
        "down",
        "available",
        &f.rs[0],
        "2026-11-20 10:10:00Z",
        " ago",
    ] {
        assert!(row_a.contains(want), "{want} in {row_a}");
    }
    assert!(
        lines[line_of(&b)].contains("failing (BGP hold timer expired)"),
        "{text}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("5 peers: 1 down, 1 degraded, 1 transitional, 2 healthy; 1 vanished"),
        "{text}"
    );
    let run = peerwatch(&stack, &["status", "--health", "down,degraded"]);
    let rows: Vec<&str> = run.stdout.lines().filter(|l| l.contains("rsp-")).collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[0].contains(&a) && rows[1].contains(&b),
        "{}",
        run.stdout
    );
}

/// (observedAt, peer, event) of each transition a JSON document lists, in its order.
fn listed(doc: &Value) -> Vec<(String, String, String)> {
    doc["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("observedAt"), s("routeServerPeerId"), s("event"))
        })
        .collect()
}

/// Checks a listing against the expected rows: newest first, each exactly once. Rows of one
/// poll cycle share their `ObservedAt`; their order among themselves is DynamoDB's.
fn assert_rows(got: &[(String, String, String)], want: &[(&str, &String, &str)], what: &str) {
    let times: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(times, sorted, "{what}: newest first");
    let mut want: Vec<(String, String, String)> = want
        .iter()
        .map(|(t, p, e)| (t.to_string(), p.to_string(), e.to_string()))
        .collect();
    let mut got = got.to_vec();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_lists_exactly_the_window_by_peer_route_server_and_fleet() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at("2026-11-20T10:00:00Z");
    stack.poller.set_clock(clock.clock());
    let f = fleet(&stack);
    let [a, b, c, d, e, g] = f.p.clone();

    // A history over three UTC days (three ByDay partitions), steady cycles in between.
    const T0: &str = "2026-11-20T10:00:00.000Z";
    const T1: &str = "2026-11-20T23:50:00.000Z";
    const T2: &str = "2026-11-21T00:10:00.000Z";
    const T3: &str = "2026-11-21T12:00:00.000Z";
    const T4: &str = "2026-11-22T08:00:00.000Z";
    const T5: &str = "2026-11-22T08:10:00.000Z";
    let cycle = |at: &'static str, recorded: usize| {
        clock.set(at);
        let stack = &stack;
        async move {
            assert_eq!(stack.cycle().await.transitions_recorded, recorded, "{at}");
        }
    };
    cycle(T0, 6).await;
    cycle("2026-11-20T10:10:00Z", 0).await;
    stack.sim.set_peer(&a, json!({"bgpStatus": "down"}));
    cycle(T1, 1).await;
    stack.sim.set_peer(&a, json!({"bgpStatus": "up"}));
    cycle(T2, 1).await;
    stack.sim.set_peer(
        &d,
        json!({"state": "failing", "failureReason": "BGP hold timer expired"}),
    );
    cycle(T3, 1).await;
    cycle("2026-11-21T12:10:00Z", 0).await;
    stack
        .sim
        .set_peer(&d, json!({"state": "available", "failureReason": null}));
    stack.sim.set_peer(&b, json!({"state": "failed"}));
    cycle(T4, 2).await;
    let (s, body) = stack
        .sim
        .control("POST", &format!("/_sim/peers/{g}/vanish"), None);
    assert_eq!(s, 200, "{body}");
    cycle(T5, 1).await;

    let all: Vec<(&str, &String, &str)> = vec![
        (T5, &g, "peer.vanished"),
        (T4, &b, "peer.failed"),
        (T4, &d, "peer.recovered"),
        (T3, &d, "peer.failing"),
        (T2, &a, "bgp.up"),
        (T1, &a, "bgp.down"),
        (T0, &a, "peer.discovered"),
        (T0, &b, "peer.discovered"),
        (T0, &c, "peer.discovered"),
        (T0, &d, "peer.discovered"),
        (T0, &e, "peer.discovered"),
        (T0, &g, "peer.discovered"),
    ];
    let window = [
        "--since",
        "2026-11-20T00:00:00Z",
        "--until",
        "2026-11-23T00:00:00Z",
    ];
    let json_run = |extra: &[&str]| {
        let mut args = vec!["history", "--output", "json"];
        args.extend(extra);
        let run = peerwatch(&stack, &args);
        assert_eq!(run.code, Some(0), "{extra:?}: {}", run.stderr);
        run.json()
    };
    let with_window = |extra: &[&str]| {
        let mut args = window.to_vec();
        args.extend(extra);
        json_run(&args)
    };
    let pick = |pred: &dyn Fn(&(&str, &String, &str)) -> bool| -> Vec<(&str, &String, &str)> {
        all.iter().filter(|r| pred(r)).cloned().collect()
    };

    // The fleet, through ByDay: all three days.
    let doc = with_window(&[]);
    assert_rows(&listed(&doc), &all, "fleet");
    assert_eq!(doc["count"], 12);
    assert_eq!(doc["scope"], json!({"kind": "fleet"}));
    assert_eq!(
        (doc["since"].as_str(), doc["until"].as_str()),
        (
            Some("2026-11-20T00:00:00.000Z"),
            Some("2026-11-23T00:00:00.000Z")
        )
    );
    assert_eq!(
        (doc["limit"].clone(), doc["nextToken"].clone()),
        (json!(null), json!(null))
    );

    // One peer: the table's own key, in exact order.
    let doc = with_window(&["--peer", a.as_str()]);
    assert_eq!(
        listed(&doc),
        [
            (T2.to_string(), a.clone(), "bgp.up".to_string()),
            (T1.to_string(), a.clone(), "bgp.down".to_string()),
            (T0.to_string(), a.clone(), "peer.discovered".to_string()),
        ]
    );
    assert_eq!(doc["scope"], json!({"kind": "peer", "id": a}));
    let row = &doc["transitions"][1];
    assert_eq!(
        (
            &row["kind"],
            &row["severity"],
            &row["healthFrom"],
            &row["healthTo"],
            &row["notificationState"],
            &row["routeServerId"],
            &row["previousObservedAt"],
            &row["version"]
        ),
        (
            &json!("changed"),
            &json!("critical"),
            &json!("healthy"),
            &json!("down"),
            &json!("sent"),
            &json!(f.rs[0]),
            &json!(T0),
            &json!(2)
        )
    );
    assert_eq!(
        row["changes"],
        json!([{"field": "BgpStatus", "from": "up", "to": "down"}])
    );

    // One route server, through ByRouteServer.
    let doc = with_window(&["--route-server", f.rs[1].as_str()]);
    assert_rows(
        &listed(&doc),
        &pick(&|r| [&d, &e, &g].contains(&r.1)),
        "route server 2",
    );
    assert_eq!(doc["scope"], json!({"kind": "routeServer", "id": f.rs[1]}));
    let doc = with_window(&["--route-server", f.rs[0].as_str()]);
    assert_rows(
        &listed(&doc),
        &pick(&|r| [&a, &b, &c].contains(&r.1)),
        "route server 1",
    );

    // Both ends are included, and the window crosses midnight (two ByDay partitions).
    let doc = json_run(&["--since", T1, "--until", T3]);
    assert_eq!(
        listed(&doc),
        [
            (T3.to_string(), d.clone(), "peer.failing".to_string()),
            (T2.to_string(), a.clone(), "bgp.up".to_string()),
            (T1.to_string(), a.clone(), "bgp.down".to_string()),
        ]
    );
    let doc = json_run(&[
        "--since",
        "2026-11-21T12:00:00.001Z",
        "--until",
        "2026-11-22T08:09:59.999Z",
    ]);
    assert_rows(
        &listed(&doc),
        &pick(&|r| r.0 == T4),
        "one millisecond inside",
    );
    let doc = json_run(&[
        "--since",
        "2026-11-20T10:00:00.001Z",
        "--until",
        "2026-11-21T00:10:00Z",
        "--route-server",
        f.rs[0].as_str(),
    ]);
    assert_eq!(listed(&doc).len(), 2, "{doc}");
    // A bare day is midnight UTC.
    let doc = json_run(&["--since", "2026-11-22", "--until", "2026-11-23"]);
    assert_rows(&listed(&doc), &pick(&|r| r.0 >= T4), "a day");

    // Pages: --limit gives the newest rows and a token; the token continues exactly after
    // them, across rows of one cycle and across days, until the listing is whole.
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut extra = vec!["--limit", "5"];
        if let Some(t) = &token {
            extra.extend(["--starting-token", t.as_str()]);
        }
        let doc = with_window(&extra);
        let page = listed(&doc);
        assert!(page.len() <= 5);
        assert_eq!(doc["count"], page.len());
        pages.push(page);
        match doc["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
        assert!(pages.len() < 5, "paging ends");
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 5, 2],
        "{pages:?}"
    );
    let whole: Vec<_> = pages.concat();
    assert_eq!(
        whole,
        listed(&with_window(&[])),
        "pages add up to the listing"
    );
    let doc = with_window(&["--peer", a.as_str(), "--limit", "2"]);
    assert_eq!(
        listed(&doc)
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        [T2, T1]
    );
    let doc = with_window(&[
        "--peer",
        a.as_str(),
        "--limit",
        "2",
        "--starting-token",
        doc["nextToken"].as_str().expect("a token"),
    ]);
    assert_eq!(
        listed(&doc)
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>(),
        [T0]
    );
    assert_eq!(doc["nextToken"], json!(null));

    // The table: one line per transition, newest first, with what changed.
    let run = peerwatch(
        &stack,
        &[&["history", "--peer", a.as_str()][..], &window[..]].concat(),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        [
            "OBSERVED AT",
            "PEER",
            "ROUTE SERVER",
            "KIND",
            "EVENT",
            "SEVERITY",
            "CHANGES",
            "HEALTH",
            "NOTIFICATION"
        ]
        .iter()
        .all(|h| lines[0].contains(h)),
        "{}",
        run.stdout
    );
    let down = lines[2];
    for want in [
        "2026-11-20 23:50:00Z",
        " ago)",
        a.as_str(),
        f.rs[0].as_str(),
        "changed",
        "bgp.down",
        "critical",
        "BgpStatus up→down",
        "healthy→down",
        "sent",
    ] {
        assert!(down.contains(want), "{want} in {down}");
    }
    assert!(
        lines[1].contains("bgp.up") && lines[1].contains("recovery"),
        "{}",
        run.stdout
    );
    assert!(
        lines[3].contains("peer.discovered")
            && lines[3].contains("State available, BgpStatus up")
            && lines[3].contains("not-required"),
        "{}",
        run.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            format!(
                "3 transitions of peer {a}, newest first, from 2026-11-20 00:00:00Z to 2026-11-23 00:00:00Z"
            )
            .as_str()
        )
    );
    let run = peerwatch(&stack, &["history", "--since", T3, "--until", T4]);
    assert!(
        run.stdout.contains("State failing→available")
            && run
                .stdout
                .contains("State available→failing (BGP hold timer expired)"),
        "{}",
        run.stdout
    );

    // An empty window: exit 3 and one line naming the table and the window; JSON still printed.
    let empty = [
        "--since",
        "2026-11-23T00:00:00Z",
        "--until",
        "2026-11-24T00:00:00Z",
    ];
    let run = peerwatch(&stack, &[&["history"][..], &empty[..]].concat());
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    for want in [
        "no transitions in the fleet",
        "2026-11-23T00:00:00.000Z",
        "2026-11-24T00:00:00.000Z",
        stack.config.peer_transitions_table.as_str(),
    ] {
        assert!(run.stderr.contains(want), "{want} in {}", run.stderr);
    }
    let run = peerwatch(
        &stack,
        &[&["history", "--output", "json"][..], &empty[..]].concat(),
    );
    assert_eq!(run.code, Some(3));
    let doc = run.json();
    assert_eq!(
        (doc["count"].clone(), doc["transitions"].clone()),
        (json!(0), json!([]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_worded_for_the_operator_with_exit_codes_scripts_can_trust() {
    let stack = Stack::new().await;
    stack.sim.fleet(1, 2);
    stack.cycle().await;

    // A missing table: named, with the flag and the variable that set it; exit 1.
    let run = peerwatch(&stack, &["status", "--state-table", "NoSuchPeerState"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    for want in [
        "NoSuchPeerState",
        "does not exist",
        "us-east-1",
        "--state-table",
        "PEER_STATE_TABLE",
        "--region",
    ] {
        assert!(run.stderr.contains(want), "{want} in {}", run.stderr);
    }
    let run = peerwatch(&stack, &["history", "--transitions-table", "NoSuchHistory"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("NoSuchHistory")
            && run.stderr.contains("--transitions-table")
            && run.stderr.contains("PEER_TRANSITIONS_TABLE"),
        "{}",
        run.stderr
    );
    // The wrong region: the table is not there.
    let run = peerwatch(&stack, &["status", "--region", "eu-west-1"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&stack.config.peer_state_table)
            && run.stderr.contains("region eu-west-1"),
        "{}",
        run.stderr
    );

    // No credentials anywhere.
    for cmd in [&["status"][..], &["history"][..]] {
        let run = peerwatch_with(&stack, cmd, |c| {
            c.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        });
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(
            run.stderr.contains("no AWS credentials were found")
                && run.stderr.contains("AWS_PROFILE"),
            "{}",
            run.stderr
        );
    }
    // DynamoDB unreachable (nothing listens on the endpoint).
    let run = peerwatch_with(&stack, &["status"], |c| {
        c.env("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9");
    });
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("DynamoDB could not be reached in region us-east-1")
            && run.stderr.contains("http://127.0.0.1:9"),
        "{}",
        run.stderr
    );
    // No region at all: a setting, exit 2.
    let run = peerwatch_with(&stack, &["history"], |c| {
        c.env_remove("AWS_REGION");
    });
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("no AWS region"), "{}", run.stderr);

    // Bad arguments: exit 2, naming the argument, before any AWS call.
    for (args, want) in [
        (&["history", "--since", "yesterday"][..], "--since"),
        (&["history", "--until", "2026-11-20T10:00"][..], "--until"),
        (
            &["history", "--since", "1h", "--until", "2h"][..],
            "--since",
        ),
        (&["history", "--peer", "rs-0a1b2c3d4e5f60718"][..], "--peer"),
        (&["history", "--limit", "0"][..], "--limit"),
        (
            &["history", "--peer", "rsp-1", "--route-server", "rs-1"][..],
            "--route-server",
        ),
        (
            &["history", "--starting-token", "next"][..],
            "--starting-token",
        ),
    ] {
        let run = peerwatch(&stack, args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }

    // An empty history window: exit 3, one line.
    let run = peerwatch(&stack, &["history", "--since", "2h", "--until", "1h"]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(run.stderr.contains("no transitions"), "{}", run.stderr);

    // --help shows examples.
    for cmd in ["status", "history"] {
        let run = peerwatch(&stack, &[cmd, "--help"]);
        assert_eq!(run.code, Some(0));
        assert!(
            run.stdout.contains("Examples:") && run.stdout.contains(&format!("peerwatch {cmd} --")),
            "{}",
            run.stdout
        );
    }
}

// ---- paging through a large history ------------------------------------------------------

const SEEDED: usize = 5_000;
/// The most data one `Query` returns: DynamoDB's 1 MB, which moto counts as 1,000,000 bytes of
/// attribute names and values (a number by its digits).
const PAGE_BYTES: usize = 1_000_000;

/// An item's size as moto counts it for the 1 MB page limit.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
            AttributeValue::Bool(_) => 1,
            AttributeValue::M(m) => m.iter().map(|(k, v)| k.len() + value(v)).sum(),
            other => panic!("unexpected attribute {other:?}"),
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

/// How many `Query` pages a partition of items of these sizes (in query order) takes.
fn pages(sizes: impl IntoIterator<Item = usize>) -> usize {
    let (mut pages, mut used) = (0, 0);
    for s in sizes {
        if pages == 0 || used + s > PAGE_BYTES {
            pages += 1;
            used = 0;
        }
        used += s;
    }
    pages.max(1)
}

struct Seeded {
    /// (observedAt, peer, route server, size), in no particular order.
    rows: Vec<(Timestamp, String, String, usize)>,
    peers: Vec<String>,
    route_servers: Vec<String>,
}

/// 5,000 transitions as poll cycles would record them: 3,000 cycles over three days (500,
/// then 1,800, then 700 cycles a day), each recording a flap of one busy peer (`peers[0]`,
/// BGP down and up, with a failure reason), two cycles in three also one of nine others in
/// turn, at the same `ObservedAt`. Peers 0-5 are on route server 0, 6-8 on 1, 9 on 2. The busy
/// peer, route server 0 and the middle day each hold more than one 1 MB page.
async fn seed(stack: &Stack) -> Seeded {
    let peers: Vec<String> = (1..=10).map(|i| format!("rsp-{i:017x}")).collect();
    let route_servers: Vec<String> = (1..=3).map(|i| format!("rs-{:017x}", 0xa0 + i)).collect();
    let rs_of = |p: usize| match p {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    };
    let day_cycles: [(&str, i64); 3] = [
        ("2026-11-20T00:00:00Z", 500),
        ("2026-11-21T00:00:00Z", 1_800),
        ("2026-11-22T00:00:00Z", 700),
    ];
    let mut versions = [0u64; 10];
    let mut items = Vec::new();
    let mut rows = Vec::new();
    let (mut cycle, mut other) = (0usize, 0usize);
    for (day, n) in day_cycles {
        let start: Timestamp = day.parse().unwrap();
        for k in 0..n {
            let at = Timestamp::from_millis(start.as_millis() + k * 86_400_000 / n + 123).unwrap();
            let mut changed = vec![0];
            if cycle % 3 != 2 {
                changed.push(1 + other % 9);
                other += 1;
            }
            for p in changed {
                versions[p] += 1;
                let tr = flap(&peers[p], &route_servers[rs_of(p)], at, versions[p], p == 0);
                let item = stack.poller.store().transition_item(&tr, None);
                rows.push((
                    at,
                    peers[p].clone(),
                    route_servers[rs_of(p)].clone(),
                    item_size(&item),
                ));
                items.push(item);
            }
            cycle += 1;
        }
    }
    assert_eq!(items.len(), SEEDED);
    let ddb = dynamodb(&Recorder::default());
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        while !requests.is_empty() {
            let out = ddb
                .batch_write_item()
                .request_items(&stack.config.peer_transitions_table, requests)
                .send()
                .await
                .expect("batch write");
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&stack.config.peer_transitions_table))
                .unwrap_or_default();
        }
    }
    Seeded {
        rows,
        peers,
        route_servers,
    }
}

/// A DynamoDB client on moto whose requests `recorder` sees.
fn dynamodb(recorder: &Recorder) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config())
        .endpoint_url(moto().endpoint())
        .interceptor(recorder.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// One BGP flap of a peer: down on odd versions, up on even ones.
fn flap(peer: &str, rs: &str, at: Timestamp, version: u64, with_reason: bool) -> Transition {
    let down = version % 2 == 1;
    let (from, to) = if down { ("up", "down") } else { ("down", "up") };
    let (health_from, health_to) = if down {
        (Health::Healthy, Health::Down)
    } else {
        (Health::Down, Health::Healthy)
    };
    Transition {
        kind: TransitionKind::Changed,
        observed_at: at,
        source: peerwatch_core::model::Source::Poll,
        changes: vec![FieldChange {
            field: Field::BgpStatus,
            from: Some(from.into()),
            to: Some(to.into()),
        }],
        health_from: Some(health_from),
        health_to,
        severity: if down {
            Severity::Critical
        } else {
            Severity::Recovery
        },
        event: if down { Event::BgpDown } else { Event::BgpUp },
        notification: NotificationState::Sent,
        previous_observed_at: Some(at.plus_seconds(-60)),
        previous_duration_seconds: Some(60),
        expected_version: Some(version - 1),
        record: PeerRecord {
            peer: PeerSnapshot {
                route_server_peer_id: peer.into(),
                route_server_id: rs.into(),
                vpc_id: "vpc-0123456789abcdef0".into(),
                state: "available".into(),
                failure_reason: (with_reason && down)
                    .then(|| "BGP session closed: hold timer expired".into()),
                bgp_status: Some(to.into()),
                bfd_status: Some("up".into()),
                ..Default::default()
            },
            first_seen_at: "2026-11-19T00:00:00Z".parse().unwrap(),
            last_changed_at: at,
            present: true,
            version,
            health: health_to,
            sessions_changed_at: Default::default(),
            open_alert: None,
            alerting: Default::default(),
        },
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_5000_transitions_queries_only_what_it_needs_and_never_scans() {
    let stack = Stack::new().await;
    let seeded = seed(&stack).await;
    let recorder = Recorder::default();
    let history = History::new(dynamodb(&recorder), &stack.config.peer_transitions_table);
    let since: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let until: Timestamp = "2026-11-22T23:59:59.999Z".parse().unwrap();
    let day = |t: &Timestamp| t.day();

    // For each scope: the rows it holds, and the partitions they fall in (one per day for
    // the fleet), newest first as the Query reads them (ties in DynamoDB's order for the
    // index: by table key, descending).
    let scopes = [
        (Scope::Peer(seeded.peers[0].clone()), "peer"),
        (
            Scope::RouteServer(seeded.route_servers[0].clone()),
            "route server",
        ),
        (Scope::Fleet, "fleet"),
    ];
    for (scope, what) in scopes {
        let mut rows: Vec<&(Timestamp, String, String, usize)> = seeded
            .rows
            .iter()
            .filter(|r| match &scope {
                Scope::Peer(p) => &r.1 == p,
                Scope::RouteServer(rs) => &r.2 == rs,
                Scope::Fleet => true,
            })
            .collect();
        // Rows of one cycle share their ObservedAt; an index orders them by the table's key
        // (moto does so; DynamoDB keeps some fixed order), descending when reading backwards.
        rows.sort_by(|x, y| (y.0, &y.1).cmp(&(x.0, &x.1)));
        let mut partitions: Vec<Vec<usize>> = Vec::new();
        let mut last_day = None;
        for r in &rows {
            let d = match scope {
                Scope::Fleet => Some(day(&r.0)),
                _ => None,
            };
            if partitions.is_empty() || d != last_day {
                partitions.push(Vec::new());
                last_day = d;
            }
            partitions.last_mut().unwrap().push(r.3);
        }
        let bytes: usize = rows.iter().map(|r| r.3).sum();
        let expected_queries: usize = partitions.iter().map(|p| pages(p.iter().copied())).sum();

        // In full.
        recorder.take();
        let query = HistoryQuery {
            scope: scope.clone(),
            since,
            until,
            limit: None,
        };
        let got = history.transitions(&query).await.expect("history");
        let ops = recorder.operations();
        let queries = ops.iter().filter(|o| *o == "DynamoDB:Query").count();
        let partition_bytes: Vec<usize> = partitions.iter().map(|p| p.iter().sum()).collect();
        println!(
            "{what}: {} rows, {bytes} bytes in {} partition(s) {partition_bytes:?}: \
             {queries} Query requests, {} Scan (sum of ceil(partition bytes / 1 MB) = {})",
            rows.len(),
            partitions.len(),
            ops.iter().filter(|o| *o == "DynamoDB:Scan").count(),
            partition_bytes
                .iter()
                .map(|b| b.div_ceil(PAGE_BYTES))
                .sum::<usize>()
        );
        assert_eq!(got.len(), rows.len(), "{what}: every row");
        let keys: BTreeSet<(Timestamp, &str)> = got
            .iter()
            .map(|r| (r.observed_at, r.route_server_peer_id.as_str()))
            .collect();
        assert_eq!(keys.len(), got.len(), "{what}: each row exactly once");
        assert_eq!(
            got.iter()
                .map(|r| (r.observed_at, r.route_server_peer_id.clone()))
                .collect::<Vec<_>>(),
            rows.iter().map(|r| (r.0, r.1.clone())).collect::<Vec<_>>(),
            "{what}: newest first"
        );
        assert!(ops.iter().all(|o| o == "DynamoDB:Query"), "{what}: {ops:?}");
        assert_eq!(queries, expected_queries, "{what}: one Query per 1 MB page");
        match scope {
            Scope::Fleet => assert_eq!(partitions.len(), 3),
            _ => assert_eq!(queries, bytes.div_ceil(PAGE_BYTES), "{what}"),
        }

        // --limit 20: one Query, the 20 newest.
        recorder.take();
        let first = history
            .transitions(&HistoryQuery {
                limit: Some(20),
                ..query.clone()
            })
            .await
            .expect("history");
        assert_eq!(first, got[..20], "{what}: the 20 newest");
        assert_eq!(
            recorder.operations(),
            ["DynamoDB:Query"],
            "{what} --limit 20"
        );
    }

    // A fleet window whose newest day holds fewer rows than the limit reads on into the day
    // before: the first 5 minutes of 2026-11-22 (three cycles, 5 rows), then 15 rows from
    // 2026-11-21, in two Queries.
    recorder.take();
    let short: Timestamp = "2026-11-22T00:05:00Z".parse().unwrap();
    let on_last_day = seeded
        .rows
        .iter()
        .filter(|r| r.0.day() == "2026-11-22" && r.0 <= short)
        .count();
    assert_eq!(on_last_day, 5);
    let got = history
        .transitions(&HistoryQuery {
            scope: Scope::Fleet,
            since,
            until: short,
            limit: Some(20),
        })
        .await
        .expect("history");
    assert_eq!(got.len(), 20);
    assert_eq!(
        got.iter()
            .filter(|r| r.observed_at.day() == "2026-11-22")
            .count(),
        on_last_day
    );
    assert_eq!(recorder.operations(), ["DynamoDB:Query", "DynamoDB:Query"]);

    // The binary: --limit 20 and in full, as JSON, same rows in the same order.
    let window = [
        "history",
        "--output",
        "json",
        "--since",
        "2026-11-20T00:00:00Z",
        "--until",
        "2026-11-22T23:59:59.999Z",
    ];
    let full = history
        .transitions(&HistoryQuery {
            scope: Scope::Fleet,
            since,
            until,
            limit: None,
        })
        .await
        .expect("history");
    let as_listed = |rows: &[HistoryRow]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|r| {
                (
                    r.observed_at.to_string(),
                    r.route_server_peer_id.clone(),
                    r.event.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let run = peerwatch(&stack, &[&window[..], &["--limit", "20"][..]].concat());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["count"], 20);
    assert_eq!(listed(&doc), as_listed(&full[..20]));
    assert_eq!(
        doc["nextToken"].as_str(),
        Some(format!("{},{}", full[19].observed_at, full[19].route_server_peer_id).as_str())
    );
    let run = peerwatch(&stack, &window);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["count"], SEEDED);
    assert_eq!(listed(&doc), as_listed(&full));
    let run = peerwatch(
        &stack,
        &[&window[..], &["--peer", seeded.peers[9].as_str()][..]].concat(),
    );
    let per_peer = seeded
        .rows
        .iter()
        .filter(|r| r.1 == seeded.peers[9])
        .count();
    assert_eq!(run.json()["count"], per_peer);
}
