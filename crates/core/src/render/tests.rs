use std::collections::HashMap;

use serde_json::Value;

use super::*;
use crate::detect::{Rules, detect};
use crate::model::{Field, NotificationState, PeerSnapshot};

fn peer(id: &str, state: &str, bgp: &str, bfd: &str) -> PeerSnapshot {
    PeerSnapshot {
        route_server_peer_id: id.into(),
        route_server_id: "rs-0123456789abcdef0".into(),
        route_server_endpoint_id: "rse-0123456789abcdef0".into(),
        vpc_id: "vpc-0123456789abcdef0".into(),
        subnet_id: "subnet-0123456789abcdef0".into(),
        peer_address: "10.0.1.5".into(),
        peer_asn: Some(65001),
        peer_liveness_detection: "bfd".into(),
        endpoint_eni_id: "eni-0123456789abcdef0".into(),
        endpoint_eni_address: "10.0.1.4".into(),
        state: state.into(),
        failure_reason: None,
        bgp_status: Some(bgp.into()),
        bfd_status: Some(bfd.into()),
        tags: [("Name".to_string(), "fw-a".to_string())].into(),
    }
}

/// 2026-11-18T11:06:40.000Z plus `secs`.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + secs * 1000).unwrap()
}

/// Feeds listings to `detect` at the given times, carrying state as the store would.
struct Harness {
    known: HashMap<String, PeerRecord>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            known: HashMap::new(),
        }
    }

    fn one(&mut self, secs: i64, listed: &[PeerSnapshot]) -> Transition {
        let mut out = detect(&self.known, listed, at(secs), &Rules::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        let tr = out.remove(0);
        self.known
            .insert(tr.peer_id().to_string(), tr.record.clone());
        tr
    }
}

/// Up for 3h 12m, then BGP down; then back up.
fn down_and_up() -> (Transition, Transition) {
    let mut h = Harness::new();
    h.one(0, &[peer("rsp-1", "available", "up", "up")]);
    let down = h.one(11_520, &[peer("rsp-1", "available", "down", "up")]);
    let up = h.one(11_700, &[peer("rsp-1", "available", "up", "up")]);
    assert_eq!((down.event, up.event), (Event::BgpDown, Event::BgpUp));
    (down, up)
}

fn vanished() -> Transition {
    let mut h = Harness::new();
    h.one(0, &[peer("rsp-1", "available", "up", "up")]);
    let tr = h.one(600, &[]);
    assert_eq!(tr.kind, TransitionKind::Vanished);
    tr
}

fn discovered_failed() -> Transition {
    let mut p = peer("rsp-1", "failed", "down", "down");
    p.failure_reason = Some("BGP hold timer expired".into());
    let tr = Harness::new().one(0, &[p]);
    assert_eq!(
        (tr.kind, tr.event, tr.notification),
        (
            TransitionKind::Discovered,
            Event::PeerFailed,
            NotificationState::Pending
        )
    );
    tr
}

/// The message document, every protocol's body as a string.
fn message(n: &Notification) -> serde_json::Map<String, Value> {
    let Value::Object(doc) = serde_json::from_str(&n.message).unwrap() else {
        panic!("message is not a JSON object: {}", n.message);
    };
    doc
}

fn body<'a>(doc: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    doc.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} missing or not a string"))
}

fn event(tr: &Transition) -> Value {
    let n = render(tr);
    serde_json::from_str(body(&message(&n), "sqs")).unwrap()
}

fn chat(tr: &Transition) -> Value {
    let n = render(tr);
    serde_json::from_str(body(&message(&n), "https")).unwrap()
}

fn text(tr: &Transition) -> String {
    body(&message(&render(tr)), "default").to_string()
}

#[test]
fn message_has_every_protocol_key_as_a_string() {
    let (down, _) = down_and_up();
    let doc = message(&render(&down));
    let mut keys: Vec<&str> = doc.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["default", "email", "email-json", "https", "lambda", "sqs"]
    );
    assert_eq!(body(&doc, "default"), body(&doc, "email"));
    for key in ["https", "sqs", "lambda", "email-json"] {
        let parsed: Value = serde_json::from_str(body(&doc, key)).unwrap();
        assert!(parsed.is_object(), "{key}");
    }
    assert_eq!(body(&doc, "sqs"), body(&doc, "lambda"));
    assert_eq!(body(&doc, "sqs"), body(&doc, "email-json"));
    assert_eq!(body(&doc, "sqs"), event_json(&down));
}

#[test]
fn q_developer_payload() {
    let (down, up) = down_and_up();
    let q = chat(&down);
    assert_eq!(q["version"], "1.0");
    assert_eq!(q["source"], "custom");
    assert_eq!(q["id"], "rsp-1/2");
    assert_eq!(q["content"]["textType"], "client-markdown");
    let title = q["content"]["title"].as_str().unwrap();
    assert!(title.contains("CRITICAL") && title.contains("BGP session down on rsp-1"));
    let description = q["content"]["description"].as_str().unwrap();
    for needle in [
        "BgpStatus: up \u{2192} down",
        "`10.0.1.5`",
        "AS65001",
        "`rs-0123456789abcdef0`",
        "`vpc-0123456789abcdef0`",
        "Endpoint `rse-0123456789abcdef0` (`10.0.1.4`)",
        "3h 12m",
    ] {
        assert!(description.contains(needle), "{needle} in {description}");
    }
    let steps: Vec<&str> = q["content"]["nextSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("`peerwatch history --peer rsp-1`")),
        "{steps:?}"
    );
    assert_eq!(
        q["content"]["keywords"],
        serde_json::json!([
            "critical",
            "bgp.down",
            "rs-0123456789abcdef0",
            "vpc-0123456789abcdef0"
        ])
    );
    let m = &q["metadata"];
    assert_eq!(m["threadId"], "rsp-1");
    assert_eq!(m["eventType"], "bgp.down");
    assert_eq!(m["summary"], "rsp-1 BGP down (10.0.1.5, AS65001, \"fw-a\")");
    assert_eq!(m["relatedResources"][0], "rsp-1");
    assert_eq!(m["additionalContext"]["severity"], "critical");
    assert_eq!(m["additionalContext"]["peerAsn"], "65001");

    // Only fields the custom-notification schema defines.
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&q), ["content", "id", "metadata", "source", "version"]);
    assert_eq!(
        keys(&q["content"]),
        ["description", "keywords", "nextSteps", "textType", "title"]
    );
    assert_eq!(
        keys(m),
        [
            "additionalContext",
            "eventType",
            "relatedResources",
            "summary",
            "threadId"
        ]
    );
    assert!(
        m["additionalContext"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    );

    // The recovery lands in the same thread.
    let q = chat(&up);
    assert_eq!(q["metadata"]["threadId"], "rsp-1");
    assert_eq!(q["metadata"]["eventType"], "bgp.up");
    assert!(q["content"]["title"].as_str().unwrap().contains("RECOVERY"));
}

#[test]
fn markdown_code_spans_survive_backticks() {
    let mut p = peer("rsp-1", "failed", "down", "down");
    p.peer_address = "10.0.`1.5".into();
    let tr = Harness::new().one(0, &[p]);
    let description = chat(&tr)["content"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(description.contains("`10.0.'1.5`"), "{description}");
}

#[test]
fn event_json_bgp_down() {
    let (down, _) = down_and_up();
    let e = event(&down);
    assert_eq!(e["schemaVersion"], "1");
    assert_eq!(e["event"], "bgp.down");
    assert_eq!(e["severity"], "critical");
    assert_eq!(e["kind"], "changed");
    assert_eq!(e["routeServerPeerId"], "rsp-1");
    assert_eq!(e["routeServerId"], "rs-0123456789abcdef0");
    assert_eq!(e["vpcId"], "vpc-0123456789abcdef0");
    assert_eq!(e["observedAt"], "2026-11-18T14:18:40.000Z");
    assert_eq!(
        e["changes"],
        serde_json::json!([{"field": "BgpStatus", "from": "up", "to": "down"}])
    );
    assert_eq!(
        e["health"],
        serde_json::json!({"from": "healthy", "to": "down"})
    );
    assert_eq!(e["previousObservedAt"], "2026-11-18T11:06:40.000Z");
    assert_eq!(e["previousDurationSeconds"], 11_520);
    assert_eq!(e["version"], 2);

    // Every PeerState attribute, camelCase.
    let p = &e["peer"];
    for key in [
        "routeServerPeerId",
        "routeServerId",
        "routeServerEndpointId",
        "vpcId",
        "subnetId",
        "peerAddress",
        "peerAsn",
        "peerLivenessDetection",
        "endpointEniId",
        "endpointEniAddress",
        "state",
        "failureReason",
        "bgpStatus",
        "bfdStatus",
        "tags",
        "firstSeenAt",
        "lastChangedAt",
        "present",
        "version",
    ] {
        assert!(p.get(key).is_some(), "peer.{key} missing: {p}");
    }
    assert_eq!(p["peerAsn"], 65001);
    assert_eq!(p["failureReason"], Value::Null);
    assert_eq!(p["bgpStatus"], "down");
    assert_eq!(p["tags"]["Name"], "fw-a");
    assert_eq!(p["present"], true);
    assert_eq!(p["version"], 2);
    assert_eq!(p["lastChangedAt"], e["observedAt"]);
    assert_eq!(p["openAlert"], "critical");
}

#[test]
fn event_json_recovery() {
    let (_, up) = down_and_up();
    let e = event(&up);
    assert_eq!(
        (&e["event"], &e["severity"]),
        (&Value::from("bgp.up"), &Value::from("recovery"))
    );
    assert_eq!(
        e["changes"],
        serde_json::json!([{"field": "BgpStatus", "from": "down", "to": "up"}])
    );
    assert_eq!(
        e["health"],
        serde_json::json!({"from": "down", "to": "healthy"})
    );
    assert_eq!(e["previousDurationSeconds"], 180);
    assert_eq!(e["peer"]["openAlert"], Value::Null);
    let n = render(&up);
    assert_eq!(
        n.subject,
        "[RECOVERY] rsp-1 BGP up (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(text(&up).contains("Previous status (down) since 2026-11-18T14:18:40.000Z, for 3m"));
}

#[test]
fn event_json_vanished() {
    let tr = vanished();
    let e = event(&tr);
    assert_eq!(e["event"], "peer.vanished");
    assert_eq!(e["severity"], "warning");
    assert_eq!(e["kind"], "vanished");
    assert_eq!(e["changes"], serde_json::json!([]));
    assert_eq!(e["peer"]["present"], false);
    assert_eq!(e["peer"]["state"], "available");
    assert_eq!(e["previousDurationSeconds"], 600);
    let n = render(&tr);
    assert_eq!(
        n.subject,
        "[WARNING] rsp-1 vanished from the listing (fw-a, 10.0.1.5, AS65001)"
    );
    let t = text(&tr);
    assert!(
        t.contains("no longer returned by DescribeRouteServerPeers"),
        "{t}"
    );
    assert!(t.contains("Last known: available, BGP up, BFD up"), "{t}");
    assert!(t.contains("for 10m"), "{t}");
    assert!(!t.contains("Health:"), "{t}");
}

#[test]
fn event_json_discovered_already_failed() {
    let tr = discovered_failed();
    let e = event(&tr);
    assert_eq!(e["event"], "peer.failed");
    assert_eq!(e["severity"], "critical");
    assert_eq!(e["kind"], "discovered");
    assert_eq!(
        e["changes"],
        serde_json::json!([
            {"field": "State", "from": null, "to": "failed"},
            {"field": "BgpStatus", "from": null, "to": "down"},
            {"field": "BfdStatus", "from": null, "to": "down"},
        ])
    );
    // Absent values are null, never omitted.
    assert_eq!(e["health"], serde_json::json!({"from": null, "to": "down"}));
    let obj = e.as_object().unwrap();
    assert_eq!(obj["previousObservedAt"], Value::Null);
    assert_eq!(obj["previousDurationSeconds"], Value::Null);
    assert_eq!(e["peer"]["failureReason"], "BGP hold timer expired");
    assert_eq!(e["version"], 1);

    let n = render(&tr);
    assert_eq!(
        n.subject,
        "[CRITICAL] rsp-1 failed when first seen (fw-a, 10.0.1.5, AS65001)"
    );
    let t = text(&tr);
    assert!(t.contains("State: failed\n"), "{t}");
    assert!(t.contains("Health: (none) -> down"), "{t}");
    assert!(t.contains("Failure reason: BGP hold timer expired"), "{t}");
    assert!(!t.contains("Previous status"), "{t}");
}

#[test]
fn subject_examples() {
    let (down, _) = down_and_up();
    assert_eq!(
        render(&down).subject,
        "[CRITICAL] rsp-1 BGP down (fw-a, 10.0.1.5, AS65001)"
    );
    let mut p = peer("rsp-0a1b2c", "available", "up", "up");
    p.tags.clear();
    let mut h = Harness::new();
    h.one(0, std::slice::from_ref(&p));
    p.bgp_status = Some("down".into());
    assert_eq!(
        render(&h.one(60, &[p])).subject,
        "[CRITICAL] rsp-0a1b2c BGP down (10.0.1.5, AS65001)"
    );
}

#[test]
fn subject_is_short_ascii_and_single_line() {
    let long_id = format!("rsp-{}", "0123456789abcdef".repeat(10));
    let mut p = peer(&long_id, "failed", "down", "down");
    p.tags.insert(
        "Name".into(),
        "pare-feu \u{e9}t\u{e9}\nTokyo \u{6771}\u{4eac} ".repeat(20),
    );
    let tr = Harness::new().one(0, &[p]);
    let s = render(&tr).subject;
    assert!(s.chars().count() <= MAX_SUBJECT_CHARS, "{} {s}", s.len());
    assert!(s.len() <= 100);
    assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{s}");
    assert!(s.starts_with("[CRITICAL] rsp-0123"), "{s}");
    assert!(s.ends_with("..."), "{s}");

    // A long Name tag is shortened before the whole subject is.
    let mut p = peer("rsp-1", "failed", "down", "down");
    p.tags
        .insert("Name".into(), "a-very-long-name-tag-".repeat(10));
    let s = render(&Harness::new().one(0, &[p])).subject;
    assert!(s.chars().count() <= MAX_SUBJECT_CHARS, "{s}");
    assert!(s.ends_with(", 10.0.1.5, AS65001)"), "{s}");
}

#[test]
fn sanitise_subject_rules() {
    assert_eq!(sanitise_subject("  a\r\n\tb  c "), "a b c");
    assert_eq!(sanitise_subject("caf\u{e9} \u{1F534}"), "caf? ?");
    assert_eq!(sanitise_subject("\n\n"), "peerwatch notification");
    assert_eq!(sanitise_subject("\u{7}x"), "x");
    let long = "x".repeat(300);
    let s = sanitise_subject(&long);
    assert_eq!(s.len(), MAX_SUBJECT_CHARS);
    assert!(s.ends_with("..."));
    let exact = "y".repeat(MAX_SUBJECT_CHARS);
    assert_eq!(sanitise_subject(&exact), exact);
}

#[test]
fn truncate_chars_keeps_char_boundaries() {
    assert_eq!(truncate_chars("\u{e9}\u{e9}\u{e9}", 2), "\u{e9}\u{e9}");
    assert_eq!(truncate_chars("ab", 5), "ab");
}

#[test]
fn unknown_enum_values_pass_through() {
    let mut h = Harness::new();
    h.one(0, &[peer("rsp-1", "available", "up", "up")]);
    let mut p = peer("rsp-1", "quarantined", "idle", "up");
    p.peer_liveness_detection = "carrier-pigeon".into();
    let tr = h.one(60, &[p]);
    let e = event(&tr);
    assert_eq!(e["peer"]["state"], "quarantined");
    assert_eq!(e["peer"]["bgpStatus"], "idle");
    assert_eq!(e["peer"]["peerLivenessDetection"], "carrier-pigeon");
    assert_eq!(
        e["changes"],
        serde_json::json!([
            {"field": "State", "from": "available", "to": "quarantined"},
            {"field": "BgpStatus", "from": "up", "to": "idle"},
        ])
    );
    let t = text(&tr);
    assert!(t.contains("State: available -> quarantined"), "{t}");
    assert!(t.contains("BgpStatus: up -> idle"), "{t}");
    assert!(t.contains("carrier-pigeon"), "{t}");
    let n = render(&tr);
    assert!(
        n.subject.starts_with("[INFO] rsp-1 changed"),
        "{}",
        n.subject
    );
}

#[test]
fn text_for_people() {
    let (down, _) = down_and_up();
    let t = text(&down);
    for needle in [
        "CRITICAL: BGP session down on rsp-1",
        "What changed (observed 2026-11-18T14:18:40.000Z):",
        "BgpStatus: up -> down",
        "Health: healthy -> down",
        "Previous status (healthy) since 2026-11-18T11:06:40.000Z, for 3h 12m",
        "Peer address    10.0.1.5",
        "Peer ASN        65001",
        "Route server    rs-0123456789abcdef0",
        "Endpoint        rse-0123456789abcdef0",
        "Endpoint ENI    eni-0123456789abcdef0 (10.0.1.4)",
        "VPC             vpc-0123456789abcdef0",
        "Status          available, BGP down, BFD up",
        "Tags            Name=fw-a",
        "TCP 179",
        "aws ec2 describe-route-server-peers --route-server-peer-ids rsp-1",
        "peerwatch history --peer rsp-1",
    ] {
        assert!(t.contains(needle), "{needle:?} in\n{t}");
    }
    assert!(!t.contains("Failure reason"), "{t}");
    for tr in [vanished(), discovered_failed(), down_and_up().1] {
        assert!(text(&tr).contains("peerwatch history --peer rsp-1"));
    }
}

#[test]
fn text_leaves_out_what_ec2_did_not_report() {
    let mut p = peer("rsp-1", "failed", "down", "down");
    p.peer_asn = None;
    p.endpoint_eni_address.clear();
    p.bfd_status = None;
    p.tags.clear();
    let tr = Harness::new().one(0, &[p]);
    let t = text(&tr);
    assert!(!t.contains("Peer ASN"), "{t}");
    assert!(!t.contains("Tags"), "{t}");
    assert!(t.contains("BfdStatus: (not reported)"), "{t}");
    assert!(t.contains("Endpoint ENI    eni-0123456789abcdef0\n"), "{t}");
    assert_eq!(
        render(&tr).subject,
        "[CRITICAL] rsp-1 failed when first seen (10.0.1.5)"
    );
    assert_eq!(event(&tr)["peer"]["peerAsn"], Value::Null);
    assert_eq!(event(&tr)["peer"]["bfdStatus"], Value::Null);
}

#[test]
fn attributes_for_filter_policies() {
    let (down, _) = down_and_up();
    let n = render(&down);
    let attrs: Vec<(&str, &str)> = n
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("severity", "critical"),
            ("event", "bgp.down"),
            ("routeServerPeerId", "rsp-1"),
            ("routeServerId", "rs-0123456789abcdef0"),
            ("vpcId", "vpc-0123456789abcdef0"),
        ]
    );

    let mut p = peer("rsp-1", "failed", "down", "down");
    p.vpc_id.clear();
    let n = render(&Harness::new().one(0, &[p]));
    assert!(
        n.attributes
            .iter()
            .all(|(k, v)| k != "vpcId" && !v.is_empty())
    );
    assert_eq!(n.attributes.len(), 4);
}

#[test]
fn recovery_from_failed_and_bfd_events() {
    let mut h = Harness::new();
    h.one(0, &[peer("rsp-1", "available", "up", "up")]);
    let bfd = h.one(60, &[peer("rsp-1", "available", "up", "down")]);
    assert_eq!(bfd.event, Event::BfdDown);
    assert_eq!(
        render(&bfd).subject,
        "[CRITICAL] rsp-1 BFD down (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(text(&bfd).contains("UDP 3784"));
    h.one(120, &[peer("rsp-1", "failed", "up", "down")]);
    let back = h.one(300, &[peer("rsp-1", "available", "up", "up")]);
    assert_eq!(back.event, Event::PeerRecovered);
    assert_eq!(
        render(&back).subject,
        "[RECOVERY] rsp-1 recovered (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(back.change(Field::State).is_some());
    let t = text(&back);
    assert!(t.contains("State: failed -> available"), "{t}");
    // A recovery needs no "current state" step; history is enough.
    assert!(!t.contains("describe-route-server-peers"), "{t}");
}

// --- what the alert rules send on their own -------------------------------------------------

/// Runs `listings` (seconds, peer) through `detect` with `rules`; answers every transition.
fn run_rules(rules: &Rules, listings: &[(i64, PeerSnapshot)]) -> Vec<Transition> {
    let mut known: HashMap<String, PeerRecord> = HashMap::new();
    let mut out = Vec::new();
    for (secs, p) in listings {
        for tr in detect(&known, std::slice::from_ref(p), at(*secs), rules) {
            known.insert(tr.peer_id().to_string(), tr.record.clone());
            out.push(tr);
        }
    }
    out
}

#[test]
fn reminder_says_for_how_long_in_the_alerts_thread() {
    let rules = Rules {
        remind_every_secs: 3600,
        ..Rules::default()
    };
    let up = peer("rsp-1", "available", "up", "up");
    let down = peer("rsp-1", "available", "down", "up");
    let all = run_rules(&rules, &[(0, up), (60, down.clone()), (3660, down)]);
    let reminder = all.last().unwrap();
    assert_eq!(reminder.kind, TransitionKind::Reminder);
    let n = render(reminder);
    assert_eq!(
        n.subject,
        "[CRITICAL] rsp-1 still down after 1h (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(
        text(reminder).contains(
            "Still down since the alert at 2026-11-18T11:07:40.000Z (1h ago); reminder 1."
        ),
        "{}",
        text(reminder)
    );
    let chat = chat(reminder);
    assert_eq!(chat["metadata"]["threadId"], "rsp-1");
    assert_eq!(chat["metadata"]["eventType"], "peer.reminder");
    let ev = event(reminder);
    assert_eq!(
        (ev["event"].as_str(), ev["severity"].as_str()),
        (Some("peer.reminder"), Some("critical"))
    );
    assert_eq!(ev["changes"], serde_json::json!([]));
    assert!(
        n.attributes
            .contains(&("event".to_string(), "peer.reminder".to_string()))
    );
}

#[test]
fn flapping_and_settled_messages_explain_the_rule() {
    let rules = Rules::default();
    let up = || peer("rsp-1", "available", "up", "up");
    let down = || peer("rsp-1", "available", "down", "up");
    let all = run_rules(
        &rules,
        &[
            (0, up()),
            (60, down()),
            (120, up()),
            (180, down()),
            (240, up()),
            (300, down()),
            (1300, down()),
        ],
    );
    let flapping = &all[5];
    assert_eq!(flapping.event, Event::PeerFlapping);
    assert_eq!(
        render(flapping).subject,
        "[WARNING] rsp-1 flapping (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(
        text(flapping)
            .contains("5 health changes since 2026-11-18T11:07:40.000Z: the peer is flapping.")
    );
    assert!(
        text(flapping).contains("BgpStatus: up -> down"),
        "{}",
        text(flapping)
    );
    let settled = all.last().unwrap();
    assert_eq!(
        (settled.kind, settled.severity),
        (TransitionKind::Settled, Severity::Critical)
    );
    assert_eq!(
        render(settled).subject,
        "[CRITICAL] rsp-1 settled, down (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(text(settled).contains(
        "No health change for 16m 40s: the flapping has stopped, and the peer settled down."
    ));
    assert_eq!(chat(settled)["metadata"]["threadId"], "rsp-1");
    assert_eq!(event(settled)["event"], "peer.settled");
}

#[test]
fn the_alert_after_a_mute_says_so() {
    let rules = Rules {
        mutes: vec![crate::mute::Mute {
            target: crate::mute::MuteTarget::parse("rsp-1").unwrap(),
            until: Some(at(600)),
        }],
        ..Rules::default()
    };
    let down = || peer("rsp-1", "available", "down", "up");
    let all = run_rules(
        &rules,
        &[
            (0, peer("rsp-1", "available", "up", "up")),
            (60, down()),
            (600, down()),
        ],
    );
    assert_eq!(all[1].notification, NotificationState::Suppressed);
    let unmuted = &all[2];
    assert_eq!(
        render(unmuted).subject,
        "[CRITICAL] rsp-1 BGP down (mute ended) (fw-a, 10.0.1.5, AS65001)"
    );
    assert!(text(unmuted).contains("The mute on this peer has ended and it is still down"));
    assert_eq!(event(unmuted)["event"], "bgp.down");
}
