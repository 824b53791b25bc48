//! Reads where traffic goes: `DescribeRouteServers` and `DescribeRouteServerEndpoints` (all
//! pages), and each route server's `GetRouteServerRoutingDatabase` (all pages), those
//! concurrently and bounded, folded into the core's [`Fabric`] with the peers' sessions.

use std::collections::HashMap;

use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::describe_route_server_endpoints::DescribeRouteServerEndpointsError;
use aws_sdk_ec2::operation::describe_route_servers::DescribeRouteServersError;
use aws_sdk_ec2::operation::get_route_server_routing_database::GetRouteServerRoutingDatabaseError;
use aws_sdk_ec2::types::Tag;
use futures::StreamExt;
use peerwatch_core::error_chain;
use peerwatch_core::fabric::routing::{RibRoute, RoutingDb};
use peerwatch_core::fabric::{
    EndpointSnapshot, Fabric, PeerRoutesSnapshot, RouteServerSnapshot, RouteTableInstall,
};
use peerwatch_core::ids::RouteServerId;
use peerwatch_core::model::PeerSnapshot;

use crate::listing::PAGE_SIZE;

/// Routing databases read at once: well inside EC2's describe bucket (20/s) even at 50 route
/// servers, and the latency of one read instead of fifty.
pub const ROUTING_CONCURRENCY: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum FabricError {
    #[error("DescribeRouteServers failed")]
    RouteServers(#[source] Box<SdkError<DescribeRouteServersError>>),
    #[error("DescribeRouteServerEndpoints failed")]
    Endpoints(#[source] Box<SdkError<DescribeRouteServerEndpointsError>>),
}

/// What the listing of peers tells about each: its route server and VPC, and whether its
/// session is up (only then do its routes count).
#[derive(Debug, Clone)]
pub struct Session {
    pub route_server_peer_id: String,
    pub route_server_id: String,
    pub vpc_id: String,
    pub up: bool,
}

impl Session {
    pub fn of(p: &PeerSnapshot) -> Session {
        Session {
            route_server_peer_id: p.route_server_peer_id.clone(),
            route_server_id: p.route_server_id.clone(),
            vpc_id: p.vpc_id.clone(),
            up: p.state == "available" && p.bgp_status.as_deref() == Some("up"),
        }
    }
}

fn tags(tags: &[Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Route servers and endpoints, all pages. Every one is listed and the scope applied here:
/// asked by id, EC2 fails the whole call for one route server deleted since it was configured
/// (a handful per VPC, so this costs nothing).
async fn servers_and_endpoints(
    ec2: &aws_sdk_ec2::Client,
) -> Result<(Vec<RouteServerSnapshot>, Vec<EndpointSnapshot>), FabricError> {
    let servers = async {
        let mut out = Vec::new();
        let mut pages = ec2
            .describe_route_servers()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| FabricError::RouteServers(Box::new(e)))?;
            out.extend(page.route_servers().iter().filter_map(|r| {
                Some(RouteServerSnapshot {
                    route_server_id: r.route_server_id()?.to_string(),
                    vpc_id: String::new(),
                    state: r.state().map_or("unknown", |s| s.as_str()).to_string(),
                    persist_routes_state: r.persist_routes_state().map(|s| s.as_str().to_string()),
                    persist_routes_duration: r.persist_routes_duration(),
                    are_routes_persisted: false,
                    tags: tags(r.tags()),
                    // From the routing databases and the peers' sessions, in detection.
                    advertised: Default::default(),
                })
            }));
        }
        Ok(out)
    };
    let endpoints = async {
        let mut out = Vec::new();
        let mut pages = ec2
            .describe_route_server_endpoints()
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| FabricError::Endpoints(Box::new(e)))?;
            out.extend(page.route_server_endpoints().iter().filter_map(|e| {
                let s = |v: Option<&str>| v.unwrap_or_default().to_string();
                Some(EndpointSnapshot {
                    route_server_endpoint_id: e.route_server_endpoint_id()?.to_string(),
                    route_server_id: s(e.route_server_id()),
                    vpc_id: s(e.vpc_id()),
                    subnet_id: s(e.subnet_id()),
                    eni_id: s(e.eni_id()),
                    eni_address: s(e.eni_address()),
                    state: e.state().map_or("unknown", |s| s.as_str()).to_string(),
                    failure_reason: e.failure_reason().map(str::to_string),
                    tags: tags(e.tags()),
                })
            }));
        }
        Ok(out)
    };
    futures::try_join!(servers, endpoints)
}

/// One route server's routing database, all pages, folded as they arrive.
pub async fn routing_database(
    ec2: &aws_sdk_ec2::Client,
    route_server_id: &str,
) -> Result<RoutingDb, SdkError<GetRouteServerRoutingDatabaseError>> {
    let mut db = RoutingDb::default();
    let mut token: Option<String> = None;
    loop {
        let page = ec2
            .get_route_server_routing_database()
            .route_server_id(route_server_id)
            .max_results(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await?;
        db.are_routes_persisted |= page.are_routes_persisted().unwrap_or(false);
        for r in page.routes() {
            let Some(prefix) = r.prefix() else { continue };
            let s = |v: Option<&str>| v.unwrap_or_default().to_string();
            db.add(RibRoute {
                route_server_peer_id: s(r.route_server_peer_id()),
                route_server_endpoint_id: s(r.route_server_endpoint_id()),
                prefix: prefix.to_string(),
                route_status: r.route_status().map_or("", |s| s.as_str()).to_string(),
                as_paths: r.as_paths().to_vec(),
                med: r.med().map(i64::from),
                next_hop_ip: s(r.next_hop_ip()),
                route_tables: r
                    .route_installation_details()
                    .iter()
                    .map(|d| RouteTableInstall {
                        route_table_id: s(d.route_table_id()),
                        status: d
                            .route_installation_status()
                            .map_or("", |s| s.as_str())
                            .to_string(),
                        reason: d.route_installation_status_reason().map(str::to_string),
                    })
                    .collect(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(db),
        }
    }
}

/// What EC2 showed beyond the peers, before it is put beside the peers' sessions.
#[derive(Debug, Default)]
pub struct Read {
    route_servers: Vec<RouteServerSnapshot>,
    endpoints: Vec<EndpointSnapshot>,
    databases: HashMap<String, RoutingDb>,
    unread: Vec<String>,
}

/// Reads everything beyond the peers for the route servers in scope. A routing database that
/// cannot be read leaves that route server unread (its routes stay as last known); the
/// listings failing is an error, for the cycle to skip this part and say so.
pub async fn read(
    ec2: &aws_sdk_ec2::Client,
    route_server_ids: Option<&[RouteServerId]>,
) -> Result<Read, FabricError> {
    let (mut route_servers, mut endpoints) = servers_and_endpoints(ec2).await?;
    let in_scope = |id: &str| route_server_ids.is_none_or(|ids| ids.iter().any(|i| *i == *id));
    route_servers.retain(|r| in_scope(&r.route_server_id));
    endpoints.retain(|e| in_scope(&e.route_server_id));
    let reads: Vec<(String, Option<RoutingDb>)> = futures::stream::iter(&route_servers)
        .map(|rs| async move {
            let id = rs.route_server_id.clone();
            match routing_database(ec2, &id).await {
                Ok(db) => (id, Some(db)),
                Err(e) => {
                    tracing::error!(route_server = %id, error = %error_chain(&e), "reading the routing database failed; its routes stay as last known");
                    (id, None)
                }
            }
        })
        .buffer_unordered(ROUTING_CONCURRENCY)
        .collect()
        .await;
    let mut out = Read {
        route_servers,
        endpoints,
        ..Read::default()
    };
    for (id, db) in reads {
        match db {
            Some(db) => {
                out.databases.insert(id, db);
            }
            None => out.unread.push(id),
        }
    }
    Ok(out)
}

impl Read {
    /// The fabric as the core sees it, with each peer's session from the listing.
    pub fn fabric(self, sessions: &[Session]) -> Fabric {
        let Read {
            mut route_servers,
            endpoints,
            databases,
            unread,
        } = self;
        // A route server names no VPC; its endpoints (or failing that its peers) do.
        let mut vpc: HashMap<&str, &str> = HashMap::new();
        for s in sessions {
            vpc.insert(&s.route_server_id, &s.vpc_id);
        }
        for e in &endpoints {
            vpc.insert(&e.route_server_id, &e.vpc_id);
        }
        let mut routes = Vec::new();
        for rs in &mut route_servers {
            rs.vpc_id = vpc
                .get(rs.route_server_id.as_str())
                .unwrap_or(&"")
                .to_string();
            if let Some(db) = databases.get(&rs.route_server_id) {
                rs.are_routes_persisted = db.are_routes_persisted;
                routes.extend(db.routes(&rs.route_server_id, &rs.vpc_id));
            }
        }
        let mut fabric = Fabric {
            endpoints,
            routes,
            unread,
            ..Fabric::default()
        };
        for s in sessions {
            let Some(db) = databases.get(&s.route_server_id) else {
                continue;
            };
            // Persisted routes hide what the peers advertise now: as last known until then.
            if s.up && !db.are_routes_persisted {
                fabric.advertising.push(PeerRoutesSnapshot {
                    route_server_peer_id: s.route_server_peer_id.clone(),
                    route_server_id: s.route_server_id.clone(),
                    vpc_id: s.vpc_id.clone(),
                    advertised: db.advertised(&s.route_server_peer_id),
                });
            } else {
                fabric.quiet.insert(s.route_server_peer_id.clone());
            }
        }
        fabric.route_servers = route_servers;
        fabric
    }
}
