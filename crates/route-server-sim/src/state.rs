//! The simulator's in-memory model of route servers, endpoints and peers, and the
//! EC2 semantics on them (ids, lifecycle, filters, paging). Knows nothing of HTTP.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::Ec2Error;
use super::routing::{self, AddrKey, Advert, PeerRef, Prefix, Rejections, Rib};

/// How the simulated lifecycle moves along on its own.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// `pending` -> `available` and `deleting` -> `deleted` take this long.
    pub transition: Duration,
    /// A `deleted` resource stays listed this long, as EC2 keeps it visible for a while.
    pub deleted_retention: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            transition: Duration::from_millis(500),
            deleted_retention: Duration::from_secs(600),
        }
    }
}

/// The part of a resource that moves by itself: a scheduled next state.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    pub state: String,
    next: Option<(Instant, &'static str)>,
    deleted_at: Option<Instant>,
}

/// `now + d`, or `None` past what an `Instant` can hold (a huge `--transition-ms`): never.
fn after(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

impl Lifecycle {
    fn starting(now: Instant, timing: &Timing) -> Self {
        Self::moving("pending", "available", now, timing)
    }

    /// In `state` now, `next` once the transition is over.
    fn moving(state: &str, next: &'static str, now: Instant, timing: &Timing) -> Self {
        Lifecycle {
            state: state.into(),
            next: after(now, timing.transition).map(|at| (at, next)),
            deleted_at: None,
        }
    }

    fn available() -> Self {
        Self::at("available")
    }

    /// Settled in `state`, nothing scheduled.
    fn at(state: &str) -> Self {
        Lifecycle {
            state: state.into(),
            next: None,
            deleted_at: None,
        }
    }

    fn delete(&mut self, now: Instant, timing: &Timing) {
        self.state = "deleting".into();
        self.next = after(now, timing.transition).map(|at| (at, "deleted"));
    }

    /// Sets the state by hand (control API): cancels whatever was scheduled.
    fn force(&mut self, state: &str, now: Instant) {
        self.state = state.to_string();
        self.next = None;
        self.deleted_at = (state == "deleted").then_some(now);
    }

    /// Moves on if the scheduled time has come; says whether the state changed.
    fn settle(&mut self, now: Instant) -> bool {
        if let Some((at, next)) = self.next
            && at <= now
        {
            self.state = next.to_string();
            self.next = None;
            if next == "deleted" {
                self.deleted_at = Some(at);
            }
            return true;
        }
        false
    }

    fn expired(&self, now: Instant, timing: &Timing) -> bool {
        self.deleted_at
            .and_then(|at| after(at, timing.deleted_retention))
            .is_some_and(|end| end <= now)
    }

    fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "deleting" | "deleted")
    }
}

#[derive(Debug, Clone)]
pub struct RouteServer {
    pub id: String,
    pub amazon_side_asn: i64,
    /// The VPC its endpoints are in: invented at creation, taken from the association if the
    /// route server has no endpoints when it is associated.
    pub vpc_id: String,
    /// Whether persist-routes is on: routing follows this at once, while `persist` shows
    /// EC2's transient states on the way.
    pub persist_enabled: bool,
    /// `persistRoutesState` as EC2 shows it.
    pub persist: Lifecycle,
    pub persist_routes_duration: Option<i64>,
    pub sns_topic_arn: Option<String>,
    pub life: Lifecycle,
    pub tags: Vec<(String, String)>,
    pub association: Option<Association>,
    /// Route table id -> propagation (`pending`, `available`, `deleting`).
    pub propagations: BTreeMap<String, Lifecycle>,
}

/// A route server's VPC association: `associating` -> `associated`; `disassociating` -> gone.
#[derive(Debug, Clone)]
pub struct Association {
    pub vpc_id: String,
    pub life: Lifecycle,
}

impl RouteServer {
    /// The route tables whose installations count: every propagation not being disabled.
    fn propagated_tables(&self) -> Vec<&str> {
        self.propagations
            .iter()
            .filter(|(_, l)| l.state != "deleting")
            .map(|(t, _)| t.as_str())
            .collect()
    }

    /// How long persisted routes wait once a session is back (EC2's default: one minute).
    fn persist_duration(&self) -> Duration {
        let minutes = self.persist_routes_duration.unwrap_or(1).clamp(1, 5) as u64;
        Duration::from_secs(60 * minutes)
    }

    fn live_association(&self) -> Option<&Association> {
        self.association
            .as_ref()
            .filter(|a| a.life.state != "disassociating")
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub route_server_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub eni_id: String,
    pub eni_address: String,
    pub life: Lifecycle,
    pub failure_reason: Option<String>,
    pub tags: Vec<(String, String)>,
    subnet_index: u32,
    next_host: u32,
}

#[derive(Debug, Clone)]
pub struct Peer {
    pub id: String,
    pub route_server_id: String,
    pub endpoint_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub endpoint_eni_id: String,
    pub endpoint_eni_address: String,
    pub peer_address: String,
    pub peer_asn: i64,
    pub liveness: String,
    pub life: Lifecycle,
    pub failure_reason: Option<String>,
    pub bgp_status: String,
    pub bfd_status: String,
    pub tags: Vec<(String, String)>,
    /// What the peer advertises while its session is up (set through the control API).
    pub routes: Arc<Vec<Advert>>,
    /// The peer as its routes name it, shared by all of them.
    pub(crate) info: Arc<PeerRef>,
}

impl Peer {
    /// A BGP session that feeds the RIB: the peer `available` with BGP `up`.
    pub fn session_up(&self) -> bool {
        self.life.state == "available" && self.bgp_status == "up"
    }
}

/// A peer as the control API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    pub route_server_peer_id: String,
    pub route_server_id: String,
    pub route_server_endpoint_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub state: String,
    pub failure_reason: Option<String>,
    pub bgp_status: String,
    pub bfd_status: String,
    pub peer_address: String,
    pub peer_asn: i64,
    pub peer_liveness_detection: String,
    pub endpoint_eni_id: String,
    pub endpoint_eni_address: String,
    pub tags: BTreeMap<String, String>,
}

impl From<&Peer> for PeerView {
    fn from(p: &Peer) -> Self {
        PeerView {
            route_server_peer_id: p.id.clone(),
            route_server_id: p.route_server_id.clone(),
            route_server_endpoint_id: p.endpoint_id.clone(),
            vpc_id: p.vpc_id.clone(),
            subnet_id: p.subnet_id.clone(),
            state: p.life.state.clone(),
            failure_reason: p.failure_reason.clone(),
            bgp_status: p.bgp_status.clone(),
            bfd_status: p.bfd_status.clone(),
            peer_address: p.peer_address.clone(),
            peer_asn: p.peer_asn,
            peer_liveness_detection: p.liveness.clone(),
            endpoint_eni_id: p.endpoint_eni_id.clone(),
            endpoint_eni_address: p.endpoint_eni_address.clone(),
            tags: p.tags.iter().cloned().collect(),
        }
    }
}

/// What a filter can see of a resource: `None` means EC2 does not know the filter name.
pub trait Filterable {
    fn filter_values(&self, name: &str) -> Option<Vec<String>>;
    fn tags(&self) -> &[(String, String)];
}

impl Filterable for RouteServer {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(vec![match name {
            "route-server-id" => self.id.clone(),
            "state" => self.life.state.clone(),
            "amazon-side-asn" => self.amazon_side_asn.to_string(),
            "persist-routes-state" => self.persist.state.clone(),
            _ => return None,
        }])
    }
    fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

impl Filterable for Endpoint {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(vec![match name {
            "route-server-id" => self.route_server_id.clone(),
            "route-server-endpoint-id" => self.id.clone(),
            "vpc-id" => self.vpc_id.clone(),
            "subnet-id" => self.subnet_id.clone(),
            "state" => self.life.state.clone(),
            "eni-id" => self.eni_id.clone(),
            "eni-address" => self.eni_address.clone(),
            _ => return None,
        }])
    }
    fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

impl Filterable for Peer {
    fn filter_values(&self, name: &str) -> Option<Vec<String>> {
        Some(match name {
            "route-server-id" => vec![self.route_server_id.clone()],
            "route-server-endpoint-id" => vec![self.endpoint_id.clone()],
            "route-server-peer-id" => vec![self.id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "subnet-id" => vec![self.subnet_id.clone()],
            "state" => vec![self.life.state.clone()],
            "peer-address" => vec![self.peer_address.clone()],
            "endpoint-eni-id" => vec![self.endpoint_eni_id.clone()],
            "endpoint-eni-address" => vec![self.endpoint_eni_address.clone()],
            "bgp-options.peer-asn" => vec![self.peer_asn.to_string()],
            "bgp-options.peer-liveness-detection" => vec![self.liveness.clone()],
            "bgp-status.status" => vec![self.bgp_status.clone()],
            "bfd-status.status" => vec![self.bfd_status.clone()],
            "failure-reason" => self.failure_reason.iter().cloned().collect(),
            _ => return None,
        })
    }
    fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// EC2 filter semantics: values of one filter are ORed, filters are ANDed, and
/// values may use `*` and `?` wildcards.
pub fn matches<T: Filterable>(item: &T, filters: &[Filter]) -> Result<bool, Ec2Error> {
    for f in filters {
        let seen: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            item.tags()
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        } else if f.name == "tag-key" {
            item.tags().iter().map(|(k, _)| k.clone()).collect()
        } else if f.name == "tag-value" {
            item.tags().iter().map(|(_, v)| v.clone()).collect()
        } else {
            item.filter_values(&f.name).ok_or_else(|| {
                Ec2Error::invalid_parameter(format!("The filter '{}' is invalid", f.name))
            })?
        };
        if !f
            .values
            .iter()
            .any(|pattern| seen.iter().any(|v| glob(pattern, v)))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(crate) fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// One page of a describe call.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// EC2's default and bounds for `MaxResults` on the route-server describe calls.
pub const DEFAULT_PAGE_SIZE: usize = 1000;
pub const MIN_PAGE_SIZE: i64 = 5;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// A describe request, already checked for types.
#[derive(Debug, Default)]
pub struct DescribeQuery {
    pub ids: Vec<String>,
    pub filters: Vec<Filter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// Resources kept in creation order, so that paging tokens stay valid while the set changes.
#[derive(Debug)]
pub struct Table<T> {
    by_seq: BTreeMap<u64, T>,
    seq_of: HashMap<String, u64>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            by_seq: BTreeMap::new(),
            seq_of: HashMap::new(),
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, seq: u64, id: String, item: T) {
        self.seq_of.insert(id, seq);
        self.by_seq.insert(seq, item);
    }
    pub fn get(&self, id: &str) -> Option<&T> {
        self.seq_of.get(id).and_then(|s| self.by_seq.get(s))
    }
    fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.seq_of.get(id).and_then(|s| self.by_seq.get_mut(s))
    }
    fn remove_entry(&mut self, id: &str) -> Option<(u64, T)> {
        let seq = self.seq_of.remove(id)?;
        self.by_seq.remove(&seq).map(|item| (seq, item))
    }
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.by_seq.values()
    }
    fn contains(&self, id: &str) -> bool {
        self.seq_of.contains_key(id)
    }
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }
}

/// How each resource kind names itself in ids and errors.
pub struct Kind {
    pub id_prefix: &'static str,
    pub not_found: &'static str,
    pub malformed: &'static str,
    pub noun: &'static str,
}

pub const ROUTE_SERVER: Kind = Kind {
    id_prefix: "rs-",
    not_found: "InvalidRouteServerId.NotFound",
    malformed: "InvalidRouteServerId.Malformed",
    noun: "route server",
};
pub const ENDPOINT: Kind = Kind {
    id_prefix: "rse-",
    not_found: "InvalidRouteServerEndpointId.NotFound",
    malformed: "InvalidRouteServerEndpointId.Malformed",
    noun: "route server endpoint",
};
pub const PEER: Kind = Kind {
    id_prefix: "rsp-",
    not_found: "InvalidRouteServerPeerId.NotFound",
    malformed: "InvalidRouteServerPeerId.Malformed",
    noun: "route server peer",
};

impl Kind {
    pub fn check_id(&self, id: &str) -> Result<(), Ec2Error> {
        let well_formed = id
            .strip_prefix(self.id_prefix)
            .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()));
        if well_formed {
            Ok(())
        } else {
            Err(Ec2Error::client(
                self.malformed,
                format!("Invalid id: \"{id}\" (expecting \"{}...\")", self.id_prefix),
            ))
        }
    }

    pub fn not_found(&self, id: &str) -> Ec2Error {
        Ec2Error::client(
            self.not_found,
            format!("The {} ID '{id}' does not exist", self.noun),
        )
    }
}

pub const VPC: Kind = Kind {
    id_prefix: "vpc-",
    not_found: "InvalidVpcID.NotFound",
    malformed: "InvalidVpcID.Malformed",
    noun: "vpc",
};
pub const ROUTE_TABLE: Kind = Kind {
    id_prefix: "rtb-",
    not_found: "InvalidRouteTableID.NotFound",
    malformed: "InvalidRouteTableID.Malformed",
    noun: "route table",
};

/// Every resource the simulator holds.
#[derive(Debug)]
pub struct World {
    pub timing: Timing,
    pub route_servers: Table<RouteServer>,
    pub endpoints: Table<Endpoint>,
    pub peers: Table<Peer>,
    /// Installations refused through the control API.
    pub rejections: Rejections,
    /// Route server id -> its routing state.
    routing: HashMap<String, Rib>,
    /// Route servers whose routing may have moved since it was last computed.
    dirty: BTreeSet<String>,
    /// Route server id -> its peers' seqs, so that one route server's routes take no pass
    /// over every peer.
    peers_of: HashMap<String, BTreeSet<u64>>,
    /// Bumped whenever a route server's routing is recomputed or dropped: while it stands
    /// still, no peer's session or advertisement moved, so an observer may skip the fleet.
    routing_epoch: u64,
    /// How far `POST /_sim/clock` has moved the simulator's clock past real time.
    clock_offset: Duration,
    seq: u64,
    subnets: HashMap<String, u32>,
    rng: fastrand::Rng,
}

/// Changes to one peer through the control API. Strings are taken as they are, so
/// tests can feed values that a newer EC2 might send.
#[derive(Debug, Default)]
pub struct PeerPatch {
    pub state: Option<String>,
    pub failure_reason: Option<Option<String>>,
    pub bgp_status: Option<String>,
    pub bfd_status: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// Changes to one endpoint through the control API, taken as they are.
#[derive(Debug, Default)]
pub struct EndpointPatch {
    pub state: Option<String>,
    pub failure_reason: Option<Option<String>>,
}

pub struct NewPeer {
    pub endpoint_id: String,
    pub peer_address: String,
    pub peer_asn: i64,
    pub liveness: String,
    pub tags: Vec<(String, String)>,
}

/// What `ModifyRouteServer` asks for; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct RouteServerModification {
    pub persist_routes: Option<String>,
    pub persist_routes_duration: Option<i64>,
    pub sns_notifications_enabled: Option<bool>,
}

/// What `POST /_sim/fleet` builds.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fleet {
    pub route_servers: u32,
    pub peers_per_route_server: u32,
    pub seed: Option<u64>,
    /// Prefixes every peer of a route server advertises (`100.<64+r>.<j>.0/24`), 0 for none.
    pub routes_per_peer: u32,
    pub persist_routes: bool,
}

/// The most route servers a fleet with routes may have: each gets its own `100.<64+r>.0.0/16`
/// out of 100.64.0.0/10.
pub const MAX_FLEET_ROUTE_SERVERS_WITH_ROUTES: u32 = 64;

/// What a fleet call created.
#[derive(Debug, Default)]
pub struct FleetIds {
    pub route_server_ids: Vec<String>,
    pub peer_ids: Vec<String>,
}

/// An endpoint as the control API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
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

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        EndpointView {
            route_server_endpoint_id: e.id.clone(),
            route_server_id: e.route_server_id.clone(),
            vpc_id: e.vpc_id.clone(),
            subnet_id: e.subnet_id.clone(),
            eni_id: e.eni_id.clone(),
            eni_address: e.eni_address.clone(),
            state: e.life.state.clone(),
            failure_reason: e.failure_reason.clone(),
            tags: e.tags.iter().cloned().collect(),
        }
    }
}

/// A route server as the control API shows it, routing state included.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerView {
    pub route_server_id: String,
    pub amazon_side_asn: i64,
    pub vpc_id: String,
    pub state: String,
    pub persist_routes_state: String,
    pub persist_routes_duration: Option<i64>,
    pub sns_notifications_enabled: bool,
    pub are_routes_persisted: bool,
    pub association: Option<AssociationView>,
    pub propagations: Vec<PropagationView>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationView {
    pub vpc_id: String,
    pub state: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropagationView {
    pub route_table_id: String,
    pub state: String,
}

/// One rejection as the control API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectionView {
    pub route_table_id: String,
    pub prefix: Prefix,
    pub reason: String,
}

/// The most the simulator's clock may be moved ahead in all: far below what an `Instant` holds.
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

impl World {
    pub fn new(timing: Timing) -> Self {
        World {
            timing,
            route_servers: Table::default(),
            endpoints: Table::default(),
            peers: Table::default(),
            rejections: Rejections::new(),
            routing: HashMap::new(),
            dirty: BTreeSet::new(),
            peers_of: HashMap::new(),
            routing_epoch: 0,
            clock_offset: Duration::ZERO,
            seq: 0,
            subnets: HashMap::new(),
            rng: fastrand::Rng::new(),
        }
    }

    pub fn reset(&mut self) {
        // The epoch keeps counting, so an observer never mistakes the new world for the old.
        let epoch = self.routing_epoch + 1;
        *self = World::new(self.timing);
        self.routing_epoch = epoch;
    }

    /// The simulator's clock: real monotonic time plus what `POST /_sim/clock` added.
    pub fn now(&self) -> Instant {
        let real = Instant::now();
        real.checked_add(self.clock_offset).unwrap_or(real)
    }

    pub fn clock_offset(&self) -> Duration {
        self.clock_offset
    }

    /// Moves the clock ahead by `seconds` (finite, non-negative, within [`MAX_CLOCK_OFFSET`] in
    /// all) and lets everything due move along; answers the total offset.
    pub fn advance_clock(&mut self, seconds: f64) -> Result<Duration, String> {
        let by = Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("advanceSeconds must be a non-negative number, not {seconds}"))?;
        let total = self
            .clock_offset
            .checked_add(by)
            .filter(|t| *t <= MAX_CLOCK_OFFSET)
            .ok_or_else(|| {
                format!(
                    "the clock may move at most {} seconds ahead in all",
                    MAX_CLOCK_OFFSET.as_secs()
                )
            })?;
        self.clock_offset = total;
        let now = self.now();
        self.settle(now);
        Ok(total)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_id(rng: &mut fastrand::Rng, prefix: &str) -> String {
        format!("{prefix}{:017x}", rng.u64(..))
    }

    fn unique_id<T>(rng: &mut fastrand::Rng, table: &Table<T>, prefix: &str) -> String {
        loop {
            let id = Self::new_id(rng, prefix);
            if !table.contains(&id) {
                return id;
            }
        }
    }

    /// Marks a route server's routing for recomputation at the end of the change under way.
    fn touch(&mut self, route_server_id: &str) {
        self.dirty.insert(route_server_id.to_string());
    }

    /// Recomputes every route server whose routing may have moved. Every mutation ends here,
    /// so a route server's FIB is always current when the next change comes: persisting it
    /// when the last session drops needs the FIB as it was just before.
    pub fn refresh(&mut self, now: Instant) {
        for id in std::mem::take(&mut self.dirty) {
            self.recompute(&id, now);
        }
    }

    fn recompute(&mut self, id: &str, now: Instant) {
        self.routing_epoch += 1;
        let Some(rs) = self.route_servers.get(id) else {
            self.routing.remove(id);
            return;
        };
        let tables = rs.propagated_tables();
        let persist = rs.persist_enabled.then(|| rs.persist_duration());
        let mut live = Vec::new();
        for seq in self.peers_of.get(id).into_iter().flatten() {
            if let Some(p) = self.peers.by_seq.get(seq)
                && p.session_up()
            {
                live.push((&p.info, &p.routes));
            }
        }
        let sessions_up = !live.is_empty();
        let table = routing::compute(&live, &tables, &self.rejections);
        self.routing
            .entry(id.to_string())
            .or_default()
            .update(table, sessions_up, persist, now);
    }

    /// A route server's routing state, for reading.
    pub fn rib(&self, route_server_id: &str) -> Option<&Rib> {
        self.routing.get(route_server_id)
    }

    /// Moves whenever any route server's routing is recomputed (or goes with its route
    /// server). Every change to a peer's statuses, lifecycle or routes marks its route server
    /// for recomputation, as the routing depends on them, so an unmoved epoch means no peer
    /// changed in a way a session could see.
    pub fn routing_epoch(&self) -> u64 {
        self.routing_epoch
    }

    /// A route server's peers, each with its creation seq (unique for the world's life), in
    /// creation order.
    pub fn peers_of_route_server(&self, id: &str) -> impl Iterator<Item = (u64, &Peer)> {
        self.peers_of
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.peers.by_seq.get(seq).map(|p| (*seq, p)))
    }

    pub fn are_routes_persisted(&self, route_server_id: &str) -> bool {
        self.rib(route_server_id).is_some_and(Rib::persisted)
    }

    fn unindex_peer(&mut self, seq: u64, route_server_id: &str) {
        if let Some(set) = self.peers_of.get_mut(route_server_id) {
            set.remove(&seq);
            if set.is_empty() {
                self.peers_of.remove(route_server_id);
            }
        }
        self.touch(route_server_id);
    }

    /// Moves every lifecycle along to `now`, forgets deleted resources past retention, and
    /// recomputes the routing that moved with them (a peer's state, a persist wait ending).
    pub fn settle(&mut self, now: Instant) {
        let timing = self.timing;
        /// Settles a table: answers what expired (removed) and the seqs of what changed state.
        fn sweep<T>(
            t: &mut Table<T>,
            now: Instant,
            timing: &Timing,
            life: fn(&mut T) -> &mut Lifecycle,
            id: fn(&T) -> &str,
        ) -> (Vec<(u64, T)>, Vec<u64>) {
            let mut expired = Vec::new();
            let mut changed = Vec::new();
            for (seq, item) in t.by_seq.iter_mut() {
                let l = life(item);
                if l.settle(now) {
                    changed.push(*seq);
                }
                if l.expired(now, timing) {
                    expired.push(id(item).to_string());
                }
            }
            let removed = expired
                .iter()
                .filter_map(|gone| t.remove_entry(gone))
                .collect();
            (removed, changed)
        }
        for rs in self.route_servers.by_seq.values_mut() {
            rs.persist.settle(now);
            if let Some(a) = &mut rs.association {
                a.life.settle(now);
                if a.life.state == "disassociated" {
                    rs.association = None;
                }
            }
            for l in rs.propagations.values_mut() {
                l.settle(now);
            }
            rs.propagations.retain(|_, l| l.state != "deleted");
        }
        let (gone, _) = sweep(
            &mut self.route_servers,
            now,
            &timing,
            |r| &mut r.life,
            |r| &r.id,
        );
        for (_, rs) in gone {
            self.routing_epoch += 1;
            self.routing.remove(&rs.id);
            self.dirty.remove(&rs.id);
        }
        sweep(
            &mut self.endpoints,
            now,
            &timing,
            |e| &mut e.life,
            |e| &e.id,
        );
        let (gone, changed) = sweep(&mut self.peers, now, &timing, |p| &mut p.life, |p| &p.id);
        for seq in changed {
            if let Some(p) = self.peers.by_seq.get(&seq) {
                self.dirty.insert(p.route_server_id.clone());
            }
        }
        for (seq, p) in gone {
            self.unindex_peer(seq, &p.route_server_id);
        }
        for (id, rib) in &self.routing {
            if rib.unpersist_due(now) {
                self.dirty.insert(id.clone());
            }
        }
        self.refresh(now);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create_route_server(
        &mut self,
        now: Instant,
        amazon_side_asn: i64,
        persist_routes: Option<String>,
        persist_routes_duration: Option<i64>,
        sns: bool,
        tags: Vec<(String, String)>,
        rng: Option<&mut fastrand::Rng>,
    ) -> RouteServer {
        let rng = rng.unwrap_or(&mut self.rng);
        let id = Self::unique_id(rng, &self.route_servers, ROUTE_SERVER.id_prefix);
        let vpc_id = Self::new_id(rng, "vpc-");
        let enabled = persist_routes.as_deref() == Some("enable");
        let rs = RouteServer {
            sns_topic_arn: sns.then(|| sns_topic_arn(&id)),
            id: id.clone(),
            amazon_side_asn,
            vpc_id,
            persist_enabled: enabled,
            persist: Lifecycle::at(if enabled { "enabled" } else { "disabled" }),
            // EC2's default duration, shown once persist-routes is on.
            persist_routes_duration: persist_routes_duration.or(enabled.then_some(1)),
            life: Lifecycle::starting(now, &self.timing),
            tags,
            association: None,
            propagations: BTreeMap::new(),
        };
        let seq = self.next_seq();
        self.route_servers.insert(seq, id.clone(), rs.clone());
        self.routing.insert(id, Rib::default());
        rs
    }

    /// `ModifyRouteServer`: persist-routes on or off (or reset: persisted routes go at once),
    /// its duration, SNS notifications. An `available` route server is `modifying` for one
    /// transition when anything changed, and `persistRoutesState` goes through `enabling`,
    /// `disabling` or `resetting`; routing follows the new setting at once.
    pub fn modify_route_server(
        &mut self,
        now: Instant,
        id: &str,
        m: RouteServerModification,
    ) -> Result<RouteServer, Ec2Error> {
        ROUTE_SERVER.check_id(id)?;
        let timing = self.timing;
        let rs = self
            .route_servers
            .get_mut(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        if rs.life.is_gone() {
            return Err(Ec2Error::incorrect_state(format!(
                "The route server '{id}' is in state '{}'",
                rs.life.state
            )));
        }
        let mut changed = false;
        let mut unpersist = false;
        match m.persist_routes.as_deref() {
            Some("enable") if !rs.persist_enabled => {
                rs.persist_enabled = true;
                rs.persist = Lifecycle::moving("enabling", "enabled", now, &timing);
                rs.persist_routes_duration = rs.persist_routes_duration.or(Some(1));
                changed = true;
            }
            Some("disable") if rs.persist_enabled => {
                rs.persist_enabled = false;
                rs.persist = Lifecycle::moving("disabling", "disabled", now, &timing);
                unpersist = true;
                changed = true;
            }
            Some("reset") => {
                let settled = if rs.persist_enabled {
                    "enabled"
                } else {
                    "disabled"
                };
                rs.persist = Lifecycle::moving("resetting", settled, now, &timing);
                unpersist = true;
                changed = true;
            }
            _ => {}
        }
        if let Some(d) = m.persist_routes_duration
            && rs.persist_routes_duration != Some(d)
        {
            rs.persist_routes_duration = Some(d);
            changed = true;
        }
        if let Some(sns) = m.sns_notifications_enabled
            && sns != rs.sns_topic_arn.is_some()
        {
            rs.sns_topic_arn = sns.then(|| sns_topic_arn(id));
            changed = true;
        }
        if changed && rs.life.state == "available" {
            rs.life = Lifecycle::moving("modifying", "available", now, &timing);
        }
        let out = rs.clone();
        if unpersist && let Some(rib) = self.routing.get_mut(id) {
            rib.unpersist();
        }
        self.touch(id);
        self.refresh(now);
        Ok(out)
    }

    fn live_route_server(&self, id: &str) -> Result<&RouteServer, Ec2Error> {
        ROUTE_SERVER.check_id(id)?;
        let rs = self
            .route_servers
            .get(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        if rs.life.is_gone() {
            return Err(Ec2Error::incorrect_state(format!(
                "The route server '{id}' is in state '{}'",
                rs.life.state
            )));
        }
        Ok(rs)
    }

    /// `AssociateRouteServer`: one VPC per route server. A route server with no endpoints yet
    /// takes the VPC for the endpoints it will get; one with endpoints must name theirs.
    pub fn associate(
        &mut self,
        now: Instant,
        id: &str,
        vpc_id: &str,
    ) -> Result<Association, Ec2Error> {
        VPC.check_id(vpc_id)?;
        let rs = self.live_route_server(id)?;
        if let Some(a) = &rs.association {
            return Err(if a.life.state == "disassociating" {
                Ec2Error::incorrect_state(format!(
                    "The route server '{id}' is still disassociating from '{}'",
                    a.vpc_id
                ))
            } else {
                Ec2Error::client(
                    "Resource.AlreadyAssociated",
                    format!(
                        "The route server '{id}' is already associated with '{}'",
                        a.vpc_id
                    ),
                )
            });
        }
        let has_endpoints = self
            .endpoints
            .values()
            .any(|e| e.route_server_id == id && !e.life.is_gone());
        if has_endpoints && rs.vpc_id != vpc_id {
            return Err(Ec2Error::invalid_parameter(format!(
                "The route server '{id}' has endpoints in '{}', not '{vpc_id}'",
                rs.vpc_id
            )));
        }
        let timing = self.timing;
        let rs = self
            .route_servers
            .get_mut(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        rs.vpc_id = vpc_id.to_string();
        let a = Association {
            vpc_id: vpc_id.to_string(),
            life: Lifecycle::moving("associating", "associated", now, &timing),
        };
        rs.association = Some(a.clone());
        Ok(a)
    }

    /// `DisassociateRouteServer`: only once its endpoints are deleted and propagations disabled.
    pub fn disassociate(
        &mut self,
        now: Instant,
        id: &str,
        vpc_id: &str,
    ) -> Result<Association, Ec2Error> {
        VPC.check_id(vpc_id)?;
        ROUTE_SERVER.check_id(id)?;
        let rs = self
            .route_servers
            .get(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        match &rs.association {
            Some(a) if a.vpc_id == vpc_id && a.life.state == "disassociating" => {
                return Err(Ec2Error::incorrect_state(format!(
                    "The route server '{id}' is already disassociating from '{vpc_id}'"
                )));
            }
            Some(a) if a.vpc_id == vpc_id => {}
            _ => {
                return Err(Ec2Error::client(
                    "InvalidRouteServerAssociation.NotFound",
                    format!("The route server '{id}' is not associated with '{vpc_id}'"),
                ));
            }
        }
        if self
            .endpoints
            .values()
            .any(|e| e.route_server_id == id && !e.life.is_gone())
        {
            return Err(Ec2Error::client(
                "DependencyViolation",
                format!("The route server '{id}' has endpoints; delete them first"),
            ));
        }
        if !rs.propagated_tables().is_empty() {
            return Err(Ec2Error::client(
                "DependencyViolation",
                format!("The route server '{id}' has propagations; disable them first"),
            ));
        }
        let timing = self.timing;
        let rs = self
            .route_servers
            .get_mut(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        let a = Association {
            vpc_id: vpc_id.to_string(),
            life: Lifecycle::moving("disassociating", "disassociated", now, &timing),
        };
        rs.association = Some(a.clone());
        Ok(a)
    }

    /// `EnableRouteServerPropagation`: the route server must be associated; a table is
    /// propagated once. Its routes are installed in the table from now (`pending` included).
    pub fn enable_propagation(
        &mut self,
        now: Instant,
        id: &str,
        route_table_id: &str,
    ) -> Result<Lifecycle, Ec2Error> {
        ROUTE_TABLE.check_id(route_table_id)?;
        let rs = self.live_route_server(id)?;
        if rs.live_association().is_none() {
            return Err(Ec2Error::incorrect_state(format!(
                "The route server '{id}' is not associated with a VPC"
            )));
        }
        if rs
            .propagations
            .get(route_table_id)
            .is_some_and(|l| l.state != "deleting")
        {
            return Err(Ec2Error::client(
                "Resource.AlreadyAssociated",
                format!("The route server '{id}' already propagates to '{route_table_id}'"),
            ));
        }
        let timing = self.timing;
        let life = Lifecycle::starting(now, &timing);
        if let Some(rs) = self.route_servers.get_mut(id) {
            rs.propagations
                .insert(route_table_id.to_string(), life.clone());
        }
        self.touch(id);
        self.refresh(now);
        Ok(life)
    }

    /// `DisableRouteServerPropagation`: the table's installations go at once; the propagation
    /// shows `deleting` for one transition.
    pub fn disable_propagation(
        &mut self,
        now: Instant,
        id: &str,
        route_table_id: &str,
    ) -> Result<Lifecycle, Ec2Error> {
        ROUTE_TABLE.check_id(route_table_id)?;
        ROUTE_SERVER.check_id(id)?;
        let timing = self.timing;
        let rs = self
            .route_servers
            .get_mut(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        let Some(life) = rs
            .propagations
            .get_mut(route_table_id)
            .filter(|l| l.state != "deleting")
        else {
            return Err(Ec2Error::client(
                "InvalidRouteServerPropagation.NotFound",
                format!("The route server '{id}' does not propagate to '{route_table_id}'"),
            ));
        };
        *life = Lifecycle::moving("deleting", "deleted", now, &timing);
        let out = life.clone();
        self.touch(id);
        self.refresh(now);
        Ok(out)
    }

    /// What a peer advertises from now on (replacing what it did). `None`: no such peer.
    pub fn set_peer_routes(
        &mut self,
        now: Instant,
        id: &str,
        routes: Vec<Advert>,
    ) -> Option<Vec<routing::AdvertView>> {
        let peer = self.peers.get_mut(id)?;
        peer.routes = Arc::new(routes);
        let view = peer.routes.iter().map(routing::AdvertView::from).collect();
        let rs = peer.route_server_id.clone();
        self.touch(&rs);
        self.refresh(now);
        Some(view)
    }

    pub fn peer_routes(&self, id: &str) -> Option<Vec<routing::AdvertView>> {
        let peer = self.peers.get(id)?;
        Some(peer.routes.iter().map(routing::AdvertView::from).collect())
    }

    pub fn patch_endpoint(
        &mut self,
        now: Instant,
        id: &str,
        patch: EndpointPatch,
    ) -> Option<EndpointView> {
        let ep = self.endpoints.get_mut(id)?;
        if let Some(state) = patch.state {
            ep.life.force(&state, now);
        }
        if let Some(reason) = patch.failure_reason {
            ep.failure_reason = reason;
        }
        Some(EndpointView::from(&*ep))
    }

    pub fn patch_route_server(
        &mut self,
        now: Instant,
        id: &str,
        state: Option<String>,
    ) -> Option<RouteServerView> {
        let rs = self.route_servers.get_mut(id)?;
        if let Some(state) = state {
            rs.life.force(&state, now);
        }
        self.route_server_view(id)
    }

    pub fn route_server_view(&self, id: &str) -> Option<RouteServerView> {
        let rs = self.route_servers.get(id)?;
        Some(RouteServerView {
            route_server_id: rs.id.clone(),
            amazon_side_asn: rs.amazon_side_asn,
            vpc_id: rs.vpc_id.clone(),
            state: rs.life.state.clone(),
            persist_routes_state: rs.persist.state.clone(),
            persist_routes_duration: rs.persist_routes_duration,
            sns_notifications_enabled: rs.sns_topic_arn.is_some(),
            are_routes_persisted: self.are_routes_persisted(id),
            association: rs.association.as_ref().map(|a| AssociationView {
                vpc_id: a.vpc_id.clone(),
                state: a.life.state.clone(),
            }),
            propagations: rs
                .propagations
                .iter()
                .map(|(t, l)| PropagationView {
                    route_table_id: t.clone(),
                    state: l.state.clone(),
                })
                .collect(),
            tags: rs.tags.iter().cloned().collect(),
        })
    }

    /// Makes `prefix`'s installation in `route_table_id` rejected with `reason`, in whichever
    /// route server propagates to that table.
    pub fn add_rejection(
        &mut self,
        now: Instant,
        route_table_id: &str,
        prefix: Prefix,
        reason: &str,
    ) {
        self.rejections
            .entry(prefix)
            .or_default()
            .insert(route_table_id.to_string(), reason.to_string());
        self.touch_propagating(|t| t.contains_key(route_table_id));
        self.refresh(now);
    }

    pub fn clear_rejections(&mut self, now: Instant) {
        self.rejections.clear();
        self.touch_propagating(|t| !t.is_empty());
        self.refresh(now);
    }

    fn touch_propagating(&mut self, wanted: impl Fn(&BTreeMap<String, Lifecycle>) -> bool) {
        let ids: Vec<String> = self
            .route_servers
            .values()
            .filter(|rs| wanted(&rs.propagations))
            .map(|rs| rs.id.clone())
            .collect();
        self.dirty.extend(ids);
    }

    pub fn rejection_list(&self) -> Vec<RejectionView> {
        self.rejections
            .iter()
            .flat_map(|(prefix, tables)| {
                tables.iter().map(|(t, reason)| RejectionView {
                    route_table_id: t.clone(),
                    prefix: *prefix,
                    reason: reason.clone(),
                })
            })
            .collect()
    }

    pub fn create_endpoint(
        &mut self,
        now: Instant,
        route_server_id: &str,
        subnet_id: &str,
        tags: Vec<(String, String)>,
        rng: Option<&mut fastrand::Rng>,
    ) -> Result<Endpoint, Ec2Error> {
        ROUTE_SERVER.check_id(route_server_id)?;
        let rs = self
            .route_servers
            .get(route_server_id)
            .ok_or_else(|| ROUTE_SERVER.not_found(route_server_id))?;
        if rs.life.is_gone() {
            return Err(Ec2Error::incorrect_state(format!(
                "The route server '{route_server_id}' is in state '{}'",
                rs.life.state
            )));
        }
        let vpc_id = rs.vpc_id.clone();
        let subnet_count = self.subnets.len() as u32;
        let subnet_index = *self
            .subnets
            .entry(subnet_id.to_string())
            .or_insert(subnet_count);
        let rng = rng.unwrap_or(&mut self.rng);
        let id = Self::unique_id(rng, &self.endpoints, ENDPOINT.id_prefix);
        let eni_id = Self::new_id(rng, "eni-");
        let mut ep = Endpoint {
            id: id.clone(),
            route_server_id: route_server_id.to_string(),
            vpc_id,
            subnet_id: subnet_id.to_string(),
            eni_id,
            eni_address: String::new(),
            life: Lifecycle::starting(now, &self.timing),
            failure_reason: None,
            tags,
            subnet_index,
            next_host: 0,
        };
        ep.eni_address = ep.allocate_address();
        let seq = self.next_seq();
        self.endpoints.insert(seq, id, ep.clone());
        Ok(ep)
    }

    pub fn create_peer(
        &mut self,
        now: Instant,
        new: NewPeer,
        rng: Option<&mut fastrand::Rng>,
    ) -> Result<Peer, Ec2Error> {
        ENDPOINT.check_id(&new.endpoint_id)?;
        let ep = self
            .endpoints
            .get(&new.endpoint_id)
            .ok_or_else(|| ENDPOINT.not_found(&new.endpoint_id))?;
        if ep.life.is_gone() {
            return Err(Ec2Error::incorrect_state(format!(
                "The route server endpoint '{}' is in state '{}'",
                ep.id, ep.life.state
            )));
        }
        let rng = rng.unwrap_or(&mut self.rng);
        let id = Self::unique_id(rng, &self.peers, PEER.id_prefix);
        let info = Arc::new(PeerRef {
            id: id.clone(),
            endpoint_id: ep.id.clone(),
            key: AddrKey::of(&new.peer_address),
            address: new.peer_address.clone(),
        });
        let peer = Peer {
            id: id.clone(),
            route_server_id: ep.route_server_id.clone(),
            endpoint_id: ep.id.clone(),
            vpc_id: ep.vpc_id.clone(),
            subnet_id: ep.subnet_id.clone(),
            endpoint_eni_id: ep.eni_id.clone(),
            endpoint_eni_address: ep.eni_address.clone(),
            peer_address: new.peer_address,
            peer_asn: new.peer_asn,
            liveness: new.liveness,
            life: Lifecycle::starting(now, &self.timing),
            failure_reason: None,
            bgp_status: "down".into(),
            bfd_status: "down".into(),
            tags: new.tags,
            routes: Arc::new(Vec::new()),
            info,
        };
        let seq = self.next_seq();
        self.peers_of
            .entry(peer.route_server_id.clone())
            .or_default()
            .insert(seq);
        self.peers.insert(seq, id, peer.clone());
        Ok(peer)
    }

    pub fn delete_route_server(&mut self, now: Instant, id: &str) -> Result<RouteServer, Ec2Error> {
        ROUTE_SERVER.check_id(id)?;
        if self
            .endpoints
            .values()
            .any(|e| e.route_server_id == id && !e.life.is_gone())
        {
            return Err(Ec2Error::client(
                "DependencyViolation",
                format!("The route server '{id}' has endpoints; delete them first"),
            ));
        }
        let timing = self.timing;
        let rs = self
            .route_servers
            .get_mut(id)
            .ok_or_else(|| ROUTE_SERVER.not_found(id))?;
        if let Some(a) = rs.live_association() {
            return Err(Ec2Error::client(
                "DependencyViolation",
                format!(
                    "The route server '{id}' is associated with '{}'; disassociate it first",
                    a.vpc_id
                ),
            ));
        }
        if !rs.life.is_gone() {
            rs.life.delete(now, &timing);
        }
        Ok(rs.clone())
    }

    pub fn delete_endpoint(&mut self, now: Instant, id: &str) -> Result<Endpoint, Ec2Error> {
        ENDPOINT.check_id(id)?;
        if self
            .peers
            .values()
            .any(|p| p.endpoint_id == id && !p.life.is_gone())
        {
            return Err(Ec2Error::client(
                "DependencyViolation",
                format!("The route server endpoint '{id}' has peers; delete them first"),
            ));
        }
        let timing = self.timing;
        let ep = self
            .endpoints
            .get_mut(id)
            .ok_or_else(|| ENDPOINT.not_found(id))?;
        if !ep.life.is_gone() {
            ep.life.delete(now, &timing);
        }
        Ok(ep.clone())
    }

    pub fn delete_peer(&mut self, now: Instant, id: &str) -> Result<Peer, Ec2Error> {
        PEER.check_id(id)?;
        let timing = self.timing;
        let peer = self.peers.get_mut(id).ok_or_else(|| PEER.not_found(id))?;
        if !peer.life.is_gone() {
            peer.life.delete(now, &timing);
            peer.bgp_status = "down".into();
            peer.bfd_status = "down".into();
        }
        let out = peer.clone();
        self.touch(&out.route_server_id);
        self.refresh(now);
        Ok(out)
    }

    pub fn patch_peer(&mut self, now: Instant, id: &str, patch: PeerPatch) -> Option<PeerView> {
        let view = self.apply_patch(now, id, patch)?;
        self.refresh(now);
        Some(view)
    }

    /// Patches several peers at once: the routing is recomputed once, after all of them, as
    /// when sessions drop together (the last one down finds the FIB the others left). An
    /// unknown id changes nothing and is answered.
    pub fn patch_peers(
        &mut self,
        now: Instant,
        patches: Vec<(String, PeerPatch)>,
    ) -> Result<Vec<PeerView>, String> {
        if let Some((id, _)) = patches.iter().find(|(id, _)| !self.peers.contains(id)) {
            return Err(id.clone());
        }
        let views = patches
            .into_iter()
            .filter_map(|(id, patch)| self.apply_patch(now, &id, patch))
            .collect();
        self.refresh(now);
        Ok(views)
    }

    fn apply_patch(&mut self, now: Instant, id: &str, patch: PeerPatch) -> Option<PeerView> {
        let peer = self.peers.get_mut(id)?;
        if let Some(state) = patch.state {
            peer.life.force(&state, now);
        }
        if let Some(reason) = patch.failure_reason {
            peer.failure_reason = reason;
        }
        if let Some(bgp) = patch.bgp_status {
            peer.bgp_status = bgp;
        }
        if let Some(bfd) = patch.bfd_status {
            peer.bfd_status = bfd;
        }
        if let Some(tags) = patch.tags {
            peer.tags = tags.into_iter().collect();
        }
        let view = PeerView::from(&*peer);
        self.touch(&view.route_server_id);
        Some(view)
    }

    /// Drops a peer from every listing at once, as if it had never existed (its routes too).
    pub fn vanish_peer(&mut self, now: Instant, id: &str) -> Option<PeerView> {
        let (seq, peer) = self.peers.remove_entry(id)?;
        self.unindex_peer(seq, &peer.route_server_id);
        self.refresh(now);
        Some(PeerView::from(&peer))
    }

    /// Creates `route_servers` route servers, each with two endpoints in two subnets and
    /// `peers_per_route_server` peers spread over them, all `available` with BGP and BFD `up`.
    pub fn create_fleet(
        &mut self,
        now: Instant,
        route_servers: u32,
        peers_per_route_server: u32,
        seed: Option<u64>,
    ) -> Vec<String> {
        let fleet = Fleet {
            route_servers,
            peers_per_route_server,
            seed,
            ..Fleet::default()
        };
        self.create_fleet_with(now, fleet).peer_ids
    }

    /// A fleet, optionally routing: with `routes_per_peer` k > 0 each route server is
    /// associated with its VPC, propagates to two route tables, and all its peers advertise
    /// the same k prefixes `100.<64+r>.<j>.0/24` (r the route server's index in this fleet,
    /// j < k), with AS path `[asn]` from even-indexed peers and `[asn, asn]` from odd ones, MED
    /// 0: a best path and backups per prefix. `persist_routes` turns persist-routes on with
    /// a one-minute duration.
    pub fn create_fleet_with(&mut self, now: Instant, fleet: Fleet) -> FleetIds {
        let mut rng = match fleet.seed {
            Some(s) => fastrand::Rng::with_seed(s),
            None => self.rng.fork(),
        };
        let mut ids = FleetIds {
            route_server_ids: Vec::with_capacity(fleet.route_servers as usize),
            peer_ids: Vec::with_capacity(
                (fleet.route_servers as usize)
                    .saturating_mul(fleet.peers_per_route_server as usize),
            ),
        };
        let mut peer_index: u64 = 0;
        for r in 0..fleet.route_servers {
            let tags = vec![("Name".to_string(), format!("fleet-rs-{r}"))];
            let (persist, duration) = if fleet.persist_routes {
                (Some("enable".to_string()), Some(1))
            } else {
                (None, None)
            };
            let rs = self.create_route_server(
                now,
                64512,
                persist,
                duration,
                false,
                tags,
                Some(&mut rng),
            );
            if let Some(stored) = self.route_servers.get_mut(&rs.id) {
                stored.life = Lifecycle::available();
            }
            let mut endpoints = Vec::new();
            for e in 0..2 {
                let subnet = Self::new_id(&mut rng, "subnet-");
                let tags = vec![("Name".to_string(), format!("fleet-rs-{r}-ep-{e}"))];
                if let Ok(ep) = self.create_endpoint(now, &rs.id, &subnet, tags, Some(&mut rng))
                    && let Some(stored) = self.endpoints.get_mut(&ep.id)
                {
                    stored.life = Lifecycle::available();
                    endpoints.push(ep.id);
                }
            }
            // Distinct per route server; the second octet wraps only past the 64 allowed.
            let block = 64 + (r % MAX_FLEET_ROUTE_SERVERS_WITH_ROUTES) as u8;
            let prefixes: Vec<Prefix> = (0..fleet.routes_per_peer.min(256))
                .map(|j| Prefix {
                    net: u32::from(std::net::Ipv4Addr::new(100, block, j as u8, 0)),
                    len: 24,
                })
                .collect();
            for p in 0..fleet.peers_per_route_server {
                let Some(ep_id) = endpoints.get((p % 2) as usize) else {
                    break;
                };
                let Some(address) = self
                    .endpoints
                    .get_mut(ep_id)
                    .map(Endpoint::allocate_address)
                else {
                    break;
                };
                let peer_asn = 65001 + i64::from(p % 1000);
                let new = NewPeer {
                    endpoint_id: ep_id.clone(),
                    peer_address: address,
                    peer_asn,
                    liveness: if peer_index.is_multiple_of(2) {
                        "bfd"
                    } else {
                        "bgp-keepalive"
                    }
                    .into(),
                    tags: vec![("Name".to_string(), format!("fleet-rs-{r}-peer-{p}"))],
                };
                peer_index += 1;
                let Ok(peer) = self.create_peer(now, new, Some(&mut rng)) else {
                    break;
                };
                if let Some(stored) = self.peers.get_mut(&peer.id) {
                    stored.life = Lifecycle::available();
                    stored.bgp_status = "up".into();
                    stored.bfd_status = "up".into();
                    if !prefixes.is_empty() {
                        let asn = peer_asn as u32;
                        let path: Arc<[u32]> = if p % 2 == 0 {
                            Arc::from(vec![asn])
                        } else {
                            Arc::from(vec![asn, asn])
                        };
                        stored.routes = Arc::new(
                            prefixes
                                .iter()
                                .map(|&prefix| Advert {
                                    prefix,
                                    as_path: Arc::clone(&path),
                                    med: 0,
                                })
                                .collect(),
                        );
                    }
                }
                ids.peer_ids.push(peer.id);
            }
            if fleet.routes_per_peer > 0 {
                let tables = [
                    Self::new_id(&mut rng, "rtb-"),
                    Self::new_id(&mut rng, "rtb-"),
                ];
                if let Some(stored) = self.route_servers.get_mut(&rs.id) {
                    stored.association = Some(Association {
                        vpc_id: stored.vpc_id.clone(),
                        life: Lifecycle::at("associated"),
                    });
                    for t in tables {
                        stored.propagations.insert(t, Lifecycle::available());
                    }
                }
            }
            self.touch(&rs.id);
            ids.route_server_ids.push(rs.id);
        }
        self.refresh(now);
        ids
    }
}

/// The account and region every simulated resource belongs to, as its ARNs show.
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

fn sns_topic_arn(route_server_id: &str) -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT_ID}:{route_server_id}")
}

/// A route server peer's ARN, as its peer log records name it.
pub fn peer_arn(peer_id: &str) -> String {
    format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:route-server-peer/{peer_id}")
}

impl Endpoint {
    /// Hands out addresses in the endpoint's subnet: 10.<subnet>.x.y, from .4 up as AWS reserves the first four.
    fn allocate_address(&mut self) -> String {
        let host = self.next_host + 4;
        self.next_host += 1;
        format!(
            "10.{}.{}.{}",
            self.subnet_index % 256,
            (host / 256) % 256,
            host % 256
        )
    }
}

/// Pages through a table as EC2 does: explicit ids first (each must exist), then filters,
/// then `MaxResults`/`NextToken`.
pub fn describe<T: Filterable + Clone>(
    table: &Table<T>,
    kind: &Kind,
    query: &DescribeQuery,
) -> Result<Page<T>, Ec2Error> {
    let page_size = match query.max_results {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n) => n as usize,
        Some(n) => {
            return Err(Ec2Error::invalid_parameter(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}."
            )));
        }
    };
    let after = match &query.next_token {
        None => 0,
        Some(token) => decode_token(token)?,
    };
    let mut wanted = Vec::new();
    for id in &query.ids {
        kind.check_id(id)?;
        let seq = *table.seq_of.get(id).ok_or_else(|| kind.not_found(id))?;
        wanted.push(seq);
    }
    let mut items = Vec::new();
    let mut last_seq = None;
    let mut more = false;
    for (seq, item) in table.by_seq.range(after + 1..) {
        if !wanted.is_empty() && !wanted.contains(seq) {
            continue;
        }
        if !matches(item, &query.filters)? {
            continue;
        }
        if items.len() == page_size {
            more = true;
            break;
        }
        items.push(item.clone());
        last_seq = Some(*seq);
    }
    let next_token = match (more, last_seq) {
        (true, Some(seq)) => Some(encode_token(seq)),
        _ => None,
    };
    Ok(Page { items, next_token })
}

const TOKEN_PREFIX: &str = "eyJ2IjoxLCJzIjo";

fn encode_token(seq: u64) -> String {
    format!("{TOKEN_PREFIX}{seq:016x}")
}

fn decode_token(token: &str) -> Result<u64, Ec2Error> {
    // An empty page's token carries a `.n` suffix (see `empty_page_token`); it resumes at the
    // same place.
    let token = token.split_once('.').map_or(token, |(t, _)| t);
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| Ec2Error::client("InvalidNextToken", "The specified token is invalid."))
}

/// The `nextToken` of an empty page served where `token` (or the start) was: it resumes at the
/// same place, yet differs from the token the caller sent, as an SDK paginator stops when a
/// token comes back unchanged.
pub fn empty_page_token(token: Option<&str>, n: u64) -> String {
    let base = token
        .map(|t| t.split_once('.').map_or(t, |(b, _)| b).to_string())
        .unwrap_or_else(|| encode_token(0));
    format!("{base}.{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(Timing {
            transition: Duration::from_millis(100),
            deleted_retention: Duration::from_secs(10),
        })
    }

    #[test]
    fn glob_matches_like_ec2_wildcards() {
        assert!(glob("10.0.*", "10.0.1.5"));
        assert!(glob("rsp-?bc", "rsp-abc"));
        assert!(!glob("rsp-?bc", "rsp-abcd"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn ids_have_ec2_shape() {
        let mut w = world();
        let ids = w.create_fleet(Instant::now(), 1, 3, Some(7));
        for id in &ids {
            assert_eq!(id.len(), 4 + 17, "{id}");
            PEER.check_id(id).unwrap();
        }
        let again = world().create_fleet(Instant::now(), 1, 3, Some(7));
        assert_eq!(ids, again, "a seed makes the fleet reproducible");
    }

    #[test]
    fn lifecycle_moves_pending_to_available_and_deleted_expires() {
        let mut w = world();
        let t0 = Instant::now();
        let ids = w.create_fleet(t0, 1, 1, None);
        let ep = w.peers.get(&ids[0]).unwrap().endpoint_id.clone();
        let new = NewPeer {
            endpoint_id: ep,
            peer_address: "10.9.9.9".into(),
            peer_asn: 65000,
            liveness: "bfd".into(),
            tags: vec![],
        };
        let p = w.create_peer(t0, new, None).unwrap();
        assert_eq!(p.life.state, "pending");
        assert_eq!(
            (p.bgp_status.as_str(), p.bfd_status.as_str()),
            ("down", "down")
        );
        w.settle(t0 + Duration::from_millis(150));
        assert_eq!(w.peers.get(&p.id).unwrap().life.state, "available");
        let t1 = t0 + Duration::from_millis(200);
        assert_eq!(w.delete_peer(t1, &p.id).unwrap().life.state, "deleting");
        w.settle(t1 + Duration::from_millis(150));
        assert_eq!(w.peers.get(&p.id).unwrap().life.state, "deleted");
        w.settle(t1 + Duration::from_secs(11));
        assert!(w.peers.get(&p.id).is_none());
    }

    #[test]
    fn paging_covers_every_peer_once() {
        let mut w = world();
        let ids = w.create_fleet(Instant::now(), 3, 17, Some(1));
        let mut seen = Vec::new();
        let mut query = DescribeQuery {
            max_results: Some(5),
            ..Default::default()
        };
        loop {
            let page = describe(&w.peers, &PEER, &query).unwrap();
            assert!(page.items.len() <= 5);
            seen.extend(page.items.into_iter().map(|p| p.id));
            match page.next_token {
                Some(t) => query.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn filters_and_errors() {
        let mut w = world();
        w.create_fleet(Instant::now(), 2, 4, Some(3));
        let rs = w.route_servers.values().next().unwrap().id.clone();
        let q = |name: &str, v: &str| DescribeQuery {
            filters: vec![Filter {
                name: name.into(),
                values: vec![v.into()],
            }],
            ..Default::default()
        };
        assert_eq!(
            describe(&w.peers, &PEER, &q("route-server-id", &rs))
                .unwrap()
                .items
                .len(),
            4
        );
        assert_eq!(
            describe(&w.peers, &PEER, &q("tag:Name", "fleet-rs-1-*"))
                .unwrap()
                .items
                .len(),
            4
        );
        assert_eq!(
            describe(&w.peers, &PEER, &q("tag-key", "Name"))
                .unwrap()
                .items
                .len(),
            8
        );
        assert_eq!(
            describe(
                &w.peers,
                &PEER,
                &q("bgp-options.peer-liveness-detection", "bfd")
            )
            .unwrap()
            .items
            .len(),
            4
        );
        let err = describe(&w.peers, &PEER, &q("colour", "red"))
            .err()
            .unwrap();
        assert_eq!(err.code, "InvalidParameterValue");
        let bad_size = DescribeQuery {
            max_results: Some(4),
            ..Default::default()
        };
        assert_eq!(
            describe(&w.peers, &PEER, &bad_size).err().unwrap().code,
            "InvalidParameterValue"
        );
        let unknown = DescribeQuery {
            ids: vec!["rsp-0123456789abcdef0".into()],
            ..Default::default()
        };
        assert_eq!(
            describe(&w.peers, &PEER, &unknown).err().unwrap().code,
            "InvalidRouteServerPeerId.NotFound"
        );
        let token = DescribeQuery {
            next_token: Some("garbage".into()),
            ..Default::default()
        };
        assert_eq!(
            describe(&w.peers, &PEER, &token).err().unwrap().code,
            "InvalidNextToken"
        );
    }

    fn routed_fleet(w: &mut World, peers: u32, routes: u32, persist: bool) -> FleetIds {
        w.create_fleet_with(
            w.now(),
            Fleet {
                route_servers: 1,
                peers_per_route_server: peers,
                seed: Some(5),
                routes_per_peer: routes,
                persist_routes: persist,
            },
        )
    }

    /// (prefix, peer id) of every in-fib route of the route server.
    fn fib(w: &World, rs: &str) -> Vec<(String, String)> {
        w.rib(rs)
            .unwrap()
            .fib()
            .map(|r| (r.prefix.to_string(), r.peer.id.clone()))
            .collect()
    }

    fn down(w: &mut World, id: &str) {
        let patch = PeerPatch {
            bgp_status: Some("down".into()),
            ..Default::default()
        };
        w.patch_peer(w.now(), id, patch).unwrap();
    }

    fn up(w: &mut World, id: &str) {
        let patch = PeerPatch {
            bgp_status: Some("up".into()),
            ..Default::default()
        };
        w.patch_peer(w.now(), id, patch).unwrap();
    }

    #[test]
    fn a_routed_fleet_has_a_best_path_and_backups_per_prefix() {
        let mut w = world();
        let ids = routed_fleet(&mut w, 4, 3, false);
        let rs = &ids.route_server_ids[0];
        let rib = w.rib(rs).unwrap();
        assert_eq!(rib.view().len(), 4 * 3);
        let prefixes: Vec<_> = fib(&w, rs).into_iter().map(|f| f.0).collect();
        assert_eq!(
            prefixes,
            ["100.64.0.0/24", "100.64.1.0/24", "100.64.2.0/24"]
        );
        // Even-indexed peers have the shorter AS path; of those, peer 0 has the lower address.
        assert!(fib(&w, rs).iter().all(|f| f.1 == ids.peer_ids[0]));
        let installs = &rib.fib().next().unwrap().installs;
        assert_eq!(installs.len(), 2);
        assert!(installs.iter().all(|i| i.status == "installed"));
        let server = w.route_servers.get(rs).unwrap();
        assert_eq!(
            server.association.as_ref().unwrap().life.state,
            "associated"
        );
        assert_eq!(server.propagated_tables().len(), 2);
        assert!(
            server
                .propagated_tables()
                .iter()
                .all(|t| t.starts_with("rtb-"))
        );

        // The best peer drops: the next even one (same AS path length, next address) takes over.
        down(&mut w, &ids.peer_ids[0]);
        assert!(fib(&w, rs).iter().all(|f| f.1 == ids.peer_ids[2]));
        assert_eq!(w.rib(rs).unwrap().view().len(), 3 * 3);
        // Both even ones gone: an odd one, with the longer path, is the best left.
        w.vanish_peer(w.now(), &ids.peer_ids[2]).unwrap();
        assert!(fib(&w, rs).iter().all(|f| f.1 == ids.peer_ids[1]));
        // Back up: peer 0 re-advertises the same routes and is best again.
        up(&mut w, &ids.peer_ids[0]);
        assert!(fib(&w, rs).iter().all(|f| f.1 == ids.peer_ids[0]));
    }

    #[test]
    fn withdrawing_all_routes_empties_the_rib_of_that_peer() {
        let mut w = world();
        let ids = routed_fleet(&mut w, 2, 5, false);
        let rs = &ids.route_server_ids[0];
        assert!(
            w.set_peer_routes(w.now(), &ids.peer_ids[0], vec![])
                .unwrap()
                .is_empty()
        );
        assert!(fib(&w, rs).iter().all(|f| f.1 == ids.peer_ids[1]));
        w.set_peer_routes(w.now(), &ids.peer_ids[1], vec![])
            .unwrap();
        assert!(w.rib(rs).unwrap().view().is_empty());
        assert!(
            w.set_peer_routes(w.now(), "rsp-00000000000000000", vec![])
                .is_none()
        );
    }

    #[test]
    fn routes_persist_when_the_last_session_drops_and_refresh_after_the_duration() {
        let mut w = world();
        let ids = routed_fleet(&mut w, 2, 2, true);
        let rs = ids.route_server_ids[0].clone();
        let before = fib(&w, &rs);
        assert!(!w.are_routes_persisted(&rs));
        down(&mut w, &ids.peer_ids[0]);
        down(&mut w, &ids.peer_ids[1]);
        // The FIB as it was before the last session went: peer 1's, as peer 0 had gone first.
        assert!(w.are_routes_persisted(&rs));
        assert!(fib(&w, &rs).iter().all(|f| f.1 == ids.peer_ids[1]));
        assert_eq!(fib(&w, &rs).len(), before.len());
        // Still down an hour later: still persisted.
        w.advance_clock(3600.0).unwrap();
        assert!(w.are_routes_persisted(&rs));
        // A session is back: persisted for the duration (a minute), then the live FIB.
        up(&mut w, &ids.peer_ids[0]);
        assert!(w.are_routes_persisted(&rs));
        assert!(fib(&w, &rs).iter().all(|f| f.1 == ids.peer_ids[1]));
        w.advance_clock(30.0).unwrap();
        assert!(w.are_routes_persisted(&rs));
        w.advance_clock(31.0).unwrap();
        assert!(!w.are_routes_persisted(&rs));
        assert_eq!(fib(&w, &rs), before);
    }

    #[test]
    fn routes_go_with_the_last_session_when_persistence_is_off() {
        let mut w = world();
        let ids = routed_fleet(&mut w, 2, 2, false);
        let rs = ids.route_server_ids[0].clone();
        down(&mut w, &ids.peer_ids[0]);
        w.delete_peer(w.now(), &ids.peer_ids[1]).unwrap();
        assert!(!w.are_routes_persisted(&rs));
        assert!(w.rib(&rs).unwrap().view().is_empty());
    }

    #[test]
    fn disabling_or_resetting_persistence_drops_persisted_routes_at_once() {
        for action in ["disable", "reset"] {
            let mut w = world();
            let ids = routed_fleet(&mut w, 1, 2, true);
            let rs = ids.route_server_ids[0].clone();
            down(&mut w, &ids.peer_ids[0]);
            assert!(w.are_routes_persisted(&rs));
            let m = RouteServerModification {
                persist_routes: Some(action.into()),
                ..Default::default()
            };
            let modified = w.modify_route_server(w.now(), &rs, m).unwrap();
            assert_eq!(modified.life.state, "modifying");
            assert_eq!(
                modified.persist.state,
                if action == "disable" {
                    "disabling"
                } else {
                    "resetting"
                }
            );
            assert!(!w.are_routes_persisted(&rs), "{action}");
            assert!(w.rib(&rs).unwrap().view().is_empty());
            w.advance_clock(1.0).unwrap();
            let settled = w.route_servers.get(&rs).unwrap();
            assert_eq!(settled.life.state, "available");
            let expected = if action == "disable" {
                "disabled"
            } else {
                "enabled"
            };
            assert_eq!(settled.persist.state, expected);
        }
    }

    #[test]
    fn rejections_and_propagations_shape_the_installations() {
        let mut w = world();
        let ids = routed_fleet(&mut w, 1, 2, false);
        let rs = ids.route_server_ids[0].clone();
        let tables: Vec<String> = w
            .route_servers
            .get(&rs)
            .unwrap()
            .propagations
            .keys()
            .cloned()
            .collect();
        let prefix = Prefix::parse("100.64.1.0/24").unwrap();
        w.add_rejection(w.now(), &tables[1], prefix, "conflicts with a static route");
        let statuses = |w: &World| -> Vec<Vec<(String, &'static str)>> {
            w.rib(&rs)
                .unwrap()
                .fib()
                .map(|r| {
                    r.installs
                        .iter()
                        .map(|i| (i.route_table_id.clone(), i.status))
                        .collect()
                })
                .collect()
        };
        assert_eq!(
            statuses(&w),
            [
                vec![
                    (tables[0].clone(), "installed"),
                    (tables[1].clone(), "installed")
                ],
                vec![
                    (tables[0].clone(), "installed"),
                    (tables[1].clone(), "rejected")
                ],
            ]
        );
        let disabled = w.disable_propagation(w.now(), &rs, &tables[0]).unwrap();
        assert_eq!(disabled.state, "deleting");
        assert_eq!(
            statuses(&w),
            [
                vec![(tables[1].clone(), "installed")],
                vec![(tables[1].clone(), "rejected")]
            ]
        );
        assert_eq!(
            w.disable_propagation(w.now(), &rs, &tables[0])
                .unwrap_err()
                .code,
            "InvalidRouteServerPropagation.NotFound"
        );
        w.advance_clock(1.0).unwrap();
        assert_eq!(w.route_servers.get(&rs).unwrap().propagations.len(), 1);
        w.clear_rejections(w.now());
        assert!(statuses(&w).iter().flatten().all(|i| i.1 == "installed"));
        assert_eq!(
            w.enable_propagation(w.now(), &rs, &tables[1])
                .unwrap_err()
                .code,
            "Resource.AlreadyAssociated"
        );
        assert_eq!(
            w.enable_propagation(w.now(), &rs, &tables[0])
                .unwrap()
                .state,
            "pending"
        );
        assert_eq!(statuses(&w)[0].len(), 2);
    }

    #[test]
    fn associations_follow_ec2s_order_of_things() {
        let mut w = world();
        let now = w.now();
        let rs = w
            .create_route_server(now, 65000, None, None, false, vec![], None)
            .id;
        assert_eq!(
            w.enable_propagation(now, &rs, "rtb-0123").unwrap_err().code,
            "IncorrectState"
        );
        let a = w.associate(now, &rs, "vpc-0abc").unwrap();
        assert_eq!(a.life.state, "associating");
        assert_eq!(
            w.associate(now, &rs, "vpc-0abc").unwrap_err().code,
            "Resource.AlreadyAssociated"
        );
        assert_eq!(
            w.associate(now, &rs, "vpc-").unwrap_err().code,
            "InvalidVpcID.Malformed"
        );
        // Endpoints created now are in the associated VPC.
        let ep = w
            .create_endpoint(now, &rs, "subnet-01", vec![], None)
            .unwrap();
        assert_eq!(ep.vpc_id, "vpc-0abc");
        assert_eq!(
            w.delete_route_server(now, &rs).unwrap_err().code,
            "DependencyViolation"
        );
        assert_eq!(
            w.disassociate(now, &rs, "vpc-0abc").unwrap_err().code,
            "DependencyViolation"
        );
        assert_eq!(
            w.disassociate(now, &rs, "vpc-0def").unwrap_err().code,
            "InvalidRouteServerAssociation.NotFound"
        );
        w.delete_endpoint(now, &ep.id).unwrap();
        assert_eq!(
            w.disassociate(now, &rs, "vpc-0abc").unwrap().life.state,
            "disassociating"
        );
        w.advance_clock(1.0).unwrap();
        assert!(w.route_servers.get(&rs).unwrap().association.is_none());
        assert_eq!(
            w.delete_route_server(w.now(), &rs).unwrap().life.state,
            "deleting"
        );
    }

    #[test]
    fn the_clock_moves_lifecycles_and_refuses_bad_values() {
        let mut w = World::new(Timing {
            transition: Duration::from_secs(30),
            deleted_retention: Duration::from_secs(600),
        });
        let rs = w
            .create_route_server(w.now(), 65000, None, None, false, vec![], None)
            .id;
        w.advance_clock(29.0).unwrap();
        assert_eq!(w.route_servers.get(&rs).unwrap().life.state, "pending");
        assert_eq!(w.advance_clock(1.5).unwrap(), Duration::from_millis(30_500));
        assert_eq!(w.route_servers.get(&rs).unwrap().life.state, "available");
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(w.advance_clock(bad).is_err(), "{bad}");
        }
        assert_eq!(w.clock_offset(), Duration::from_millis(30_500));
        w.reset();
        assert_eq!(w.clock_offset(), Duration::ZERO);
    }

    #[test]
    fn a_routed_fleet_of_ten_thousand_peers_stays_fast() {
        let mut w = world();
        let started = Instant::now();
        let ids = w.create_fleet_with(
            w.now(),
            Fleet {
                route_servers: 50,
                peers_per_route_server: 200,
                seed: Some(1),
                routes_per_peer: 20,
                persist_routes: true,
            },
        );
        let total: usize = ids
            .route_server_ids
            .iter()
            .map(|rs| w.rib(rs).unwrap().view().len())
            .sum();
        assert_eq!(total, 50 * 200 * 20);
        // A change recomputes one route server, not the fleet.
        down(&mut w, &ids.peer_ids[0]);
        // Generous: an unoptimised build on a busy two-core machine.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
}
