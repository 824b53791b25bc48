//! `peerwatch report`'s computation, pure: the last known states and the recorded transitions
//! in, availability, outages and recovery times per peer, per route server and for the fleet
//! out. No AWS here: `peerwatch-cli` reads the tables, prints, and draws the SVG timeline.
//!
//! Definitions (docs/operating.md, "peerwatch report", says the same):
//! - Each peer's time in the window `[since, until]` is split by its health: healthy,
//!   degraded, down, transitional (`pending`, `deleting`, `deleted`, unknown states) and
//!   unobserved (before it was first seen, after it vanished until it is seen again).
//! - Its health at `since` is the `HealthFrom` of its first transition at or after `since`;
//!   with none, the health it still has in `PeerState` (it has not changed since).
//! - Availability = healthy / (healthy + degraded + down). Transitional and unobserved time
//!   count on neither side; with no such time at all the availability is unknown (`None`).
//! - An outage is a maximal stretch of down or degraded health, so degraded -> down ->
//!   degraded is one outage. One that began before the window starts, for the report, at
//!   `since` (`started_before_window`). It ends when the peer is anything else.
//! - Time to recover is the length of an outage that ended in the window by the peer
//!   becoming healthy. An outage that ended in a deletion or a disappearance is counted as an
//!   outage but is not a recovery. Mean and longest are over recovered outages.
//! - An open outage is one still going at `until`.
//!
//! Routes (per route server, from the `route#<rs>#<prefix>` records and transitions):
//! - A prefix is `in-fib` while its route server's FIB has a route for it (installed, or
//!   rejected by some route table), `lost` from a `route.lost` until it is in the FIB again
//!   (`route.restored`) or stops being tracked, and `unobserved` before it was first seen with
//!   a FIB route and after it vanished with its route server. Its state at `since` is read
//!   like a peer's: the `HealthFrom` of its first transition at or after `since` (what the
//!   last transition before the window left it as), else its `PeerState` record.
//! - A failover is a recorded move of the prefix's FIB next hop from one peer to another
//!   within the window: the `route.failover` event, and also a move the alert rules recorded
//!   as `route.flapping`, or one that came with a rejection or a reinstallation.
//! - Lost time is the time within the window a prefix was `lost`; a loss under way at `since`
//!   counts from `since` (`startedBeforeWindow`). A route server's figures sum its prefixes'.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::fabric::{FabricRecord, ROUTE_KEY, Subject};
use crate::history::HistoryRow;
use crate::model::{Field, Health, PeerRecord, Timestamp, TransitionKind};

#[cfg(test)]
mod tests;

/// What a peer was during a stretch of time: its health, or not observed at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Healthy,
    Degraded,
    Down,
    /// `pending`, `deleting`, `deleted`, or a state this version does not know.
    Transitional,
    /// Not yet discovered, or vanished from the listing.
    Unobserved,
}

impl Condition {
    pub const ALL: [Condition; 5] = [
        Condition::Healthy,
        Condition::Degraded,
        Condition::Down,
        Condition::Transitional,
        Condition::Unobserved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Healthy => "healthy",
            Condition::Degraded => "degraded",
            Condition::Down => "down",
            Condition::Transitional => "transitional",
            Condition::Unobserved => "unobserved",
        }
    }

    /// Down or degraded: part of an outage.
    pub fn is_outage(self) -> bool {
        matches!(self, Condition::Down | Condition::Degraded)
    }

    /// Counted in availability's denominator.
    pub fn is_counted(self) -> bool {
        matches!(
            self,
            Condition::Healthy | Condition::Degraded | Condition::Down
        )
    }

    fn index(self) -> usize {
        self as usize
    }

    fn of_health(h: Health) -> Self {
        match h {
            Health::Healthy => Condition::Healthy,
            Health::Degraded => Condition::Degraded,
            Health::Down => Condition::Down,
            Health::Transitional => Condition::Transitional,
        }
    }

    /// A recorded `HealthFrom`/`HealthTo`. A value this version does not know is
    /// transitional, as `detect` treats states it does not know.
    fn recorded(text: &str) -> Self {
        Health::parse(text).map_or(Condition::Transitional, Condition::of_health)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stretch of a peer's timeline; consecutive segments touch and never share a condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub from: Timestamp,
    pub to: Timestamp,
    pub health: Condition,
}

impl Segment {
    pub fn millis(&self) -> i64 {
        self.to.as_millis() - self.from.as_millis()
    }
}

/// Seconds (millisecond precision) spent in each condition within the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSplit {
    pub healthy_seconds: f64,
    pub degraded_seconds: f64,
    pub down_seconds: f64,
    pub transitional_seconds: f64,
    pub unobserved_seconds: f64,
}

/// One outage that overlaps the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outage {
    /// When it began; `since` if it began before the window.
    pub started_at: Timestamp,
    pub started_before_window: bool,
    /// When it ended; `None` while it is still open at `until`.
    pub ended_at: Option<Timestamp>,
    /// What the peer became: `healthy` (a recovery), `transitional` or `unobserved`.
    pub ended_as: Option<Condition>,
    /// Its length within the window (to `until` while open).
    pub duration_seconds: f64,
    /// `down` if any of it was down, else `degraded`.
    pub worst: Condition,
}

/// The outage still going at `until`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOutage {
    /// When it began; `since` if it began before the window (`started_before_window`).
    pub since: Timestamp,
    pub started_before_window: bool,
    pub duration_seconds: f64,
    /// Its health at `until`: `down` or `degraded`.
    pub health: Condition,
}

/// One peer over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerReport {
    pub route_server_peer_id: String,
    pub route_server_id: String,
    pub peer_address: Option<String>,
    pub peer_asn: Option<i64>,
    /// Its condition at `until`.
    pub health_at_until: Condition,
    /// Percent of counted time that was healthy; `None` with no counted time.
    pub availability_percent: Option<f64>,
    #[serde(flatten)]
    pub time: TimeSplit,
    pub outage_count: usize,
    /// Outages that ended with the peer healthy again: the ones recovery times are over.
    pub recovered_count: usize,
    pub mean_time_to_recover_seconds: Option<f64>,
    pub longest_time_to_recover_seconds: Option<f64>,
    pub open_outage: Option<OpenOutage>,
    pub outages: Vec<Outage>,
    pub timeline: Vec<Segment>,
}

/// Figures summed over several peers: a route server's, or the fleet's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    pub peers: usize,
    /// Summed healthy time over summed counted time, in percent.
    pub availability_percent: Option<f64>,
    #[serde(flatten)]
    pub time: TimeSplit,
    pub outage_count: usize,
    pub recovered_count: usize,
    /// Mean over every recovered outage of these peers (not a mean of means).
    pub mean_time_to_recover_seconds: Option<f64>,
    pub longest_time_to_recover_seconds: Option<f64>,
    pub open_outages: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerReport {
    pub route_server_id: String,
    #[serde(flatten)]
    pub totals: Totals,
    /// Failovers of all its prefixes in the window.
    pub route_failovers: usize,
    /// Summed lost time of its prefixes within the window.
    pub route_lost_seconds: f64,
    /// Its prefixes observed in the window, in address order.
    pub routes: Vec<RouteReport>,
}

/// What a prefix was during a stretch of time: in its route server's FIB, lost, or not
/// tracked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteCondition {
    /// A route in the FIB: installed, or rejected by some route table (the FIB still has it).
    InFib,
    /// No route in the FIB, since a `route.lost`.
    Lost,
    /// Not yet seen with a FIB route, or vanished with its route server.
    Unobserved,
}

impl RouteCondition {
    pub const ALL: [RouteCondition; 3] = [
        RouteCondition::InFib,
        RouteCondition::Lost,
        RouteCondition::Unobserved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouteCondition::InFib => "in-fib",
            RouteCondition::Lost => "lost",
            RouteCondition::Unobserved => "unobserved",
        }
    }

    /// A route's recorded health: down is lost; a prefix first seen without a FIB route
    /// (transitional) was never lost, so it is not tracked yet.
    fn of(c: Condition) -> Self {
        match c {
            Condition::Healthy | Condition::Degraded => RouteCondition::InFib,
            Condition::Down => RouteCondition::Lost,
            Condition::Transitional | Condition::Unobserved => RouteCondition::Unobserved,
        }
    }
}

impl std::fmt::Display for RouteCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stretch of a prefix's timeline; consecutive segments touch and never share a state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSegment {
    pub from: Timestamp,
    pub to: Timestamp,
    pub state: RouteCondition,
}

impl RouteSegment {
    pub fn millis(&self) -> i64 {
        self.to.as_millis() - self.from.as_millis()
    }
}

/// One stretch of a prefix without a FIB route that overlaps the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LostInterval {
    /// When it was lost; `since` if it was lost before the window.
    pub started_at: Timestamp,
    pub started_before_window: bool,
    /// When it was in the FIB again or stopped being tracked; `None` while lost at `until`.
    pub ended_at: Option<Timestamp>,
    /// Its length within the window.
    pub duration_seconds: f64,
}

/// A move of a prefix's FIB next hop from one peer to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failover {
    pub observed_at: Timestamp,
    pub from_peer_id: String,
    pub to_peer_id: String,
}

/// One prefix of one route server over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteReport {
    pub prefix: String,
    /// Its state at `until`.
    pub state_at_until: RouteCondition,
    pub failovers: usize,
    pub lost_seconds: f64,
    pub in_fib_seconds: f64,
    pub unobserved_seconds: f64,
    pub lost_intervals: Vec<LostInterval>,
    pub failover_events: Vec<Failover>,
    pub timeline: Vec<RouteSegment>,
}

/// The whole report: `peerwatch report --output json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Peers observed at some time in the window, by route server then peer id.
    pub peers: Vec<PeerReport>,
    /// By route server id.
    pub route_servers: Vec<RouteServerReport>,
    pub fleet: Totals,
}

/// Builds the report for `[since, until]`. `states` are the `PeerState` records of the peers
/// in scope; `transitions` their recorded transitions from `since` on, in any order. Ones after
/// `until` are welcome: they tell the health at `since` of a peer that did not change within
/// the window. Peers never observed in the window (vanished before it, discovered after it)
/// are left out.
pub fn build(
    states: &[PeerRecord],
    transitions: &[HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> Report {
    build_with_routes(states, transitions, &[], &[], since, until)
}

/// [`build`], with the route servers' prefixes: `routes` are the route records of `PeerState`
/// in scope (other fabric records are ignored), `route_transitions` the `route#` items of the
/// history from `since` on, in any order, read like the peers' (later ones welcome). Prefixes
/// not observed in the window are left out; a route server with prefixes and no peer in the
/// window is listed with zero peers.
pub fn build_with_routes(
    states: &[PeerRecord],
    transitions: &[HistoryRow],
    routes: &[FabricRecord],
    route_transitions: &[HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> Report {
    let mut rows: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for row in transitions {
        rows.entry(&row.route_server_peer_id).or_default().push(row);
    }
    for list in rows.values_mut() {
        list.sort_by_key(|r| r.observed_at);
    }
    let records: HashMap<&str, &PeerRecord> = states
        .iter()
        .map(|r| (r.peer.route_server_peer_id.as_str(), r))
        .collect();
    let ids: BTreeSet<&str> = records.keys().chain(rows.keys()).copied().collect();

    let mut peers: Vec<(PeerReport, Tally)> = Vec::new();
    if since < until {
        for id in ids {
            let peer_rows = rows.get(id).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(p) = peer_report(id, records.get(id).copied(), peer_rows, since, until) {
                peers.push(p);
            }
        }
    }
    peers.sort_by(|(a, _), (b, _)| {
        (&a.route_server_id, &a.route_server_peer_id)
            .cmp(&(&b.route_server_id, &b.route_server_peer_id))
    });

    let mut by_route_server: BTreeMap<String, Tally> = BTreeMap::new();
    let mut fleet = Tally::default();
    for (p, tally) in &peers {
        by_route_server
            .entry(p.route_server_id.clone())
            .or_default()
            .add(tally);
        fleet.add(tally);
    }
    let mut prefixes = if since < until {
        route_reports(routes, route_transitions, since, until)
    } else {
        BTreeMap::new()
    };
    for rs in prefixes.keys() {
        by_route_server.entry(rs.clone()).or_default();
    }
    let route_servers = by_route_server
        .into_iter()
        .map(|(id, t)| {
            let routes = prefixes.remove(&id).unwrap_or_default();
            let lost_ms: i64 = routes.iter().map(|(_, ms)| ms).sum();
            let routes: Vec<RouteReport> = routes.into_iter().map(|(r, _)| r).collect();
            RouteServerReport {
                route_server_id: id,
                totals: t.totals(),
                route_failovers: routes.iter().map(|r| r.failovers).sum(),
                route_lost_seconds: seconds(lost_ms),
                routes,
            }
        })
        .collect();
    Report {
        since,
        until,
        route_servers,
        fleet: fleet.totals(),
        peers: peers.into_iter().map(|(p, _)| p).collect(),
    }
}

/// What is summed: milliseconds per condition, outages, recovery times.
#[derive(Debug, Clone, Default)]
struct Tally {
    peers: usize,
    millis: [i64; 5],
    outages: usize,
    recovered: Vec<i64>,
    open: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.peers += other.peers;
        for (mine, theirs) in self.millis.iter_mut().zip(other.millis) {
            *mine += theirs;
        }
        self.outages += other.outages;
        self.recovered.extend_from_slice(&other.recovered);
        self.open += other.open;
    }

    fn time(&self) -> TimeSplit {
        let s = |c: Condition| seconds(self.millis[c.index()]);
        TimeSplit {
            healthy_seconds: s(Condition::Healthy),
            degraded_seconds: s(Condition::Degraded),
            down_seconds: s(Condition::Down),
            transitional_seconds: s(Condition::Transitional),
            unobserved_seconds: s(Condition::Unobserved),
        }
    }

    fn availability_percent(&self) -> Option<f64> {
        let counted: i64 = Condition::ALL
            .iter()
            .filter(|c| c.is_counted())
            .map(|c| self.millis[c.index()])
            .sum();
        (counted > 0)
            .then(|| self.millis[Condition::Healthy.index()] as f64 * 100.0 / counted as f64)
    }

    fn mean_recovery(&self) -> Option<f64> {
        let n = self.recovered.len();
        (n > 0).then(|| seconds(self.recovered.iter().sum::<i64>()) / n as f64)
    }

    fn longest_recovery(&self) -> Option<f64> {
        self.recovered.iter().max().map(|&ms| seconds(ms))
    }

    fn totals(&self) -> Totals {
        Totals {
            peers: self.peers,
            availability_percent: self.availability_percent(),
            time: self.time(),
            outage_count: self.outages,
            recovered_count: self.recovered.len(),
            mean_time_to_recover_seconds: self.mean_recovery(),
            longest_time_to_recover_seconds: self.longest_recovery(),
            open_outages: self.open,
        }
    }
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// One peer's report and its tally, or `None` when it was never observed in the window.
fn peer_report(
    id: &str,
    record: Option<&PeerRecord>,
    rows: &[&HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> Option<(PeerReport, Tally)> {
    let last = record.map(|r| Last {
        present: r.present,
        health: Condition::of_health(r.health),
        first_seen_at: r.first_seen_at,
    });
    let (start, changes) = changes(last, rows, since, until);
    let at_until = changes.last().map_or(start, |&(_, c)| c);
    let timeline = segments(start, &changes, since, until);
    if at_until == Condition::Unobserved
        && timeline.iter().all(|s| s.health == Condition::Unobserved)
    {
        return None;
    }
    let outages = outages(&timeline, start, at_until, since, until);

    let mut tally = Tally {
        peers: 1,
        outages: outages.len(),
        ..Tally::default()
    };
    for s in &timeline {
        tally.millis[s.health.index()] += s.millis();
    }
    let mut open_outage = None;
    for (o, ms) in &outages {
        match o.ended_as {
            Some(Condition::Healthy) => tally.recovered.push(*ms),
            Some(_) => {}
            None => {
                tally.open += 1;
                open_outage = Some(OpenOutage {
                    since: o.started_at,
                    started_before_window: o.started_before_window,
                    duration_seconds: o.duration_seconds,
                    health: at_until,
                });
            }
        }
    }
    let route_server_id = record
        .map(|r| r.peer.route_server_id.clone())
        .or_else(|| rows.last().map(|r| r.route_server_id.clone()))
        .unwrap_or_default();
    let report = PeerReport {
        route_server_peer_id: id.to_string(),
        route_server_id,
        peer_address: record
            .map(|r| r.peer.peer_address.clone())
            .filter(|a| !a.is_empty()),
        peer_asn: record.and_then(|r| r.peer.peer_asn),
        health_at_until: at_until,
        availability_percent: tally.availability_percent(),
        time: tally.time(),
        outage_count: tally.outages,
        recovered_count: tally.recovered.len(),
        mean_time_to_recover_seconds: tally.mean_recovery(),
        longest_time_to_recover_seconds: tally.longest_recovery(),
        open_outage,
        outages: outages.into_iter().map(|(o, _)| o).collect(),
        timeline,
    };
    Some((report, tally))
}

/// What `PeerState` says of a peer or a route: the fallback when nothing was recorded since
/// `since`.
#[derive(Clone, Copy)]
struct Last {
    present: bool,
    health: Condition,
    first_seen_at: Timestamp,
}

/// The peer's (or route's) condition at `since`, and each change within `[since, until]` as
/// (when, what it became), oldest first. `rows` are its transitions from `since` on, oldest
/// first.
fn changes(
    record: Option<Last>,
    rows: &[&HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> (Condition, Vec<(Timestamp, Condition)>) {
    let rows: Vec<&HistoryRow> = rows
        .iter()
        .copied()
        .filter(|r| r.observed_at >= since)
        .collect();
    if let Some(first) = rows.first() {
        let start = before(first);
        let changes = rows
            .iter()
            .filter(|r| r.observed_at <= until)
            .map(|r| (r.observed_at, after(r)))
            .collect();
        return (start, changes);
    }
    // Nothing recorded since `since`: the peer is as PeerState says, and has been all along
    // (or since it was first seen, should its discovery have expired from the history).
    match record {
        Some(r) if r.present => {
            let now = r.health;
            if r.first_seen_at <= since {
                (now, Vec::new())
            } else if r.first_seen_at <= until {
                (Condition::Unobserved, vec![(r.first_seen_at, now)])
            } else {
                (Condition::Unobserved, Vec::new())
            }
        }
        _ => (Condition::Unobserved, Vec::new()),
    }
}

/// The condition just before a transition. A discovered peer was not observed before (a
/// rediscovered one neither: it had vanished).
fn before(row: &HistoryRow) -> Condition {
    if row.kind == TransitionKind::Discovered.as_str() {
        return Condition::Unobserved;
    }
    row.health_from
        .as_deref()
        .map_or(Condition::Unobserved, Condition::recorded)
}

/// The condition a transition leaves the peer in.
fn after(row: &HistoryRow) -> Condition {
    if row.kind == TransitionKind::Vanished.as_str() {
        return Condition::Unobserved;
    }
    row.health_to
        .as_deref()
        .map_or(Condition::Transitional, Condition::recorded)
}

/// The timeline over `[since, until]`: zero-length stretches dropped, equal neighbours merged.
fn segments(
    start: Condition,
    changes: &[(Timestamp, Condition)],
    since: Timestamp,
    until: Timestamp,
) -> Vec<Segment> {
    stretches(start, changes, since, until)
        .into_iter()
        .map(|(from, to, health)| Segment { from, to, health })
        .collect()
}

/// [`segments`] for any kind of state, as (from, to, state).
fn stretches<C: Copy + PartialEq>(
    start: C,
    changes: &[(Timestamp, C)],
    since: Timestamp,
    until: Timestamp,
) -> Vec<(Timestamp, Timestamp, C)> {
    let mut out: Vec<(Timestamp, Timestamp, C)> = Vec::new();
    let mut push = |from: Timestamp, to: Timestamp, state: C| {
        if to <= from {
            return;
        }
        match out.last_mut() {
            Some(last) if last.2 == state && last.1 == from => last.1 = to,
            _ => out.push((from, to, state)),
        }
    };
    let (mut from, mut current) = (since, start);
    for &(at, state) in changes {
        push(from, at, current);
        (from, current) = (at, state);
    }
    push(from, until, current);
    out
}

/// The outages in a timeline, each with its length in milliseconds.
fn outages(
    timeline: &[Segment],
    start: Condition,
    at_until: Condition,
    since: Timestamp,
    until: Timestamp,
) -> Vec<(Outage, i64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < timeline.len() {
        if !timeline[i].health.is_outage() {
            i += 1;
            continue;
        }
        let first = &timeline[i];
        let mut worst = Condition::Degraded;
        while i < timeline.len() && timeline[i].health.is_outage() {
            if timeline[i].health == Condition::Down {
                worst = Condition::Down;
            }
            i += 1;
        }
        let last_to = timeline[i - 1].to;
        let (ended_at, ended_as) = match timeline.get(i) {
            Some(next) => (Some(last_to), Some(next.health)),
            // The last stretch: open, unless a transition at `until` itself ended it.
            None if at_until.is_outage() => (None, None),
            None => (Some(until), Some(at_until)),
        };
        let ms = last_to.as_millis() - first.from.as_millis();
        out.push((
            Outage {
                started_at: first.from,
                started_before_window: first.from == since && start.is_outage(),
                ended_at,
                ended_as,
                duration_seconds: seconds(ms),
                worst,
            },
            ms,
        ));
    }
    // Gone down by a transition at `until` itself: open, and zero long so far.
    if at_until.is_outage() && out.last().is_none_or(|(o, _)| o.ended_at.is_some()) {
        out.push((
            Outage {
                started_at: until,
                started_before_window: false,
                ended_at: None,
                ended_as: None,
                duration_seconds: 0.0,
                worst: at_until,
            },
            0,
        ));
    }
    out
}

/// The prefixes observed in the window by route server, each with its lost milliseconds.
fn route_reports(
    records: &[FabricRecord],
    rows: &[HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> BTreeMap<String, Vec<(RouteReport, i64)>> {
    let mut by_key: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for row in rows {
        if row.route_server_peer_id.starts_with(ROUTE_KEY) {
            by_key
                .entry(&row.route_server_peer_id)
                .or_default()
                .push(row);
        }
    }
    for list in by_key.values_mut() {
        list.sort_by_key(|r| r.observed_at);
    }
    let mut known: BTreeMap<String, (&str, &str, Last)> = BTreeMap::new();
    for r in records {
        if let Subject::Route(route) = &r.subject {
            let last = Last {
                present: r.present,
                health: Condition::of_health(r.health),
                first_seen_at: r.first_seen_at,
            };
            known.insert(
                r.subject.key(),
                (&route.route_server_id, &route.prefix, last),
            );
        }
    }
    let mut keys: BTreeSet<String> = known.keys().cloned().collect();
    keys.extend(by_key.keys().map(|k| k.to_string()));

    let mut out: BTreeMap<String, Vec<(RouteReport, i64)>> = BTreeMap::new();
    for key in keys {
        let record = known.get(&key);
        let Some((rs, prefix)) = record
            .map(|&(rs, prefix, _)| (rs.to_string(), prefix.to_string()))
            .or_else(|| split_route_key(&key))
        else {
            continue;
        };
        let rows = by_key.get(key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(r) = route_report(prefix, record.map(|&(_, _, l)| l), rows, since, until) {
            out.entry(rs).or_default().push(r);
        }
    }
    for list in out.values_mut() {
        list.sort_by(|(a, _), (b, _)| prefix_order(&a.prefix).cmp(&prefix_order(&b.prefix)));
    }
    out
}

/// `route#<rs>#<prefix>` as (route server, prefix).
fn split_route_key(key: &str) -> Option<(String, String)> {
    let (rs, prefix) = key.strip_prefix(ROUTE_KEY)?.split_once('#')?;
    Some((rs.to_string(), prefix.to_string()))
}

/// Address order (`100.64.2.0/24` before `100.64.10.0/24`); text that is no CIDR goes last.
fn prefix_order(prefix: &str) -> (bool, Option<(std::net::IpAddr, u8)>, &str) {
    let cidr = prefix.split_once('/').and_then(|(addr, len)| {
        Some((
            addr.parse::<std::net::IpAddr>().ok()?,
            len.parse::<u8>().ok()?,
        ))
    });
    (cidr.is_none(), cidr, prefix)
}

/// A move of the FIB next hop between two peers, as the row's `RouteServerPeerId` change
/// tells it.
fn failover(row: &HistoryRow) -> Option<Failover> {
    let c = row
        .changes
        .iter()
        .find(|c| c.field == Field::RouteServerPeerId)?;
    match (&c.from, &c.to) {
        (Some(from), Some(to)) if from != to => Some(Failover {
            observed_at: row.observed_at,
            from_peer_id: from.clone(),
            to_peer_id: to.clone(),
        }),
        _ => None,
    }
}

/// One prefix's report and its lost milliseconds, or `None` when it was not observed in the
/// window.
fn route_report(
    prefix: String,
    record: Option<Last>,
    rows: &[&HistoryRow],
    since: Timestamp,
    until: Timestamp,
) -> Option<(RouteReport, i64)> {
    let (start, changes) = changes(record, rows, since, until);
    let start = RouteCondition::of(start);
    let changes: Vec<(Timestamp, RouteCondition)> = changes
        .into_iter()
        .map(|(at, c)| (at, RouteCondition::of(c)))
        .collect();
    let at_until = changes.last().map_or(start, |&(_, c)| c);
    let timeline: Vec<RouteSegment> = stretches(start, &changes, since, until)
        .into_iter()
        .map(|(from, to, state)| RouteSegment { from, to, state })
        .collect();
    let failover_events: Vec<Failover> = rows
        .iter()
        .filter(|r| r.observed_at >= since && r.observed_at <= until)
        .filter_map(|r| failover(r))
        .collect();
    if failover_events.is_empty()
        && at_until == RouteCondition::Unobserved
        && timeline
            .iter()
            .all(|s| s.state == RouteCondition::Unobserved)
    {
        return None;
    }
    let mut millis = [0i64; 3];
    for s in &timeline {
        millis[s.state as usize] += s.millis();
    }
    let lost_intervals = timeline
        .iter()
        .filter(|s| s.state == RouteCondition::Lost)
        .map(|s| LostInterval {
            started_at: s.from,
            started_before_window: s.from == since && start == RouteCondition::Lost,
            // The last stretch ends at `until` only by the window's end, unless a
            // transition at `until` itself ended it.
            ended_at: (s.to < until || at_until != RouteCondition::Lost).then_some(s.to),
            duration_seconds: seconds(s.millis()),
        })
        .collect();
    let lost_ms = millis[RouteCondition::Lost as usize];
    let report = RouteReport {
        prefix,
        state_at_until: at_until,
        failovers: failover_events.len(),
        lost_seconds: seconds(lost_ms),
        in_fib_seconds: seconds(millis[RouteCondition::InFib as usize]),
        unobserved_seconds: seconds(millis[RouteCondition::Unobserved as usize]),
        lost_intervals,
        failover_events,
        timeline,
    };
    Some((report, lost_ms))
}

/// A percentage for people: `83.33 %`, or `-` when unknown.
pub fn format_percent(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.2} %"))
}
