//! Beyond sessions: what peerwatch knows of endpoints, route servers and the routes in their
//! FIBs, where traffic goes (docs/design.md, "Where traffic goes"). Plain data like
//! [`crate::model`]: the listing builds the snapshots, the store keeps the records in
//! `PeerState` beside the peers under their own key values.
//!
//! | subject | `RouteServerPeerId` key value | health |
//! |---|---|---|
//! | endpoint | `rse-...` | `failed`: down; `failing`, `delete-failed`: degraded; `available`: healthy |
//! | route server (with what each peer advertises) | `rs-...` | routes persisted: down; `available`: healthy |
//! | route (one prefix of one route server) | `route#<rs-id>#<prefix>` | no `in-fib` route: down; a route table `rejected` it: degraded; else healthy |
//! | a peer's advertisement, from the first time it goes silent | `routes#<rsp-id>` | session up and nothing advertised after it had: degraded; else healthy |

pub mod detect;
pub mod routing;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{
    AlertState, Event, FieldChange, Health, NotificationState, Severity, Timestamp, TransitionKind,
};

/// The key prefix of a route item: `route#<rs-id>#<prefix>`.
pub const ROUTE_KEY: &str = "route#";
/// The key prefix of a peer's advertisement item: `routes#<rsp-id>`.
pub const PEER_ROUTES_KEY: &str = "routes#";

/// Whether a `PeerState` key names one of these subjects (rather than a peer or a mute).
pub fn is_fabric_key(key: &str) -> bool {
    key.starts_with("rse-")
        || key.starts_with("rs-")
        || key.starts_with(ROUTE_KEY)
        || key.starts_with(PEER_ROUTES_KEY)
}

pub fn route_key(route_server_id: &str, prefix: &str) -> String {
    format!("{ROUTE_KEY}{route_server_id}#{prefix}")
}

pub fn peer_routes_key(peer_id: &str) -> String {
    format!("{PEER_ROUTES_KEY}{peer_id}")
}

/// An endpoint as `DescribeRouteServerEndpoints` showed it (raw EC2 strings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSnapshot {
    pub route_server_endpoint_id: String,
    pub route_server_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub eni_id: String,
    pub eni_address: String,
    pub state: String,
    pub failure_reason: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// A route server as `DescribeRouteServers` showed it, with `areRoutesPersisted` from its
/// routing database. `vpc_id` comes from its endpoints (the route server itself names none).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerSnapshot {
    pub route_server_id: String,
    pub vpc_id: String,
    pub state: String,
    pub persist_routes_state: Option<String>,
    pub persist_routes_duration: Option<i64>,
    pub are_routes_persisted: bool,
    pub tags: BTreeMap<String, String>,
    /// How many routes each listed peer advertises (as last known while its session was up);
    /// peers that advertise nothing are left out.
    #[serde(default)]
    pub advertised: BTreeMap<String, u32>,
}

/// One route table's installation of an `in-fib` route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTableInstall {
    pub route_table_id: String,
    /// `installed` | `rejected` (raw).
    pub status: String,
    pub reason: Option<String>,
}

/// Where a prefix's traffic goes: the peer of its `in-fib` route and that route's next hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextHop {
    pub route_server_peer_id: String,
    pub next_hop_ip: String,
}

/// The `in-fib` route of one prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FibRoute {
    pub route_server_peer_id: String,
    pub route_server_endpoint_id: String,
    pub next_hop_ip: String,
    pub as_paths: Vec<String>,
    pub med: Option<i64>,
    /// One per propagated route table, by route table id.
    pub route_tables: Vec<RouteTableInstall>,
}

impl FibRoute {
    pub fn next_hop(&self) -> NextHop {
        NextHop {
            route_server_peer_id: self.route_server_peer_id.clone(),
            next_hop_ip: self.next_hop_ip.clone(),
        }
    }

    pub fn rejected(&self) -> impl Iterator<Item = &RouteTableInstall> {
        self.route_tables.iter().filter(|t| t.status == "rejected")
    }
}

/// One prefix of one route server and its `in-fib` route (`None`: lost). Who else advertises
/// it is not kept here: each peer's count is its advertisement's ([`PeerRoutesSnapshot`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSnapshot {
    pub route_server_id: String,
    pub vpc_id: String,
    pub prefix: String,
    pub fib: Option<FibRoute>,
}

/// What a peer whose session is up advertises. Only looked at while the session is up:
/// routes that go with a session are the session's alert, not this one. The counts are kept
/// on the route server's record; a peer's own record exists from the first time it goes
/// silent, for its alert to be tracked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerRoutesSnapshot {
    pub route_server_peer_id: String,
    pub route_server_id: String,
    pub vpc_id: String,
    pub advertised: u32,
}

/// What one fabric record is of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Subject {
    Endpoint(EndpointSnapshot),
    RouteServer(RouteServerSnapshot),
    Route(RouteSnapshot),
    PeerRoutes(PeerRoutesSnapshot),
}

impl Subject {
    /// The `RouteServerPeerId` key value of its items in both tables.
    pub fn key(&self) -> String {
        match self {
            Subject::Endpoint(e) => e.route_server_endpoint_id.clone(),
            Subject::RouteServer(r) => r.route_server_id.clone(),
            Subject::Route(r) => route_key(&r.route_server_id, &r.prefix),
            Subject::PeerRoutes(p) => peer_routes_key(&p.route_server_peer_id),
        }
    }

    /// `endpoint` | `route-server` | `route` | `peer-routes`: the `ItemType` attribute.
    pub fn type_name(&self) -> &'static str {
        match self {
            Subject::Endpoint(_) => "endpoint",
            Subject::RouteServer(_) => "route-server",
            Subject::Route(_) => "route",
            Subject::PeerRoutes(_) => "peer-routes",
        }
    }

    pub fn route_server_id(&self) -> &str {
        match self {
            Subject::Endpoint(e) => &e.route_server_id,
            Subject::RouteServer(r) => &r.route_server_id,
            Subject::Route(r) => &r.route_server_id,
            Subject::PeerRoutes(p) => &p.route_server_id,
        }
    }

    pub fn vpc_id(&self) -> &str {
        match self {
            Subject::Endpoint(e) => &e.vpc_id,
            Subject::RouteServer(r) => &r.vpc_id,
            Subject::Route(r) => &r.vpc_id,
            Subject::PeerRoutes(p) => &p.vpc_id,
        }
    }

    pub fn tags(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Subject::Endpoint(e) => Some(&e.tags),
            Subject::RouteServer(r) => Some(&r.tags),
            _ => None,
        }
    }
}

/// The last known state of one endpoint, route server, route or advertisement: its
/// `PeerState` item. The bookkeeping is a peer's ([`crate::model::PeerRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FabricRecord {
    pub subject: Subject,
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub present: bool,
    pub version: u64,
    pub health: Health,
    pub open_alert: Option<Severity>,
    #[serde(flatten)]
    pub alerting: AlertState,
}

/// The fields a fabric event names at the top level of its event JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    pub prefix: Option<String>,
    pub from: Option<NextHop>,
    pub to: Option<NextHop>,
    pub route_table_id: Option<String>,
    pub reason: Option<String>,
    pub failure_reason: Option<String>,
    pub route_server_endpoint_id: Option<String>,
    pub route_server_peer_id: Option<String>,
    /// The route tables concerned: a route's installations, or every table of a persisted FIB.
    pub route_tables: Vec<String>,
    /// The prefixes a `routes.persisted` keeps.
    pub prefixes: Vec<String>,
    /// The peers whose advertised count a route server's change records.
    pub peers: Vec<String>,
}

/// One recorded change of an endpoint, route server, route or advertisement: its
/// `PeerTransitions` item and the new `PeerState` written with it, as for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricTransition {
    pub kind: TransitionKind,
    pub observed_at: Timestamp,
    pub changes: Vec<FieldChange>,
    pub health_from: Option<Health>,
    pub health_to: Health,
    pub severity: Severity,
    pub event: Event,
    pub notification: NotificationState,
    pub previous_observed_at: Option<Timestamp>,
    pub previous_duration_seconds: Option<i64>,
    pub expected_version: Option<u64>,
    pub detail: Detail,
    pub record: FabricRecord,
}

impl FabricTransition {
    pub fn key(&self) -> String {
        self.record.subject.key()
    }

    pub fn version(&self) -> u64 {
        self.record.version
    }

    /// The peers this change concerns (a route's old and new peer, an advertisement's peer):
    /// it shows in their history too.
    pub fn peers(&self) -> Vec<String> {
        let mut out: Vec<String> = [&self.detail.from, &self.detail.to]
            .into_iter()
            .flatten()
            .map(|h| h.route_server_peer_id.clone())
            .chain(self.detail.route_server_peer_id.clone())
            .chain(self.detail.peers.iter().cloned())
            .filter(|p| !p.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// What one cycle saw beyond the peers, for the route servers in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fabric {
    pub route_servers: Vec<RouteServerSnapshot>,
    pub endpoints: Vec<EndpointSnapshot>,
    pub routes: Vec<RouteSnapshot>,
    /// Peers whose session is up, with how many routes each advertises.
    pub advertising: Vec<PeerRoutesSnapshot>,
    /// Peers listed whose session is not up: their advertisements are left as last known.
    pub quiet: HashSet<String>,
    /// Route servers whose routing database could not be read this cycle: their routes and
    /// advertisements are left as last known rather than recorded lost.
    pub unread: Vec<String>,
}
