//! The SAM template in `infra/`: its IAM checked against what the poller really calls, and the
//! whole stack deployed into moto's CloudFormation and polled through.

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

/// The template's inline policy `name` of role `role`.
fn template_policy(role: &str, name: &str) -> &'static Value {
    let policies = &template()["Resources"][role]["Properties"]["Policies"];
    &as_list(policies)
        .into_iter()
        .find(|p| p["PolicyName"] == name)
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
    let state = format!("table/{}", config.peer_state_table);
    let transitions = format!("table/{}", config.peer_transitions_table);
    let topic = config.alert_topic_arn.clone().unwrap_or_default();
    let resolve = |r: &str| -> String {
        if r == state {
            "PeerStateTable".into()
        } else if let Some(rest) = r.strip_prefix(&transitions) {
            format!("PeerTransitionsTable{rest}")
        } else if r == topic {
            "AlertTopic".into()
        } else if r.starts_with("route-server/") {
            // Every route server of the account and region, as the template grants it.
            "arn:AWS::Partition:ec2:AWS::Region:AWS::AccountId:route-server/*".into()
        } else {
            r.to_string()
        }
    };
    let topic_key =
        symbolic(&template()["Resources"]["AlertTopic"]["Properties"]["KmsMasterKeyId"]);
    let performed = needed(calls, &resolve, &topic_key);
    let allowed = grants(template_policy("PollerRole", CODE_POLICY), &symbolic);
    assert_exactly(&performed, &allowed, "infra/template.yaml PollerRole");
}

/// Every policy document in the template: the roles' inline policies, standalone IAM
/// policies, and the resource policies (topic, key).
fn all_policy_documents(t: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (logical, res) in t["Resources"].as_object().expect("Resources") {
        let props = &res["Properties"];
        match res["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => {
                out.push((
                    format!("{logical} trust"),
                    &props["AssumeRolePolicyDocument"],
                ));
                for p in as_list(&props["Policies"]) {
                    out.push((
                        format!("{logical} {}", p["PolicyName"]),
                        &p["PolicyDocument"],
                    ));
                }
            }
            "AWS::IAM::Policy"
            | "AWS::IAM::ManagedPolicy"
            | "AWS::SNS::TopicPolicy"
            | "AWS::SQS::QueuePolicy" => out.push((logical.clone(), &props["PolicyDocument"])),
            "AWS::KMS::Key" => out.push((logical.clone(), &props["KeyPolicy"])),
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
fn wildcard_actions(docs: &[(String, &Value)]) -> Vec<String> {
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
    assert!(
        docs.len() >= 5,
        "expected the roles, topic and key policies, found {}",
        docs.len()
    );
    let bad = wildcard_actions(&docs);
    assert!(bad.is_empty(), "wildcard actions in {TEMPLATE}: {bad:?}");

    // The check itself can fail.
    let broken = json!({"Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:*"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]});
    assert_eq!(
        wildcard_actions(&[("broken".into(), &broken)]),
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
            "PEER_METRICS",
            "PEER_STATE_TABLE",
            "PEER_TRANSITIONS_TABLE",
            "REMIND_EVERY_MINUTES",
            "ROUTE_SERVER_IDS",
            "STORM_THRESHOLD"
        ],
        "every setting of docs/operating.md's Configuration and Alert rules, nothing else"
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
