//! What one poll cycle did: the Lambda's response, `peerwatch poll`'s output, and the
//! figures of the cycle's metrics.

use serde::Serialize;

use crate::fabric::FabricTransition;
use crate::model::{FieldChange, NotificationState, Transition};

/// What a run did; the Lambda's response and `peerwatch poll`'s output.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub peers_seen: usize,
    /// Route servers, endpoints and prefixes in the FIBs this run saw (crate::fabric).
    pub route_servers_seen: usize,
    pub endpoints_seen: usize,
    pub routes_seen: usize,
    /// Peers' transitions.
    pub transitions_detected: usize,
    pub transitions_recorded: usize,
    /// Transitions of endpoints, route servers, routes and advertisements.
    pub routing_transitions_detected: usize,
    pub routing_transitions_recorded: usize,
    /// Changes another overlapping run recorded first.
    pub transitions_lost_race: usize,
    /// Changes left for the next run because the deadline was near.
    pub transitions_deferred: usize,
    pub notifications_sent: usize,
    /// Notifications from earlier runs delivered by this one.
    pub notifications_retried: usize,
    /// Notifications that could not be published; they stay pending for the next run.
    pub notifications_pending: usize,
    /// Of the notifications sent and retried, the grouped ones (storm control): each is one
    /// message for many transitions of one route server.
    pub grouped_notifications: usize,
    /// Transitions recorded by this run that a grouped message covers.
    pub transitions_grouped: usize,
    /// With `PEER_LOGS=auto`: discovered peers whose logging this run turned on.
    pub peer_logs_enabled: usize,
    pub dry_run: bool,
    pub duration_ms: u64,
    /// In a dry run, what would have been recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detected: Vec<Detected>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Detected {
    pub route_server_peer_id: String,
    pub kind: String,
    pub event: String,
    pub severity: String,
    pub notify: bool,
    pub changes: Vec<FieldChange>,
}

impl Detected {
    /// What a dry run reports of an endpoint's, route server's, route's or advertisement's
    /// transition; `routeServerPeerId` holds its key value.
    pub fn of_fabric(t: &FabricTransition) -> Detected {
        Detected {
            route_server_peer_id: t.key(),
            kind: t.kind.to_string(),
            event: t.event.to_string(),
            severity: t.severity.to_string(),
            notify: t.notification == NotificationState::Pending,
            changes: t.changes.clone(),
        }
    }

    /// What a dry run reports of one transition.
    pub fn of(tr: &Transition) -> Detected {
        Detected {
            route_server_peer_id: tr.peer_id().to_string(),
            kind: tr.kind.to_string(),
            event: tr.event.to_string(),
            severity: tr.severity.to_string(),
            notify: tr.notification == NotificationState::Pending,
            changes: tr.changes.clone(),
        }
    }
}
