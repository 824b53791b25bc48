//! The simulator's log of every change a peer, endpoint or route server went through (created,
//! changed, removed), and of every move of each route server's FIB, so a checker can compare
//! peerwatch's history with what the fleet really did. Off until `POST /_sim/log` turns it on:
//! diffing the fleet after each request costs a pass over every peer, which the benchmarks'
//! large fleets should not pay.
//!
//! Beside it, always on, the peer log: the `EVENT_LOGS` records route server peer logging
//! would have delivered (BGP and BFD status, routes advertised and withdrawn). It diffs only
//! the route servers whose routing was recomputed, so it costs the large fleets nothing while
//! they stand still.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::routing::{Advert, Install, PeerRef, Prefix};
use super::state::{Peer, World, peer_arn};

/// The fields peerwatch records, as EC2 shows them (`None`: EC2 omits the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerValues {
    pub state: String,
    pub bgp_status: Option<String>,
    pub bfd_status: Option<String>,
    pub peer_liveness_detection: String,
}

/// One change of one peer. `from` is absent for `created`, `to` for `removed`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub seq: u64,
    /// Unix milliseconds when the simulator made the change visible to EC2 callers.
    pub at_ms: i64,
    pub route_server_peer_id: String,
    pub kind: &'static str,
    pub from: Option<PeerValues>,
    pub to: Option<PeerValues>,
}

/// An endpoint's fields as EC2 shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointValues {
    pub state: String,
    pub failure_reason: Option<String>,
}

/// One change of one endpoint, stamped as peer changes are (its own `seq` run).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointChange {
    pub seq: u64,
    pub at_ms: i64,
    pub route_server_endpoint_id: String,
    pub route_server_id: String,
    pub kind: &'static str,
    pub from: Option<EndpointValues>,
    pub to: Option<EndpointValues>,
}

/// A route server's fields as EC2 shows them, with whether its routes are persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerValues {
    pub state: String,
    pub persist_routes_state: String,
    pub are_routes_persisted: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerChange {
    pub seq: u64,
    pub at_ms: i64,
    pub route_server_id: String,
    pub kind: &'static str,
    pub from: Option<RouteServerValues>,
    pub to: Option<RouteServerValues>,
}

/// The in-fib route of one prefix: where it goes and how each route table took it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FibValues {
    pub route_server_peer_id: String,
    pub next_hop_ip: String,
    pub installations: Vec<Install>,
}

/// One move of one prefix in one route server's FIB: `created` when the prefix gets a best
/// path, `changed` when the path or an installation moves, `removed` when it has none.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FibChange {
    pub seq: u64,
    pub at_ms: i64,
    pub route_server_id: String,
    pub prefix: Prefix,
    pub kind: &'static str,
    pub from: Option<FibValues>,
    pub to: Option<FibValues>,
}

/// One route server's FIB as last seen: prefix -> its in-fib route.
type Fib = HashMap<Prefix, FibValues>;

#[derive(Debug, Default)]
pub struct ChangeLog {
    /// Always on: `POST /_sim/log` and `DELETE /_sim/log` leave it alone, a reset clears it.
    pub peer_log: PeerLog,
    pub enabled: bool,
    pub entries: Vec<Change>,
    seen: HashMap<String, PeerValues>,
    pub endpoint_entries: Vec<EndpointChange>,
    seen_endpoints: HashMap<String, (String, EndpointValues)>,
    pub route_server_entries: Vec<RouteServerChange>,
    seen_route_servers: HashMap<String, RouteServerValues>,
    pub fib_entries: Vec<FibChange>,
    /// Route server id -> the routing generation last diffed, and its FIB then.
    seen_fib: HashMap<String, (u64, Fib)>,
}

/// What differs between `seen` and `now` (in `now`'s order, then what went, sorted), as
/// (key, kind, from, to); `seen` becomes `now`.
fn diff<K: Eq + Hash + Ord + Clone, V: PartialEq + Clone>(
    seen: &mut HashMap<K, V>,
    now: impl Iterator<Item = (K, V)>,
) -> Vec<(K, &'static str, Option<V>, Option<V>)> {
    let mut out = Vec::new();
    let mut present = HashMap::with_capacity(seen.len());
    for (k, v) in now {
        match seen.remove(&k) {
            Some(before) if before == v => {}
            before => {
                let kind = if before.is_some() {
                    "changed"
                } else {
                    "created"
                };
                out.push((k.clone(), kind, before, Some(v.clone())));
            }
        }
        present.insert(k, v);
    }
    let mut gone: Vec<(K, V)> = seen.drain().collect();
    gone.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(gone.into_iter().map(|(k, v)| (k, "removed", Some(v), None)));
    *seen = present;
    out
}

fn endpoint_values(world: &World) -> impl Iterator<Item = (String, (String, EndpointValues))> {
    world.endpoints.values().map(|e| {
        let values = EndpointValues {
            state: e.life.state.clone(),
            failure_reason: e.failure_reason.clone(),
        };
        (e.id.clone(), (e.route_server_id.clone(), values))
    })
}

fn route_server_values(world: &World) -> impl Iterator<Item = (String, RouteServerValues)> {
    world.route_servers.values().map(|rs| {
        let values = RouteServerValues {
            state: rs.life.state.clone(),
            persist_routes_state: rs.persist.state.clone(),
            are_routes_persisted: world.are_routes_persisted(&rs.id),
        };
        (rs.id.clone(), values)
    })
}

fn fib_of(world: &World, route_server_id: &str) -> (u64, BTreeMap<Prefix, FibValues>) {
    match world.rib(route_server_id) {
        None => (0, BTreeMap::new()),
        Some(rib) => {
            let fib = rib
                .fib()
                .map(|r| {
                    let values = FibValues {
                        route_server_peer_id: r.peer.id.clone(),
                        next_hop_ip: r.peer.address.clone(),
                        installations: r.installs.to_vec(),
                    };
                    (r.prefix, values)
                })
                .collect();
            (rib.generation, fib)
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds on the simulator's clock: the wall clock plus what `POST /_sim/clock` added.
pub fn sim_now_ms(world: &World) -> i64 {
    let offset = i64::try_from(world.clock_offset().as_millis()).unwrap_or(i64::MAX);
    now_ms().saturating_add(offset)
}

/// The most peer log records kept; past it the oldest go, so a long run, or a large routed
/// fleet's creation (a record per route of every peer), cannot grow the simulator unbounded.
pub const MAX_PEER_LOG_RECORDS: usize = 100_000;

/// A peer's session as the peer log last showed it.
#[derive(Debug, Clone)]
struct Session {
    info: Arc<PeerRef>,
    /// The last `up`/`down` BGP status seen: any other value leaves it as it was.
    bgp_up: bool,
    /// The same for BFD; `None` when the peer's liveness is not BFD (never logged).
    bfd_up: Option<bool>,
    /// What the peer advertises: its routes while its session is up, nothing otherwise.
    advertised: Arc<Vec<Advert>>,
}

#[derive(Debug, Clone)]
enum Event {
    Bgp(bool),
    Bfd(bool),
    /// `ADVERTISED`, `UPDATED` or `WITHDRAWN`, with the route as advertised (for a withdrawal,
    /// as it was).
    Route(&'static str, Advert),
}

/// One record, kept small: the peer and the route are shared with the world.
#[derive(Debug, Clone)]
struct Entry {
    at_ms: i64,
    peer: Arc<PeerRef>,
    event: Event,
}

/// One `EVENT_LOGS` record, field for field as route server peer logging writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerLogRecord<'a> {
    pub resource_arn: String,
    pub event_timestamp: i64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: &'static str,
    pub message: Option<RouteMessage<'a>>,
}

/// A `RouteStatus` record's route: its AS path as space-separated ASNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteMessage<'a> {
    pub prefix: Prefix,
    pub as_path: String,
    pub med: u32,
    pub next_hop_ip: &'a str,
}

impl Entry {
    fn record(&self) -> PeerLogRecord<'_> {
        let up_down = |up: bool| if up { "UP" } else { "DOWN" };
        let (kind, status, message) = match &self.event {
            Event::Bgp(up) => ("BGPStatus", up_down(*up), None),
            Event::Bfd(up) => ("BFDStatus", up_down(*up), None),
            Event::Route(status, a) => {
                let as_path: Vec<String> = a.as_path.iter().map(u32::to_string).collect();
                let message = RouteMessage {
                    prefix: a.prefix,
                    as_path: as_path.join(" "),
                    med: a.med,
                    next_hop_ip: &self.peer.address,
                };
                ("RouteStatus", *status, Some(message))
            }
        };
        PeerLogRecord {
            resource_arn: peer_arn(&self.peer.id),
            event_timestamp: self.at_ms,
            kind,
            status,
            message,
        }
    }
}

/// The peer log: every record since the last reset (at most [`MAX_PEER_LOG_RECORDS`]), in
/// `event_timestamp` order.
#[derive(Debug)]
pub struct PeerLog {
    entries: VecDeque<Entry>,
    capacity: usize,
    /// Stamps never go back, even if the wall clock does, so the log stays in order.
    last_ms: i64,
    /// The world's routing epoch at the last observation.
    epoch: Option<u64>,
    /// Route server id -> the routing generation last diffed, and its peers' sessions then
    /// (by peer seq).
    seen: HashMap<String, (u64, HashMap<u64, Session>)>,
}

impl Default for PeerLog {
    fn default() -> Self {
        Self::with_capacity(MAX_PEER_LOG_RECORDS)
    }
}

/// `up` and `down` as EC2 writes them; anything else is no value to log.
fn up_down(status: &str) -> Option<bool> {
    match status {
        "up" => Some(true),
        "down" => Some(false),
        _ => None,
    }
}

fn session_of(p: &Peer, before: Option<&Session>, nothing: &Arc<Vec<Advert>>) -> Session {
    let bgp_before = before.is_some_and(|s| s.bgp_up);
    let bfd_before = before.and_then(|s| s.bfd_up).unwrap_or(false);
    Session {
        info: Arc::clone(&p.info),
        bgp_up: up_down(&p.bgp_status).unwrap_or(bgp_before),
        bfd_up: (p.liveness == "bfd").then(|| up_down(&p.bfd_status).unwrap_or(bfd_before)),
        advertised: if p.session_up() {
            Arc::clone(&p.routes)
        } else {
            Arc::clone(nothing)
        },
    }
}

/// The records that take a peer from `before` to `now` (`None`: no session, as before a peer
/// exists and after it is gone): BFD, then BGP, then its routes in the order it lists them,
/// withdrawals of what it no longer lists last.
fn events(before: Option<&Session>, now: Option<&Session>, out: &mut Vec<(Arc<PeerRef>, Event)>) {
    let Some(peer) = now.or(before).map(|s| Arc::clone(&s.info)) else {
        return;
    };
    let bfd = |s: Option<&Session>| s.and_then(|s| s.bfd_up);
    let (bfd_before, bfd_now) = (bfd(before), bfd(now));
    // A peer without BFD liveness has no BFD status to log, whatever it shows.
    if bfd_before.is_some() || bfd_now.is_some() {
        let (was, is) = (bfd_before.unwrap_or(false), bfd_now.unwrap_or(false));
        if was != is {
            out.push((Arc::clone(&peer), Event::Bfd(is)));
        }
    }
    let bgp = |s: Option<&Session>| s.is_some_and(|s| s.bgp_up);
    if bgp(before) != bgp(now) {
        out.push((Arc::clone(&peer), Event::Bgp(bgp(now))));
    }
    let routes = |s: Option<&Session>| s.map(|s| Arc::clone(&s.advertised));
    let (was, is) = (routes(before), routes(now));
    if let (Some(a), Some(b)) = (&was, &is)
        && Arc::ptr_eq(a, b)
    {
        return;
    }
    let mut seen: HashMap<Prefix, Advert> = was
        .iter()
        .flat_map(|r| r.iter())
        .map(|a| (a.prefix, a.clone()))
        .collect();
    let now_routes = is
        .iter()
        .flat_map(|r| r.iter())
        .map(|a| (a.prefix, a.clone()));
    for (_, kind, from, to) in diff(&mut seen, now_routes) {
        let (status, advert) = match (kind, from, to) {
            ("created", _, Some(to)) => ("ADVERTISED", to),
            ("changed", _, Some(to)) => ("UPDATED", to),
            (_, Some(from), _) => ("WITHDRAWN", from),
            _ => continue,
        };
        out.push((Arc::clone(&peer), Event::Route(status, advert)));
    }
}

impl PeerLog {
    /// A log keeping at most `capacity` records (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        PeerLog {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            last_ms: 0,
            epoch: None,
            seen: HashMap::new(),
        }
    }

    /// Appends the records of whatever changed since the last observation. Called after every
    /// change to the world (the world guard does), so each record is stamped when its change
    /// was made.
    pub fn observe(&mut self, world: &World) {
        let epoch = world.routing_epoch();
        if self.epoch == Some(epoch) {
            return;
        }
        self.epoch = Some(epoch);
        let nothing: Arc<Vec<Advert>> = Arc::new(Vec::new());
        let mut out = Vec::new();
        for rs in world.route_servers.values() {
            let generation = world.rib(&rs.id).map_or(0, |r| r.generation);
            // Only route servers whose routing was recomputed can have peers that changed.
            if self.seen.get(&rs.id).is_some_and(|s| s.0 == generation) {
                continue;
            }
            let (seen_generation, sessions) = self.seen.entry(rs.id.clone()).or_default();
            *seen_generation = generation;
            let mut before = std::mem::take(sessions);
            for (seq, p) in world.peers_of_route_server(&rs.id) {
                let was = before.remove(&seq);
                let now = session_of(p, was.as_ref(), &nothing);
                events(was.as_ref(), Some(&now), &mut out);
                sessions.insert(seq, now);
            }
            // Vanished or expired: whatever session it had ends with it.
            let mut gone: Vec<(u64, Session)> = before.into_iter().collect();
            gone.sort_by_key(|(seq, _)| *seq);
            for (_, was) in gone {
                events(Some(&was), None, &mut out);
            }
        }
        // A route server that is gone took its peers with it (they were gone already).
        let mut gone: Vec<String> = self
            .seen
            .keys()
            .filter(|id| world.route_servers.get(id).is_none())
            .cloned()
            .collect();
        gone.sort();
        for id in gone {
            if let Some((_, sessions)) = self.seen.remove(&id) {
                let mut sessions: Vec<(u64, Session)> = sessions.into_iter().collect();
                sessions.sort_by_key(|(seq, _)| *seq);
                for (_, was) in sessions {
                    events(Some(&was), None, &mut out);
                }
            }
        }
        if out.is_empty() {
            return;
        }
        let at_ms = sim_now_ms(world).max(self.last_ms);
        self.last_ms = at_ms;
        // Of a batch larger than the log, only the newest would stay.
        let skip = out.len().saturating_sub(self.capacity);
        for (peer, event) in out.into_iter().skip(skip) {
            if self.entries.len() == self.capacity {
                self.entries.pop_front();
            }
            self.entries.push_back(Entry { at_ms, peer, event });
        }
    }

    /// The records with `event_timestamp >= since` (all of them without), oldest first.
    pub fn records(&self, since: Option<i64>) -> impl Iterator<Item = PeerLogRecord<'_>> {
        let start = since.map_or(0, |t| self.entries.partition_point(|e| e.at_ms < t));
        self.entries.range(start..).map(Entry::record)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl ChangeLog {
    /// Starts (or restarts) logging from `world` as it is now: what exists is the baseline.
    pub fn start(&mut self, world: &World) {
        self.enabled = true;
        self.entries.clear();
        self.seen = world
            .peers
            .values()
            .map(|p| (p.id.clone(), values_of(p)))
            .collect();
        self.endpoint_entries.clear();
        self.seen_endpoints = endpoint_values(world).collect();
        self.route_server_entries.clear();
        self.seen_route_servers = route_server_values(world).collect();
        self.fib_entries.clear();
        self.seen_fib = world
            .route_servers
            .values()
            .map(|rs| {
                let (generation, fib) = fib_of(world, &rs.id);
                (rs.id.clone(), (generation, fib.into_iter().collect()))
            })
            .collect();
    }

    /// Stops the change log and forgets it; the peer log goes on.
    pub fn stop(&mut self) {
        let peer_log = std::mem::take(&mut self.peer_log);
        *self = ChangeLog {
            peer_log,
            ..ChangeLog::default()
        };
    }

    /// Forgets everything, the peer log included (the world was reset).
    pub fn reset(&mut self) {
        *self = ChangeLog::default();
    }

    /// Appends whatever differs between the last observation and `world` now.
    pub fn observe(&mut self, world: &World) {
        self.peer_log.observe(world);
        if !self.enabled {
            return;
        }
        let at_ms = now_ms();
        let mut present = HashMap::with_capacity(self.seen.len());
        for p in world.peers.values() {
            let now = values_of(p);
            match self.seen.remove(&p.id) {
                Some(before) if before == now => {}
                before => {
                    let kind = if before.is_some() {
                        "changed"
                    } else {
                        "created"
                    };
                    self.push(at_ms, &p.id, kind, before, Some(now.clone()));
                }
            }
            present.insert(p.id.clone(), now);
        }
        // Whatever was seen and is no longer listed vanished or expired.
        let mut gone: Vec<(String, PeerValues)> = self.seen.drain().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, before) in gone {
            self.push(at_ms, &id, "removed", Some(before), None);
        }
        self.seen = present;
        self.observe_others(world, at_ms);
    }

    /// Endpoints, route servers and FIBs, each in its own list with its own `seq` run (the
    /// peers' list stays as its readers know it).
    fn observe_others(&mut self, world: &World, at_ms: i64) {
        for (id, kind, from, to) in diff(&mut self.seen_endpoints, endpoint_values(world)) {
            let route_server_id = to.as_ref().or(from.as_ref()).map(|v| v.0.clone());
            self.endpoint_entries.push(EndpointChange {
                seq: self.endpoint_entries.len() as u64 + 1,
                at_ms,
                route_server_endpoint_id: id,
                route_server_id: route_server_id.unwrap_or_default(),
                kind,
                from: from.map(|v| v.1),
                to: to.map(|v| v.1),
            });
        }
        for (id, kind, from, to) in diff(&mut self.seen_route_servers, route_server_values(world)) {
            self.route_server_entries.push(RouteServerChange {
                seq: self.route_server_entries.len() as u64 + 1,
                at_ms,
                route_server_id: id,
                kind,
                from,
                to,
            });
        }
        // Only route servers whose routing was recomputed since the last look can have moved.
        let mut fibs = HashMap::with_capacity(self.seen_fib.len());
        for rs in world.route_servers.values() {
            let generation = world.rib(&rs.id).map_or(0, |r| r.generation);
            let seen = match self.seen_fib.remove(&rs.id) {
                Some((g, fib)) if g == generation => fib,
                before => {
                    let mut seen = before.map(|b| b.1).unwrap_or_default();
                    let (_, now) = fib_of(world, &rs.id);
                    for (prefix, kind, from, to) in diff(&mut seen, now.into_iter()) {
                        self.push_fib(at_ms, &rs.id, prefix, kind, from, to);
                    }
                    seen
                }
            };
            fibs.insert(rs.id.clone(), (generation, seen));
        }
        // Route servers no longer listed took their FIB with them.
        let mut gone: Vec<(String, (u64, Fib))> = self.seen_fib.drain().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, (_, fib)) in gone {
            let mut fib: Vec<(Prefix, FibValues)> = fib.into_iter().collect();
            fib.sort_by_key(|(p, _)| *p);
            for (prefix, before) in fib {
                self.push_fib(at_ms, &id, prefix, "removed", Some(before), None);
            }
        }
        self.seen_fib = fibs;
    }

    fn push_fib(
        &mut self,
        at_ms: i64,
        route_server_id: &str,
        prefix: Prefix,
        kind: &'static str,
        from: Option<FibValues>,
        to: Option<FibValues>,
    ) {
        self.fib_entries.push(FibChange {
            seq: self.fib_entries.len() as u64 + 1,
            at_ms,
            route_server_id: route_server_id.to_string(),
            prefix,
            kind,
            from,
            to,
        });
    }

    fn push(
        &mut self,
        at_ms: i64,
        id: &str,
        kind: &'static str,
        from: Option<PeerValues>,
        to: Option<PeerValues>,
    ) {
        self.entries.push(Change {
            seq: self.entries.len() as u64 + 1,
            at_ms,
            route_server_peer_id: id.to_string(),
            kind,
            from,
            to,
        });
    }
}

fn values_of(p: &super::state::Peer) -> PeerValues {
    // An empty status is how the control API asks for EC2 to omit the field.
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    PeerValues {
        state: p.life.state.clone(),
        bgp_status: opt(&p.bgp_status),
        bfd_status: opt(&p.bfd_status),
        peer_liveness_detection: p.liveness.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{PeerPatch, Timing};
    use std::time::Instant;

    #[test]
    fn logs_creation_change_and_removal_once_each() {
        let mut w = World::new(Timing::default());
        let mut log = ChangeLog::default();
        log.start(&w);
        let ids = w.create_fleet(Instant::now(), 1, 2, Some(1));
        log.observe(&w);
        log.observe(&w);
        assert_eq!(log.entries.len(), 2);
        assert!(log.entries.iter().all(|c| c.kind == "created"));
        let patch = PeerPatch {
            state: None,
            failure_reason: None,
            bgp_status: Some("down".into()),
            bfd_status: None,
            tags: None,
        };
        w.patch_peer(Instant::now(), &ids[0], patch);
        w.vanish_peer(Instant::now(), &ids[1]);
        log.observe(&w);
        let kinds: Vec<&str> = log.entries.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, ["created", "created", "changed", "removed"]);
        let change = &log.entries[2];
        assert_eq!(
            change.from.as_ref().unwrap().bgp_status.as_deref(),
            Some("up")
        );
        assert_eq!(
            change.to.as_ref().unwrap().bgp_status.as_deref(),
            Some("down")
        );
        assert_eq!(log.entries[3].seq, 4);
    }

    #[test]
    fn logs_endpoints_route_servers_and_fib_moves_in_their_own_lists() {
        use crate::state::{EndpointPatch, Fleet};
        let mut w = World::new(Timing::default());
        let ids = w.create_fleet_with(
            w.now(),
            Fleet {
                route_servers: 1,
                peers_per_route_server: 2,
                seed: Some(2),
                routes_per_peer: 2,
                persist_routes: true,
            },
        );
        let rs = ids.route_server_ids[0].clone();
        let mut log = ChangeLog::default();
        log.start(&w);
        let down = |w: &mut World, id: &str| {
            let patch = PeerPatch {
                bgp_status: Some("down".into()),
                ..Default::default()
            };
            w.patch_peer(w.now(), id, patch);
        };
        // The best peer drops: both prefixes move to the backup.
        down(&mut w, &ids.peer_ids[0]);
        log.observe(&w);
        let moved: Vec<_> = log
            .fib_entries
            .iter()
            .map(|c| {
                (
                    c.prefix.to_string(),
                    c.kind,
                    c.to.as_ref().unwrap().route_server_peer_id.clone(),
                )
            })
            .collect();
        assert_eq!(
            moved,
            [
                ("100.64.0.0/24".into(), "changed", ids.peer_ids[1].clone()),
                ("100.64.1.0/24".into(), "changed", ids.peer_ids[1].clone()),
            ]
        );
        let to = log.fib_entries[0].to.as_ref().unwrap();
        assert_eq!(to.installations.len(), 2);
        assert!(to.installations.iter().all(|i| i.status == "installed"));
        // The last one drops: persisted, so the FIB stays and the route server says so.
        down(&mut w, &ids.peer_ids[1]);
        log.observe(&w);
        assert_eq!(log.fib_entries.len(), 2);
        let rs_change = log.route_server_entries.last().unwrap();
        assert_eq!(
            (rs_change.route_server_id.as_str(), rs_change.kind),
            (rs.as_str(), "changed")
        );
        assert!(rs_change.to.as_ref().unwrap().are_routes_persisted);
        // Persisted routes dropped by a reset: the FIB empties, one removal per prefix.
        let reset = crate::state::RouteServerModification {
            persist_routes: Some("reset".into()),
            ..Default::default()
        };
        w.modify_route_server(w.now(), &rs, reset).unwrap();
        log.observe(&w);
        let kinds: Vec<_> = log.fib_entries[2..]
            .iter()
            .map(|c| (c.kind, c.to.is_none()))
            .collect();
        assert_eq!(kinds, [("removed", true), ("removed", true)]);
        // Endpoints: a failure reason shows, with the route server it belongs to.
        let ep = w.endpoints.values().next().unwrap().id.clone();
        let patch = EndpointPatch {
            state: Some("failed".into()),
            failure_reason: Some(Some("ENI detached".into())),
        };
        w.patch_endpoint(w.now(), &ep, patch);
        log.observe(&w);
        let e = log.endpoint_entries.last().unwrap();
        assert_eq!(
            (
                e.route_server_endpoint_id.as_str(),
                e.route_server_id.as_str()
            ),
            (ep.as_str(), rs.as_str())
        );
        assert_eq!(
            e.to.as_ref().unwrap().failure_reason.as_deref(),
            Some("ENI detached")
        );
        // Each list counts its own; the peers' is as it always was.
        assert_eq!(
            log.fib_entries.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(
            log.entries.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [1, 2]
        );
        // Nothing new, nothing logged.
        let counts = (
            log.entries.len(),
            log.endpoint_entries.len(),
            log.route_server_entries.len(),
            log.fib_entries.len(),
        );
        log.observe(&w);
        assert_eq!(
            counts,
            (
                log.entries.len(),
                log.endpoint_entries.len(),
                log.route_server_entries.len(),
                log.fib_entries.len()
            )
        );
    }

    /// (peer id, type, status, prefix) of every record, oldest first.
    fn brief(log: &PeerLog) -> Vec<(String, &'static str, &'static str, Option<String>)> {
        log.records(None)
            .map(|r| {
                let id = r.resource_arn.rsplit('/').next().unwrap().to_string();
                (
                    id,
                    r.kind,
                    r.status,
                    r.message.map(|m| m.prefix.to_string()),
                )
            })
            .collect()
    }

    /// The records past the first `from`, briefly.
    fn since_index(
        log: &PeerLog,
        from: usize,
    ) -> Vec<(String, &'static str, &'static str, Option<String>)> {
        brief(log).split_off(from)
    }

    fn rec(
        id: &str,
        kind: &'static str,
        status: &'static str,
        prefix: Option<&str>,
    ) -> (String, &'static str, &'static str, Option<String>) {
        (id.to_string(), kind, status, prefix.map(str::to_string))
    }

    fn patch(w: &mut World, id: &str, bgp: Option<&str>, bfd: Option<&str>) {
        let patch = PeerPatch {
            bgp_status: bgp.map(str::to_string),
            bfd_status: bfd.map(str::to_string),
            ..Default::default()
        };
        w.patch_peer(w.now(), id, patch).unwrap();
    }

    fn routed(w: &mut World, peers: u32, routes: u32) -> Vec<String> {
        let fleet = crate::state::Fleet {
            route_servers: 1,
            peers_per_route_server: peers,
            seed: Some(4),
            routes_per_peer: routes,
            persist_routes: false,
        };
        w.create_fleet_with(w.now(), fleet).peer_ids
    }

    fn adverts(list: &[(&str, &[u32], u32)]) -> Vec<Advert> {
        crate::routing::check_adverts(
            list.iter()
                .map(|(p, path, med)| (p.to_string(), path.to_vec(), *med)),
        )
        .unwrap()
    }

    #[test]
    fn a_fleet_comes_up_with_bfd_bgp_and_its_routes_in_the_exact_record_format() {
        let mut w = World::new(Timing::default());
        let mut log = PeerLog::default();
        let before = sim_now_ms(&w);
        let ids = routed(&mut w, 2, 2);
        log.observe(&w);
        let after = sim_now_ms(&w);
        // Peer 0's liveness is BFD, peer 1's BGP keepalives: no BFD record for it.
        assert_eq!(
            brief(&log),
            [
                rec(&ids[0], "BFDStatus", "UP", None),
                rec(&ids[0], "BGPStatus", "UP", None),
                rec(&ids[0], "RouteStatus", "ADVERTISED", Some("100.64.0.0/24")),
                rec(&ids[0], "RouteStatus", "ADVERTISED", Some("100.64.1.0/24")),
                rec(&ids[1], "BGPStatus", "UP", None),
                rec(&ids[1], "RouteStatus", "ADVERTISED", Some("100.64.0.0/24")),
                rec(&ids[1], "RouteStatus", "ADVERTISED", Some("100.64.1.0/24")),
            ]
        );
        let records: Vec<_> = log.records(None).collect();
        let at = records[0].event_timestamp;
        assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
        assert!(records.iter().all(|r| r.event_timestamp == at));
        let p1 = w.peers.get(&ids[1]).unwrap();
        let expected = format!(
            concat!(
                r#"{{"resource_arn":"arn:aws:ec2:us-east-1:123456789012:route-server-peer/{}","#,
                r#""event_timestamp":{},"type":"RouteStatus","status":"ADVERTISED","#,
                r#""message":{{"prefix":"100.64.1.0/24","asPath":"{} {}","med":0,"nextHopIp":"{}"}}}}"#
            ),
            ids[1], at, p1.peer_asn, p1.peer_asn, p1.peer_address
        );
        assert_eq!(serde_json::to_string(&records[6]).unwrap(), expected);
        let expected = format!(
            concat!(
                r#"{{"resource_arn":"arn:aws:ec2:us-east-1:123456789012:route-server-peer/{}","#,
                r#""event_timestamp":{},"type":"BFDStatus","status":"UP","message":null}}"#
            ),
            ids[0], at
        );
        assert_eq!(serde_json::to_string(&records[0]).unwrap(), expected);
        // Nothing changed, nothing logged; reads leave the routing (and the log) alone.
        log.observe(&w);
        let _ = w.peer_routes(&ids[0]);
        log.observe(&w);
        assert_eq!(log.len(), 7);
    }

    #[test]
    fn statuses_are_logged_when_their_up_or_down_value_changes() {
        let mut w = World::new(Timing::default());
        let ids = routed(&mut w, 2, 1);
        let mut log = PeerLog::default();
        log.observe(&w);
        let mark = log.len();
        let (bfd_peer, keepalive_peer) = (&ids[0], &ids[1]);
        // BGP down: its routes go with the session; BFD stays up.
        patch(&mut w, bfd_peer, Some("down"), None);
        log.observe(&w);
        // The same value again: no change, no record.
        patch(&mut w, bfd_peer, Some("down"), None);
        log.observe(&w);
        patch(&mut w, bfd_peer, None, Some("down"));
        log.observe(&w);
        // Neither up nor down: nothing to log, and the next value is compared with `down`.
        patch(&mut w, bfd_peer, None, Some("admin-down"));
        log.observe(&w);
        patch(&mut w, bfd_peer, None, Some("up"));
        log.observe(&w);
        patch(&mut w, bfd_peer, None, Some(""));
        log.observe(&w);
        patch(&mut w, bfd_peer, None, Some("up"));
        log.observe(&w);
        patch(&mut w, bfd_peer, Some("up"), None);
        log.observe(&w);
        // A peer without BFD liveness never has a BFD record.
        patch(&mut w, keepalive_peer, None, Some("down"));
        log.observe(&w);
        // Not `up` (EC2 writes lower case): no BGP record, yet no session to carry routes; back
        // to `up` is no change from the last `up` logged, but the routes return.
        patch(&mut w, keepalive_peer, Some("DOWN"), None);
        log.observe(&w);
        patch(&mut w, keepalive_peer, Some("up"), None);
        log.observe(&w);
        // Not `available`: the same, though BGP still says up.
        let failed = PeerPatch {
            state: Some("failed".into()),
            ..Default::default()
        };
        w.patch_peer(w.now(), keepalive_peer, failed);
        log.observe(&w);
        let withdrawn = rec(
            keepalive_peer,
            "RouteStatus",
            "WITHDRAWN",
            Some("100.64.0.0/24"),
        );
        let advertised = rec(
            keepalive_peer,
            "RouteStatus",
            "ADVERTISED",
            Some("100.64.0.0/24"),
        );
        assert_eq!(
            since_index(&log, mark),
            [
                rec(bfd_peer, "BGPStatus", "DOWN", None),
                rec(bfd_peer, "RouteStatus", "WITHDRAWN", Some("100.64.0.0/24")),
                rec(bfd_peer, "BFDStatus", "DOWN", None),
                rec(bfd_peer, "BFDStatus", "UP", None),
                rec(bfd_peer, "BGPStatus", "UP", None),
                rec(bfd_peer, "RouteStatus", "ADVERTISED", Some("100.64.0.0/24")),
                withdrawn.clone(),
                advertised,
                withdrawn,
            ]
        );
    }

    #[test]
    fn route_changes_are_advertised_updated_and_withdrawn_while_the_session_is_up() {
        let mut w = World::new(Timing::default());
        let ids = routed(&mut w, 1, 0);
        let id = &ids[0];
        let mut log = PeerLog::default();
        log.observe(&w);
        let mark = log.len();
        let set = |w: &mut World, list: &[(&str, &[u32], u32)]| {
            w.set_peer_routes(w.now(), id, adverts(list)).unwrap();
        };
        set(
            &mut w,
            &[
                ("10.1.0.0/16", &[65001], 0),
                ("10.2.0.0/16", &[65001, 65002], 5),
            ],
        );
        log.observe(&w);
        set(
            &mut w,
            &[
                ("10.3.0.0/16", &[65001], 0),
                ("10.2.0.0/16", &[65001, 65002], 7),
            ],
        );
        log.observe(&w);
        // The same routes again (a new list, equal): nothing moved.
        set(
            &mut w,
            &[
                ("10.3.0.0/16", &[65001], 0),
                ("10.2.0.0/16", &[65001, 65002], 7),
            ],
        );
        log.observe(&w);
        // A longer AS path is an update too.
        set(
            &mut w,
            &[
                ("10.3.0.0/16", &[65001, 65009], 0),
                ("10.2.0.0/16", &[65001, 65002], 7),
            ],
        );
        log.observe(&w);
        set(&mut w, &[]);
        log.observe(&w);
        assert_eq!(
            since_index(&log, mark),
            [
                rec(id, "RouteStatus", "ADVERTISED", Some("10.1.0.0/16")),
                rec(id, "RouteStatus", "ADVERTISED", Some("10.2.0.0/16")),
                rec(id, "RouteStatus", "ADVERTISED", Some("10.3.0.0/16")),
                rec(id, "RouteStatus", "UPDATED", Some("10.2.0.0/16")),
                rec(id, "RouteStatus", "WITHDRAWN", Some("10.1.0.0/16")),
                rec(id, "RouteStatus", "UPDATED", Some("10.3.0.0/16")),
                rec(id, "RouteStatus", "WITHDRAWN", Some("10.2.0.0/16")),
                rec(id, "RouteStatus", "WITHDRAWN", Some("10.3.0.0/16")),
            ]
        );
        let messages: Vec<_> = log
            .records(None)
            .skip(mark)
            .map(|r| {
                let m = r.message.unwrap();
                (m.as_path, m.med)
            })
            .collect();
        assert_eq!(
            messages,
            [
                ("65001".to_string(), 0),
                ("65001 65002".to_string(), 5),
                ("65001".to_string(), 0),
                ("65001 65002".to_string(), 7),
                // A withdrawal shows the route as it was.
                ("65001".to_string(), 0),
                ("65001 65009".to_string(), 0),
                ("65001 65002".to_string(), 7),
                ("65001 65009".to_string(), 0),
            ]
        );
        // While the session is down, a new list is no advertisement; it is once it is back.
        let mark = log.len();
        patch(&mut w, id, Some("down"), None);
        set(&mut w, &[("10.4.0.0/16", &[65001], 0)]);
        log.observe(&w);
        patch(&mut w, id, Some("up"), None);
        log.observe(&w);
        assert_eq!(
            since_index(&log, mark),
            [
                rec(id, "BGPStatus", "DOWN", None),
                rec(id, "BGPStatus", "UP", None),
                rec(id, "RouteStatus", "ADVERTISED", Some("10.4.0.0/16")),
            ]
        );
    }

    #[test]
    fn peers_created_down_deleted_and_vanished_log_their_sessions() {
        use crate::state::NewPeer;
        let mut w = World::new(Timing {
            transition: std::time::Duration::from_millis(100),
            deleted_retention: std::time::Duration::from_secs(10),
        });
        let ids = routed(&mut w, 2, 1);
        let mut log = PeerLog::default();
        log.observe(&w);
        let mark = log.len();
        // Deleting takes the session down: BFD, BGP, then the routes.
        w.delete_peer(w.now(), &ids[0]).unwrap();
        log.observe(&w);
        // Vanishing ends the session as well.
        w.vanish_peer(w.now(), &ids[1]).unwrap();
        log.observe(&w);
        // A peer created through EC2 is down: nothing to log until its session comes up.
        let endpoint = w.endpoints.values().next().unwrap().id.clone();
        let new = NewPeer {
            endpoint_id: endpoint,
            peer_address: "10.9.9.9".into(),
            peer_asn: 65100,
            liveness: "bfd".into(),
            tags: vec![],
        };
        let fresh = w.create_peer(w.now(), new, None).unwrap().id;
        log.observe(&w);
        w.set_peer_routes(w.now(), &fresh, adverts(&[("10.5.0.0/16", &[65100], 3)]))
            .unwrap();
        log.observe(&w);
        // BGP up while still pending: the status is logged, the routes wait for `available`.
        patch(&mut w, &fresh, Some("up"), None);
        log.observe(&w);
        w.settle(w.now() + std::time::Duration::from_millis(150));
        log.observe(&w);
        // The deleted peer expiring says nothing more: its session was over.
        w.settle(w.now() + std::time::Duration::from_secs(11));
        log.observe(&w);
        assert!(w.peers.get(&ids[0]).is_none());
        assert_eq!(
            since_index(&log, mark),
            [
                rec(&ids[0], "BFDStatus", "DOWN", None),
                rec(&ids[0], "BGPStatus", "DOWN", None),
                rec(&ids[0], "RouteStatus", "WITHDRAWN", Some("100.64.0.0/24")),
                rec(&ids[1], "BGPStatus", "DOWN", None),
                rec(&ids[1], "RouteStatus", "WITHDRAWN", Some("100.64.0.0/24")),
                rec(&fresh, "BGPStatus", "UP", None),
                rec(&fresh, "RouteStatus", "ADVERTISED", Some("10.5.0.0/16")),
            ]
        );
        let last = log.records(None).last().unwrap();
        assert_eq!(last.message.unwrap().next_hop_ip, "10.9.9.9");
    }

    #[test]
    fn stamps_follow_the_simulators_clock_never_go_back_and_since_filters_them() {
        let mut w = World::new(Timing::default());
        let ids = routed(&mut w, 3, 0);
        let mut log = PeerLog::default();
        log.observe(&w);
        let first = log.records(None).next().unwrap().event_timestamp;
        w.advance_clock(3600.0).unwrap();
        let before = now_ms() + 3_600_000;
        // A batch: every peer's change in one observation, one stamp, in creation order.
        let down = |id: &String| {
            let patch = PeerPatch {
                bgp_status: Some("down".into()),
                ..Default::default()
            };
            (id.clone(), patch)
        };
        w.patch_peers(w.now(), ids.iter().map(down).collect())
            .unwrap();
        log.observe(&w);
        let after = now_ms() + 3_600_000;
        let batch: Vec<_> = log.records(None).skip(5).collect();
        let ats: Vec<i64> = batch.iter().map(|r| r.event_timestamp).collect();
        assert_eq!(ats.len(), 3);
        assert!(ats.iter().all(|at| *at == ats[0]));
        assert!(
            before <= ats[0] && ats[0] <= after,
            "{before} <= {ats:?} <= {after}"
        );
        let order: Vec<&str> = batch
            .iter()
            .map(|r| r.resource_arn.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(order, [ids[0].as_str(), ids[1].as_str(), ids[2].as_str()]);
        // The wall clock going back cannot take a stamp before the last one.
        log.last_ms = i64::MAX - 1;
        patch(&mut w, &ids[0], Some("up"), None);
        log.observe(&w);
        let all: Vec<i64> = log.records(None).map(|r| r.event_timestamp).collect();
        assert!(all.windows(2).all(|p| p[0] <= p[1]), "{all:?}");
        assert_eq!(*all.last().unwrap(), i64::MAX - 1);
        // `since` is inclusive.
        assert_eq!(log.records(Some(first)).count(), 9);
        assert_eq!(log.records(Some(first + 1)).count(), 4);
        assert_eq!(log.records(Some(ats[0])).count(), 4);
        assert_eq!(log.records(Some(ats[0] + 1)).count(), 1);
        assert_eq!(log.records(Some(i64::MAX)).count(), 0);
        assert_eq!(log.records(Some(0)).count(), 9);
    }

    #[test]
    fn the_log_keeps_the_newest_records_up_to_its_capacity() {
        let mut w = World::new(Timing::default());
        let ids = routed(&mut w, 1, 4);
        let mut log = PeerLog::with_capacity(3);
        log.observe(&w);
        assert_eq!(
            brief(&log),
            [
                rec(&ids[0], "RouteStatus", "ADVERTISED", Some("100.64.1.0/24")),
                rec(&ids[0], "RouteStatus", "ADVERTISED", Some("100.64.2.0/24")),
                rec(&ids[0], "RouteStatus", "ADVERTISED", Some("100.64.3.0/24")),
            ]
        );
        patch(&mut w, &ids[0], None, Some("down"));
        log.observe(&w);
        assert_eq!(log.len(), 3);
        assert_eq!(brief(&log)[2], rec(&ids[0], "BFDStatus", "DOWN", None));
        assert_eq!(PeerLog::default().capacity, MAX_PEER_LOG_RECORDS);
    }

    #[test]
    fn the_peer_log_is_always_on_survives_the_change_log_stopping_and_goes_with_a_reset() {
        let mut w = World::new(Timing::default());
        let mut log = ChangeLog::default();
        w.create_fleet(w.now(), 1, 2, Some(1));
        log.observe(&w);
        assert!(!log.enabled && log.entries.is_empty());
        assert_eq!(log.peer_log.len(), 3);
        log.start(&w);
        log.stop();
        assert_eq!(log.peer_log.len(), 3);
        // The world reset, as `POST /_sim/reset` does it: the guard observes, then the log goes.
        w.reset();
        log.observe(&w);
        log.reset();
        assert!(log.peer_log.is_empty());
        // A seeded fleet again: the same ids, logged afresh.
        w.create_fleet(w.now(), 1, 2, Some(1));
        log.observe(&w);
        assert_eq!(log.peer_log.len(), 3);
    }
}
