//! Where traffic goes, through the emulators: a route server with persist-routes, its
//! endpoints, three peers advertising one prefix, a failover, every session down with the
//! routes persisted, and the failback once the persist duration has passed.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::helpers::{Stack, s};

/// The delivered events, by `event`, each with its event JSON.
fn delivered(deliveries: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for d in deliveries {
        let event: Value =
            serde_json::from_str(d["Message"].as_str().expect("Message")).expect("event JSON");
        let name = event["event"].as_str().unwrap().to_string();
        assert_eq!(d["MessageAttributes"]["event"]["Value"], name.as_str());
        out.entry(name).or_default().push(event);
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_persisted_routes_and_failback_alert_exactly_once() {
    let stack = Stack::new().await;
    let (status, fleet) = stack.sim.control(
        "POST",
        "/_sim/fleet",
        Some(&json!({"routeServers": 1, "peersPerRouteServer": 3, "seed": 42, "routesPerPeer": 1, "persistRoutes": true}).to_string()),
    );
    assert_eq!(status, 200, "{fleet}");
    let peers: Vec<String> = serde_json::from_value(fleet["routeServerPeerIds"].clone()).unwrap();
    let rs = fleet["routeServerIds"][0].as_str().unwrap().to_string();
    let prefix = "100.64.0.0/24";
    let key = format!("route#{rs}#{prefix}");

    // First sight: the route server, two endpoints, one route, three advertisements.
    let first = stack.cycle().await;
    assert_eq!(
        (
            first.transitions_recorded,
            first.routing_transitions_recorded
        ),
        (3, 7),
        "{first:?}"
    );
    assert!(stack.deliveries().await.is_empty());
    let route = stack
        .routing_history()
        .await
        .into_iter()
        .find(|i| s(i, "RouteServerPeerId") == key)
        .expect("the route's discovery");
    assert_eq!(
        s(&route, "RouteServerPeerIdTo"),
        peers[0],
        "peer 0 has the best path"
    );

    // Peer 0's session drops: its BGP alert, and the prefix fails over to peer 2 (the next
    // even peer: the odd ones advertise a longer AS path).
    stack.sim.set_peer(&peers[0], json!({"bgpStatus": "down"}));
    let second = stack.cycle().await;
    assert_eq!(
        (second.transitions_recorded, second.notifications_sent),
        (1, 2),
        "{second:?}"
    );
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["bgp.down", "route.failover"]
    );
    let failover = &got["route.failover"][0];
    assert_eq!(failover["severity"], "warning");
    assert_eq!(failover["routeServerId"], rs.as_str());
    assert_eq!(failover["prefix"], prefix);
    assert_eq!(failover["from"]["routeServerPeerId"], peers[0].as_str());
    assert_eq!(failover["to"]["routeServerPeerId"], peers[2].as_str());
    assert_eq!(failover["routeTables"].as_array().unwrap().len(), 2);
    assert_eq!(failover["key"], key.as_str());

    // Nothing changes: nothing is written, one call of each listing and one database read.
    stack.recorder.take();
    let steady = stack.cycle().await;
    assert_eq!(
        (
            steady.transitions_recorded,
            steady.routing_transitions_recorded
        ),
        (0, 0)
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

    // Every session down: the VPC forwards on persisted routes.
    for p in &peers[1..] {
        stack.sim.set_peer(p, json!({"bgpStatus": "down"}));
    }
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["bgp.down", "routes.persisted"]
    );
    let persisted = &got["routes.persisted"][0];
    assert_eq!(persisted["severity"], "critical");
    assert_eq!(persisted["prefixes"], json!([prefix]));

    // Back up, and after the persist duration: unpersisted, and the prefix fails back.
    for p in &peers {
        stack.sim.set_peer(p, json!({"bgpStatus": "up"}));
    }
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["bgp.up"],
        "still persisted"
    );
    let (status, _) = stack
        .sim
        .control("POST", "/_sim/clock", Some(r#"{"advanceSeconds": 61}"#));
    assert_eq!(status, 200);
    stack.cycle().await;
    let got = delivered(&stack.deliveries().await);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["route.failover", "routes.unpersisted"]
    );
    assert_eq!(
        got["route.failover"][0]["to"]["routeServerPeerId"],
        peers[0].as_str()
    );
    assert_eq!(got["routes.unpersisted"][0]["severity"], "recovery");
}
