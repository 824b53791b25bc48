//! Notifications as they are published: one SNS `Publish` per notified transition
//! (docs/design.md, "Notifications"; the formats in docs/data-model.md).
//!
//! [`render`] turns a [`Transition`] into the subject, the `MessageStructure=json` document
//! and the message attributes; `peerwatch-aws` (module `publish`) sends them.
//!
//! The message document has one string per SNS protocol:
//!
//! | key | body |
//! |---|---|
//! | `default`, `email` | plain text for people |
//! | `https` | an Amazon Q Developer in chat applications custom notification (JSON text) |
//! | `sqs`, `lambda`, `email-json` | the event JSON, version 1 (see [`event_json`]) |
//!
//! Storm control: when one cycle has more notified transitions of one kind (alerts,
//! recoveries, reminders) for one route server than the storm threshold, [`render_group`]
//! renders one message for all of them instead (see [`storm_event_json`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::duration::humanise;
use crate::model::{
    Ack, Event, FieldChange, Health, PeerRecord, Severity, Timestamp, Transition, TransitionKind,
};
use crate::storm::{GroupKind, group_id};

mod fabric;
pub use fabric::{
    fabric_event_json, render_fabric, render_fabric_group, thread_id as fabric_thread_id,
};

/// The longest subject [`render`] produces. The contract allows 100; the SNS API reference says
/// "less than 100 characters", so one less satisfies both readings.
pub const MAX_SUBJECT_CHARS: usize = 99;

/// `schemaVersion` of the event JSON.
pub const EVENT_SCHEMA_VERSION: &str = "1";

/// Everything one `Publish` call needs, rendered from one transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// ASCII printable, no line breaks, at most [`MAX_SUBJECT_CHARS`] characters.
    pub subject: String,
    /// The `MessageStructure=json` document: a JSON object of strings keyed by protocol.
    pub message: String,
    /// Message attributes (SNS `DataType` `String`), in a fixed order; an attribute whose
    /// value would be empty is left out, because SNS rejects empty values.
    pub attributes: Vec<(String, String)>,
}

/// Renders the notification of one transition.
pub fn render(tr: &Transition) -> Notification {
    let text = plain_text(tr);
    let event = event_json(tr);
    let message = Envelope {
        default: &text,
        email: &text,
        https: &chat_json(tr),
        sqs: &event,
        lambda: &event,
        email_json: &event,
    };
    Notification {
        subject: subject(tr),
        message: to_json(&message),
        attributes: attributes(tr),
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    default: &'a str,
    email: &'a str,
    https: &'a str,
    sqs: &'a str,
    lambda: &'a str,
    #[serde(rename = "email-json")]
    email_json: &'a str,
}

/// Serialises plain data: string keys and infallible `Serialize` impls only.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("notification documents are plain data")
}

// ---------------------------------------------------------------------------------------
// Subject and attributes

/// `[CRITICAL] rsp-0a1b2c BGP down (fw-a, 10.0.1.5, AS65001)`. The `Name` tag gets only
/// the room the rest leaves (at most 40 characters, left out below 8), so a long name never
/// pushes the address and ASN out.
fn subject(tr: &Transition) -> String {
    let peer = &tr.record.peer;
    let mut head = format!(
        "[{}] {} {}",
        severity_label(tr.severity),
        tr.peer_id(),
        subject_phrase(tr)
    );
    if tr.kind == TransitionKind::Discovered && tr.event != Event::PeerDiscovered {
        head.push_str(" when first seen");
    }
    let mut context = Vec::new();
    if !peer.peer_address.is_empty() {
        context.push(peer.peer_address.clone());
    }
    if let Some(asn) = peer.peer_asn {
        context.push(format!("AS{asn}"));
    }
    let join = |context: &[String]| match context {
        [] => head.clone(),
        parts => format!("{head} ({})", parts.join(", ")),
    };
    if let Some(name) = peer
        .tags
        .get("Name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
    {
        let used = sanitise_subject(&join(&context)).chars().count();
        let separator = if context.is_empty() { 3 } else { 2 };
        let room = MAX_SUBJECT_CHARS.saturating_sub(used + separator).min(40);
        if room >= 8 {
            context.insert(0, truncate_chars(name, room).trim_end().to_string());
        }
    }
    sanitise_subject(&join(&context))
}

fn severity_label(severity: Severity) -> String {
    severity.as_str().to_ascii_uppercase()
}

/// What happened, for the subject and the summary line.
fn subject_phrase(tr: &Transition) -> String {
    let since_alert = tr
        .record
        .alerting
        .alerted_at
        .map_or(0, |t| tr.observed_at.seconds_since(t));
    match (tr.kind, tr.event) {
        (TransitionKind::Reminder, _) => {
            format!("still {} after {}", tr.health_to, humanise(since_alert))
        }
        (TransitionKind::Settled, _) => format!("settled, {}", tr.health_to),
        (TransitionKind::Unmuted, e) => format!("{} (mute ended)", event_phrase(e)),
        (TransitionKind::Acknowledged, _) => ack_phrase(tr.record.alerting.acked.as_ref()),
        (_, e) => event_phrase(e).to_string(),
    }
}

/// `acknowledged by OnCall/alice: on it`: the note's words, for every subject.
pub(crate) fn ack_phrase(ack: Option<&Ack>) -> String {
    match ack {
        Some(Ack {
            by,
            reason: Some(reason),
            ..
        }) => format!("acknowledged by {by}: {}", reason.replace('\n', " ")),
        Some(a) => format!("acknowledged by {}", a.by),
        None => "acknowledged".to_string(),
    }
}

/// What an acknowledgement note says it does, for every subject.
pub(crate) fn ack_line(open_alert: Option<Severity>, ack: Option<&Ack>) -> String {
    let alert = open_alert.map_or("open", |s| s.as_str());
    let at = ack.map_or(String::new(), |a| format!(" at {}", a.at));
    format!(
        "The {alert} alert is {}{at}: its reminders stop until it ends. Its recovery is \
         still sent; a new alert after it is not acknowledged.",
        ack_phrase(ack)
    )
}

pub(crate) fn event_phrase(event: Event) -> &'static str {
    match event {
        Event::PeerFailed => "failed",
        Event::PeerFailing => "failing",
        Event::PeerRecovered => "recovered",
        Event::PeerVanished => "vanished from the listing",
        Event::PeerDiscovered => "discovered",
        Event::BgpDown => "BGP down",
        Event::BgpUp => "BGP up",
        Event::BfdDown => "BFD down",
        Event::BfdUp => "BFD up",
        Event::PeerChanged => "changed",
        Event::PeerFlapping => "flapping",
        Event::PeerSettled => "settled",
        Event::PeerReminder => "still unwell",
        Event::RouteServerStorm => "many peers down",
        Event::EndpointFailed => "failed",
        Event::EndpointFailing => "failing",
        Event::EndpointDeleteFailed => "delete failed",
        Event::EndpointRecovered => "recovered",
        Event::EndpointDiscovered | Event::RouteServerDiscovered | Event::RouteDiscovered => {
            "discovered"
        }
        Event::EndpointChanged | Event::RouteServerChanged | Event::RouteChanged => "changed",
        Event::EndpointVanished | Event::RouteServerVanished | Event::RouteVanished => "vanished",
        Event::EndpointFlapping
        | Event::RouteServerFlapping
        | Event::RouteFlapping
        | Event::PeerRoutesFlapping => "flapping",
        Event::RoutesPersisted => "routes persisted: every session down",
        Event::RoutesUnpersisted => "routes no longer persisted",
        Event::RouteFailover => "failed over",
        Event::RouteLost => "lost: no route in the FIB",
        Event::RouteRestored => "restored",
        Event::RouteRejected => "rejected by a route table",
        Event::RouteInstalled => "installed again",
        Event::PeerNoRoutes => "advertises no routes",
        Event::PeerRoutesRestored => "advertises routes again",
        Event::PeerRoutesDiscovered => "advertises routes",
        Event::PeerRoutesChanged => "advertises other routes",
        Event::PeerRoutesVanished => "advertisement gone",
        Event::PeerRoutesLogged => "advertised, updated or withdrew routes",
        Event::AlertAcknowledged => "acknowledged",
    }
}

/// Makes `raw` a valid SNS subject: printable ASCII only (other characters become `?`,
/// line breaks, tabs and other whitespace a single space), no leading or trailing space,
/// never empty, and at most [`MAX_SUBJECT_CHARS`] characters (cut ones end in `...`).
fn sanitise_subject(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(MAX_SUBJECT_CHARS));
    for c in raw.chars() {
        let c = match c {
            c if c.is_ascii_graphic() => c,
            c if c.is_whitespace() || c.is_control() => ' ',
            _ => '?',
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_end();
    let out = if out.is_empty() {
        "peerwatch notification"
    } else {
        out
    };
    // Everything is ASCII now, so characters and bytes coincide; count chars regardless.
    if out.chars().count() <= MAX_SUBJECT_CHARS {
        return out.to_string();
    }
    let mut cut = truncate_chars(out, MAX_SUBJECT_CHARS - 3);
    cut.truncate(cut.trim_end().len());
    cut.push_str("...");
    cut
}

/// The first `max` characters of `s` (never splits a character).
fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_string(),
        None => s.to_string(),
    }
}

fn attributes(tr: &Transition) -> Vec<(String, String)> {
    let peer = &tr.record.peer;
    [
        ("severity", tr.severity.as_str()),
        ("event", tr.event.as_str()),
        ("routeServerPeerId", peer.route_server_peer_id.as_str()),
        ("routeServerId", peer.route_server_id.as_str()),
        ("vpcId", peer.vpc_id.as_str()),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

// ---------------------------------------------------------------------------------------
// Event JSON, version 1

/// The event JSON, version 1, as `sqs`, `lambda` and `email-json` subscribers receive it:
///
/// ```json
/// {"schemaVersion": "1", "event": "bgp.down", "severity": "critical", "kind": "changed",
///  "routeServerPeerId": "rsp-...", "routeServerId": "rs-...", "vpcId": "vpc-...",
///  "observedAt": "2026-11-25T19:05:00.123Z",
///  "changes": [{"field": "BgpStatus", "from": "up", "to": "down"}],
///  "health": {"from": "healthy", "to": "down"},
///  "previousObservedAt": "2026-11-25T16:00:00.000Z", "previousDurationSeconds": 11100,
///  "version": 7,
///  "peer": {"routeServerPeerId": "rsp-...", "...": "every PeerState attribute"}}
/// ```
///
/// Absent values are always written as JSON `null`, never omitted: every key above is in
/// every event (`changes` is `[]` for a vanished peer). That includes `from` of each change
/// of a discovered peer, `health.from` when there was no previous present state,
/// `previousObservedAt`/`previousDurationSeconds` of a first discovery, and
/// `peer.failureReason`, `peer.peerAsn`, `peer.bgpStatus`, `peer.bfdStatus` when EC2 did not
/// report them. `peer` also carries `health` and `openAlert` (the alert awaiting its
/// recovery, or `null`). Enum-like values are EC2's raw strings, unknown ones included.
/// `(routeServerPeerId, version)` identifies the transition: delivery is at least once, so
/// consumers deduplicate on it.
pub fn event_json(tr: &Transition) -> String {
    to_json(&event_v1(tr))
}

/// The event JSON of one transition, as data (a grouped message lists one per peer).
fn event_v1(tr: &Transition) -> EventV1<'_> {
    let peer = &tr.record.peer;
    EventV1 {
        schema_version: EVENT_SCHEMA_VERSION,
        event: tr.event,
        severity: tr.severity,
        kind: tr.kind,
        route_server_peer_id: &peer.route_server_peer_id,
        route_server_id: &peer.route_server_id,
        vpc_id: &peer.vpc_id,
        observed_at: tr.observed_at,
        changes: &tr.changes,
        health: HealthChange {
            from: tr.health_from,
            to: tr.health_to,
        },
        previous_observed_at: tr.previous_observed_at,
        previous_duration_seconds: tr.previous_duration_seconds,
        version: tr.version(),
        peer: &tr.record,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventV1<'a> {
    schema_version: &'static str,
    event: Event,
    severity: Severity,
    kind: TransitionKind,
    route_server_peer_id: &'a str,
    route_server_id: &'a str,
    vpc_id: &'a str,
    observed_at: Timestamp,
    changes: &'a [FieldChange],
    health: HealthChange,
    previous_observed_at: Option<Timestamp>,
    previous_duration_seconds: Option<i64>,
    version: u64,
    peer: &'a PeerRecord,
}

#[derive(Serialize)]
struct HealthChange {
    from: Option<Health>,
    to: Health,
}

// ---------------------------------------------------------------------------------------
// Amazon Q Developer in chat applications

/// The custom-notification JSON of Amazon Q Developer in chat applications (formerly AWS
/// Chatbot), "Custom notifications using Amazon Q Developer in chat applications",
/// <https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html>. Only fields
/// that page defines are used. `metadata.threadId` is the peer id, so an alert and its
/// recovery land in one thread.
fn chat_json(tr: &Transition) -> String {
    let peer = &tr.record.peer;
    let related_resources = [
        peer.route_server_peer_id.as_str(),
        &peer.route_server_id,
        &peer.route_server_endpoint_id,
        &peer.vpc_id,
        &peer.subnet_id,
        &peer.endpoint_eni_id,
    ]
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect();
    let keywords = [
        tr.severity.as_str(),
        tr.event.as_str(),
        &peer.route_server_id,
        &peer.vpc_id,
    ]
    .into_iter()
    .filter(|k| !k.is_empty())
    .map(str::to_string)
    .collect();
    let mut context = BTreeMap::new();
    context.insert("severity", tr.severity.as_str().to_string());
    context.insert("event", tr.event.as_str().to_string());
    context.insert("routeServerPeerId", peer.route_server_peer_id.clone());
    context.insert("routeServerId", peer.route_server_id.clone());
    context.insert("vpcId", peer.vpc_id.clone());
    context.insert("peerAddress", peer.peer_address.clone());
    if let Some(asn) = peer.peer_asn {
        context.insert("peerAsn", asn.to_string());
    }
    context.insert("observedAt", tr.observed_at.to_string());
    context.retain(|_, v| !v.is_empty());

    to_json(&ChatNotification {
        version: "1.0",
        source: "custom",
        id: format!("{}/{}", tr.peer_id(), tr.version()),
        content: ChatContent {
            text_type: "client-markdown",
            title: format!(
                "{} {}: {}",
                severity_icon(tr.severity),
                severity_label(tr.severity),
                headline(tr)
            ),
            description: chat_description(tr),
            next_steps: next_steps(tr, true),
            keywords,
        },
        metadata: ChatMetadata {
            thread_id: tr.peer_id(),
            summary: summary(tr),
            event_type: tr.event.as_str(),
            related_resources,
            additional_context: context,
        },
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatNotification<'a> {
    version: &'static str,
    source: &'static str,
    id: String,
    content: ChatContent,
    metadata: ChatMetadata<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatContent {
    text_type: &'static str,
    title: String,
    description: String,
    next_steps: Vec<String>,
    keywords: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChatMetadata<'a> {
    thread_id: &'a str,
    summary: String,
    event_type: &'static str,
    related_resources: Vec<&'a str>,
    additional_context: BTreeMap<&'static str, String>,
}

fn severity_icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "\u{1F534}",    // red circle
        Severity::Warning => "\u{1F7E0}",     // orange circle
        Severity::Recovery => "\u{2705}",     // check mark
        Severity::Info => "\u{2139}\u{FE0F}", // information
    }
}

/// Inline code for chat markdown; a backtick inside would end the span early.
fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'"))
}

fn chat_description(tr: &Transition) -> String {
    let peer = &tr.record.peer;
    let mut lines = Vec::new();
    lines.push(format!(
        "Peer {} in route server {}, VPC {}",
        code(tr.peer_id()),
        code(&peer.route_server_id),
        code(&peer.vpc_id)
    ));
    lines.push(format!("Neighbour {}", peer_label(tr, true)));
    if !peer.route_server_endpoint_id.is_empty() {
        let mut endpoint = format!("Endpoint {}", code(&peer.route_server_endpoint_id));
        if !peer.endpoint_eni_address.is_empty() {
            let _ = write!(endpoint, " ({})", code(&peer.endpoint_eni_address));
        }
        lines.push(endpoint);
    }
    if let Some(line) = rule_line(tr) {
        lines.push(line);
    }
    for c in &tr.changes {
        lines.push(format!("{}: {}", c.field, change_text(tr, c, true)));
    }
    if tr.kind == TransitionKind::Vanished {
        lines.push(format!("Last known: {}", status_line(tr)));
    }
    if let Some(reason) = &peer.failure_reason {
        lines.push(format!("Failure reason: {}", reason.replace('\n', " ")));
    }
    if let Some(line) = previous_line(tr) {
        lines.push(line);
    }
    lines.push(format!("Observed at {}", tr.observed_at));
    lines.join("\n")
}

fn summary(tr: &Transition) -> String {
    let mut s = format!("{} {}", tr.peer_id(), subject_phrase(tr));
    if tr.kind == TransitionKind::Discovered && tr.event != Event::PeerDiscovered {
        s.push_str(" when first seen");
    }
    let label = peer_label(tr, false);
    if !label.is_empty() {
        let _ = write!(s, " ({label})");
    }
    s
}

// ---------------------------------------------------------------------------------------
// Plain text for email and SMS

fn plain_text(tr: &Transition) -> String {
    let peer = &tr.record.peer;
    let mut t = String::new();
    let _ = writeln!(t, "{}: {}", severity_label(tr.severity), headline(tr));
    let _ = writeln!(t);
    let _ = writeln!(t, "What changed (observed {}):", tr.observed_at);
    if let Some(line) = rule_line(tr) {
        let _ = writeln!(t, "  {line}");
    }
    if tr.changes.is_empty() && tr.kind == TransitionKind::Vanished {
        let _ = writeln!(
            t,
            "  The peer is no longer returned by DescribeRouteServerPeers, and it did not \
             pass through deleting/deleted first."
        );
        let _ = writeln!(t, "  Last known: {}", status_line(tr));
    }
    for c in &tr.changes {
        let _ = writeln!(t, "  {}: {}", c.field, change_text(tr, c, false));
    }
    if tr.kind != TransitionKind::Vanished {
        let _ = writeln!(
            t,
            "  Health: {} -> {}",
            tr.health_from.map_or("(none)", |h| h.as_str()),
            tr.health_to
        );
    }
    if let Some(reason) = &peer.failure_reason {
        let _ = writeln!(t, "  Failure reason: {reason}");
    }
    if let Some(line) = previous_line(tr) {
        let _ = writeln!(t, "  {line}");
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "Peer");
    let row = |t: &mut String, name: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(t, "  {name:<16}{value}");
        }
    };
    row(&mut t, "Peer id", &peer.route_server_peer_id);
    row(&mut t, "Peer address", &peer.peer_address);
    row(
        &mut t,
        "Peer ASN",
        &peer.peer_asn.map(|a| a.to_string()).unwrap_or_default(),
    );
    row(&mut t, "Liveness", &peer.peer_liveness_detection);
    row(&mut t, "Status", &status_line(tr));
    row(&mut t, "Route server", &peer.route_server_id);
    row(&mut t, "Endpoint", &peer.route_server_endpoint_id);
    let eni = match (
        peer.endpoint_eni_id.is_empty(),
        peer.endpoint_eni_address.is_empty(),
    ) {
        (false, false) => format!("{} ({})", peer.endpoint_eni_id, peer.endpoint_eni_address),
        (false, true) => peer.endpoint_eni_id.clone(),
        (true, _) => peer.endpoint_eni_address.clone(),
    };
    row(&mut t, "Endpoint ENI", &eni);
    row(&mut t, "VPC", &peer.vpc_id);
    row(&mut t, "Subnet", &peer.subnet_id);
    let tags = peer
        .tags
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    row(&mut t, "Tags", &tags);
    row(&mut t, "First seen", &tr.record.first_seen_at.to_string());
    row(&mut t, "Version", &tr.version().to_string());
    let _ = writeln!(t);
    let _ = writeln!(t, "Next steps");
    for step in next_steps(tr, false) {
        let _ = writeln!(t, "  - {step}");
    }
    t
}

/// One line per notified situation, e.g. "BGP session down on rsp-0a1b2c".
fn headline(tr: &Transition) -> String {
    let id = tr.peer_id();
    let first_seen = if tr.kind == TransitionKind::Discovered {
        " (first seen)"
    } else {
        ""
    };
    match tr.event {
        Event::PeerFailed => format!("route server peer {id} failed{first_seen}"),
        Event::PeerFailing => format!("route server peer {id} is failing{first_seen}"),
        Event::PeerRecovered => format!("route server peer {id} recovered"),
        Event::PeerVanished => format!("route server peer {id} vanished from the listing"),
        Event::PeerDiscovered => format!("new route server peer {id}"),
        Event::BgpDown => format!("BGP session down on {id}{first_seen}"),
        Event::BgpUp => format!("BGP session up on {id}"),
        Event::BfdDown => format!("BFD session down on {id}{first_seen}"),
        Event::BfdUp => format!("BFD session up on {id}"),
        Event::PeerChanged => format!("route server peer {id} changed"),
        Event::PeerFlapping => format!(
            "route server peer {id} is flapping ({} health changes); its alerts are held until it settles",
            tr.record.alerting.health_changes.len()
        ),
        Event::PeerSettled => format!(
            "route server peer {id} settled: {} for {}",
            tr.health_to,
            humanise(tr.previous_duration_seconds.unwrap_or(0))
        ),
        Event::PeerReminder => format!(
            "route server peer {id} is still {} after {}",
            tr.health_to,
            humanise(
                tr.record
                    .alerting
                    .alerted_at
                    .map_or(0, |t| tr.observed_at.seconds_since(t))
            )
        ),
        Event::RouteServerStorm => format!(
            "many peers of {} changed at once",
            tr.record.peer.route_server_id
        ),
        Event::AlertAcknowledged => format!(
            "the {} alert on {id} is {}",
            tr.record.open_alert.map_or("open", |s| s.as_str()),
            ack_phrase(tr.record.alerting.acked.as_ref())
        ),
        // Not a peer's event (render::fabric).
        e => format!("{id} {}", event_phrase(e)),
    }
}

/// `10.0.1.5, AS65001, "fw-a"` (markdown: with code spans).
fn peer_label(tr: &Transition, markdown: bool) -> String {
    let peer = &tr.record.peer;
    let mut parts = Vec::new();
    if !peer.peer_address.is_empty() {
        parts.push(if markdown {
            code(&peer.peer_address)
        } else {
            peer.peer_address.clone()
        });
    }
    if let Some(asn) = peer.peer_asn {
        parts.push(format!("AS{asn}"));
    }
    if let Some(name) = peer.tags.get("Name").filter(|n| !n.trim().is_empty()) {
        parts.push(format!("\"{}\"", name.trim()));
    }
    parts.join(", ")
}

/// `up -> down`; a discovered peer's values have no `from`.
fn change_text(tr: &Transition, c: &FieldChange, arrow: bool) -> String {
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not reported)".into());
    let sep = if arrow { " \u{2192} " } else { " -> " };
    match (&c.from, tr.kind) {
        (None, TransitionKind::Discovered) => value(&c.to),
        (from, _) => format!("{}{sep}{}", value(from), value(&c.to)),
    }
}

/// `available, BGP down, BFD up`.
fn status_line(tr: &Transition) -> String {
    let peer = &tr.record.peer;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    format!(
        "{}, BGP {}, BFD {}",
        if peer.state.is_empty() {
            "-"
        } else {
            &peer.state
        },
        or_dash(&peer.bgp_status),
        or_dash(&peer.bfd_status)
    )
}

/// For the notifications the alert rules send on their own (no field changed, or a change
/// that made the peer flapping): what the rule saw.
fn rule_line(tr: &Transition) -> Option<String> {
    let a = &tr.record.alerting;
    Some(match (tr.kind, tr.event) {
        (_, Event::PeerFlapping) => format!(
            "{} health changes since {}: the peer is flapping. Its alerts are held back \
             until it has been stable for the hold time; one message will say how it settled.",
            a.health_changes.len(),
            a.health_changes.first().map_or(tr.observed_at, |t| *t)
        ),
        (TransitionKind::Settled, _) => format!(
            "No health change for {}: the flapping has stopped, and the peer settled {}.",
            humanise(tr.previous_duration_seconds.unwrap_or(0)),
            tr.health_to
        ),
        (TransitionKind::Reminder, _) => format!(
            "Still {} since the alert at {} ({} ago); reminder {}.",
            tr.health_to,
            a.alerted_at.map_or(tr.observed_at, |t| t),
            humanise(a.alerted_at.map_or(0, |t| tr.observed_at.seconds_since(t))),
            a.reminders_sent
        ),
        (TransitionKind::Unmuted, _) => format!(
            "The mute on this peer has ended and it is still {}; its alerts were held back \
             while it was muted.",
            tr.health_to
        ),
        (TransitionKind::Acknowledged, _) => ack_line(tr.record.open_alert, a.acked.as_ref()),
        _ => return None,
    })
}

/// "Previous status (healthy) since 2026-11-25T16:00:00.000Z, for 3h 5m".
fn previous_line(tr: &Transition) -> Option<String> {
    let since = tr.previous_observed_at?;
    let status = tr
        .health_from
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Some(match tr.previous_duration_seconds {
        Some(secs) => format!(
            "Previous status{status} since {since}, for {}",
            humanise(secs)
        ),
        None => format!("Previous status{status} since {since}"),
    })
}

/// What an operator does next; the history command is always there.
fn next_steps(tr: &Transition, markdown: bool) -> Vec<String> {
    let peer = &tr.record.peer;
    let fmt = |s: String| if markdown { code(&s) } else { s };
    let history = fmt(format!("peerwatch history --peer {}", tr.peer_id()));
    let describe = fmt(format!(
        "aws ec2 describe-route-server-peers --route-server-peer-ids {}",
        tr.peer_id()
    ));
    let neighbour = if peer.peer_address.is_empty() {
        "the peer appliance".to_string()
    } else {
        format!("the appliance at {}", peer.peer_address)
    };
    let endpoint = if peer.endpoint_eni_address.is_empty() {
        "the route server endpoint".to_string()
    } else {
        format!("the route server endpoint {}", peer.endpoint_eni_address)
    };
    let mut steps = Vec::new();
    match tr.event {
        Event::BgpDown => steps.push(format!(
            "Check the BGP session on {neighbour}: is it up and configured for {endpoint}, \
             and is TCP 179 allowed by its security group and NACLs?"
        )),
        Event::BfdDown => steps.push(format!(
            "Check BFD on {neighbour} (UDP 3784) and its timers; BGP stays up only while \
             BFD does"
        )),
        Event::PeerFailed | Event::PeerFailing => steps.push(format!(
            "Read the failure reason and the route server peer log; check {neighbour}"
        )),
        Event::PeerFlapping => steps.push(format!(
            "Look for what makes the session unstable: interface errors or flaps on \
             {neighbour}, its CPU, BFD timers that are too tight"
        )),
        Event::PeerVanished => steps.push(
            "Find out who deleted it (CloudTrail: DeleteRouteServerPeer, \
             DeleteRouteServerEndpoint, DeleteRouteServer)"
                .to_string(),
        ),
        _ => {}
    }
    if tr.severity != Severity::Recovery {
        steps.push(format!("Current state: {describe}"));
    }
    steps.push(format!("History: {history}"));
    steps
}

// ---------------------------------------------------------------------------------------
// Storm control: one message for many peers of one route server

/// The most peers a grouped message lists one by one in its text and its event JSON; the
/// others are counted ("and 12 more"). The event JSON lists fewer when the message would
/// otherwise exceed [`MAX_GROUP_MESSAGE_BYTES`].
pub const MAX_GROUP_LISTED: usize = 200;

/// The most peers the chat notification of a grouped message lists (it is read in a channel,
/// often on a phone); the text and the event JSON list more.
pub const MAX_GROUP_CHAT_LISTED: usize = 20;

/// The largest `MessageStructure=json` document of a grouped message, in bytes: well under
/// SNS's 256 KiB per `Publish` (subject and attributes count too) and DynamoDB's 400 KB per
/// item (every member's outbox entry holds the message until it is sent).
pub const MAX_GROUP_MESSAGE_BYTES: usize = 200 * 1024;

/// What a grouped message is about, worked out once for all its renderings.
struct Storm<'a> {
    id: String,
    kind: GroupKind,
    severity: Severity,
    route_server_id: &'a str,
    vpc_id: &'a str,
    observed_at: Timestamp,
    threshold: u32,
    /// Worst first, then by peer id.
    members: Vec<&'a Transition>,
    /// "down", "recovered", ...: what the peers did, for subject and headline.
    what: &'static str,
    /// `(BGP down, 10), (failed, 2)`: most first.
    breakdown: Vec<(String, usize)>,
}

impl<'a> Storm<'a> {
    fn new(route_server_id: &'a str, members: &[&'a Transition], threshold: u32) -> Self {
        let kind = members
            .first()
            .and_then(|tr| GroupKind::of(tr))
            .unwrap_or(GroupKind::Alerts);
        let mut members = members.to_vec();
        members.sort_by(|a, b| {
            b.severity
                .rank()
                .cmp(&a.severity.rank())
                .then_with(|| a.peer_id().cmp(b.peer_id()))
        });
        let severity = match kind {
            GroupKind::Recoveries => Severity::Recovery,
            _ => members
                .iter()
                .map(|tr| tr.severity)
                .max_by_key(Severity::rank)
                .unwrap_or(Severity::Warning),
        };
        let observed_at = members
            .first()
            .map_or_else(Timestamp::now, |tr| tr.observed_at);
        let vpc_id = members
            .iter()
            .map(|tr| tr.record.peer.vpc_id.as_str())
            .find(|v| !v.is_empty())
            .unwrap_or("");
        let all = |h: &[Health]| members.iter().all(|tr| h.contains(&tr.health_to));
        let what = match kind {
            GroupKind::Recoveries => "recovered",
            GroupKind::Reminders => "still unwell",
            GroupKind::Alerts if all(&[Health::Down]) => "down",
            GroupKind::Alerts if all(&[Health::Degraded]) => "degraded",
            GroupKind::Alerts if all(&[Health::Down, Health::Degraded]) => "down or degraded",
            GroupKind::Alerts => "alerting",
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for tr in &members {
            let label = match kind {
                GroupKind::Reminders => tr.health_to.as_str().to_string(),
                _ => event_phrase(tr.event).to_string(),
            };
            *counts.entry(label).or_default() += 1;
        }
        let mut breakdown: Vec<(String, usize)> = counts.into_iter().collect();
        breakdown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Storm {
            id: group_id(route_server_id, kind, observed_at),
            kind,
            severity,
            route_server_id,
            vpc_id,
            observed_at,
            threshold,
            members,
            what,
            breakdown,
        }
    }

    /// `BGP down 10, failed 2`.
    fn breakdown_text(&self, parts: usize) -> String {
        let mut out = self
            .breakdown
            .iter()
            .take(parts)
            .map(|(label, n)| format!("{label} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if parts < self.breakdown.len() {
            out.push_str(", ...");
        }
        out
    }

    /// `12 peers of route server rs-0a1b2c down at once`.
    fn headline(&self) -> String {
        format!(
            "{} peers of route server {} {} at once",
            self.members.len(),
            self.route_server_id,
            self.what
        )
    }

    /// `rs-0a1b2c 12 peers down (BGP down 10, failed 2)`.
    fn summary(&self) -> String {
        format!(
            "{} {} peers {} ({})",
            self.route_server_id,
            self.members.len(),
            self.what,
            self.breakdown_text(self.breakdown.len())
        )
    }
}

/// Renders the one notification that covers `members`, the notified transitions of one route
/// server in one cycle, when there are more of one kind (see [`GroupKind`]) than `threshold`
/// (storm control; `threshold` is only quoted in the text). The members share the cycle's
/// `observedAt`; they are listed worst first, then by peer id.
///
/// - subject: `[CRITICAL] rs-0a1b2c3d4e5f60718 12 peers down (BGP down 10, failed 2)`, at most
///   [`MAX_SUBJECT_CHARS`] (the breakdown is shortened to `, ...` before anything else);
/// - `default`/`email`: every peer (id, address, ASN, Name tag, event, what changed, failure
///   reason), up to [`MAX_GROUP_LISTED`], then "... and N more";
/// - `https`: an Amazon Q Developer custom notification with `metadata.threadId` = the route
///   server id and `metadata.eventType` `route-server.storm`, listing up to
///   [`MAX_GROUP_CHAT_LISTED`] peers;
/// - `sqs`/`lambda`/`email-json`: the storm event JSON (see [`storm_event_json`]);
/// - attributes `severity`, `event` (`route-server.storm`), `routeServerId`, `vpcId`; no
///   `routeServerPeerId`, since the message is about many.
pub fn render_group(
    route_server_id: &str,
    members: &[&Transition],
    threshold: u32,
) -> Notification {
    let storm = Storm::new(route_server_id, members, threshold);
    let total = storm.members.len();
    let chat = group_chat_json(&storm);
    let mut text_listed = total.min(MAX_GROUP_LISTED);
    let mut json_listed = text_listed;
    loop {
        let text = group_text(&storm, text_listed);
        let event = to_json(&storm_event(&storm, json_listed));
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
            return Notification {
                subject: group_subject(&storm),
                message,
                attributes: group_attributes(&storm),
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

fn group_subject(storm: &Storm) -> String {
    let head = format!(
        "[{}] {} {} peers {}",
        severity_label(storm.severity),
        storm.route_server_id,
        storm.members.len(),
        storm.what
    );
    (1..=storm.breakdown.len())
        .rev()
        .map(|parts| sanitise_subject(&format!("{head} ({})", storm.breakdown_text(parts))))
        .find(|s| s.chars().count() <= MAX_SUBJECT_CHARS && !s.ends_with("..."))
        .unwrap_or_else(|| sanitise_subject(&head))
}

fn group_attributes(storm: &Storm) -> Vec<(String, String)> {
    [
        ("severity", storm.severity.as_str()),
        ("event", Event::RouteServerStorm.as_str()),
        ("routeServerId", storm.route_server_id),
        ("vpcId", storm.vpc_id),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// The storm event JSON, version 1, as `sqs`, `lambda` and `email-json` subscribers receive
/// a grouped message:
///
/// ```json
/// {"schemaVersion": "1", "event": "route-server.storm", "severity": "critical",
///  "groupId": "rs-.../alerts@2026-11-25T19:05:00.123Z", "groupKind": "alerts",
///  "routeServerId": "rs-...", "vpcId": "vpc-...", "observedAt": "2026-11-25T19:05:00.123Z",
///  "threshold": 5, "peerCount": 12, "peersOmitted": 0,
///  "peers": [{"schemaVersion": "1", "event": "bgp.down", "...": "one event JSON per peer"}]}
/// ```
///
/// `severity` is the worst of the members (`recovery` for a grouped recovery). Each entry
/// of `peers` is exactly the event JSON that peer's transition would have had on its own, so
/// consumers deduplicate per peer on `(routeServerPeerId, version)` as usual. `peers` holds
/// up to [`MAX_GROUP_LISTED`] entries, fewer if the message would exceed
/// [`MAX_GROUP_MESSAGE_BYTES`]; `peersOmitted` counts the rest (`peerCount` is all of them).
/// Every member shares `routeServerId` and `observedAt`, so the `ByRouteServer` index finds
/// them all (those with this `GroupId`) when some are omitted.
pub fn storm_event_json(route_server_id: &str, members: &[&Transition], threshold: u32) -> String {
    let storm = Storm::new(route_server_id, members, threshold);
    to_json(&storm_event(&storm, storm.members.len()))
}

fn storm_event<'a>(storm: &'a Storm<'a>, listed: usize) -> StormEventV1<'a> {
    let listed = listed.min(storm.members.len());
    StormEventV1 {
        schema_version: EVENT_SCHEMA_VERSION,
        event: Event::RouteServerStorm,
        severity: storm.severity,
        group_id: &storm.id,
        group_kind: storm.kind,
        route_server_id: storm.route_server_id,
        vpc_id: storm.vpc_id,
        observed_at: storm.observed_at,
        threshold: storm.threshold,
        peer_count: storm.members.len(),
        peers_omitted: storm.members.len() - listed,
        peers: storm.members[..listed]
            .iter()
            .map(|tr| event_v1(tr))
            .collect(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StormEventV1<'a> {
    schema_version: &'static str,
    event: Event,
    severity: Severity,
    group_id: &'a str,
    group_kind: GroupKind,
    route_server_id: &'a str,
    vpc_id: &'a str,
    observed_at: Timestamp,
    threshold: u32,
    peer_count: usize,
    peers_omitted: usize,
    peers: Vec<EventV1<'a>>,
}

/// One peer's change, for the lists: `bgp.down (critical): BgpStatus up -> down`.
fn member_change(tr: &Transition) -> String {
    let what = if tr.kind == TransitionKind::Vanished {
        format!("no longer listed; last known {}", status_line(tr))
    } else if tr.changes.is_empty() {
        format!("now {}", status_line(tr))
    } else {
        tr.changes
            .iter()
            .map(|c| format!("{} {}", c.field, change_text(tr, c, false)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!("{} ({}): {what}", tr.event, tr.severity)
}

fn group_next_steps(storm: &Storm, markdown: bool) -> Vec<String> {
    let fmt = |s: String| if markdown { code(&s) } else { s };
    let rs = storm.route_server_id;
    let mut steps = Vec::new();
    if storm.kind != GroupKind::Recoveries {
        steps.push(
            "Many peers of one route server at once usually share one cause: the route server \
             endpoints, the network between them and the appliances (security groups, NACLs, \
             route tables), or something the appliances share"
                .to_string(),
        );
        steps.push(format!(
            "Current state: {} or {}",
            fmt(format!(
                "peerwatch status --route-server {rs} --health down,degraded"
            )),
            fmt(format!(
                "aws ec2 describe-route-server-peers --filters Name=route-server-id,Values={rs}"
            ))
        ));
    }
    steps.push(format!(
        "History: {}",
        fmt(format!(
            "peerwatch history --route-server {rs} --since {}",
            storm.observed_at
        ))
    ));
    steps
}

fn group_text(storm: &Storm, listed: usize) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}: {}",
        severity_label(storm.severity),
        storm.headline()
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "More than {} {} for one route server in one poll, so they come as this one message \
         (storm control); each peer's change is recorded on its own.",
        storm.threshold,
        storm.kind.as_str()
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "Observed      {}", storm.observed_at);
    let _ = writeln!(t, "Route server  {}", storm.route_server_id);
    if !storm.vpc_id.is_empty() {
        let _ = writeln!(t, "VPC           {}", storm.vpc_id);
    }
    let _ = writeln!(
        t,
        "What          {}",
        storm.breakdown_text(storm.breakdown.len())
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "Peers ({})", storm.members.len());
    for tr in storm.members.iter().take(listed) {
        let label = peer_label(tr, false);
        if label.is_empty() {
            let _ = writeln!(t, "  {}", tr.peer_id());
        } else {
            let _ = writeln!(t, "  {}  {label}", tr.peer_id());
        }
        let _ = writeln!(t, "      {}", member_change(tr));
        if let Some(reason) = &tr.record.peer.failure_reason {
            let _ = writeln!(t, "      Failure reason: {}", reason.replace('\n', " "));
        }
    }
    let omitted = storm.members.len().saturating_sub(listed);
    if omitted > 0 {
        let _ = writeln!(t, "  ... and {omitted} more (see History below)");
    }
    let _ = writeln!(t);
    let _ = writeln!(t, "Next steps");
    for step in group_next_steps(storm, false) {
        let _ = writeln!(t, "  - {step}");
    }
    t
}

/// The Amazon Q Developer custom notification of a grouped message: one thread per route
/// server (`threadId` = its id), so a storm and its grouped recovery land together.
fn group_chat_json(storm: &Storm) -> String {
    let listed = storm.members.len().min(MAX_GROUP_CHAT_LISTED);
    let mut lines = Vec::new();
    let mut head = format!("Route server {}", code(storm.route_server_id));
    if !storm.vpc_id.is_empty() {
        let _ = write!(head, ", VPC {}", code(storm.vpc_id));
    }
    lines.push(head);
    lines.push(storm.breakdown_text(storm.breakdown.len()));
    for tr in &storm.members[..listed] {
        let label = peer_label(tr, true);
        let mut line = code(tr.peer_id());
        if !label.is_empty() {
            let _ = write!(line, " ({label})");
        }
        let _ = write!(line, ": {}", tr.event);
        if let Some(reason) = &tr.record.peer.failure_reason {
            let _ = write!(line, ", {}", reason.replace('\n', " "));
        }
        lines.push(line);
    }
    if storm.members.len() > listed {
        lines.push(format!(
            "... and {} more (every peer is in the email and the event JSON)",
            storm.members.len() - listed
        ));
    }
    lines.push(format!(
        "Grouped by storm control: more than {} {} in one poll",
        storm.threshold,
        storm.kind.as_str()
    ));
    lines.push(format!("Observed at {}", storm.observed_at));

    let mut related_resources = vec![storm.route_server_id, storm.vpc_id];
    related_resources.extend(storm.members[..listed].iter().map(|tr| tr.peer_id()));
    related_resources.retain(|r| !r.is_empty());
    let keywords = [
        storm.severity.as_str(),
        Event::RouteServerStorm.as_str(),
        storm.route_server_id,
        storm.vpc_id,
    ]
    .into_iter()
    .filter(|k| !k.is_empty())
    .map(str::to_string)
    .collect();
    let mut context = BTreeMap::new();
    context.insert("severity", storm.severity.as_str().to_string());
    context.insert("event", Event::RouteServerStorm.as_str().to_string());
    context.insert("routeServerId", storm.route_server_id.to_string());
    context.insert("vpcId", storm.vpc_id.to_string());
    context.insert("peerCount", storm.members.len().to_string());
    context.insert("groupId", storm.id.clone());
    context.insert("observedAt", storm.observed_at.to_string());
    context.retain(|_, v| !v.is_empty());

    to_json(&ChatNotification {
        version: "1.0",
        source: "custom",
        id: storm.id.clone(),
        content: ChatContent {
            text_type: "client-markdown",
            title: format!(
                "{} {}: {}",
                severity_icon(storm.severity),
                severity_label(storm.severity),
                storm.headline()
            ),
            description: lines.join("\n"),
            next_steps: group_next_steps(storm, true),
            keywords,
        },
        metadata: ChatMetadata {
            thread_id: storm.route_server_id,
            summary: storm.summary(),
            event_type: Event::RouteServerStorm.as_str(),
            related_resources,
            additional_context: context,
        },
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod group_tests;
