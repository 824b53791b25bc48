//! `peerwatch logging enable|status|disable` against moto (through the project's wrapper, which
//! lets moto's PutDeliverySource accept route server peers), the binary driven as a user drives
//! it. Each command runs twice, and what exists is read back independently, with boto3's
//! DescribeDeliverySources and DescribeDeliveries, not through peerwatch's code.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_aws::store::record_to_item;
use peerwatch_core::model::Health;
use peerwatch_testkit::emulators::{project_python, unique_name};
use peerwatch_testkit::fixtures::peer_record;
use serde_json::{Value, json};

use crate::helpers::{Stack, moto, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

/// moto's account: every ARN it makes is in it.
const ACCOUNT: &str = "123456789012";

/// boto3 against the shared moto: `call OPERATION JSON` answers `{"ok": response}` or
/// `{"error": {"Code", "Message"}}`; `read` answers every delivery source and delivery.
const BOTO3: &str = r#"
import json, sys
import boto3, botocore
logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                    aws_access_key_id="test", aws_secret_access_key="test")
def every(op, key):
    out, token = [], None
    while True:
        page = getattr(logs, op)(**({"nextToken": token} if token else {}))
        out += page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return out
try:
    if sys.argv[2] == "read":
        out = {"sources": every("describe_delivery_sources", "deliverySources"),
               "deliveries": every("describe_deliveries", "deliveries")}
    else:
        out = getattr(logs, sys.argv[2])(**json.loads(sys.argv[3]))
        out.pop("ResponseMetadata", None)
    print(json.dumps({"ok": out}, default=str))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]}))
"#;

fn boto3(args: &[&str]) -> Value {
    let out = std::process::Command::new(project_python())
        .arg("-c")
        .arg(BOTO3)
        .arg(moto().endpoint())
        .args(args)
        .output()
        .expect("python runs (make venv)");
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("boto3 answers JSON")
}

/// A CloudWatch Logs call through boto3; `Err` carries CloudWatch's error.
fn logs(operation: &str, args: Value) -> Result<Value, Value> {
    let mut answer = boto3(&[operation, &args.to_string()]);
    match answer.get_mut("ok") {
        Some(ok) => Ok(ok.take()),
        None => Err(answer["error"].take()),
    }
}

/// What exists for these peers, read independently: each peer's source (name, resource ARNs,
/// log type) and its deliveries (destination ARN by delivery id).
#[derive(Debug, PartialEq, Eq, Default)]
struct Seen {
    sources: BTreeMap<String, (Vec<String>, String)>,
    deliveries: BTreeMap<String, BTreeMap<String, String>>,
}

fn seen(peers: &[&str]) -> Seen {
    let all = boto3(&["read"]);
    let names: Vec<String> = peers.iter().map(|p| format!("peerwatch-{p}")).collect();
    let mine = |v: &Value, key: &str| names.iter().any(|n| v[key] == n.as_str());
    let mut seen = Seen::default();
    for s in all["ok"]["sources"].as_array().expect("sources") {
        if mine(s, "name") {
            let arns = serde_json::from_value(s["resourceArns"].clone()).expect("ARNs");
            let log_type = s["logType"].as_str().unwrap_or_default().to_string();
            seen.sources
                .insert(s["name"].as_str().unwrap().to_string(), (arns, log_type));
        }
    }
    for d in all["ok"]["deliveries"].as_array().expect("deliveries") {
        if mine(d, "deliverySourceName") {
            seen.deliveries
                .entry(d["deliverySourceName"].as_str().unwrap().to_string())
                .or_default()
                .insert(
                    d["id"].as_str().unwrap().to_string(),
                    d["deliveryDestinationArn"].as_str().unwrap().to_string(),
                );
        }
    }
    seen
}

fn peer_arn(peer: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT}:route-server-peer/{peer}")
}

/// A peer id no other test uses: delivery sources are per account and region, and moto is
/// shared by the whole test binary.
fn unique_peer() -> String {
    format!("rsp-{}", unique_name("0").replace('-', ""))
}

/// A new log group and a delivery destination on it; answers the destination's ARN.
fn destination() -> String {
    let name = unique_name("peer-logs");
    logs("create_log_group", json!({"logGroupName": name})).expect("log group");
    let made = logs(
        "put_delivery_destination",
        json!({
            "name": name,
            "deliveryDestinationConfiguration": {
                "destinationResourceArn": format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}")
            }
        }),
    )
    .expect("delivery destination");
    let arn = made["deliveryDestination"]["arn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        arn,
        format!("arn:aws:logs:us-east-1:{ACCOUNT}:delivery-destination:{name}")
    );
    arn
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// `peerwatch` with the stack's settings and CloudWatch Logs at moto; `env` adds variables.
fn peerwatch_env(stack: &Stack, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = user_command(PEERWATCH.as_str(), Some(stack));
    cmd.env("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", moto().endpoint());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().expect("peerwatch runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn peerwatch(stack: &Stack, dest: &str, args: &[&str]) -> Run {
    peerwatch_env(stack, &[("PEER_LOGS_DESTINATION_ARN", dest)], args)
}

/// A `logging` command that must succeed, as JSON.
fn logging_json(stack: &Stack, dest: &str, args: &[&str]) -> Value {
    let mut all = vec!["logging"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "json"]);
    let run = peerwatch(stack, dest, &all);
    assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
    run.json()
}

/// Each row's `field`, by peer.
fn by_peer(doc: &Value, field: &str) -> BTreeMap<String, Value> {
    doc["peers"]
        .as_array()
        .expect("peers")
        .iter()
        .map(|p| {
            (
                p["routeServerPeerId"].as_str().unwrap().to_string(),
                p[field].clone(),
            )
        })
        .collect()
}

fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn enable_status_and_disable_are_idempotent_as_read_back_independently() {
    let stack = Stack::new().await;
    let dest = destination();
    let (p1, p2) = (unique_peer(), unique_peer());
    let both = format!("{p1},{p2}");
    let peers = [p1.as_str(), p2.as_str()];

    let status = logging_json(&stack, &dest, &["status", "--peer", &both]);
    assert_eq!(status["destinationArn"], dest.as_str());
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[(&p1, json!("off")), (&p2, json!("off"))])
    );
    assert_eq!(seen(&peers), Seen::default());

    // Enabled: one source per peer naming its ARN, one delivery from it to the destination.
    let enabled = logging_json(&stack, &dest, &["enable", "--peer", &both]);
    assert_eq!(
        by_peer(&enabled, "changed"),
        map(&[(&p1, json!(true)), (&p2, json!(true))])
    );
    assert_eq!(enabled["failed"], json!([]));
    let after_enable = seen(&peers);
    for p in peers {
        let name = format!("peerwatch-{p}");
        assert_eq!(
            after_enable.sources[&name],
            (vec![peer_arn(p)], "EVENT_LOGS".to_string()),
            "{after_enable:?}"
        );
        let deliveries = &after_enable.deliveries[&name];
        assert_eq!(deliveries.len(), 1, "{after_enable:?}");
        let (id, to) = deliveries.iter().next().unwrap();
        assert_eq!(to, &dest);
        let row = enabled["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["routeServerPeerId"] == p)
            .unwrap();
        assert_eq!(
            (
                &row["deliveryId"],
                &row["deliverySource"],
                &row["createdDeliverySource"],
                &row["createdDelivery"]
            ),
            (&json!(id), &json!(name), &json!(true), &json!(true))
        );
    }

    // Enabled again: nothing changes, the same delivery ids stay.
    let again = logging_json(&stack, &dest, &["enable", "--peer", &both]);
    assert_eq!(
        by_peer(&again, "changed"),
        map(&[(&p1, json!(false)), (&p2, json!(false))])
    );
    assert_eq!(seen(&peers), after_enable);
    let table = peerwatch(&stack, &dest, &["logging", "enable", "--peer", &both]);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with(&p1) && l.contains("already on")),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.ends_with(&format!(
            "2 peers: 0 enabled, 2 already on (destination {dest})\n"
        )),
        "{}",
        table.stdout
    );

    // Status says on, with the delivery that exists; twice, the same.
    for _ in 0..2 {
        let status = logging_json(&stack, &dest, &["status", "--peer", &both]);
        assert_eq!(
            by_peer(&status, "logging"),
            map(&[(&p1, json!("on")), (&p2, json!("on"))])
        );
        let ids = by_peer(&status, "deliveryId");
        for p in peers {
            let name = format!("peerwatch-{p}");
            let id = after_enable.deliveries[&name].keys().next().unwrap();
            assert_eq!(ids[p], json!(id));
        }
    }
    let table = peerwatch(&stack, &dest, &["logging", "status", "--peer", &both]);
    assert_eq!(table.code, Some(0), "{}", table.stderr);
    let header = table.stdout.lines().next().unwrap();
    for column in ["PEER", "LOGGING", "DELIVERY SOURCE", "DELIVERY", "DETAIL"] {
        assert!(header.contains(column), "{header}");
    }
    let row = table.stdout.lines().find(|l| l.starts_with(&p2)).unwrap();
    assert!(
        row.contains(" on ") && row.contains(&format!("peerwatch-{p2}")),
        "{row}"
    );
    assert!(
        table.stdout.ends_with(&format!(
            "2 peers: 2 on, 0 partial, 0 off (destination {dest})\n"
        )),
        "{}",
        table.stdout
    );

    // Disabled: the delivery, then the source; the other peer keeps its own.
    let disabled = logging_json(&stack, &dest, &["disable", "--peer", &p1]);
    let p1_delivery = after_enable.deliveries[&format!("peerwatch-{p1}")]
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(
        disabled["peers"],
        json!([{"routeServerPeerId": p1, "changed": true, "deletedDeliveries": [p1_delivery],
                "deletedDeliverySource": true}])
    );
    let after_disable = seen(&peers);
    let p2_name = format!("peerwatch-{p2}");
    assert_eq!(after_disable.sources.keys().collect::<Vec<_>>(), [&p2_name]);
    assert_eq!(
        after_disable.deliveries,
        after_enable
            .deliveries
            .iter()
            .filter(|(k, _)| **k == p2_name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    );

    // Disabled again: nothing to delete, nothing deleted.
    let again = logging_json(&stack, &dest, &["disable", "--peer", &p1]);
    assert_eq!(
        again["peers"],
        json!([{"routeServerPeerId": p1, "changed": false, "deletedDeliveries": [],
                "deletedDeliverySource": false}])
    );
    assert_eq!(seen(&peers), after_disable);
    let status = logging_json(&stack, &dest, &["status", "--peer", &both]);
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[(&p1, json!("off")), (&p2, json!("on"))])
    );

    logging_json(&stack, &dest, &["disable", "--peer", &p2]);
    assert_eq!(seen(&peers), Seen::default());
}

/// Writes `PeerState` records as the poller writes them: (peer, route server, present).
async fn seed(stack: &Stack, peers: &[(&str, &str, bool)]) {
    let ddb = stack.poller.store().client();
    for (peer, rs, present) in peers {
        let item: HashMap<String, AttributeValue> = record_to_item(&peer_record(
            peer,
            rs,
            Health::Healthy,
            "up",
            *present,
            1_779_000_000_000,
        ));
        ddb.put_item()
            .table_name(&stack.config.peer_state_table)
            .set_item(Some(item))
            .send()
            .await
            .expect("put PeerState");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn route_server_and_all_take_the_peers_recorded_in_peer_state() {
    let stack = Stack::new().await;
    let dest = destination();
    let (rs_a, rs_b) = ("rs-0a0000000000000a1", "rs-0b0000000000000b1");
    let (a1, a2, gone, b1) = (unique_peer(), unique_peer(), unique_peer(), unique_peer());
    seed(
        &stack,
        &[
            (&a1, rs_a, true),
            (&a2, rs_a, true),
            (&gone, rs_a, false),
            (&b1, rs_b, true),
        ],
    )
    .await;
    let peers = [a1.as_str(), a2.as_str(), gone.as_str(), b1.as_str()];
    let mut a = [a1.clone(), a2.clone()];
    a.sort();

    // Enable: the route server's present peers only, and only once.
    let enabled = logging_json(&stack, &dest, &["enable", "--route-server", rs_a]);
    assert_eq!(
        by_peer(&enabled, "changed"),
        map(&[(&a1, json!(true)), (&a2, json!(true))])
    );
    let after = seen(&peers);
    assert_eq!(
        after.sources.keys().cloned().collect::<Vec<_>>(),
        a.iter()
            .map(|p| format!("peerwatch-{p}"))
            .collect::<Vec<_>>()
    );
    assert!(
        after
            .deliveries
            .values()
            .all(|d| d.len() == 1 && d.values().all(|to| *to == dest))
    );
    let again = logging_json(&stack, &dest, &["enable", "--route-server", rs_a]);
    assert_eq!(
        by_peer(&again, "changed"),
        map(&[(&a1, json!(false)), (&a2, json!(false))])
    );
    assert_eq!(seen(&peers), after);

    // Status: every recorded peer of the route server, the vanished one too.
    let status = logging_json(&stack, &dest, &["status", "--route-server", rs_a]);
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[
            (&a1, json!("on")),
            (&a2, json!("on")),
            (&gone, json!("off"))
        ])
    );
    let status = logging_json(&stack, &dest, &["status", "--all"]);
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[
            (&a1, json!("on")),
            (&a2, json!("on")),
            (&gone, json!("off")),
            (&b1, json!("off"))
        ])
    );

    // Disable --all: what is on goes, the rest is left as it is; then nothing more.
    let disabled = logging_json(&stack, &dest, &["disable", "--all"]);
    assert_eq!(
        by_peer(&disabled, "changed"),
        map(&[
            (&a1, json!(true)),
            (&a2, json!(true)),
            (&gone, json!(false)),
            (&b1, json!(false))
        ])
    );
    assert_eq!(seen(&peers), Seen::default());
    let again = logging_json(&stack, &dest, &["disable", "--all"]);
    assert!(
        by_peer(&again, "changed")
            .values()
            .all(|c| *c == json!(false)),
        "{again}"
    );
    assert_eq!(seen(&peers), Seen::default());

    // A route server with no recorded peer has nothing to enable.
    let run = peerwatch(
        &stack,
        &dest,
        &[
            "logging",
            "enable",
            "--route-server",
            "rs-0c0000000000000c1",
        ],
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no present peers of route server rs-0c0000000000000c1 recorded in table"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_or_missing_destination_is_refused_before_anything_is_created() {
    let stack = Stack::new().await;
    let dest = destination();
    let p = unique_peer();

    // The log group's ARN where the destination's belongs: a usage error, nothing called.
    let log_group = format!("arn:aws:logs:us-east-1:{ACCOUNT}:log-group:peer-logs");
    let run = peerwatch(
        &stack,
        &dest,
        &[
            "logging",
            "enable",
            "--peer",
            &p,
            "--destination",
            &log_group,
        ],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "invalid --destination: \"{log_group}\" is not a CloudWatch Logs delivery destination ARN"
        )) && run.stderr.contains("the resource type is \"log-group\", not delivery-destination"),
        "{}",
        run.stderr
    );
    let run = peerwatch_env(
        &stack,
        &[(
            "PEER_LOGS_DESTINATION_ARN",
            "arn:aws:logs:us-east-1:12345:delivery-destination:d",
        )],
        &["logging", "status", "--peer", &p],
    );
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("PEER_LOGS_DESTINATION_ARN is invalid")
            && run
                .stderr
                .contains("the account \"12345\" is not 12 digits"),
        "{}",
        run.stderr
    );
    let run = peerwatch_env(&stack, &[], &["logging", "enable", "--peer", &p]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "no delivery destination: give --destination ARN or set PEER_LOGS_DESTINATION_ARN"
        ),
        "{}",
        run.stderr
    );

    // Well formed, but no such destination: found out before any source is created.
    let missing = format!(
        "arn:aws:logs:us-east-1:{ACCOUNT}:delivery-destination:{}",
        unique_name("none")
    );
    let run = peerwatch(&stack, &missing, &["logging", "enable", "--peer", &p]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "delivery destination {} does not exist in account {ACCOUNT}, region us-east-1",
            missing.rsplit(':').next().unwrap()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(seen(&[&p]), Seen::default());

    // The flag overrides the setting.
    let run = peerwatch(
        &stack,
        &missing,
        &[
            "logging",
            "enable",
            "--peer",
            &p,
            "--destination",
            &dest,
            "--output",
            "json",
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["destinationArn"], dest.as_str());
    let name = format!("peerwatch-{p}");
    assert_eq!(
        seen(&[&p]).deliveries[&name].values().collect::<Vec<_>>(),
        [&dest]
    );
    logging_json(&stack, &dest, &["disable", "--peer", &p]);
}

#[tokio::test(flavor = "multi_thread")]
async fn partial_logging_is_told_completed_or_refused_and_disable_clears_it() {
    let stack = Stack::new().await;
    let dest = destination();
    let other = destination();
    let (lone, elsewhere) = (unique_peer(), unique_peer());
    let peers = [lone.as_str(), elsewhere.as_str()];
    let put_source = |p: &str| {
        logs(
            "put_delivery_source",
            json!({"name": format!("peerwatch-{p}"), "resourceArn": peer_arn(p), "logType": "EVENT_LOGS"}),
        )
        .expect("source")
    };
    put_source(&lone);
    put_source(&elsewhere);
    logs(
        "create_delivery",
        json!({"deliverySourceName": format!("peerwatch-{elsewhere}"), "deliveryDestinationArn": other}),
    )
    .expect("delivery elsewhere");
    // The wrapper accepts a route server peer's EVENT_LOGS only, as CloudWatch does.
    let refused = logs(
        "put_delivery_source",
        json!({"name": unique_name("x"), "resourceArn": peer_arn(&lone), "logType": "ACCESS_LOGS"}),
    )
    .unwrap_err();
    assert_eq!(refused["Code"], "ValidationException", "{refused}");

    let status = logging_json(
        &stack,
        &dest,
        &["status", "--peer", &format!("{lone},{elsewhere}")],
    );
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[(&lone, json!("partial")), (&elsewhere, json!("partial"))])
    );
    assert_eq!(
        by_peer(&status, "detail"),
        map(&[
            (&lone, json!("the delivery source delivers nowhere")),
            (
                &elsewhere,
                json!("the delivery source delivers to other destinations only")
            )
        ])
    );
    assert_eq!(
        by_peer(&status, "otherDestinations")[&elsewhere],
        json!([other])
    );

    // The lone source gets its delivery; the source is kept as it was.
    let enabled = logging_json(&stack, &dest, &["enable", "--peer", &lone]);
    assert_eq!(
        (
            &enabled["peers"][0]["createdDeliverySource"],
            &enabled["peers"][0]["createdDelivery"]
        ),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        seen(&[&lone]).deliveries[&format!("peerwatch-{lone}")]
            .values()
            .collect::<Vec<_>>(),
        [&dest]
    );

    // moto allows one log-group delivery per source: the conflict is reported, not taken
    // for logging that is on.
    let before = seen(&peers);
    let run = peerwatch(
        &stack,
        &dest,
        &[
            "logging", "enable", "--peer", &elsewhere, "--output", "json",
        ],
    );
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let doc = run.json();
    assert_eq!(doc["peers"], json!([]));
    assert_eq!(doc["failed"][0]["routeServerPeerId"], elsewhere.as_str());
    assert!(
        run.stderr.contains(&format!(
            "logging could not be enabled for 1 of 1 peers:\n  peer {elsewhere}: CloudWatch Logs CreateDelivery failed: ConflictException"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(seen(&peers), before);

    // Disable clears the source's deliveries wherever they go, then the source.
    let disabled = logging_json(&stack, &dest, &["disable", "--peer", &elsewhere]);
    assert_eq!(disabled["peers"][0]["changed"], json!(true));
    assert_eq!(seen(&[&elsewhere]), Seen::default());
    let status = logging_json(&stack, &dest, &["status", "--peer", &elsewhere]);
    assert_eq!(
        by_peer(&status, "logging"),
        map(&[(&elsewhere, json!("off"))])
    );

    logging_json(&stack, &dest, &["disable", "--peer", &lone]);
    assert_eq!(seen(&peers), Seen::default());
}

/// `PEER_LOGS=auto`: the poll turns logging on for each peer it discovers, once; a peer
/// discovered later is turned on by the cycle that discovers it.
#[tokio::test(flavor = "multi_thread")]
async fn peer_logs_auto_turns_logging_on_for_each_peer_a_poll_discovers() {
    let stack = Stack::new().await;
    let dest = destination();
    let ids = stack.sim.fleet(1, 2);
    let auto = [
        ("PEER_LOGS", "auto"),
        ("PEER_LOGS_DESTINATION_ARN", dest.as_str()),
    ];
    let poll = |stack: &Stack| {
        let run = peerwatch_env(stack, &auto, &["poll", "--output", "json"]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.json()
    };
    let first = poll(&stack);
    assert_eq!(first["peerLogsEnabled"], 2, "{first}");
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    let on = seen(&names);
    assert_eq!(on.sources.len(), 2, "{on:?}");
    for id in &ids {
        let source = &on.sources[&format!("peerwatch-{id}")];
        assert_eq!(source, &(vec![peer_arn(id)], "EVENT_LOGS".to_string()));
        let deliveries = &on.deliveries[&format!("peerwatch-{id}")];
        assert_eq!(deliveries.values().collect::<Vec<_>>(), [&dest]);
    }
    // Nothing discovered, nothing to do; what exists stays.
    let second = poll(&stack);
    assert_eq!(second["peerLogsEnabled"], 0, "{second}");
    assert_eq!(seen(&names), on);
    // Without the destination, PEER_LOGS=auto is refused at start, naming the variable.
    let refused = peerwatch_env(&stack, &[("PEER_LOGS", "auto")], &["poll"]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("PEER_LOGS_DESTINATION_ARN is not set"),
        "{}",
        refused.stderr
    );
}
