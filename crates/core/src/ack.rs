//! Acknowledging an open alert (`peerwatch ack`; docs/operating.md, "Acknowledging an
//! alert"): someone is on it, so its reminders stop, and a note says so in the alert's thread.
//!
//! An acknowledgement is a transition like a reminder: no field changes, the health stays,
//! and it goes through the same conditional write and outbox, so two operators acknowledging
//! at once make one of it. The note is `info`, yet always notified: whoever got the alert
//! wants to know who took it, whatever `NOTIFY_MIN_SEVERITY` holds back. It ends when the alert
//! does ([`crate::detect`]): a new alert, after a recovery or an escalation, is not
//! acknowledged.

use crate::detect::{Books, Prior};
use crate::fabric::detect::{detail, prior};
use crate::fabric::{FabricRecord, FabricTransition};
use crate::model::{
    Ack, AlertState, Event, Health, NotificationState, PeerRecord, Severity, Source, Timestamp,
    Transition, TransitionKind,
};

/// Why there is nothing to acknowledge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// No alert is open: the subject is healthy, its trouble was never alerted (below
    /// `NOTIFY_MIN_SEVERITY`, muted, flapping), or it is gone.
    #[error("no alert is open: it is {health}{}", if *.present { "" } else { " and no longer listed" })]
    NothingOpen { health: Health, present: bool },
    /// Someone was there first.
    #[error("already acknowledged by {} at {}", .0.by, .0.at)]
    AlreadyAcked(Ack),
}

/// What acknowledging decides, the same for every subject.
struct Acked {
    observed_at: Timestamp,
    books: Books,
    alerting: AlertState,
}

/// The one rule: an open alert not yet acknowledged takes `ack`. `newest` is the time of the
/// subject's newest history item: the history's key is (subject, `ObservedAt`), so an
/// acknowledgement at or before it is recorded one millisecond after it.
fn decide(p: &Prior, ack: Ack, newest: Option<Timestamp>) -> Result<Acked, AckError> {
    if !p.present || p.open_alert.is_none() {
        return Err(AckError::NothingOpen {
            health: p.health,
            present: p.present,
        });
    }
    if let Some(a) = &p.alerting.acked {
        return Err(AckError::AlreadyAcked(a.clone()));
    }
    // The record's own times bound the history's newest item too (a reminder leaves none).
    let floor = [newest, Some(p.last_changed_at), p.alerting.alerted_at]
        .into_iter()
        .flatten()
        .max();
    let observed_at = match floor {
        Some(f) if ack.at <= f => f.plus_millis(1),
        _ => ack.at,
    };
    let mut alerting = p.alerting.clone();
    alerting.acked = Some(Ack {
        at: observed_at,
        ..ack
    });
    Ok(Acked {
        observed_at,
        books: Books::after(Some(p), TransitionKind::Acknowledged, observed_at),
        alerting,
    })
}

/// Acknowledges the open alert of a peer: the transition to record (and notify), or why not.
pub fn acknowledge(
    record: &PeerRecord,
    ack: Ack,
    newest: Option<Timestamp>,
) -> Result<Transition, AckError> {
    let a = decide(&Prior::of_peer(record), ack, newest)?;
    let mut next = record.clone();
    next.version = a.books.version;
    next.last_changed_at = a.books.last_changed_at;
    next.alerting = a.alerting;
    Ok(Transition {
        kind: TransitionKind::Acknowledged,
        observed_at: a.observed_at,
        source: Source::Operator,
        changes: Vec::new(),
        health_from: a.books.health_from,
        health_to: record.health,
        severity: Severity::Info,
        event: Event::AlertAcknowledged,
        notification: NotificationState::Pending,
        previous_observed_at: a.books.previous_observed_at,
        previous_duration_seconds: a.books.previous_duration_seconds,
        expected_version: a.books.expected_version,
        record: next,
    })
}

/// Acknowledges the open alert of an endpoint, route server, route or advertisement.
pub fn acknowledge_fabric(
    record: &FabricRecord,
    ack: Ack,
    newest: Option<Timestamp>,
) -> Result<FabricTransition, AckError> {
    let a = decide(&prior(record), ack, newest)?;
    let mut next = record.clone();
    next.version = a.books.version;
    next.last_changed_at = a.books.last_changed_at;
    next.alerting = a.alerting;
    Ok(FabricTransition {
        kind: TransitionKind::Acknowledged,
        observed_at: a.observed_at,
        changes: Vec::new(),
        health_from: a.books.health_from,
        health_to: record.health,
        severity: Severity::Info,
        event: Event::AlertAcknowledged,
        notification: NotificationState::Pending,
        previous_observed_at: a.books.previous_observed_at,
        previous_duration_seconds: a.books.previous_duration_seconds,
        expected_version: a.books.expected_version,
        detail: detail(None, &record.subject, Event::AlertAcknowledged),
        record: next,
    })
}

#[cfg(test)]
mod tests;
