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
    ChatContent, ChatMetadata, ChatNotification, EVENT_SCHEMA_VERSION, Envelope,
    MAX_GROUP_CHAT_LISTED, MAX_GROUP_LISTED, MAX_GROUP_MESSAGE_BYTES, Notification, ack_line,
    ack_phrase, code, event_phrase, sanitise_subject, severity_icon, severity_label, to_json,
};
use crate::duration::humanise;
use crate::fabric::{Detail, FabricRecord, FabricTransition, NextHop, Subject};
use crate::model::{Event, FieldChange, Health, Severity, Timestamp, TransitionKind};
use crate::storm::{GroupKind, routing_group_id};

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
pub fn thread_id(t: &FabricTransition) -> String {
    match &t.record.subject {
        Subject::Endpoint(e) => e.route_server_endpoint_id.clone(),
        Subject::RouteServer(r) => r.route_server_id.clone(),
        Subject::Route(r) => format!("{}/{}", r.route_server_id, r.prefix),
        Subject::PeerRoutes(p) => p.route_server_peer_id.clone(),
    }
}

fn next_hop_ip(h: &Option<NextHop>) -> &str {
    h.as_ref().map_or("nothing", |h| h.next_hop_ip.as_str())
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
        (TransitionKind::Acknowledged, _) => ack_phrase(t.record.alerting.acked.as_ref()),
        // Next hops, not peer ids: the subject keeps to 99 characters, and the body names both.
        (_, Event::RouteFailover) => format!(
            "failed over {} -> {}",
            next_hop_ip(&d.from),
            next_hop_ip(&d.to)
        ),
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
    if t.kind == TransitionKind::Acknowledged {
        lines.push(ack_line(
            t.record.open_alert,
            t.record.alerting.acked.as_ref(),
        ));
    }
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

/// One message for many routing alerts (or recoveries, or reminders) of one route server in
/// one cycle: storm control, as for peers ([`super::render_group`]), in a message of its own.
///
/// - subject: `[CRITICAL] rs-0a1b2c3d4e5f60718 12 routing alerts (route.lost 10, endpoint.failed 2)`;
/// - `default`/`email`: one line per member, up to [`MAX_GROUP_LISTED`];
/// - `https`: a chat notification in the route server's thread, up to
///   [`MAX_GROUP_CHAT_LISTED`] members;
/// - `sqs`/`lambda`/`email-json`: `{"schemaVersion": "1", "event": "route-server.storm",
///   "severity", "groupId", "groupKind", "routeServerId", "vpcId", "observedAt", "threshold",
///   "eventCount", "eventsOmitted", "events": [each member's own event JSON]}`.
pub fn render_fabric_group(
    route_server_id: &str,
    members: &[&FabricTransition],
    threshold: u32,
) -> Notification {
    let mut members: Vec<&FabricTransition> = members.to_vec();
    members.sort_by_key(|t| (std::cmp::Reverse(t.severity.rank()), t.key()));
    let first = members[0];
    let kind = GroupKind::of_kind(first.kind, first.severity).unwrap_or(GroupKind::Alerts);
    let id = routing_group_id(route_server_id, kind, first.observed_at);
    let severity = members
        .iter()
        .map(|t| t.severity)
        .max_by_key(|s| s.rank())
        .unwrap_or(first.severity);
    let vpc_id = first.record.subject.vpc_id();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &members {
        *counts.entry(t.event.as_str()).or_default() += 1;
    }
    let breakdown: Vec<String> = counts.iter().map(|(e, n)| format!("{e} {n}")).collect();
    let what = match kind {
        GroupKind::Alerts => "routing alerts",
        GroupKind::Recoveries => "routing recoveries",
        GroupKind::Reminders => "routing reminders",
    };
    let subject = sanitise_subject(&format!(
        "[{}] {route_server_id} {} {what} ({})",
        severity_label(severity),
        members.len(),
        breakdown.join(", ")
    ));
    let lines: Vec<String> = members.iter().map(|t| summary(t)).collect();
    let chat_listed = lines.len().min(MAX_GROUP_CHAT_LISTED);
    let mut chat_lines = vec![format!(
        "Route server {}, VPC {}",
        code(route_server_id),
        code(vpc_id)
    )];
    chat_lines.extend(lines[..chat_listed].iter().cloned());
    if lines.len() > chat_listed {
        chat_lines.push(format!(
            "... and {} more (all are in the email and the event JSON)",
            lines.len() - chat_listed
        ));
    }
    chat_lines.push(format!(
        "Grouped by storm control: more than {threshold} {} in one poll",
        kind.as_str()
    ));
    let related: Vec<&str> = [route_server_id, vpc_id]
        .into_iter()
        .filter(|r| !r.is_empty())
        .collect();
    let mut context = BTreeMap::new();
    context.insert("severity", severity.as_str().to_string());
    context.insert("event", Event::RouteServerStorm.as_str().to_string());
    context.insert("routeServerId", route_server_id.to_string());
    context.insert("vpcId", vpc_id.to_string());
    context.insert("groupId", id.clone());
    context.insert("observedAt", first.observed_at.to_string());
    context.retain(|_, v| !v.is_empty());
    let title = format!(
        "{} {}: {route_server_id}: {} {what}",
        severity_icon(severity),
        severity_label(severity),
        members.len()
    );
    let chat = to_json(&ChatNotification {
        version: "1.0",
        source: "custom",
        id: id.clone(),
        content: ChatContent {
            text_type: "client-markdown",
            title,
            description: chat_lines.join("\n"),
            next_steps: vec![format!(
                "Where traffic goes now: {}",
                code(&format!(
                    "peerwatch routes --route-server {route_server_id}"
                ))
            )],
            keywords: [
                severity.as_str(),
                Event::RouteServerStorm.as_str(),
                route_server_id,
            ]
            .into_iter()
            .map(str::to_string)
            .collect(),
        },
        metadata: ChatMetadata {
            thread_id: route_server_id,
            summary: format!("{route_server_id}: {} {what}", members.len()),
            event_type: Event::RouteServerStorm.as_str(),
            related_resources: related,
            additional_context: context,
        },
    });
    let mut text_listed = lines.len().min(MAX_GROUP_LISTED);
    let mut json_listed = text_listed;
    loop {
        let mut text = format!(
            "{}: {} {what} on {route_server_id}\n\n",
            severity_label(severity),
            members.len()
        );
        for line in &lines[..text_listed] {
            let _ = writeln!(text, "  - {line}");
        }
        if lines.len() > text_listed {
            let _ = writeln!(text, "  ... and {} more", lines.len() - text_listed);
        }
        let _ = writeln!(
            text,
            "\nGrouped by storm control: more than {threshold} {} in one poll.",
            kind.as_str()
        );
        let event = to_json(&FabricStormV1 {
            schema_version: EVENT_SCHEMA_VERSION,
            event: Event::RouteServerStorm,
            severity,
            group_id: &id,
            group_kind: kind,
            route_server_id,
            vpc_id,
            observed_at: first.observed_at,
            threshold,
            event_count: members.len(),
            events_omitted: members.len() - json_listed,
            events: members[..json_listed].iter().map(|t| event_v1(t)).collect(),
        });
        let message = to_json(&Envelope {
            default: &text,
            email: &text,
            https: &chat,
            sqs: &event,
            lambda: &event,
            email_json: &event,
        });
        let size = message.len();
        if size <= MAX_GROUP_MESSAGE_BYTES || (json_listed == 0 && text_listed == 0) {
            let attributes = [
                ("severity", severity.as_str()),
                ("event", Event::RouteServerStorm.as_str()),
                ("routeServerId", route_server_id),
                ("vpcId", vpc_id),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            return Notification {
                subject,
                message,
                attributes,
            };
        }
        // Shrink in proportion to the excess, the event JSON (three copies) first.
        let shrink = |n: usize| (n * MAX_GROUP_MESSAGE_BYTES / size).min(n - 1);
        if json_listed > 0 {
            json_listed = shrink(json_listed);
        } else {
            text_listed = shrink(text_listed);
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FabricStormV1<'a> {
    schema_version: &'static str,
    event: Event,
    severity: Severity,
    group_id: &'a str,
    group_kind: GroupKind,
    route_server_id: &'a str,
    vpc_id: &'a str,
    observed_at: Timestamp,
    threshold: u32,
    event_count: usize,
    events_omitted: usize,
    events: Vec<FabricEventV1<'a>>,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::Value;

    use super::*;
    use crate::detect::Rules;
    use crate::fabric::detect::detect;
    use crate::fabric::{EndpointSnapshot, Fabric, FibRoute, RouteSnapshot, RouteTableInstall};
    use crate::testing::at;

    const RS: &str = "rs-0a1b2c3d4e5f60718";

    fn route(prefix: &str, peer: &str) -> RouteSnapshot {
        RouteSnapshot {
            route_server_id: RS.into(),
            vpc_id: "vpc-1".into(),
            prefix: prefix.into(),
            fib: Some(FibRoute {
                route_server_peer_id: peer.into(),
                route_server_endpoint_id: "rse-1".into(),
                next_hop_ip: "10.0.1.5".into(),
                as_paths: vec!["65001".into()],
                med: None,
                route_tables: vec![RouteTableInstall {
                    route_table_id: "rtb-1".into(),
                    status: "installed".into(),
                    reason: None,
                }],
            }),
        }
    }

    /// The transitions of `then` after `first` was discovered.
    fn after(first: Fabric, then: Fabric) -> Vec<FabricTransition> {
        let rules = Rules::default();
        let known: HashMap<String, FabricRecord> = detect(&HashMap::new(), &first, at(0), &rules)
            .into_iter()
            .map(|t| (t.key(), t.record))
            .collect();
        detect(&known, &then, at(60), &rules)
    }

    fn envelope(n: &Notification) -> HashMap<String, String> {
        serde_json::from_str(&n.message).unwrap()
    }

    #[test]
    fn a_failover_renders_in_every_form_in_the_prefix_thread() {
        let first = Fabric {
            routes: vec![route("0.0.0.0/0", "rsp-a")],
            ..Default::default()
        };
        let then = Fabric {
            routes: vec![route("0.0.0.0/0", "rsp-b")],
            ..Default::default()
        };
        let t = &after(first, then)[0];
        let n = render_fabric(t);
        assert_eq!(
            n.subject,
            "[WARNING] rs-0a1b2c3d4e5f60718 0.0.0.0/0 failed over 10.0.1.5 -> 10.0.1.5"
        );
        assert!(n.subject.len() <= crate::render::MAX_SUBJECT_CHARS);
        let env = envelope(&n);
        assert_eq!(
            env.keys()
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>(),
            ["default", "email", "email-json", "https", "lambda", "sqs"].into()
        );
        assert!(
            env["default"].contains(
                "peerwatch history --route-server rs-0a1b2c3d4e5f60718 --prefix 0.0.0.0/0"
            )
        );
        let chat: Value = serde_json::from_str(&env["https"]).unwrap();
        assert_eq!(
            chat["metadata"]["threadId"],
            "rs-0a1b2c3d4e5f60718/0.0.0.0/0"
        );
        assert_eq!(chat["metadata"]["eventType"], "route.failover");
        let event: Value = serde_json::from_str(&env["sqs"]).unwrap();
        assert_eq!(event["from"]["routeServerPeerId"], "rsp-a");
        assert_eq!(event["to"]["routeServerPeerId"], "rsp-b");
        assert_eq!(
            event["routeTableId"],
            Value::Null,
            "absent values are null, not left out"
        );
        let attrs: HashMap<_, _> = n.attributes.iter().cloned().collect();
        assert_eq!(attrs["prefix"], "0.0.0.0/0");
        assert_eq!(attrs["event"], "route.failover");
        assert!(!attrs.contains_key("vpcId") || attrs["vpcId"] == "vpc-1");
    }

    #[test]
    fn an_endpoint_alert_is_in_the_endpoints_thread_with_its_reason() {
        let ep = |state: &str, reason: Option<&str>| EndpointSnapshot {
            route_server_endpoint_id: "rse-0a1b2c3d4e5f60718".into(),
            route_server_id: RS.into(),
            vpc_id: "vpc-1".into(),
            state: state.into(),
            failure_reason: reason.map(str::to_string),
            ..Default::default()
        };
        let first = Fabric {
            endpoints: vec![ep("available", None)],
            ..Default::default()
        };
        let then = Fabric {
            endpoints: vec![ep("failed", Some("ENI deleted"))],
            ..Default::default()
        };
        let n = render_fabric(&after(first, then)[0]);
        assert_eq!(
            n.subject,
            "[CRITICAL] endpoint rse-0a1b2c3d4e5f60718 failed (ENI deleted)"
        );
        let chat: Value = serde_json::from_str(&envelope(&n)["https"]).unwrap();
        assert_eq!(chat["metadata"]["threadId"], "rse-0a1b2c3d4e5f60718");
    }

    #[test]
    fn many_lost_routes_go_out_as_one_grouped_message() {
        let prefixes: Vec<String> = (0..12).map(|i| format!("10.{i}.0.0/16")).collect();
        let first = Fabric {
            routes: prefixes.iter().map(|p| route(p, "rsp-a")).collect(),
            ..Default::default()
        };
        let then = Fabric {
            route_servers: Vec::new(),
            routes: prefixes
                .iter()
                .map(|p| RouteSnapshot {
                    fib: None,
                    ..route(p, "rsp-a")
                })
                .collect(),
            ..Default::default()
        };
        let lost = after(first, then);
        assert_eq!(lost.len(), 12);
        let members: Vec<&FabricTransition> = lost.iter().collect();
        let n = render_fabric_group(RS, &members, 5);
        assert_eq!(
            n.subject,
            "[CRITICAL] rs-0a1b2c3d4e5f60718 12 routing alerts (route.lost 12)"
        );
        let event: Value = serde_json::from_str(&envelope(&n)["sqs"]).unwrap();
        assert_eq!(event["event"], "route-server.storm");
        assert_eq!(event["eventCount"], 12);
        assert_eq!(event["eventsOmitted"], 0);
        assert_eq!(event["events"].as_array().unwrap().len(), 12);
        assert_eq!(
            event["groupId"],
            format!("{RS}/routing-alerts@{}", at(60)).as_str()
        );
    }
}
