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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::history::HistoryRow;
use crate::model::{Health, PeerRecord, Timestamp, TransitionKind};

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

    let mut by_route_server: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut fleet = Tally::default();
    for (p, tally) in &peers {
        by_route_server
            .entry(&p.route_server_id)
            .or_default()
            .add(tally);
        fleet.add(tally);
    }
    let route_servers = by_route_server
        .into_iter()
        .map(|(id, t)| RouteServerReport {
            route_server_id: id.to_string(),
            totals: t.totals(),
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
    let (start, changes) = changes(record, rows, since, until);
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

/// The peer's condition at `since`, and each change within `[since, until]` as (when, what
/// it became), oldest first. `rows` are the peer's transitions from `since` on, oldest first.
fn changes(
    record: Option<&PeerRecord>,
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
            let now = Condition::of_health(r.health);
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
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |from: Timestamp, to: Timestamp, health: Condition| {
        if to <= from {
            return;
        }
        match out.last_mut() {
            Some(last) if last.health == health && last.to == from => last.to = to,
            _ => out.push(Segment { from, to, health }),
        }
    };
    let (mut from, mut current) = (since, start);
    for &(at, health) in changes {
        push(from, at, current);
        (from, current) = (at, health);
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

/// A percentage for people: `83.33 %`, or `-` when unknown.
pub fn format_percent(p: Option<f64>) -> String {
    p.map_or("-".into(), |p| format!("{p:.2} %"))
}
