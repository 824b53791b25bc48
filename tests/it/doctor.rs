//! `peerwatch doctor` against a stack deployed into moto's CloudFormation from
//! `infra/template.yaml`, driven as a user drives it: a real cycle on the stack's tables, its
//! metrics line put in the poller's log group as Lambda would, a confirmed SQS subscription,
//! the peers' logging enabled: every check ok, exit 0. Then the deployment is broken one way
//! at a time (each repaired before the next): each is caught, with its remedy and exit code.
//! What is broken is done with boto3 and the DynamoDB/SNS SDKs, not through peerwatch's code.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, GlobalSecondaryIndexUpdate};
use peerwatch_aws::config::Config;
use peerwatch_aws::cycle::RunOptions;
use peerwatch_core::doctor::{Check, Status};
use peerwatch_core::model::Timestamp;
use peerwatch_testkit::emulators::project_python;
use peerwatch_testkit::recorder::Recorder;
use serde_json::{Value, json};

use crate::helpers::{Stack, moto, sdk_config, simulator, subscribe_queue, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

/// boto3 against the shared moto, for what the test's SDKs do not cover: `OPERATION SERVICE
/// JSON` answers the response as JSON (or fails the test).
const BOTO3: &str = r#"
import json, sys
import boto3
client = boto3.client(sys.argv[2], endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
out = getattr(client, sys.argv[3])(**json.loads(sys.argv[4]))
out.pop("ResponseMetadata", None)
print(json.dumps(out, default=str))
"#;

fn boto3(service: &str, operation: &str, args: Value) -> Value {
    let out = std::process::Command::new(project_python())
        .arg("-c")
        .arg(BOTO3)
        .arg(moto().endpoint())
        .arg(service)
        .arg(operation)
        .arg(args.to_string())
        .output()
        .expect("python runs (make venv)");
    assert!(
        out.status.success(),
        "boto3 {service} {operation}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("boto3 answers JSON")
}

fn now_ms() -> i64 {
    Timestamp::now().as_millis()
}

/// `peerwatch ARGS` as an operator runs it: the stack's settings (the CliEnvironment output)
/// and every endpoint at moto. Answers (exit code, stdout, stderr).
fn peerwatch(settings: &BTreeMap<&str, String>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = user_command(&*PEERWATCH, None);
    cmd.env("AWS_ENDPOINT_URL", moto().endpoint()).args(args);
    for (k, v) in settings {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("peerwatch runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Doctor's JSON answer: its exit code and checks, by check name (several of one name kept in
/// order).
fn doctor(settings: &BTreeMap<&str, String>, stack: &str) -> (i32, Vec<Check>, Value) {
    let (code, out, err) = peerwatch(settings, &["doctor", "--stack", stack, "--output", "json"]);
    let doc: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("doctor prints JSON ({e}): {out}\nstderr: {err}"));
    let checks = doc["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| Check {
            check: c["check"].as_str().unwrap().to_string(),
            status: match c["status"].as_str().unwrap() {
                "ok" => Status::Ok,
                "warn" => Status::Warn,
                _ => Status::Fail,
            },
            detail: c["detail"].as_str().unwrap().to_string(),
            remedy: c["remedy"].as_str().map(str::to_string),
        })
        .collect();
    (code, checks, doc)
}

/// Every check but `name` is ok, and `name` has `status` with a detail holding `detail` and a
/// remedy holding `remedy`.
fn only(checks: &[Check], name: &str, status: Status, detail: &str, remedy: &str) {
    let others: Vec<&Check> = checks
        .iter()
        .filter(|c| c.check != name && c.status != Status::Ok)
        .collect();
    assert!(others.is_empty(), "only {name} should be off: {others:#?}");
    let hit = checks
        .iter()
        .find(|c| c.check == name && c.status == status)
        .unwrap_or_else(|| panic!("no {status:?} {name}: {checks:#?}"));
    assert!(
        hit.detail.contains(detail),
        "{name}: {:?} lacks {detail:?}",
        hit.detail
    );
    let r = hit.remedy.as_deref().unwrap_or_default();
    assert!(r.contains(remedy), "{name}: remedy {r:?} lacks {remedy:?}");
}

/// The poller's metrics line of a finished cycle, put in its log group as Lambda writes it,
/// at `at_ms`.
fn put_cycle_line(group: &str, line: &str, at_ms: i64) {
    let stream = format!("2026/01/01/[$LATEST]{at_ms}");
    boto3(
        "logs",
        "create_log_stream",
        json!({"logGroupName": group, "logStreamName": stream}),
    );
    boto3(
        "logs",
        "put_log_events",
        json!({"logGroupName": group, "logStreamName": stream,
               "logEvents": [{"timestamp": at_ms, "message": line}]}),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_finds_a_sound_stack_sound_and_each_breakage_with_its_remedy() {
    let (stack, deployed) = crate::infra::deploy("pwdoc", &[]);
    let outputs = &deployed["outputs"];
    let out = |k: &str| {
        outputs[k]
            .as_str()
            .unwrap_or_else(|| panic!("output {k}"))
            .to_string()
    };
    let env: BTreeMap<String, String> =
        serde_json::from_value(deployed["function"]["environment"].clone()).unwrap();
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("deployed settings");
    let settings: BTreeMap<&str, String> = [
        ("PEER_STATE_TABLE", out("PeerStateTableName")),
        ("PEER_TRANSITIONS_TABLE", out("PeerTransitionsTableName")),
        ("ALERT_TOPIC_ARN", out("AlertTopicArn")),
        ("PEER_LOGS_DESTINATION_ARN", out("PeerLogDestinationArn")),
    ]
    .into();
    let group = out("PollerLogGroupName");
    let function = out("PollerFunctionName");

    // A real cycle on the stack's tables, and the metrics line the Lambda would print.
    let sim = simulator(0);
    // Ids of its own: another test's delivery sources of the same peers would conflict.
    let peers = sim.fleet_seeded(1, 2, 1616);
    let poller = Stack::poller_with(
        &sim,
        moto().endpoint(),
        moto().endpoint(),
        &Recorder::default(),
        config.clone(),
    );
    let (summary, seen) = poller
        .run_observing(RunOptions::default())
        .await
        .expect("cycle");
    assert_eq!(summary.transitions_recorded, 2);
    let mut printed = Vec::new();
    peerwatch_poller::handler::write_metrics(
        &mut printed,
        &summary,
        &seen,
        &config,
        &function,
        now_ms(),
    );
    let printed = String::from_utf8(printed).unwrap();
    let cycle_line = printed
        .lines()
        .find(|l| l.contains("\"CycleDuration\""))
        .expect("the cycle's line")
        .to_string();

    // Nothing subscribed, no cycle in the log group, logging off: three findings at once.
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1, "{checks:#?}");
    let bad: BTreeMap<&str, Status> = checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .map(|c| (c.check.as_str(), c.status))
        .collect();
    assert_eq!(
        bad,
        BTreeMap::from([
            ("last-cycle", Status::Fail),
            ("peer-logs", Status::Warn),
            ("topic", Status::Fail),
        ]),
        "{checks:#?}"
    );

    // A stale last cycle: the newest line an hour old.
    put_cycle_line(&group, &cycle_line, now_ms() - 3_600_000);
    let sqs = {
        let conf = aws_sdk_sqs::config::Builder::from(&sdk_config())
            .endpoint_url(moto().endpoint())
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    };
    subscribe_queue(&sqs, moto().endpoint(), &out("AlertTopicArn")).await;
    let (code, _, err) = peerwatch(&settings, &["logging", "enable", "--all"]);
    assert_eq!(code, 0, "{err}");
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1);
    only(
        &checks,
        "last-cycle",
        Status::Fail,
        "the last completed 1h ago",
        &format!("aws logs tail {group}"),
    );

    // Sound: a cycle a moment ago.
    put_cycle_line(&group, &cycle_line, now_ms() - 5_000);
    let (code, checks, doc) = doctor(&settings, &stack);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(doc["status"], "ok");
    let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "stack",
            "settings",
            "table",
            "table",
            "ttl",
            "pitr",
            "schedule",
            "last-cycle",
            "outbox",
            "topic",
            "topic-filters",
            "peer-logs",
            "errors",
            "errors",
        ],
        "{checks:#?}"
    );
    assert!(
        checks
            .iter()
            .all(|c| c.status == Status::Ok && c.remedy.is_none())
    );
    let detail = |i: usize| checks[i].detail.as_str();
    assert_eq!(
        detail(6),
        format!("{stack}-poll (rate(1 minute)) is enabled and invokes the poller")
    );
    assert_eq!(detail(11), "all 2 peers deliver their logs");
    assert_eq!(
        detail(12),
        format!("{function}: no errors or throttles in the last hour")
    );
    // The table form: one line per check.
    let (code, text, _) = peerwatch(&settings, &["doctor", "--stack", &stack]);
    assert_eq!(code, 0);
    assert_eq!(text.lines().count(), checks.len(), "{text}");
    assert!(text.lines().all(|l| l.starts_with("ok  ")), "{text}");

    // TTL off: a warning only, exit 4.
    let ddb = {
        let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config())
            .endpoint_url(moto().endpoint())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    };
    let transitions = out("PeerTransitionsTableName");
    let ttl = |enabled: bool| {
        boto3(
            "dynamodb",
            "update_time_to_live",
            json!({"TableName": transitions,
                   "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": "ExpiresAt"}}),
        )
    };
    ttl(false);
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 4, "{checks:#?}");
    only(
        &checks,
        "ttl",
        Status::Warn,
        "TTL is DISABLED",
        &format!("update-time-to-live --table-name {transitions}"),
    );
    ttl(true);

    // The schedule disabled.
    let schedule = boto3(
        "scheduler",
        "get_schedule",
        json!({"Name": format!("{stack}-poll")}),
    );
    let set_state = |state: &str| {
        boto3(
            "scheduler",
            "update_schedule",
            json!({"Name": schedule["Name"], "ScheduleExpression": schedule["ScheduleExpression"],
                   "FlexibleTimeWindow": schedule["FlexibleTimeWindow"],
                   "Target": {"Arn": schedule["Target"]["Arn"], "RoleArn": schedule["Target"]["RoleArn"]},
                   "State": state}),
        )
    };
    set_state("DISABLED");
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1);
    only(
        &checks,
        "schedule",
        Status::Fail,
        "is DISABLED: no cycle runs",
        "ScheduleState=ENABLED",
    );
    set_state("ENABLED");

    // A notification pending for an hour: publishing keeps failing.
    let hour_ago = Timestamp::from_millis(now_ms() - 3_600_000).unwrap();
    let key = [
        ("RouteServerPeerId", AttributeValue::S(peers[0].clone())),
        ("ObservedAt", AttributeValue::S(hour_ago.to_string())),
    ];
    let mut put = ddb.put_item().table_name(&transitions);
    for (k, v) in key.clone().into_iter().chain([
        ("Pending", AttributeValue::S("pending".into())),
        ("ClaimedUntil", AttributeValue::N("0".into())),
        ("Subject", AttributeValue::S("[CRITICAL] test".into())),
        (
            "Message",
            AttributeValue::S("{\"default\": \"test\"}".into()),
        ),
        ("Day", AttributeValue::S(hour_ago.day())),
    ]) {
        put = put.item(k, v);
    }
    put.send().await.expect("a pending item");
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1);
    only(
        &checks,
        "outbox",
        Status::Fail,
        "1 pending, the oldest for 1h",
        "publishing to arn:aws:sns:",
    );
    let mut delete = ddb.delete_item().table_name(&transitions);
    for (k, v) in key {
        delete = delete.key(k, v);
    }
    delete.send().await.expect("delete the pending item");

    // No subscription.
    let sns = {
        let conf = aws_sdk_sns::config::Builder::from(&sdk_config())
            .endpoint_url(moto().endpoint())
            .build();
        aws_sdk_sns::Client::from_conf(conf)
    };
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(out("AlertTopicArn"))
        .send()
        .await
        .expect("subscriptions");
    for s in subs.subscriptions() {
        sns.unsubscribe()
            .subscription_arn(s.subscription_arn().unwrap())
            .send()
            .await
            .expect("unsubscribe");
    }
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1);
    only(
        &checks,
        "topic",
        Status::Fail,
        "has no subscription",
        "aws sns subscribe --topic-arn",
    );
    subscribe_queue(&sqs, moto().endpoint(), &out("AlertTopicArn")).await;
    // A filter policy that drops the stack's alarms: a warning.
    let sub_arn = sns
        .list_subscriptions_by_topic()
        .topic_arn(out("AlertTopicArn"))
        .send()
        .await
        .unwrap()
        .subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_string();
    sns.set_subscription_attributes()
        .subscription_arn(&sub_arn)
        .attribute_name("FilterPolicy")
        .attribute_value(r#"{"severity": ["critical", "warning"]}"#)
        .send()
        .await
        .expect("filter policy");
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 4, "{checks:#?}");
    only(
        &checks,
        "topic-filters",
        Status::Warn,
        "the stack's alarms (no message attributes) reach no one",
        "{\"exists\": false}",
    );

    // A missing index, last: it is not put back.
    ddb.update_table()
        .table_name(&transitions)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
                        .index_name("ByDay")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("delete the index");
    let (code, checks, _) = doctor(&settings, &stack);
    assert_eq!(code, 1);
    let table = checks
        .iter()
        .find(|c| c.check == "table" && c.status == Status::Fail)
        .unwrap_or_else(|| panic!("{checks:#?}"));
    assert_eq!(
        table.detail,
        format!("PeerTransitions {transitions}: index ByDay is missing")
    );
    assert!(table.remedy.as_deref().unwrap().contains("sam deploy"));
}

/// Without the stack, doctor says so and still checks the settings' tables and topic.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_stack_the_settings_are_checked() {
    let stack = Stack::new().await;
    let mut cmd = user_command(&*PEERWATCH, Some(&stack));
    cmd.env("AWS_ENDPOINT_URL", moto().endpoint()).args([
        "doctor",
        "--stack",
        "no-such-stack",
        "--output",
        "json",
    ]);
    let out = cmd.output().expect("peerwatch runs");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let by_check: Vec<(String, String)> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = by_check
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("stack", "fail"),
            ("table", "ok"),
            ("table", "ok"),
            ("ttl", "ok"),
            // The test tables are made without point-in-time recovery.
            ("pitr", "warn"),
            ("schedule", "warn"),
            ("last-cycle", "warn"),
            ("outbox", "ok"),
            ("topic", "ok"),
            ("topic-filters", "ok"),
        ],
        "{doc:#}"
    );
    assert!(
        doc["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("cannot read stack no-such-stack in region us-east-1"),
        "{doc:#}"
    );

    // No settings and no stack: nothing to check but that.
    let mut bare = user_command(&*PEERWATCH, None);
    bare.env("AWS_ENDPOINT_URL", moto().endpoint())
        .args(["doctor", "--stack", "no-such-stack"]);
    let out = bare.output().expect("peerwatch runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().next().unwrap().starts_with("fail  stack"),
        "{text}"
    );
    assert!(text.contains("PEER_STATE_TABLE not set"), "{text}");
}

/// Every `client.operation()` in `source` for the clients named in `clients` (variable name to
/// IAM prefix), as IAM actions: `cfn.describe_stacks()` is `cloudformation:DescribeStacks`.
fn called_actions(source: &str, clients: &[(&str, &str)]) -> std::collections::BTreeSet<String> {
    // One space for each run of whitespace, none around a `.`: a chain split over lines reads
    // as one, and `match sns.op()` keeps its word boundary.
    let flat = source
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" .", ".")
        .replace(". ", ".");
    let mut out = std::collections::BTreeSet::new();
    for (var, prefix) in clients {
        let needle = format!("{var}.");
        let mut rest = flat.as_str();
        while let Some(i) = rest.find(&needle) {
            let before = rest[..i].chars().last();
            rest = &rest[i + needle.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            let call = &rest[name.len()..];
            // An SDK call is sent: `ddb.clone()` is not one.
            let statement = call.split(';').next().unwrap_or_default();
            if name.is_empty() || !call.starts_with("()") || !statement.contains(".send()") {
                continue;
            }
            let pascal: String = name
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                        .unwrap_or_default()
                })
                .collect();
            out.insert(format!("{prefix}:{pascal}"));
        }
    }
    out
}

#[test]
fn operator_policy_is_valid_and_covers_doctor_ack_and_watch() {
    let root = peerwatch_testkit::emulators::project_root();
    let doc = std::fs::read_to_string(root.join("docs/operator-policy.md")).unwrap();
    let block = doc
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a ```json block in docs/operator-policy.md");
    let policy: Value = serde_json::from_str(block).expect("the policy is valid JSON");
    let statements = policy["Statement"].as_array().expect("Statement is a list");
    let mut granted = std::collections::BTreeSet::new();
    for st in statements {
        assert_eq!(st["Effect"], "Allow", "{st}");
        assert!(
            st.get("NotAction").is_none(),
            "NotAction grants more than it names: {st}"
        );
        let actions = match &st["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            other => panic!("Action is neither a string nor a list: {other}"),
        };
        for a in actions {
            assert!(
                !a.contains('*') && !a.contains('?'),
                "wildcard action {a} in {st}"
            );
            assert_eq!(a.split(':').count(), 2, "{a} is service:Action");
            granted.insert(a);
        }
    }

    // doctor: every operation its source calls on a client, and what it calls through the
    // store (the outbox's Query, the peers' Scan) and peer logging (the two listings).
    let doctor_source =
        std::fs::read_to_string(root.join("crates/cli/src/doctor/gather.rs")).unwrap();
    let mut needed = called_actions(
        &doctor_source,
        &[
            ("cfn", "cloudformation"),
            ("ddb", "dynamodb"),
            ("scheduler", "scheduler"),
            ("logs", "logs"),
            ("sns", "sns"),
            ("cloudwatch", "cloudwatch"),
        ],
    );
    for a in [
        "cloudformation:DescribeStacks",
        "cloudformation:DescribeStackResources",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:DescribeContinuousBackups",
        "scheduler:GetSchedule",
        "logs:FilterLogEvents",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
        "cloudwatch:GetMetricStatistics",
    ] {
        assert!(needed.contains(a), "the source scan misses {a}: {needed:?}");
    }
    needed.extend(
        [
            "dynamodb:Query",
            "dynamodb:Scan",
            "logs:DescribeDeliverySources",
            "logs:DescribeDeliveries",
        ]
        .map(String::from),
    );
    // ack: the record read back, its newest history item, the transaction (a Put per table),
    // the outbox's claim and mark, and the publish to the encrypted topic; watch: the ByDay
    // index. GetCallerIdentity needs no permission.
    needed.extend(
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "sns:Publish",
            "kms:GenerateDataKey",
            "kms:Decrypt",
        ]
        .map(String::from),
    );
    let missing: Vec<&String> = needed.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "docs/operator-policy.md does not grant {missing:?}"
    );

    // The scan finds calls however rustfmt splits them, and only on the named clients.
    let probe = "let x = cfn\n    .describe_stacks()\n    .send();\nself.ddb.scan().send();\n\
                 mycfn.delete_stack().send();\nStore::new(ddb.clone(), t);";
    assert_eq!(
        called_actions(probe, &[("cfn", "cloudformation"), ("ddb", "dynamodb")]),
        ["cloudformation:DescribeStacks".to_string()].into()
    );
}
