//! What `doctor` reads, one AWS read per fact, and the checks made of it. Every call is a
//! read (Describe/Get/List/Filter/Query/Scan); docs/operator-policy.md grants exactly these.
//! A failed read is a check of its own, worded with the SDK's error code, never the end of
//! the run: the other checks still say what they can.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use peerwatch_aws::config::{ALERT_TOPIC_ARN, PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE};
use peerwatch_aws::logging::{DeliveryDestinationArn, Logging, PeerLogs};
use peerwatch_aws::store::{
    ATTR_DAY, ATTR_EXPIRES_AT, ATTR_KEY, ATTR_OBSERVED_AT, ATTR_PENDING, ATTR_ROUTE_SERVER,
    INDEX_BY_DAY, INDEX_BY_ROUTE_SERVER, INDEX_PENDING, Store,
};
use peerwatch_core::doctor::{
    self as judge, Check, ExpectedIndex, ExpectedTable, FoundIndex, FoundSchedule,
    FoundSubscription, FoundTable, KeyType,
};
use peerwatch_core::error_chain;
use peerwatch_core::ids::RouteServerPeerId;
use peerwatch_core::model::Timestamp;

use super::Settings;

/// The term only the cycle's metrics line carries (`peerwatch_core::metrics`): each
/// completed, non-dry-run cycle prints it once.
pub const CYCLE_LINE_TERM: &str = peerwatch_core::metrics::CYCLE_DURATION;
/// How far back `doctor` looks for a cycle older than the allowed intervals, to say how old.
const SEARCH_BACK: Duration = Duration::from_secs(6 * 3_600);
/// The schedule's interval when it cannot be read or is a `cron(...)`.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// The tables as the code needs them, from the names the code uses (`peerwatch_aws::store`).
pub fn expected_tables() -> [ExpectedTable; 2] {
    let s = |n: &str| n.to_string();
    let by = |name: &str, hash: &str| ExpectedIndex {
        name: s(name),
        keys: vec![
            (s(hash), KeyType::Hash),
            (s(ATTR_OBSERVED_AT), KeyType::Range),
        ],
    };
    [
        ExpectedTable {
            role: s("PeerState"),
            keys: vec![(s(ATTR_KEY), KeyType::Hash)],
            indexes: vec![],
            ttl: None,
        },
        ExpectedTable {
            role: s("PeerTransitions"),
            keys: vec![
                (s(ATTR_KEY), KeyType::Hash),
                (s(ATTR_OBSERVED_AT), KeyType::Range),
            ],
            indexes: vec![
                by(INDEX_BY_ROUTE_SERVER, ATTR_ROUTE_SERVER),
                by(INDEX_BY_DAY, ATTR_DAY),
                by(INDEX_PENDING, ATTR_PENDING),
            ],
            ttl: Some(s(ATTR_EXPIRES_AT)),
        },
    ]
}

/// An SDK error as one phrase: its code and message when AWS answered, else its chain.
fn why<E, R>(e: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(code), Some(m)) => format!("{code}: {m}"),
        (Some(code), None) => code.to_string(),
        _ => error_chain(e),
    }
}

fn denied<E: ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    e.code().is_some_and(|c| {
        c.contains("AccessDenied") || c == "UnauthorizedOperation" || c == "AuthorizationError"
    })
}

/// What the stack made, by logical id, and its outputs.
#[derive(Default)]
struct StackFacts {
    resources: BTreeMap<String, String>,
    outputs: BTreeMap<String, String>,
}

impl StackFacts {
    fn resource(&self, logical: &str) -> Option<&str> {
        self.resources.get(logical).map(String::as_str)
    }
    fn output(&self, key: &str) -> Option<&str> {
        self.outputs.get(key).map(String::as_str)
    }
}

async fn read_stack(
    sdk: &aws_config::SdkConfig,
    stack: &str,
) -> Result<(StackFacts, Check), Check> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let unreadable = |what: String| {
        Check::fail(
            "stack",
            format!("cannot read stack {stack} in region {region}: {what}"),
            format!(
                "name the stack with --stack NAME or {} (the default is {}), check the region \
                 (--region or AWS_REGION) and that the caller may cloudformation:DescribeStacks \
                 and DescribeStackResources; meanwhile the settings' tables and topic are checked",
                super::PEERWATCH_STACK,
                super::DEFAULT_STACK
            ),
        )
    };
    let described = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| unreadable(why(&e)))?;
    let Some(found) = described.stacks().first() else {
        return Err(unreadable("no such stack".into()));
    };
    let mut facts = StackFacts::default();
    for o in found.outputs() {
        if let (Some(k), Some(v)) = (o.output_key(), o.output_value()) {
            facts.outputs.insert(k.to_string(), v.to_string());
        }
    }
    let resources = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| unreadable(why(&e)))?;
    for r in resources.stack_resources() {
        if let (Some(l), Some(p)) = (r.logical_resource_id(), r.physical_resource_id())
            && !p.is_empty()
        {
            facts.resources.insert(l.to_string(), p.to_string());
        }
    }
    let status = found
        .stack_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let check = if status.ends_with("_COMPLETE") && !status.contains("ROLLBACK") {
        Check::ok("stack", format!("{stack}: {status}"))
    } else if status.ends_with("_IN_PROGRESS") {
        Check::warn(
            "stack",
            format!("{stack}: {status}"),
            "run doctor again once the stack's change has finished",
        )
    } else {
        Check::fail(
            "stack",
            format!("{stack}: {status}"),
            format!(
                "read why in the stack's events (aws cloudformation describe-stack-events \
                 --stack-name {stack}) and deploy again"
            ),
        )
    };
    Ok((facts, check))
}

/// Every check, in the order they are printed.
pub async fn checks(
    sdk: &aws_config::SdkConfig,
    now: Timestamp,
    stack: &str,
    settings: &Settings<'_>,
) -> Vec<Check> {
    let mut out = Vec::new();
    let (facts, readable) = match read_stack(sdk, stack).await {
        Ok((facts, check)) => {
            out.push(check);
            (facts, true)
        }
        Err(check) => {
            out.push(check);
            (StackFacts::default(), false)
        }
    };
    let config = match settings {
        Settings::Set(c) => Some(*c),
        _ => None,
    };
    if let Settings::Invalid(e) = settings {
        out.push(Check::warn(
            "settings",
            format!("the settings are invalid: {e}"),
            "fix the setting (the stack's CliEnvironment output has the right values), or unset it",
        ));
    }
    // The names to check: the stack's, else the settings'.
    let pick = |logical: &str, set: Option<&str>| -> Option<String> {
        facts
            .resource(logical)
            .map(str::to_string)
            .or_else(|| set.map(str::to_string))
    };
    let state_table = pick(
        "PeerStateTable",
        config.map(|c| c.peer_state_table.as_str()),
    );
    let transitions_table = pick(
        "PeerTransitionsTable",
        config.map(|c| c.peer_transitions_table.as_str()),
    );
    let topic = pick(
        "AlertTopic",
        config.and_then(|c| c.alert_topic_arn.as_deref()),
    );
    if readable && let Some(c) = config {
        out.extend(settings_check(&facts, c));
    }

    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let [state_expected, transitions_expected] = expected_tables();
    let mut found_tables = Vec::new();
    for (expected, name, setting) in [
        (&state_expected, &state_table, PEER_STATE_TABLE),
        (
            &transitions_expected,
            &transitions_table,
            PEER_TRANSITIONS_TABLE,
        ),
    ] {
        let Some(name) = name else {
            out.push(Check::fail(
                "table",
                format!(
                    "{}: no table to check (no stack, {setting} not set)",
                    expected.role
                ),
                format!("give --stack NAME, or set {setting}"),
            ));
            continue;
        };
        match read_table(&ddb, name).await {
            Ok(found) => {
                out.push(judge::judge_table(expected, &found, readable));
                out.extend(judge::judge_ttl(expected, &found));
                found_tables.push((expected.role.clone(), found));
            }
            Err(TableError::Missing) => {
                out.push(judge::missing_table(&expected.role, name, setting))
            }
            Err(TableError::Unreadable(e)) => out.push(Check::fail(
                "table",
                format!("{} {name}: cannot be read: {e}", expected.role),
                "the caller needs dynamodb:DescribeTable, DescribeTimeToLive and \
                 DescribeContinuousBackups on the table (docs/operator-policy.md)",
            )),
        }
    }
    if !found_tables.is_empty() {
        let refs: Vec<(&str, &FoundTable)> =
            found_tables.iter().map(|(r, t)| (r.as_str(), t)).collect();
        out.push(judge::judge_pitr(&refs));
    }

    // The schedule and the last cycle.
    let mut interval = DEFAULT_INTERVAL;
    match facts.resource("PollSchedule") {
        Some(name) => match read_schedule(sdk, name).await {
            Ok(found) => {
                interval = judge::rate_interval(&found.expression).unwrap_or(DEFAULT_INTERVAL);
                out.push(judge::judge_schedule(
                    &found,
                    facts.output("PollerFunctionArn"),
                    stack,
                ));
            }
            Err(e) => out.push(Check::fail(
                "schedule",
                format!("{name}: cannot be read: {e}"),
                "the caller needs scheduler:GetSchedule on it (docs/operator-policy.md); a \
                 schedule that is missing is made again by deploying the stack",
            )),
        },
        None => out.push(skipped(
            "schedule",
            readable,
            "the stack has no PollSchedule",
        )),
    }
    match facts.resource("PollerLogGroup") {
        Some(group) => out.push(last_cycle(sdk, now, group, interval).await),
        None => out.push(skipped(
            "last-cycle",
            readable,
            "the stack has no PollerLogGroup",
        )),
    }

    // The outbox.
    if let (Some(state), Some(transitions)) = (&state_table, &transitions_table) {
        let store = Store::new(ddb.clone(), state, transitions, 0);
        let topic_name = topic.as_deref().unwrap_or("the topic");
        out.push(match store.pending_notifications().await {
            Ok(pending) => {
                let times: Vec<Timestamp> = pending
                    .iter()
                    .filter_map(|p| p.observed_at.parse().ok())
                    .collect();
                judge::judge_outbox(now, &times, topic_name)
            }
            Err(e) => Check::fail(
                "outbox",
                format!("cannot read the outbox: {}", error_chain(&e)),
                format!(
                    "the caller needs dynamodb:Query on {transitions}/index/{INDEX_PENDING} \
                     (docs/operator-policy.md)"
                ),
            ),
        });
    }

    // The topic.
    match &topic {
        Some(arn) => out.extend(topic_checks(sdk, arn).await),
        None => out.push(Check::fail(
            "topic",
            "no topic to check (no stack, ALERT_TOPIC_ARN not set)",
            format!("give --stack NAME, or set {ALERT_TOPIC_ARN}"),
        )),
    }

    // Peer logs, when the stack has their path.
    if let Some(destination) = facts.output("PeerLogDestinationArn")
        && let (Some(state), Some(transitions)) = (&state_table, &transitions_table)
    {
        out.push(peer_logs(sdk, &ddb, state, transitions, destination).await);
    }

    // The functions' errors and throttles.
    for (logical, group) in [
        ("PollerFunction", "PollerLogGroup"),
        ("LogConsumerFunction", "LogConsumerLogGroup"),
    ] {
        if let Some(function) = facts.resource(logical) {
            let group = facts
                .resource(group)
                .map(str::to_string)
                .unwrap_or_else(|| format!("/aws/lambda/{function}"));
            out.push(function_errors(sdk, now, function, &group).await);
            if out.last().is_some_and(|c| c.detail.starts_with("skipped")) {
                break;
            }
        }
    }
    out
}

/// A check that needs the stack: a warning naming what was not checked.
fn skipped(check: &str, readable: bool, why: &str) -> Check {
    let detail = if readable {
        format!("not checked: {why}")
    } else {
        "not checked: the stack could not be read".to_string()
    };
    Check::warn(check, detail, "see the stack check above")
}

/// The settings the CLI was given against the stack's: a command pointed elsewhere reads
/// another deployment.
fn settings_check(facts: &StackFacts, c: &peerwatch_aws::config::Config) -> Option<Check> {
    let mut differ = Vec::new();
    for (setting, set, logical) in [
        (
            PEER_STATE_TABLE,
            Some(c.peer_state_table.as_str()),
            "PeerStateTable",
        ),
        (
            PEER_TRANSITIONS_TABLE,
            Some(c.peer_transitions_table.as_str()),
            "PeerTransitionsTable",
        ),
        (ALERT_TOPIC_ARN, c.alert_topic_arn.as_deref(), "AlertTopic"),
    ] {
        if let (Some(set), Some(stack)) = (set, facts.resource(logical))
            && set != stack
        {
            differ.push(format!("{setting} is {set}, the stack's is {stack}"));
        }
    }
    if differ.is_empty() {
        return Some(Check::ok(
            "settings",
            "the settings name the stack's tables and topic",
        ));
    }
    Some(Check::warn(
        "settings",
        format!(
            "the other peerwatch commands read another deployment: {}",
            differ.join("; ")
        ),
        "paste the stack's CliEnvironment output into the shell (aws cloudformation \
         describe-stacks --query \"Stacks[0].Outputs\")",
    ))
}

/// Why a table could not be read: it is not there, or a call failed (as AWS worded it).
enum TableError {
    Missing,
    Unreadable(String),
}

async fn read_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> Result<FoundTable, TableError> {
    let key_type = |k: &aws_sdk_dynamodb::types::KeyType| match k {
        aws_sdk_dynamodb::types::KeyType::Range => KeyType::Range,
        _ => KeyType::Hash,
    };
    let keys = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        ks.iter()
            .map(|k| (k.attribute_name().to_string(), key_type(k.key_type())))
            .collect::<Vec<_>>()
    };
    let described = ddb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
            {
                TableError::Missing
            } else {
                TableError::Unreadable(why(&e))
            }
        })?;
    let Some(t) = described.table() else {
        return Err(TableError::Missing);
    };
    let mut found = FoundTable {
        name: name.to_string(),
        keys: keys(t.key_schema()),
        attributes: t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string(),
                )
            })
            .collect(),
        indexes: t
            .global_secondary_indexes()
            .iter()
            .map(|g| FoundIndex {
                name: g.index_name().unwrap_or_default().to_string(),
                keys: keys(g.key_schema()),
                projection: g
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_default(),
                status: g
                    .index_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        ..Default::default()
    };
    let ttl = ddb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| TableError::Unreadable(why(&e)))?;
    if let Some(d) = ttl.time_to_live_description() {
        found.ttl_status = d
            .time_to_live_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        found.ttl_attribute = d.attribute_name().map(str::to_string);
    }
    let backups = ddb
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| TableError::Unreadable(why(&e)))?;
    found.pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str() == "ENABLED");
    Ok(found)
}

async fn read_schedule(sdk: &aws_config::SdkConfig, name: &str) -> Result<FoundSchedule, String> {
    let scheduler = aws_sdk_scheduler::Client::new(sdk);
    let s = scheduler
        .get_schedule()
        .name(name)
        .send()
        .await
        .map_err(|e| why(&e))?;
    Ok(FoundSchedule {
        name: name.to_string(),
        state: s
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        expression: s.schedule_expression().unwrap_or_default().to_string(),
        target_arn: s.target().map(|t| t.arn().to_string()).unwrap_or_default(),
    })
}

/// The newest metrics line of a completed cycle: first within the allowed intervals (a
/// healthy deployment's search covers a few minutes), then further back to say how old.
async fn last_cycle(
    sdk: &aws_config::SdkConfig,
    now: Timestamp,
    group: &str,
    interval: Duration,
) -> Check {
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let now_ms = now.as_millis();
    let recent_ms = (interval * judge::STALE_INTERVALS).as_millis() as i64;
    let back_ms = (SEARCH_BACK.max(interval * 2 * judge::STALE_INTERVALS)).as_millis() as i64;
    let mut newest = None;
    for (start, end) in [
        (now_ms - recent_ms, now_ms + 1),
        (now_ms - back_ms, now_ms - recent_ms),
    ] {
        match newest_line(&logs, group, start, end).await {
            Ok(Some(t)) => {
                newest = Some(t);
                break;
            }
            Ok(None) => {}
            Err(e) => {
                return Check::fail(
                    "last-cycle",
                    format!("cannot read the poller's log group {group}: {e}"),
                    "the caller needs logs:FilterLogEvents on it (docs/operator-policy.md)",
                );
            }
        }
    }
    let newest = newest.and_then(Timestamp::from_millis);
    judge::judge_last_cycle(
        now,
        newest,
        interval,
        Duration::from_millis(back_ms as u64),
        group,
    )
}

async fn newest_line(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    start_ms: i64,
    end_ms: i64,
) -> Result<Option<i64>, String> {
    let mut newest = None;
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .filter_pattern(format!("\"{CYCLE_LINE_TERM}\""))
            .start_time(start_ms)
            .end_time(end_ms)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| why(&e))?;
        for e in page.events() {
            newest = newest.max(e.timestamp());
        }
        match page.next_token() {
            Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => return Ok(newest),
        }
    }
}

async fn topic_checks(sdk: &aws_config::SdkConfig, topic: &str) -> Vec<Check> {
    let sns = aws_sdk_sns::Client::new(sdk);
    let mut subs = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = match sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .set_next_token(token.clone())
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) => {
                return vec![Check::fail(
                    "topic",
                    format!("cannot list the subscriptions of {topic}: {}", why(&e)),
                    "the caller needs sns:ListSubscriptionsByTopic and \
                     sns:GetSubscriptionAttributes (docs/operator-policy.md); a topic that is \
                     missing is made again by deploying the stack",
                )];
            }
        };
        for s in page.subscriptions() {
            let arn = s.subscription_arn().unwrap_or_default();
            let mut found = FoundSubscription {
                protocol: s.protocol().unwrap_or_default().to_string(),
                endpoint: s.endpoint().unwrap_or_default().to_string(),
                confirmed: arn.starts_with("arn:"),
                ..Default::default()
            };
            if found.confirmed {
                match sns
                    .get_subscription_attributes()
                    .subscription_arn(arn)
                    .send()
                    .await
                {
                    Ok(a) => {
                        let attrs = a.attributes();
                        let get = |k: &str| attrs.and_then(|m| m.get(k)).cloned();
                        found.filter_policy = get("FilterPolicy");
                        found.filter_scope = get("FilterPolicyScope");
                        if get("PendingConfirmation").as_deref() == Some("true") {
                            found.confirmed = false;
                        }
                    }
                    Err(e) => {
                        return vec![Check::fail(
                            "topic",
                            format!("cannot read subscription {arn}: {}", why(&e)),
                            "the caller needs sns:GetSubscriptionAttributes \
                             (docs/operator-policy.md)",
                        )];
                    }
                }
            }
            subs.push(found);
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let mut out = vec![judge::judge_subscriptions(topic, &subs)];
    out.extend(judge::judge_filters(&subs));
    out
}

async fn peer_logs(
    sdk: &aws_config::SdkConfig,
    ddb: &aws_sdk_dynamodb::Client,
    state: &str,
    transitions: &str,
    destination: &str,
) -> Check {
    let check = "peer-logs";
    let destination = match DeliveryDestinationArn::parse(destination) {
        Ok(d) => d,
        Err(e) => {
            return Check::fail(
                check,
                format!("the stack's PeerLogDestinationArn is not a delivery destination: {e}"),
                "deploy the stack again",
            );
        }
    };
    let store = Store::new(ddb.clone(), state, transitions, 0);
    let known = match store.load_known().await {
        Ok(k) => k,
        Err(e) => {
            return Check::fail(
                check,
                format!("cannot read the known peers: {}", error_chain(&e)),
                format!("the caller needs dynamodb:Scan on {state} (docs/operator-policy.md)"),
            );
        }
    };
    let mut peers: Vec<RouteServerPeerId> = known
        .peers
        .values()
        .filter(|r| r.present)
        .filter_map(|r| RouteServerPeerId::parse(&r.peer.route_server_peer_id).ok())
        .collect();
    peers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let logs = PeerLogs::new(
        peerwatch_aws::logging::client(sdk, &destination),
        destination.clone(),
    );
    match logs.status(&peers).await {
        Ok(statuses) => {
            let rows: Vec<(String, String, Option<String>)> = statuses
                .iter()
                .map(|s| {
                    (
                        s.peer.as_str().to_string(),
                        s.logging.as_str().to_string(),
                        match s.logging {
                            Logging::Partial => s.partial.as_ref().map(|p| p.to_string()),
                            _ => None,
                        },
                    )
                })
                .collect();
            judge::judge_peer_logs(destination.as_str(), &rows)
        }
        Err(e) => Check::warn(
            check,
            format!("cannot read the peers' logging: {}", error_chain(&e)),
            "the caller needs logs:DescribeDeliverySources and logs:DescribeDeliveries \
             (docs/operator-policy.md)",
        ),
    }
}

async fn function_errors(
    sdk: &aws_config::SdkConfig,
    now: Timestamp,
    function: &str,
    log_group: &str,
) -> Check {
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let cloudwatch = aws_sdk_cloudwatch::Client::new(sdk);
    let end = aws_smithy_types::DateTime::from_millis(now.as_millis());
    let start = aws_smithy_types::DateTime::from_millis(now.as_millis() - 3_600_000);
    let mut sums = [0.0; 2];
    for (metric, sum) in ["Errors", "Throttles"].iter().zip(sums.iter_mut()) {
        let got = cloudwatch
            .get_metric_statistics()
            .namespace("AWS/Lambda")
            .metric_name(*metric)
            .dimensions(
                Dimension::builder()
                    .name("FunctionName")
                    .value(function)
                    .build(),
            )
            .start_time(start)
            .end_time(end)
            .period(3_600)
            .statistics(Statistic::Sum)
            .send()
            .await;
        match got {
            Ok(out) => *sum = out.datapoints().iter().filter_map(|d| d.sum()).sum(),
            Err(e) if denied(&e) => {
                return Check::warn(
                    "errors",
                    "skipped: cannot read CloudWatch (cloudwatch:GetMetricStatistics)",
                    "grant cloudwatch:GetMetricStatistics (docs/operator-policy.md) to see the \
                     functions' errors",
                );
            }
            Err(e) => {
                return Check::warn(
                    "errors",
                    format!("{function}: cannot read its {metric} metric: {}", why(&e)),
                    "run doctor again; if it persists, read the metric in the CloudWatch console",
                );
            }
        }
    }
    judge::judge_function(function, sums[0], sums[1], log_group)
}
