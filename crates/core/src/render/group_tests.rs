//! Storm control's grouped message: subject, text, chat and event JSON, and the caps.

use std::collections::HashMap;

use serde_json::Value;

use super::*;
use crate::detect::{Rules, detect};
use crate::model::{NotificationState, PeerSnapshot};
use crate::testing::{at, second_cycle};

const RS: &str = "rs-0123456789abcdef0";

/// Peer `i` of route server `RS`: its own id, address and ASN.
fn storm_peer(i: usize) -> PeerSnapshot {
    PeerSnapshot {
        route_server_peer_id: format!("rsp-{i:017x}"),
        route_server_id: RS.into(),
        route_server_endpoint_id: "rse-0123456789abcdef0".into(),
        vpc_id: "vpc-0123456789abcdef0".into(),
        subnet_id: "subnet-0123456789abcdef0".into(),
        peer_address: format!("10.0.{}.{}", i / 250, i % 250 + 5),
        peer_asn: Some(65000 + i as i64),
        peer_liveness_detection: "bfd".into(),
        endpoint_eni_id: "eni-0123456789abcdef0".into(),
        endpoint_eni_address: "10.0.0.4".into(),
        state: "available".into(),
        failure_reason: None,
        bgp_status: Some("up".into()),
        bfd_status: Some("up".into()),
        tags: [("Name".to_string(), format!("fw-{i}"))].into(),
    }
}

/// `n` healthy peers; then `change` applied to each at 60 s (one cycle): its transitions.
fn storm(n: usize, change: impl Fn(usize, &mut PeerSnapshot)) -> Vec<Transition> {
    storm_with(&Rules::default(), n, change).1
}

/// Like `storm`, answering the states after it too (to run a later cycle).
fn storm_with(
    rules: &Rules,
    n: usize,
    change: impl Fn(usize, &mut PeerSnapshot),
) -> (HashMap<String, PeerRecord>, Vec<Transition>) {
    second_cycle(rules, (0..n).map(storm_peer).collect(), change)
}

/// 10 BGP down, 2 failed with a reason (peers 3 and 7).
fn twelve_down() -> Vec<Transition> {
    storm(12, |i, p| {
        if i == 3 || i == 7 {
            p.state = "failed".into();
            p.failure_reason = Some("BGP hold timer expired".into());
        }
        p.bgp_status = Some("down".into());
    })
}

fn refs(trs: &[Transition]) -> Vec<&Transition> {
    trs.iter().collect()
}

fn doc(n: &Notification) -> serde_json::Map<String, Value> {
    let Value::Object(doc) = serde_json::from_str(&n.message).unwrap() else {
        panic!("not a JSON object: {}", n.message);
    };
    doc
}

fn part(n: &Notification, key: &str) -> String {
    doc(n)[key].as_str().unwrap().to_string()
}

fn parsed(n: &Notification, key: &str) -> Value {
    serde_json::from_str(&part(n, key)).unwrap()
}

#[test]
fn group_kinds_and_ids() {
    let down = twelve_down();
    assert!(
        down.iter()
            .all(|tr| GroupKind::of(tr) == Some(GroupKind::Alerts))
    );
    assert_eq!(
        group_id(RS, GroupKind::Alerts, at(60)),
        "rs-0123456789abcdef0/alerts@2026-11-18T11:07:40.000Z"
    );
    assert_eq!(
        group_id(RS, GroupKind::Recoveries, at(60)),
        "rs-0123456789abcdef0/recoveries@2026-11-18T11:07:40.000Z"
    );
    // A new peer coming up is info: never grouped.
    let discovered = detect(&HashMap::new(), &[storm_peer(0)], at(0), &Rules::default());
    assert_eq!(GroupKind::of(&discovered[0]), None);
}

#[test]
fn group_subject_counts_what_happened() {
    let down = twelve_down();
    let n = render_group(RS, &refs(&down), 5);
    assert_eq!(
        n.subject,
        "[CRITICAL] rs-0123456789abcdef0 12 peers down (BGP down 10, failed 2)"
    );
    // Mixed down and degraded, and a warning only.
    let mixed = storm(8, |i, p| {
        if i < 3 {
            p.state = "failing".into();
        } else {
            p.bfd_status = Some("down".into());
        }
    });
    let n = render_group(RS, &refs(&mixed), 5);
    assert_eq!(
        n.subject,
        "[CRITICAL] rs-0123456789abcdef0 8 peers down or degraded (BFD down 5, failing 3)"
    );
    // The worst first: the critical ones lead, then the warnings.
    let severities: Vec<String> = parsed(&n, "sqs")["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["severity"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        severities,
        [["critical"; 5].as_slice(), &["warning"; 3]].concat()
    );
    let failing = storm(6, |_, p| p.state = "failing".into());
    assert_eq!(
        render_group(RS, &refs(&failing), 5).subject,
        "[WARNING] rs-0123456789abcdef0 6 peers degraded (failing 6)"
    );
}

#[test]
fn group_subject_is_short_ascii_and_shortens_the_breakdown_first() {
    // Every peer a different event: the breakdown has to give way.
    let many = storm(9, |i, p| match i % 4 {
        0 => p.bgp_status = Some("down".into()),
        1 => p.bfd_status = Some("down".into()),
        2 => p.state = "failing".into(),
        _ => p.state = "failed".into(),
    });
    let long_rs = "rs-0123456789abcdef0123456789abc";
    let s = render_group(long_rs, &refs(&many), 5).subject;
    assert_eq!(
        s,
        "[CRITICAL] rs-0123456789abcdef0123456789abc 9 peers down or degraded (BGP down 3, BFD down 2, ...)"
    );
    assert!(s.chars().count() <= MAX_SUBJECT_CHARS, "{} {s}", s.len());
    // Longer still: no room for any of the breakdown, the head alone.
    let longer_rs = format!("rs-{}", "0123456789abcdef".repeat(3));
    let s = render_group(&longer_rs, &refs(&many), 5).subject;
    assert_eq!(
        s,
        format!("[CRITICAL] {longer_rs} 9 peers down or degraded")
    );
    // A route server id too long for anything else: cut like any subject.
    let absurd = format!("rs-{}\u{e9}\n", "x".repeat(150));
    let s = render_group(&absurd, &refs(&many), 5).subject;
    assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS, "{s}");
    assert!(s.ends_with("..."), "{s}");
}

#[test]
fn group_text_names_every_peer() {
    let down = twelve_down();
    let n = render_group(RS, &refs(&down), 5);
    let text = part(&n, "default");
    assert_eq!(text, part(&n, "email"));
    assert!(
        text.starts_with("CRITICAL: 12 peers of route server rs-0123456789abcdef0 down at once\n"),
        "{text}"
    );
    assert!(
        text.contains("More than 5 alerts for one route server in one poll"),
        "{text}"
    );
    assert!(text.contains("Route server  rs-0123456789abcdef0\n"));
    assert!(text.contains("VPC           vpc-0123456789abcdef0\n"));
    assert!(text.contains("What          BGP down 10, failed 2\n"));
    assert!(text.contains("Peers (12)\n"));
    for tr in &down {
        let p = &tr.record.peer;
        let line = format!(
            "  {}  {}, AS{}, \"{}\"\n",
            p.route_server_peer_id,
            p.peer_address,
            p.peer_asn.unwrap(),
            p.tags["Name"]
        );
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(text.contains("      bgp.down (critical): BgpStatus up -> down\n"));
    assert!(text.contains(
        "      peer.failed (critical): State available -> failed; BgpStatus up -> down\n      Failure reason: BGP hold timer expired\n"
    ), "{text}");
    // In peer id order (all critical).
    let positions: Vec<usize> = down
        .iter()
        .map(|t| text.find(t.peer_id()).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
    assert!(
        text.contains(
            "peerwatch status --route-server rs-0123456789abcdef0 --health down,degraded"
        )
    );
    assert!(text.contains(
        "peerwatch history --route-server rs-0123456789abcdef0 --since 2026-11-18T11:07:40.000Z"
    ));
    assert!(!text.contains("more (see History below)"));
}

#[test]
fn group_event_json_lists_each_peers_own_event() {
    let down = twelve_down();
    let n = render_group(RS, &refs(&down), 5);
    let ev = parsed(&n, "sqs");
    assert_eq!(part(&n, "sqs"), part(&n, "lambda"));
    assert_eq!(part(&n, "sqs"), part(&n, "email-json"));
    assert_eq!(part(&n, "sqs"), storm_event_json(RS, &refs(&down), 5));
    let keys: Vec<&str> = ev.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "event",
            "groupId",
            "groupKind",
            "observedAt",
            "peerCount",
            "peers",
            "peersOmitted",
            "routeServerId",
            "schemaVersion",
            "severity",
            "threshold",
            "vpcId"
        ]
    );
    assert_eq!(ev["schemaVersion"], "1");
    assert_eq!(ev["event"], "route-server.storm");
    assert_eq!(ev["severity"], "critical");
    assert_eq!(
        ev["groupId"],
        "rs-0123456789abcdef0/alerts@2026-11-18T11:07:40.000Z"
    );
    assert_eq!(ev["groupKind"], "alerts");
    assert_eq!(ev["routeServerId"], RS);
    assert_eq!(ev["vpcId"], "vpc-0123456789abcdef0");
    assert_eq!(ev["observedAt"], "2026-11-18T11:07:40.000Z");
    assert_eq!(ev["threshold"], 5);
    assert_eq!(ev["peerCount"], 12);
    assert_eq!(ev["peersOmitted"], 0);
    let peers = ev["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 12);
    for p in peers {
        let id = p["routeServerPeerId"].as_str().unwrap();
        let tr = down.iter().find(|t| t.peer_id() == id).unwrap();
        let own: Value = serde_json::from_str(&event_json(tr)).unwrap();
        assert_eq!(p, &own, "{id}: the same as its own event JSON");
    }
    assert_eq!(peers[0]["event"], "bgp.down");
    assert_eq!(peers[3]["event"], "peer.failed");
    assert_eq!(peers[3]["peer"]["failureReason"], "BGP hold timer expired");

    assert_eq!(
        n.attributes,
        [
            ("severity", "critical"),
            ("event", "route-server.storm"),
            ("routeServerId", RS),
            ("vpcId", "vpc-0123456789abcdef0"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn group_chat_is_one_thread_per_route_server() {
    let down = twelve_down();
    let q = parsed(&render_group(RS, &refs(&down), 5), "https");
    assert_eq!(q["version"], "1.0");
    assert_eq!(q["source"], "custom");
    assert_eq!(
        q["id"],
        "rs-0123456789abcdef0/alerts@2026-11-18T11:07:40.000Z"
    );
    assert_eq!(q["content"]["textType"], "client-markdown");
    assert_eq!(
        q["content"]["title"],
        "\u{1F534} CRITICAL: 12 peers of route server rs-0123456789abcdef0 down at once"
    );
    let description = q["content"]["description"].as_str().unwrap();
    assert!(description.starts_with(
        "Route server `rs-0123456789abcdef0`, VPC `vpc-0123456789abcdef0`\nBGP down 10, failed 2\n"
    ), "{description}");
    for tr in &down {
        assert!(description.contains(&format!("`{}`", tr.peer_id())));
    }
    assert!(description.contains(
        "`rsp-00000000000000003` (`10.0.0.8`, AS65003, \"fw-3\"): peer.failed, BGP hold timer expired"
    ), "{description}");
    let m = &q["metadata"];
    assert_eq!(m["threadId"], RS);
    assert_eq!(m["eventType"], "route-server.storm");
    assert_eq!(
        m["summary"],
        "rs-0123456789abcdef0 12 peers down (BGP down 10, failed 2)"
    );
    assert_eq!(m["relatedResources"].as_array().unwrap().len(), 14);
    assert_eq!(m["additionalContext"]["peerCount"], "12");
    let steps = q["content"]["nextSteps"].as_array().unwrap();
    assert!(
        steps
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("History: `peerwatch history --route-server rs-0123456789abcdef0 --since")
    );
}

#[test]
fn grouped_recovery_and_reminder() {
    let rules = Rules {
        remind_every_secs: 3600,
        ..Rules::default()
    };
    let (known, down) = storm_with(&rules, 7, |_, p| p.bgp_status = Some("down".into()));
    assert!(
        down.iter()
            .all(|t| t.notification == NotificationState::Pending)
    );
    let listing = |bgp: &str| -> Vec<PeerSnapshot> {
        (0..7)
            .map(|i| {
                let mut p = storm_peer(i);
                p.bgp_status = Some(bgp.into());
                p
            })
            .collect()
    };
    let up = detect(&known, &listing("up"), at(120), &rules);
    assert!(
        up.iter()
            .all(|t| GroupKind::of(t) == Some(GroupKind::Recoveries))
    );
    let n = render_group(RS, &refs(&up), 5);
    assert_eq!(
        n.subject,
        "[RECOVERY] rs-0123456789abcdef0 7 peers recovered (BGP up 7)"
    );
    assert_eq!(parsed(&n, "https")["metadata"]["threadId"], RS);
    let ev = parsed(&n, "sqs");
    assert_eq!(
        (ev["severity"].as_str(), ev["groupKind"].as_str()),
        (Some("recovery"), Some("recoveries"))
    );
    assert!(part(&n, "default").contains("More than 5 recoveries for one route server"));
    assert!(
        !part(&n, "default").contains("--health down,degraded"),
        "nothing to look at"
    );

    let reminders = detect(&known, &listing("down"), at(60 + 3600), &rules);
    assert_eq!(reminders.len(), 7);
    assert!(
        reminders
            .iter()
            .all(|t| GroupKind::of(t) == Some(GroupKind::Reminders))
    );
    let n = render_group(RS, &refs(&reminders), 5);
    assert_eq!(
        n.subject,
        "[CRITICAL] rs-0123456789abcdef0 7 peers still unwell (down 7)"
    );
    assert_eq!(parsed(&n, "sqs")["peers"][0]["event"], "peer.reminder");
}

#[test]
fn a_big_storm_is_capped_and_fits_sns_and_dynamodb() {
    let down = storm(250, |_, p| p.bgp_status = Some("down".into()));
    let n = render_group(RS, &refs(&down), 5);
    assert!(
        n.message.len() <= MAX_GROUP_MESSAGE_BYTES,
        "{}",
        n.message.len()
    );
    assert_eq!(
        n.subject,
        "[CRITICAL] rs-0123456789abcdef0 250 peers down (BGP down 250)"
    );
    let text = part(&n, "default");
    assert!(text.contains("Peers (250)\n"));
    let listed = down.iter().filter(|t| text.contains(t.peer_id())).count();
    assert_eq!(listed, MAX_GROUP_LISTED);
    assert!(
        text.contains("  ... and 50 more (see History below)\n"),
        "{text}"
    );
    let ev = parsed(&n, "sqs");
    let peers = ev["peers"].as_array().unwrap().len();
    assert_eq!(ev["peerCount"], 250);
    assert_eq!(ev["peersOmitted"].as_u64().unwrap() as usize, 250 - peers);
    assert!(peers > 20 && peers <= MAX_GROUP_LISTED, "{peers}");
    let q = parsed(&n, "https");
    let description = q["content"]["description"].as_str().unwrap();
    assert_eq!(
        down.iter()
            .filter(|t| description.contains(t.peer_id()))
            .count(),
        MAX_GROUP_CHAT_LISTED
    );
    assert!(description.contains("... and 230 more"));
    assert_eq!(
        q["metadata"]["relatedResources"].as_array().unwrap().len(),
        2 + MAX_GROUP_CHAT_LISTED
    );
}

#[test]
fn heavy_tags_shrink_the_event_json_before_the_text() {
    let down = storm(60, |i, p| {
        p.bgp_status = Some("down".into());
        for t in 0..40 {
            p.tags
                .insert(format!("tag-{t:02}"), format!("{i}-{}", "v".repeat(250)));
        }
    });
    let n = render_group(RS, &refs(&down), 5);
    assert!(
        n.message.len() <= MAX_GROUP_MESSAGE_BYTES,
        "{}",
        n.message.len()
    );
    let ev = parsed(&n, "sqs");
    let peers = ev["peers"].as_array().unwrap().len();
    assert!(peers < 60 && peers > 0, "{peers}");
    assert_eq!(ev["peersOmitted"].as_u64().unwrap() as usize, 60 - peers);
    let text = part(&n, "default");
    assert_eq!(
        down.iter().filter(|t| text.contains(t.peer_id())).count(),
        60
    );
}
