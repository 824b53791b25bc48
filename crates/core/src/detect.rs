//! Detection: (last known states, listed peers) -> transitions, with health, severity, event
//! and the notification decision, by the rules of docs/design.md ("Health and severity") and
//! docs/operating.md ("Alert rules").

use std::collections::{HashMap, HashSet};

use crate::ids::RouteServerId;
use crate::model::{
    AlertState, ChangeWindow, Event, Field, FieldChange, Health, NotificationState, PeerRecord,
    PeerSnapshot, SessionsChangedAt, Severity, Source, Timestamp, Transition, TransitionKind,
};
use crate::mute::{MUTE_TAG, Mute, MuteTarget, tag_mute};

/// How alerts are grouped, damped and repeated (docs/operating.md, "Alert rules"); the defaults are meant
/// to be right without tuning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerting {
    /// More alerts than this for one route server in one cycle are sent as one grouped
    /// message (`STORM_THRESHOLD`, default 5; 0 never groups).
    pub storm_threshold: u32,
    /// More health changes than this within `flap_window_minutes` mark a peer flapping
    /// (`FLAP_THRESHOLD`, default 4; 0 turns flap detection off).
    pub flap_threshold: u32,
    pub flap_window_minutes: u32,
    /// A flapping peer settles after this long without a health change (`FLAP_HOLD_MINUTES`).
    pub flap_hold_minutes: u32,
    /// While an alert stays open, one reminder this often (`REMIND_EVERY_MINUTES`; 0: none).
    pub remind_every_minutes: u32,
    /// Per-peer metrics (`PEER_METRICS`): one custom CloudWatch metric per peer, billed monthly.
    pub peer_metrics: bool,
}

impl Default for Alerting {
    fn default() -> Self {
        Alerting {
            storm_threshold: 5,
            flap_threshold: 4,
            flap_window_minutes: 30,
            flap_hold_minutes: 15,
            remind_every_minutes: 60,
            peer_metrics: false,
        }
    }
}

/// The alerting rules a run applies.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The least severity that is notified; a recovery follows its alert.
    pub min_severity: Severity,
    /// Only peers of these route servers are watched (`None`: all).
    pub route_server_ids: Option<Vec<RouteServerId>>,
    /// More health changes than this within `flap_window_secs` make a peer flapping (0: off).
    pub flap_threshold: u32,
    pub flap_window_secs: i64,
    /// A flapping peer settles after this long without a health change.
    pub flap_hold_secs: i64,
    /// One reminder this often while an alert stays open (0: none).
    pub remind_every_secs: i64,
    /// Mutes from the store; tags are read from each peer.
    pub mutes: Vec<Mute>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules::new(Severity::Warning, None, &Alerting::default())
    }
}

impl Rules {
    /// The rules of `alerting`, with no stored mutes yet (a cycle adds them).
    pub fn new(
        min_severity: Severity,
        route_server_ids: Option<Vec<RouteServerId>>,
        alerting: &Alerting,
    ) -> Self {
        let secs = |minutes: u32| i64::from(minutes) * 60;
        Rules {
            min_severity,
            route_server_ids,
            flap_threshold: alerting.flap_threshold,
            flap_window_secs: secs(alerting.flap_window_minutes),
            flap_hold_secs: secs(alerting.flap_hold_minutes),
            remind_every_secs: secs(alerting.remind_every_minutes),
            mutes: Vec::new(),
        }
    }

    /// Whether `peer` is muted at `now`, by its tag or by a stored mute of it or its route
    /// server.
    pub fn muted(&self, peer: &PeerSnapshot, now: Timestamp) -> bool {
        self.muted_by(peer.tags.get(MUTE_TAG), |t| t.covers(peer), now)
    }

    /// Whether a mute covers something at `now`: its `peerwatch:mute` tag value, or a stored
    /// mute whose target `covers` says it covers.
    pub(crate) fn muted_by(
        &self,
        tag: Option<&String>,
        covers: impl Fn(&MuteTarget) -> bool,
        now: Timestamp,
    ) -> bool {
        let active = |until: Option<Timestamp>| until.is_none_or(|u| now < u);
        let by_tag = tag.and_then(|v| tag_mute(v)).is_some_and(active);
        by_tag
            || self
                .mutes
                .iter()
                .any(|m| covers(&m.target) && active(m.until))
    }

    pub fn in_scope(&self, route_server_id: &str) -> bool {
        self.route_server_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| *id == *route_server_id))
    }

    pub(crate) fn notifies(&self, severity: Severity, open_alert: Option<Severity>) -> bool {
        match severity {
            Severity::Recovery => open_alert.is_some(),
            Severity::Info => self.min_severity == Severity::Info,
            s => s.rank() >= self.min_severity.rank(),
        }
    }
}

/// The health table (docs/design.md, "Health and severity"). Anything it does not name (including values from a newer API)
/// is `transitional`: recorded, never alerted.
pub fn health(peer: &PeerSnapshot) -> Health {
    let bgp = peer.bgp_status.as_deref();
    let bfd = peer.bfd_status.as_deref();
    let uses_bfd = peer.peer_liveness_detection == "bfd";
    match peer.state.as_str() {
        "failed" => Health::Down,
        "failing" => Health::Degraded,
        "available" if bgp == Some("down") => Health::Down,
        "available" if uses_bfd && bfd == Some("down") => Health::Down,
        "available" if bgp == Some("up") && (!uses_bfd || bfd == Some("up")) => Health::Healthy,
        _ => Health::Transitional,
    }
}

fn field_value(peer: &PeerSnapshot, field: Field) -> Option<String> {
    match field {
        Field::State => Some(peer.state.clone()),
        Field::BgpStatus => peer.bgp_status.clone(),
        Field::BfdStatus => peer.bfd_status.clone(),
        // Not a peer's field (crate::fabric).
        _ => None,
    }
}

const FIELDS: [Field; 3] = [Field::State, Field::BgpStatus, Field::BfdStatus];

/// A poll's listing was answered at `answered`, after its `ObservedAt` was stamped: a value
/// it shows was taken at or before then, so that is where the windows of the session values
/// its transitions record end (a change made while the pages were read falls inside, and its
/// log record is found reflected).
pub fn listing_answered(transitions: &mut [Transition], answered: Timestamp) {
    for t in transitions.iter_mut().filter(|t| t.source == Source::Poll) {
        for c in &t.changes {
            let times = &mut t.record.sessions_changed_at;
            if let Some(mut w) = times.get(c.field).filter(|w| w.at == t.observed_at) {
                w.at = w.at.max(answered);
                times.set(c.field, w);
            }
        }
    }
}

/// Compares the listing with the last known states and returns one transition per peer
/// that changed, appeared or vanished, in listing order (vanished last).
pub fn detect(
    known: &HashMap<String, PeerRecord>,
    listed: &[PeerSnapshot],
    observed_at: Timestamp,
    rules: &Rules,
) -> Vec<Transition> {
    let mut detector = Detector::new(observed_at, rules);
    let mut out = detector.page(known, listed);
    out.extend(detector.vanished(known));
    out
}

/// [`detect`] over a listing that arrives a page at a time, so a cycle never holds more than
/// one page of it (at 10,000 peers the whole listing is ~16 MB): [`Detector::page`] for each
/// page in order, then [`Detector::vanished`] once for the known peers no page showed.
pub struct Detector<'r> {
    observed_at: Timestamp,
    rules: &'r Rules,
    /// Every id listed so far: a peer listed twice counts once, and these are not vanished.
    seen: HashSet<String>,
}

impl<'r> Detector<'r> {
    pub fn new(observed_at: Timestamp, rules: &'r Rules) -> Self {
        Detector {
            observed_at,
            rules,
            seen: HashSet::new(),
        }
    }

    /// The transitions of one page of the listing, in its order.
    pub fn page(
        &mut self,
        known: &HashMap<String, PeerRecord>,
        listed: &[PeerSnapshot],
    ) -> Vec<Transition> {
        let (rules, at) = (self.rules, self.observed_at);
        let mut out = Vec::new();
        for peer in listed {
            if !rules.in_scope(&peer.route_server_id)
                || self.seen.contains(&peer.route_server_peer_id)
            {
                continue;
            }
            self.seen.insert(peer.route_server_peer_id.clone());
            let t = match known.get(&peer.route_server_peer_id) {
                Some(prev) if prev.present => {
                    changed(prev, peer, at, rules).or_else(|| follow_up(prev, peer, at, rules))
                }
                prev => Some(discovered(prev, peer, at, rules)),
            };
            out.extend(t);
        }
        out
    }

    /// The known peers in scope that no page showed, by id.
    pub fn vanished(self, known: &HashMap<String, PeerRecord>) -> Vec<Transition> {
        let mut vanished: Vec<&PeerRecord> = known
            .values()
            .filter(|r| {
                r.present
                    && self.rules.in_scope(&r.peer.route_server_id)
                    && !self.seen.contains(&r.peer.route_server_peer_id)
            })
            .collect();
        vanished.sort_by(|a, b| {
            a.peer
                .route_server_peer_id
                .cmp(&b.peer.route_server_peer_id)
        });
        vanished
            .into_iter()
            .map(|prev| vanish(prev, self.observed_at, self.rules))
            .collect()
    }
}

fn discovered(
    prev: Option<&PeerRecord>,
    peer: &PeerSnapshot,
    observed_at: Timestamp,
    rules: &Rules,
) -> Transition {
    let health_to = health(peer);
    let severity = match health_to {
        Health::Down => Severity::Critical,
        Health::Degraded => Severity::Warning,
        _ => Severity::Info,
    };
    let changes = FIELDS
        .iter()
        .map(|&field| FieldChange {
            field,
            from: None,
            to: field_value(peer, field),
        })
        .collect::<Vec<_>>();
    let event = match health_to {
        Health::Down | Health::Degraded => trouble_event(peer),
        _ => Event::PeerDiscovered,
    };
    // A peer that vanished and came back keeps its history and its version sequence.
    let build = Build {
        prev,
        kind: TransitionKind::Discovered,
        observed_at,
        source: Source::Poll,
        changes,
        health_to,
        severity,
        event,
    };
    build.finish(peer.clone(), true, rules)
}

fn changed(
    prev: &PeerRecord,
    peer: &PeerSnapshot,
    observed_at: Timestamp,
    rules: &Rules,
) -> Option<Transition> {
    let changes: Vec<FieldChange> = FIELDS
        .iter()
        .filter_map(|&field| {
            let from = field_value(&prev.peer, field);
            let to = field_value(peer, field);
            (from != to).then_some(FieldChange { field, from, to })
        })
        .collect();
    if changes.is_empty() {
        return None;
    }
    Some(changed_by(
        prev,
        peer.clone(),
        changes,
        observed_at,
        Source::Poll,
        rules,
    ))
}

/// The transition of `prev` becoming `peer` by `changes`, however they were seen: the poll's
/// diff, or a peer log record (crate::peer_logs), whose `from` may be implied by the record.
pub(crate) fn changed_by(
    prev: &PeerRecord,
    peer: PeerSnapshot,
    changes: Vec<FieldChange>,
    observed_at: Timestamp,
    source: Source,
    rules: &Rules,
) -> Transition {
    let health_from = prev.health;
    let health_to = health(&peer);
    let severity = match health_to {
        h if h == health_from => Severity::Info,
        Health::Down => Severity::Critical,
        Health::Degraded => Severity::Warning,
        Health::Healthy if prev.open_alert.is_some() => Severity::Recovery,
        _ => Severity::Info,
    };
    let event = match severity {
        Severity::Critical | Severity::Warning => trouble_event(&peer),
        Severity::Recovery => recovery_event(&changes),
        _ => info_event(&changes),
    };
    let build = Build {
        prev: Some(prev),
        kind: TransitionKind::Changed,
        observed_at,
        source,
        changes,
        health_to,
        severity,
        event,
    };
    build.finish(peer, true, rules)
}

/// For a peer whose fields did not change: what the alert rules owe on their own (see
/// [`owed`]).
fn follow_up(
    prev: &PeerRecord,
    peer: &PeerSnapshot,
    observed_at: Timestamp,
    rules: &Rules,
) -> Option<Transition> {
    let prior = Prior::of_peer(prev);
    let owed = owed(&prior, observed_at, rules.muted(peer, observed_at), rules)?;
    let event = match owed.kind {
        TransitionKind::Settled => Event::PeerSettled,
        TransitionKind::Reminder => Event::PeerReminder,
        _ => trouble_event(peer),
    };
    let build = Build {
        prev: Some(prev),
        kind: owed.kind,
        observed_at,
        source: Source::Poll,
        changes: Vec::new(),
        health_to: prev.health,
        severity: owed.severity,
        event,
    };
    let mut t = build.finish(peer.clone(), true, rules);
    if owed.kind == TransitionKind::Settled {
        t.previous_duration_seconds = owed.settled_after;
    }
    Some(t)
}

/// What the alert rules remember of anything tracked (a peer, or an endpoint, route server,
/// route or advertisement), as they need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prior<'a> {
    pub health: Health,
    pub open_alert: Option<Severity>,
    pub present: bool,
    pub alerting: &'a AlertState,
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub version: u64,
}

impl<'a> Prior<'a> {
    pub(crate) fn of_peer(r: &'a PeerRecord) -> Self {
        Prior {
            health: r.health,
            open_alert: r.open_alert,
            present: r.present,
            alerting: &r.alerting,
            first_seen_at: r.first_seen_at,
            last_changed_at: r.last_changed_at,
            version: r.version,
        }
    }
}

/// What a transition and its new record derive from the previous record, the same for
/// every subject: times, version and the optimistic-concurrency guard.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Books {
    pub first_seen_at: Timestamp,
    pub last_changed_at: Timestamp,
    pub version: u64,
    pub health_from: Option<Health>,
    pub previous_observed_at: Option<Timestamp>,
    pub previous_duration_seconds: Option<i64>,
    pub expected_version: Option<u64>,
}

impl Books {
    pub fn after(prev: Option<&Prior>, kind: TransitionKind, observed_at: Timestamp) -> Books {
        let rule_only = matches!(
            kind,
            TransitionKind::Reminder
                | TransitionKind::Settled
                | TransitionKind::Unmuted
                | TransitionKind::Acknowledged
        );
        Books {
            first_seen_at: prev.map_or(observed_at, |p| p.first_seen_at),
            // The fields did not change for a reminder, a settling, a mute's end or an ack.
            last_changed_at: match prev {
                Some(p) if rule_only => p.last_changed_at,
                _ => observed_at,
            },
            version: prev.map_or(1, |p| p.version + 1),
            health_from: prev.filter(|p| p.present).map(|p| p.health),
            previous_observed_at: prev.map(|p| p.last_changed_at),
            previous_duration_seconds: prev.map(|p| observed_at.seconds_since(p.last_changed_at)),
            expected_version: prev.map(|p| p.version),
        }
    }
}

/// A transition the alert rules owe with no field changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owed {
    pub kind: TransitionKind,
    pub severity: Severity,
    /// For a settling: how long since the last health change.
    pub settled_after: Option<i64>,
}

/// At most one of (in this order) the flapping subject settling, the alert a mute held back
/// once the mute has ended, and a reminder of an alert still open that nobody acknowledged.
pub(crate) fn owed(
    prior: &Prior,
    observed_at: Timestamp,
    muted: bool,
    rules: &Rules,
) -> Option<Owed> {
    let a = prior.alerting;
    let unwell = matches!(prior.health, Health::Down | Health::Degraded);
    let trouble = match prior.health {
        Health::Down => Severity::Critical,
        Health::Degraded => Severity::Warning,
        _ => Severity::Info,
    };
    if let Some(since) = a.flapping_since {
        let last_change = a.health_changes.last().copied().unwrap_or(since);
        if observed_at.seconds_since(last_change) < rules.flap_hold_secs {
            return None;
        }
        let severity = match prior.health {
            Health::Healthy if prior.open_alert.is_some() => Severity::Recovery,
            _ => trouble,
        };
        return Some(Owed {
            kind: TransitionKind::Settled,
            severity,
            settled_after: Some(observed_at.seconds_since(last_change)),
        });
    }
    if !muted && a.muted_alert.is_some() && unwell && prior.open_alert.is_none() {
        return Some(Owed {
            kind: TransitionKind::Unmuted,
            severity: trouble,
            settled_after: None,
        });
    }
    let due = |every: i64| {
        a.alerted_at.is_some_and(|at| {
            observed_at.seconds_since(at) >= every * (i64::from(a.reminders_sent) + 1)
        })
    };
    if rules.remind_every_secs > 0
        && !muted
        && a.acked.is_none()
        && unwell
        && matches!(
            prior.open_alert,
            Some(Severity::Critical | Severity::Warning)
        )
        && due(rules.remind_every_secs)
    {
        return Some(Owed {
            kind: TransitionKind::Reminder,
            severity: prior.open_alert.unwrap_or(trouble),
            settled_after: None,
        });
    }
    None
}

fn vanish(prev: &PeerRecord, observed_at: Timestamp, rules: &Rules) -> Transition {
    // Leaving through deleting/deleted is the normal end of a peer; vanishing without it is not.
    let severity = if matches!(prev.peer.state.as_str(), "deleting" | "deleted") {
        Severity::Info
    } else {
        Severity::Warning
    };
    let build = Build {
        prev: Some(prev),
        kind: TransitionKind::Vanished,
        observed_at,
        source: Source::Poll,
        changes: Vec::new(),
        health_to: prev.health,
        severity,
        event: Event::PeerVanished,
    };
    build.finish(prev.peer.clone(), false, rules)
}

/// The event that names why a peer is down or degraded.
fn trouble_event(peer: &PeerSnapshot) -> Event {
    match peer.state.as_str() {
        "failed" => Event::PeerFailed,
        "failing" => Event::PeerFailing,
        _ if peer.bgp_status.as_deref() == Some("down") => Event::BgpDown,
        _ => Event::BfdDown,
    }
}

fn recovery_event(changes: &[FieldChange]) -> Event {
    let to = |field| {
        changes
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.to.as_deref())
    };
    if to(Field::State).is_some() {
        Event::PeerRecovered
    } else if to(Field::BgpStatus) == Some(Some("up")) {
        Event::BgpUp
    } else if to(Field::BfdStatus) == Some(Some("up")) {
        Event::BfdUp
    } else {
        Event::PeerRecovered
    }
}

/// For changes that alert nobody: the session event if a session moved, else `peer.changed`.
fn info_event(changes: &[FieldChange]) -> Event {
    for c in changes {
        match (c.field, c.to.as_deref()) {
            (Field::BgpStatus, Some("up")) => return Event::BgpUp,
            (Field::BgpStatus, Some("down")) => return Event::BgpDown,
            (Field::BfdStatus, Some("up")) => return Event::BfdUp,
            (Field::BfdStatus, Some("down")) => return Event::BfdDown,
            _ => {}
        }
    }
    Event::PeerChanged
}

struct Build<'a> {
    prev: Option<&'a PeerRecord>,
    kind: TransitionKind,
    observed_at: Timestamp,
    source: Source,
    changes: Vec<FieldChange>,
    health_to: Health,
    severity: Severity,
    event: Event,
}

impl Build<'_> {
    fn finish(self, peer: PeerSnapshot, present: bool, rules: &Rules) -> Transition {
        let prior = self.prev.map(Prior::of_peer);
        let muted = rules.muted(&peer, self.observed_at);
        let ruled = apply_rules(
            prior.as_ref(),
            Proposed {
                kind: self.kind,
                observed_at: self.observed_at,
                health_to: self.health_to,
                severity: self.severity,
                event: self.event,
                flapping_event: Event::PeerFlapping,
                present,
                muted,
                moved: false,
                news: false,
            },
            rules,
        );
        let books = Books::after(prior.as_ref(), self.kind, self.observed_at);
        let mut sessions_changed_at = match self.prev {
            Some(prev) if self.kind != TransitionKind::Discovered => {
                prev.sessions_changed_at.clone()
            }
            _ => SessionsChangedAt::all(self.observed_at),
        };
        for c in &self.changes {
            let window = match (self.source, self.prev) {
                (Source::Log | Source::Operator, _) => ChangeWindow::exact(self.observed_at),
                // The poll only knows it happened since the field's last change.
                (Source::Poll, Some(prev)) if self.kind != TransitionKind::Discovered => {
                    ChangeWindow {
                        at: self.observed_at,
                        after: Some(
                            prev.sessions_changed_at
                                .get(c.field)
                                .map_or(prev.last_changed_at, |w| w.at),
                        ),
                    }
                }
                (Source::Poll, _) => ChangeWindow {
                    at: self.observed_at,
                    after: None,
                },
            };
            let old = self.prev.and_then(|p| field_value(&p.peer, c.field));
            sessions_changed_at.replace(c.field, old.as_deref(), window);
        }
        let record = PeerRecord {
            peer,
            first_seen_at: books.first_seen_at,
            last_changed_at: books.last_changed_at,
            present,
            version: books.version,
            health: self.health_to,
            sessions_changed_at,
            open_alert: ruled.open_alert,
            alerting: ruled.alerting,
        };
        Transition {
            kind: self.kind,
            observed_at: self.observed_at,
            source: self.source,
            changes: self.changes,
            health_from: books.health_from,
            health_to: self.health_to,
            severity: ruled.severity,
            event: ruled.event,
            notification: ruled.notification,
            previous_observed_at: books.previous_observed_at,
            previous_duration_seconds: books.previous_duration_seconds,
            expected_version: books.expected_version,
            record,
        }
    }
}

/// A transition as detection proposes it, before the alert rules have their say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Proposed {
    pub kind: TransitionKind,
    pub observed_at: Timestamp,
    pub health_to: Health,
    pub severity: Severity,
    pub event: Event,
    /// The event a subject of this type alerts with when it starts flapping.
    pub flapping_event: Event,
    pub present: bool,
    /// Whether a mute (tag or stored) covers the subject at `observed_at`.
    pub muted: bool,
    /// Counts for flap detection though the health stays (a route failing over).
    pub moved: bool,
    /// News, not a state (a failover onto a healthy route): it opens nothing for a recovery
    /// to close, and leaves what was open as it was.
    pub news: bool,
}

/// What the alert rules decide.
#[derive(Debug, Clone)]
pub(crate) struct Ruled {
    pub severity: Severity,
    pub event: Event,
    pub notification: NotificationState,
    pub open_alert: Option<Severity>,
    pub alerting: AlertState,
}

/// The alert rules (flapping, mutes, reminders, the open alert a recovery closes), the same
/// for every subject peerwatch tracks.
pub(crate) fn apply_rules(prev: Option<&Prior>, p: Proposed, rules: &Rules) -> Ruled {
    let prev_alert = prev.and_then(|p| p.open_alert);
    // A subject that is back after vanishing starts a fresh episode: no recovery owed, and
    // nothing of its past flapping or mutes carries over.
    let fresh = prev.is_none_or(|p| !p.present);
    let open_before = if fresh { None } else { prev_alert };
    let mut alerting = match prev {
        Some(prior) if !fresh => prior.alerting.clone(),
        _ => AlertState::default(),
    };
    let health_changed = !fresh
        && p.kind == TransitionKind::Changed
        && (p.moved || prev.is_some_and(|prior| prior.health != p.health_to));
    let mut severity = p.severity;
    let mut event = p.event;
    let mut suppressed = false;

    // Flap detection: the change that makes one too many in the window alerts once, as
    // the flapping event; the changes after it are recorded and held back until it settles.
    if health_changed && rules.flap_threshold > 0 {
        let window_start = p.observed_at.plus_seconds(-rules.flap_window_secs);
        alerting.health_changes.retain(|t| *t > window_start);
        alerting.health_changes.push(p.observed_at);
        if alerting.flapping_since.is_some() {
            suppressed = true;
        } else if alerting.health_changes.len() > rules.flap_threshold as usize {
            alerting.flapping_since = Some(p.observed_at);
            severity = Severity::Warning;
            event = p.flapping_event;
        }
    }
    if p.kind == TransitionKind::Settled {
        alerting.flapping_since = None;
        alerting.health_changes.clear();
    }

    let alert = matches!(severity, Severity::Critical | Severity::Warning);
    // A mute holds back alerts (remembering the last one, to send once the mute ends);
    // the recovery of an alert sent before the mute still goes out, closing its thread.
    // Vanishing too: maintenance may take things away, and the mute says "expect trouble".
    if !suppressed && alert && p.muted {
        suppressed = true;
        if rules.notifies(severity, open_before) {
            alerting.muted_alert = Some(severity);
        }
    }
    if p.kind == TransitionKind::Unmuted {
        alerting.muted_alert = None;
    }

    let notify = !suppressed && rules.notifies(severity, open_before);
    // News keeps its own event unless the rules made it another (flapping).
    let news = p.news && event == p.event;
    let open_alert = match severity {
        _ if news => open_before,
        _ if suppressed => open_before
            .filter(|_| p.health_to != Health::Healthy || alerting.flapping_since.is_some()),
        Severity::Critical | Severity::Warning if notify => Some(severity),
        Severity::Recovery => None,
        _ if p.kind == TransitionKind::Vanished => None,
        _ if p.health_to == Health::Healthy => None,
        _ => open_before,
    };
    if notify && alert && p.kind != TransitionKind::Reminder && !news {
        // A new alert (an escalation too): nobody has acknowledged this one yet.
        alerting.alerted_at = Some(p.observed_at);
        alerting.reminders_sent = 0;
        alerting.acked = None;
    }
    if p.kind == TransitionKind::Reminder {
        // Count the intervals passed, so a poller that was away sends one, not a burst.
        let every = rules.remind_every_secs.max(1);
        let since = alerting
            .alerted_at
            .map_or(0, |t| p.observed_at.seconds_since(t));
        alerting.reminders_sent = u32::try_from(since / every).unwrap_or(u32::MAX);
    }
    if open_alert.is_none() {
        // The acknowledgement ends with the alert it acknowledged.
        alerting.alerted_at = None;
        alerting.reminders_sent = 0;
        alerting.acked = None;
    }
    if p.health_to == Health::Healthy || !p.present {
        alerting.muted_alert = None;
    }
    if !p.present {
        alerting = AlertState::default();
    }
    Ruled {
        severity,
        event,
        notification: if notify {
            NotificationState::Pending
        } else if suppressed {
            NotificationState::Suppressed
        } else {
            NotificationState::NotRequired
        },
        open_alert,
        alerting,
    }
}

#[cfg(test)]
mod tests;
