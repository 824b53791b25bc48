//! The fault campaign's history checker (docs/reliability.md): pure logic, no AWS. It compares what the
//! fleet really did (the simulator's change log) with what peerwatch wrote (`PeerTransitions`,
//! `PeerState`) and delivered (SNS, through an SQS queue), and lists every broken guarantee.
//!
//! [`check`] covers the peers; [`logs`] what the log consumer recorded of them beside the
//! poll (late items, changes at a record's own time, each real change once); [`fabric`] the
//! endpoints, route servers, routes and advertisements beside them; [`check_all`] runs them all
//! on one campaign's observations.
//!
//! The model assumes the rules the campaign runs with: `NOTIFY_MIN_SEVERITY=warning`,
//! `STORM_THRESHOLD=0`, `FLAP_THRESHOLD=0`, `REMIND_EVERY_MINUTES=0` and no mutes. Then every
//! record is one of discovered/changed/vanished, and whether it is owed a notification follows
//! from the health table of docs/design.md alone (re-derived here, not taken from `detect`, so that
//! a wrong decision there shows).

use std::collections::BTreeMap;
use std::fmt;

pub mod fabric;
pub mod logs;

pub use fabric::FabricObserved;
pub use logs::LoggedChange;

/// The fields peerwatch records of one peer, as EC2 showed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    pub state: String,
    pub bgp_status: Option<String>,
    pub bfd_status: Option<String>,
}

/// A span of time (Unix ms, `end_ms` exclusive; `None`: still so) in which the simulator showed
/// `values` for one peer (`None`: the peer was not listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub values: Option<Values>,
    /// `bfd` when the peer's liveness detection is BFD.
    pub liveness: String,
}

/// One change from the simulator's log (`GET /_sim/log`).
#[derive(Debug, Clone)]
pub struct SimChange {
    pub at_ms: i64,
    pub peer_id: String,
    pub to: Option<Values>,
    pub liveness: String,
}

/// One `PeerTransitions` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub peer_id: String,
    pub observed_at_ms: i64,
    pub kind: String,
    pub version: i64,
    /// (field, from, to) for `State`, `BgpStatus`, `BfdStatus`, as stored.
    pub changes: Vec<(String, Option<String>, Option<String>)>,
    pub notification_state: String,
    /// Still carries the outbox's `Pending` marker.
    pub pending: bool,
    /// `Event` as stored (`bgp.down`, `route.lost`, ...).
    pub event: String,
    /// `Source`: `poll` or `log` (empty where an item does not say).
    pub source: String,
    /// `Late`: a log record older than the peer's last change, kept beside the version chain.
    pub late: bool,
    /// `Routes` of a peer's route records kept by the log consumer: (status, prefix) each.
    pub routes: Vec<(String, String)>,
}

impl Record {
    pub(crate) fn is_from_log(&self) -> bool {
        self.source == "log"
    }
}

/// One SNS delivery: the event JSON's `(routeServerPeerId, version)` for a peer, `(key,
/// version)` for an endpoint, route server, route or advertisement; a grouped message is one
/// delivery per member.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivery {
    pub peer_id: String,
    pub version: i64,
    pub event: String,
    pub severity: String,
}

impl Delivery {
    /// A delivery of `(key, version)` whose event and severity do not matter.
    pub fn of(key: &str, version: i64) -> Delivery {
        Delivery {
            peer_id: key.into(),
            version,
            event: String::new(),
            severity: String::new(),
        }
    }
}

/// When one `peerwatch poll` ran (Unix ms) and whether it finished its work (exit 0).
#[derive(Debug, Clone, Copy)]
pub struct CycleRun {
    pub started_ms: i64,
    pub ended_ms: i64,
    pub completed: bool,
}

/// Everything the checker reads.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub changes: Vec<SimChange>,
    pub records: Vec<Record>,
    /// `PeerState`: peer id -> `Version`.
    pub state_versions: BTreeMap<String, i64>,
    pub deliveries: Vec<Delivery>,
    pub cycles: Vec<CycleRun>,
    /// Events after which a notification may be sent twice: cycles killed, and injected faults
    /// that hid a publish's outcome or failed a write after a publish (see [`check`]).
    pub ambiguous_events: u64,
    /// Excuse a missed value when a run that started before it was still running alongside the
    /// cycle that saw it (see [`check`]): counted in [`Report::missed_under_overlap`] instead.
    pub excuse_stale_overlap: bool,
}

/// How far a listing may be from its cycle's `ObservedAt` (stamped just before or just after
/// the listing, as the cycle is written): a record's values must have been shown within this
/// long of it.
pub const LISTING_SLACK_MS: i64 = 30_000;

/// One broken guarantee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("{peer}: versions {versions:?} do not run 1, 2, 3, ... one per transition")]
    Versions { peer: String, versions: Vec<i64> },
    #[error("{peer}: PeerState Version {state:?}, but the history's last is {history}")]
    StateVersion {
        peer: String,
        state: Option<i64>,
        history: i64,
    },
    #[error("{peer} v{version}: {what}")]
    WrongChain {
        peer: String,
        version: i64,
        what: String,
    },
    #[error(
        "{peer} v{version}: records {values} which the peer did not show (in this order) before it"
    )]
    Phantom {
        peer: String,
        version: i64,
        values: String,
    },
    #[error(
        "{peer}: {values} lasted across a completed cycle ({from_ms}..{to_ms}), but the history then says otherwise"
    )]
    Missed {
        peer: String,
        values: String,
        from_ms: i64,
        to_ms: String,
    },
    #[error("{peer} v{version}: notification {state} but the rules say {expected}")]
    Decision {
        peer: String,
        version: i64,
        state: String,
        expected: &'static str,
    },
    #[error("{peer} v{version}: owed a notification, never delivered")]
    Undelivered { peer: String, version: i64 },
    #[error(
        "{peer} v{version}: delivered {count} times with nothing to excuse it (no kill, no lost response)"
    )]
    Duplicate {
        peer: String,
        version: i64,
        count: usize,
    },
    #[error("{peer} v{version}: delivered, but no such transition is owed a notification")]
    Unexpected { peer: String, version: i64 },
    #[error("{peer} v{version}: still pending after the clean cycles")]
    LeftPending { peer: String, version: i64 },
    #[error("{peer} v{version}: {what} as {event:?}, but the rules say {expected:?}")]
    WrongEvent {
        peer: String,
        version: i64,
        what: &'static str,
        event: String,
        expected: String,
    },
    #[error("{peer} v{version}: a recovery delivered with no alert of it open before")]
    RecoveryWithoutAlert { peer: String, version: i64 },
    #[error(
        "{peer} at {at_ms} (v{version}): recorded from a peer log record ({what}) that the simulator never wrote"
    )]
    Unlogged {
        peer: String,
        version: i64,
        at_ms: i64,
        what: String,
    },
    #[error("{peer}: the late item at {at_ms} (v{version}) {what}")]
    WrongLate {
        peer: String,
        version: i64,
        at_ms: i64,
        what: String,
    },
    #[error("{peer}: {field} {value} at {at_ms}, one real change, recorded twice: {by}")]
    RecordedTwice {
        peer: String,
        field: String,
        value: String,
        at_ms: i64,
        by: String,
    },
    #[error("{peer}: the route records kept at {at_ms} {what}")]
    WrongRouteRecords {
        peer: String,
        at_ms: i64,
        what: String,
    },
    #[error(
        "{peer}: {field} {value} at {at_ms} reached the consumer (a run that finished) and is in no record"
    )]
    Dropped {
        peer: String,
        field: String,
        value: String,
        at_ms: i64,
    },
}

/// What was checked, and what failed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub peers: usize,
    pub transitions_checked: usize,
    pub notifications_checked: usize,
    /// Deliveries beyond the first (allowed when `ambiguous_events > 0`).
    pub duplicate_deliveries: usize,
    /// Values a completed cycle saw but the history did not keep, because an overlapping run
    /// with an older listing wrote after that cycle read the state (excused when asked).
    pub missed_under_overlap: usize,
    /// The same, because the log consumer wrote the peer while that cycle ran.
    pub missed_under_log_write: usize,
    /// Endpoints, route servers, routes and advertisements ([`check_all`]).
    pub fabric_subjects: usize,
    pub fabric_transitions_checked: usize,
    pub fabric_notifications_checked: usize,
    /// The simulator's BGP/BFD peer log records ([`check_with_logs`]).
    pub logged_changes: usize,
    /// Of the version chains' items, those recorded from a log record.
    pub log_changes_checked: usize,
    /// Late items, checked beside the chains.
    pub late_checked: usize,
    /// Log records that reached a consumer run that finished, each found in the history.
    pub log_deliveries_checked: usize,
    /// The simulator's `RouteStatus` records, and the route records the consumer kept.
    pub logged_routes: usize,
    pub route_records_checked: usize,
    pub route_deliveries_checked: usize,
    pub violations: Vec<Violation>,
}

/// The health table of docs/design.md (unknown values are transitional). Written again from it on
/// purpose, not taken from `detect::health`: the checker must not borrow its model from the
/// code it checks, or a wrong row would pass in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Healthy,
    Degraded,
    Down,
    Transitional,
}

fn health(v: &Values, liveness: &str) -> Health {
    let bgp = v.bgp_status.as_deref();
    let bfd = v.bfd_status.as_deref();
    let uses_bfd = liveness == "bfd";
    match v.state.as_str() {
        "failed" => Health::Down,
        "failing" => Health::Degraded,
        "available" if bgp == Some("down") => Health::Down,
        "available" if uses_bfd && bfd == Some("down") => Health::Down,
        "available" if bgp == Some("up") && (!uses_bfd || bfd == Some("up")) => Health::Healthy,
        _ => Health::Transitional,
    }
}

fn show(v: &Option<Values>) -> String {
    match v {
        None => "(not listed)".into(),
        Some(v) => format!(
            "{}/bgp {}/bfd {}",
            v.state,
            v.bgp_status.as_deref().unwrap_or("-"),
            v.bfd_status.as_deref().unwrap_or("-")
        ),
    }
}

/// Each peer's timeline from the simulator's log, starting not listed.
pub fn timelines(changes: &[SimChange]) -> BTreeMap<String, Vec<Interval>> {
    let mut out: BTreeMap<String, Vec<Interval>> = BTreeMap::new();
    for c in changes {
        let line = out.entry(c.peer_id.clone()).or_insert_with(|| {
            vec![Interval {
                start_ms: i64::MIN,
                end_ms: None,
                values: None,
                liveness: c.liveness.clone(),
            }]
        });
        if let Some(last) = line.last_mut() {
            last.end_ms = Some(c.at_ms);
        }
        line.push(Interval {
            start_ms: c.at_ms,
            end_ms: None,
            values: c.to.clone(),
            liveness: c.liveness.clone(),
        });
    }
    out
}

/// Checks every guarantee of docs/design.md, "Guarantees", that the campaign can observe:
///
/// - history: per peer, `Version` runs 1, 2, 3, ... (one per transition, no two alike), the
///   PeerState `Version` is the last; each record's `from` is what the one before left, and its
///   values were really listed, in this order, within [`LISTING_SLACK_MS`] of `ObservedAt`;
///   every value that lasted across a completed cycle (exit 0) is recorded.
/// - notifications: a record is owed one exactly when the rules say so; each owed one is
///   delivered at least once; nothing else is delivered; nothing is left pending.
/// - duplicates: delivery is at least once, so a transition may arrive twice, but only after
///   an event that leaves a run unsure whether its publish happened or was marked: a cycle
///   killed, a publish whose response was lost, or a failed write after a publish. Without
///   any such event (`ambiguous_events == 0`), a second delivery is a violation.
///
/// With no peer log records: every item recorded from a log is a violation. See
/// [`check_with_logs`].
pub fn check(obs: &Observed) -> Report {
    check_with_logs(obs, &[])
}

/// [`check`], with the simulator's BGP/BFD peer log records as the truth of the log path
/// ([`logs`]): a `Source=log` item in a version chain changes only a session, at the
/// millisecond of a real record (one later when the peer's last change had that very
/// millisecond), its `from` what the chain left or, when the chain shows its `to` already,
/// implied (the other value came between, unseen); it was shown by the simulator then. Late
/// items stand beside the chains. Each real change is recorded once across the two paths, and
/// none that reached a consumer run that finished is dropped.
pub fn check_with_logs(obs: &Observed, logged: &[LoggedChange]) -> Report {
    let lines = timelines(&obs.changes);
    let mut by_peer: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    let mut late: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in &obs.records {
        let into = if r.late { &mut late } else { &mut by_peer };
        into.entry(r.peer_id.as_str()).or_default().push(r);
    }
    let mut report = Report {
        peers: lines.len().max(by_peer.len()),
        transitions_checked: obs.records.len(),
        ..Report::default()
    };
    let v = &mut report.violations;
    // (peer, version) of each transition owed a notification, with how often it was delivered.
    let mut owed: BTreeMap<(String, i64), usize> = BTreeMap::new();
    let empty = Vec::new();

    for (peer, records) in &mut by_peer {
        records.sort_by_key(|r| (r.version, r.observed_at_ms));
        let versions: Vec<i64> = records.iter().map(|r| r.version).collect();
        if versions.iter().enumerate().any(|(i, &n)| n != i as i64 + 1) {
            v.push(Violation::Versions {
                peer: peer.to_string(),
                versions: versions.clone(),
            });
        }
        let last = versions.last().copied().unwrap_or(0);
        let state = obs.state_versions.get(*peer).copied();
        if state != Some(last) {
            v.push(Violation::StateVersion {
                peer: peer.to_string(),
                state,
                history: last,
            });
        }
        let line = lines.get(*peer).unwrap_or(&empty);
        let liveness = line.last().map_or("", |i| i.liveness.as_str());
        // Replays the records: the values they leave, the open alert, the timeline position
        // (the interval a record's values were matched to; the next record matches one after
        // it, or the same one after a log record: a log record carries no `State`, so the
        // poll after it may record what was already shown then).
        let mut current: Option<Values> = None;
        let mut open_alert = false;
        let mut matched: Option<usize> = None;
        let mut min_next = 0;
        for r in records.iter() {
            let wrong = |what: String| Violation::WrongChain {
                peer: peer.to_string(),
                version: r.version,
                what,
            };
            let before = current.clone();
            if r.is_from_log() {
                if r.kind != "changed" {
                    v.push(wrong(format!("a `{}` record from a peer log", r.kind)));
                }
                for (field, _, to) in &r.changes {
                    if !logs::SESSION_FIELDS.contains(&field.as_str())
                        || logs::opposite(to.as_deref()).is_none()
                    {
                        v.push(wrong(format!(
                            "a peer log record cannot set {field} to {to:?}"
                        )));
                    }
                }
            }
            match (r.kind.as_str(), &current) {
                ("discovered", None) => {
                    let to = |f: &str| {
                        r.changes
                            .iter()
                            .find(|c| c.0 == f)
                            .and_then(|c| c.2.clone())
                    };
                    if r.changes.iter().any(|c| c.1.is_some()) {
                        v.push(wrong("a discovery with a `from` value".into()));
                    }
                    current = Some(Values {
                        state: to("State").unwrap_or_default(),
                        bgp_status: to("BgpStatus"),
                        bfd_status: to("BfdStatus"),
                    });
                }
                ("changed", Some(cur)) => {
                    let mut next = cur.clone();
                    if r.changes.is_empty() {
                        v.push(wrong("a change that changes nothing".into()));
                    }
                    for (field, from, to) in &r.changes {
                        let slot = match field.as_str() {
                            "State" => {
                                if from.as_deref() != Some(cur.state.as_str()) {
                                    v.push(wrong(format!(
                                        "State from {from:?}, was {}",
                                        cur.state
                                    )));
                                }
                                next.state = to.clone().unwrap_or_default();
                                continue;
                            }
                            "BgpStatus" => &mut next.bgp_status,
                            "BfdStatus" => &mut next.bfd_status,
                            other => {
                                v.push(wrong(format!("unknown field {other}")));
                                continue;
                            }
                        };
                        // A log record of the value already shown: the other value came
                        // between, and its `from` says so. Exactly that, nothing looser.
                        let implied = r.is_from_log()
                            && to == slot
                            && from.as_deref() == logs::opposite(to.as_deref());
                        if from != slot && !implied {
                            v.push(wrong(format!("{field} from {from:?}, was {slot:?}")));
                        }
                        if from == to {
                            v.push(wrong(format!("{field} from {from:?} to the same")));
                        }
                        *slot = to.clone();
                    }
                    current = Some(next);
                }
                ("vanished", Some(_)) => current = None,
                (kind, cur) => {
                    v.push(wrong(format!(
                        "a `{kind}` record when the last recorded was {}",
                        show(cur)
                    )));
                    continue;
                }
            }
            if r.is_from_log() {
                report.log_changes_checked += 1;
                // Shown by the simulator at the record's own time: each session it sets has
                // that value in an interval that begins then, not before the last match.
                let found = logs::shown_at(line, min_next, r);
                match found {
                    Some(i) => {
                        matched = Some(i);
                        min_next = i;
                    }
                    None => v.push(Violation::Phantom {
                        peer: peer.to_string(),
                        version: r.version,
                        values: logs::show_changes(r),
                    }),
                }
            } else {
                // Really listed, after what the previous record matched, near ObservedAt.
                let found = line.iter().enumerate().position(|(i, iv)| {
                    i >= min_next
                        && iv.values == current
                        && iv.start_ms <= r.observed_at_ms + LISTING_SLACK_MS
                        && iv
                            .end_ms
                            .is_none_or(|end| end > r.observed_at_ms - LISTING_SLACK_MS)
                });
                match found {
                    Some(i) => {
                        matched = Some(i);
                        min_next = i + 1;
                    }
                    None => v.push(Violation::Phantom {
                        peer: peer.to_string(),
                        version: r.version,
                        values: show(&current),
                    }),
                }
            }
            // The notification the rules owe (min severity warning, no flap/storm/reminder).
            let live = line
                .get(matched.unwrap_or(0))
                .map_or(liveness, |i| i.liveness.as_str());
            let h_from = before.as_ref().map(|b| health(b, live));
            let h_to = current.as_ref().map(|c| health(c, live));
            let owes = match (r.kind.as_str(), h_from, h_to) {
                ("discovered", _, Some(h)) => {
                    open_alert = matches!(h, Health::Down | Health::Degraded);
                    open_alert
                }
                ("changed", Some(a), Some(b)) if a != b => match b {
                    Health::Down | Health::Degraded => {
                        open_alert = true;
                        true
                    }
                    Health::Healthy => std::mem::replace(&mut open_alert, false),
                    Health::Transitional => false,
                },
                ("changed", _, Some(Health::Healthy)) => {
                    open_alert = false;
                    false
                }
                ("vanished", _, _) => {
                    open_alert = false;
                    !matches!(
                        before.as_ref().map(|b| b.state.as_str()),
                        Some("deleting" | "deleted")
                    )
                }
                _ => false,
            };
            let notified = matches!(r.notification_state.as_str(), "sent" | "pending");
            if owes != notified {
                v.push(Violation::Decision {
                    peer: peer.to_string(),
                    version: r.version,
                    state: r.notification_state.clone(),
                    expected: if owes { "sent" } else { "not-required" },
                });
            }
            if owes {
                owed.insert((peer.to_string(), r.version), 0);
            }
            if r.pending {
                v.push(Violation::LeftPending {
                    peer: peer.to_string(),
                    version: r.version,
                });
            }
        }
    }
    logs::check(obs, logged, &by_peer, &late, &mut report);
    let v = &mut report.violations;

    // Completeness: when a completed cycle ran wholly inside a span of one value, the history
    // as of that cycle's end (the last version observed by then) says that value. (Not "a
    // record inside the span": a blip too short for any cycle to see leaves the value as it
    // was recorded before.)
    for (peer, line) in &lines {
        let records = by_peer.get(peer.as_str()).map_or(&[][..], |r| &r[..]);
        for iv in line.iter().skip(1) {
            let end = iv.end_ms.unwrap_or(i64::MAX);
            let within = obs
                .cycles
                .iter()
                .filter(|c| c.completed && c.started_ms >= iv.start_ms && c.ended_ms < end);
            for c in within {
                // What the history said at the cycle's end. A log record is written while a
                // consumer run it was handed to runs, perhaps long after its own time: by the
                // end of one that finished before, at the latest; not before one starts. So
                // the history then was one of the versions between those, and one must say
                // the value.
                let by_then = |r: &&Record, certain: bool| match logs::runs_of(logged, r) {
                    Some(runs) if r.is_from_log() => match certain {
                        true => runs.finished.iter().any(|&(_, e)| e <= c.ended_ms),
                        false => runs.any.iter().any(|&(s, _)| s < c.ended_ms),
                    },
                    _ => r.observed_at_ms <= c.ended_ms,
                };
                let newest = |certain: bool| {
                    records
                        .iter()
                        .filter(|r| by_then(r, certain))
                        .map(|r| r.version)
                        .max()
                        .unwrap_or(0)
                };
                let (least, most) = (newest(true), newest(false));
                let said = |v: i64| {
                    records
                        .iter()
                        .find(|r| r.version == v)
                        .and_then(|r| replayed_values(records, r))
                };
                let recorded = (least..=most.max(least)).any(|v| said(v) == iv.values);
                let known = if recorded {
                    iv.values.clone()
                } else {
                    said(least)
                };
                // The consumer is one more writer beside `c`: a record written after `c` read
                // the state either makes `c` lose its write (and drop what it listed), or,
                // of an instant before what `c` listed, leaves `c`, whose listing showed what
                // it had read, with nothing to write; `c`'s view stands unrecorded until the
                // next cycle.
                let log_write_meanwhile = records.iter().any(|r| {
                    r.is_from_log()
                        && logs::runs_of(logged, r).is_some_and(|runs| {
                            runs.any
                                .iter()
                                .any(|&(s, e)| s < c.ended_ms && e > c.started_ms)
                        })
                });
                if known != iv.values && log_write_meanwhile && obs.excuse_stale_overlap {
                    report.missed_under_log_write += 1;
                    break;
                }
                // A run that listed before the value began, still running beside `c`, may
                // write its older view after `c` read the state: `c` then saw no change, and
                // the older view stands until the next cycle. The Version condition cannot
                // tell (no version moved between them); only runs that never overlap could.
                let stale = obs.cycles.iter().any(|o| {
                    o.started_ms < iv.start_ms
                        && o.started_ms < c.ended_ms
                        && o.ended_ms > c.started_ms
                });
                if known != iv.values && stale && obs.excuse_stale_overlap {
                    report.missed_under_overlap += 1;
                    break;
                }
                if known != iv.values {
                    v.push(Violation::Missed {
                        peer: peer.clone(),
                        values: show(&iv.values),
                        from_ms: iv.start_ms,
                        to_ms: iv.end_ms.map_or("now".into(), |e| e.to_string()),
                    });
                    break;
                }
            }
        }
    }

    for d in &obs.deliveries {
        match owed.get_mut(&(d.peer_id.clone(), d.version)) {
            Some(n) => *n += 1,
            None => v.push(Violation::Unexpected {
                peer: d.peer_id.clone(),
                version: d.version,
            }),
        }
    }
    report.notifications_checked = owed.len();
    for ((peer, version), n) in owed {
        match n {
            0 => v.push(Violation::Undelivered { peer, version }),
            1 => {}
            n => {
                report.duplicate_deliveries += n - 1;
                if obs.ambiguous_events == 0 {
                    v.push(Violation::Duplicate {
                        peer,
                        version,
                        count: n,
                    });
                }
            }
        }
    }
    report
}

/// [`check_with_logs`] for the peers, and [`fabric::check`] for endpoints, route servers, routes and
/// advertisements: `obs.deliveries` holds both, told apart by key.
pub fn check_all(obs: &Observed, fabric: &FabricObserved, logged: &[LoggedChange]) -> Report {
    let (theirs, peers): (Vec<&Delivery>, Vec<&Delivery>) = obs
        .deliveries
        .iter()
        .partition(|d| fabric::is_fabric_key(&d.peer_id));
    let peers_only = Observed {
        deliveries: peers.into_iter().cloned().collect(),
        ..obs.clone()
    };
    let mut report = check_with_logs(&peers_only, logged);
    fabric::check(obs, fabric, &theirs, &mut report);
    logs::check_routes(obs, fabric, &mut report);
    report
}

/// The values a peer had after record `r`, replaying its records in version order.
fn replayed_values(records: &[&Record], r: &Record) -> Option<Values> {
    let mut cur: Option<Values> = None;
    for x in records {
        match x.kind.as_str() {
            "vanished" => cur = None,
            _ => {
                let mut next = cur.clone().unwrap_or(Values {
                    state: String::new(),
                    bgp_status: None,
                    bfd_status: None,
                });
                for (field, _, to) in &x.changes {
                    match field.as_str() {
                        "State" => next.state = to.clone().unwrap_or_default(),
                        "BgpStatus" => next.bgp_status = to.clone(),
                        "BfdStatus" => next.bfd_status = to.clone(),
                        _ => {}
                    }
                }
                cur = Some(next);
            }
        }
        if std::ptr::eq(*x, r) {
            break;
        }
    }
    cur
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} peers, {} transitions, {} notifications checked, {} duplicate deliveries, {} violations",
            self.peers,
            self.transitions_checked,
            self.notifications_checked,
            self.duplicate_deliveries,
            self.violations.len()
        )?;
        if self.logged_changes + self.log_changes_checked + self.late_checked > 0 {
            write!(
                f,
                "; peer logs: {} real session changes, {} recorded from a log in the chains, {} late items, {} delivered records found",
                self.logged_changes,
                self.log_changes_checked,
                self.late_checked,
                self.log_deliveries_checked
            )?;
        }
        if self.logged_routes + self.route_records_checked > 0 {
            write!(
                f,
                "; route records: {} real, {} kept, {} delivered found",
                self.logged_routes, self.route_records_checked, self.route_deliveries_checked
            )?;
        }
        if self.fabric_subjects > 0 {
            write!(
                f,
                "; beyond sessions: {} endpoints, route servers, routes and advertisements, {} transitions, {} notifications",
                self.fabric_subjects,
                self.fabric_transitions_checked,
                self.fabric_notifications_checked
            )?;
        }
        for v in &self.violations {
            write!(f, "\n  {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "rsp-1";

    fn vals(state: &str, bgp: &str, bfd: &str) -> Option<Values> {
        Some(Values {
            state: state.into(),
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

    fn rec(
        version: i64,
        at: i64,
        kind: &str,
        changes: &[(&str, Option<&str>, Option<&str>)],
        n: &str,
    ) -> Record {
        Record {
            peer_id: P.into(),
            observed_at_ms: at,
            kind: kind.into(),
            version,
            changes: changes
                .iter()
                .map(|(f, a, b)| (f.to_string(), a.map(str::to_string), b.map(str::to_string)))
                .collect(),
            notification_state: n.into(),
            pending: false,
            event: String::new(),
            source: "poll".into(),
            late: false,
            routes: Vec::new(),
        }
    }

    /// A peer created healthy, BGP down, back up; cycles at 1.5 s, 2.5 s and 3.5 s saw each.
    fn good() -> Observed {
        Observed {
            changes: vec![
                change(1000, vals("available", "up", "up")),
                change(2000, vals("available", "down", "up")),
                change(3000, vals("available", "up", "up")),
            ],
            records: vec![
                rec(
                    1,
                    1500,
                    "discovered",
                    &[
                        ("State", None, Some("available")),
                        ("BgpStatus", None, Some("up")),
                        ("BfdStatus", None, Some("up")),
                    ],
                    "not-required",
                ),
                rec(
                    2,
                    2500,
                    "changed",
                    &[("BgpStatus", Some("up"), Some("down"))],
                    "sent",
                ),
                rec(
                    3,
                    3500,
                    "changed",
                    &[("BgpStatus", Some("down"), Some("up"))],
                    "sent",
                ),
            ],
            state_versions: [(P.to_string(), 3)].into(),
            deliveries: vec![Delivery::of(P, 2), Delivery::of(P, 3)],
            cycles: [1400, 2400, 3400]
                .iter()
                .map(|&s| CycleRun {
                    started_ms: s,
                    ended_ms: s + 200,
                    completed: true,
                })
                .collect(),
            ambiguous_events: 0,
            excuse_stale_overlap: false,
        }
    }

    fn kinds(obs: &Observed) -> Vec<&'static str> {
        check(obs)
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
                Violation::Unlogged { .. } => "unlogged",
                Violation::WrongLate { .. } => "late",
                Violation::RecordedTwice { .. } => "twice",
                Violation::Dropped { .. } => "dropped",
                Violation::WrongRouteRecords { .. } => "routes",
            })
            .collect()
    }

    #[test]
    fn a_true_history_passes() {
        let r = check(&good());
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!((r.transitions_checked, r.notifications_checked), (3, 2));
    }

    #[test]
    fn a_duplicated_transition_is_caught() {
        let mut obs = good();
        let mut dup = obs.records[1].clone();
        dup.observed_at_ms += 10;
        obs.records.push(dup);
        let k = kinds(&obs);
        assert!(k.contains(&"versions") && k.contains(&"chain"), "{k:?}");
    }

    #[test]
    fn a_missing_transition_is_caught() {
        let mut obs = good();
        obs.records.remove(1);
        obs.records[1].version = 2;
        obs.state_versions.insert(P.into(), 2);
        let k = kinds(&obs);
        assert!(k.contains(&"missed") && k.contains(&"chain"), "{k:?}");
    }

    #[test]
    fn a_wrong_from_or_to_is_caught() {
        let mut obs = good();
        obs.records[1].changes[0].2 = Some("idle".into());
        let k = kinds(&obs);
        assert!(k.contains(&"phantom") && k.contains(&"chain"), "{k:?}");
    }

    #[test]
    fn a_skipped_version_is_caught() {
        let mut obs = good();
        obs.records[2].version = 4;
        obs.deliveries[1].version = 4;
        obs.state_versions.insert(P.into(), 4);
        assert_eq!(kinds(&obs), ["versions"]);
        obs.state_versions.insert(P.into(), 3);
        assert_eq!(kinds(&obs), ["versions", "state-version"]);
    }

    #[test]
    fn an_undelivered_or_doubled_or_unowed_alert_is_caught() {
        let mut obs = good();
        obs.deliveries.remove(0);
        assert_eq!(kinds(&obs), ["undelivered"]);
        let mut obs = good();
        obs.deliveries.push(obs.deliveries[0].clone());
        assert_eq!(kinds(&obs), ["duplicate"]);
        // After a kill (or a lost response) a second delivery is what at least once allows.
        obs.ambiguous_events = 1;
        let r = check(&obs);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(r.duplicate_deliveries, 1);
        let mut obs = good();
        obs.deliveries.push(Delivery::of(P, 1));
        assert_eq!(kinds(&obs), ["unexpected"]);
    }

    #[test]
    fn a_wrong_decision_and_a_leftover_pending_are_caught() {
        let mut obs = good();
        obs.records[2].notification_state = "not-required".into();
        let k = kinds(&obs);
        assert_eq!(k, ["decision"]);
        let mut obs = good();
        obs.records[1].pending = true;
        assert_eq!(kinds(&obs), ["pending"]);
    }

    #[test]
    fn a_reversed_history_is_caught() {
        // A run that listed before another recorded, and wrote after it, against the newer state.
        let mut obs = good();
        obs.changes
            .insert(2, change(2100, vals("available", "down", "down")));
        obs.changes[3].at_ms = 3000;
        obs.records = vec![
            obs.records[0].clone(),
            rec(
                2,
                2200,
                "changed",
                &[
                    ("BgpStatus", Some("up"), Some("down")),
                    ("BfdStatus", Some("up"), Some("down")),
                ],
                "sent",
            ),
            rec(
                3,
                2050,
                "changed",
                &[("BfdStatus", Some("down"), Some("up"))],
                "not-required",
            ),
            rec(
                4,
                3500,
                "changed",
                &[("BgpStatus", Some("down"), Some("up"))],
                "sent",
            ),
        ];
        obs.state_versions.insert(P.into(), 4);
        obs.deliveries = vec![Delivery::of(P, 2), Delivery::of(P, 4)];
        assert!(kinds(&obs).contains(&"phantom"), "{:?}", kinds(&obs));
    }

    #[test]
    fn a_change_between_cycles_needs_no_record() {
        let mut obs = good();
        // Down for 100 ms between two cycles: nothing lasted across one, nothing owed.
        obs.changes
            .insert(1, change(1700, vals("available", "up", "down")));
        obs.changes
            .insert(2, change(1800, vals("available", "up", "up")));
        let r = check(&obs);
        assert!(r.violations.is_empty(), "{r}");
    }

    #[test]
    fn a_blip_back_to_the_recorded_value_needs_no_record() {
        let mut obs = good();
        // BGP down at 2 s, a 5 ms blip of BFD at 2.6 s, cycles at 2.7 s: still "down" as recorded.
        obs.changes
            .insert(2, change(2600, vals("available", "down", "down")));
        obs.changes
            .insert(3, change(2605, vals("available", "down", "up")));
        obs.cycles.push(CycleRun {
            started_ms: 2700,
            ended_ms: 2800,
            completed: true,
        });
        let r = check(&obs);
        assert!(r.violations.is_empty(), "{r}");
    }

    /// What CHAOS_SEED=2 showed: run A lists "up", BGP goes down, runs B and C list "down" and
    /// read the state (still "down" from before): no change for them. A then writes its older
    /// "up". The peer vanishes before the next cycle: "down" is never recorded.
    #[test]
    fn a_stale_overlapping_write_is_caught_or_excused_on_request() {
        let mut obs = good();
        obs.changes[2].at_ms = 2700; // up again at 2.7 s
        obs.changes
            .insert(2, change(2600, vals("available", "up", "up")));
        obs.changes
            .insert(3, change(2650, vals("available", "down", "up")));
        obs.records[2].observed_at_ms = 2620; // A's listing, before 2.65 s, written last
        obs.records.truncate(2);
        obs.records.push(rec(
            3,
            2620,
            "changed",
            &[("BgpStatus", Some("down"), Some("up"))],
            "sent",
        ));
        obs.records.push(rec(
            4,
            2750,
            "changed",
            &[("BgpStatus", Some("up"), Some("down"))],
            "sent",
        ));
        obs.records.push(rec(
            5,
            3500,
            "changed",
            &[("BgpStatus", Some("down"), Some("up"))],
            "sent",
        ));
        obs.state_versions.insert(P.into(), 5);
        obs.changes
            .insert(4, change(2740, vals("available", "down", "up")));
        obs.changes[5].at_ms = 3000;
        obs.deliveries = (2..=5).map(|version| Delivery::of(P, version)).collect();
        obs.cycles = vec![
            CycleRun {
                started_ms: 1400,
                ended_ms: 1600,
                completed: true,
            },
            CycleRun {
                started_ms: 2400,
                ended_ms: 2500,
                completed: true,
            },
            // A: lists at 2.6 s, writes late; B inside "down" (2.65-2.7 s) beside A.
            CycleRun {
                started_ms: 2605,
                ended_ms: 2698,
                completed: true,
            },
            CycleRun {
                started_ms: 2655,
                ended_ms: 2690,
                completed: true,
            },
            CycleRun {
                started_ms: 3400,
                ended_ms: 3600,
                completed: true,
            },
        ];
        // records: v3 "up" observed at 2.62 s (A), so as of B's end the history says "up".
        obs.records[3].observed_at_ms = 2745;
        let k = kinds(&obs);
        assert_eq!(k, ["missed"], "{}", check(&obs));
        obs.excuse_stale_overlap = true;
        let r = check(&obs);
        assert!(r.violations.is_empty(), "{r}");
        assert_eq!(r.missed_under_overlap, 1);
    }

    #[test]
    fn unknown_values_and_vanishing() {
        let mut obs = good();
        obs.changes.push(change(4000, vals("quantum", "up", "up")));
        obs.changes.push(change(5000, None));
        obs.records.push(rec(
            4,
            4500,
            "changed",
            &[("State", Some("available"), Some("quantum"))],
            "not-required",
        ));
        obs.records.push(rec(5, 5500, "vanished", &[], "sent"));
        obs.state_versions.insert(P.into(), 5);
        obs.deliveries.push(Delivery::of(P, 5));
        obs.cycles.push(CycleRun {
            started_ms: 4400,
            ended_ms: 4600,
            completed: true,
        });
        obs.cycles.push(CycleRun {
            started_ms: 5400,
            ended_ms: 5600,
            completed: true,
        });
        let r = check(&obs);
        assert!(r.violations.is_empty(), "{r}");
        // The vanishing unrecorded: missed, and the PeerState version is ahead of the history.
        obs.records.pop();
        assert!(kinds(&obs).contains(&"missed"));
    }
}
