//! peerwatch's pure core: (last known states, what EC2 shows now) -> transitions, alerts and
//! the messages that carry them. It knows nothing of AWS and does no I/O, so it carries most of
//! the unit tests; `peerwatch-aws` feeds it and stores what it decides.
//!
//! - [`model`]: peers, records, transitions, and their enums;
//! - [`ids`]: the parsed AWS ids a user can name (route server, endpoint, peer);
//! - [`detect`]: health, severity, events and the alert rules (flapping, reminders, mutes);
//! - [`ack`]: an operator acknowledging an open alert (its reminders stop);
//! - [`fabric`]: beyond sessions: endpoints, route servers, routes and what each peer
//!   advertises, and their detection;
//! - [`mute`]: maintenance mutes and their targets;
//! - [`peer_logs`]: route server peer log records, parsed and applied between polls;
//! - [`render`]: one transition's notification (text, chat, event JSON);
//! - [`doctor`]: `peerwatch doctor`'s verdicts on a deployment, and SNS filter policies;
//! - [`storm`]: storm control, grouping many alerts of one route server into one message;
//! - [`summary`]: what one poll cycle did;
//! - [`metrics`]: the cycle's CloudWatch Embedded Metric Format documents;
//! - [`history`]: a recorded transition read back, and questions to the history;
//! - [`report`]: availability, outages and time to recover over a window;
//! - [`duration`]: spans of time as people read them.

pub mod ack;
pub mod detect;
pub mod doctor;
pub mod duration;
pub mod fabric;
pub mod history;
pub mod ids;
pub mod metrics;
pub mod model;
pub mod mute;
pub mod peer_logs;
pub mod render;
pub mod report;
pub mod storm;
pub mod summary;

#[cfg(test)]
mod testing;

/// An error and its causes on one line, for logs and messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
