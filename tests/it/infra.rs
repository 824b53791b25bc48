//! The SAM template in `infra/`: its IAM checked against what the poller and the log consumer
//! really call, and the whole stack deployed into moto's CloudFormation and polled through,
//! its peer-log path (log group, delivery destination, subscription, consumer) included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use peerwatch_aws::config::{Alerting, Config};
use peerwatch_aws::cycle::RunOptions;
use peerwatch_aws::store::Store;
use peerwatch_testkit::emulators::{project_python, project_root, unique_name};
use peerwatch_testkit::recorder::{Call, Recorder};
use serde_json::{Value, json};

use crate::helpers::{Stack, moto, s, sdk_config, simulator};

/// (IAM action, resource) pairs.
type Grants = BTreeSet<(String, String)>;

const TEMPLATE: &str = "infra/template.yaml";
/// The role's policy that covers the poller's own calls; `lambda-service` covers what the
/// Lambda service does with the role (logs, the on-failure destination).
const CODE_POLICY: &str = "peerwatch-poller";
const SERVICE_POLICY: &str = "lambda-service";
/// The log consumer's role's policy for its own calls.
const CONSUMER_CODE_POLICY: &str = "peerwatch-log-consumer";
/// What the poller's role gains with `PeerLogsAuto=true` (a policy of its own, conditional).
const POLLER_PEER_LOGS_POLICY: &str = "peerwatch-poller-peer-logs";
/// The environment the poller has and the log consumer has not: it alone enables logging.
const POLLER_ONLY_SETTINGS: [&str; 2] = ["PEER_LOGS", "PEER_LOGS_DESTINATION_ARN"];
/// Resource types moto's CloudFormation does not model (they are skipped and reported);
/// a `AWS::Lambda::Permission` it files in the function's policy, under no resource id.
const MOTO_LACKS: [&str; 4] = [
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::Permission",
    "AWS::SNS::TopicPolicy",
];

/// Runs `scripts/cfn_stack.py` with the project's Python (it needs the SAM translator).
fn cfn_stack(args: &[&str]) -> Value {
    let root = project_root();
    let out = std::process::Command::new(project_python())
        .arg(root.join("scripts/cfn_stack.py"))
        .args(args)
        .current_dir(&root)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("running scripts/cfn_stack.py (run `make venv`)");
    assert!(
        out.status.success(),
        "cfn_stack.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cfn_stack.py prints JSON")
}

/// The template as JSON, intrinsics in their long form.
pub fn template() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(|| cfn_stack(&["json", TEMPLATE]))
}

fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        one => vec![one],
    }
}

/// The Allow grants of a policy document, each resource passed through `resolve`.
fn grants(doc: &Value, resolve: &dyn Fn(&Value) -> String) -> Grants {
    let mut out = Grants::new();
    for st in as_list(&doc["Statement"]) {
        assert!(
            st.get("NotAction").is_none() && st.get("NotResource").is_none(),
            "NotAction/NotResource grant more than they name: {st}"
        );
        if st["Effect"] != "Allow" {
            continue;
        }
        for action in as_list(&st["Action"]) {
            for resource in as_list(&st["Resource"]) {
                out.insert((
                    action.as_str().expect("action is a string").to_string(),
                    resolve(resource),
                ));
            }
        }
    }
    out
}

/// A template resource expression as the logical id it names: `!GetAtt T.Arn` is `T`,
/// `!Ref T` is `T`, `!Sub ${T.Arn}/index/I` is `T/index/I`, a literal stays itself.
fn symbolic(v: &Value) -> String {
    if let Some(s) = v.as_str() {
        return s.to_string();
    }
    if let Some(r) = v.get("Ref").and_then(Value::as_str) {
        return r.to_string();
    }
    if let Some(att) = v.get("Fn::GetAtt") {
        let logical = match att {
            Value::Array(parts) => parts[0].as_str(),
            Value::String(dotted) => dotted.split('.').next(),
            _ => None,
        };
        return logical.expect("GetAtt names a resource").to_string();
    }
    if let Some(sub) = v.get("Fn::Sub").and_then(Value::as_str) {
        let mut out = sub.to_string();
        while let Some(start) = out.find("${") {
            let end = start + out[start..].find('}').expect("closed ${");
            let name = out[start + 2..end].trim_end_matches(".Arn").to_string();
            out.replace_range(start..=end, &name);
        }
        return out;
    }
    panic!("unsupported resource expression in the template: {v}")
}

/// The template's policy `name` of role `role`: one of its inline policies, or a standalone
/// `AWS::IAM::Policy` attached to it.
fn template_policy(role: &str, name: &str) -> &'static Value {
    let resources = &template()["Resources"];
    let policies = &resources[role]["Properties"]["Policies"];
    let inline = as_list(policies)
        .into_iter()
        .find(|p| p["PolicyName"] == name);
    let standalone = || {
        resources
            .as_object()
            .expect("Resources")
            .values()
            .filter(|r| r["Type"] == "AWS::IAM::Policy")
            .map(|r| &r["Properties"])
            .find(|p| {
                p["PolicyName"] == name
                    && as_list(&p["Roles"])
                        .into_iter()
                        .any(|r| symbolic(r) == role)
            })
    };
    &inline
        .or_else(standalone)
        .unwrap_or_else(|| panic!("{role} has no policy {name}"))["PolicyDocument"]
}

/// What IAM must allow for these calls, resources passed through `resolve`. Publishing to a
/// KMS-encrypted topic also needs `kms:GenerateDataKey` and `kms:Decrypt` on its key, which
/// SNS uses on the publisher's behalf.
fn needed(calls: &[Call], resolve: &dyn Fn(&str) -> String, topic_key: &str) -> Grants {
    let mut out = Grants::new();
    for (action, resource) in calls.iter().flat_map(|c| c.iam.iter()) {
        out.insert((action.clone(), resolve(resource)));
        if action == "sns:Publish" {
            for kms in ["kms:GenerateDataKey", "kms:Decrypt"] {
                out.insert((kms.to_string(), topic_key.to_string()));
            }
        }
    }
    out
}

fn assert_exactly(performed: &Grants, allowed: &Grants, what: &str) {
    let missing: Vec<_> = performed.difference(allowed).collect();
    let spare: Vec<_> = allowed.difference(performed).collect();
    assert!(
        missing.is_empty() && spare.is_empty(),
        "{what}: the role must allow exactly what the poller does.\n  \
         performed but not allowed: {missing:?}\n  allowed but never performed: {spare:?}"
    );
}

/// Called by the scenario test with every call its poller made: the template's policy must
/// allow exactly those, resource by resource.
pub fn assert_template_allows_exactly(calls: &[Call], config: &Config) {
    assert_template_role_allows_exactly("PollerRole", &[CODE_POLICY], calls, config);
}

/// The template's policies `policies` of `role` allow exactly what `calls` needed, resource
/// by resource, each recorded resource named as the template names it.
pub fn assert_template_role_allows_exactly(
    role: &str,
    policies: &[&str],
    calls: &[Call],
    config: &Config,
) {
    let state = format!("table/{}", config.peer_state_table);
    let transitions = format!("table/{}", config.peer_transitions_table);
    let topic = config.alert_topic_arn.clone().unwrap_or_default();
    // A name or ARN pattern of this account and region, as the template's !Sub writes it.
    let here = |service: &str, tail: &str| {
        format!("arn:AWS::Partition:{service}:AWS::Region:AWS::AccountId:{tail}")
    };
    let resolve = |r: &str| -> String {
        if r == state {
            "PeerStateTable".into()
        } else if let Some(rest) = r.strip_prefix(&transitions) {
            format!("PeerTransitionsTable{rest}")
        } else if r == topic {
            "AlertTopic".into()
        } else if r.starts_with("route-server/") {
            // Every route server of the account and region, as the template grants it.
            here("ec2", "route-server/*")
        } else {
            peer_logs_resource(r, &here, "PeerLogDestination")
        }
    };
    let topic_key =
        symbolic(&template()["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"]);
    let performed = needed(calls, &resolve, &topic_key);
    let mut allowed = Grants::new();
    for name in policies {
        allowed.extend(grants(template_policy(role, name), &symbolic));
    }
    assert_exactly(&performed, &allowed, &format!("infra/template.yaml {role}"));
}

/// A resource of enabling peer logging as the policies grant it: a delivery source named
/// `peerwatch-rsp-...` as the sources of that prefix, a peer as every peer, a delivery
/// destination as `destination`, a new delivery as every delivery. Anything else unchanged.
fn peer_logs_resource(r: &str, here: &dyn Fn(&str, &str) -> String, destination: &str) -> String {
    if r.starts_with("delivery-source:peerwatch-rsp-") {
        here("logs", "delivery-source:peerwatch-rsp-*")
    } else if r.starts_with("route-server-peer/") {
        here("ec2", "route-server-peer/*")
    } else if r.starts_with("delivery-destination:") {
        destination.to_string()
    } else if r == "delivery:*" {
        here("logs", "delivery:*")
    } else {
        r.to_string()
    }
}

/// Every policy document in the template: the roles' inline policies, standalone IAM
/// policies, and the resource policies (topic, key, log group delivery).
fn all_policy_documents(t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (logical, res) in t["Resources"].as_object().expect("Resources") {
        let props = &res["Properties"];
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => {
                out.push((
                    format!("{logical} trust"),
                    props["AssumeRolePolicyDocument"].clone(),
                ));
                for p in as_list(&props["Policies"]) {
                    out.push((
                        format!("{logical} {}", p["PolicyName"].as_str().unwrap_or("?")),
                        p["PolicyDocument"].clone(),
                    ));
                }
            }
            "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::SNS::TopicPolicy"
            | "AWS::SQS::QueuePolicy" => {
                out.push((logical.clone(), props["PolicyDocument"].clone()))
            }
            "AWS::KMS::Key" => out.push((logical.clone(), props["KeyPolicy"].clone())),
            // CloudWatch Logs takes its resource policies as JSON text (a !Sub here).
            "AWS::Logs::ResourcePolicy" => {
                let text = symbolic(&props["PolicyDocument"]);
                let doc = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{logical}: the policy is not JSON: {e}\n{text}"));
                out.push((logical.clone(), doc));
            }
            "AWS::Serverless::Function" => {
                assert!(
                    props.get("Policies").is_none() && props.get("Role").is_some(),
                    "{logical}: the function must use its explicit role, not SAM `Policies`"
                );
            }
            _ => {}
        }
    }
    out
}

/// Statements that grant a wildcard action (or use NotAction), as "where: action".
fn wildcard_actions(docs: &[(String, Value)]) -> Vec<String> {
    let mut bad = Vec::new();
    for (name, doc) in docs {
        for st in as_list(&doc["Statement"]) {
            if st.get("NotAction").is_some() {
                bad.push(format!("{name}: NotAction"));
            }
            for a in as_list(&st["Action"]) {
                let a = a.as_str().unwrap_or_default();
                if a.contains('*') || a.contains('?') {
                    bad.push(format!("{name}: {a}"));
                }
            }
        }
    }
    bad
}

#[test]
fn template_grants_no_wildcard_action() {
    let docs = all_policy_documents(template());
    let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "PollerRole peerwatch-poller",
        "LogConsumerRole peerwatch-log-consumer",
        "PollerPeerLogsPolicy",
        "AlertTopicPolicy",
        "AlertKey",
        "PeerLogGroupPolicy",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not checked: {names:?}"
        );
    }
    let bad = wildcard_actions(&docs);
    assert!(bad.is_empty(), "wildcard actions in {TEMPLATE}: {bad:?}");

    // The check itself can fail.
    let broken = json!({"Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:*"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
    assert_eq!(
        wildcard_actions(&[("broken".into(), broken)]),
        ["broken: dynamodb:*", "broken: NotAction", "broken: s3:Get*"]
    );
}

#[test]
fn exactness_check_names_missing_and_spare_grants() {
    let calls = [Call {
        service: "DynamoDB".into(),
        operation: "Scan".into(),
        published: None,
        iam: vec![("dynamodb:Scan".into(), "table/T".into())],
    }];
    let performed = needed(&calls, &|r| r.to_string(), "K");
    let allowed: Grants = [("dynamodb:GetItem".into(), "table/T".into())].into();
    let err = std::panic::catch_unwind(|| assert_exactly(&performed, &allowed, "probe"))
        .expect_err("a mismatch must fail");
    let msg = err.downcast_ref::<String>().expect("message");
    assert!(
        msg.contains("dynamodb:Scan") && msg.contains("dynamodb:GetItem"),
        "{msg}"
    );
}

/// Key schema, attribute definitions and indexes of a table, for comparing two tables.
async fn table_shape(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Value {
    let t = ddb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {name}: {e:?}"))
        .table
        .expect("table");
    let keys = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Value {
        ks.iter()
            .map(|k| json!([k.attribute_name(), k.key_type().as_str()]))
            .collect()
    };
    let mut attrs: Vec<(String, String)> = t
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    attrs.sort();
    let indexes: BTreeMap<String, Value> = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_string(),
                json!({
                    "keys": keys(g.key_schema()),
                    "projection": g.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()),
                }),
            )
        })
        .collect();
    json!({
        "keys": keys(t.key_schema()),
        "attributes": attrs,
        "indexes": indexes,
        "billing": t.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str()),
    })
}

/// A poll cycle against the tables and topic that the template created in moto, configured
/// only from the environment of the deployed function.
#[tokio::test(flavor = "multi_thread")]
async fn template_deploys_into_cloudformation_and_the_poller_runs_on_its_stack() {
    let moto_url = moto().endpoint().to_string();
    let stack_name = unique_name("pw").to_lowercase();
    let deployed = cfn_stack(&[
        "deploy",
        TEMPLATE,
        "--endpoint",
        &moto_url,
        "--stack",
        &stack_name,
    ]);
    assert_eq!(deployed["stackStatus"], "CREATE_COMPLETE", "{deployed:#}");
    let outputs = &deployed["outputs"];
    let function = &deployed["function"];
    assert_eq!(function["runtime"], "provided.al2023");
    assert_eq!(function["handler"], "bootstrap");
    assert_eq!(function["timeout"], 50);
    assert_eq!(function["memorySize"], 256);

    // The configuration is exactly what the deployed function would read.
    let env: BTreeMap<String, String> =
        serde_json::from_value(function["environment"].clone()).expect("environment");
    assert_eq!(
        env.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "ALERT_TOPIC_ARN",
            "FLAP_HOLD_MINUTES",
            "FLAP_THRESHOLD",
            "FLAP_WINDOW_MINUTES",
            "HISTORY_RETENTION_DAYS",
            "NOTIFY_MIN_SEVERITY",
            "PEER_LOGS",
            "PEER_LOGS_DESTINATION_ARN",
            "PEER_METRICS",
            "PEER_STATE_TABLE",
            "PEER_TRANSITIONS_TABLE",
            "REMIND_EVERY_MINUTES",
            "ROUTE_SERVER_IDS",
            "STORM_THRESHOLD"
        ],
        "every setting of docs/operating.md's Configuration and Alert rules, nothing else"
    );
    // By default the log path exists and the poller leaves enabling logging to the CLI.
    assert_eq!(env["PEER_LOGS"], "off");
    assert_eq!(
        env["PEER_LOGS_DESTINATION_ARN"],
        outputs["PeerLogDestinationArn"]
            .as_str()
            .expect("the destination output")
    );
    let config =
        Config::from_lookup(|k| env.get(k).cloned()).expect("the deployed environment is valid");
    assert_eq!(config.peer_state_table, outputs["PeerStateTableName"]);
    assert_eq!(
        config.peer_transitions_table,
        outputs["PeerTransitionsTableName"]
    );
    assert_eq!(
        config.alert_topic_arn.as_deref(),
        outputs["AlertTopicArn"].as_str()
    );
    assert_eq!(
        config.route_server_ids, None,
        "empty ROUTE_SERVER_IDS watches everything"
    );
    assert_eq!(config.history_retention_days, 90);
    assert_eq!(
        config.alerting,
        Alerting::default(),
        "the template's parameter defaults are the code's defaults"
    );

    // The tables the template made are the tables the code makes for itself.
    let ddb = {
        let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config())
            .endpoint_url(&moto_url)
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    };
    let reference = Store::new(
        ddb.clone(),
        unique_name("RefState"),
        unique_name("RefTransitions"),
        90,
    );
    peerwatch_testkit::tables::create_tables(&reference)
        .await
        .expect("reference tables");
    for (deployed_table, own) in [
        (&config.peer_state_table, reference.state_table()),
        (
            &config.peer_transitions_table,
            reference.transitions_table(),
        ),
    ] {
        assert_eq!(
            table_shape(&ddb, deployed_table).await,
            table_shape(&ddb, own).await,
            "{deployed_table} differs from what the code creates"
        );
    }

    // A subscriber on the stack's topic, then cycles: discover, fail, recover.
    let sim = simulator(0);
    let peers = sim.fleet(1, 3);
    let recorder = Recorder::default();
    let poller = Stack::poller_with(&sim, &moto_url, &moto_url, &recorder, config.clone());
    let sqs = {
        let conf = aws_sdk_sqs::config::Builder::from(&sdk_config())
            .endpoint_url(&moto_url)
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    };
    let queue_url = crate::helpers::subscribe_queue(
        &sqs,
        &moto_url,
        outputs["AlertTopicArn"].as_str().unwrap(),
    )
    .await;

    let run = || async { poller.run(RunOptions::default()).await.expect("cycle") };
    let first = run().await;
    assert_eq!((first.peers_seen, first.transitions_recorded), (3, 3));
    sim.set_peer(&peers[0], json!({"bgpStatus": "down"}));
    let second = run().await;
    assert_eq!(
        (second.transitions_recorded, second.notifications_sent),
        (1, 1)
    );
    sim.set_peer(&peers[0], json!({"bgpStatus": "up"}));
    let third = run().await;
    assert_eq!(
        (third.transitions_recorded, third.notifications_sent),
        (1, 1)
    );

    let delivered = crate::helpers::drain_queue(&sqs, &queue_url).await;
    let subjects: Vec<&str> = delivered
        .iter()
        .map(|d| d["Subject"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[CRITICAL]") && subjects[0].contains(&peers[0]),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[RECOVERY]") && subjects[1].contains(&peers[0]),
        "{subjects:?}"
    );
    let history = ddb
        .query()
        .table_name(&config.peer_transitions_table)
        .key_condition_expression("RouteServerPeerId = :p")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S(peers[0].clone()),
        )
        .send()
        .await
        .expect("history of the failed peer");
    let kinds: Vec<String> = history
        .items()
        .iter()
        .map(|i| s(i, "NotificationState"))
        .collect();
    assert_eq!(kinds, ["not-required", "sent", "sent"]);

    // The deployed role allows exactly what those cycles did, ARN by ARN.
    let role = &deployed["roles"]["PollerRole"];
    assert_eq!(function["role"], role["arn"]);
    let account = role["arn"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(4)
        .unwrap()
        .to_string();
    let resolve = |r: &str| -> String {
        if r.starts_with("table/") {
            format!("arn:aws:dynamodb:us-east-1:{account}:{r}")
        } else if r.starts_with("route-server/") {
            format!("arn:aws:ec2:us-east-1:{account}:route-server/*")
        } else {
            r.to_string()
        }
    };
    let key = deployed["topicKmsKeyArn"]
        .as_str()
        .expect("the topic is encrypted");
    let performed = needed(&recorder.calls(), &resolve, key);
    let literal = |v: &Value| v.as_str().expect("a resolved ARN").to_string();
    let allowed = grants(&role["policies"][CODE_POLICY], &literal);
    assert_exactly(&performed, &allowed, "deployed PollerRole");

    // And what the Lambda service does with the role: logs and the on-failure destination.
    let service = grants(&role["policies"][SERVICE_POLICY], &literal);
    let queue_arn = format!(
        "arn:aws:sqs:us-east-1:{account}:{}",
        outputs["FailedInvocationsQueueUrl"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
    );
    let log_group = format!(
        "arn:aws:logs:us-east-1:{account}:log-group:{}",
        outputs["PollerLogGroupName"].as_str().unwrap()
    );
    let expected: Grants = [
        ("logs:CreateLogStream".to_string(), log_group.clone()),
        ("logs:PutLogEvents".to_string(), log_group),
        ("sqs:SendMessage".to_string(), queue_arn),
    ]
    .into();
    // moto answers GetAtt LogGroup.Arn without CloudFormation's trailing ":*".
    let service: Grants = service
        .into_iter()
        .map(|(a, r)| (a, r.trim_end_matches(":*").to_string()))
        .collect();
    assert_eq!(service, expected);
}

/// The schedule's `Input` is the payload `events/scheduled.json` stands for, and the handler
/// takes it as a plain full cycle.
#[test]
fn schedule_input_is_the_documented_payload() {
    let target = &template()["Resources"]["PollSchedule"]["Properties"]["Target"];
    let input: Value = serde_json::from_str(target["Input"].as_str().expect("Input is a string"))
        .expect("the schedule's Input is JSON");
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(project_root().join("events/scheduled.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&input), keys(&sample));
    assert_eq!(input["source"], sample["source"]);
    for v in [&input, &sample] {
        let options = peerwatch_poller::handler::options_from_payload(v).expect("accepted");
        assert!(!options.dry_run && options.route_server_ids.is_none());
    }
    assert_eq!(target["RetryPolicy"]["MaximumRetryAttempts"], 2);
    assert_eq!(
        template()["Resources"]["PollSchedule"]["Properties"]["FlexibleTimeWindow"]["Mode"],
        "OFF"
    );
}

/// A metric a dashboard widget shows: namespace, name, and its dimensions (name, and the
/// value when the widget names one; a SEARCH names only the dimension names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shown {
    namespace: String,
    name: String,
    dimensions: Vec<(String, Option<String>)>,
}

/// Every metric the dashboard's widgets show: plain metric arrays
/// (`[namespace, name, dim, value, ..., {options}]`) and the metrics named by
/// `SEARCH('{namespace,dim,...} MetricName="name"', ...)` in metric math expressions.
fn shown_metrics(body: &Value) -> Result<Vec<Shown>, String> {
    let widgets = body["widgets"]
        .as_array()
        .ok_or("the body has no widgets")?;
    let mut out = Vec::new();
    for w in widgets.iter().filter(|w| w["type"] == "metric") {
        let title = &w["properties"]["title"];
        let metrics = w["properties"]["metrics"]
            .as_array()
            .ok_or_else(|| format!("widget {title} has no metrics"))?;
        for m in metrics {
            let parts = m
                .as_array()
                .ok_or_else(|| format!("widget {title}: a metric is not an array: {m}"))?;
            match parts.first() {
                Some(Value::String(namespace)) => {
                    let strings: Vec<&str> = parts
                        .iter()
                        .take_while(|p| p.is_string())
                        .map(|p| p.as_str().unwrap())
                        .collect();
                    if strings.len() < 2
                        || !strings.len().is_multiple_of(2)
                        || strings.contains(&".")
                    {
                        return Err(format!(
                            "widget {title}: expected [namespace, name, dimension, value, ...] \
                             in full, got {m}"
                        ));
                    }
                    out.push(Shown {
                        namespace: namespace.clone(),
                        name: strings[1].to_string(),
                        dimensions: strings[2..]
                            .chunks(2)
                            .map(|kv| (kv[0].to_string(), Some(kv[1].to_string())))
                            .collect(),
                    });
                }
                Some(Value::Object(opts)) => {
                    let expr = opts
                        .get("expression")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("widget {title}: no expression in {m}"))?;
                    let mut rest = expr;
                    let mut found = false;
                    while let Some(at) = rest.find("SEARCH('{") {
                        let after = &rest[at + "SEARCH('{".len()..];
                        let schema_end = after
                            .find('}')
                            .ok_or_else(|| format!("unclosed schema in {expr}"))?;
                        let mut schema = after[..schema_end].split(',').map(str::trim);
                        let namespace = schema.next().unwrap_or_default().to_string();
                        let dimensions = schema.map(|d| (d.to_string(), None)).collect();
                        let name_at = after
                            .find("MetricName=\"")
                            .ok_or_else(|| format!("no MetricName=\"...\" in {expr}"))?;
                        let name_from = &after[name_at + "MetricName=\"".len()..];
                        let name = &name_from[..name_from
                            .find('"')
                            .ok_or_else(|| format!("unclosed MetricName in {expr}"))?];
                        out.push(Shown {
                            namespace,
                            name: name.to_string(),
                            dimensions,
                        });
                        found = true;
                        rest = &name_from[name.len()..];
                    }
                    if !found {
                        return Err(format!("widget {title}: no SEARCH in {expr}"));
                    }
                }
                _ => return Err(format!("widget {title}: unexpected metric {m}")),
            }
        }
    }
    Ok(out)
}

/// The dashboard shows exactly what the poller emits: every `peerwatch` metric it names is
/// one `crates/core/src/metrics.rs` emits, with the same dimensions (and this stack's function where it
/// names one); every emitted metric is shown somewhere; and the function's own `Errors`,
/// `Throttles` and `Duration` are there too.
fn check_dashboard(body: &Value, function_name: &str, region: &str) -> Result<(), String> {
    use peerwatch_core::metrics::{METRICS, NAMESPACE};
    let shown = shown_metrics(body)?;
    for s in &shown {
        match s.namespace.as_str() {
            NAMESPACE => {
                let (_, dims) = METRICS
                    .iter()
                    .find(|(name, _)| *name == s.name)
                    .ok_or_else(|| format!("{}: the poller emits no such metric", s.name))?;
                let names: Vec<&str> = s.dimensions.iter().map(|(d, _)| d.as_str()).collect();
                if names != *dims {
                    return Err(format!(
                        "{}: shown with dimensions {names:?}, emitted with {dims:?}",
                        s.name
                    ));
                }
            }
            "AWS/Lambda" => {
                if names_only(&s.dimensions) != ["FunctionName"] {
                    return Err(format!("AWS/Lambda {}: {:?}", s.name, s.dimensions));
                }
            }
            other => return Err(format!("{}: unexpected namespace {other}", s.name)),
        }
        for (d, v) in &s.dimensions {
            if d == "FunctionName" && v.as_deref() != Some(function_name) {
                return Err(format!(
                    "{} {}: FunctionName {v:?}, not this stack's {function_name}",
                    s.namespace, s.name
                ));
            }
        }
    }
    for (name, _) in METRICS {
        if !shown
            .iter()
            .any(|s| s.namespace == NAMESPACE && s.name == name)
        {
            return Err(format!("{name} is emitted but not shown"));
        }
    }
    for name in ["Errors", "Throttles", "Duration"] {
        if !shown
            .iter()
            .any(|s| s.namespace == "AWS/Lambda" && s.name == name)
        {
            return Err(format!("the function's {name} is not shown"));
        }
    }
    for w in body["widgets"].as_array().into_iter().flatten() {
        if w["type"] == "metric" && w["properties"]["region"] != region {
            return Err(format!(
                "widget {} is in region {}, not {region}",
                w["properties"]["title"], w["properties"]["region"]
            ));
        }
    }
    Ok(())
}

fn names_only(dims: &[(String, Option<String>)]) -> Vec<&str> {
    dims.iter().map(|(d, _)| d.as_str()).collect()
}

#[test]
fn dashboard_check_can_fail() {
    let widget = |metrics: Value| json!({"type": "metric", "properties": {"title": "t", "region": "r", "metrics": metrics}});
    let everything: Vec<Value> = peerwatch_core::metrics::METRICS
        .iter()
        .map(|(name, dims)| {
            if *dims == ["FunctionName"] {
                // This stack's function, named: a SEARCH would show every stack's.
                return json!(["peerwatch", name, "FunctionName", "f"]);
            }
            let schema = std::iter::once("peerwatch")
                .chain(dims.iter().copied())
                .collect::<Vec<_>>()
                .join(",");
            json!([{"id": "e", "expression": format!("SEARCH('{{{schema}}} MetricName=\"{name}\"', 'Sum', 60)")}])
        })
        .chain(["Errors", "Throttles", "Duration"].map(|m| json!(["AWS/Lambda", m, "FunctionName", "f"])))
        .collect();
    let good = json!({"widgets": [widget(json!(everything))]});
    check_dashboard(&good, "f", "r").expect("a dashboard showing everything");

    let with = |extra: Value| {
        let mut all = everything.clone();
        all.push(extra);
        json!({"widgets": [widget(json!(all))]})
    };
    for (body, needle) in [
        (
            with(json!(["peerwatch", "PeersUp", "RouteServerId", "rs-1"])),
            "PeersUp: the poller emits no such metric",
        ),
        (
            with(
                json!([{"id": "x", "expression": "SEARCH('{peerwatch,RouteServerPeerId} MetricName=\"PeersDown\"', 'Maximum', 60)"}]),
            ),
            "PeersDown: shown with dimensions",
        ),
        (
            with(json!([
                "peerwatch",
                "CycleDuration",
                "FunctionName",
                "someone-else"
            ])),
            "not this stack's f",
        ),
        (
            with(json!(["peerwatch", "CycleDuration", ".", "."])),
            "in full",
        ),
        (
            with(json!(["AWS/SQS", "NumberOfMessagesSent"])),
            "unexpected namespace",
        ),
        (
            json!({"widgets": [widget(json!(everything[1..]))]}),
            "PeersHealthy is emitted but not shown",
        ),
        (
            json!({"widgets": [{"type": "metric", "properties": {"title": "t", "region": "eu-west-1", "metrics": everything}}]}),
            "not r",
        ),
    ] {
        let err = check_dashboard(&body, "f", "r").expect_err(needle);
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

/// Non-default alerting parameters reach the function's environment, and the dashboard that
/// CloudFormation makes (every `${...}` substituted) is valid JSON showing the metrics the
/// poller emits, for this stack's function and region.
#[test]
fn alerting_parameters_and_dashboard_deploy_into_cloudformation() {
    let moto_url = moto().endpoint().to_string();
    let stack_name = unique_name("pwdash").to_lowercase();
    let deployed = cfn_stack(&[
        "deploy",
        TEMPLATE,
        "--endpoint",
        &moto_url,
        "--stack",
        &stack_name,
        "--param",
        "StormThreshold=9",
        "--param",
        "FlapThreshold=0",
        "--param",
        "FlapWindowMinutes=45",
        "--param",
        "FlapHoldMinutes=20",
        "--param",
        "RemindEveryMinutes=0",
        "--param",
        "PeerMetrics=true",
    ]);
    assert_eq!(deployed["stackStatus"], "CREATE_COMPLETE", "{deployed:#}");
    let env: BTreeMap<String, String> =
        serde_json::from_value(deployed["function"]["environment"].clone()).expect("environment");
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("a valid environment");
    assert_eq!(
        config.alerting,
        Alerting {
            storm_threshold: 9,
            flap_threshold: 0,
            flap_window_minutes: 45,
            flap_hold_minutes: 20,
            remind_every_minutes: 0,
            peer_metrics: true,
        }
    );

    let dashboard = &deployed["dashboards"]["Dashboard"];
    assert_eq!(dashboard["name"], stack_name.as_str(), "{deployed:#}");
    assert_eq!(deployed["outputs"]["DashboardName"], stack_name.as_str());
    let text = dashboard["body"].as_str().expect("the dashboard body");
    let body: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}\n{text}"));
    // What is left of `${` are CloudWatch's dynamic labels, escaped as ${!...} in the template.
    let leftover: Vec<&str> = text
        .match_indices("${")
        .map(|(i, _)| &text[i..(i + 12).min(text.len())])
        .filter(|s| !s.starts_with("${PROP('Dim."))
        .collect();
    assert!(leftover.is_empty(), "unsubstituted: {leftover:?}");
    let function_name = deployed["function"]["name"].as_str().unwrap();
    assert_eq!(function_name, format!("{stack_name}-poller"));
    check_dashboard(&body, function_name, "us-east-1").unwrap_or_else(|e| panic!("{e}\n{body:#}"));
    // The timeout line of the duration widget is the function's timeout, in milliseconds.
    let timeout_lines: Vec<&Value> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| as_list(&w["properties"]["annotations"]["horizontal"]))
        .map(|a| &a["value"])
        .collect();
    assert_eq!(timeout_lines, [&json!(50_000)]);
}

/// Deploys the template into moto's CloudFormation under a new stack name, with these
/// `KEY=VALUE` parameters: the stack's name and what `cfn_stack.py deploy` reports.
pub(crate) fn deploy(prefix: &str, params: &[&str]) -> (String, Value) {
    let moto_url = moto().endpoint().to_string();
    let stack_name = unique_name(prefix).to_lowercase();
    let mut args = vec![
        "deploy",
        TEMPLATE,
        "--endpoint",
        &moto_url,
        "--stack",
        &stack_name,
    ];
    for p in params {
        args.extend(["--param", p]);
    }
    let deployed = cfn_stack(&args);
    assert_eq!(deployed["stackStatus"], "CREATE_COMPLETE", "{deployed:#}");
    (stack_name, deployed)
}

fn environment(function: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(function["environment"].clone()).expect("environment")
}

/// The account moto deployed into, from a role's ARN.
fn account_of(deployed: &Value) -> String {
    let arn = deployed["roles"]["PollerRole"]["arn"]
        .as_str()
        .expect("role ARN");
    arn.split(':').nth(4).expect("account").to_string()
}

/// The whole peer-log path as CloudFormation made it (PeerLogs=Enabled, the default, and
/// PeerLogsAuto=true): the log group with its retention and delivery policy, the delivery
/// destination on it, the subscription filter to the log consumer and the permission that
/// lets CloudWatch Logs invoke it, the consumer (the poller's binary and settings, its own
/// role, logs and queue), and the poller told to enable logging, with the permissions it takes.
/// The consumer and the poller, each configured from its deployed environment, run on the
/// stack, and their deployed roles allow exactly what they called, ARN by ARN.
#[tokio::test(flavor = "multi_thread")]
async fn peer_log_path_deploys_into_cloudformation() {
    let (stack, deployed) = deploy("pwlogs", &["PeerLogsAuto=true", "LogRetentionDays=7"]);
    let account = account_of(&deployed);
    let outputs = &deployed["outputs"];
    let resources = &deployed["resources"];
    let here = |service: &str, tail: &str| format!("arn:aws:{service}:us-east-1:{account}:{tail}");

    // Everything the template asks for is made, but what moto cannot model.
    let skipped: Vec<&str> = deployed["notCreatedByMoto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .filter(|s| !MOTO_LACKS.iter().any(|t| s.ends_with(&format!("({t})"))))
        .collect();
    assert!(skipped.is_empty(), "not created: {skipped:?}");
    for (logical, kind) in [
        ("PollerFunction", "AWS::Lambda::Function"),
        ("LogConsumerFunction", "AWS::Lambda::Function"),
        ("PeerLogGroup", "AWS::Logs::LogGroup"),
        ("PeerLogGroupPolicy", "AWS::Logs::ResourcePolicy"),
        ("PeerLogDestination", "AWS::Logs::DeliveryDestination"),
        (
            "LogConsumerFunctionPeerLogs",
            "AWS::Logs::SubscriptionFilter",
        ),
        ("LogConsumerLogGroup", "AWS::Logs::LogGroup"),
        ("LogConsumerRole", "AWS::IAM::Role"),
        ("LogConsumerFailedInvocationsQueue", "AWS::SQS::Queue"),
        ("PollerPeerLogsPolicy", "AWS::IAM::Policy"),
    ] {
        assert_eq!(resources[logical]["type"], kind, "{logical}: {resources:#}");
    }

    // The peer-log group, kept LogRetentionDays like the functions' own logs.
    let peer_log_group = outputs["PeerLogGroupName"].as_str().unwrap();
    let peer_log_group_arn = here("logs", &format!("log-group:{peer_log_group}"));
    let groups = &deployed["logGroups"];
    for logical in ["PeerLogGroup", "PollerLogGroup", "LogConsumerLogGroup"] {
        assert_eq!(groups[logical]["retentionInDays"], 7, "{logical}");
    }
    assert_eq!(groups["PeerLogGroup"]["name"], peer_log_group);

    // What vended log delivery needs on it: the delivery service may write its streams, for
    // deliveries of this account and region only.
    assert_eq!(
        deployed["logsResourcePolicies"][format!("{stack}-peer-log-delivery")],
        json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "VendedLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("{peer_log_group_arn}:log-stream:*"),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": here("logs", "*")},
            },
        }]}),
        "{:#}",
        deployed["logsResourcePolicies"]
    );

    // The delivery destination is that group, and the poller and the CLI are told its ARN.
    let destination_arn = outputs["PeerLogDestinationArn"].as_str().unwrap();
    assert_eq!(
        destination_arn,
        here("logs", &format!("delivery-destination:{stack}-peer-logs"))
    );
    let destination = &deployed["deliveryDestinations"][format!("{stack}-peer-logs")];
    assert_eq!(destination["arn"], destination_arn);
    assert_eq!(destination["type"], "CWL");
    assert_eq!(destination["destinationResourceArn"], peer_log_group_arn);
    let cli = outputs["CliEnvironment"].as_str().unwrap();
    assert!(
        cli.ends_with(&format!(" PEER_LOGS_DESTINATION_ARN={destination_arn}")),
        "{cli}"
    );

    // Every record of the group goes to the log consumer, and only that group's, which only
    // CloudWatch Logs, for that group, may invoke.
    let functions = &deployed["functions"];
    let poller = &functions["PollerFunction"];
    let consumer = &functions["LogConsumerFunction"];
    assert_eq!(consumer["name"], format!("{stack}-log-consumer"));
    assert_eq!(outputs["LogConsumerFunctionName"], consumer["name"]);
    assert_eq!(
        groups["PeerLogGroup"]["subscriptionFilters"],
        json!([{
            "filterName": resources["LogConsumerFunctionPeerLogs"]["physicalId"],
            "filterPattern": "",
            "destinationArn": consumer["arn"],
        }])
    );
    for logical in ["PollerLogGroup", "LogConsumerLogGroup"] {
        assert_eq!(
            groups[logical]["subscriptionFilters"],
            json!([]),
            "{logical}"
        );
    }
    let invokers: Vec<&Value> = as_list(&consumer["policy"]["Statement"]);
    assert_eq!(invokers.len(), 1, "{:#}", consumer["policy"]);
    assert_eq!(invokers[0]["Effect"], "Allow");
    assert_eq!(invokers[0]["Action"], "lambda:InvokeFunction");
    assert_eq!(
        invokers[0]["Principal"],
        json!({"Service": "logs.amazonaws.com"})
    );
    assert_eq!(invokers[0]["Resource"], consumer["arn"]);
    assert_eq!(
        invokers[0]["Condition"],
        json!({"ArnLike": {"AWS:SourceArn": format!("{peer_log_group_arn}:*")}})
    );
    assert_eq!(
        poller["policy"],
        Value::Null,
        "the schedule invokes through its own role"
    );

    // The consumer is the poller's binary with the poller's settings, but for enabling logging.
    for key in ["runtime", "handler", "memorySize"] {
        assert_eq!(consumer[key], poller[key], "{key}");
    }
    let poller_env = environment(poller);
    let consumer_env = environment(consumer);
    let mut shared = poller_env.clone();
    for key in POLLER_ONLY_SETTINGS {
        assert!(shared.remove(key).is_some(), "the poller has {key}");
    }
    assert_eq!(consumer_env, shared);
    assert_eq!(poller_env["PEER_LOGS"], "auto");
    assert_eq!(poller_env["PEER_LOGS_DESTINATION_ARN"], destination_arn);
    let config = Config::from_lookup(|k| consumer_env.get(k).cloned())
        .expect("the consumer's environment is valid");
    assert_eq!(config.peer_state_table, outputs["PeerStateTableName"]);

    // Its own role: nothing of the poller's.
    let roles = &deployed["roles"];
    let role = &roles["LogConsumerRole"];
    assert_eq!(consumer["role"], role["arn"]);
    assert_ne!(role["arn"], roles["PollerRole"]["arn"]);
    let mut policy_names: Vec<&str> = role["policies"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    policy_names.sort();
    assert_eq!(policy_names, [SERVICE_POLICY, CONSUMER_CODE_POLICY]);

    // What the Lambda service does with it: its own logs, its own on-failure queue.
    let literal = |v: &Value| v.as_str().expect("a resolved ARN").to_string();
    let queue = outputs["LogConsumerFailedInvocationsQueueUrl"]
        .as_str()
        .unwrap();
    let queue_arn = here("sqs", queue.rsplit('/').next().unwrap());
    assert_ne!(
        queue,
        outputs["FailedInvocationsQueueUrl"].as_str().unwrap()
    );
    let consumer_logs = here(
        "logs",
        &format!(
            "log-group:{}",
            outputs["LogConsumerLogGroupName"].as_str().unwrap()
        ),
    );
    let service: Grants = grants(&role["policies"][SERVICE_POLICY], &literal)
        .into_iter()
        // moto answers GetAtt LogGroup.Arn without CloudFormation's trailing ":*".
        .map(|(a, r)| (a, r.trim_end_matches(":*").to_string()))
        .collect();
    let expected: Grants = [
        ("logs:CreateLogStream".to_string(), consumer_logs.clone()),
        ("logs:PutLogEvents".to_string(), consumer_logs),
        ("sqs:SendMessage".to_string(), queue_arn),
    ]
    .into();
    assert_eq!(service, expected);

    // Its code's policy allows exactly what a consumer run on this stack calls.
    let calls = recorded_consumer_run(&config).await;
    let resolve = |r: &str| -> String {
        if r.starts_with("table/") {
            here("dynamodb", r)
        } else {
            r.to_string()
        }
    };
    let key = deployed["topicKmsKeyArn"]
        .as_str()
        .expect("the topic is encrypted");
    let performed = needed(&calls, &resolve, key);
    let allowed = grants(&role["policies"][CONSUMER_CODE_POLICY], &literal);
    assert_exactly(&performed, &allowed, "deployed LogConsumerRole");

    // With PeerLogsAuto, the poller's role gains enabling logging, on this stack's names only.
    let enabling = grants(
        &roles["PollerRole"]["policies"][POLLER_PEER_LOGS_POLICY],
        &literal,
    );
    let sources = here("logs", "delivery-source:peerwatch-rsp-*");
    let expected: Grants = [
        ("logs:PutDeliverySource", sources.clone()),
        (
            "ec2:AllowVendedLogDeliveryForResource",
            here("ec2", "route-server-peer/*"),
        ),
        ("logs:CreateDelivery", sources),
        ("logs:CreateDelivery", destination_arn.to_string()),
        ("logs:CreateDelivery", here("logs", "delivery:*")),
        ("logs:GetDeliveryDestination", destination_arn.to_string()),
        ("logs:DescribeDeliverySources", "*".to_string()),
        ("logs:DescribeDeliveries", "*".to_string()),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r))
    .collect();
    assert_eq!(enabling, expected);

    // And that is exactly what the poller calls with PEER_LOGS=auto, configured from its
    // deployed environment, on this stack (the rest of its calls its own policy allows).
    let poller_config = Config::from_lookup(|k| poller_env.get(k).cloned())
        .expect("the poller's environment is valid");
    let (logs_calls, others): (Vec<Call>, Vec<Call>) = recorded_auto_cycles(&poller_config)
        .await
        .into_iter()
        .partition(|c| c.service == "CloudWatch Logs");
    let resolve = |r: &str| peer_logs_resource(r, &here, destination_arn);
    let performed = needed(&logs_calls, &resolve, key);
    assert_exactly(
        &performed,
        &enabling,
        "deployed PollerRole's peer-logs policy",
    );
    assert_template_role_allows_exactly(
        "PollerRole",
        &[POLLER_PEER_LOGS_POLICY],
        &logs_calls,
        &poller_config,
    );
    let resolve = |r: &str| -> String {
        if r.starts_with("table/") {
            here("dynamodb", r)
        } else if r.starts_with("route-server/") {
            here("ec2", "route-server/*")
        } else {
            r.to_string()
        }
    };
    let own = grants(&roles["PollerRole"]["policies"][CODE_POLICY], &literal);
    let beyond: Vec<_> = needed(&others, &resolve, key)
        .into_iter()
        .filter(|g| !own.contains(g))
        .collect();
    assert!(beyond.is_empty(), "not allowed to the poller: {beyond:?}");
}

/// Two poll cycles with PEER_LOGS=auto on `config`'s stack (its destination must exist),
/// recorded: the first discovers two peers and turns their logging on (a delivery source and
/// a delivery each), the second discovers nothing and turns nothing on. Answers the calls.
async fn recorded_auto_cycles(config: &Config) -> Vec<Call> {
    use peerwatch_aws::logging::{self, PeerLogs};
    let destination = config.peer_logs_auto.clone().expect("PEER_LOGS=auto");
    let sim = simulator(0);
    // A seed of its own: delivery sources are the account's, and other tests' fleets share
    // the default seed's peer ids.
    let (status, body) = sim.control(
        "POST",
        "/_sim/fleet",
        Some(
            &json!({"routeServers": 1, "peersPerRouteServer": 2, "seed": fastrand::u64(..)})
                .to_string(),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let moto_url = moto().endpoint().to_string();
    let recorder = Recorder::default();
    let sdk = sdk_config().to_builder().endpoint_url(&moto_url).build();
    let plain = logging::client(&sdk, &destination);
    let logs = logging::Client::from_conf(
        plain
            .config()
            .to_builder()
            .interceptor(recorder.clone())
            .build(),
    );
    let poller = Stack::poller_with(&sim, &moto_url, &moto_url, &recorder, config.clone())
        .with_peer_logs(PeerLogs::new(logs, destination));
    let first = poller
        .run(RunOptions::default())
        .await
        .expect("the discovering cycle");
    assert_eq!(
        (first.peers_seen, first.peer_logs_enabled),
        (2, 2),
        "{first:?}"
    );
    let second = poller.run(RunOptions::default()).await.expect("a cycle");
    assert_eq!(second.peer_logs_enabled, 0, "{second:?}");
    recorder.take()
}

/// PeerLogs=Disabled leaves the whole log path out, and the poller with no destination.
#[test]
fn peer_logs_disabled_leaves_the_log_path_out() {
    let (stack, deployed) = deploy("pwnologs", &["PeerLogs=Disabled"]);
    let in_log_path = |logical: &str| {
        ["PeerLog", "LogConsumer", "PollerPeerLogs"]
            .iter()
            .any(|p| logical.starts_with(p))
    };
    let made: Vec<&String> = deployed["resources"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|l| in_log_path(l))
        .collect();
    assert!(made.is_empty(), "made with PeerLogs=Disabled: {made:?}");
    let outputs: Vec<&String> = deployed["outputs"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|l| in_log_path(l))
        .collect();
    assert!(outputs.is_empty(), "{outputs:?}");
    // Skipped by their condition, not as a gap of moto's.
    let skipped: Vec<&str> = deployed["notCreatedByMoto"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .filter(|s| in_log_path(s))
        .collect();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(
        deployed["deliveryDestinations"][format!("{stack}-peer-logs")],
        Value::Null
    );
    let env = environment(&deployed["function"]);
    assert_eq!(env["PEER_LOGS"], "off");
    assert!(!env.contains_key("PEER_LOGS_DESTINATION_ARN"), "{env:?}");
    let cli = deployed["outputs"]["CliEnvironment"].as_str().unwrap();
    assert!(!cli.contains("PEER_LOGS"), "{cli}");
    assert_eq!(
        deployed["roles"]["PollerRole"]["policies"][POLLER_PEER_LOGS_POLICY],
        Value::Null
    );
}

/// PeerLogsAuto=true without the log path is refused before anything is made (a template
/// rule; moto does not evaluate rules, CloudFormation does).
#[test]
fn peer_logs_auto_needs_the_log_path() {
    let rule = &template()["Rules"]["PeerLogsAutoNeedsPeerLogs"];
    assert_eq!(
        rule["RuleCondition"],
        json!({"Fn::Equals": [{"Ref": "PeerLogsAuto"}, "true"]})
    );
    let asserts: Vec<&Value> = as_list(&rule["Assertions"])
        .into_iter()
        .map(|a| &a["Assert"])
        .collect();
    assert_eq!(
        asserts,
        [&json!({"Fn::Equals": [{"Ref": "PeerLogs"}, "Enabled"]})]
    );
    // And the poller's enabling permissions exist only with both.
    let resources = &template()["Resources"];
    assert_eq!(
        resources["PollerPeerLogsPolicy"]["Condition"],
        "PeerLogsAutoEnabled"
    );
    assert_eq!(
        template()["Conditions"]["PeerLogsAutoEnabled"],
        json!({"Fn::And": [{"Condition": "PeerLogsEnabled"}, {"Fn::Equals": [{"Ref": "PeerLogsAuto"}, "true"]}]})
    );
}

/// The log consumer is built exactly as the poller is (the same binary), and has its own
/// failure handling: two retries, then its own encrypted queue, and its own alarms on errors,
/// throttles and that queue, all to the alert topic.
#[test]
fn log_consumer_is_the_poller_build_with_its_own_failure_handling() {
    let resources = &template()["Resources"];
    let poller = &resources["PollerFunction"];
    let consumer = &resources["LogConsumerFunction"];
    assert_eq!(consumer["Condition"], "PeerLogsEnabled");
    // All of it: `sam build` shares one build between functions only when their build
    // definitions, Metadata included, are equal; otherwise it compiles the release twice.
    assert_eq!(consumer["Metadata"], poller["Metadata"]);
    assert_eq!(poller["Metadata"]["BuildProperties"]["Binary"], "poller");
    for key in [
        "CodeUri",
        "Handler",
        "Runtime",
        "Architectures",
        "MemorySize",
    ] {
        assert_eq!(
            consumer["Properties"][key], poller["Properties"][key],
            "{key}"
        );
    }
    assert_ne!(consumer["Properties"]["Role"], poller["Properties"]["Role"]);

    // Fed by one subscription, on the peer-log group.
    let events: Vec<&Value> = consumer["Properties"]["Events"]
        .as_object()
        .expect("events")
        .values()
        .collect();
    assert_eq!(
        events,
        [
            &json!({"Type": "CloudWatchLogs", "Properties": {"LogGroupName": {"Ref": "PeerLogGroup"}, "FilterPattern": ""}})
        ]
    );

    let invoke = &consumer["Properties"]["EventInvokeConfig"];
    assert_eq!(invoke["MaximumRetryAttempts"], 2);
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"],
        json!({"Type": "SQS", "Destination": {"Fn::GetAtt": ["LogConsumerFailedInvocationsQueue", "Arn"]}})
    );
    let queue = &resources["LogConsumerFailedInvocationsQueue"]["Properties"];
    let poller_queue = &resources["FailedInvocationsQueue"]["Properties"];
    for key in ["SqsManagedSseEnabled", "MessageRetentionPeriod"] {
        assert_eq!(queue[key], poller_queue[key], "{key}");
    }
    assert_eq!(queue["SqsManagedSseEnabled"], true);

    // Its alarms: (namespace, metric, dimension, comparison, threshold).
    let mut alarms: Vec<(String, String, String, String, i64)> = resources
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .filter_map(|r| {
            let p = &r["Properties"];
            let dims = as_list(&p["Dimensions"]);
            let on = dims.first().map(|d| symbolic(&d["Value"]))?;
            if !on.starts_with("LogConsumer") {
                return None;
            }
            assert_eq!(r["Condition"], "PeerLogsEnabled", "{p}");
            assert_eq!(p["AlarmActions"], json!([{"Ref": "AlertTopic"}]), "{p}");
            assert_eq!(p["OKActions"], json!([{"Ref": "AlertTopic"}]), "{p}");
            Some((
                p["Namespace"].as_str().unwrap().to_string(),
                p["MetricName"].as_str().unwrap().to_string(),
                on,
                p["ComparisonOperator"].as_str().unwrap().to_string(),
                p["Threshold"].as_i64().unwrap(),
            ))
        })
        .collect();
    alarms.sort();
    let alarm = |ns: &str, metric: &str, on: &str, cmp: &str, threshold| {
        (ns.into(), metric.into(), on.into(), cmp.into(), threshold)
    };
    assert_eq!(
        alarms,
        [
            alarm(
                "AWS/Lambda",
                "Errors",
                "LogConsumerFunction",
                "GreaterThanThreshold",
                0
            ),
            alarm(
                "AWS/Lambda",
                "Throttles",
                "LogConsumerFunction",
                "GreaterThanOrEqualToThreshold",
                1
            ),
            alarm(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                "LogConsumerFailedInvocationsQueue",
                "GreaterThanOrEqualToThreshold",
                1
            ),
        ]
    );
}

/// Milliseconds since the epoch, as peer log records stamp their events.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A run of the log consumer on `config`'s tables and topic, recorded, over every path of
/// it that calls AWS: three peers discovered by a poll first (its calls not recorded), then
/// one batch as CloudWatch Logs delivers it, with a BGP flap and a BFD change (recorded and
/// alerted), a record older than the peer's last change (kept late), a route record, a
/// record of a peer peerwatch does not track and one that is not a record; its first write
/// meets `TransactionConflict` (through the fault proxy: moto never answers it), so that
/// peer is read again. Then the same batch again, which records nothing. Answers the calls.
async fn recorded_consumer_run(config: &Config) -> Vec<Call> {
    let sim = simulator(0);
    let peers = sim.fleet(1, 3);
    let moto_url = moto().endpoint().to_string();
    Stack::poller_with(
        &sim,
        &moto_url,
        &moto_url,
        &Recorder::default(),
        config.clone(),
    )
    .run(RunOptions::default())
    .await
    .expect("the discovering cycle");
    let discovered = now_ms();
    // Every record of the batch is in the past when it is applied.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let proxy = peerwatch_testkit::emulators::Emulator::fault_proxy(
        &peerwatch_testkit::emulators::project_python(),
        &moto_url,
    )
    .unwrap_or_else(|e| panic!("starting the fault proxy: {e}"));
    let armed = ureq::post(&format!("{}/_proxy/faults", proxy.endpoint()))
        .content_type("application/json")
        .send(
            // Applied, then answered 500: the SDK's retry meets its own write, a lost race,
            // and the consumer reads the peer again (the GetItem its role needs).
            json!({"operation": "TransactWriteItems", "kind": "lost-error", "count": 1})
                .to_string(),
        )
        .expect("arming the fault proxy");
    assert_eq!(armed.status().as_u16(), 200);
    let recorder = Recorder::default();
    let consumer = Stack::poller_with(&sim, proxy.endpoint(), &moto_url, &recorder, config.clone());

    let record = |peer: &str, at: i64, kind: &str, status: &str, message: Value| {
        json!({
            "resource_arn": format!("arn:aws:ec2:us-east-1:111122223333:route-server-peer/{peer}"),
            "event_timestamp": at,
            "type": kind,
            "status": status,
            "message": message,
        })
        .to_string()
    };
    let route = json!({"prefix": "10.24.34.0/32", "asPath": "65000", "med": 100, "nextHopIp": "10.24.34.1"});
    let texts = [
        record(&peers[0], discovered + 10, "BGPStatus", "DOWN", Value::Null),
        record(&peers[0], discovered + 40, "BGPStatus", "UP", Value::Null),
        record(&peers[1], discovered + 20, "BFDStatus", "DOWN", Value::Null),
        record(
            &peers[1],
            discovered - 3_600_000,
            "BFDStatus",
            "DOWN",
            Value::Null,
        ),
        record(
            &peers[2],
            discovered + 30,
            "RouteStatus",
            "ADVERTISED",
            route,
        ),
        record(
            "rsp-0fffffffffffffff0",
            discovered + 30,
            "BGPStatus",
            "DOWN",
            Value::Null,
        ),
        "not a record".to_string(),
    ];
    let batch = || peerwatch_core::peer_logs::Batch::parse(texts.iter().map(String::as_str));
    let first = consumer.consume(batch(), None).await.expect("the batch");
    assert_eq!(
        (
            first.changes_recorded,
            first.late_recorded,
            first.route_records,
            first.records_untracked,
            first.records_skipped,
            first.races_retried,
            first.records_reflected,
        ),
        // The write whose answer was lost is found, read again, reflected.
        (2, 1, 1, 1, 1, 1, 1),
        "{first:?}"
    );
    assert!(first.notifications_sent > 0, "{first:?}");
    let again = consumer
        .consume(batch(), None)
        .await
        .expect("the batch again");
    // Nothing new: each record is reflected, or (older than the flap's end) already kept.
    assert_eq!(
        (
            again.changes_recorded,
            again.late_recorded,
            again.records_reflected + again.late_already_recorded,
        ),
        (0, 0, 4),
        "{again:?}"
    );
    recorder.take()
}

/// The log consumer's role allows exactly what the consumer's code calls, resource by
/// resource (the template's policy, as it names resources).
#[tokio::test(flavor = "multi_thread")]
async fn log_consumer_role_allows_exactly_what_the_consumer_calls() {
    let stack = Stack::new().await;
    let calls = recorded_consumer_run(&stack.config).await;
    assert_template_role_allows_exactly(
        "LogConsumerRole",
        &[CONSUMER_CODE_POLICY],
        &calls,
        &stack.config,
    );
}
