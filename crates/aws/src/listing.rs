//! Lists every route server peer with `DescribeRouteServerPeers`, all pages.

use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::describe_route_server_peers::DescribeRouteServerPeersError;
use aws_sdk_ec2::types::{Filter, RouteServerPeer};

use peerwatch_core::ids::RouteServerId;
use peerwatch_core::model::PeerSnapshot;

/// The largest page EC2 allows: the fewest calls, `ceil(N / 1000)`.
pub const PAGE_SIZE: i32 = 1000;

#[derive(Debug, thiserror::Error)]
#[error("DescribeRouteServerPeers failed")]
pub struct ListError(#[source] pub Box<SdkError<DescribeRouteServerPeersError>>);

/// Every peer, optionally only those of `route_server_ids` (filtered by EC2, not here).
pub async fn list_peers(
    ec2: &aws_sdk_ec2::Client,
    route_server_ids: Option<&[RouteServerId]>,
) -> Result<Vec<PeerSnapshot>, ListError> {
    let mut peers = Vec::new();
    for_each_page(ec2, route_server_ids, |page| peers.extend(page)).await?;
    Ok(peers)
}

/// Every peer a page at a time, in EC2's order: each page is converted and handed to
/// `on_page` before the next is asked for, so only one page is held at once.
pub async fn for_each_page(
    ec2: &aws_sdk_ec2::Client,
    route_server_ids: Option<&[RouteServerId]>,
    mut on_page: impl FnMut(Vec<PeerSnapshot>),
) -> Result<(), ListError> {
    let filters = route_server_ids.map(|ids| {
        vec![
            Filter::builder()
                .name("route-server-id")
                .set_values(Some(ids.iter().map(|id| id.to_string()).collect()))
                .build(),
        ]
    });
    let mut pages = ec2
        .describe_route_server_peers()
        .max_results(PAGE_SIZE)
        .set_filters(filters)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ListError(Box::new(e)))?;
        on_page(
            page.route_server_peers()
                .iter()
                .filter_map(snapshot)
                .collect(),
        );
    }
    Ok(())
}

/// Converts EC2's shape; a peer without an id cannot be tracked and is skipped.
pub fn snapshot(p: &RouteServerPeer) -> Option<PeerSnapshot> {
    let s = |v: Option<&str>| v.unwrap_or_default().to_string();
    let bgp = p.bgp_options();
    Some(PeerSnapshot {
        route_server_peer_id: p.route_server_peer_id()?.to_string(),
        route_server_id: s(p.route_server_id()),
        route_server_endpoint_id: s(p.route_server_endpoint_id()),
        vpc_id: s(p.vpc_id()),
        subnet_id: s(p.subnet_id()),
        peer_address: s(p.peer_address()),
        peer_asn: bgp.and_then(|b| b.peer_asn()),
        peer_liveness_detection: s(bgp
            .and_then(|b| b.peer_liveness_detection())
            .map(|m| m.as_str())),
        endpoint_eni_id: s(p.endpoint_eni_id()),
        endpoint_eni_address: s(p.endpoint_eni_address()),
        // `as_str` keeps values this SDK does not know (`Unknown` variants) as EC2 sent them.
        state: p.state().map_or("unknown", |st| st.as_str()).to_string(),
        failure_reason: p.failure_reason().map(str::to_string),
        bgp_status: p
            .bgp_status()
            .and_then(|b| b.status())
            .map(|st| st.as_str().to_string()),
        bfd_status: p
            .bfd_status()
            .and_then(|b| b.status())
            .map(|st| st.as_str().to_string()),
        tags: p
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
    })
}
