//! The notifications of endpoints, route servers, routes and advertisements: the same three
//! forms as a peer's (text, chat, event JSON), in the same envelope.
//!
//! Chat threads: one per endpoint (its id), one per route server and prefix
//! (`rs-.../0.0.0.0/0`), the route server's own for persisted routes, and the peer's for
//! what it advertises, so `peer.no-routes` lands beside that peer's session alerts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{
    ChatContent, ChatMetadata, ChatNotification, EVENT_SCHEMA_VERSION, Envelope, Notification,
    code, event_phrase, sanitise_subject, severity_icon, severity_label, to_json,
};
use crate::duration::humanise;
use crate::fabric::{Detail, FabricRecord, FabricTransition, NextHop, Subject};
use crate::model::{Event, FieldChange, Health, Severity, Timestamp, TransitionKind};

/// Renders the notification of one fabric transition.
pub fn render_fabric(t: &FabricTransition) -> Notification {
    let text = plain_text(t);
    let event = fabric_event_json(t);
    let message = Envelope {
        default: &text,
        email: &text,
        https: &chat_json(t),
        sqs: &event,
        lambda: &event,
        email_json: &event,
    };
    Notification {
        subject: sanitise_subject(&format!("[{}] {}", severity_label(t.severity), summary(t))),
        message: to_json(&message),
        attributes: attributes(t),
    }
}

/// The event JSON, version 1, of a fabric transition:
///
/// ```json
/// {"schemaVersion": "1", "event": "route.failover", "severity": "warning", "kind": "changed",
///  "subject": "route", "key": "route#rs-...#0.0.0.0/0",
///  "routeServerId": "rs-...", "vpcId": "vpc-...", "observedAt": "2026-11-25T19:05:00.123Z",
///  "prefix": "0.0.0.0/0",
///  "from": {"routeServerPeerId": "rsp-a...", "nextHopIp": "10.0.1.5"},
///  "to": {"routeServerPeerId": "rsp-b...", "nextHopIp": "10.0.2.5"},
///  "routeTableId": null, "reason": null, "failureReason": null,
///  "routeServerEndpointId": "rse-...", "routeServerPeerId": null,
///  "routeTables": ["rtb-..."], "prefixes": [],
///  "changes": [{"field": "RouteServerPeerId", "from": "rsp-a...", "to": "rsp-b..."}],
///  "health": {"from": "healthy", "to": "healthy"},
///  "previousObservedAt": "...", "previousDurationSeconds": 600, "version": 3,
///  "record": {"subject": {"type": "route", "...": "..."}, "...": "the PeerState item"}}
/// ```
///
/// Every key is always there (`null` or `[]` when it does not apply). `(key, version)`
/// identifies the transition, for consumers to deduplicate on.
pub fn fabric_event_json(t: &FabricTransition) -> String {
    to_json(&event_v1(t))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FabricEventV1<'a> {
    schema_version: &'static str,
    event: Event,
    severity: Severity,
    kind: TransitionKind,
    subject: &'static str,
    key: String,
    route_server_id: &'a str,
    vpc_id: &'a str,
    observed_at: Timestamp,
    prefix: &'a Option<String>,
    from: &'a Option<NextHop>,
    to: &'a Option<NextHop>,
    route_table_id: &'a Option<String>,
    reason: &'a Option<String>,
    failure_reason: &'a Option<String>,
    route_server_endpoint_id: &'a Option<String>,
    route_server_peer_id: &'a Option<String>,
    route_tables: &'a [String],
    prefixes: &'a [String],
    changes: &'a [FieldChange],
    health: HealthChange,
    previous_observed_at: Option<Timestamp>,
    previous_duration_seconds: Option<i64>,
    version: u64,
    record: &'a FabricRecord,
}

#[derive(Serialize)]
struct HealthChange {
    from: Option<Health>,
    to: Health,
}

fn event_v1(t: &FabricTransition) -> FabricEventV1<'_> {
    let d: &Detail = &t.detail;
    let s = &t.record.subject;
    FabricEventV1 {
        schema_version: EVENT_SCHEMA_VERSION,
        event: t.event,
        severity: t.severity,
        kind: t.kind,
        subject: s.type_name(),
        key: t.key(),
        route_server_id: s.route_server_id(),
        vpc_id: s.vpc_id(),
        observed_at: t.observed_at,
        prefix: &d.prefix,
        from: &d.from,
        to: &d.to,
        route_table_id: &d.route_table_id,
        reason: &d.reason,
        failure_reason: &d.failure_reason,
        route_server_endpoint_id: &d.route_server_endpoint_id,
        route_server_peer_id: &d.route_server_peer_id,
        route_tables: &d.route_tables,
        prefixes: &d.prefixes,
        changes: &t.changes,
        health: HealthChange {
            from: t.health_from,
            to: t.health_to,
        },
        previous_observed_at: t.previous_observed_at,
        previous_duration_seconds: t.previous_duration_seconds,
        version: t.version(),
        record: &t.record,
    }
}

fn attributes(t: &FabricTransition) -> Vec<(String, String)> {
    let s = &t.record.subject;
    let d = &t.detail;
    [
        ("severity", Some(t.severity.as_str())),
        ("event", Some(t.event.as_str())),
        ("routeServerId", Some(s.route_server_id())),
        ("vpcId", Some(s.vpc_id())),
        (
            "routeServerEndpointId",
            d.route_server_endpoint_id.as_deref(),
        ),
        ("routeServerPeerId", d.route_server_peer_id.as_deref()),
        ("prefix", d.prefix.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value?)))
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// The chat thread: one per endpoint, per (route server, prefix), per route server, per peer.
fn thread_id(t: &FabricTransition) -> String {
    match &t.record.subject {
        Subject::Endpoint(e) => e.route_server_endpoint_id.clone(),
        Subject::RouteServer(r) => r.route_server_id.clone(),
        Subject::Route(r) => format!("{}/{}", r.route_server_id, r.prefix),
        Subject::PeerRoutes(p) => p.route_server_peer_id.clone(),
    }
}

fn hop(h: &Option<NextHop>) -> String {
    h.as_ref().map_or_else(
        || "nothing".to_string(),
        |h| format!("{} ({})", h.route_server_peer_id, h.next_hop_ip),
    )
}

/// One line that says what happened: the subject line without its severity, the chat summary.
fn summary(t: &FabricTransition) -> String {
    let d = &t.detail;
    let s = &t.record.subject;
    let rs = s.route_server_id();
    let what = match (t.kind, t.event) {
        (TransitionKind::Reminder, e) => format!(
            "still {} after {}",
            event_phrase(e),
            humanise(
                t.record
                    .alerting
                    .alerted_at
                    .map_or(0, |a| t.observed_at.seconds_since(a))
            )
        ),
        (TransitionKind::Settled, _) => format!("settled, {}", t.health_to),
        (TransitionKind::Unmuted, e) => format!("{} (mute ended)", event_phrase(e)),
        (_, Event::RouteFailover) => format!("failed over {} -> {}", hop(&d.from), hop(&d.to)),
        (_, Event::RoutesPersisted) => format!(
            "routes persisted: every session down, {} prefixes kept",
            d.prefixes.len()
        ),
        (_, e) => event_phrase(e).to_string(),
    };
    let first_seen = if t.kind == TransitionKind::Discovered
        && matches!(t.severity, Severity::Critical | Severity::Warning)
    {
        " when first seen"
    } else {
        ""
    };
    match s {
        Subject::Endpoint(e) => {
            let reason = e
                .failure_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!(
                "endpoint {} {what}{first_seen}{reason}",
                e.route_server_endpoint_id
            )
        }
        Subject::RouteServer(_) => format!("{rs} {what}{first_seen}"),
        Subject::Route(r) => format!("{rs} {} {what}{first_seen}", r.prefix),
        Subject::PeerRoutes(p) => {
            format!("{} {what}{first_seen} ({rs})", p.route_server_peer_id)
        }
    }
}

fn next_steps(t: &FabricTransition, markdown: bool) -> Vec<String> {
    let s = &t.record.subject;
    let rs = s.route_server_id();
    let wrap = |c: String| if markdown { code(&c) } else { c };
    let mut steps = vec![format!(
        "Where its traffic goes now: {}",
        wrap(format!("peerwatch routes --route-server {rs}"))
    )];
    match s {
        Subject::Route(r) => steps.push(format!(
            "This prefix's history: {}",
            wrap(format!(
                "peerwatch history --route-server {rs} --prefix {}",
                r.prefix
            ))
        )),
        Subject::PeerRoutes(p) => steps.push(format!(
            "The peer's history: {}",
            wrap(format!(
                "peerwatch history --peer {}",
                p.route_server_peer_id
            ))
        )),
        _ => steps.push(format!(
            "The route server's history: {}",
            wrap(format!("peerwatch history --route-server {rs}"))
        )),
    }
    if t.event == Event::RoutesPersisted {
        steps.push("The VPC forwards on the last routes it had, towards appliances that may be down: check the peers' sessions first.".into());
    }
    steps
}

fn detail_lines(t: &FabricTransition, markdown: bool) -> Vec<String> {
    let d = &t.detail;
    let s = &t.record.subject;
    let c = |v: &str| if markdown { code(v) } else { v.to_string() };
    let mut lines = vec![format!(
        "Route server {}, VPC {}",
        c(s.route_server_id()),
        c(s.vpc_id())
    )];
    if let Some(p) = &d.prefix {
        lines.push(format!("Prefix {}", c(p)));
    }
    if d.from.is_some() || d.to.is_some() {
        lines.push(format!("Next hop: {} -> {}", hop(&d.from), hop(&d.to)));
    }
    if let Some(id) = &d.route_table_id {
        let reason = d
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        lines.push(format!("Route table {}{reason}", c(id)));
    }
    if !d.route_tables.is_empty() {
        lines.push(format!("Route tables: {}", d.route_tables.join(", ")));
    }
    if !d.prefixes.is_empty() {
        lines.push(format!("Prefixes kept: {}", d.prefixes.join(", ")));
    }
    if let Some(e) = &d.route_server_endpoint_id {
        lines.push(format!("Endpoint {}", c(e)));
    }
    if let Some(p) = &d.route_server_peer_id {
        lines.push(format!("Peer {}", c(p)));
    }
    if let Some(r) = &d.failure_reason {
        lines.push(format!("Failure reason: {}", r.replace('\n', " ")));
    }
    for ch in &t.changes {
        let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        lines.push(match (&ch.from, t.kind) {
            (None, TransitionKind::Discovered) => format!("{}: {}", ch.field, v(&ch.to)),
            (from, _) => format!("{}: {} -> {}", ch.field, v(from), v(&ch.to)),
        });
    }
    if let (Some(since), Some(secs)) = (t.previous_observed_at, t.previous_duration_seconds) {
        lines.push(format!(
            "Previous status ({}) since {since}, for {}",
            t.health_from.map_or("none", |h| h.as_str()),
            humanise(secs)
        ));
    }
    lines.push(format!("Observed at {}", t.observed_at));
    lines
}

fn plain_text(t: &FabricTransition) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", severity_label(t.severity), summary(t));
    let _ = writeln!(out);
    for line in detail_lines(t, false) {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Next steps:");
    for step in next_steps(t, false) {
        let _ = writeln!(out, "  - {step}");
    }
    out
}

fn chat_json(t: &FabricTransition) -> String {
    let s = &t.record.subject;
    let d = &t.detail;
    let mut related: Vec<String> = [
        Some(s.route_server_id().to_string()),
        d.route_server_endpoint_id.clone(),
        d.route_server_peer_id.clone(),
        d.from.as_ref().map(|h| h.route_server_peer_id.clone()),
        d.to.as_ref().map(|h| h.route_server_peer_id.clone()),
        Some(s.vpc_id().to_string()),
    ]
    .into_iter()
    .flatten()
    .chain(d.route_tables.iter().cloned())
    .filter(|r| !r.is_empty())
    .collect();
    related.dedup();
    let mut context = BTreeMap::new();
    context.insert("severity", t.severity.as_str().to_string());
    context.insert("event", t.event.as_str().to_string());
    context.insert("routeServerId", s.route_server_id().to_string());
    context.insert("vpcId", s.vpc_id().to_string());
    if let Some(p) = &d.prefix {
        context.insert("prefix", p.clone());
    }
    context.insert("observedAt", t.observed_at.to_string());
    context.retain(|_, v| !v.is_empty());
    let thread = thread_id(t);
    to_json(&ChatNotification {
        version: "1.0",
        source: "custom",
        id: format!("{}/{}", t.key(), t.version()),
        content: ChatContent {
            text_type: "client-markdown",
            title: format!(
                "{} {}: {}",
                severity_icon(t.severity),
                severity_label(t.severity),
                summary(t)
            ),
            description: detail_lines(t, true).join("\n"),
            next_steps: next_steps(t, true),
            keywords: [t.severity.as_str(), t.event.as_str(), s.route_server_id()]
                .into_iter()
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect(),
        },
        metadata: ChatMetadata {
            thread_id: &thread,
            summary: summary(t),
            event_type: t.event.as_str(),
            related_resources: related.iter().map(String::as_str).collect(),
            additional_context: context,
        },
    })
}
