use std::collections::HashMap;
use std::io::Write;

use base64::Engine;
use serde_json::json;

use super::*;
use crate::detect::{Rules, detect};
use crate::model::{
    Event, FieldChange, Health, NotificationState, PeerRecord, PeerSnapshot, Severity, Source,
    Transition,
};

const PEER: &str = "rsp-0a1b2c3d4e5f60718";
const ARN: &str = "arn:aws:ec2:us-east-1:111122223333:route-server-peer/rsp-0a1b2c3d4e5f60718";

fn t(secs: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + secs * 1000).unwrap()
}

fn record(kind: &str, status: &str, at: Timestamp) -> String {
    json!({"resource_arn": ARN, "event_timestamp": at.as_millis(), "type": kind,
           "status": status, "message": null})
    .to_string()
}

fn peer(bgp: &str, bfd: &str) -> PeerSnapshot {
    PeerSnapshot {
        route_server_peer_id: PEER.into(),
        route_server_id: "rs-00000000000000001".into(),
        route_server_endpoint_id: "rse-00000000000000001".into(),
        vpc_id: "vpc-1".into(),
        peer_address: "10.0.1.5".into(),
        peer_asn: Some(65001),
        peer_liveness_detection: "bfd".into(),
        state: "available".into(),
        bgp_status: Some(bgp.into()),
        bfd_status: Some(bfd.into()),
        ..Default::default()
    }
}

/// What the store would hold: a healthy peer discovered by a poll at `t(0)`.
fn discovered() -> PeerRecord {
    let out = detect(
        &HashMap::new(),
        &[peer("up", "up")],
        t(0),
        &Rules::default(),
    );
    out[0].record.clone()
}

/// Applies each batch in turn as the consumer does (time order within a batch, one instant
/// of one peer at a time), carrying the state; answers every outcome.
fn consume(state: &mut PeerRecord, batches: &[Vec<String>]) -> Vec<Applied> {
    let rules = Rules::default();
    let mut out = Vec::new();
    for texts in batches {
        let batch = Batch::parse(texts.iter().map(String::as_str));
        assert!(batch.skipped.is_empty(), "{:?}", batch.skipped);
        let mut i = 0;
        while i < batch.records.len() {
            let at = batch.records[i].at;
            let mut statuses = Vec::new();
            while i < batch.records.len() && batch.records[i].at == at {
                if let Happened::Session { session, status } = &batch.records[i].happened {
                    statuses.push((*session, status.clone()));
                }
                i += 1;
            }
            let applied = apply(Some(state), at, &statuses, &rules);
            if let Applied::Change(tr) = &applied {
                *state = tr.record.clone();
            }
            out.push(applied);
        }
    }
    out
}

fn changes(applied: &[Applied]) -> Vec<&Transition> {
    applied
        .iter()
        .filter_map(|a| match a {
            Applied::Change(t) => Some(&**t),
            _ => None,
        })
        .collect()
}

/// The history as a set of (time, field, from, to): what "the same history" compares.
fn history(applied: &[Applied]) -> Vec<(Timestamp, &'static str, Option<String>, Option<String>)> {
    let mut rows: Vec<_> = applied
        .iter()
        .flat_map(|a| {
            let (at, cs): (Timestamp, &[FieldChange]) = match a {
                Applied::Change(t) => (t.observed_at, &t.changes),
                Applied::Late(l) => (l.observed_at, &l.changes),
                _ => return Vec::new(),
            };
            cs.iter()
                .map(|c| (at, c.field.as_str(), c.from.clone(), c.to.clone()))
                .collect()
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn every_record_kind_parses() {
    let bgp = LogRecord::parse(&record("BGPStatus", "DOWN", t(5))).unwrap();
    assert_eq!(bgp.peer_id.as_str(), PEER);
    assert_eq!(bgp.at, t(5));
    assert_eq!(
        bgp.happened,
        Happened::Session {
            session: Session::Bgp,
            status: "down".into()
        }
    );
    let route = json!({"resource_arn": ARN, "event_timestamp": 1746643505367_i64,
        "type": "RouteStatus", "status": "ADVERTISED",
        "message": {"prefix": "10.24.34.0/32", "asPath": "65000", "med": 100, "nextHopIp": "10.24.34.1"}});
    let route = LogRecord::from_value(&route).unwrap();
    assert_eq!(
        route.happened,
        Happened::Route {
            change: RouteChange::Advertised,
            route: LoggedRoute {
                prefix: "10.24.34.0/32".into(),
                as_path: Some("65000".into()),
                med: Some(100),
                next_hop_ip: Some("10.24.34.1".into()),
            }
        }
    );
}

#[test]
fn a_bad_record_is_told_by_what_is_wrong() {
    let base = json!({"resource_arn": ARN, "event_timestamp": 1, "type": "BGPStatus", "status": "UP", "message": null});
    let with = |k: &str, v: Value| {
        let mut r = base.clone();
        r[k] = v;
        LogRecord::from_value(&r).unwrap_err()
    };
    assert_eq!(
        with("type", json!("OSPFStatus")),
        RecordError::UnknownType("OSPFStatus".into())
    );
    let not_peer = "arn:aws:ec2:us-east-1:111122223333:route-server/rs-1";
    assert_eq!(
        with("resource_arn", json!(not_peer)),
        RecordError::NotAPeer(not_peer.into())
    );
    assert_eq!(
        with("resource_arn", json!("rsp-1")),
        RecordError::NotAPeer("rsp-1".into())
    );
    assert!(matches!(
        with("event_timestamp", json!("yesterday")),
        RecordError::Invalid {
            field: "event_timestamp",
            ..
        }
    ));
    assert_eq!(
        with("status", json!("FLAPPING")),
        RecordError::UnknownStatus {
            kind: "BGPStatus",
            status: "FLAPPING".into()
        }
    );
    assert_eq!(with("status", Value::Null), RecordError::Missing("status"));
    let mut route = base.clone();
    route["type"] = json!("RouteStatus");
    route["status"] = json!("WITHDRAWN");
    assert_eq!(
        LogRecord::from_value(&route).unwrap_err(),
        RecordError::Missing("message")
    );
    assert!(matches!(
        LogRecord::parse("{not json"),
        Err(RecordError::NotJson(_))
    ));
    assert_eq!(LogRecord::parse("[1]"), Err(RecordError::NotAnObject));
    let e = with("type", json!("OSPFStatus")).to_string();
    assert!(e.contains("OSPFStatus") && e.contains("BGPStatus"), "{e}");
}

fn packed(json: &[u8]) -> String {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json).unwrap();
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
}

#[test]
fn a_subscription_is_unpacked_and_its_bad_forms_named() {
    let body = json!({"messageType": "DATA_MESSAGE", "owner": "111122223333",
        "logGroup": "/peerwatch/peer-logs", "logStream": "s", "subscriptionFilters": ["f"],
        "logEvents": [{"id": "1", "timestamp": 5, "message": record("BGPStatus", "DOWN", t(5))},
                      {"id": "2", "timestamp": 5, "message": "garbage"}]});
    let s = decode_subscription(&packed(body.to_string().as_bytes())).unwrap();
    assert!(!s.is_control());
    let batch = Batch::of_subscription(&s);
    assert_eq!(batch.records.len(), 1);
    assert_eq!(batch.skipped.len(), 1);
    assert_eq!(batch.skipped[0].0, 2);

    assert!(matches!(
        decode_subscription("not base64!"),
        Err(PayloadError::NotBase64(_))
    ));
    let plain = base64::engine::general_purpose::STANDARD.encode(b"{}");
    assert!(matches!(
        decode_subscription(&plain),
        Err(PayloadError::NotGzip(_))
    ));
    assert!(matches!(
        decode_subscription(&packed(b"[]")),
        Err(PayloadError::NotJson(_))
    ));
    let control = json!({"messageType": "CONTROL_MESSAGE", "logEvents": [
        {"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."}]});
    assert!(
        decode_subscription(&packed(control.to_string().as_bytes()))
            .unwrap()
            .is_control()
    );
}

#[test]
fn a_flap_between_two_polls_is_recorded_at_both_times_and_alerted() {
    let mut state = discovered();
    let applied = consume(
        &mut state,
        &[vec![
            record("BFDStatus", "DOWN", t(10)),
            record("BGPStatus", "DOWN", t(10)),
            record("BFDStatus", "UP", t(18)),
            record("BGPStatus", "UP", t(18)),
        ]],
    );
    let trs = changes(&applied);
    assert_eq!(trs.len(), 2, "{applied:#?}");
    let (down, up) = (trs[0], trs[1]);
    assert_eq!(down.observed_at, t(10));
    assert_eq!(down.source, Source::Log);
    assert_eq!(down.changes.len(), 2, "one instant, one transition");
    assert_eq!(down.severity, Severity::Critical);
    assert_eq!(down.event, Event::BgpDown);
    assert_eq!(down.notification, NotificationState::Pending);
    assert_eq!(down.expected_version, Some(1));
    assert_eq!(up.observed_at, t(18));
    assert_eq!(up.severity, Severity::Recovery);
    assert_eq!(up.notification, NotificationState::Pending);
    assert_eq!(up.previous_duration_seconds, Some(8));
    assert_eq!(up.expected_version, Some(2));
    assert_eq!(state.health, Health::Healthy);
    assert_eq!(state.last_changed_at, t(18));
    assert_eq!(state.open_alert, None);
}

#[test]
fn the_same_batch_twice_writes_nothing_the_second_time() {
    let batch = vec![
        record("BGPStatus", "DOWN", t(10)),
        record("BGPStatus", "UP", t(18)),
    ];
    let mut state = discovered();
    consume(&mut state, std::slice::from_ref(&batch));
    let again = consume(&mut state, &[batch]);
    // The down is older than the last change, but the state remembers the window it held
    // (this very record's millisecond); the up is the present value's.
    assert_eq!(again, vec![Applied::Reflected, Applied::Reflected]);
}

#[test]
fn batches_in_reverse_order_give_the_same_changes() {
    let a = vec![
        record("BGPStatus", "DOWN", t(10)),
        record("BGPStatus", "UP", t(12)),
    ];
    let b = vec![
        record("BGPStatus", "DOWN", t(30)),
        record("BGPStatus", "UP", t(33)),
    ];
    let mut forward = discovered();
    let fwd = consume(&mut forward, &[a.clone(), b.clone()]);
    let mut backward = discovered();
    let bwd = consume(&mut backward, &[b, a]);
    assert_eq!(history(&fwd), history(&bwd));
    assert_eq!(history(&fwd).len(), 4);
    assert_eq!(forward.peer, backward.peer);
    assert_eq!(forward.last_changed_at, backward.last_changed_at);
    // Arriving after the newer batch, the older one is late: kept, not alerted.
    assert!(bwd.iter().filter(|a| matches!(a, Applied::Late(_))).count() == 2);
}

#[test]
fn a_record_older_than_the_last_change_is_kept_late_and_changes_nothing() {
    let mut state = discovered();
    consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(50))]]);
    let before = state.clone();
    let applied = consume(&mut state, &[vec![record("BFDStatus", "DOWN", t(20))]]);
    let [Applied::Late(late)] = &applied[..] else {
        panic!("{applied:#?}")
    };
    assert_eq!(late.observed_at, t(20));
    assert_eq!(late.last_changed_at, t(50));
    assert_eq!(late.version, before.version);
    // BGP is down now, so the BFD record's own moment reads as down either way.
    assert_eq!(
        (late.health_from, late.health_to),
        (Health::Down, Health::Down)
    );
    assert_eq!(
        late.changes,
        vec![FieldChange {
            field: Field::BfdStatus,
            from: Some("up".into()),
            to: Some("down".into())
        }]
    );
    assert_eq!(state, before);
}

#[test]
fn a_change_the_poll_saw_first_is_not_recorded_again() {
    let rules = Rules::default();
    let known = HashMap::from([(PEER.to_string(), discovered())]);
    let polled = detect(&known, &[peer("down", "up")], t(60), &rules);
    let mut state = polled[0].record.clone();
    assert_eq!(polled[0].source, Source::Poll);
    let applied = consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(40))]]);
    assert_eq!(applied, vec![Applied::Reflected]);
}

#[test]
fn a_change_the_logs_recorded_is_not_recorded_again_by_the_poll() {
    let mut state = discovered();
    consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(10))]]);
    let known = HashMap::from([(PEER.to_string(), state.clone())]);
    assert!(detect(&known, &[peer("down", "up")], t(60), &Rules::default()).is_empty());
    // ... and one the logs missed is the poll's.
    let missed = detect(&known, &[peer("down", "down")], t(60), &Rules::default());
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].source, Source::Poll);
}

#[test]
fn two_instants_in_one_millisecond_from_two_batches_get_two_keys() {
    let mut state = discovered();
    let applied = consume(
        &mut state,
        &[
            vec![record("BFDStatus", "DOWN", t(10))],
            vec![record("BGPStatus", "DOWN", t(10))],
        ],
    );
    let trs = changes(&applied);
    assert_eq!(trs.len(), 2);
    assert_eq!(trs[0].observed_at, t(10));
    assert_eq!(trs[1].observed_at, t(10).plus_millis(1));
}

#[test]
fn sub_poll_flaps_count_for_flap_detection() {
    let mut state = discovered();
    let mut batch = Vec::new();
    for i in 0..4 {
        batch.push(record("BGPStatus", "DOWN", t(10 + i * 20)));
        batch.push(record("BGPStatus", "UP", t(20 + i * 20)));
    }
    let applied = consume(&mut state, &[batch]);
    let trs = changes(&applied);
    assert_eq!(trs.len(), 8);
    assert!(trs.iter().any(|t| t.event == Event::PeerFlapping));
    assert!(state.alerting.flapping_since.is_some());
}

#[test]
fn an_untracked_peer_is_left_to_the_poll() {
    let rules = Rules::default();
    let statuses = [(Session::Bgp, "down".to_string())];
    assert_eq!(apply(None, t(1), &statuses, &rules), Applied::Untracked);
    let mut gone = discovered();
    gone.present = false;
    assert_eq!(
        apply(Some(&gone), t(1), &statuses, &rules),
        Applied::Untracked
    );
}

#[test]
fn files_of_json_lines_plain_or_gzip_and_back_to_back_records() {
    let lines = format!(
        "{}\n\n{}{}\nnot json\n",
        record("BGPStatus", "DOWN", t(1)),
        record("BGPStatus", "UP", t(3)),
        record("BFDStatus", "UP", t(2)),
    );
    let plain = Batch::of_file(lines.as_bytes()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(lines.as_bytes()).unwrap();
    let zipped = Batch::of_file(&gz.finish().unwrap()).unwrap();
    for batch in [&plain, &zipped] {
        assert_eq!(
            batch.records.iter().map(|r| r.at).collect::<Vec<_>>(),
            [t(1), t(2), t(3)],
            "in time order"
        );
        assert_eq!(batch.skipped.len(), 1);
        assert_eq!(batch.skipped[0].0, 4, "numbered by line");
    }
    assert!(matches!(
        Batch::of_file(&[0x1f, 0x8b, 0, 1]),
        Err(FileError::NotGzip(_))
    ));
    assert!(matches!(
        Batch::of_file(&[0xff, 0xfe]),
        Err(FileError::NotText(_))
    ));
}

#[test]
fn a_delayed_record_of_a_change_the_poll_recorded_is_not_kept_again_once_superseded() {
    let rules = Rules::default();
    let known = HashMap::from([(PEER.to_string(), discovered())]);
    // The poll sees BGP down at 60 s, then up again at 120 s.
    let down = detect(&known, &[peer("down", "up")], t(60), &rules);
    let known = HashMap::from([(PEER.to_string(), down[0].record.clone())]);
    let up = detect(&known, &[peer("up", "up")], t(120), &rules);
    let mut state = up[0].record.clone();
    // The down's own record (at 40 s) arrives now: that change is in the history already.
    let applied = consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(40))]]);
    assert_eq!(applied, vec![Applied::Reflected]);
    // A down at 10 s, before the poll's window opened, is another change: kept as late.
    let older = consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(-10))]]);
    assert!(matches!(&older[..], [Applied::Late(_)]), "{older:#?}");
}

#[test]
fn a_change_made_while_the_poll_listed_is_the_polls() {
    let rules = Rules::default();
    let known = HashMap::from([(PEER.to_string(), discovered())]);
    let mut polled = detect(&known, &[peer("down", "up")], t(60), &rules);
    // The listing was answered 2 s after ObservedAt; the change happened in between.
    crate::detect::listing_answered(&mut polled, t(62));
    let mut state = polled[0].record.clone();
    let applied = consume(&mut state, &[vec![record("BGPStatus", "DOWN", t(61))]]);
    assert_eq!(applied, vec![Applied::Reflected]);
}
