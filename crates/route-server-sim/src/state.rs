//! The simulator's in-memory model of route servers, endpoints and peers, and the
//! EC2 semantics on them (ids, lifecycle, filters, paging). Knows nothing of HTTP.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::Ec2Error;

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

impl Lifecycle {
    fn starting(now: Instant, timing: &Timing) -> Self {
        Lifecycle {
            state: "pending".into(),
            next: Some((now + timing.transition, "available")),
            deleted_at: None,
        }
    }

    fn available() -> Self {
        Lifecycle {
            state: "available".into(),
            next: None,
            deleted_at: None,
        }
    }

    fn delete(&mut self, now: Instant, timing: &Timing) {
        self.state = "deleting".into();
        self.next = Some((now + timing.transition, "deleted"));
    }

    /// Sets the state by hand (control API): cancels whatever was scheduled.
    fn force(&mut self, state: &str, now: Instant) {
        self.state = state.to_string();
        self.next = None;
        self.deleted_at = (state == "deleted").then_some(now);
    }

    fn settle(&mut self, now: Instant) {
        if let Some((at, next)) = self.next
            && at <= now
        {
            self.state = next.to_string();
            self.next = None;
            if next == "deleted" {
                self.deleted_at = Some(at);
            }
        }
    }

    fn expired(&self, now: Instant, timing: &Timing) -> bool {
        self.deleted_at
            .is_some_and(|at| at + timing.deleted_retention <= now)
    }

    fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "deleting" | "deleted")
    }
}

#[derive(Debug, Clone)]
pub struct RouteServer {
    pub id: String,
    pub amazon_side_asn: i64,
    pub vpc_id: String,
    pub persist_routes: String,
    pub persist_routes_duration: Option<i64>,
    pub sns_topic_arn: Option<String>,
    pub life: Lifecycle,
    pub tags: Vec<(String, String)>,
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
            "persist-routes-state" => self.persist_routes.clone(),
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

fn glob(pattern: &str, value: &str) -> bool {
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
    fn remove(&mut self, id: &str) -> Option<T> {
        self.seq_of.remove(id).and_then(|s| self.by_seq.remove(&s))
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

/// Every resource the simulator holds.
#[derive(Debug)]
pub struct World {
    pub timing: Timing,
    pub route_servers: Table<RouteServer>,
    pub endpoints: Table<Endpoint>,
    pub peers: Table<Peer>,
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

pub struct NewPeer {
    pub endpoint_id: String,
    pub peer_address: String,
    pub peer_asn: i64,
    pub liveness: String,
    pub tags: Vec<(String, String)>,
}

impl World {
    pub fn new(timing: Timing) -> Self {
        World {
            timing,
            route_servers: Table::default(),
            endpoints: Table::default(),
            peers: Table::default(),
            seq: 0,
            subnets: HashMap::new(),
            rng: fastrand::Rng::new(),
        }
    }

    pub fn reset(&mut self) {
        *self = World::new(self.timing);
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

    /// Moves every lifecycle along to `now` and forgets deleted resources past retention.
    pub fn settle(&mut self, now: Instant) {
        let timing = self.timing;
        fn sweep<T>(
            t: &mut Table<T>,
            now: Instant,
            timing: &Timing,
            life: fn(&mut T) -> &mut Lifecycle,
            id: fn(&T) -> &str,
        ) {
            let mut expired = Vec::new();
            for item in t.by_seq.values_mut() {
                let l = life(item);
                l.settle(now);
                if l.expired(now, timing) {
                    expired.push(id(item).to_string());
                }
            }
            for gone in expired {
                t.remove(&gone);
            }
        }
        sweep(
            &mut self.route_servers,
            now,
            &timing,
            |r| &mut r.life,
            |r| &r.id,
        );
        sweep(
            &mut self.endpoints,
            now,
            &timing,
            |e| &mut e.life,
            |e| &e.id,
        );
        sweep(&mut self.peers, now, &timing, |p| &mut p.life, |p| &p.id);
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
        let persist = match persist_routes.as_deref() {
            Some("enable") => "enabled",
            _ => "disabled",
        };
        let rs = RouteServer {
            sns_topic_arn: sns.then(|| format!("arn:aws:sns:us-east-1:123456789012:{id}")),
            id: id.clone(),
            amazon_side_asn,
            vpc_id,
            persist_routes: persist.into(),
            persist_routes_duration,
            life: Lifecycle::starting(now, &self.timing),
            tags,
        };
        let seq = self.next_seq();
        self.route_servers.insert(seq, id, rs.clone());
        rs
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
        };
        let seq = self.next_seq();
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
        Ok(peer.clone())
    }

    pub fn patch_peer(&mut self, now: Instant, id: &str, patch: PeerPatch) -> Option<PeerView> {
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
        Some(PeerView::from(&*peer))
    }

    /// Drops a peer from every listing at once, as if it had never existed.
    pub fn vanish_peer(&mut self, id: &str) -> Option<PeerView> {
        self.peers.remove(id).map(|p| PeerView::from(&p))
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
        let mut rng = match seed {
            Some(s) => fastrand::Rng::with_seed(s),
            None => self.rng.fork(),
        };
        let mut ids = Vec::with_capacity((route_servers * peers_per_route_server) as usize);
        let mut peer_index: u64 = 0;
        for r in 0..route_servers {
            let tags = vec![("Name".to_string(), format!("fleet-rs-{r}"))];
            let rs = self.create_route_server(now, 64512, None, None, false, tags, Some(&mut rng));
            self.route_servers
                .get_mut(&rs.id)
                .expect("just created")
                .life = Lifecycle::available();
            let mut endpoints = Vec::new();
            for e in 0..2 {
                let subnet = Self::new_id(&mut rng, "subnet-");
                let tags = vec![("Name".to_string(), format!("fleet-rs-{r}-ep-{e}"))];
                let ep = self
                    .create_endpoint(now, &rs.id, &subnet, tags, Some(&mut rng))
                    .expect("route server was just created");
                self.endpoints.get_mut(&ep.id).expect("just created").life = Lifecycle::available();
                endpoints.push(ep.id);
            }
            for p in 0..peers_per_route_server {
                let ep_id = &endpoints[(p % 2) as usize];
                let address = self
                    .endpoints
                    .get_mut(ep_id)
                    .expect("just created")
                    .allocate_address();
                let new = NewPeer {
                    endpoint_id: ep_id.clone(),
                    peer_address: address,
                    peer_asn: 65001 + i64::from(p % 1000),
                    liveness: if peer_index.is_multiple_of(2) {
                        "bfd"
                    } else {
                        "bgp-keepalive"
                    }
                    .into(),
                    tags: vec![("Name".to_string(), format!("fleet-rs-{r}-peer-{p}"))],
                };
                peer_index += 1;
                let peer = self
                    .create_peer(now, new, Some(&mut rng))
                    .expect("endpoint was just created");
                let stored = self.peers.get_mut(&peer.id).expect("just created");
                stored.life = Lifecycle::available();
                stored.bgp_status = "up".into();
                stored.bfd_status = "up".into();
                ids.push(peer.id);
            }
        }
        ids
    }
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
}
