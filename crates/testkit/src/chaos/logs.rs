//! What the log consumer recorded, checked against the simulator's peer log
//! (`GET /_sim/peer-logs`, docs/design.md, "Between polls: peer logs").
//!
//! A peer log record is a real change with its exact millisecond, so the log path is held to
//! more than the poll: every item it writes names a record that exists, and every record is
//! recorded once across both paths. What the consumer may do with one record (a change
//! "field F became v at t" against the peer's last known state S):
//!
//! - reflected: S shows `v`, taken in a window that holds `t`: nothing written;
//! - late: older than S's last change: a history item at `t`, `Late`, not notified, carrying
//!   S's version (outside the version chain), written only if no item has its key;
//! - a change: in the chain at `t` (one millisecond later when S's last change has that very
//!   millisecond), its `from` implied when S shows `v` already.
//!
//! The poll only bounds when a change it lists happened (after the field's last recorded
//! change, before its listing), so a poll item is taken for a duplicate only when every real
//! change it may have listed is recorded by the log path as well.

use std::collections::BTreeMap;

use super::{
    CycleRun, FabricObserved, Interval, LISTING_SLACK_MS, Observed, Record, Report, Violation,
};

/// The fields a peer log record sets.
pub const SESSION_FIELDS: [&str; 2] = ["BgpStatus", "BfdStatus"];

/// How far the change log's stamp of a change may be from the peer log's stamp of it: both
/// are taken by the simulator while it handles the one request that made the change.
pub const SHOWN_SLACK_MS: i64 = 1_000;

/// One BGP or BFD record of the simulator's peer log: a real change of a session, at the
/// millisecond it was stamped (on the same clock as the poll's `ObservedAt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    pub peer_id: String,
    pub at_ms: i64,
    /// `BgpStatus` or `BfdStatus`.
    pub field: String,
    /// `up` or `down`.
    pub value: String,
    /// (started, ended) ms of each consumer run that was handed this record and finished
    /// (exit 0): the record must then be in the history, unless the peer was not tracked.
    pub delivered: Vec<(i64, i64)>,
    /// Every consumer run that was handed it, finished, failed or killed: when it may have
    /// been written.
    pub tried: Vec<(i64, i64)>,
}

/// One `RouteStatus` record of the simulator's peer log: a route a peer advertised, updated
/// or withdrew, at the millisecond it was stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRouteChange {
    pub peer_id: String,
    pub at_ms: i64,
    /// `advertised`, `updated` or `withdrawn`.
    pub status: String,
    pub prefix: String,
    /// As [`LoggedChange::delivered`].
    pub delivered: Vec<(i64, i64)>,
}

/// How many milliseconds after its instant the consumer may keep a peer's route records,
/// when the instant's key is taken by records of another batch.
pub const ROUTE_KEY_SPREAD_MS: i64 = 20;

/// The other session status; `None` for anything a peer log record never says.
pub fn opposite(status: Option<&str>) -> Option<&'static str> {
    match status {
        Some("up") => Some("down"),
        Some("down") => Some("up"),
        _ => None,
    }
}

/// The consumer runs handed the record(s) a log item may come from (at its time, or a
/// millisecond before): (started, ended) ms.
pub(super) struct Runs {
    /// Those that finished: by the end of the first, the item was written.
    pub finished: Vec<(i64, i64)>,
    /// All of them: one of them wrote it.
    pub any: Vec<(i64, i64)>,
}

/// [`Runs`] of log item `r`; `None` without peer log records to tell.
pub(super) fn runs_of(logged: &[LoggedChange], r: &Record) -> Option<Runs> {
    if logged.is_empty() {
        return None;
    }
    let of: Vec<&LoggedChange> = logged
        .iter()
        .filter(|c| {
            c.peer_id == r.peer_id
                && (c.at_ms == r.observed_at_ms || c.at_ms == r.observed_at_ms - 1)
        })
        .collect();
    Some(Runs {
        finished: of
            .iter()
            .flat_map(|c| c.delivered.iter().copied())
            .collect(),
        any: of.iter().flat_map(|c| c.tried.iter().copied()).collect(),
    })
}

/// A session status as an interval of the simulator's timeline shows it: a peer that is not
/// listed has no session (the peer log says `DOWN` when it goes).
fn status_in<'a>(iv: &'a Interval, field: &str) -> Option<&'a str> {
    match &iv.values {
        None => Some("down"),
        Some(v) => match field {
            "BgpStatus" => v.bgp_status.as_deref(),
            "BfdStatus" => v.bfd_status.as_deref(),
            _ => None,
        },
    }
}

/// The interval of `line` (at `min_next` or after) in which the simulator showed every session
/// value log record `r` sets, beginning within [`SHOWN_SLACK_MS`] of its `ObservedAt`: the
/// nearest such.
pub(super) fn shown_at(line: &[Interval], min_next: usize, r: &Record) -> Option<usize> {
    line.iter()
        .enumerate()
        .skip(min_next)
        .filter(|(_, iv)| (iv.start_ms - r.observed_at_ms).abs() <= SHOWN_SLACK_MS)
        .filter(|(_, iv)| {
            r.changes
                .iter()
                .all(|(field, _, to)| status_in(iv, field) == to.as_deref())
        })
        .min_by_key(|(_, iv)| (iv.start_ms - r.observed_at_ms).abs())
        .map(|(i, _)| i)
}

/// A log record's changes, for a message.
pub(super) fn show_changes(r: &Record) -> String {
    let changes: Vec<String> = r
        .changes
        .iter()
        .map(|(f, _, to)| format!("{f} {}", to.as_deref().unwrap_or("-")))
        .collect();
    format!("{} at {}", changes.join(", "), r.observed_at_ms)
}

/// One real change: peer, field, millisecond, value.
type Key<'a> = (&'a str, &'a str, i64, &'a str);

fn key(c: &LoggedChange) -> Key<'_> {
    (&c.peer_id, &c.field, c.at_ms, &c.value)
}

/// The real changes per (peer, field), in the simulator's order, each once.
struct Index<'a> {
    by: BTreeMap<(String, String), Vec<&'a LoggedChange>>,
}

impl<'a> Index<'a> {
    fn new(logged: &'a [LoggedChange]) -> Index<'a> {
        let mut by: BTreeMap<(String, String), Vec<&LoggedChange>> = BTreeMap::new();
        for c in logged {
            let of = by.entry((c.peer_id.clone(), c.field.clone())).or_default();
            if !of.iter().any(|x| x.at_ms == c.at_ms && x.value == c.value) {
                of.push(c);
            }
        }
        // Stable: two records of one millisecond keep the simulator's order.
        for of in by.values_mut() {
            of.sort_by_key(|c| c.at_ms);
        }
        Index { by }
    }

    fn of(&self, peer: &str, field: &str) -> &[&'a LoggedChange] {
        self.by
            .get(&(peer.to_string(), field.to_string()))
            .map_or(&[], |v| &v[..])
    }

    fn exact(&self, peer: &str, field: &str, at: i64, value: &str) -> Option<&'a LoggedChange> {
        self.of(peer, field)
            .iter()
            .copied()
            .find(|c| c.at_ms == at && c.value == value)
    }

    fn all(&self) -> impl Iterator<Item = &'a LoggedChange> + '_ {
        self.by.values().flatten().copied()
    }
}

/// The latest end of a cycle that was running at `at_ms`: by then it had listed what it
/// recorded at `at_ms` (its `ObservedAt` is stamped before its listing).
fn cycle_end(cycles: &[CycleRun], at_ms: i64) -> i64 {
    cycles
        .iter()
        .filter(|c| c.started_ms <= at_ms && at_ms <= c.ended_ms)
        .map(|c| c.ended_ms)
        .max()
        .unwrap_or(at_ms + LISTING_SLACK_MS)
}

/// The real changes a poll item setting a session to `to` at `at` may have listed: the one in
/// effect at `at` and any to `to` until the cycle's end, none before the field's previous
/// recorded change (`after`).
fn listed<'a>(
    real: &[&'a LoggedChange],
    after: Option<i64>,
    at: i64,
    end: i64,
    to: &str,
) -> Vec<&'a LoggedChange> {
    let newer = |c: &&LoggedChange| after.is_none_or(|a| c.at_ms > a);
    let mut out: Vec<&LoggedChange> = real
        .iter()
        .copied()
        .rfind(|c| c.at_ms <= at)
        .filter(|c| c.value == to && newer(c))
        .into_iter()
        .collect();
    out.extend(
        real.iter()
            .copied()
            .filter(|c| c.at_ms > at && c.at_ms <= end && c.value == to && newer(c)),
    );
    out
}

/// The log path's own checks (see the module's documentation), on the version chains
/// (`chains`, in version order) and the late items (`late`) of every peer.
pub(super) fn check(
    obs: &Observed,
    logged: &[LoggedChange],
    chains: &BTreeMap<&str, Vec<&Record>>,
    late: &BTreeMap<&str, Vec<&Record>>,
    report: &mut Report,
) {
    let index = Index::new(logged);
    report.logged_changes = index.all().count();
    let v = &mut report.violations;
    // Which items record each real change (exactly: the log path's).
    let mut claims: BTreeMap<Key, Vec<String>> = BTreeMap::new();

    for (peer, chain) in chains {
        let mut last_changed: Option<i64> = None;
        for r in chain {
            if r.is_from_log() {
                for (field, _, to) in &r.changes {
                    let to = to.as_deref().unwrap_or_default();
                    // At the record's own time, or a millisecond later when the peer's last
                    // change had that very millisecond.
                    let at = [r.observed_at_ms, r.observed_at_ms - 1]
                        .into_iter()
                        .filter(|&t| t == r.observed_at_ms || last_changed == Some(t))
                        .find_map(|t| index.exact(peer, field, t, to));
                    match at {
                        Some(c) => claims
                            .entry(key(c))
                            .or_default()
                            .push(format!("v{} (log)", r.version)),
                        None => v.push(Violation::Unlogged {
                            peer: peer.to_string(),
                            version: r.version,
                            at_ms: r.observed_at_ms,
                            what: format!("{field} {to}"),
                        }),
                    }
                }
            }
            last_changed = Some(r.observed_at_ms);
        }
    }

    for (peer, items) in late {
        let chain = chains.get(peer).map_or(&[][..], |c| &c[..]);
        for r in items {
            report.late_checked += 1;
            let mut problems: Vec<String> = Vec::new();
            let mut wrong = |what: String| problems.push(what);
            if !r.is_from_log() {
                wrong(format!("has Source {:?}, not log", r.source));
            }
            if r.kind != "changed" {
                wrong(format!("is a `{}` record", r.kind));
            }
            if r.notification_state != "not-required" || r.pending {
                wrong(format!(
                    "was to be notified (NotificationState {}{})",
                    r.notification_state,
                    if r.pending { ", pending" } else { "" }
                ));
            }
            match chain.iter().find(|c| c.version == r.version) {
                None => wrong("carries a version its chain does not have".into()),
                Some(c) if r.observed_at_ms >= c.observed_at_ms => wrong(format!(
                    "is not older than the change of its version (at {})",
                    c.observed_at_ms
                )),
                Some(_) => {}
            }
            if r.changes.is_empty() {
                wrong("changes nothing".into());
            }
            for (field, from, to) in &r.changes {
                let back = opposite(to.as_deref());
                if !SESSION_FIELDS.contains(&field.as_str()) || back.is_none() {
                    wrong(format!("sets {field} to {to:?}"));
                    continue;
                }
                if from.as_deref() != back {
                    wrong(format!("says {field} from {from:?} to {to:?}"));
                }
                let to = to.as_deref().unwrap_or_default();
                match index.exact(peer, field, r.observed_at_ms, to) {
                    Some(c) => claims
                        .entry(key(c))
                        .or_default()
                        .push(format!("a late item at {}", r.observed_at_ms)),
                    None => wrong(format!(
                        "sets {field} to {to}, which no peer log record says then"
                    )),
                }
            }
            v.extend(problems.into_iter().map(|what| Violation::WrongLate {
                peer: peer.to_string(),
                version: r.version,
                at_ms: r.observed_at_ms,
                what,
            }));
        }
    }

    for ((peer, field, at_ms, value), by) in &claims {
        if by.len() > 1 {
            v.push(Violation::RecordedTwice {
                peer: peer.to_string(),
                field: field.to_string(),
                value: value.to_string(),
                at_ms: *at_ms,
                by: by.join(" and "),
            });
        }
    }

    // The poll against the log path, and what each poll item may stand for: (peer, field,
    // value) -> the windows (after, end] of the poll items setting the field to the value.
    type Windows<'a> = BTreeMap<(&'a str, &'a str, &'a str), Vec<(Option<i64>, i64)>>;
    let mut windows: Windows = BTreeMap::new();
    for (peer, chain) in chains {
        // The ObservedAt of the last item that set each session.
        let mut touched: BTreeMap<&str, i64> = BTreeMap::new();
        for r in chain {
            if r.kind == "vanished" {
                touched.clear();
                continue;
            }
            let end = cycle_end(&obs.cycles, r.observed_at_ms);
            for (field, _, to) in &r.changes {
                let (Some(to), true) = (to.as_deref(), SESSION_FIELDS.contains(&field.as_str()))
                else {
                    continue;
                };
                if r.is_from_log() || opposite(Some(to)).is_none() {
                    continue;
                }
                let after = match r.kind.as_str() {
                    "discovered" => None,
                    _ => touched.get(field.as_str()).copied(),
                };
                windows
                    .entry((peer, field, to))
                    .or_default()
                    .push((after, end));
                let seen = listed(index.of(peer, field), after, r.observed_at_ms, end, to);
                if !seen.is_empty() && seen.iter().all(|c| claims.contains_key(&key(c))) {
                    let c = seen[0];
                    v.push(Violation::RecordedTwice {
                        peer: peer.to_string(),
                        field: field.clone(),
                        value: to.to_string(),
                        at_ms: c.at_ms,
                        by: format!(
                            "v{} (poll, at {}) and {}",
                            r.version,
                            r.observed_at_ms,
                            claims[&key(c)].join(" and ")
                        ),
                    });
                }
            }
            if r.kind == "discovered" {
                for f in SESSION_FIELDS {
                    touched.insert(f, r.observed_at_ms);
                }
            }
            for (field, _, _) in &r.changes {
                if let Some(f) = SESSION_FIELDS.iter().find(|f| **f == field.as_str()) {
                    touched.insert(f, r.observed_at_ms);
                }
            }
        }
    }

    // Never dropped: a record handed to a consumer run that finished while the peer was
    // tracked (after the cycle that discovered it, before it vanished) is in the history: as
    // a change or a late item of its own, or shown by a poll item whose window holds it.
    for c in index.all() {
        let chain = chains.get(c.peer_id.as_str()).map_or(&[][..], |c| &c[..]);
        if !must_be_kept(&obs.cycles, chain, &c.delivered) {
            continue;
        }
        report.log_deliveries_checked += 1;
        if claims.contains_key(&key(c)) {
            continue;
        }
        let shown = windows
            .get(&(c.peer_id.as_str(), c.field.as_str(), c.value.as_str()))
            .is_some_and(|w| {
                w.iter()
                    .any(|&(after, end)| after.is_none_or(|a| c.at_ms > a) && c.at_ms <= end)
            });
        if !shown {
            v.push(Violation::Dropped {
                peer: c.peer_id.clone(),
                field: c.field.clone(),
                value: c.value.clone(),
                at_ms: c.at_ms,
            });
        }
    }
}

/// Whether a record handed to the consumer runs `delivered` must be in the history: one of
/// them finished while the peer was tracked, after the cycle that discovered it (`chain`, its
/// version chain) and before it vanished. Outside that, the consumer leaves it to the poll.
fn must_be_kept(cycles: &[CycleRun], chain: &[&Record], delivered: &[(i64, i64)]) -> bool {
    let Some(first) = chain.first() else {
        return false;
    };
    let from = cycle_end(cycles, first.observed_at_ms);
    let until = chain
        .iter()
        .find(|r| r.kind == "vanished")
        .map_or(i64::MAX, |r| r.observed_at_ms);
    delivered.iter().any(|&(s, e)| s >= from && e < until)
}

/// The route records the log consumer keeps in a peer's route history (`routes#<rsp-id>`,
/// `Source=log`), beside its version chain: each item holds records of one instant, at that
/// instant or up to [`ROUTE_KEY_SPREAD_MS`] after it, of that peer, never notified; each real
/// record is kept once; none handed to a consumer run that finished while the peer was tracked
/// is dropped.
pub(super) fn check_routes(obs: &Observed, f: &FabricObserved, report: &mut Report) {
    let mut chains: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in obs.records.iter().filter(|r| !r.late) {
        chains.entry(r.peer_id.as_str()).or_default().push(r);
    }
    for chain in chains.values_mut() {
        chain.sort_by_key(|r| r.version);
    }
    type RouteKey<'a> = (&'a str, i64, &'a str, &'a str);
    let mut real: BTreeMap<RouteKey, &LoggedRouteChange> = BTreeMap::new();
    for c in &f.logged_routes {
        real.entry((&c.peer_id, c.at_ms, &c.status, &c.prefix))
            .or_insert(c);
    }
    report.logged_routes = real.len();
    let v = &mut report.violations;
    let mut claims: BTreeMap<RouteKey, Vec<i64>> = BTreeMap::new();
    for r in f.records.iter().filter(|r| r.is_from_log()) {
        report.route_records_checked += r.routes.len();
        let mut wrong = |what: String| {
            v.push(Violation::WrongRouteRecords {
                peer: r.peer_id.clone(),
                at_ms: r.observed_at_ms,
                what,
            })
        };
        let Some(peer) = r.peer_id.strip_prefix("routes#") else {
            wrong("are not in a peer's route history".into());
            continue;
        };
        if r.event != "peer.routes-logged" || r.kind != "changed" {
            wrong(format!("are a `{}` record of {:?}", r.kind, r.event));
        }
        if r.notification_state != "not-required" || r.pending {
            wrong(format!(
                "were to be notified (NotificationState {})",
                r.notification_state
            ));
        }
        if r.routes.is_empty() {
            wrong("hold no route".into());
        }
        let instant = (0..ROUTE_KEY_SPREAD_MS)
            .map(|back| r.observed_at_ms - back)
            .find(|&t| {
                r.routes
                    .iter()
                    .all(|(status, prefix)| real.contains_key(&(peer, t, status, prefix)))
            });
        let Some(t) = instant else {
            wrong(format!(
                "hold {:?}, which no RouteStatus record of one instant up to then says",
                r.routes
            ));
            continue;
        };
        for (status, prefix) in &r.routes {
            if let Some((key, _)) = real.get_key_value(&(peer, t, status.as_str(), prefix.as_str()))
            {
                claims.entry(*key).or_default().push(r.observed_at_ms);
            }
        }
    }
    for ((peer, at_ms, status, prefix), items) in &claims {
        if items.len() > 1 {
            v.push(Violation::RecordedTwice {
                peer: peer.to_string(),
                field: "Route".into(),
                value: format!("{status} {prefix}"),
                at_ms: *at_ms,
                by: format!("the route records kept at {items:?}"),
            });
        }
    }
    for (key, c) in &real {
        let chain = chains.get(c.peer_id.as_str()).map_or(&[][..], |c| &c[..]);
        if !must_be_kept(&obs.cycles, chain, &c.delivered) {
            continue;
        }
        report.route_deliveries_checked += 1;
        if !claims.contains_key(key) {
            v.push(Violation::Dropped {
                peer: c.peer_id.clone(),
                field: "Route".into(),
                value: format!("{} {}", c.status, c.prefix),
                at_ms: c.at_ms,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::{Delivery, SimChange, Values, check_with_logs};

    const P: &str = "rsp-1";

    fn vals(bgp: &str, bfd: &str) -> Option<Values> {
        Some(Values {
            state: "available".into(),
            bgp_status: Some(bgp.into()),
            bfd_status: Some(bfd.into()),
        })
    }

    fn change(at_ms: i64, to: Option<Values>) -> SimChange {
        SimChange {
            at_ms,
            peer_id: P.into(),
            to,
            liveness: "bfd".into(),
        }
    }

    type Change<'a> = (&'a str, Option<&'a str>, Option<&'a str>);

    fn rec(version: i64, at: i64, source: &str, changes: &[Change], n: &str) -> Record {
        Record {
            peer_id: P.into(),
            observed_at_ms: at,
            kind: if version == 1 {
                "discovered"
            } else {
                "changed"
            }
            .into(),
            version,
            changes: changes
                .iter()
                .map(|(f, a, b)| (f.to_string(), a.map(str::to_string), b.map(str::to_string)))
                .collect(),
            notification_state: n.into(),
            pending: false,
            event: String::new(),
            source: source.into(),
            late: false,
            routes: Vec::new(),
        }
    }

    fn late(version: i64, at: i64, field: &str, to: &str) -> Record {
        Record {
            late: true,
            ..rec(
                version,
                at,
                "log",
                &[(field, opposite(Some(to)), Some(to))],
                "not-required",
            )
        }
    }

    fn logged(field: &str, at_ms: i64, value: &str, delivered: &[(i64, i64)]) -> LoggedChange {
        LoggedChange {
            peer_id: P.into(),
            at_ms,
            field: field.into(),
            value: value.into(),
            delivered: delivered.to_vec(),
            tried: delivered.to_vec(),
        }
    }

    fn cycles(starts: &[i64]) -> Vec<CycleRun> {
        starts
            .iter()
            .map(|&s| CycleRun {
                started_ms: s,
                ended_ms: s + 200,
                completed: true,
            })
            .collect()
    }

    const DISCOVERED: [Change<'static>; 3] = [
        ("State", None, Some("available")),
        ("BgpStatus", None, Some("up")),
        ("BfdStatus", None, Some("up")),
    ];

    /// A peer discovered up; a BGP flap of 40 ms between two polls and a BFD failure, all
    /// recorded by the log path at their own times; the polls after them find nothing new.
    fn good() -> (Observed, Vec<LoggedChange>) {
        let obs = Observed {
            changes: vec![
                change(1000, vals("up", "up")),
                change(2000, vals("down", "up")),
                change(2040, vals("up", "up")),
                change(3000, vals("up", "down")),
            ],
            records: vec![
                rec(1, 1500, "poll", &DISCOVERED, "not-required"),
                rec(
                    2,
                    2000,
                    "log",
                    &[("BgpStatus", Some("up"), Some("down"))],
                    "sent",
                ),
                rec(
                    3,
                    2040,
                    "log",
                    &[("BgpStatus", Some("down"), Some("up"))],
                    "sent",
                ),
                rec(
                    4,
                    3000,
                    "log",
                    &[("BfdStatus", Some("up"), Some("down"))],
                    "sent",
                ),
            ],
            state_versions: [(P.to_string(), 4)].into(),
            deliveries: (2..=4).map(|n| Delivery::of(P, n)).collect(),
            cycles: cycles(&[1400, 2400, 3400]),
            ..Observed::default()
        };
        let logged = vec![
            // At creation, before any poll: the consumer does not know the peer yet.
            logged("BgpStatus", 1000, "up", &[(1010, 1050)]),
            logged("BfdStatus", 1000, "up", &[(1010, 1050)]),
            logged("BgpStatus", 2000, "down", &[(2100, 2150)]),
            logged("BgpStatus", 2040, "up", &[(2100, 2150), (2700, 2750)]),
            logged("BfdStatus", 3000, "down", &[(3050, 3100)]),
        ];
        (obs, logged)
    }

    fn kinds(obs: &Observed, logged: &[LoggedChange]) -> Vec<&'static str> {
        check_with_logs(obs, logged)
            .violations
            .iter()
            .map(|v| match v {
                Violation::Unlogged { .. } => "unlogged",
                Violation::WrongLate { .. } => "late",
                Violation::RecordedTwice { .. } => "twice",
                Violation::Dropped { .. } => "dropped",
                Violation::WrongChain { .. } => "chain",
                Violation::Phantom { .. } => "phantom",
                Violation::Decision { .. } => "decision",
                _ => "other",
            })
            .collect()
    }

    #[test]
    fn a_true_history_from_both_paths_passes() {
        let (obs, logged) = good();
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(
            (
                r.logged_changes,
                r.log_changes_checked,
                r.log_deliveries_checked
            ),
            (5, 3, 3)
        );
        // Without the peer log, nothing the log path wrote can be shown to have happened.
        assert_eq!(kinds(&obs, &[]), ["unlogged", "unlogged", "unlogged"]);
    }

    #[test]
    fn a_change_recorded_by_the_log_and_again_by_the_poll_is_caught() {
        // The poll stamps its ObservedAt (2950) before listing; the listing (at 3010) showed
        // the BFD failure of 3000; the record of it then arrives, is not found reflected
        // (2950 is before 3000), and is recorded again with its `from` implied.
        let (mut obs, logged) = good();
        obs.records[3] = rec(
            4,
            2950,
            "poll",
            &[("BfdStatus", Some("up"), Some("down"))],
            "sent",
        );
        obs.records.push(rec(
            5,
            3000,
            "log",
            &[("BfdStatus", Some("up"), Some("down"))],
            "not-required",
        ));
        obs.state_versions.insert(P.into(), 5);
        obs.cycles.push(CycleRun {
            started_ms: 2900,
            ended_ms: 3100,
            completed: true,
        });
        // (The second record's values are the interval the poll's matched already: a phantom
        // too.)
        let k = kinds(&obs, &logged);
        assert!(k.contains(&"twice"), "{}", check_with_logs(&obs, &logged));
    }

    #[test]
    fn a_change_the_poll_recorded_kept_again_as_late_is_caught() {
        // BGP down at 2000, listed by the poll at 2450; BGP up at 2700 from the log; then the
        // down's record, delayed, arrives older than the last change: a late item of a change
        // the history holds already.
        let obs = Observed {
            changes: vec![
                change(1000, vals("up", "up")),
                change(2000, vals("down", "up")),
                change(2700, vals("up", "up")),
            ],
            records: vec![
                rec(1, 1500, "poll", &DISCOVERED, "not-required"),
                rec(
                    2,
                    2450,
                    "poll",
                    &[("BgpStatus", Some("up"), Some("down"))],
                    "sent",
                ),
                rec(
                    3,
                    2700,
                    "log",
                    &[("BgpStatus", Some("down"), Some("up"))],
                    "sent",
                ),
            ],
            state_versions: [(P.to_string(), 3)].into(),
            deliveries: vec![Delivery::of(P, 2), Delivery::of(P, 3)],
            cycles: cycles(&[1400, 2400]),
            ..Observed::default()
        };
        let logged = vec![
            logged("BgpStatus", 2000, "down", &[(2900, 2950)]),
            logged("BgpStatus", 2700, "up", &[(2750, 2800)]),
        ];
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        let mut obs = obs;
        obs.records.push(late(3, 2000, "BgpStatus", "down"));
        assert_eq!(kinds(&obs, &logged), ["twice"]);
    }

    #[test]
    fn one_record_kept_twice_is_caught() {
        let (mut obs, logged) = good();
        obs.records.push(late(3, 2000, "BgpStatus", "down"));
        assert_eq!(kinds(&obs, &logged), ["twice"]);
    }

    #[test]
    fn only_an_implied_from_of_the_value_shown_is_accepted() {
        // The BGP "up" of 2040 arrives alone (the "down" before it was lost): the history
        // shows up already, so the record says the down came between.
        let (mut obs, logged) = good();
        obs.records.remove(1);
        for (i, r) in obs.records.iter_mut().enumerate() {
            r.version = i as i64 + 1;
        }
        obs.records[1].changes[0].1 = Some("down".into());
        obs.records[1].notification_state = "not-required".into();
        obs.state_versions.insert(P.into(), 3);
        obs.deliveries = vec![Delivery::of(P, 3)];
        let mut logged = logged;
        logged[2].delivered.clear();
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        // Anything looser is not: another `from`, or the same from the poll.
        let mut wrong = obs.clone();
        wrong.records[1].changes[0].1 = Some("graceful-restart".into());
        assert_eq!(kinds(&wrong, &logged), ["chain"]);
        let mut polled = obs.clone();
        polled.records[1].source = "poll".into();
        assert!(kinds(&polled, &logged).contains(&"chain"));
    }

    #[test]
    fn a_change_a_millisecond_after_the_last_one_is_its_record() {
        // BGP and BFD down in one request, their records in two batches: the second is
        // recorded a millisecond after the first (the history's key is the millisecond).
        let (mut obs, mut logged) = good();
        obs.changes[3] = change(2000, vals("down", "down"));
        obs.changes.truncate(3);
        obs.changes.push(change(2040, vals("up", "down")));
        obs.records[2] = rec(
            3,
            2001,
            "log",
            &[("BfdStatus", Some("up"), Some("down"))],
            "not-required",
        );
        obs.records[3] = rec(
            4,
            2040,
            "log",
            &[("BgpStatus", Some("down"), Some("up"))],
            "not-required",
        );
        obs.deliveries = vec![Delivery::of(P, 2)];
        logged[4] = logged_at("BfdStatus", 2000, "down");
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        // Not a millisecond after anything else.
        obs.records[1].observed_at_ms = 1999;
        assert!(kinds(&obs, &logged).contains(&"unlogged"));
    }

    fn logged_at(field: &str, at: i64, value: &str) -> LoggedChange {
        logged(field, at, value, &[(at + 50, at + 100)])
    }

    #[test]
    fn a_wrong_late_item_is_caught() {
        // A BFD flap at 2.5 s whose records came after the failure of 3 s: late items.
        let (mut obs, mut logged) = good();
        logged.push(logged_at("BfdStatus", 2500, "down"));
        logged.push(logged_at("BfdStatus", 2520, "up"));
        obs.records.push(late(4, 2500, "BfdStatus", "down"));
        obs.records.push(late(4, 2520, "BfdStatus", "up"));
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!((r.late_checked, r.log_deliveries_checked), (2, 5));
        // Notified, or of no real record, or not older than its version's change.
        let mut notified = obs.clone();
        notified.records[4].notification_state = "sent".into();
        assert_eq!(kinds(&notified, &logged), ["late"]);
        let mut unreal = obs.clone();
        unreal.records[5].observed_at_ms = 2600;
        assert_eq!(kinds(&unreal, &logged), ["late", "dropped"]);
        let mut wrong_from = obs.clone();
        wrong_from.records[5].changes[0].1 = Some("up".into());
        assert_eq!(kinds(&wrong_from, &logged), ["late"]);
        let mut newer = obs.clone();
        newer.records.push(late(2, 2040, "BgpStatus", "up"));
        // Not older than v2's change, and the same record as v3.
        let k = kinds(&newer, &logged);
        assert!(k.contains(&"late") && k.contains(&"twice"), "{k:?}");
    }

    #[test]
    fn a_late_item_of_a_change_the_poll_listed_is_caught() {
        // BFD up at creation, listed by the discovery; its record, arriving after the BFD
        // failure of 3 s, is older than the last change but already in the history.
        let (mut obs, logged) = good();
        obs.records.push(late(4, 1000, "BfdStatus", "up"));
        assert_eq!(kinds(&obs, &logged), ["twice"]);
    }

    #[test]
    fn a_delivered_record_in_no_record_is_caught() {
        let (obs, mut logged) = good();
        // BFD back up at 3300, handed to a consumer run that finished: never recorded.
        logged.push(logged_at("BfdStatus", 3300, "up"));
        assert_eq!(kinds(&obs, &logged), ["dropped"]);
        // Not delivered, or delivered to a run that did not finish: the poll's to catch.
        logged.last_mut().expect("one").delivered.clear();
        assert!(kinds(&obs, &logged).is_empty());
    }

    #[test]
    fn a_log_write_while_a_cycle_ran_is_excused_on_request() {
        // BFD down at 2 s and back at 2.08 s. The cycle of 2.1 s reads the state (up), lists
        // up, writes nothing; the down's record is written meanwhile; the up's is lost. The
        // history says down until the next cycle, though the cycle of 2.1 s saw up.
        let mut obs = Observed {
            changes: vec![
                change(1000, vals("up", "up")),
                change(2000, vals("up", "down")),
                change(2080, vals("up", "up")),
            ],
            records: vec![
                rec(1, 1500, "poll", &DISCOVERED, "not-required"),
                rec(
                    2,
                    2000,
                    "log",
                    &[("BfdStatus", Some("up"), Some("down"))],
                    "sent",
                ),
                rec(
                    3,
                    2450,
                    "poll",
                    &[("BfdStatus", Some("down"), Some("up"))],
                    "sent",
                ),
            ],
            state_versions: [(P.to_string(), 3)].into(),
            deliveries: vec![Delivery::of(P, 2), Delivery::of(P, 3)],
            cycles: vec![
                CycleRun {
                    started_ms: 1400,
                    ended_ms: 1600,
                    completed: true,
                },
                CycleRun {
                    started_ms: 2100,
                    ended_ms: 2300,
                    completed: true,
                },
                CycleRun {
                    started_ms: 2400,
                    ended_ms: 2600,
                    completed: true,
                },
            ],
            ..Observed::default()
        };
        let logged = vec![
            logged("BfdStatus", 2000, "down", &[(2150, 2250)]),
            logged("BfdStatus", 2080, "up", &[]),
        ];
        assert_eq!(
            kinds(&obs, &logged),
            ["other"],
            "{}",
            check_with_logs(&obs, &logged)
        );
        obs.excuse_stale_overlap = true;
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(r.missed_under_log_write, 1);
        // Written after the cycle ended: the history said up then, nothing to excuse.
        let mut later = logged.clone();
        later[0].delivered = vec![(2350, 2380)];
        later[0].tried = vec![(2350, 2380)];
        let r = check_with_logs(&obs, &later);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(r.missed_under_log_write, 0);
    }

    #[test]
    fn a_cycle_that_lost_its_write_to_the_same_change_from_a_log_misses_nothing() {
        // BFD down at 2 s for good; the cycle of 2.1 s lists it and loses its write to the
        // record of it, written by a consumer run that ends after the cycle.
        let obs = Observed {
            changes: vec![
                change(1000, vals("up", "up")),
                change(2000, vals("up", "down")),
            ],
            records: vec![
                rec(1, 1500, "poll", &DISCOVERED, "not-required"),
                rec(
                    2,
                    2000,
                    "log",
                    &[("BfdStatus", Some("up"), Some("down"))],
                    "sent",
                ),
            ],
            state_versions: [(P.to_string(), 2)].into(),
            deliveries: vec![Delivery::of(P, 2)],
            cycles: vec![
                CycleRun {
                    started_ms: 1400,
                    ended_ms: 1600,
                    completed: true,
                },
                CycleRun {
                    started_ms: 2100,
                    ended_ms: 2300,
                    completed: true,
                },
            ],
            ..Observed::default()
        };
        let mut logged = vec![logged("BfdStatus", 2000, "down", &[(2050, 2400)])];
        let r = check_with_logs(&obs, &logged);
        assert!(r.violations.is_empty(), "{r}");
        // Handed over only after the cycle: the cycle's own record is missing.
        logged[0].tried = vec![(2350, 2400)];
        logged[0].delivered = vec![(2350, 2400)];
        assert_eq!(kinds(&obs, &logged), ["other"]);
    }

    #[test]
    fn a_log_change_the_simulator_never_showed_is_caught() {
        let (mut obs, logged) = good();
        // The record is real, but the simulator's change at 2 s was BFD's, not BGP's.
        obs.changes[1] = change(2000, vals("up", "down"));
        assert_eq!(kinds(&obs, &logged), ["phantom"]);
    }

    fn route(
        at_ms: i64,
        status: &str,
        prefix: &str,
        delivered: &[(i64, i64)],
    ) -> LoggedRouteChange {
        LoggedRouteChange {
            peer_id: P.into(),
            at_ms,
            status: status.into(),
            prefix: prefix.into(),
            delivered: delivered.to_vec(),
        }
    }

    fn kept(at: i64, routes: &[(&str, &str)]) -> Record {
        Record {
            peer_id: format!("routes#{P}"),
            event: "peer.routes-logged".into(),
            routes: routes
                .iter()
                .map(|(s, p)| (s.to_string(), p.to_string()))
                .collect(),
            ..rec(2, at, "log", &[], "not-required")
        }
    }

    fn route_kinds(obs: &Observed, f: &FabricObserved) -> Vec<&'static str> {
        let mut report = Report::default();
        check_routes(obs, f, &mut report);
        kinds_of(&report)
    }

    fn kinds_of(report: &Report) -> Vec<&'static str> {
        report
            .violations
            .iter()
            .map(|v| match v {
                Violation::WrongRouteRecords { .. } => "routes",
                Violation::RecordedTwice { .. } => "twice",
                Violation::Dropped { .. } => "dropped",
                _ => "other",
            })
            .collect()
    }

    #[test]
    fn route_records_are_kept_once_at_their_instant() {
        // Two routes advertised at 2 s, one withdrawn at 2.5 s; the withdrawal's key was
        // taken, so it is kept a millisecond later.
        let (obs, _) = good();
        let f = FabricObserved {
            logged_routes: vec![
                route(2000, "advertised", "10.1.0.0/16", &[(2100, 2150)]),
                route(2000, "advertised", "10.2.0.0/16", &[(2100, 2150)]),
                route(2500, "withdrawn", "10.2.0.0/16", &[(2600, 2650)]),
            ],
            records: vec![
                kept(
                    2000,
                    &[("advertised", "10.1.0.0/16"), ("advertised", "10.2.0.0/16")],
                ),
                kept(2501, &[("withdrawn", "10.2.0.0/16")]),
            ],
            ..FabricObserved::default()
        };
        let mut report = Report::default();
        check_routes(&obs, &f, &mut report);
        assert!(report.violations.is_empty(), "{report}");
        assert_eq!(
            (
                report.logged_routes,
                report.route_records_checked,
                report.route_deliveries_checked
            ),
            (3, 3, 3)
        );
        let mut twice = f.clone();
        twice
            .records
            .push(kept(2502, &[("withdrawn", "10.2.0.0/16")]));
        assert_eq!(route_kinds(&obs, &twice), ["twice"]);
        let mut dropped = f.clone();
        dropped.records.pop();
        assert_eq!(route_kinds(&obs, &dropped), ["dropped"]);
        let mut unreal = f.clone();
        unreal.records[1].routes[0].0 = "updated".into();
        assert_eq!(route_kinds(&obs, &unreal), ["routes", "dropped"]);
        let mut alerted = f;
        alerted.records[0].notification_state = "sent".into();
        assert_eq!(route_kinds(&obs, &alerted), ["routes"]);
    }
}
