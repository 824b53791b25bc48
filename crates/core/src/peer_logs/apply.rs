//! One peer's session records at one instant, applied to its last known state: exactly once
//! whichever path saw the change first, and never rewriting newer history.
//!
//! For a record saying field F became `v` at time `t`, against the stored state S:
//! - **reflected**: S shows `v` and took it in a window that holds `t` (the poll saw this
//!   change first: it happened between the field's previous change and that poll; or this
//!   record was applied before: its exact millisecond): nothing to write;
//! - **late**: otherwise, if `t` is older than S's last change: kept as a history item marked
//!   late; S and the alerts stay as they are;
//! - **a change**: otherwise, recorded at `t` through the same rules and the same conditional
//!   write as the poll's changes. A record that says `up` while S already shows `up` (taken
//!   before `t`) means a `down` came between that no path has seen yet: the change is recorded
//!   with its `from` implied, so batches delivered in either order give the same changes.

use crate::detect::{Rules, changed_by, health};
use crate::model::{
    ChangeWindow, Event, Field, FieldChange, Health, PeerRecord, Source, Timestamp, Transition,
};
use crate::peer_logs::Session;

/// What applying records does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The state already shows it: nothing to write.
    Reflected,
    /// Older than the peer's last recorded change: a history item only.
    Late(LateRecord),
    /// A change to record: the new state and its history item, written together.
    Change(Box<Transition>),
    /// A peer peerwatch does not track (not yet discovered by a poll, vanished, or outside
    /// `ROUTE_SERVER_IDS`): the poll decides about it.
    Untracked,
}

/// A record older than the peer's last change: kept in the history (`Source=log`, `Late`),
/// not applied to `PeerState`, never notified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateRecord {
    pub peer_id: String,
    pub route_server_id: String,
    pub observed_at: Timestamp,
    /// Each `from` is implied by the record: a status record reports a change.
    pub changes: Vec<FieldChange>,
    /// The session event it names (`bgp.down`, `bfd.up`, ...).
    pub event: Event,
    /// The health before and after, as the peer's other fields stand now (the state at the
    /// record's time is not known): what the report's timeline reads.
    pub health_from: Health,
    pub health_to: Health,
    /// The `PeerState` version the record was found older than.
    pub version: u64,
    /// The peer's last change, which the record is older than.
    pub last_changed_at: Timestamp,
}

/// Applies the session records of one peer that share the instant `at` (`statuses` in
/// delivery order: for one session the last wins) to its last known state `prev`.
pub fn apply(
    prev: Option<&PeerRecord>,
    at: Timestamp,
    statuses: &[(Session, String)],
    rules: &Rules,
) -> Applied {
    let Some(prev) = prev.filter(|p| p.present && rules.in_scope(&p.peer.route_server_id)) else {
        return Applied::Untracked;
    };
    let mut latest: Vec<(Session, &str)> = Vec::new();
    for (session, status) in statuses {
        latest.retain(|(s, _)| s != session);
        latest.push((*session, status));
    }
    latest.sort();
    let mut peer = prev.peer.clone();
    let mut changes = Vec::new();
    for (session, status) in latest {
        let field = session.field();
        let shown = match session {
            Session::Bgp => &mut peer.bgp_status,
            Session::Bfd => &mut peer.bfd_status,
        };
        let taken = prev.sessions_changed_at.get(field).unwrap_or(ChangeWindow {
            at: prev.last_changed_at,
            after: None,
        });
        let same = shown.as_deref() == Some(status);
        if same && taken.contains(at) {
            continue;
        }
        let from = if same {
            Some(opposite(status).to_string())
        } else {
            shown.clone()
        };
        *shown = Some(status.to_string());
        changes.push(FieldChange {
            field,
            from,
            to: Some(status.to_string()),
        });
    }
    if changes.is_empty() {
        return Applied::Reflected;
    }
    if at < prev.last_changed_at {
        // A value the state held before, taken in a window that holds the record's time: the
        // change was recorded then (by the poll, or by this record delivered before).
        changes.retain(|c| {
            c.to.as_deref()
                .is_none_or(|v| !prev.sessions_changed_at.held(c.field, v, at))
        });
        if changes.is_empty() {
            return Applied::Reflected;
        }
        let mut before = peer.clone();
        for c in &mut changes {
            c.from = c.to.as_deref().map(|to| opposite(to).to_string());
            let slot = match c.field {
                Field::BgpStatus => &mut before.bgp_status,
                _ => &mut before.bfd_status,
            };
            *slot = c.from.clone();
        }
        return Applied::Late(LateRecord {
            peer_id: prev.peer.route_server_peer_id.clone(),
            route_server_id: prev.peer.route_server_id.clone(),
            observed_at: at,
            event: session_event(&changes),
            health_from: health(&before),
            health_to: health(&peer),
            changes,
            version: prev.version,
            last_changed_at: prev.last_changed_at,
        });
    }
    // The history's key is the peer and the millisecond: a change in the same millisecond as
    // the last one, seen in another batch, is recorded one millisecond after it.
    let observed_at = if at == prev.last_changed_at {
        at.plus_millis(1)
    } else {
        at
    };
    Applied::Change(Box::new(changed_by(
        prev,
        peer,
        changes,
        observed_at,
        Source::Log,
        rules,
    )))
}

/// BGP before BFD: of two sessions moving at once, BGP's is the one that carries routes.
fn session_event(changes: &[FieldChange]) -> Event {
    let to = |field| {
        changes
            .iter()
            .find(|c| c.field == field)
            .and_then(|c| c.to.as_deref())
    };
    match (to(Field::BgpStatus), to(Field::BfdStatus)) {
        (Some("down"), _) => Event::BgpDown,
        (Some(_), _) => Event::BgpUp,
        (None, Some("down")) => Event::BfdDown,
        _ => Event::BfdUp,
    }
}

fn opposite(status: &str) -> &'static str {
    if status == "up" { "down" } else { "up" }
}
