//! `peerwatch routes`, `history --prefix`, the fabric rows of `history --peer` and the route
//! counts and endpoints of `status`, on records and transitions written as the poller writes
//! them (the store's own item mappings), the binary driven as a user drives it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_aws::store::{fabric_record_to_item, record_to_item};
use peerwatch_core::fabric::{
    Detail, EndpointSnapshot, FabricRecord, FabricTransition, FibRoute, NextHop,
    PeerRoutesSnapshot, RouteServerSnapshot, RouteSnapshot, RouteTableInstall, Subject,
};
use peerwatch_core::model::{
    Event, Field, FieldChange, Health, NotificationState, Severity, Timestamp, Transition,
    TransitionKind,
};
use peerwatch_testkit::fixtures::peer_record;
use serde_json::{Value, json};

use crate::helpers::{Stack, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

const RS_A: &str = "rs-0a0000000000000a1";
const RS_B: &str = "rs-0b0000000000000b1";
const A1: &str = "rsp-0a0000000000000a1";
const A2: &str = "rsp-0a0000000000000a2";
const B1: &str = "rsp-0b0000000000000b1";

const T1: &str = "2026-11-20T10:00:00.000Z";
const T2: &str = "2026-11-20T11:00:00.000Z";
const T3: &str = "2026-11-20T12:00:00.000Z";
const WINDOW: [&str; 4] = [
    "--since",
    "2026-11-20T00:00:00Z",
    "--until",
    "2026-11-21T00:00:00Z",
];

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

fn peerwatch(stack: &Stack, args: &[&str]) -> Run {
    let out = user_command(PEERWATCH.as_str(), Some(stack))
        .args(args)
        .output()
        .expect("peerwatch runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn record(subject: Subject, present: bool) -> FabricRecord {
    FabricRecord {
        health: peerwatch_core::fabric::detect::health(&subject),
        subject,
        first_seen_at: t(T1),
        last_changed_at: t(T2),
        present,
        version: 1,
        open_alert: None,
        alerting: Default::default(),
    }
}

fn fib(peer: &str, hop: &str, tables: &[(&str, &str, Option<&str>)]) -> FibRoute {
    FibRoute {
        route_server_peer_id: peer.into(),
        route_server_endpoint_id: "rse-0a0000000000000a1".into(),
        next_hop_ip: hop.into(),
        as_paths: vec!["65001".into(), "65010".into()],
        med: Some(100),
        route_tables: tables
            .iter()
            .map(|(id, status, reason)| RouteTableInstall {
                route_table_id: id.to_string(),
                status: status.to_string(),
                reason: reason.map(str::to_string),
            })
            .collect(),
    }
}

fn route(rs: &str, prefix: &str, fib: Option<FibRoute>) -> Subject {
    Subject::Route(RouteSnapshot {
        route_server_id: rs.into(),
        vpc_id: if rs == RS_A { "vpc-0a1" } else { "vpc-0b1" }.into(),
        prefix: prefix.into(),
        fib,
    })
}

fn endpoint(id: &str, rs: &str, state: &str, reason: Option<&str>) -> Subject {
    Subject::Endpoint(EndpointSnapshot {
        route_server_endpoint_id: id.into(),
        route_server_id: rs.into(),
        vpc_id: "vpc-0a1".into(),
        subnet_id: "subnet-0a1".into(),
        eni_id: "eni-0a1".into(),
        eni_address: "10.0.0.4".into(),
        state: state.into(),
        failure_reason: reason.map(str::to_string),
        tags: Default::default(),
    })
}

fn advertised(peer: &str, rs: &str, n: u32) -> Subject {
    Subject::PeerRoutes(PeerRoutesSnapshot {
        route_server_peer_id: peer.into(),
        route_server_id: rs.into(),
        vpc_id: "vpc-0a1".into(),
        advertised: n,
    })
}

/// A route's recorded change, as the poller records it: from one next hop to another (either
/// side `None`: discovered or lost).
fn route_change(
    rs: &str,
    prefix: &str,
    at: &str,
    from: Option<(&str, &str)>,
    to: Option<(&str, &str)>,
    event: Event,
    version: u64,
) -> FabricTransition {
    let hop = |h: Option<(&str, &str)>| {
        h.map(|(p, ip)| NextHop {
            route_server_peer_id: p.into(),
            next_hop_ip: ip.into(),
        })
    };
    // The peer (`hop_ip` false) or the next hop's address of each side.
    let field = |f: Field, hop_ip: bool| {
        let pick = |h: (&str, &str)| if hop_ip { h.1 } else { h.0 }.to_string();
        FieldChange {
            field: f,
            from: from.map(pick),
            to: to.map(pick),
        }
    };
    let (kind, health_from) = if from.is_none() {
        (TransitionKind::Discovered, None)
    } else {
        (TransitionKind::Changed, Some(Health::Healthy))
    };
    let health_to = if to.is_some() {
        Health::Healthy
    } else {
        Health::Down
    };
    let subject = route(rs, prefix, to.map(|(p, ip)| fib(p, ip, &[])));
    FabricTransition {
        kind,
        observed_at: t(at),
        changes: vec![
            field(Field::RouteServerPeerId, false),
            field(Field::NextHopIp, true),
        ],
        health_from,
        health_to,
        severity: if to.is_none() {
            Severity::Critical
        } else {
            Severity::Info
        },
        event,
        notification: NotificationState::NotRequired,
        previous_observed_at: None,
        previous_duration_seconds: None,
        expected_version: None,
        detail: Detail {
            prefix: Some(prefix.into()),
            from: hop(from),
            to: hop(to),
            ..Default::default()
        },
        record: FabricRecord {
            version,
            last_changed_at: t(at),
            ..record(subject, true)
        },
    }
}

fn peer_discovered(peer: &str, rs: &str, at: &str) -> Transition {
    let rec = peer_record(peer, rs, Health::Healthy, "up", true, t(at).as_millis());
    Transition {
        kind: TransitionKind::Discovered,
        observed_at: t(at),
        source: peerwatch_core::model::Source::Poll,
        changes: vec![FieldChange {
            field: Field::State,
            from: None,
            to: Some("available".into()),
        }],
        health_from: None,
        health_to: Health::Healthy,
        severity: Severity::Info,
        event: Event::PeerDiscovered,
        notification: NotificationState::NotRequired,
        previous_observed_at: None,
        previous_duration_seconds: None,
        expected_version: None,
        record: rec,
    }
}

/// What the tables hold: three peers on two route servers, their FIBs, endpoints and
/// advertisements; a history of routes, of an advertisement and of the peers' discoveries.
async fn seed(stack: &Stack) {
    let store = stack.poller.store();
    let ddb = store.client();
    let put = |table: String, item: HashMap<String, AttributeValue>| async move {
        ddb.put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put item");
    };
    let state = || stack.config.peer_state_table.clone();
    let history = || stack.config.peer_transitions_table.clone();
    let at = t(T1).as_millis();
    for (peer, rs) in [(A1, RS_A), (A2, RS_A), (B1, RS_B)] {
        let item = record_to_item(&peer_record(peer, rs, Health::Healthy, "up", true, at));
        put(state(), item).await;
    }
    let tables = [
        ("rtb-0a1", "installed", None),
        ("rtb-0a2", "rejected", Some("a static route for the prefix")),
    ];
    let records = [
        record(
            Subject::RouteServer(RouteServerSnapshot {
                route_server_id: RS_A.into(),
                vpc_id: "vpc-0a1".into(),
                state: "available".into(),
                persist_routes_state: Some("disabled".into()),
                advertised: [(A1.to_string(), 2), (A2.to_string(), 1)].into(),
                ..Default::default()
            }),
            true,
        ),
        record(
            Subject::RouteServer(RouteServerSnapshot {
                route_server_id: RS_B.into(),
                vpc_id: "vpc-0b1".into(),
                state: "available".into(),
                persist_routes_state: Some("enabled".into()),
                persist_routes_duration: Some(2),
                are_routes_persisted: true,
                ..Default::default()
            }),
            true,
        ),
        record(
            route(RS_A, "10.0.0.0/16", Some(fib(A1, "10.0.1.5", &tables))),
            true,
        ),
        record(
            route(RS_A, "9.0.0.0/8", Some(fib(A2, "10.0.1.6", &[]))),
            true,
        ),
        record(route(RS_A, "10.1.0.0/16", None), true),
        // Not present: left out of `routes` and of the counts.
        record(
            route(RS_A, "172.16.0.0/12", Some(fib(A1, "10.0.1.5", &[]))),
            false,
        ),
        record(
            route(RS_B, "10.0.0.0/16", Some(fib(B1, "10.1.1.5", &[]))),
            true,
        ),
        record(
            endpoint("rse-0a0000000000000a2", RS_A, "failed", Some("ENI deleted")),
            true,
        ),
        record(
            endpoint("rse-0a0000000000000a1", RS_A, "available", None),
            true,
        ),
        record(advertised(A1, RS_A, 2), true),
        record(advertised(A2, RS_A, 1), true),
    ];
    for r in &records {
        put(state(), fabric_record_to_item(r)).await;
    }

    let changes = [
        route_change(
            RS_A,
            "10.0.0.0/16",
            T1,
            None,
            Some((A2, "10.0.1.6")),
            Event::RouteDiscovered,
            1,
        ),
        route_change(
            RS_A,
            "10.0.0.0/16",
            T2,
            Some((A2, "10.0.1.6")),
            Some((A1, "10.0.1.5")),
            Event::RouteFailover,
            2,
        ),
        route_change(
            RS_A,
            "10.1.0.0/16",
            T2,
            Some((A1, "10.0.1.5")),
            None,
            Event::RouteLost,
            2,
        ),
        route_change(
            RS_B,
            "10.0.0.0/16",
            T3,
            None,
            Some((B1, "10.1.1.5")),
            Event::RouteDiscovered,
            1,
        ),
    ];
    for c in &changes {
        put(history(), store.fabric_transition_item(c, None)).await;
    }
    let advertisement = FabricTransition {
        kind: TransitionKind::Discovered,
        observed_at: t(T1),
        changes: vec![FieldChange {
            field: Field::AdvertisedRoutes,
            from: None,
            to: Some("2".into()),
        }],
        health_from: None,
        health_to: Health::Healthy,
        severity: Severity::Info,
        event: Event::PeerRoutesDiscovered,
        notification: NotificationState::NotRequired,
        previous_observed_at: None,
        previous_duration_seconds: None,
        expected_version: None,
        detail: Detail {
            route_server_peer_id: Some(A1.into()),
            ..Default::default()
        },
        record: record(advertised(A1, RS_A, 2), true),
    };
    put(
        history(),
        store.fabric_transition_item(&advertisement, None),
    )
    .await;
    for (peer, rs) in [(A1, RS_A), (A2, RS_A), (B1, RS_B)] {
        let item = store.transition_item(&peer_discovered(peer, rs, T1), None);
        put(history(), item).await;
    }
}

/// (observedAt, key, event) of each row a history document lists, in its order.
fn listed(doc: &Value) -> Vec<(String, String, String)> {
    doc["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("observedAt"), s("routeServerPeerId"), s("event"))
        })
        .collect()
}

fn rows(want: &[(&str, String, &str)]) -> Vec<(String, String, String)> {
    want.iter()
        .map(|(at, key, event)| (at.to_string(), key.clone(), event.to_string()))
        .collect()
}

fn key(rs: &str, prefix: &str) -> String {
    format!("route#{rs}#{prefix}")
}

#[tokio::test(flavor = "multi_thread")]
async fn routes_prefix_history_and_status_read_the_recorded_fabric() {
    let stack = Stack::new().await;

    // Nothing recorded: exit 3, the table named; the JSON document still printed.
    let run = peerwatch(&stack, &["routes", "--output", "json"]);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert_eq!(run.json(), json!({"routeServers": []}));
    assert!(
        run.stderr.contains("no route server recorded")
            && run.stderr.contains(&stack.config.peer_state_table),
        "{}",
        run.stderr
    );

    seed(&stack).await;

    // routes: each route server's present FIB, by id, prefixes in address order.
    let run = peerwatch(&stack, &["routes", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let fib_a = json!([
        {
            "prefix": "9.0.0.0/8",
            "routeServerPeerId": A2,
            "nextHopIp": "10.0.1.6",
            "routeStatus": "in-fib",
            "asPaths": ["65001", "65010"],
            "med": 100,
            "routeTables": []
        },
        {
            "prefix": "10.0.0.0/16",
            "routeServerPeerId": A1,
            "nextHopIp": "10.0.1.5",
            "routeStatus": "in-fib",
            "asPaths": ["65001", "65010"],
            "med": 100,
            "routeTables": [
                {"routeTableId": "rtb-0a1", "status": "installed", "reason": null},
                {"routeTableId": "rtb-0a2", "status": "rejected", "reason": "a static route for the prefix"}
            ]
        },
        {
            "prefix": "10.1.0.0/16",
            "routeServerPeerId": null,
            "nextHopIp": null,
            "routeStatus": "lost",
            "asPaths": [],
            "med": null,
            "routeTables": []
        }
    ]);
    let server_b = json!({
        "routeServerId": RS_B,
        "areRoutesPersisted": true,
        "routes": [{
            "prefix": "10.0.0.0/16",
            "routeServerPeerId": B1,
            "nextHopIp": "10.1.1.5",
            "routeStatus": "in-fib",
            "asPaths": ["65001", "65010"],
            "med": 100,
            "routeTables": []
        }]
    });
    assert_eq!(
        run.json(),
        json!({"routeServers": [
            {"routeServerId": RS_A, "areRoutesPersisted": false, "routes": fib_a},
            server_b
        ]})
    );
    let run = peerwatch(
        &stack,
        &["routes", "--route-server", RS_B, "--output", "json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json(), json!({"routeServers": [server_b]}));
    let run = peerwatch(
        &stack,
        &["routes", "--route-server", "rs-0c0000000000000c1"],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains("--route-server rs-0c0000000000000c1"),
        "{}",
        run.stderr
    );

    // The table: a heading per route server, one line per prefix, lost ones marked.
    let run = peerwatch(&stack, &["routes"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let text = &run.stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with(&format!("Route server {RS_A} (vpc-0a1)"))
            && lines[0].contains("routes persisted: no"),
        "{text}"
    );
    assert!(
        [
            "PREFIX",
            "PEER",
            "NEXT HOP",
            "AS PATH",
            "MED",
            "ROUTE TABLES"
        ]
        .iter()
        .all(|h| lines[1].contains(h)),
        "{text}"
    );
    let row = |prefix: &str| {
        let found: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("{prefix} ")))
            .collect();
        found.first().map(|l| l.to_string()).unwrap_or_default()
    };
    assert!(lines[2].starts_with("9.0.0.0/8"), "{text}");
    let r = row("10.0.0.0/16");
    for want in [
        A1,
        "10.0.1.5",
        "65001 65010",
        "100",
        "rtb-0a1 installed, rtb-0a2 rejected (a static route for the prefix)",
    ] {
        assert!(r.contains(want), "{want} in {r}");
    }
    assert!(row("10.1.0.0/16").contains("LOST"), "{text}");
    assert!(!text.contains("172.16.0.0/12"), "{text}");
    assert!(
        text.contains(&format!("Route server {RS_B} (vpc-0b1)"))
            && text.contains("routes persisted: yes"),
        "{text}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("2 route servers: 3 routes in FIB, 1 lost"),
        "{text}"
    );

    // Bad input: exit 2, the flag named.
    for args in [
        &["routes", "--route-server", "vpc-0a1"][..],
        &[
            "history",
            "--prefix",
            "10.0.0.0/16",
            "--route-server",
            "rsp-1",
        ][..],
    ] {
        let run = peerwatch(&stack, args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("--route-server")
                && run.stderr.contains("is not a route server id"),
            "{args:?}: {}",
            run.stderr
        );
    }
    for (prefix, why) in [
        ("10.0.0.0", "is not an IPv4 CIDR"),
        ("10.0.0.0/40", "at most 32"),
        ("10.0.0.1/16", "the network is 10.0.0.0/16"),
        ("fe80::/10", "is not an IPv4 CIDR"),
    ] {
        let run = peerwatch(&stack, &["history", "--prefix", prefix]);
        assert_eq!(run.code, Some(2), "{prefix}: {}", run.stderr);
        assert!(
            run.stderr.contains("invalid --prefix") && run.stderr.contains(why),
            "{prefix}: {}",
            run.stderr
        );
    }
    let run = peerwatch(
        &stack,
        &["history", "--prefix", "10.0.0.0/16", "--peer", A1],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);

    // history --prefix: that prefix's route items on every route server that has it, newest
    // first; the other prefix's are not listed.
    let history = |extra: &[&str]| {
        let mut args = vec!["history", "--output", "json"];
        args.extend(WINDOW);
        args.extend(extra);
        let run = peerwatch(&stack, &args);
        // A full last page has a token whose next page is empty: exit 3, no row.
        let empty_next_page = extra.contains(&"--starting-token") && run.code == Some(3);
        assert!(
            run.code == Some(0) || empty_next_page,
            "{extra:?}: {}",
            run.stderr
        );
        let doc = run.json();
        if empty_next_page {
            assert_eq!(doc["count"], 0, "{doc}");
        }
        doc
    };
    let all = rows(&[
        (T3, key(RS_B, "10.0.0.0/16"), "route.discovered"),
        (T2, key(RS_A, "10.0.0.0/16"), "route.failover"),
        (T1, key(RS_A, "10.0.0.0/16"), "route.discovered"),
    ]);
    let doc = history(&["--prefix", "10.0.0.0/16"]);
    assert_eq!(listed(&doc), all);
    assert_eq!(doc["scope"], json!({"kind": "prefix", "id": "10.0.0.0/16"}));
    assert_eq!(doc["count"], 3);
    let failover = &doc["transitions"][1];
    assert_eq!(
        failover["changes"],
        json!([
            {"field": "RouteServerPeerId", "from": A2, "to": A1},
            {"field": "NextHopIp", "from": "10.0.1.6", "to": "10.0.1.5"}
        ])
    );
    assert_eq!(failover["routeServerId"], RS_A);
    let doc = history(&["--prefix", "10.0.0.0/16", "--route-server", RS_A]);
    assert_eq!(listed(&doc), all[1..]);
    assert_eq!(
        doc["scope"],
        json!({"kind": "prefix", "id": "10.0.0.0/16", "routeServerId": RS_A})
    );
    // Pages across route servers: each token continues exactly after the last row shown.
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    for _ in 0..4 {
        let mut extra = vec!["--prefix", "10.0.0.0/16", "--limit", "2"];
        if let Some(tok) = &token {
            extra.extend(["--starting-token", tok.as_str()]);
        }
        let doc = history(&extra);
        paged.extend(listed(&doc));
        match doc["nextToken"].as_str() {
            Some(tok) => token = Some(tok.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, all);
    // A prefix nobody has: exit 3, with a hint.
    let run = peerwatch(
        &stack,
        &[&["history", "--prefix", "192.168.0.0/24"][..], &WINDOW[..]].concat(),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no transitions of prefix 192.168.0.0/24"),
        "{}",
        run.stderr
    );
    // The table names the prefix in its last line.
    let run = peerwatch(
        &stack,
        &[&["history", "--prefix", "10.0.0.0/16"][..], &WINDOW[..]].concat(),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("route.failover")
            && run.stdout.contains(&format!("RouteServerPeerId {A2}→{A1}"))
            && run
                .stdout
                .trim_end()
                .lines()
                .last()
                .unwrap()
                .starts_with("3 transitions of prefix 10.0.0.0/16, newest first"),
        "{}",
        run.stdout
    );

    // history --peer: the peer's own rows, its advertisement's, and the routes whose next hop
    // it is or was; not the routes of other peers.
    let doc = history(&["--peer", A1]);
    assert_eq!(
        listed(&doc),
        rows(&[
            (T2, key(RS_A, "10.0.0.0/16"), "route.failover"),
            (T2, key(RS_A, "10.1.0.0/16"), "route.lost"),
            (T1, format!("routes#{A1}"), "peer.routes-discovered"),
            (T1, A1.to_string(), "peer.discovered"),
        ]),
        "{doc}"
    );
    assert_eq!(doc["scope"], json!({"kind": "peer", "id": A1}));
    let doc = history(&["--peer", A2]);
    assert_eq!(
        listed(&doc),
        rows(&[
            (T2, key(RS_A, "10.0.0.0/16"), "route.failover"),
            (T1, key(RS_A, "10.0.0.0/16"), "route.discovered"),
            (T1, A2.to_string(), "peer.discovered"),
        ]),
        "{doc}"
    );
    // Paged one row at a time, rows of one instant included.
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    for _ in 0..6 {
        let mut extra = vec!["--peer", A1, "--limit", "1"];
        if let Some(tok) = &token {
            extra.extend(["--starting-token", tok.as_str()]);
        }
        let doc = history(&extra);
        paged.extend(listed(&doc));
        match doc["nextToken"].as_str() {
            Some(tok) => token = Some(tok.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, listed(&history(&["--peer", A1])));

    // status: each peer's advertised and in-FIB counts, the endpoints after the peers.
    let run = peerwatch(&stack, &["status", "--output", "json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let doc = run.json();
    let counts: Vec<(String, Value, Value)> = doc["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["routeServerPeerId"].as_str().unwrap().to_string(),
                p["advertisedRoutes"].clone(),
                p["inFibRoutes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            (A1.to_string(), json!(2), json!(1)),
            (A2.to_string(), json!(1), json!(1)),
            // Its route server's record knows it advertises nothing.
            (B1.to_string(), json!(0), json!(1)),
        ]
    );
    assert_eq!(doc["peers"][0]["health"], "healthy", "{doc}");
    assert_eq!(doc["vanished"], json!([]));
    let endpoints: Vec<(Value, Value, Value, Value)> = doc["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| {
            (
                e["routeServerEndpointId"].clone(),
                e["state"].clone(),
                e["failureReason"].clone(),
                e["health"].clone(),
            )
        })
        .collect();
    assert_eq!(
        endpoints,
        [
            (
                json!("rse-0a0000000000000a1"),
                json!("available"),
                json!(null),
                json!("healthy")
            ),
            (
                json!("rse-0a0000000000000a2"),
                json!("failed"),
                json!("ENI deleted"),
                json!("down")
            ),
        ]
    );
    assert_eq!(doc["endpoints"][0]["routeServerId"], RS_A);
    // The filters apply to endpoints too.
    let run = peerwatch(
        &stack,
        &["status", "--route-server", RS_B, "--output", "json"],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.json().get("endpoints").is_none(), "{}", run.stdout);

    let run = peerwatch(&stack, &["status"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].contains("ADVERTISED") && lines[0].contains("IN FIB"),
        "{}",
        run.stdout
    );
    let columns = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let header = columns(lines[0]);
    let advertised_at = header.iter().position(|h| h == "ADVERTISED").unwrap();
    let b1 = columns(lines.iter().find(|l| l.contains(B1)).unwrap());
    // "ROUTE SERVER" and "IN FIB" are two words each in the header, one cell in a row; the
    // cells before ADVERTISED are one word each.
    assert_eq!(
        (&*b1[advertised_at], &*b1[advertised_at + 1]),
        ("0", "1"),
        "{}",
        run.stdout
    );
    let heading = lines
        .iter()
        .position(|l| l.starts_with("Route server endpoints"))
        .expect("an endpoint section");
    let failed = lines
        .iter()
        .position(|l| l.contains("rse-0a0000000000000a2"))
        .unwrap();
    assert!(failed > heading, "{}", run.stdout);
    assert!(
        lines[failed].contains("failed (ENI deleted)") && lines[failed].contains(RS_A),
        "{}",
        run.stdout
    );
    assert_eq!(lines.last().copied(), Some("3 peers: 3 healthy"));
}
