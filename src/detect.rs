//! The pure core: (last known states, listed peers) -> transitions, with health, severity,
//! event and the notification decision. Knows nothing of AWS; most unit tests live here.

use std::collections::{HashMap, HashSet};

use crate::model::{
    Event, Field, FieldChange, Health, NotificationState, PeerRecord, PeerSnapshot, Severity,
    Timestamp, Transition, TransitionKind,
};

/// The alerting rules a run applies.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The least severity that is notified; a recovery follows its alert.
    pub min_severity: Severity,
    /// Only peers of these route servers are watched (`None`: all).
    pub route_server_ids: Option<Vec<String>>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            min_severity: Severity::Warning,
            route_server_ids: None,
        }
    }
}

impl Rules {
    fn in_scope(&self, route_server_id: &str) -> bool {
        self.route_server_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| id == route_server_id))
    }

    fn notifies(&self, severity: Severity, open_alert: Option<Severity>) -> bool {
        match severity {
            Severity::Recovery => open_alert.is_some(),
            Severity::Info => self.min_severity == Severity::Info,
            s => s.rank() >= self.min_severity.rank(),
        }
    }
}

/// SPEC.md's health table. Anything it does not name (including values from a newer API)
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
    }
}

const FIELDS: [Field; 3] = [Field::State, Field::BgpStatus, Field::BfdStatus];

/// Compares the listing with the last known states and returns one transition per peer
/// that changed, appeared or vanished, in listing order (vanished last).
pub fn detect(
    known: &HashMap<String, PeerRecord>,
    listed: &[PeerSnapshot],
    observed_at: Timestamp,
    rules: &Rules,
) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut seen = HashSet::with_capacity(listed.len());
    for peer in listed {
        if !rules.in_scope(&peer.route_server_id)
            || !seen.insert(peer.route_server_peer_id.as_str())
        {
            continue;
        }
        let t = match known.get(&peer.route_server_peer_id) {
            Some(prev) if prev.present => changed(prev, peer, observed_at, rules),
            prev => Some(discovered(prev, peer, observed_at, rules)),
        };
        out.extend(t);
    }
    let mut vanished: Vec<&PeerRecord> = known
        .values()
        .filter(|r| {
            r.present
                && rules.in_scope(&r.peer.route_server_id)
                && !seen.contains(r.peer.route_server_peer_id.as_str())
        })
        .collect();
    vanished.sort_by(|a, b| {
        a.peer
            .route_server_peer_id
            .cmp(&b.peer.route_server_peer_id)
    });
    out.extend(
        vanished
            .into_iter()
            .map(|prev| vanish(prev, observed_at, rules)),
    );
    out
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
    let health_from = prev.health;
    let health_to = health(peer);
    let severity = match health_to {
        h if h == health_from => Severity::Info,
        Health::Down => Severity::Critical,
        Health::Degraded => Severity::Warning,
        Health::Healthy if prev.open_alert.is_some() => Severity::Recovery,
        _ => Severity::Info,
    };
    let event = match severity {
        Severity::Critical | Severity::Warning => trouble_event(peer),
        Severity::Recovery => recovery_event(&changes),
        _ => info_event(&changes),
    };
    let build = Build {
        prev: Some(prev),
        kind: TransitionKind::Changed,
        observed_at,
        changes,
        health_to,
        severity,
        event,
    };
    Some(build.finish(peer.clone(), true, rules))
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
    changes: Vec<FieldChange>,
    health_to: Health,
    severity: Severity,
    event: Event,
}

impl Build<'_> {
    fn finish(self, peer: PeerSnapshot, present: bool, rules: &Rules) -> Transition {
        let prev_alert = self.prev.and_then(|p| p.open_alert);
        // A peer that is back after vanishing starts a fresh episode: no recovery owed.
        let open_before = if self.prev.is_some_and(|p| !p.present) {
            None
        } else {
            prev_alert
        };
        let notify = rules.notifies(self.severity, open_before);
        let open_alert = match self.severity {
            Severity::Critical | Severity::Warning if notify => Some(self.severity),
            Severity::Recovery => None,
            _ if self.kind == TransitionKind::Vanished => None,
            _ if self.health_to == Health::Healthy => None,
            _ => open_before,
        };
        let record = PeerRecord {
            peer,
            first_seen_at: self.prev.map_or(self.observed_at, |p| p.first_seen_at),
            last_changed_at: self.observed_at,
            present,
            version: self.prev.map_or(1, |p| p.version + 1),
            health: self.health_to,
            open_alert,
        };
        Transition {
            kind: self.kind,
            observed_at: self.observed_at,
            changes: self.changes,
            health_from: self.prev.filter(|p| p.present).map(|p| p.health),
            health_to: self.health_to,
            severity: self.severity,
            event: self.event,
            notification: if notify {
                NotificationState::Pending
            } else {
                NotificationState::NotRequired
            },
            previous_observed_at: self.prev.map(|p| p.last_changed_at),
            previous_duration_seconds: self
                .prev
                .map(|p| self.observed_at.seconds_since(p.last_changed_at)),
            expected_version: self.prev.map(|p| p.version),
            record,
        }
    }
}

#[cfg(test)]
mod tests;
