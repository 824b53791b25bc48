//! Seeded fuzzing on stable Rust (fastrand, no cargo-fuzz): what peerwatch parses from outside.
//! Lambda payloads into `options_from_payload` and peer log records into `LogRecord` (never a
//! panic; an answer or a short error that names what is wrong), and odd-but-valid describe content through the simulator into cycles
//! (no panic; the history checker finds the records true). `FUZZ_SEED=N` reruns one seed.

use std::collections::BTreeMap;

use peerwatch_core::ids::RouteServerId;
use peerwatch_poller::handler::{HandlerError, options_from_payload};
use peerwatch_testkit::chaos::{self, CycleRun, Observed};
use serde_json::{Map, Value, json};

use crate::helpers::Stack;

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(seed) => vec![seed],
        None => default.collect(),
    }
}

fn string(rng: &mut fastrand::Rng) -> String {
    match rng.u32(0..6) {
        0 => format!("rs-{:017x}", rng.u64(..)),
        1 => "rs-".into(),
        2 => String::new(),
        3 => (0..rng.usize(0..40)).map(|_| rng.char(..)).collect(),
        4 if rng.u32(0..10) == 0 => "x".repeat(rng.usize(0..100_000)),
        4 => "x".repeat(rng.usize(0..300)),
        _ => ["true", "dryRun", "null", "rs-0\u{0}", "\u{202e}rs-1"][rng.usize(..5)].into(),
    }
}

/// A random JSON value, nested at most `depth` deep; sometimes huge.
fn value(rng: &mut fastrand::Rng, depth: u32) -> Value {
    match rng.u32(0..if depth == 0 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.bool()),
        2 => match rng.u32(0..3) {
            0 => json!(rng.i64(..)),
            1 => json!(rng.f64() * 1e300),
            _ => json!(rng.u64(..)),
        },
        3 | 4 => json!(string(rng)),
        // Now and then a huge array, of scalars (nested huge ones would take minutes).
        5 if rng.u32(0..20) == 0 => Value::Array(
            (0..rng.usize(1000..20_000))
                .map(|_| value(rng, 0))
                .collect(),
        ),
        5 => Value::Array(
            (0..rng.usize(0..6))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.usize(0..6) {
                let key = match rng.u32(0..4) {
                    0 => "dryRun".to_string(),
                    1 => "routeServerIds".to_string(),
                    _ => string(rng),
                };
                m.insert(key, value(rng, depth - 1));
            }
            Value::Object(m)
        }
    }
}

/// A payload that is mostly a scheduled event or the options, with random damage.
fn payload(rng: &mut fastrand::Rng) -> Value {
    let mut p = match rng.u32(0..4) {
        0 => {
            json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
        }
        1 => json!({"dryRun": true, "routeServerIds": ["rs-0123456789abcdef0"]}),
        2 => json!({}),
        _ => return value(rng, 8),
    };
    if let Some(obj) = p.as_object_mut() {
        for _ in 0..rng.usize(0..3) {
            let key = ["dryRun", "routeServerIds", "detail", "resources"][rng.usize(..4)];
            obj.insert(key.into(), value(rng, 4));
        }
    }
    p
}

#[test]
fn fuzz_lambda_payloads_never_panic_and_errors_are_short_and_named() {
    for seed in seeds(0..32) {
        let mut rng = fastrand::Rng::with_seed(seed);
        for i in 0..200 {
            let p = payload(&mut rng);
            // Also as the runtime would get it: text, parsed again.
            let text = serde_json::to_string(&p).expect("a Value serialises");
            let parsed: Value = serde_json::from_str(&text).expect("and parses back");
            let outcome = std::panic::catch_unwind(|| options_from_payload(&parsed));
            let outcome = outcome.unwrap_or_else(|_| panic!("FUZZ_SEED={seed} case {i} panicked"));
            let obj = parsed.as_object();
            let ids = obj.and_then(|o| o.get("routeServerIds"));
            let dry = obj.and_then(|o| o.get("dryRun"));
            let valid = obj.is_some()
                && dry.is_none_or(|d| d.is_null() || d.is_boolean())
                && ids.is_none_or(|v| {
                    v.is_null()
                        || v.as_array().is_some_and(|a| {
                            !a.is_empty()
                                && a.iter().all(|id| {
                                    id.as_str().is_some_and(|s| RouteServerId::parse(s).is_ok())
                                })
                        })
                });
            match outcome {
                Ok(opts) => {
                    assert!(valid, "FUZZ_SEED={seed} case {i}: accepted {text:.200}");
                    assert_eq!(opts.dry_run, dry.and_then(Value::as_bool).unwrap_or(false));
                }
                Err(HandlerError::InvalidPayload(msg)) => {
                    assert!(
                        !valid,
                        "FUZZ_SEED={seed} case {i}: rejected {text:.200}: {msg}"
                    );
                    let names = ["dryRun", "routeServerIds", "expected a JSON object"]
                        .iter()
                        .any(|n| msg.contains(n));
                    assert!(names, "FUZZ_SEED={seed} case {i}: unclear error {msg:.300}");
                    assert!(
                        msg.len() <= 400,
                        "FUZZ_SEED={seed} case {i}: an error of {} bytes echoes the payload: {msg:.300}",
                        msg.len()
                    );
                }
                Err(e) => panic!("FUZZ_SEED={seed} case {i}: {e}"),
            }
        }
    }
}

/// Odd but valid describe content into real cycles: empty pages, huge tag sets, missing
/// statuses, values a newer API may send. Every cycle succeeds and the history is true.
#[tokio::test(flavor = "multi_thread")]
async fn fuzz_describe_content_through_cycles() {
    for seed in seeds(0..4) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let stack = Stack::with(|c| {
            c.alerting.storm_threshold = 0;
            c.alerting.flap_threshold = 0;
            c.alerting.remind_every_minutes = 0;
        })
        .await;
        stack.sim.control("POST", "/_sim/log", None);
        let ids = stack.sim.fleet(2, 3);
        let mut cycles = Vec::new();
        for _ in 0..8 {
            for _ in 0..rng.usize(1..4) {
                let id = &ids[rng.usize(..ids.len())];
                let odd = ["", "up", "down", "init", "SHUTTING_DOWN", "\u{1F525}"];
                let patch = match rng.u32(0..5) {
                    0 => json!({"bgpStatus": odd[rng.usize(..odd.len())]}),
                    1 => json!({"bfdStatus": odd[rng.usize(..odd.len())]}),
                    2 => {
                        let long = "x".repeat(300);
                        let states = ["available", "failing", "modifying", long.as_str()];
                        json!({ "state": states[rng.usize(..states.len())] })
                    }
                    // A huge tag set, as large as EC2 allows: 50 tags, keys of 128, values of 256.
                    3 => {
                        let tags: BTreeMap<String, String> = (0..rng.usize(0..=50))
                            .map(|i| {
                                (
                                    format!("k{i}<&>{}", "k".repeat(120)),
                                    "v".repeat(rng.usize(0..=256)),
                                )
                            })
                            .collect();
                        json!({ "tags": tags })
                    }
                    _ => json!({"state": "available", "bgpStatus": "up", "bfdStatus": "up"}),
                };
                let (status, body) = stack.sim.control(
                    "POST",
                    &format!("/_sim/peers/{id}"),
                    Some(&patch.to_string()),
                );
                assert_eq!(status, 200, "{body}");
            }
            if rng.bool() {
                let fault = json!({"action": "DescribeRouteServerPeers", "count": rng.u32(1..3), "emptyPage": true});
                let (status, body) =
                    stack
                        .sim
                        .control("POST", "/_sim/faults", Some(&fault.to_string()));
                assert_eq!(status, 200, "{body}");
            }
            let started_ms = now_ms();
            let summary = stack.poller.run(Default::default()).await;
            let summary = summary.unwrap_or_else(|e| {
                panic!("FUZZ_SEED={seed}: {}", peerwatch_core::error_chain(&e))
            });
            assert!(
                summary.peers_seen >= ids.len(),
                "FUZZ_SEED={seed}: {summary:?}"
            );
            cycles.push(CycleRun {
                started_ms,
                ended_ms: now_ms(),
                completed: true,
            });
            stack.sim.control("DELETE", "/_sim/faults", None);
        }
        let log = stack.sim.control("GET", "/_sim/log", None).1;
        let observed = Observed {
            changes: crate::chaos::sim_changes(&log),
            records: stack
                .history()
                .await
                .iter()
                .map(crate::chaos::record_of)
                .collect(),
            state_versions: crate::chaos::state_versions(&stack).await,
            deliveries: stack
                .deliveries()
                .await
                .iter()
                .filter_map(crate::chaos::delivery_of)
                .collect(),
            cycles,
            ambiguous_events: 0,
            excuse_stale_overlap: false,
        };
        let report = chaos::check(&observed);
        assert!(report.violations.is_empty(), "FUZZ_SEED={seed}: {report}");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Peer log records and `awslogs` payloads, from outside: a valid record with one field
/// replaced, removed or added is parsed or refused with a short error naming the field; random
/// bytes as `awslogs.data` never panic the decoder.
#[test]
fn fuzz_peer_log_records_never_panic_and_errors_name_the_field() {
    use peerwatch_core::peer_logs::{LogRecord, decode_subscription};
    const FIELDS: [&str; 5] = [
        "resource_arn",
        "event_timestamp",
        "type",
        "status",
        "message",
    ];
    for seed in seeds(0..16) {
        let mut rng = fastrand::Rng::with_seed(seed);
        for i in 0..200 {
            let mut record = json!({
                "resource_arn": "arn:aws:ec2:us-east-1:111122223333:route-server-peer/rsp-0a1b2c3d4e5f60718",
                "event_timestamp": 1_764_590_400_000_i64, "type": "RouteStatus", "status": "UPDATED",
                "message": {"prefix": "10.0.0.0/16", "asPath": "65001 65002", "med": 10, "nextHopIp": "10.0.1.5"}});
            let field = FIELDS[rng.usize(..FIELDS.len())];
            match rng.u32(0..3) {
                0 => record[field] = value(&mut rng, 2),
                1 => {
                    record.as_object_mut().expect("an object").remove(field);
                }
                _ => {
                    record["message"][["prefix", "asPath", "med", "nextHopIp"][rng.usize(..4)]] =
                        value(&mut rng, 1)
                }
            }
            let text = record.to_string();
            let parsed = std::panic::catch_unwind(|| LogRecord::from_value(&record))
                .unwrap_or_else(|_| panic!("FUZZ_SEED={seed} case {i} panicked: {text:.300}"));
            if let Err(e) = parsed {
                let msg = e.to_string();
                assert!(
                    FIELDS.iter().any(|f| msg.contains(f))
                        || ["type", "status", "JSON object", "ARN"]
                            .iter()
                            .any(|w| msg.contains(w)),
                    "FUZZ_SEED={seed} case {i}: unclear error {msg:.300}"
                );
                assert!(
                    msg.len() <= 400,
                    "FUZZ_SEED={seed} case {i}: an error of {} bytes echoes the record: {msg:.300}",
                    msg.len()
                );
            }
            let bytes: String = (0..rng.usize(0..200)).map(|_| rng.char(..)).collect();
            let decoded = std::panic::catch_unwind(|| decode_subscription(&bytes).is_ok());
            assert!(
                decoded.is_ok(),
                "FUZZ_SEED={seed} case {i}: the decoder panicked"
            );
        }
    }
}
