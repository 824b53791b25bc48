//! route-server-sim driven through `aws-sdk-ec2`, as the poller will drive it.
//! (tests/python drives it with boto3, an independent client.)

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    Filter, ResourceType, RouteServerBgpOptionsRequest, RouteServerPeerLivenessMode, Tag,
    TagSpecification,
};
use serde_json::json;

use crate::helpers::{ec2_client, simulator};

fn tags(resource: ResourceType, key: &str, value: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key(key).value(value).build())
        .build()
}

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

#[tokio::test]
async fn creates_route_server_endpoint_and_peers_with_ec2_fields() {
    let sim = simulator(100);
    let ec2 = ec2_client(sim.endpoint());

    let rs = ec2
        .create_route_server()
        .amazon_side_asn(65000)
        .tag_specifications(tags(ResourceType::RouteServer, "team", "net"))
        .send()
        .await
        .unwrap()
        .route_server
        .unwrap();
    let rs_id = rs.route_server_id().unwrap().to_string();
    assert!(rs_id.starts_with("rs-") && rs_id.len() == 20, "{rs_id}");
    assert_eq!(rs.state().unwrap().as_str(), "pending");
    assert_eq!(rs.tags()[0].key(), Some("team"));

    let ep = ec2
        .create_route_server_endpoint()
        .route_server_id(&rs_id)
        .subnet_id("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap()
        .route_server_endpoint
        .unwrap();
    let ep_id = ep.route_server_endpoint_id().unwrap().to_string();
    assert!(ep_id.starts_with("rse-") && ep_id.len() == 21, "{ep_id}");
    assert!(ep.eni_id().unwrap().starts_with("eni-"));
    assert!(ep.vpc_id().unwrap().starts_with("vpc-"));

    let peer = ec2
        .create_route_server_peer()
        .route_server_endpoint_id(&ep_id)
        .peer_address("10.0.1.5")
        .bgp_options(
            RouteServerBgpOptionsRequest::builder()
                .peer_asn(65001)
                .peer_liveness_detection(RouteServerPeerLivenessMode::Bfd)
                .build(),
        )
        .tag_specifications(tags(ResourceType::RouteServerPeer, "Name", "fw-a"))
        .send()
        .await
        .unwrap()
        .route_server_peer
        .unwrap();
    let peer_id = peer.route_server_peer_id().unwrap().to_string();
    assert!(
        peer_id.starts_with("rsp-") && peer_id.len() == 21,
        "{peer_id}"
    );
    assert_eq!(peer.state().unwrap().as_str(), "pending");
    assert_eq!(
        peer.bgp_status().unwrap().status().unwrap().as_str(),
        "down"
    );
    assert_eq!(
        peer.bfd_status().unwrap().status().unwrap().as_str(),
        "down"
    );
    assert_eq!(peer.vpc_id(), ep.vpc_id());
    assert_eq!(peer.subnet_id(), ep.subnet_id());
    assert_eq!(peer.endpoint_eni_id(), ep.eni_id());
    assert_eq!(peer.endpoint_eni_address(), ep.eni_address());
    assert_eq!(peer.route_server_id(), Some(rs_id.as_str()));
    assert_eq!(peer.bgp_options().unwrap().peer_asn(), Some(65001));

    tokio::time::sleep(Duration::from_millis(150)).await;
    let listed = ec2
        .describe_route_server_peers()
        .route_server_peer_ids(&peer_id)
        .send()
        .await
        .unwrap();
    let listed = &listed.route_server_peers()[0];
    assert_eq!(listed.state().unwrap().as_str(), "available");
    assert_eq!(listed.peer_address(), Some("10.0.1.5"));
    assert_eq!(listed.tags()[0].value(), Some("fw-a"));

    let deleting = ec2
        .delete_route_server_peer()
        .route_server_peer_id(&peer_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleting
            .route_server_peer()
            .unwrap()
            .state()
            .unwrap()
            .as_str(),
        "deleting"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let listed = ec2.describe_route_server_peers().send().await.unwrap();
    assert_eq!(
        listed.route_server_peers()[0].state().unwrap().as_str(),
        "deleted",
        "deleted peers stay listed for a while"
    );

    // Endpoints and route servers list and delete the same way.
    let eps = ec2.describe_route_server_endpoints().send().await.unwrap();
    assert_eq!(eps.route_server_endpoints().len(), 1);
    ec2.delete_route_server_endpoint()
        .route_server_endpoint_id(&ep_id)
        .send()
        .await
        .unwrap();
    let rss = ec2
        .describe_route_servers()
        .route_server_ids(&rs_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rss.route_servers()[0].state().unwrap().as_str(),
        "available"
    );
    let deleted = ec2
        .delete_route_server()
        .route_server_id(&rs_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.route_server().unwrap().state().unwrap().as_str(),
        "deleting"
    );
}

async fn list_all(ec2: &aws_sdk_ec2::Client, page_size: Option<i32>) -> (Vec<String>, usize) {
    let mut pages = ec2
        .describe_route_server_peers()
        .set_max_results(page_size)
        .into_paginator()
        .send();
    let (mut ids, mut count) = (Vec::new(), 0);
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        count += 1;
        ids.extend(
            page.route_server_peers()
                .iter()
                .map(|p| p.route_server_peer_id().unwrap().to_string()),
        );
    }
    (ids, count)
}

#[tokio::test]
async fn pages_through_1200_peers_with_the_smallest_and_the_default_page() {
    let sim = simulator(0);
    let created = sim.fleet(2, 600);
    let ec2 = ec2_client(sim.endpoint());

    let (ids, pages) = list_all(&ec2, Some(5)).await;
    assert_eq!(pages, 240);
    assert_eq!(ids, created, "every peer exactly once, in a stable order");

    let (ids, pages) = list_all(&ec2, None).await;
    assert_eq!(pages, 2, "EC2's default page is 1000");
    assert_eq!(ids.len(), 1200);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 1200);
}

#[tokio::test]
async fn filters_select_like_ec2() {
    let sim = simulator(0);
    let created = sim.fleet(2, 6);
    let ec2 = ec2_client(sim.endpoint());
    let all = ec2
        .describe_route_server_peers()
        .send()
        .await
        .unwrap()
        .route_server_peers;
    let all = all.unwrap();
    let first = &all[0];

    let count = |filters: Vec<Filter>| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_route_server_peers()
                .set_filters(Some(filters))
                .send()
                .await
                .unwrap()
                .route_server_peers()
                .len()
        }
    };
    assert_eq!(
        count(vec![filter(
            "route-server-id",
            &[first.route_server_id().unwrap()]
        )])
        .await,
        6
    );
    assert_eq!(
        count(vec![filter(
            "route-server-endpoint-id",
            &[first.route_server_endpoint_id().unwrap()]
        )])
        .await,
        3
    );
    assert_eq!(
        count(vec![filter("vpc-id", &[first.vpc_id().unwrap()])]).await,
        6
    );
    assert_eq!(
        count(vec![filter("subnet-id", &[first.subnet_id().unwrap()])]).await,
        3
    );
    assert_eq!(
        count(vec![filter(
            "peer-address",
            &[first.peer_address().unwrap()]
        )])
        .await,
        1
    );
    assert_eq!(count(vec![filter("tag:Name", &["fleet-rs-1-*"])]).await, 6);
    assert_eq!(count(vec![filter("tag-key", &["Name"])]).await, 12);
    assert_eq!(
        count(vec![filter("state", &["available", "failed"])]).await,
        12
    );
    sim.set_peer(
        &created[0],
        json!({"state": "failed", "failureReason": "BGP hold timer expired"}),
    );
    assert_eq!(count(vec![filter("state", &["failed"])]).await, 1);
    // Filters are ANDed, values ORed.
    let both = vec![
        filter("route-server-id", &[first.route_server_id().unwrap()]),
        filter("tag:Name", &["fleet-rs-0-peer-1", "fleet-rs-1-peer-1"]),
    ];
    assert_eq!(count(both).await, 1);
}

fn code<E: ProvideErrorMetadata, R>(r: Result<(), aws_sdk_ec2::error::SdkError<E, R>>) -> String {
    match r {
        Ok(()) => "no error".into(),
        Err(e) => e.code().unwrap_or("no code").to_string(),
    }
}

#[tokio::test]
async fn answers_every_error_with_ec2_codes() {
    let sim = simulator(0);
    sim.fleet(1, 2);
    let ec2 = ec2_client(sim.endpoint());
    let r = ec2
        .describe_route_server_peers()
        .max_results(4)
        .send()
        .await
        .map(|_| ());
    assert_eq!(code(r), "InvalidParameterValue");
    let r = ec2
        .describe_route_server_peers()
        .filters(filter("colour", &["red"]))
        .send()
        .await
        .map(|_| ());
    assert_eq!(code(r), "InvalidParameterValue");
    let r = ec2
        .describe_route_server_peers()
        .route_server_peer_ids("rsp-0123456789abcdef0")
        .send()
        .await
        .map(|_| ());
    assert_eq!(code(r), "InvalidRouteServerPeerId.NotFound");
    let r = ec2
        .describe_route_server_peers()
        .dry_run(true)
        .send()
        .await
        .map(|_| ());
    assert_eq!(code(r), "DryRunOperation");
    // An action the simulator does not implement: EC2's InvalidAction.
    let r = ec2.describe_instances().send().await.map(|_| ());
    assert_eq!(code(r), "InvalidAction");

    // Faults: five 503s outlast the SDK's three attempts and surface as RequestLimitExceeded.
    sim.fault("DescribeRouteServerPeers", 5, "RequestLimitExceeded", 503);
    let r = ec2.describe_route_server_peers().send().await.map(|_| ());
    assert_eq!(code(r), "RequestLimitExceeded");
    sim.control("DELETE", "/_sim/faults", None);
    sim.fault("DescribeRouteServerPeers", 5, "InternalError", 500);
    let r = ec2.describe_route_server_peers().send().await.map(|_| ());
    assert_eq!(code(r), "InternalError");
}

#[tokio::test]
async fn sdk_retries_ride_over_a_short_throttle() {
    let sim = simulator(0);
    sim.fleet(1, 3);
    let ec2 = ec2_client(sim.endpoint());
    sim.fault("DescribeRouteServerPeers", 2, "RequestLimitExceeded", 503);
    let out = ec2
        .describe_route_server_peers()
        .send()
        .await
        .expect("third attempt succeeds");
    assert_eq!(out.route_server_peers().len(), 3);
}

#[tokio::test]
async fn control_api_rejects_bad_input_clearly() {
    let sim = simulator(0);
    let ids = sim.fleet(1, 1);
    let path = format!("/_sim/peers/{}", ids[0]);
    for (body, needle) in [
        ("{not json", "invalid request body"),
        (r#"{"state": 3}"#, "invalid type"),
        (r#"{"colour": "red"}"#, "unknown field"),
    ] {
        let (status, answer) = sim.control("POST", &path, Some(body));
        assert_eq!(status, 400, "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    let (status, answer) = sim.control("POST", "/_sim/peers/rsp-0000000000000000f", Some("{}"));
    assert_eq!(status, 404, "{answer}");
    let (status, _) = sim.control(
        "POST",
        "/_sim/fleet",
        Some(r#"{"routeServers": -1, "peersPerRouteServer": 1}"#),
    );
    assert_eq!(status, 400);
    let (status, _) = sim.control(
        "POST",
        "/_sim/faults",
        Some(r#"{"action": "X", "count": 1}"#),
    );
    assert_eq!(status, 400, "a fault that does nothing is refused");

    // failureReason null clears; unknown enum values are kept as they are.
    sim.set_peer(
        &ids[0],
        json!({"state": "failed", "failureReason": "hold timer"}),
    );
    let peer = sim.set_peer(
        &ids[0],
        json!({"state": "quarantined", "failureReason": null}),
    );
    assert_eq!(peer["state"], "quarantined");
    assert!(peer["failureReason"].is_null());
    let ec2 = ec2_client(sim.endpoint());
    let listed = ec2.describe_route_server_peers().send().await.unwrap();
    assert_eq!(
        listed.route_server_peers()[0].state().unwrap().as_str(),
        "quarantined"
    );

    // Vanish drops the peer from every listing; reset empties the world.
    let (status, _) = sim.control("POST", &format!("{path}/vanish"), None);
    assert_eq!(status, 200);
    assert!(
        ec2.describe_route_server_peers()
            .send()
            .await
            .unwrap()
            .route_server_peers()
            .is_empty()
    );
    let (status, peers) = sim.control("GET", "/_sim/peers", None);
    assert_eq!((status, peers), (200, json!([])));
}
