//! The simulator's log of every change a peer, endpoint or route server went through (created,
//! changed, removed), and of every move of each route server's FIB, so a checker can compare
//! peerwatch's history with what the fleet really did. Off until `POST /_sim/log` turns it on:
//! diffing the fleet after each request costs a pass over every peer, which the benchmarks'
//! large fleets should not pay.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::routing::{Install, Prefix};
use super::state::World;

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

    pub fn stop(&mut self) {
        *self = ChangeLog::default();
    }

    /// Appends whatever differs between the last observation and `world` now.
    pub fn observe(&mut self, world: &World) {
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
}
