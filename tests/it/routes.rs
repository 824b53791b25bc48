//! Where traffic goes, through the emulators: one route server with persist-routes, two
//! endpoints, three peers, two propagated route tables, and a default route with a preferred
//! path and a backup. Each event is raised exactly when it should be and nothing else is;
//! every field of each event JSON is checked.

use std::collections::BTreeMap;

use peerwatch_aws::cycle::RunOptions;
use serde_json::{Value, json};

use crate::helpers::{Stack, moto, s};

const DEFAULT: &str = "0.0.0.0/0";
/// Advertised by peer A only: lost when A's session drops.
const ONLY_A: &str = "10.50.0.0/16";
/// Advertised by peer C only: rejected in one table, then withdrawn with C's session up.
const ONLY_C: &str = "10.60.0.0/16";

/// The world the scenario builds, as the simulator shows it.
struct World {
    rs: String,
    vpc: String,
    /// Peers A (preferred for the default route), B (its backup) and C.
    peers: [String; 3],
    address: BTreeMap<String, String>,
    endpoint_of: BTreeMap<String, String>,
    endpoints: Vec<String>,
    tables: Vec<String>,
    asn: BTreeMap<String, i64>,
}

impl World {
    fn build(stack: &Stack) -> World {
        let (status, fleet) = stack.sim.control(
            "POST",
            "/_sim/fleet",
            Some(
                &json!({"routeServers": 1, "peersPerRouteServer": 3, "seed": 42,
                "routesPerPeer": 1, "persistRoutes": true})
                .to_string(),
            ),
        );
        assert_eq!(status, 200, "{fleet}");
        let peers: Vec<String> =
            serde_json::from_value(fleet["routeServerPeerIds"].clone()).unwrap();
        let peers: [String; 3] = peers.try_into().unwrap();
        let rs = fleet["routeServerIds"][0].as_str().unwrap().to_string();
        let sim_peers = stack.sim.peers();
        let (_, servers) = stack.sim.control("GET", "/_sim/route-servers", None);
        let mut tables: Vec<String> = servers[0]["propagations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["routeTableId"].as_str().unwrap().to_string())
            .collect();
        tables.sort();
        assert_eq!(tables.len(), 2, "{servers}");
        let (_, endpoints) = stack.sim.control("GET", "/_sim/endpoints", None);
        let mut endpoints: Vec<String> = endpoints
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["routeServerEndpointId"].as_str().unwrap().to_string())
            .collect();
        endpoints.sort();
        let peer = |id: &String, field: &str| sim_peers[id][field].as_str().unwrap().to_string();
        let world = World {
            vpc: peer(&peers[0], "vpcId"),
            address: peers
                .iter()
                .map(|p| (p.clone(), peer(p, "peerAddress")))
                .collect(),
            endpoint_of: peers
                .iter()
                .map(|p| (p.clone(), peer(p, "routeServerEndpointId")))
                .collect(),
            asn: peers
                .iter()
                .map(|p| (p.clone(), sim_peers[p]["peerAsn"].as_i64().unwrap()))
                .collect(),
            rs,
            peers,
            endpoints,
            tables,
        };
        // A: the default route (shortest path) and a prefix of its own; B: the default route
        // with a longer AS path; C: a prefix of its own.
        let asn = |p: &String| sim_peers[p]["peerAsn"].as_i64().unwrap();
        let [a, b, c] = &world.peers;
        world.advertise(
            stack,
            a,
            json!([
            {"prefix": DEFAULT, "asPaths": [asn(a)], "med": 0},
            {"prefix": ONLY_A, "asPaths": [asn(a)], "med": 0}]),
        );
        world.advertise(
            stack,
            b,
            json!([{"prefix": DEFAULT, "asPaths": [asn(b), asn(b)], "med": 0}]),
        );
        world.advertise(
            stack,
            c,
            json!([{"prefix": ONLY_C, "asPaths": [asn(c)], "med": 10}]),
        );
        world
    }

    fn advertise(&self, stack: &Stack, peer: &str, routes: Value) {
        let (status, body) = stack.sim.control(
            "POST",
            &format!("/_sim/peers/{peer}/routes"),
            Some(&json!({ "routes": routes }).to_string()),
        );
        assert_eq!(status, 200, "{body}");
    }

    fn hop(&self, peer: &str) -> Value {
        json!({"routeServerPeerId": peer, "nextHopIp": self.address[peer]})
    }

    fn key(&self, prefix: &str) -> String {
        format!("route#{}#{prefix}", self.rs)
    }
}

/// The delivered messages' event JSON, by (event, key), each checked against its envelope.
fn delivered(deliveries: &[Value]) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for d in deliveries {
        let event: Value =
            serde_json::from_str(d["Message"].as_str().expect("Message")).expect("event JSON");
        let attrs = &d["MessageAttributes"];
        assert_eq!(attrs["event"]["Value"], event["event"]);
        assert_eq!(attrs["severity"]["Value"], event["severity"]);
        let subject = d["Subject"].as_str().unwrap();
        assert!(subject.len() < 100, "{subject}");
        assert!(
            subject.starts_with(&format!(
                "[{}]",
                event["severity"].as_str().unwrap().to_uppercase()
            )),
            "{subject}"
        );
        let key = event["key"]
            .as_str()
            .or(event["routeServerPeerId"].as_str())
            .unwrap()
            .to_string();
        let name = event["event"].as_str().unwrap().to_string();
        assert!(out.insert((name, key), event).is_none(), "delivered twice");
    }
    out
}

/// Every top-level field of a routing event JSON: `expected` gives the values; the times are
/// checked for their form, the record for what it is of.
fn check_event(got: &Value, expected: Value) {
    const FIELDS: [&str; 25] = [
        "schemaVersion",
        "event",
        "severity",
        "kind",
        "subject",
        "key",
        "routeServerId",
        "vpcId",
        "observedAt",
        "prefix",
        "from",
        "to",
        "routeTableId",
        "reason",
        "failureReason",
        "routeServerEndpointId",
        "routeServerPeerId",
        "routeTables",
        "prefixes",
        "changes",
        "health",
        "previousObservedAt",
        "previousDurationSeconds",
        "version",
        "record",
    ];
    let keys: Vec<&str> = got
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = FIELDS.to_vec();
    want.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, want, "{got}");
    assert_eq!(got["schemaVersion"], "1");
    assert!(got["observedAt"].as_str().unwrap().ends_with('Z'));
    if expected.get("previousObservedAt").is_none() {
        assert!(got["previousObservedAt"].as_str().unwrap().ends_with('Z'));
        assert!(got["previousDurationSeconds"].as_i64().unwrap() >= 0);
    }
    assert_eq!(got["record"]["subject"]["type"], got["subject"]);
    assert_eq!(got["record"]["version"], got["version"]);
    assert_eq!(got["record"]["present"], true);
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&got[field], value, "{field} of {got}");
    }
}

fn events(got: &BTreeMap<(String, String), Value>) -> Vec<(&str, &str)> {
    got.keys().map(|(e, k)| (e.as_str(), k.as_str())).collect()
}

/// `expected` in the order [`events`] answers.
fn sorted<'a>(mut expected: Vec<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    expected.sort();
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn every_routing_event_is_raised_exactly_when_it_should_be() {
    let stack = Stack::new().await;
    let w = World::build(&stack);
    let [a, b, c] = w.peers.clone();
    let (t1, t2) = (w.tables[0].clone(), w.tables[1].clone());
    let base = |event: &str, severity: &str, subject: &str, key: &str| {
        json!({"event": event, "severity": severity, "kind": "changed", "subject": subject,
            "key": key, "routeServerId": w.rs, "vpcId": w.vpc})
    };
    let route = |event: &str, severity: &str, prefix: &str, more: Value| {
        let mut v = base(event, severity, "route", &w.key(prefix));
        let fields = v.as_object_mut().unwrap();
        for (k, d) in [
            ("prefix", json!(prefix)),
            ("routeTableId", Value::Null),
            ("reason", Value::Null),
            ("failureReason", Value::Null),
            ("routeServerPeerId", Value::Null),
            ("prefixes", json!([])),
            ("routeTables", json!([t1, t2])),
        ] {
            fields.insert(k.into(), d);
        }
        for (k, d) in more.as_object().unwrap() {
            fields.insert(k.clone(), d.clone());
        }
        v
    };

    // First sight: the route server (with what each peer advertises), two endpoints, three
    // routes.
    let first = stack.cycle().await;
    assert_eq!(
        (
            first.transitions_recorded,
            first.routing_transitions_recorded
        ),
        (3, 6),
        "{first:?}"
    );
    assert!(stack.deliveries().await.is_empty());

    // A's session drops: its BGP alert, the default route fails over to B, and A's own
    // prefix is lost.
    stack.sim.set_peer(&a, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        events(&got),
        [
            ("bgp.down", a.as_str()),
            ("route.failover", w.key(DEFAULT).as_str()),
            ("route.lost", w.key(ONLY_A).as_str())
        ]
    );
    check_event(
        &got[&("route.failover".into(), w.key(DEFAULT))],
        route(
            "route.failover",
            "warning",
            DEFAULT,
            json!({
        "from": w.hop(&a), "to": w.hop(&b), "routeServerEndpointId": w.endpoint_of[&b],
        "changes": [
            {"field": "RouteServerPeerId", "from": a, "to": b},
            {"field": "NextHopIp", "from": w.address[&a], "to": w.address[&b]},
            {"field": "AsPaths", "from": w.asn[&a].to_string(), "to": format!("{0} {0}", w.asn[&b])}],
        "health": {"from": "healthy", "to": "healthy"}, "version": 2}),
        ),
    );
    check_event(
        &got[&("route.lost".into(), w.key(ONLY_A))],
        route(
            "route.lost",
            "critical",
            ONLY_A,
            json!({
        "from": w.hop(&a), "to": null, "routeServerEndpointId": w.endpoint_of[&a],
        "changes": [
            {"field": "RouteServerPeerId", "from": a, "to": null},
            {"field": "NextHopIp", "from": w.address[&a], "to": null},
            {"field": "AsPaths", "from": w.asn[&a].to_string(), "to": null},
            {"field": "Med", "from": "0", "to": null},
            {"field": "RouteTables", "from": format!("{t1}:installed,{t2}:installed"), "to": null}],
        "health": {"from": "healthy", "to": "down"}, "version": 2}),
        ),
    );

    // A static route in the way: C's prefix is rejected by one route table.
    let reason = "a static route to this prefix exists in the route table";
    let (status, _) = stack.sim.control(
        "POST",
        "/_sim/rejections",
        Some(&json!({"routeTableId": t1, "prefix": ONLY_C, "reason": reason}).to_string()),
    );
    assert_eq!(status, 200);
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(events(&got), [("route.rejected", w.key(ONLY_C).as_str())]);
    check_event(
        &got[&("route.rejected".into(), w.key(ONLY_C))],
        route(
            "route.rejected",
            "warning",
            ONLY_C,
            json!({
        "from": w.hop(&c), "to": w.hop(&c), "routeServerEndpointId": w.endpoint_of[&c],
        "routeTableId": t1, "reason": reason,
        "changes": [{"field": "RouteTables", "from": format!("{t1}:installed,{t2}:installed"),
            "to": format!("{t1}:rejected,{t2}:installed")}],
        "health": {"from": "healthy", "to": "degraded"}, "version": 2}),
        ),
    );

    // Every session down: the VPC forwards on the persisted routes.
    // Together: one at a time, the default route would go with B before C's went.
    let (status, body) = stack.sim.control(
        "POST",
        "/_sim/peers",
        Some(&json!({"peers": {&b: {"bgpStatus": "down"}, &c: {"bgpStatus": "down"}}}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        events(&got),
        sorted(vec![
            ("bgp.down", b.as_str()),
            ("bgp.down", c.as_str()),
            ("routes.persisted", w.rs.as_str())
        ])
    );
    let mut persisted = base("routes.persisted", "critical", "route-server", &w.rs);
    for (k, v) in [
        ("prefix", Value::Null),
        ("from", Value::Null),
        ("to", Value::Null),
        ("routeTableId", Value::Null),
        ("reason", Value::Null),
        ("failureReason", Value::Null),
        ("routeServerEndpointId", Value::Null),
        ("routeServerPeerId", Value::Null),
        ("prefixes", json!([DEFAULT, ONLY_C])),
        ("routeTables", json!([t1, t2])),
        (
            "changes",
            json!([{"field": "AreRoutesPersisted", "from": "false", "to": "true"}]),
        ),
        ("health", json!({"from": "healthy", "to": "down"})),
        ("version", json!(2)),
    ] {
        persisted.as_object_mut().unwrap().insert(k.into(), v);
    }
    check_event(&got[&("routes.persisted".into(), w.rs.clone())], persisted);

    // Sessions back, the rejection gone: still persisted until the duration has passed, so
    // only the sessions recover.
    let (status, _) = stack.sim.control("DELETE", "/_sim/rejections", None);
    assert_eq!(status, 200);
    for p in &w.peers {
        stack.sim.set_peer(p, json!({"bgpStatus": "up"}));
    }
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        events(&got),
        sorted(vec![
            ("bgp.up", a.as_str()),
            ("bgp.up", b.as_str()),
            ("bgp.up", c.as_str())
        ])
    );

    // After the persist duration: unpersisted, the default route fails back to A, A's prefix
    // is restored and C's installed again.
    let (status, _) = stack
        .sim
        .control("POST", "/_sim/clock", Some(r#"{"advanceSeconds": 61}"#));
    assert_eq!(status, 200);
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        events(&got),
        [
            ("route.failover", w.key(DEFAULT).as_str()),
            ("route.installed", w.key(ONLY_C).as_str()),
            ("route.restored", w.key(ONLY_A).as_str()),
            ("routes.unpersisted", w.rs.as_str()),
        ]
    );
    let failback = &got[&("route.failover".into(), w.key(DEFAULT))];
    assert_eq!(
        (&failback["from"], &failback["to"]),
        (&w.hop(&b), &w.hop(&a))
    );
    assert_eq!(failback["version"], 3);
    let restored = &got[&("route.restored".into(), w.key(ONLY_A))];
    assert_eq!(
        (&restored["severity"], &restored["to"]),
        (&json!("recovery"), &w.hop(&a))
    );
    let installed = &got[&("route.installed".into(), w.key(ONLY_C))];
    assert_eq!(
        (&installed["severity"], &installed["routeTableId"]),
        (&json!("recovery"), &json!(t1))
    );
    let unpersisted = &got[&("routes.unpersisted".into(), w.rs.clone())];
    assert_eq!(unpersisted["severity"], "recovery");

    // C keeps its session and withdraws everything: its prefix, which only it advertised, is
    // lost at once; that it advertises nothing is confirmed by the next cycle.
    w.advertise(&stack, &c, json!([]));
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(events(&got), [("route.lost", w.key(ONLY_C).as_str())]);
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    let peer_routes = format!("routes#{c}");
    assert_eq!(events(&got), [("peer.no-routes", peer_routes.as_str())]);
    let mut no_routes = base("peer.no-routes", "warning", "peer-routes", &peer_routes);
    for (k, v) in [
        ("prefix", Value::Null),
        ("from", Value::Null),
        ("to", Value::Null),
        ("routeTableId", Value::Null),
        ("reason", Value::Null),
        ("failureReason", Value::Null),
        ("routeServerEndpointId", Value::Null),
        ("routeServerPeerId", json!(c)),
        ("prefixes", json!([])),
        ("routeTables", json!([])),
        (
            "changes",
            json!([{"field": "AdvertisedRoutes", "from": null, "to": "0"}]),
        ),
        ("health", json!({"from": "healthy", "to": "degraded"})),
        // Its first silence: the peer's own record starts here.
        ("version", json!(1)),
        ("previousObservedAt", Value::Null),
        ("previousDurationSeconds", Value::Null),
    ] {
        no_routes.as_object_mut().unwrap().insert(k.into(), v);
    }
    check_event(
        &got[&("peer.no-routes".into(), peer_routes.clone())],
        no_routes,
    );

    // An endpoint fails, with a reason.
    let ep = &w.endpoints[0];
    let why = "the endpoint's network interface was deleted";
    let (status, body) = stack.sim.control(
        "POST",
        &format!("/_sim/endpoints/{ep}"),
        Some(&json!({"state": "failed", "failureReason": why}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(events(&got), [("endpoint.failed", ep.as_str())]);
    let mut failed = base("endpoint.failed", "critical", "endpoint", ep);
    for (k, v) in [
        ("prefix", Value::Null),
        ("from", Value::Null),
        ("to", Value::Null),
        ("routeTableId", Value::Null),
        ("reason", Value::Null),
        ("failureReason", json!(why)),
        ("routeServerEndpointId", json!(ep)),
        ("routeServerPeerId", Value::Null),
        ("prefixes", json!([])),
        ("routeTables", json!([])),
        (
            "changes",
            json!([{"field": "State", "from": "available", "to": "failed"},
            {"field": "FailureReason", "from": null, "to": why}]),
        ),
        ("health", json!({"from": "healthy", "to": "down"})),
        ("version", json!(2)),
    ] {
        failed.as_object_mut().unwrap().insert(k.into(), v);
    }
    check_event(&got[&("endpoint.failed".into(), ep.clone())], failed);

    // No change: nothing written, one call of each listing, one database read.
    stack.recorder.take();
    let steady = stack.cycle().await;
    assert_eq!(
        (
            steady.transitions_recorded,
            steady.routing_transitions_recorded
        ),
        (0, 0),
        "{steady:?}"
    );
    let mut ops: Vec<String> = stack
        .recorder
        .take()
        .iter()
        .map(|c| format!("{}:{}", c.service, c.operation))
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            "DynamoDB:Query",
            "DynamoDB:Scan",
            "EC2:DescribeRouteServerEndpoints",
            "EC2:DescribeRouteServerPeers",
            "EC2:DescribeRouteServers",
            "EC2:GetRouteServerRoutingDatabase",
        ]
    );
    assert!(stack.deliveries().await.is_empty());

    // The route items' history holds each change once, versions in order.
    let history = stack.routing_history().await;
    let versions: Vec<String> = history
        .iter()
        .filter(|i| s(i, "RouteServerPeerId") == w.key(DEFAULT))
        .map(|i| format!("{}:{}", s(i, "Event"), i["Version"].as_n().unwrap()))
        .collect();
    assert_eq!(
        versions,
        ["route.discovered:1", "route.failover:2", "route.failover:3"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn overlapping_runs_after_a_failover_record_and_send_it_once() {
    let stack = Stack::new().await;
    let w = World::build(&stack);
    stack.cycle().await;
    // B becomes the default route's best path: A advertises it no more.
    w.advertise(&stack, &w.peers[0], json!([]));
    let other = Stack::poller_with(
        &stack.sim,
        moto().endpoint(),
        moto().endpoint(),
        &stack.recorder,
        stack.config.clone(),
    );
    let (x, y) = tokio::join!(
        stack.poller.run(RunOptions::default()),
        other.run(RunOptions::default())
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    // The failover, A's prefix lost, and its route server's counts: each once between the two.
    assert_eq!(
        x.routing_transitions_recorded + y.routing_transitions_recorded,
        3,
        "{x:?} {y:?}"
    );
    assert_eq!(
        x.transitions_lost_race + y.transitions_lost_race,
        x.routing_transitions_detected + y.routing_transitions_detected - 3
    );
    let got = delivered(&stack.deliveries().await);
    let failovers: Vec<_> = got.keys().filter(|(e, _)| e == "route.failover").collect();
    assert_eq!(failovers.len(), 1, "{got:?}");
    let history = stack.routing_history().await;
    assert_eq!(
        history
            .iter()
            .filter(|i| s(i, "Event") == "route.failover")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_that_names_a_route_server_gone_since_still_watches_the_others() {
    let stack = Stack::new().await;
    let w = World::build(&stack);
    let gone = peerwatch_core::ids::RouteServerId::parse("rs-0000000000000dead").unwrap();
    let ours = peerwatch_core::ids::RouteServerId::parse(&w.rs).unwrap();
    let summary = stack
        .poller
        .run(RunOptions {
            route_server_ids: Some(vec![ours, gone]),
            ..Default::default()
        })
        .await
        .expect("the run succeeds");
    assert_eq!(
        (
            summary.route_servers_seen,
            summary.endpoints_seen,
            summary.routes_seen
        ),
        (1, 2, 3)
    );
}
