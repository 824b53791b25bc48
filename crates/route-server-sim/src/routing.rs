//! What the route servers learn and install: each peer's advertised routes, the RIB they make,
//! the best path per prefix (the FIB), its installation in propagated route tables, persisted
//! routes, and the paged routing-database reads. Knows nothing of HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::Ec2Error;
use super::state::{DEFAULT_PAGE_SIZE, Filter, MAX_PAGE_SIZE, MIN_PAGE_SIZE, glob};

/// The most routes one peer may advertise, as AWS limits it.
pub const MAX_ROUTES_PER_PEER: usize = 100;

/// An IPv4 prefix with its host bits zero; orders by network address, then length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    pub net: u32,
    pub len: u8,
}

impl Prefix {
    /// Parses `a.b.c.d/len`, refusing host bits, lengths past 32 and anything but plain digits.
    pub fn parse(s: &str) -> Result<Prefix, String> {
        let bad = || format!("'{s}' is not an IPv4 CIDR block (such as 10.0.0.0/16)");
        let (addr, len) = s.split_once('/').ok_or_else(bad)?;
        // `u8::from_str` takes a leading `+`, which no CIDR block has.
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let len: u8 = len.parse().map_err(|_| bad())?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if len > 32 {
            return Err(bad());
        }
        let net = u32::from(addr);
        if net & !mask(len) != 0 {
            return Err(format!(
                "'{s}' has host bits set (the network is {}/{len})",
                Ipv4Addr::from(net & mask(len))
            ));
        }
        Ok(Prefix { net, len })
    }
}

fn mask(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.net), self.len)
    }
}

impl Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One route a peer advertises. The AS path is shared, as a fleet's peers repeat theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advert {
    pub prefix: Prefix,
    pub as_path: Arc<[u32]>,
    pub med: u32,
}

/// An advert as the control API shows and takes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvertView {
    pub prefix: Prefix,
    pub as_paths: Vec<u32>,
    pub med: u32,
}

impl From<&Advert> for AdvertView {
    fn from(a: &Advert) -> Self {
        AdvertView {
            prefix: a.prefix,
            as_paths: a.as_path.to_vec(),
            med: a.med,
        }
    }
}

/// Orders peer addresses numerically, IPv4 before IPv6 (a peer may have either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AddrKey(u8, u128);

impl AddrKey {
    pub fn of(address: &str) -> AddrKey {
        match address.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => AddrKey(0, u128::from(u32::from(a))),
            Ok(IpAddr::V6(a)) => AddrKey(1, u128::from(a)),
            Err(_) => AddrKey(2, 0),
        }
    }
}

/// What a route says of the peer it came from; fixed for the peer's life, shared by its routes.
#[derive(Debug, PartialEq, Eq)]
pub struct PeerRef {
    pub id: String,
    pub endpoint_id: String,
    pub address: String,
    pub key: AddrKey,
}

/// One route table's copy of an in-fib route: installed, or rejected with a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Install {
    pub route_table_id: String,
    pub status: &'static str,
    pub reason: Option<String>,
}

/// One row of a routing database.
#[derive(Debug, Clone)]
pub struct Route {
    pub prefix: Prefix,
    pub peer: Arc<PeerRef>,
    pub as_path: Arc<[u32]>,
    pub med: u32,
    pub in_fib: bool,
    /// One per propagated route table for an in-fib route; none for an in-rib one.
    pub installs: Arc<[Install]>,
}

/// The order of a routing database, which paging resumes in: prefix, then peer.
type RouteKey<'a> = (Prefix, AddrKey, &'a str);

impl Route {
    fn key(&self) -> RouteKey<'_> {
        (self.prefix, self.peer.key, &self.peer.id)
    }

    /// Best path first: shortest AS path, lowest MED, lowest peer address (the id settles the rest).
    fn preference(&self) -> (usize, u32, AddrKey, &str) {
        (self.as_path.len(), self.med, self.peer.key, &self.peer.id)
    }
}

/// Rejected installations: prefix -> route table -> reason.
pub type Rejections = BTreeMap<Prefix, BTreeMap<String, String>>;

/// The routing database of the peers whose sessions are up: every advert, sorted, with the best
/// path per prefix in the FIB and installed in each of `tables` (unless rejected there).
pub fn compute(
    live: &[(&Arc<PeerRef>, &Arc<Vec<Advert>>)],
    tables: &[&str],
    rejections: &Rejections,
) -> Vec<Route> {
    let none: Arc<[Install]> = Arc::from(Vec::new());
    let installed: Arc<[Install]> = tables
        .iter()
        .map(|t| Install {
            route_table_id: t.to_string(),
            status: "installed",
            reason: None,
        })
        .collect();
    let mut routes: Vec<Route> = Vec::with_capacity(live.iter().map(|(_, a)| a.len()).sum());
    for (peer, adverts) in live {
        for a in adverts.iter() {
            routes.push(Route {
                prefix: a.prefix,
                peer: Arc::clone(peer),
                as_path: Arc::clone(&a.as_path),
                med: a.med,
                in_fib: false,
                installs: Arc::clone(&none),
            });
        }
    }
    routes.sort_unstable_by(|a, b| a.key().cmp(&b.key()));
    let mut start = 0;
    while start < routes.len() {
        let prefix = routes[start].prefix;
        let end = start + routes[start..].partition_point(|r| r.prefix == prefix);
        let best = (start..end)
            .min_by(|&i, &j| routes[i].preference().cmp(&routes[j].preference()))
            .unwrap_or(start);
        let installs = match rejections.get(&prefix) {
            Some(rejected) if tables.iter().any(|t| rejected.contains_key(*t)) => tables
                .iter()
                .map(|t| match rejected.get(*t) {
                    Some(reason) => Install {
                        route_table_id: t.to_string(),
                        status: "rejected",
                        reason: Some(reason.clone()),
                    },
                    None => Install {
                        route_table_id: t.to_string(),
                        status: "installed",
                        reason: None,
                    },
                })
                .collect(),
            _ => Arc::clone(&installed),
        };
        routes[best].in_fib = true;
        routes[best].installs = installs;
        start = end;
    }
    routes
}

/// One route server's routing state: the live database, cached until something it depends on
/// changes, and the FIB it persisted when its last session went down.
#[derive(Debug, Default)]
pub struct Rib {
    /// Set by every change that may move a route; the world recomputes before letting go.
    pub dirty: bool,
    /// Bumped at each recomputation, so a change log diffs only what may have moved.
    pub generation: u64,
    live: Arc<Vec<Route>>,
    persisted: Option<Arc<Vec<Route>>>,
    /// When persisted routes give way to the live ones (a session is up again).
    unpersist_at: Option<Instant>,
}

impl Rib {
    /// Takes the freshly computed live database and applies persistence: `persist` is the
    /// route server's duration when persist-routes is enabled.
    pub fn update(
        &mut self,
        live: Vec<Route>,
        sessions_up: bool,
        persist: Option<Duration>,
        now: Instant,
    ) {
        let before = std::mem::replace(&mut self.live, Arc::new(live));
        match persist {
            None => {
                self.persisted = None;
                self.unpersist_at = None;
            }
            Some(duration) if self.persisted.is_some() => {
                if !sessions_up {
                    // Down again before the wait was over: wait afresh once a session is back.
                    self.unpersist_at = None;
                } else {
                    match self.unpersist_at {
                        None => self.unpersist_at = now.checked_add(duration),
                        Some(at) if at <= now => {
                            self.persisted = None;
                            self.unpersist_at = None;
                        }
                        Some(_) => {}
                    }
                }
            }
            Some(_) => {
                // The last session just went: keep the FIB as it was, installations and all.
                if !sessions_up && before.iter().any(|r| r.in_fib) {
                    let fib: Vec<Route> = before.iter().filter(|r| r.in_fib).cloned().collect();
                    self.persisted = Some(Arc::new(fib));
                }
            }
        }
        self.generation += 1;
        self.dirty = false;
    }

    /// Drops persisted routes at once (persist-routes disabled or reset).
    pub fn unpersist(&mut self) {
        self.persisted = None;
        self.unpersist_at = None;
        self.dirty = true;
    }

    pub fn persisted(&self) -> bool {
        self.persisted.is_some()
    }

    /// Whether the wait after a session came back is over, so the live routes take over.
    pub fn unpersist_due(&self, now: Instant) -> bool {
        self.unpersist_at.is_some_and(|at| at <= now)
    }

    /// What `GetRouteServerRoutingDatabase` shows: the persisted FIB while there is one (the
    /// live RIB is hidden until the routes are refreshed), else the live database.
    pub fn view(&self) -> &[Route] {
        self.persisted.as_deref().unwrap_or(&self.live)
    }

    /// The in-fib routes, one per prefix.
    pub fn fib(&self) -> impl Iterator<Item = &Route> {
        self.view().iter().filter(|r| r.in_fib)
    }
}

/// The filters `GetRouteServerRoutingDatabase` knows.
pub const ROUTE_FILTERS: [&str; 5] = [
    "route-status",
    "prefix",
    "route-server-peer-id",
    "route-server-endpoint-id",
    "next-hop-ip",
];

/// A routing-database read, already checked for types.
#[derive(Debug, Default)]
pub struct RouteQuery {
    pub filters: Vec<Filter>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// One page of a routing database.
pub struct RoutePage<'a> {
    pub routes: Vec<&'a Route>,
    pub next_token: Option<String>,
}

/// Checks a query before anything is read: page size, filter names, token.
pub fn check_query(query: &RouteQuery) -> Result<(), Ec2Error> {
    page_size(query.max_results)?;
    for f in &query.filters {
        if !ROUTE_FILTERS.contains(&f.name.as_str()) {
            return Err(Ec2Error::invalid_parameter(format!(
                "The filter '{}' is invalid",
                f.name
            )));
        }
    }
    if let Some(t) = &query.next_token {
        decode_token(t)?;
    }
    Ok(())
}

fn page_size(max_results: Option<i64>) -> Result<usize, Ec2Error> {
    match max_results {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n) => Ok(n as usize),
        Some(n) => Err(Ec2Error::invalid_parameter(format!(
            "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}."
        ))),
    }
}

/// One page, resuming after the route the token names: the routes are kept sorted, so a page
/// picks up where the last ended even if routes came or went in between.
pub fn page<'a>(routes: &'a [Route], query: &RouteQuery) -> Result<RoutePage<'a>, Ec2Error> {
    check_query(query)?;
    let size = page_size(query.max_results)?;
    let start = match &query.next_token {
        None => 0,
        Some(t) => {
            let (prefix, key, id) = decode_token(t)?;
            routes.partition_point(|r| r.key() <= (prefix, key, id.as_str()))
        }
    };
    let mut out = Vec::new();
    let mut more = false;
    for r in &routes[start..] {
        if !matches(r, &query.filters) {
            continue;
        }
        if out.len() == size {
            more = true;
            break;
        }
        out.push(r);
    }
    let next_token = match (more, out.last()) {
        (true, Some(last)) => Some(encode_token(last)),
        _ => None,
    };
    Ok(RoutePage {
        routes: out,
        next_token,
    })
}

fn matches(r: &Route, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let value = match f.name.as_str() {
            "route-status" => (if r.in_fib { "in-fib" } else { "in-rib" }).to_string(),
            "prefix" => r.prefix.to_string(),
            "route-server-peer-id" => r.peer.id.clone(),
            "route-server-endpoint-id" => r.peer.endpoint_id.clone(),
            "next-hop-ip" => r.peer.address.clone(),
            _ => return false,
        };
        f.values.iter().any(|p| glob(p, &value))
    })
}

const TOKEN_PREFIX: &str = "cm91dGVz";

fn encode_token(r: &Route) -> String {
    let AddrKey(family, addr) = r.peer.key;
    format!(
        "{TOKEN_PREFIX}{:08x}{:02x}{family:x}{addr:032x}.{}",
        r.prefix.net, r.prefix.len, r.peer.id
    )
}

fn decode_token(token: &str) -> Result<(Prefix, AddrKey, String), Ec2Error> {
    let invalid = || Ec2Error::client("InvalidNextToken", "The specified token is invalid.");
    let rest = token.strip_prefix(TOKEN_PREFIX).ok_or_else(invalid)?;
    let (head, id) = rest.split_once('.').ok_or_else(invalid)?;
    if head.len() != 8 + 2 + 1 + 32
        || !head.bytes().all(|b| b.is_ascii_hexdigit())
        || id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(invalid());
    }
    let hex32 = |s: &str| u32::from_str_radix(s, 16).map_err(|_| invalid());
    let net = hex32(&head[..8])?;
    let len = hex32(&head[8..10])?;
    let family = hex32(&head[10..11])?;
    let addr = u128::from_str_radix(&head[11..], 16).map_err(|_| invalid())?;
    let len = u8::try_from(len)
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(invalid)?;
    let family = u8::try_from(family).map_err(|_| invalid())?;
    Ok((Prefix { net, len }, AddrKey(family, addr), id.to_string()))
}

/// Checks a peer's new advertisement: at most [`MAX_ROUTES_PER_PEER`], each prefix once, each
/// AS path non-empty, each MED within EC2's 32-bit signed `med`.
pub fn check_adverts(
    routes: impl IntoIterator<Item = (String, Vec<u32>, u32)>,
) -> Result<Vec<Advert>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, (prefix, as_path, med)) in routes.into_iter().enumerate() {
        let prefix = Prefix::parse(&prefix).map_err(|e| format!("routes[{i}].prefix: {e}"))?;
        if !seen.insert(prefix) {
            return Err(format!("routes[{i}].prefix: {prefix} is listed twice"));
        }
        if as_path.is_empty() {
            return Err(format!("routes[{i}].asPaths must list at least one ASN"));
        }
        if med > i32::MAX as u32 {
            return Err(format!(
                "routes[{i}].med must be at most {} (EC2's med is a 32-bit signed integer)",
                i32::MAX
            ));
        }
        out.push(Advert {
            prefix,
            as_path: Arc::from(as_path),
            med,
        });
    }
    if out.len() > MAX_ROUTES_PER_PEER {
        return Err(format!(
            "a peer advertises at most {MAX_ROUTES_PER_PEER} routes, not {}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(id: &str, address: &str) -> Arc<PeerRef> {
        Arc::new(PeerRef {
            id: id.into(),
            endpoint_id: "rse-0000000000000000a".into(),
            address: address.into(),
            key: AddrKey::of(address),
        })
    }

    fn adverts(list: &[(&str, &[u32], u32)]) -> Arc<Vec<Advert>> {
        Arc::new(
            list.iter()
                .map(|(p, path, med)| Advert {
                    prefix: Prefix::parse(p).unwrap(),
                    as_path: Arc::from(path.to_vec()),
                    med: *med,
                })
                .collect(),
        )
    }

    fn best(routes: &[Route]) -> Vec<(String, &str)> {
        routes
            .iter()
            .filter(|r| r.in_fib)
            .map(|r| (r.prefix.to_string(), r.peer.id.as_str()))
            .collect()
    }

    #[test]
    fn prefixes_parse_strictly() {
        let p = Prefix::parse("10.0.0.0/16").unwrap();
        assert_eq!(
            (p.net, p.len, p.to_string()),
            (0x0a00_0000, 16, "10.0.0.0/16".into())
        );
        assert_eq!(Prefix::parse("0.0.0.0/0").unwrap().len, 0);
        assert_eq!(Prefix::parse("10.1.2.3/32").unwrap().len, 32);
        for bad in [
            "10.0.0.1/16",
            "10.0.0.0/33",
            "10.0.0.0",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0/8",
            "::/0",
            "10.0.0.0/16/1",
            "",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn best_path_prefers_shorter_as_path_then_lower_med_then_lower_address() {
        let (a, b, c) = (
            peer("rsp-a", "10.0.0.20"),
            peer("rsp-b", "10.0.0.9"),
            peer("rsp-c", "10.0.0.100"),
        );
        // AS path length wins over MED and address.
        let ra = adverts(&[("10.1.0.0/16", &[1], 50)]);
        let rb = adverts(&[("10.1.0.0/16", &[1, 2], 0)]);
        let routes = compute(&[(&a, &ra), (&b, &rb)], &[], &Rejections::new());
        assert_eq!(best(&routes), [("10.1.0.0/16".into(), "rsp-a")]);
        // Same length: MED wins over address.
        let rb = adverts(&[("10.1.0.0/16", &[7], 10)]);
        let routes = compute(&[(&a, &ra), (&b, &rb)], &[], &Rejections::new());
        assert_eq!(best(&routes), [("10.1.0.0/16".into(), "rsp-b")]);
        // Same length and MED: the lower address, compared as numbers (10.0.0.9 < 10.0.0.20 < 10.0.0.100).
        let same = adverts(&[("10.1.0.0/16", &[9], 10)]);
        let routes = compute(
            &[(&c, &same), (&a, &same), (&b, &same)],
            &[],
            &Rejections::new(),
        );
        assert_eq!(best(&routes), [("10.1.0.0/16".into(), "rsp-b")]);
        // One route per peer, sorted by peer address; only the best is in the FIB.
        let order: Vec<_> = routes
            .iter()
            .map(|r| (r.peer.id.as_str(), r.in_fib))
            .collect();
        assert_eq!(order, [("rsp-b", true), ("rsp-a", false), ("rsp-c", false)]);
        assert!(routes.iter().all(|r| r.in_fib || r.installs.is_empty()));
    }

    #[test]
    fn in_fib_routes_are_installed_in_every_table_unless_rejected() {
        let a = peer("rsp-a", "10.0.0.4");
        let ra = adverts(&[("10.1.0.0/16", &[1], 0), ("10.2.0.0/16", &[1], 0)]);
        let mut rejections = Rejections::new();
        rejections
            .entry(Prefix::parse("10.2.0.0/16").unwrap())
            .or_default()
            .insert("rtb-2".into(), "route table full".into());
        let routes = compute(&[(&a, &ra)], &["rtb-1", "rtb-2"], &rejections);
        let installs = |i: usize| -> Vec<(&str, &str, Option<&str>)> {
            routes[i]
                .installs
                .iter()
                .map(|x| (x.route_table_id.as_str(), x.status, x.reason.as_deref()))
                .collect()
        };
        assert_eq!(
            installs(0),
            [("rtb-1", "installed", None), ("rtb-2", "installed", None)]
        );
        assert_eq!(
            installs(1),
            [
                ("rtb-1", "installed", None),
                ("rtb-2", "rejected", Some("route table full"))
            ]
        );
    }

    #[test]
    fn persistence_keeps_the_fib_until_the_wait_after_a_session_returns() {
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        let a = peer("rsp-a", "10.0.0.4");
        let ra = adverts(&[("10.1.0.0/16", &[1], 0)]);
        let up = || compute(&[(&a, &ra)], &["rtb-1"], &Rejections::new());
        let mut rib = Rib::default();
        rib.update(up(), true, Some(minute), t0);
        assert!(!rib.persisted());
        // The last session drops: the FIB stays, as it was.
        rib.update(Vec::new(), false, Some(minute), t0);
        assert!(rib.persisted());
        assert_eq!(rib.fib().count(), 1);
        assert_eq!(rib.fib().next().unwrap().installs.len(), 1);
        // Still down a long while later: still persisted.
        rib.update(Vec::new(), false, Some(minute), t0 + 10 * minute);
        assert!(rib.persisted() && !rib.unpersist_due(t0 + 20 * minute));
        // Back up (advertising nothing yet): the persisted FIB stays for the duration...
        let t1 = t0 + 20 * minute;
        rib.update(Vec::new(), true, Some(minute), t1);
        assert!(rib.persisted());
        rib.update(Vec::new(), true, Some(minute), t1 + Duration::from_secs(59));
        assert!(rib.persisted() && !rib.unpersist_due(t1 + Duration::from_secs(59)));
        // ...then gives way to the live routes.
        assert!(rib.unpersist_due(t1 + minute));
        rib.update(Vec::new(), true, Some(minute), t1 + minute);
        assert!(!rib.persisted());
        assert_eq!(rib.fib().count(), 0);
    }

    #[test]
    fn without_persistence_routes_go_with_the_last_session() {
        let t0 = Instant::now();
        let a = peer("rsp-a", "10.0.0.4");
        let ra = adverts(&[("10.1.0.0/16", &[1], 0)]);
        let mut rib = Rib::default();
        rib.update(
            compute(&[(&a, &ra)], &[], &Rejections::new()),
            true,
            None,
            t0,
        );
        rib.update(Vec::new(), false, None, t0);
        assert!(!rib.persisted());
        assert!(rib.view().is_empty());
        // An empty FIB is not persisted either.
        let mut rib = Rib::default();
        rib.update(Vec::new(), true, Some(Duration::from_secs(60)), t0);
        rib.update(Vec::new(), false, Some(Duration::from_secs(60)), t0);
        assert!(!rib.persisted());
    }

    #[test]
    fn paging_covers_every_route_once_in_order() {
        let peers: Vec<_> = (0..7)
            .map(|i| peer(&format!("rsp-{i:x}"), &format!("10.0.0.{}", 4 + i)))
            .collect();
        let list: Vec<(String, Vec<u32>, u32)> = (0..13)
            .map(|j| (format!("10.{j}.0.0/16"), vec![65001], 0))
            .collect();
        let ads = Arc::new(check_adverts(list).unwrap());
        let live: Vec<_> = peers.iter().map(|p| (p, &ads)).collect();
        let routes = compute(&live, &["rtb-1"], &Rejections::new());
        assert_eq!(routes.len(), 7 * 13);
        let mut query = RouteQuery {
            max_results: Some(5),
            ..Default::default()
        };
        let mut seen = Vec::new();
        loop {
            let p = page(&routes, &query).unwrap();
            assert!(p.routes.len() <= 5);
            seen.extend(p.routes.iter().map(|r| (r.prefix, r.peer.id.clone())));
            match p.next_token {
                Some(t) => query.next_token = Some(t),
                None => break,
            }
        }
        let all: Vec<_> = routes
            .iter()
            .map(|r| (r.prefix, r.peer.id.clone()))
            .collect();
        assert_eq!(seen, all);
        // A filter pages over what it keeps.
        let fib = RouteQuery {
            filters: vec![Filter {
                name: "route-status".into(),
                values: vec!["in-fib".into()],
            }],
            ..Default::default()
        };
        assert_eq!(page(&routes, &fib).unwrap().routes.len(), 13);
        let bad = RouteQuery {
            next_token: Some("cm91dGVzzz".into()),
            ..Default::default()
        };
        assert_eq!(page(&routes, &bad).err().unwrap().code, "InvalidNextToken");
        let unknown = RouteQuery {
            filters: vec![Filter {
                name: "colour".into(),
                values: vec!["red".into()],
            }],
            ..Default::default()
        };
        assert_eq!(
            page(&routes, &unknown).err().unwrap().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn adverts_are_checked() {
        let one = |p: &str, path: Vec<u32>, med: u32| check_adverts([(p.to_string(), path, med)]);
        assert!(one("10.0.0.0/8", vec![65001], 0).is_ok());
        assert!(one("10.0.0.1/8", vec![65001], 0).is_err());
        assert!(one("10.0.0.0/8", vec![], 0).is_err());
        assert!(one("10.0.0.0/8", vec![1], u32::MAX).is_err());
        let twice = check_adverts([
            ("10.0.0.0/8".to_string(), vec![1], 0),
            ("10.0.0.0/8".to_string(), vec![2], 0),
        ]);
        assert!(twice.unwrap_err().contains("twice"));
        let many = (0..101).map(|i| (format!("10.{i}.0.0/16"), vec![1], 0));
        assert!(check_adverts(many).is_err());
    }
}
