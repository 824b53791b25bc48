//! The checker beyond sessions: endpoints (`rse-...`), route servers (`rs-...`), routes
//! (`route#<rs>#<prefix>`) and advertisements (`routes#<rsp>`), against the simulator's
//! `endpointChanges`, `routeServerChanges` and `fibChanges`, and the route lists the campaign
//! gave each peer.
//!
//! Every subject is a map of the fields peerwatch records (as the history stores them, by
//! name) and a timeline of what the simulator showed; the guarantees are the peers': one
//! record per real change, in order, nothing that was not shown, nothing a completed cycle saw
//! left unrecorded, and the notifications docs/design.md's "Where traffic goes" table owes
//! (re-derived here from that table, not taken from the core's `fabric::detect`).
//!
//! What each peer advertises is docs/data-model.md's: counted on its route server's record
//! (`AdvertisedRoutes`, the changed peers' counts on each side, `rsp-a: 2, rsp-b: -`), and
//! taken only while the peer's session is up and its route server's routes are not persisted
//! (otherwise the count is as last known: any value, in a span). A peer's own `routes#` record
//! exists from the first time it goes silent after having advertised, and follows only
//! whether it advertises anything (its count is not kept up to date in between).

use std::collections::{BTreeMap, BTreeSet};

use super::{Delivery, Health, LISTING_SLACK_MS, Observed, Record, Report, SimChange, Violation};

/// The recorded fields of one subject: name as the history stores it -> value (`None`: absent).
pub type Fields = BTreeMap<String, Option<String>>;

/// In a span's fields: any value, or none (what peerwatch keeps as last known).
pub const ANY: &str = "*";

/// What the simulator showed of one subject over one span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// Nothing to track: not created yet, or gone.
    Absent,
    Known(Fields),
    /// There, but what peerwatch should record cannot be told: an advertisement while its
    /// peer's session is down or its route server's routes are persisted (peerwatch keeps the
    /// last known), or while a change of its route list was under way.
    Unknown,
}

/// A span (Unix ms, `end_ms` exclusive; `None`: still so) of one subject's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub shown: Shown,
}

/// One entry of `endpointChanges`; `to` is `None` when the endpoint went.
#[derive(Debug, Clone)]
pub struct EndpointChange {
    pub at_ms: i64,
    pub endpoint_id: String,
    pub to: Option<EndpointValues>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointValues {
    pub state: String,
    pub failure_reason: Option<String>,
}

/// One entry of `routeServerChanges`.
#[derive(Debug, Clone)]
pub struct RouteServerChange {
    pub at_ms: i64,
    pub route_server_id: String,
    pub to: Option<RouteServerValues>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteServerValues {
    pub state: String,
    pub persist_routes_state: Option<String>,
    pub are_routes_persisted: bool,
}

/// One route table's installation of an in-fib route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Install {
    pub route_table_id: String,
    pub status: String,
    pub reason: Option<String>,
}

/// The in-fib route of one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibEntry {
    pub peer_id: String,
    pub next_hop_ip: String,
    pub installations: Vec<Install>,
}

/// One entry of `fibChanges`; `to` is `None` when the prefix has no in-fib route.
#[derive(Debug, Clone)]
pub struct FibChange {
    pub at_ms: i64,
    pub route_server_id: String,
    pub prefix: String,
    pub to: Option<FibEntry>,
}

/// A peer's route list set by the campaign (`POST /_sim/peers/{id}/routes`, or a fleet's
/// creation): `count` routes from `at_ms` (the answer) on; between `requested_ms` (the
/// request) and then, either list may show.
#[derive(Debug, Clone)]
pub struct RoutesSet {
    pub requested_ms: i64,
    pub at_ms: i64,
    pub peer_id: String,
    pub route_server_id: String,
    pub count: u32,
}

/// What the fabric checker reads beside [`Observed`] (whose `changes`, `cycles`,
/// `deliveries` and `ambiguous_events` it shares).
#[derive(Debug, Clone, Default)]
pub struct FabricObserved {
    pub endpoint_changes: Vec<EndpointChange>,
    pub route_server_changes: Vec<RouteServerChange>,
    pub fib_changes: Vec<FibChange>,
    pub routes_set: Vec<RoutesSet>,
    /// `PeerTransitions` items of fabric keys.
    pub records: Vec<Record>,
    /// `PeerState`: fabric key -> `Version`.
    pub state_versions: BTreeMap<String, i64>,
    /// The simulator's `RouteStatus` peer log records, for the route records the log
    /// consumer keeps (`logs::check_routes`).
    pub logged_routes: Vec<super::logs::LoggedRouteChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Endpoint,
    RouteServer,
    Route,
    PeerRoutes,
}

/// Whether a key is one of these subjects' (rather than a peer's).
pub fn is_fabric_key(key: &str) -> bool {
    kind_of(key).is_some()
}

fn kind_of(key: &str) -> Option<Kind> {
    if key.starts_with("rse-") {
        Some(Kind::Endpoint)
    } else if key.starts_with("rs-") {
        Some(Kind::RouteServer)
    } else if key.starts_with("route#") {
        Some(Kind::Route)
    } else if key.starts_with("routes#") {
        Some(Kind::PeerRoutes)
    } else {
        None
    }
}

fn field_names(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Endpoint => &["State", "FailureReason"],
        Kind::RouteServer => &["State", "PersistRoutesState", "AreRoutesPersisted"],
        Kind::Route => &["RouteServerPeerId", "NextHopIp", "RouteTables"],
        Kind::PeerRoutes => &["AdvertisedRoutes"],
    }
}

/// The history cannot store an empty string: an empty value is an absent one.
fn fields(pairs: &[(&str, Option<String>)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone().filter(|v| !v.is_empty())))
        .collect()
}

pub fn route_key(route_server_id: &str, prefix: &str) -> String {
    format!("route#{route_server_id}#{prefix}")
}

pub fn peer_routes_key(peer_id: &str) -> String {
    format!("routes#{peer_id}")
}

fn endpoint_fields(v: &EndpointValues) -> Fields {
    fields(&[
        ("State", Some(v.state.clone())),
        ("FailureReason", v.failure_reason.clone()),
    ])
}

fn route_server_fields(v: &RouteServerValues) -> Fields {
    fields(&[
        ("State", Some(v.state.clone())),
        ("PersistRoutesState", v.persist_routes_state.clone()),
        (
            "AreRoutesPersisted",
            Some(v.are_routes_persisted.to_string()),
        ),
    ])
}

/// A route's fields: where it goes and each table's status (`rtb-...:installed,...` by table).
/// The reason of a rejection is not a recorded field, so a change of reason alone is none.
fn route_fields(fib: Option<&FibEntry>) -> Fields {
    let tables = fib.map(|f| {
        let mut i = f.installations.clone();
        i.sort();
        i.iter()
            .map(|t| format!("{}:{}", t.route_table_id, t.status))
            .collect::<Vec<_>>()
            .join(",")
    });
    fields(&[
        ("RouteServerPeerId", fib.map(|f| f.peer_id.clone())),
        ("NextHopIp", fib.map(|f| f.next_hop_ip.clone())),
        ("RouteTables", tables),
    ])
}

/// A route server's field for what one peer advertises.
pub fn advertised_field(peer_id: &str) -> String {
    format!("AdvertisedRoutes[{peer_id}]")
}

/// A peer's own record follows only whether it advertises anything.
fn silence(count: &str) -> &'static str {
    if count == "0" { "0" } else { "1+" }
}

fn peer_routes_fields(count: u32) -> Fields {
    fields(&[("AdvertisedRoutes", Some(silence(&count.to_string()).into()))])
}

/// What is compared with the timeline: a peer's own record by [`silence`].
fn project(kind: Kind, f: &Fields) -> Fields {
    let mut f = f.clone();
    if kind == Kind::PeerRoutes
        && let Some(Some(n)) = f.get_mut("AdvertisedRoutes")
    {
        *n = silence(n).into();
    }
    f
}

/// Whether `actual` is what a span's `pattern` shows (a field missing is an absent one).
fn matches(pattern: &Fields, actual: &Fields) -> bool {
    pattern.keys().chain(actual.keys()).all(|k| {
        let want = pattern.get(k).cloned().flatten();
        want.as_deref() == Some(ANY) || want == actual.get(k).cloned().flatten()
    })
}

fn shows(span: &Shown, kind: Kind, actual: &Option<Fields>) -> bool {
    match (span, actual) {
        (Shown::Absent, None) => true,
        (Shown::Known(p), Some(a)) => matches(p, &project(kind, a)),
        _ => false,
    }
}

/// A value peerwatch never records a first sight of: a prefix without an in-fib route (not in
/// the routing database at all).
fn undiscoverable(kind: Kind, f: &Fields) -> bool {
    kind == Kind::Route && f.get("RouteServerPeerId").cloned().flatten().is_none()
}

/// The health table of docs/design.md, "Where traffic goes", written again on purpose.
fn health(kind: Kind, f: &Fields) -> Health {
    let get = |k: &str| f.get(k).cloned().flatten();
    match kind {
        Kind::Endpoint => match get("State").as_deref() {
            Some("failed") => Health::Down,
            Some("failing" | "delete-failed") => Health::Degraded,
            Some("available") => Health::Healthy,
            _ => Health::Transitional,
        },
        Kind::RouteServer if get("AreRoutesPersisted").as_deref() == Some("true") => Health::Down,
        Kind::RouteServer => match get("State").as_deref() {
            Some("available") => Health::Healthy,
            _ => Health::Transitional,
        },
        Kind::Route => match (get("RouteServerPeerId"), get("RouteTables")) {
            (None, _) => Health::Down,
            (Some(_), Some(t)) if t.split(',').any(|i| i.ends_with(":rejected")) => {
                Health::Degraded
            }
            _ => Health::Healthy,
        },
        Kind::PeerRoutes => match get("AdvertisedRoutes").as_deref() {
            Some("0") | None => Health::Degraded,
            _ => Health::Healthy,
        },
    }
}

fn unwell(h: Health) -> bool {
    matches!(h, Health::Down | Health::Degraded)
}

/// The event a first sight or a change into trouble raises.
fn trouble_event(kind: Kind, f: &Fields) -> &'static str {
    match kind {
        Kind::Endpoint => match f.get("State").cloned().flatten().as_deref() {
            Some("failed") => "endpoint.failed",
            Some("delete-failed") => "endpoint.delete-failed",
            _ => "endpoint.failing",
        },
        Kind::RouteServer => "routes.persisted",
        Kind::Route if health(kind, f) == Health::Down => "route.lost",
        Kind::Route => "route.rejected",
        Kind::PeerRoutes => "peer.no-routes",
    }
}

fn name(kind: Kind) -> &'static str {
    match kind {
        Kind::Endpoint => "endpoint",
        Kind::RouteServer => "route-server",
        Kind::Route => "route",
        Kind::PeerRoutes => "peer.routes",
    }
}

fn plain_event(kind: Kind, what: &str) -> String {
    match kind {
        Kind::PeerRoutes => format!("peer.routes-{what}"),
        k => format!("{}.{what}", name(k)),
    }
}

/// What the table owes one record.
struct Due {
    notified: bool,
    event: String,
    /// An alert that a recovery may follow.
    opens: bool,
}

fn due(notified: bool, event: impl Into<String>, opens: bool) -> Due {
    Due {
        notified,
        event: event.into(),
        opens,
    }
}

/// What the table owes one record; `open` is whether an alert of the subject is open (a
/// recovery is owed only then), updated.
fn owed(
    kind: Kind,
    record_kind: &str,
    before: Option<&Fields>,
    after: Option<&Fields>,
    open: &mut bool,
) -> Due {
    match (record_kind, before, after) {
        // Things go with their route server or peer, whose own records say how: not alerted.
        ("vanished", _, _) => {
            *open = false;
            due(false, plain_event(kind, "vanished"), false)
        }
        // First sights alert only when already unwell.
        ("discovered", _, Some(a)) => {
            // A prefix is first seen in the routing database, so with an in-fib route.
            let h = health(kind, a);
            let sick = unwell(h) && !(kind == Kind::Route && h == Health::Down);
            *open = sick;
            if sick {
                due(true, trouble_event(kind, a), true)
            } else {
                due(false, plain_event(kind, "discovered"), false)
            }
        }
        ("changed", Some(b), Some(a)) => changed(kind, b, a, open),
        // A peer's first silence (or its first since its record vanished): it advertised.
        ("changed", None, Some(a)) if kind == Kind::PeerRoutes => {
            changed(kind, &peer_routes_fields(1), a, open)
        }
        _ => due(false, "", false),
    }
}

/// What a change does to an alert: raise one (opening it or not), recover one, or neither.
enum Outcome {
    Alert(&'static str, bool),
    Recover(&'static str),
    Info(String),
}

fn changed(kind: Kind, b: &Fields, a: &Fields, open: &mut bool) -> Due {
    use Outcome::{Alert, Info, Recover};
    let (hb, ha) = (health(kind, b), health(kind, a));
    let outcome = match kind {
        // endpoint.failed / failing / delete-failed when its State becomes one (its health
        // changes), endpoint.recovered back to available.
        Kind::Endpoint if unwell(ha) && ha != hb => Alert(trouble_event(kind, a), true),
        Kind::Endpoint if ha == Health::Healthy && hb != Health::Healthy => {
            Recover("endpoint.recovered")
        }
        // routes.persisted / routes.unpersisted as AreRoutesPersisted flips.
        Kind::RouteServer if ha == Health::Down && hb != Health::Down => {
            Alert("routes.persisted", true)
        }
        Kind::RouteServer if hb == Health::Down && ha != Health::Down => {
            Recover("routes.unpersisted")
        }
        Kind::Route => {
            let peer = |f: &Fields| f.get("RouteServerPeerId").cloned().flatten();
            let moved = matches!((peer(b), peer(a)), (Some(x), Some(y)) if x != y);
            match (hb, ha) {
                (h, Health::Down) if h != Health::Down => Alert("route.lost", true),
                // Back, even if a table rejects it: the lost alert's recovery.
                (Health::Down, _) => Recover("route.restored"),
                (h, Health::Degraded) if h != Health::Degraded => Alert("route.rejected", true),
                (Health::Degraded, Health::Healthy) if !moved => Recover("route.installed"),
                // A failover is news: it opens nothing, and closes nothing either.
                _ if moved => Alert("route.failover", ha != Health::Healthy),
                _ => Info("route.changed".into()),
            }
        }
        Kind::PeerRoutes if ha == Health::Degraded && hb == Health::Healthy => {
            Alert("peer.no-routes", true)
        }
        Kind::PeerRoutes if hb == Health::Degraded && ha == Health::Healthy => {
            Recover("peer.routes-restored")
        }
        _ => Info(plain_event(kind, "changed")),
    };
    match outcome {
        Alert(event, opens) => {
            *open |= opens;
            due(true, event, opens)
        }
        // A recovery is owed when its alert is open, and closes it.
        Recover(event) => due(std::mem::replace(open, false), event, false),
        Info(event) => {
            if ha == Health::Healthy {
                *open = false;
            }
            due(false, event, false)
        }
    }
}

fn show(s: &Shown) -> String {
    match s {
        Shown::Absent => "(absent)".into(),
        Shown::Unknown => "(unknown)".into(),
        Shown::Known(f) => f
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn shown_of(f: &Option<Fields>) -> Shown {
    match f {
        Some(f) => Shown::Known(f.clone()),
        None => Shown::Absent,
    }
}

/// Appends `shown` from `at_ms` on, unless it is what already shows.
fn push(line: &mut Vec<Span>, at_ms: i64, shown: Shown) {
    if line.last().is_some_and(|l| l.shown == shown) {
        return;
    }
    if let Some(last) = line.last_mut() {
        last.end_ms = Some(at_ms);
    }
    line.push(Span {
        start_ms: at_ms,
        end_ms: None,
        shown,
    });
}

fn fold(events: BTreeMap<String, Vec<(i64, u8, Shown)>>) -> BTreeMap<String, Vec<Span>> {
    events
        .into_iter()
        .map(|(key, mut evs)| {
            evs.sort_by_key(|e| (e.0, e.1));
            let mut line = vec![Span {
                start_ms: i64::MIN,
                end_ms: None,
                shown: Shown::Absent,
            }];
            for (at, _, shown) in evs {
                push(&mut line, at, shown);
            }
            (key, line)
        })
        .collect()
}

/// Each subject's timeline, starting absent: endpoints from their change log; routes from
/// the FIB's (a prefix that lost its in-fib route is still there, lost, while its route server
/// is; absent once that goes); route servers from theirs with what each of their peers
/// advertises, and peers' own records, from the peers' sessions, the route servers' persisted
/// state and the route lists the campaign set.
pub fn timelines(peer_changes: &[SimChange], f: &FabricObserved) -> BTreeMap<String, Vec<Span>> {
    let mut events: BTreeMap<String, Vec<(i64, u8, Shown)>> = BTreeMap::new();
    for c in &f.endpoint_changes {
        let shown = shown_of(&c.to.as_ref().map(endpoint_fields));
        events
            .entry(c.endpoint_id.clone())
            .or_default()
            .push((c.at_ms, 0, shown));
    }
    let mut routes_of: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for c in &f.fib_changes {
        let key = route_key(&c.route_server_id, &c.prefix);
        routes_of
            .entry(c.route_server_id.as_str())
            .or_default()
            .insert(key.clone());
        let shown = Shown::Known(route_fields(c.to.as_ref()));
        events.entry(key).or_default().push((c.at_ms, 0, shown));
    }
    for c in &f.route_server_changes {
        if c.to.is_none() {
            // Its routes go with it, after the FIB's own removals logged at the same moment.
            for key in routes_of
                .get(c.route_server_id.as_str())
                .into_iter()
                .flatten()
            {
                events
                    .entry(key.clone())
                    .or_default()
                    .push((c.at_ms, 1, Shown::Absent));
            }
        }
    }
    events.extend(advertisements(peer_changes, f));
    fold(events)
}

/// How one peer's advertisement shows at one moment.
enum Advertising {
    /// Not listed (not yet, or gone): dropped from its route server's counts.
    Unlisted,
    /// Listed, but its session is down, its route server's routes are persisted, or its
    /// route list is being replaced: as last known.
    Quiet,
    Counted(u32),
}

/// Route servers' timelines, with what each of their peers advertises, and the peers' own.
fn advertisements(
    peer_changes: &[SimChange],
    f: &FabricObserved,
) -> BTreeMap<String, Vec<(i64, u8, Shown)>> {
    let mut servers: BTreeMap<&str, Vec<&RouteServerChange>> = BTreeMap::new();
    for c in &f.route_server_changes {
        servers
            .entry(c.route_server_id.as_str())
            .or_default()
            .push(c);
    }
    let mut sets: BTreeMap<&str, BTreeMap<&str, Vec<&RoutesSet>>> = BTreeMap::new();
    for s in &f.routes_set {
        sets.entry(s.route_server_id.as_str())
            .or_default()
            .entry(s.peer_id.as_str())
            .or_default()
            .push(s);
    }
    let mut sessions: BTreeMap<&str, Vec<&SimChange>> = BTreeMap::new();
    for c in peer_changes {
        sessions.entry(c.peer_id.as_str()).or_default().push(c);
    }
    let none = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<(i64, u8, Shown)>> = BTreeMap::new();
    for (rs, changes) in servers {
        let peers = sets.get(rs).unwrap_or(&none);
        let session = |p: &str| sessions.get(p).map_or(&[][..], |v| &v[..]);
        let mut moments: BTreeSet<i64> = changes.iter().map(|c| c.at_ms).collect();
        for (p, sets) in peers {
            moments.extend(session(p).iter().map(|c| c.at_ms));
            moments.extend(sets.iter().flat_map(|s| [s.requested_ms, s.at_ms]));
        }
        for t in moments {
            let server = changes
                .iter()
                .rfind(|c| c.at_ms <= t)
                .and_then(|c| c.to.as_ref());
            let persisted = server.map(|v| v.are_routes_persisted);
            let mut pattern = server.map(route_server_fields);
            for (p, sets) in peers {
                let listed = session(p)
                    .iter()
                    .rfind(|c| c.at_ms <= t)
                    .and_then(|c| c.to.as_ref());
                let moving = sets.iter().any(|s| s.requested_ms <= t && t < s.at_ms);
                let count = sets.iter().rfind(|s| s.at_ms <= t).map(|s| s.count);
                let now = match (listed, count) {
                    (None, _) => Advertising::Unlisted,
                    (Some(v), Some(n))
                        if !moving
                            && persisted == Some(false)
                            && v.state == "available"
                            && v.bgp_status.as_deref() == Some("up") =>
                    {
                        Advertising::Counted(n)
                    }
                    _ => Advertising::Quiet,
                };
                let (entry, own) = match now {
                    Advertising::Unlisted => (None, Shown::Absent),
                    Advertising::Quiet => (Some(ANY.to_string()), Shown::Unknown),
                    Advertising::Counted(n) => {
                        (counted(&n.to_string()), Shown::Known(peer_routes_fields(n)))
                    }
                };
                if let Some(pattern) = pattern.as_mut() {
                    pattern.insert(advertised_field(p), entry);
                }
                out.entry(peer_routes_key(p)).or_default().push((t, 0, own));
            }
            out.entry(rs.to_string())
                .or_default()
                .push((t, 0, shown_of(&pattern)));
        }
    }
    out
}

/// `rsp-a: 2, rsp-b: 0` as (peer, count; `None`: none counted, which a route server's record
/// may also write `-` or leave out).
fn counts(side: &str) -> Vec<(String, Option<String>)> {
    side.split(", ")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (peer, n) = e.split_once(": ").unwrap_or((e, "-"));
            (peer.to_string(), counted(n))
        })
        .collect()
}

/// A count on a route server's record: nothing advertised is none counted.
fn counted(n: &str) -> Option<String> {
    (!matches!(n, "-" | "0")).then(|| n.to_string())
}

/// The fields after record `r` from `cur` (`None`: untracked), and what is wrong with it; `Err`
/// when the record cannot follow `cur` at all.
fn apply_record(
    kind: Kind,
    cur: &Option<Fields>,
    r: &Record,
) -> Result<(Option<Fields>, Vec<String>), String> {
    let names = field_names(kind);
    let mut problems = Vec::new();
    let blank: Fields = names.iter().map(|n| (n.to_string(), None)).collect();
    let next = match (r.kind.as_str(), cur) {
        ("discovered", None) => {
            if r.changes.iter().any(|c| c.1.is_some()) {
                problems.push("a discovery with a `from` value".into());
            }
            let mut next = blank;
            for (field, _, to) in &r.changes {
                apply_field(kind, &mut next, field, None, to, false, &mut problems);
            }
            Some(next)
        }
        // A peer's own record starts with its first silence.
        ("changed", None) if kind == Kind::PeerRoutes => {
            // `from` is the count before, or none: confirmed a cycle later, the route
            // server's record already holds the 0.
            let silent = matches!(
                &r.changes[..],
                [(f, from, Some(to))]
                    if f == "AdvertisedRoutes" && to == "0"
                        && from.as_ref().is_none_or(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
            );
            if !silent {
                problems.push(format!(
                    "a first record that is not a silence after routes: {:?}",
                    r.changes
                ));
            }
            let mut next = blank;
            next.insert("AdvertisedRoutes".into(), Some("0".into()));
            Some(next)
        }
        ("changed", Some(c)) => {
            let mut next = c.clone();
            if r.changes.is_empty() {
                problems.push("a change that changes nothing".into());
            }
            for (field, from, to) in &r.changes {
                apply_field(
                    kind,
                    &mut next,
                    field,
                    from.as_ref(),
                    to,
                    true,
                    &mut problems,
                );
            }
            Some(next)
        }
        ("vanished", Some(_)) => None,
        (k, c) => {
            return Err(format!(
                "a `{k}` record when the last recorded was {}",
                show(&shown_of(c))
            ));
        }
    };
    Ok((next, problems))
}

fn apply_field(
    kind: Kind,
    cur: &mut Fields,
    field: &str,
    from: Option<&String>,
    to: &Option<String>,
    check_from: bool,
    problems: &mut Vec<String>,
) {
    if kind == Kind::RouteServer && field == "AdvertisedRoutes" {
        let before: Vec<(String, Option<String>)> = from.map(|f| counts(f)).unwrap_or_default();
        let after = to.as_deref().map(counts).unwrap_or_default();
        let any_counted = |c: &Fields| {
            c.iter()
                .any(|(k, v)| k.starts_with("AdvertisedRoutes[") && v.is_some())
        };
        if check_from {
            if from.is_none() && any_counted(cur) {
                problems.push("AdvertisedRoutes from nothing, but counts were recorded".into());
            }
            for (peer, n) in &before {
                let was = cur.get(&advertised_field(peer)).cloned().flatten();
                if *n != was {
                    problems.push(format!(
                        "AdvertisedRoutes of {peer} from {n:?}, was {was:?}"
                    ));
                }
            }
        }
        let peers = |side: &[(String, Option<String>)]| -> Vec<String> {
            side.iter().map(|e| e.0.clone()).collect()
        };
        if from.is_some() && peers(&before) != peers(&after) {
            problems.push(format!(
                "AdvertisedRoutes names other peers on each side: {from:?} -> {to:?}"
            ));
        }
        for (peer, n) in after {
            if before.iter().any(|(p, m)| *p == peer && *m == n) {
                problems.push(format!("AdvertisedRoutes of {peer} from {n:?} to the same"));
            }
            cur.insert(advertised_field(&peer), n);
        }
        return;
    }
    if !field_names(kind).contains(&field) {
        problems.push(format!("unknown field {field}"));
        return;
    }
    let was = cur.get(field).cloned().flatten();
    if check_from {
        if from != was.as_ref() {
            problems.push(format!("{field} from {from:?}, was {was:?}"));
        }
        if from == to.as_ref() {
            problems.push(format!("{field} from {from:?} to the same"));
        }
    }
    cur.insert(field.to_string(), to.clone());
}

/// The fields after each record, in version order (records that cannot follow are skipped).
fn replay(kind: Kind, records: &[&Record]) -> Vec<Option<Fields>> {
    let mut cur = None;
    records
        .iter()
        .map(|r| {
            if let Ok((next, _)) = apply_record(kind, &cur, r) {
                cur = next;
            }
            cur.clone()
        })
        .collect()
}

struct Owed {
    event: String,
    opens: bool,
    delivered: usize,
}

/// Checks the fabric's history and notifications into `report` (see the module's head):
/// `deliveries` are those of fabric keys.
pub fn check(obs: &Observed, f: &FabricObserved, deliveries: &[&Delivery], report: &mut Report) {
    let lines = timelines(&obs.changes, f);
    let mut by_key: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    // A peer's route records, kept by the log consumer in its route history, stand beside
    // the version chains, as late items do (`logs::check_routes`).
    for r in f.records.iter().filter(|r| !r.is_from_log()) {
        by_key.entry(r.peer_id.as_str()).or_default().push(r);
    }
    for records in by_key.values_mut() {
        records.sort_by_key(|r| (r.version, r.observed_at_ms));
    }
    let keys: BTreeSet<&str> = lines
        .keys()
        .map(String::as_str)
        .chain(by_key.keys().copied())
        .collect();
    report.fabric_subjects = keys.len();
    report.fabric_transitions_checked = f.records.iter().filter(|r| !r.is_from_log()).count();
    let server_of: BTreeMap<&str, &str> = f
        .routes_set
        .iter()
        .map(|s| (s.peer_id.as_str(), s.route_server_id.as_str()))
        .collect();
    let mut owed_by: BTreeMap<(String, i64), Owed> = BTreeMap::new();
    let empty = Vec::new();
    let v = &mut report.violations;

    for (key, records) in &by_key {
        let wrong = |version: i64, what: String| Violation::WrongChain {
            peer: key.to_string(),
            version,
            what,
        };
        let Some(kind) = kind_of(key) else {
            v.push(wrong(
                0,
                "not a key of an endpoint, route server, route or peer's routes".into(),
            ));
            continue;
        };
        let versions: Vec<i64> = records.iter().map(|r| r.version).collect();
        if versions.iter().enumerate().any(|(i, &n)| n != i as i64 + 1) {
            v.push(Violation::Versions {
                peer: key.to_string(),
                versions: versions.clone(),
            });
        }
        let last = versions.last().copied().unwrap_or(0);
        let state = f.state_versions.get(*key).copied();
        if state != Some(last) {
            v.push(Violation::StateVersion {
                peer: key.to_string(),
                state,
                history: last,
            });
        }
        let line = lines.get(*key).unwrap_or(&empty);
        let mut current: Option<Fields> = None;
        let mut open = false;
        let mut position: Option<usize> = None;
        for r in records.iter() {
            let before = current.clone();
            match apply_record(kind, &current, r) {
                Ok((next, problems)) => {
                    v.extend(problems.into_iter().map(|p| wrong(r.version, p)));
                    current = next;
                }
                Err(e) => {
                    v.push(wrong(r.version, e));
                    continue;
                }
            }
            // Really shown, after what the previous record matched, near ObservedAt.
            let found = line.iter().enumerate().position(|(i, s)| {
                position.is_none_or(|p| i > p)
                    && shows(&s.shown, kind, &current)
                    && s.start_ms <= r.observed_at_ms + LISTING_SLACK_MS
                    && s.end_ms
                        .is_none_or(|end| end > r.observed_at_ms - LISTING_SLACK_MS)
            });
            match found {
                Some(i) => position = Some(i),
                None => v.push(Violation::Phantom {
                    peer: key.to_string(),
                    version: r.version,
                    values: show(&shown_of(&current)),
                }),
            }
            let Due {
                notified: owes,
                event,
                opens,
            } = owed(kind, &r.kind, before.as_ref(), current.as_ref(), &mut open);
            if r.event != event {
                v.push(Violation::WrongEvent {
                    peer: key.to_string(),
                    version: r.version,
                    what: "recorded",
                    event: r.event.clone(),
                    expected: event.clone(),
                });
            }
            let notified = matches!(r.notification_state.as_str(), "sent" | "pending");
            if owes != notified {
                v.push(Violation::Decision {
                    peer: key.to_string(),
                    version: r.version,
                    state: r.notification_state.clone(),
                    expected: if owes { "sent" } else { "not-required" },
                });
            }
            if owes {
                owed_by.insert(
                    (key.to_string(), r.version),
                    Owed {
                        event,
                        opens,
                        delivered: 0,
                    },
                );
            }
            if r.pending {
                v.push(Violation::LeftPending {
                    peer: key.to_string(),
                    version: r.version,
                });
            }
        }
    }

    // Completeness, as for peers: a completed cycle wholly inside a span sees its value, and
    // the history as of that cycle's end says it. A prefix lost may be unrecorded, never
    // having been seen otherwise; a peer's own record, while it advertises, or while silent
    // if its route server's history never counted a route of it.
    for (key, line) in &lines {
        let Some(kind) = kind_of(key) else { continue };
        let records = by_key.get(key.as_str()).map_or(&[][..], |r| &r[..]);
        let states = replay(kind, records);
        // The route server's counts, for a peer's own record.
        let server = key
            .strip_prefix("routes#")
            .and_then(|p| Some((p, *server_of.get(p)?)));
        let server_records = server
            .and_then(|(_, rs)| by_key.get(rs))
            .map_or(&[][..], |r| &r[..]);
        let server_states = replay(Kind::RouteServer, server_records);
        let counted_before = |until_ms: i64| {
            server.is_some_and(|(peer, _)| {
                server_records.iter().zip(&server_states).any(|(r, st)| {
                    r.observed_at_ms <= until_ms
                        && st
                            .as_ref()
                            .and_then(|f| f.get(&advertised_field(peer)).cloned().flatten())
                            .is_some_and(|n| n != "0")
                })
            })
        };
        for s in line.iter().skip(1) {
            let want = match &s.shown {
                Shown::Unknown => continue,
                Shown::Absent => None,
                Shown::Known(f) => Some(f),
            };
            let end = s.end_ms.unwrap_or(i64::MAX);
            let within = obs
                .cycles
                .iter()
                .filter(|c| c.completed && c.started_ms >= s.start_ms && c.ended_ms < end);
            // A silence is alerted by the second cycle that finds it: the first only counts
            // it on the route server's record.
            let silence = kind == Kind::PeerRoutes
                && want.is_some_and(|w| {
                    w.get("AdvertisedRoutes").cloned().flatten().as_deref() == Some("0")
                });
            for c in within.skip(usize::from(silence)) {
                let last = records
                    .iter()
                    .zip(&states)
                    .filter(|(r, _)| r.observed_at_ms <= c.ended_ms)
                    .max_by_key(|(r, _)| r.version);
                let known = last.and_then(|(_, st)| st.clone());
                let agrees = match (&known, want) {
                    (None, Some(w)) if kind == Kind::PeerRoutes => {
                        w.get("AdvertisedRoutes").cloned().flatten().as_deref() != Some("0")
                            || !counted_before(c.ended_ms)
                    }
                    (None, Some(w)) => undiscoverable(kind, w),
                    _ => shows(&s.shown, kind, &known),
                };
                if agrees {
                    continue;
                }
                let stale = obs.cycles.iter().any(|o| {
                    o.started_ms < s.start_ms
                        && o.started_ms < c.ended_ms
                        && o.ended_ms > c.started_ms
                });
                if stale && obs.excuse_stale_overlap {
                    report.missed_under_overlap += 1;
                } else {
                    v.push(Violation::Missed {
                        peer: key.clone(),
                        values: show(&s.shown),
                        from_ms: s.start_ms,
                        to_ms: s.end_ms.map_or("now".into(), |e| e.to_string()),
                    });
                }
                break;
            }
        }
    }

    // Deliveries: each owed one at least once, with its event; nothing else; and a recovery
    // only after a delivered alert of the same subject that no recovery closed yet (a
    // failover onto a healthy route opens nothing).
    let mut delivered: BTreeMap<&str, BTreeMap<i64, &Delivery>> = BTreeMap::new();
    for d in deliveries {
        match owed_by.get_mut(&(d.peer_id.clone(), d.version)) {
            Some(o) => {
                o.delivered += 1;
                if d.event != o.event {
                    v.push(Violation::WrongEvent {
                        peer: d.peer_id.clone(),
                        version: d.version,
                        what: "delivered",
                        event: d.event.clone(),
                        expected: o.event.clone(),
                    });
                }
            }
            None => v.push(Violation::Unexpected {
                peer: d.peer_id.clone(),
                version: d.version,
            }),
        }
        delivered
            .entry(d.peer_id.as_str())
            .or_default()
            .insert(d.version, d);
    }
    for (key, by_version) in &delivered {
        let mut alert_open = false;
        for (version, d) in by_version {
            let opens = owed_by
                .get(&(key.to_string(), *version))
                .is_some_and(|o| o.opens);
            match d.severity.as_str() {
                "recovery" if !alert_open => v.push(Violation::RecoveryWithoutAlert {
                    peer: key.to_string(),
                    version: *version,
                }),
                "recovery" => alert_open = false,
                "critical" | "warning" if opens => alert_open = true,
                _ => {}
            }
        }
    }
    report.fabric_notifications_checked = owed_by.len();
    for ((key, version), o) in owed_by {
        match o.delivered {
            0 => v.push(Violation::Undelivered { peer: key, version }),
            1 => {}
            n => {
                report.duplicate_deliveries += n - 1;
                if obs.ambiguous_events == 0 {
                    v.push(Violation::Duplicate {
                        peer: key,
                        version,
                        count: n,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CycleRun, Values};
    use super::*;

    const RS: &str = "rs-1";
    const EP: &str = "rse-1";
    const A: &str = "rsp-a";
    const B: &str = "rsp-b";
    const P: &str = "100.64.0.0/24";

    fn route() -> String {
        route_key(RS, P)
    }

    fn session(at_ms: i64, peer: &str, bgp: &str) -> SimChange {
        SimChange {
            at_ms,
            peer_id: peer.into(),
            to: Some(Values {
                state: "available".into(),
                bgp_status: Some(bgp.into()),
                bfd_status: Some("up".into()),
            }),
            liveness: "bgp-keepalive".into(),
        }
    }

    fn fib(at_ms: i64, peer: Option<&str>, status: &str) -> FibChange {
        FibChange {
            at_ms,
            route_server_id: RS.into(),
            prefix: P.into(),
            to: peer.map(|p| FibEntry {
                peer_id: p.into(),
                next_hop_ip: format!("ip-{p}"),
                installations: vec![Install {
                    route_table_id: "rtb-1".into(),
                    status: status.into(),
                    reason: (status == "rejected").then(|| "Route limit exceeded".into()),
                }],
            }),
        }
    }

    fn server(at_ms: i64, persisted: bool) -> RouteServerChange {
        RouteServerChange {
            at_ms,
            route_server_id: RS.into(),
            to: Some(RouteServerValues {
                state: "available".into(),
                persist_routes_state: Some("enabled".into()),
                are_routes_persisted: persisted,
            }),
        }
    }

    fn endpoint(at_ms: i64, state: &str, reason: Option<&str>) -> EndpointChange {
        EndpointChange {
            at_ms,
            endpoint_id: EP.into(),
            to: Some(EndpointValues {
                state: state.into(),
                failure_reason: reason.map(str::to_string),
            }),
        }
    }

    fn routes(at_ms: i64, peer: &str, count: u32) -> RoutesSet {
        RoutesSet {
            requested_ms: at_ms - 10,
            at_ms,
            peer_id: peer.into(),
            route_server_id: RS.into(),
            count,
        }
    }

    type Change<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

    fn rec(
        key: &str,
        version: i64,
        at: i64,
        kind: &str,
        changes: &[Change],
        sent: bool,
        event: &str,
    ) -> Record {
        Record {
            peer_id: key.into(),
            observed_at_ms: at,
            kind: kind.into(),
            version,
            changes: changes
                .iter()
                .map(|(f, a, b)| (f.to_string(), a.map(str::to_string), b.map(str::to_string)))
                .collect(),
            notification_state: if sent { "sent" } else { "not-required" }.into(),
            pending: false,
            event: event.into(),
            source: "poll".into(),
            late: false,
            routes: Vec::new(),
        }
    }

    fn delivery(key: &str, version: i64, event: &str, severity: &str) -> Delivery {
        Delivery {
            peer_id: key.into(),
            version,
            event: event.into(),
            severity: severity.into(),
        }
    }

    /// A route server with two peers and one prefix: A's route is best, B's backs it up.
    /// A's session drops (failover to B), B withdraws everything (the prefix is lost, B
    /// advertises nothing), A comes back (restored), the endpoint fails, B advertises again,
    /// both sessions drop (persisted), A comes back and the wait ends (unpersisted). A cycle
    /// 400 ms after each change saw it.
    fn good() -> (Observed, FabricObserved) {
        let ra = routes(1000, A, 1);
        let rb = routes(1000, B, 1);
        let obs = Observed {
            changes: vec![
                session(1000, A, "up"),
                session(1000, B, "up"),
                session(2000, A, "down"),
                session(4000, A, "up"),
                session(7000, A, "down"),
                session(7000, B, "down"),
                session(8000, A, "up"),
            ],
            cycles: (1..=8)
                .map(|i| CycleRun {
                    started_ms: i * 1000 + 400,
                    ended_ms: i * 1000 + 600,
                    completed: true,
                })
                .collect(),
            deliveries: vec![
                delivery(&route(), 2, "route.failover", "warning"),
                delivery(&route(), 3, "route.lost", "critical"),
                delivery(&peer_routes_key(B), 1, "peer.no-routes", "warning"),
                delivery(&route(), 4, "route.restored", "recovery"),
                delivery(EP, 2, "endpoint.failed", "critical"),
                delivery(&peer_routes_key(B), 2, "peer.routes-restored", "recovery"),
                delivery(RS, 4, "routes.persisted", "critical"),
                delivery(RS, 5, "routes.unpersisted", "recovery"),
            ],
            ..Observed::default()
        };
        let route = route();
        let rb_key = peer_routes_key(B);
        let hop = |p: &str| format!("ip-{p}");
        let (ia, ib) = (hop(A), hop(B));
        let f = FabricObserved {
            endpoint_changes: vec![
                endpoint(1000, "available", None),
                endpoint(5000, "failed", Some("ENI gone")),
            ],
            route_server_changes: vec![
                server(1000, false),
                server(7000, true),
                server(8100, false),
            ],
            fib_changes: vec![
                fib(1000, Some(A), "installed"),
                fib(2000, Some(B), "installed"),
                fib(3000, None, ""),
                fib(4000, Some(A), "installed"),
            ],
            routes_set: vec![ra, rb, routes(3000, B, 0), routes(6000, B, 1)],
            records: vec![
                rec(
                    EP,
                    1,
                    1400,
                    "discovered",
                    &[("State", None, Some("available"))],
                    false,
                    "endpoint.discovered",
                ),
                rec(
                    RS,
                    1,
                    1400,
                    "discovered",
                    &[
                        ("State", None, Some("available")),
                        ("PersistRoutesState", None, Some("enabled")),
                        ("AreRoutesPersisted", None, Some("false")),
                        ("AdvertisedRoutes", None, Some("rsp-a: 1, rsp-b: 1")),
                    ],
                    false,
                    "route-server.discovered",
                ),
                rec(
                    &route,
                    1,
                    1400,
                    "discovered",
                    &[
                        ("RouteServerPeerId", None, Some(A)),
                        ("NextHopIp", None, Some(&ia)),
                        ("RouteTables", None, Some("rtb-1:installed")),
                    ],
                    false,
                    "route.discovered",
                ),
                rec(
                    &route,
                    2,
                    2400,
                    "changed",
                    &[
                        ("RouteServerPeerId", Some(A), Some(B)),
                        ("NextHopIp", Some(&ia), Some(&ib)),
                    ],
                    true,
                    "route.failover",
                ),
                rec(
                    &route,
                    3,
                    3400,
                    "changed",
                    &[
                        ("RouteServerPeerId", Some(B), None),
                        ("NextHopIp", Some(&ib), None),
                        ("RouteTables", Some("rtb-1:installed"), None),
                    ],
                    true,
                    "route.lost",
                ),
                // B's count is its route server's; B's own record starts with its silence.
                rec(
                    RS,
                    2,
                    3400,
                    "changed",
                    &[("AdvertisedRoutes", Some("rsp-b: 1"), Some("rsp-b: 0"))],
                    false,
                    "route-server.changed",
                ),
                rec(
                    &rb_key,
                    1,
                    3400,
                    "changed",
                    &[("AdvertisedRoutes", Some("1"), Some("0"))],
                    true,
                    "peer.no-routes",
                ),
                rec(
                    &route,
                    4,
                    4400,
                    "changed",
                    &[
                        ("RouteServerPeerId", None, Some(A)),
                        ("NextHopIp", None, Some(&ia)),
                        ("RouteTables", None, Some("rtb-1:installed")),
                    ],
                    true,
                    "route.restored",
                ),
                rec(
                    EP,
                    2,
                    5400,
                    "changed",
                    &[
                        ("State", Some("available"), Some("failed")),
                        ("FailureReason", None, Some("ENI gone")),
                    ],
                    true,
                    "endpoint.failed",
                ),
                rec(
                    RS,
                    3,
                    6400,
                    "changed",
                    &[("AdvertisedRoutes", Some("rsp-b: 0"), Some("rsp-b: 1"))],
                    false,
                    "route-server.changed",
                ),
                rec(
                    &rb_key,
                    2,
                    6400,
                    "changed",
                    &[("AdvertisedRoutes", Some("0"), Some("1"))],
                    true,
                    "peer.routes-restored",
                ),
                // Persisted: the counts stay as they were (every session is down).
                rec(
                    RS,
                    4,
                    7400,
                    "changed",
                    &[("AreRoutesPersisted", Some("false"), Some("true"))],
                    true,
                    "routes.persisted",
                ),
                rec(
                    RS,
                    5,
                    8400,
                    "changed",
                    &[("AreRoutesPersisted", Some("true"), Some("false"))],
                    true,
                    "routes.unpersisted",
                ),
            ],
            state_versions: [
                (EP.to_string(), 2),
                (RS.to_string(), 5),
                (route.clone(), 4),
                (rb_key, 2),
            ]
            .into(),
            logged_routes: Vec::new(),
        };
        (obs, f)
    }

    fn run(obs: &Observed, f: &FabricObserved) -> Report {
        let deliveries: Vec<&Delivery> = obs.deliveries.iter().collect();
        let mut report = Report::default();
        check(obs, f, &deliveries, &mut report);
        report
    }

    fn kinds(obs: &Observed, f: &FabricObserved) -> Vec<&'static str> {
        let mut k: Vec<&'static str> = run(obs, f)
            .violations
            .iter()
            .map(|v| match v {
                Violation::Versions { .. } => "versions",
                Violation::StateVersion { .. } => "state-version",
                Violation::WrongChain { .. } => "chain",
                Violation::Phantom { .. } => "phantom",
                Violation::Missed { .. } => "missed",
                Violation::Decision { .. } => "decision",
                Violation::Undelivered { .. } => "undelivered",
                Violation::Duplicate { .. } => "duplicate",
                Violation::Unexpected { .. } => "unexpected",
                Violation::LeftPending { .. } => "pending",
                Violation::WrongEvent { .. } => "event",
                Violation::RecoveryWithoutAlert { .. } => "recovery",
                Violation::Unlogged { .. }
                | Violation::WrongLate { .. }
                | Violation::RecordedTwice { .. }
                | Violation::Dropped { .. }
                | Violation::WrongRouteRecords { .. } => "log path",
            })
            .collect();
        k.sort();
        k.dedup();
        k
    }

    fn find<'a>(f: &'a mut FabricObserved, key: &str, version: i64) -> &'a mut Record {
        f.records
            .iter_mut()
            .find(|r| r.peer_id == key && r.version == version)
            .expect("that record")
    }

    #[test]
    fn a_true_history_of_endpoints_route_servers_routes_and_advertisements_passes() {
        let (obs, f) = good();
        let r = run(&obs, &f);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(
            (
                r.fabric_subjects,
                r.fabric_transitions_checked,
                r.fabric_notifications_checked
            ),
            (5, 13, 8)
        );
    }

    #[test]
    fn the_timelines_follow_the_fib_the_sessions_and_the_route_lists() {
        let (obs, f) = good();
        let lines = timelines(&obs.changes, &f);
        let shown = |key: &str| -> Vec<String> {
            lines[key].iter().skip(1).map(|s| show(&s.shown)).collect()
        };
        assert_eq!(
            shown(&peer_routes_key(A)),
            [
                "AdvertisedRoutes=1+",
                "(unknown)",
                "AdvertisedRoutes=1+",
                "(unknown)",
                "AdvertisedRoutes=1+"
            ],
            "unknown while its session is down or the routes are persisted"
        );
        // Its route server's: A's count as last known (any) while A is quiet.
        let rs: Vec<String> = lines[RS].iter().skip(1).map(|s| show(&s.shown)).collect();
        assert!(rs[0].contains("AdvertisedRoutes[rsp-a]=1 "), "{rs:?}");
        assert!(rs[1].contains("AdvertisedRoutes[rsp-a]=* "), "{rs:?}");
        assert!(
            rs[2].contains("AdvertisedRoutes[rsp-b]=* "),
            "while B's route list is replaced: {rs:?}"
        );
        assert_eq!(rs.len(), 9);
        assert_eq!(lines[&route()].len(), 5);
        // A new reason for the same rejection changes no recorded field: one span.
        let mut f = f;
        f.fib_changes.push(fib(9000, Some(A), "rejected"));
        let mut again = fib(9500, Some(A), "rejected");
        if let Some(e) = again.to.as_mut() {
            e.installations[0].reason = Some("Another reason".into());
        }
        f.fib_changes.push(again);
        assert_eq!(timelines(&obs.changes, &f)[&route()].len(), 6);
    }

    #[test]
    fn a_route_change_recorded_twice_is_caught() {
        let (obs, mut f) = good();
        let mut dup = find(&mut f, &route(), 2).clone();
        dup.observed_at_ms += 50;
        f.records.push(dup);
        let k = kinds(&obs, &f);
        assert!(k.contains(&"versions") && k.contains(&"chain"), "{k:?}");
    }

    #[test]
    fn a_lost_route_left_unrecorded_is_caught() {
        let (mut obs, mut f) = good();
        let route = route();
        f.records
            .retain(|r| !(r.peer_id == route && r.version == 3));
        let restored = find(&mut f, &route, 4);
        restored.version = 3;
        restored.changes = vec![
            (
                "NextHopIp".into(),
                Some("ip-rsp-b".into()),
                Some("ip-rsp-a".into()),
            ),
            ("RouteServerPeerId".into(), Some(B.into()), Some(A.into())),
        ];
        restored.event = "route.failover".into();
        f.state_versions.insert(route.clone(), 3);
        obs.deliveries
            .retain(|d| d.peer_id != route || d.version == 2);
        obs.deliveries
            .push(delivery(&route, 3, "route.failover", "warning"));
        // Coherent in itself (B -> A is a failover), but the prefix was lost across a cycle.
        assert_eq!(kinds(&obs, &f), ["missed"]);
    }

    #[test]
    fn a_wrong_from_a_phantom_value_and_an_unknown_field_are_caught() {
        let (obs, mut f) = good();
        find(&mut f, &route(), 2).changes[0].1 = Some("rsp-c".into());
        assert_eq!(kinds(&obs, &f), ["chain"]);
        let (obs, mut f) = good();
        // Recorded as installed in a table that rejects it: never shown.
        find(&mut f, &route(), 4).changes[2].2 = Some("rtb-1:rejected".into());
        let k = kinds(&obs, &f);
        assert!(k.contains(&"phantom"), "{k:?}");
        let (obs, mut f) = good();
        find(&mut f, EP, 2).changes[0].0 = "BgpStatus".into();
        assert!(kinds(&obs, &f).contains(&"chain"));
    }

    /// What a run that lists the peers before a session drops and reads the routing database
    /// after would record: "no routes" for a peer whose session was down by then.
    #[test]
    fn a_no_routes_alert_while_the_session_was_down_is_a_phantom() {
        let (mut obs, mut f) = good();
        let a = peer_routes_key(A);
        f.records.push(rec(
            &a,
            1,
            2050,
            "changed",
            &[("AdvertisedRoutes", Some("1"), Some("0"))],
            true,
            "peer.no-routes",
        ));
        f.state_versions.insert(a.clone(), 1);
        obs.deliveries
            .push(delivery(&a, 1, "peer.no-routes", "warning"));
        assert_eq!(kinds(&obs, &f), ["missed", "phantom"]);
    }

    /// What CHAOS_SEED=3 showed: a run lists A with its session up, A's session drops, the
    /// run reads the routing database (A's routes withdrawn with it) and records "no routes".
    /// A phantom, whether or not the run's window holds the session's move: the poller
    /// confirms a silence in a second cycle, so no run may record one from a split read.
    #[test]
    fn a_silence_read_across_a_session_change_is_caught() {
        let (mut obs, mut f) = good();
        let a = peer_routes_key(A);
        obs.cycles.push(CycleRun {
            started_ms: 1900,
            ended_ms: 2100,
            completed: true,
        });
        f.records.push(rec(
            &a,
            1,
            1950,
            "changed",
            &[("AdvertisedRoutes", Some("1"), Some("0"))],
            true,
            "peer.no-routes",
        ));
        f.records.push(rec(
            &a,
            2,
            4400,
            "changed",
            &[("AdvertisedRoutes", Some("0"), Some("1"))],
            true,
            "peer.routes-restored",
        ));
        f.state_versions.insert(a.clone(), 2);
        obs.deliveries.extend([
            delivery(&a, 1, "peer.no-routes", "warning"),
            delivery(&a, 2, "peer.routes-restored", "recovery"),
        ]);
        assert_eq!(kinds(&obs, &f), ["phantom"]);
        obs.excuse_stale_overlap = true;
        assert_eq!(kinds(&obs, &f), ["phantom"]);
    }

    #[test]
    fn an_undelivered_doubled_or_unowed_routing_alert_is_caught() {
        let (mut obs, f) = good();
        obs.deliveries.remove(0);
        assert_eq!(kinds(&obs, &f), ["undelivered"]);
        let (mut obs, f) = good();
        obs.deliveries.push(obs.deliveries[1].clone());
        assert_eq!(kinds(&obs, &f), ["duplicate"]);
        obs.ambiguous_events = 1;
        let r = run(&obs, &f);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(r.duplicate_deliveries, 1);
        let (mut obs, f) = good();
        obs.deliveries
            .push(delivery(&route(), 1, "route.discovered", "info"));
        assert_eq!(kinds(&obs, &f), ["unexpected"]);
    }

    #[test]
    fn a_wrong_decision_a_wrong_event_and_a_leftover_pending_are_caught() {
        let (obs, mut f) = good();
        find(&mut f, &route(), 2).notification_state = "not-required".into();
        assert_eq!(kinds(&obs, &f), ["decision"]);
        let (obs, mut f) = good();
        find(&mut f, RS, 2).pending = true;
        assert_eq!(kinds(&obs, &f), ["pending"]);
        // A lost route recorded and sent as a mere change.
        let (mut obs, mut f) = good();
        find(&mut f, &route(), 3).event = "route.changed".into();
        obs.deliveries[1].event = "route.changed".into();
        assert_eq!(kinds(&obs, &f), ["event"]);
        assert_eq!(run(&obs, &f).violations.len(), 2, "recorded and delivered");
    }

    #[test]
    fn a_recovery_delivered_without_its_alert_is_caught() {
        // The lost alert never went out (the failover before it opens nothing): the restored
        // route's recovery follows nothing its reader saw.
        let (mut obs, f) = good();
        obs.deliveries.remove(1);
        assert_eq!(kinds(&obs, &f), ["recovery", "undelivered"]);
        // Sent as information, the alert opens nothing either.
        let (mut obs, f) = good();
        obs.deliveries[1].severity = "info".into();
        assert_eq!(kinds(&obs, &f), ["recovery"]);
    }

    #[test]
    fn persisted_routes_left_unrecorded_are_caught() {
        let (mut obs, mut f) = good();
        f.records.retain(|r| r.peer_id != RS || r.version <= 3);
        f.state_versions.insert(RS.into(), 3);
        obs.deliveries.retain(|d| d.peer_id != RS);
        assert_eq!(kinds(&obs, &f), ["missed"]);
        // And a route server whose PeerState is ahead of its history.
        let (obs, mut f) = good();
        f.state_versions.insert(RS.into(), 6);
        assert_eq!(kinds(&obs, &f), ["state-version"]);
    }

    #[test]
    fn a_peer_that_never_advertised_or_a_prefix_lost_unseen_needs_no_record() {
        let (mut obs, mut f) = good();
        // C: up from the start, advertising nothing; a second prefix, in and out between cycles.
        obs.changes.push(session(1000, "rsp-c", "up"));
        f.routes_set.push(routes(1000, "rsp-c", 0));

        let mut blip = fib(1700, Some(A), "installed");
        blip.prefix = "100.64.1.0/24".into();
        let mut gone = blip.clone();
        gone.at_ms = 1800;
        gone.to = None;
        f.fib_changes.extend([blip, gone]);
        let r = run(&obs, &f);
        assert!(r.violations.is_empty(), "{r}");
        // Its route server may count C's nothing as 0 or leave it out.
        find(&mut f, RS, 1).changes[3].2 = Some("rsp-a: 1, rsp-b: 1, rsp-c: 0".into());
        let r = run(&obs, &f);
        assert!(r.violations.is_empty(), "{r}");
    }

    #[test]
    fn a_restored_route_that_a_table_rejects_closes_the_lost_alert() {
        // The table's rules: a route back from lost is restored (the lost alert's recovery)
        // even when a table rejects it; its installation later is then no recovery.
        let (mut obs, mut f) = good();
        let route = route();
        f.fib_changes[3] = fib(4000, Some(A), "rejected");
        f.fib_changes.push(fib(4700, Some(A), "installed"));
        find(&mut f, &route, 4).changes[2].2 = Some("rtb-1:rejected".into());
        f.records.push(rec(
            &route,
            5,
            5400,
            "changed",
            &[(
                "RouteTables",
                Some("rtb-1:rejected"),
                Some("rtb-1:installed"),
            )],
            false,
            "route.installed",
        ));
        f.state_versions.insert(route.clone(), 5);
        let r = run(&obs, &f);
        assert!(r.violations.is_empty(), "{r}");
        // Sent as a recovery, it would follow no open alert.
        find(&mut f, &route, 5).notification_state = "sent".into();
        obs.deliveries
            .push(delivery(&route, 5, "route.installed", "recovery"));
        assert_eq!(kinds(&obs, &f), ["decision", "recovery", "unexpected"]);
    }

    /// A cycle that records B's count on the route server but not B's own record (its write
    /// failed, or the run was killed between the two): the next cycle compares with the route
    /// server's count, now 0, and never raises the alert.
    #[test]
    fn a_silence_counted_on_the_route_server_but_never_alerted_is_caught() {
        let (mut obs, mut f) = good();
        let b = peer_routes_key(B);
        f.records.retain(|r| r.peer_id != b);
        f.state_versions.remove(&b);
        obs.deliveries.retain(|d| d.peer_id != b);
        assert_eq!(kinds(&obs, &f), ["missed"]);
    }

    #[test]
    fn a_wrong_count_on_the_route_server_is_caught() {
        let (obs, mut f) = good();
        find(&mut f, RS, 2).changes[0].1 = Some("rsp-b: 2".into());
        assert_eq!(kinds(&obs, &f), ["chain"]);
        let (obs, mut f) = good();
        // A count B never had: the 0 it showed across a cycle is missed, and the next change
        // is from what it left.
        find(&mut f, RS, 2).changes[0].2 = Some("rsp-b: 3".into());
        assert_eq!(kinds(&obs, &f), ["chain", "missed"]);
        let (obs, mut f) = good();
        // After the last change, a count A never showed.
        f.records.push(rec(
            RS,
            6,
            9400,
            "changed",
            &[("AdvertisedRoutes", Some("rsp-a: 1"), Some("rsp-a: 7"))],
            false,
            "route-server.changed",
        ));
        f.state_versions.insert(RS.into(), 6);
        let k = kinds(&obs, &f);
        assert!(k.contains(&"phantom"), "{k:?}");
    }
}
