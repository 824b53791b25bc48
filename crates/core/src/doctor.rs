//! `peerwatch doctor`'s judgements: what was found in a deployment, held against what the code
//! needs, as one check each (ok, warn or fail, and what to do). Pure: the CLI reads the stack,
//! the tables, the schedule, the logs and the topic, and hands what it found here; so every
//! verdict, and the SNS filter policy evaluator the topic check rests on, is unit-tested
//! without AWS.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::duration::humanise;
use crate::model::{PeerSnapshot, Severity, Timestamp};

mod filter;
pub use filter::{FilterError, matches as filter_matches};

#[cfg(test)]
mod tests;

/// A check's verdict; the worst of them decides `doctor`'s exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One line of `doctor`'s answer: what was checked, what was found, and for a warning or a
/// failure what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub detail: String,
    pub remedy: Option<String>,
}

impl Check {
    pub fn ok(check: &str, detail: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            status: Status::Ok,
            detail: detail.into(),
            remedy: None,
        }
    }

    pub fn warn(check: &str, detail: impl Into<String>, remedy: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            status: Status::Warn,
            detail: detail.into(),
            remedy: Some(remedy.into()),
        }
    }

    pub fn fail(check: &str, detail: impl Into<String>, remedy: impl Into<String>) -> Check {
        Check {
            check: check.into(),
            status: Status::Fail,
            detail: detail.into(),
            remedy: Some(remedy.into()),
        }
    }
}

/// The worst verdict of `checks` (ok when there is none).
pub fn overall(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

// ---------------------------------------------------------------------------------------
// Tables

/// A key's role, as DynamoDB names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyType {
    #[serde(rename = "HASH")]
    Hash,
    #[serde(rename = "RANGE")]
    Range,
}

/// An index the code queries: its keys (string attributes) and `ALL` projection, which the
/// code relies on by reading whole items from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedIndex {
    pub name: String,
    pub keys: Vec<(String, KeyType)>,
}

/// A table as the code needs it. Every key attribute is a string (`S`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedTable {
    /// How the operator knows it: `PeerState`, `PeerTransitions`.
    pub role: String,
    pub keys: Vec<(String, KeyType)>,
    pub indexes: Vec<ExpectedIndex>,
    /// The attribute TTL must be enabled on (history expiry), if any.
    pub ttl: Option<String>,
}

/// An index as `DescribeTable` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundIndex {
    pub name: String,
    pub keys: Vec<(String, KeyType)>,
    /// `ALL`, `KEYS_ONLY`, `INCLUDE`.
    pub projection: String,
    /// `ACTIVE`, `CREATING`, ...
    pub status: String,
}

/// A table as `DescribeTable`, `DescribeTimeToLive` and `DescribeContinuousBackups` show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundTable {
    pub name: String,
    pub keys: Vec<(String, KeyType)>,
    /// Attribute name to type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub indexes: Vec<FoundIndex>,
    /// TTL's status (`ENABLED`, `DISABLED`, ...) and attribute.
    pub ttl_status: String,
    pub ttl_attribute: Option<String>,
    /// Point-in-time recovery on; `None` when it could not be read.
    pub pitr: Option<bool>,
}

/// What is wrong with a table's keys and indexes, one phrase each (empty: nothing).
pub fn table_problems(expected: &ExpectedTable, found: &FoundTable) -> Vec<String> {
    let mut out = Vec::new();
    let keys = |ks: &[(String, KeyType)]| {
        ks.iter()
            .map(|(n, k)| format!("{n} {}", key_word(*k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if found.keys != expected.keys {
        out.push(format!(
            "its key is {} where the code needs {}",
            keys(&found.keys),
            keys(&expected.keys)
        ));
    }
    let key_attributes = expected
        .keys
        .iter()
        .chain(expected.indexes.iter().flat_map(|i| i.keys.iter()))
        .map(|(n, _)| n);
    let mut typed: Vec<&String> = Vec::new();
    for name in key_attributes {
        if typed.contains(&name) {
            continue;
        }
        typed.push(name);
        match found.attributes.get(name).map(String::as_str) {
            Some("S") | None => {}
            Some(other) => out.push(format!("{name} is of type {other}, not S (string)")),
        }
    }
    for index in &expected.indexes {
        match found.indexes.iter().find(|i| i.name == index.name) {
            None => out.push(format!("index {} is missing", index.name)),
            Some(i) => {
                if i.keys != index.keys {
                    out.push(format!(
                        "index {} is keyed on {} where the code queries {}",
                        index.name,
                        keys(&i.keys),
                        keys(&index.keys)
                    ));
                }
                if i.projection != "ALL" {
                    out.push(format!(
                        "index {} projects {}, not ALL (the code reads whole items from it)",
                        index.name, i.projection
                    ));
                }
                if !i.status.is_empty() && i.status != "ACTIVE" {
                    out.push(format!("index {} is {}", index.name, i.status));
                }
            }
        }
    }
    out
}

fn key_word(k: KeyType) -> &'static str {
    match k {
        KeyType::Hash => "(partition)",
        KeyType::Range => "(sort)",
    }
}

/// The table check: keys, attribute types and the indexes the code queries.
pub fn judge_table(expected: &ExpectedTable, found: &FoundTable, stack_owned: bool) -> Check {
    let check = "table";
    let problems = table_problems(expected, found);
    let what = format!("{} {}", expected.role, found.name);
    if problems.is_empty() {
        let indexes: Vec<&str> = expected.indexes.iter().map(|i| i.name.as_str()).collect();
        let detail = if indexes.is_empty() {
            format!("{what}: keys as the code expects")
        } else {
            format!(
                "{what}: keys and indexes ({}) as the code expects",
                indexes.join(", ")
            )
        };
        return Check::ok(check, detail);
    }
    let remedy = if stack_owned {
        "deploy the stack again from infra/template.yaml (sam deploy): a table changed by hand \
         differs from the template; an index the code queries must exist before it runs"
    } else {
        "create the table as infra/template.yaml defines it (or deploy the stack and point the \
         settings at its tables)"
    };
    Check::fail(check, format!("{what}: {}", problems.join("; ")), remedy)
}

/// A table that `DescribeTable` does not find.
pub fn missing_table(role: &str, name: &str, setting: &str) -> Check {
    Check::fail(
        "table",
        format!("{role} {name}: no such table"),
        format!(
            "check the table name ({setting}, or the stack's) and the region (--region or \
             AWS_REGION); deploy the stack if it does not exist"
        ),
    )
}

/// TTL on the attribute the store writes. Off, or on another attribute, history is never
/// expired: it works, and grows (and costs) without end.
pub fn judge_ttl(expected: &ExpectedTable, found: &FoundTable) -> Option<Check> {
    let attribute = expected.ttl.as_deref()?;
    let check = "ttl";
    let what = format!("{} {}", expected.role, found.name);
    let enabled = matches!(found.ttl_status.as_str(), "ENABLED" | "ENABLING");
    let remedy = format!(
        "aws dynamodb update-time-to-live --table-name {} --time-to-live-specification \
         Enabled=true,AttributeName={attribute} (or deploy the stack again)",
        found.name
    );
    Some(
        if enabled && found.ttl_attribute.as_deref() == Some(attribute) {
            Check::ok(check, format!("{what}: expires history on {attribute}"))
        } else if enabled {
            Check::warn(
                check,
                format!(
                    "{what}: TTL is on {}, not {attribute}: history never expires",
                    found.ttl_attribute.as_deref().unwrap_or("(no attribute)")
                ),
                remedy,
            )
        } else {
            let status = if found.ttl_status.is_empty() {
                "DISABLED"
            } else {
                &found.ttl_status
            };
            Check::warn(
                check,
                format!(
                    "{what}: TTL is {status}: history is never expired (HISTORY_RETENTION_DAYS does nothing)"
                ),
                remedy,
            )
        },
    )
}

/// Point-in-time recovery of both tables: without it a mistake or a bad write cannot be
/// undone.
pub fn judge_pitr(tables: &[(&str, &FoundTable)]) -> Check {
    let off: Vec<String> = tables
        .iter()
        .filter(|(_, t)| t.pitr != Some(true))
        .map(|(role, t)| {
            let how = if t.pitr.is_none() { "unknown" } else { "off" };
            format!("{role} {} ({how})", t.name)
        })
        .collect();
    if off.is_empty() {
        return Check::ok("pitr", "point-in-time recovery on for both tables");
    }
    let names: Vec<&str> = tables
        .iter()
        .filter(|(_, t)| t.pitr != Some(true))
        .map(|(_, t)| t.name.as_str())
        .collect();
    Check::warn(
        "pitr",
        format!("point-in-time recovery not on: {}", off.join(", ")),
        format!(
            "aws dynamodb update-continuous-backups --point-in-time-recovery-specification \
             PointInTimeRecoveryEnabled=true --table-name {} (each table; or deploy the stack \
             again)",
            names.join(" / ")
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Schedule and last cycle

/// The schedule as `GetSchedule` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundSchedule {
    pub name: String,
    pub state: String,
    pub expression: String,
    pub target_arn: String,
}

/// The interval of a `rate(...)` expression; `None` for `cron(...)` or anything else.
pub fn rate_interval(expression: &str) -> Option<Duration> {
    let inner = expression.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let mut parts = inner.split_whitespace();
    let n: u64 = parts.next()?.parse().ok().filter(|n| *n > 0)?;
    let unit = match parts.next()? {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3_600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    parts
        .next()
        .is_none()
        .then(|| Duration::from_secs(n * unit))
}

/// The schedule: enabled, and invoking this stack's poller.
pub fn judge_schedule(found: &FoundSchedule, poller_arn: Option<&str>, stack: &str) -> Check {
    let check = "schedule";
    let what = format!("{} ({})", found.name, found.expression);
    if found.state != "ENABLED" {
        return Check::fail(
            check,
            format!("{what} is {}: no cycle runs", found.state),
            format!(
                "sam deploy --stack-name {stack} --parameter-overrides ScheduleState=ENABLED (the \
                 template's parameter; a schedule changed by hand is put back by the next deploy)"
            ),
        );
    }
    // A qualified ARN (a version or alias) still invokes the poller.
    let targets_poller =
        |arn: &str| found.target_arn == arn || found.target_arn.starts_with(&format!("{arn}:"));
    match poller_arn {
        Some(arn) if !targets_poller(arn) => Check::fail(
            check,
            format!("{what} invokes {}, not the poller {arn}", found.target_arn),
            format!(
                "deploy the stack again (sam deploy --stack-name {stack}): the schedule's target was changed"
            ),
        ),
        _ => Check::ok(check, format!("{what} is enabled and invokes the poller")),
    }
}

/// Cycles older than this many schedule intervals are stale.
pub const STALE_INTERVALS: u32 = 3;

/// The last completed cycle: its metrics line's time (`None`: none found in `searched`).
pub fn judge_last_cycle(
    now: Timestamp,
    newest: Option<Timestamp>,
    interval: Duration,
    searched: Duration,
    log_group: &str,
) -> Check {
    let check = "last-cycle";
    let allowed = interval * STALE_INTERVALS;
    let remedy = format!(
        "read the poller's log group for why cycles stop (aws logs tail {log_group} --since 1h); \
         check the schedule, the failed-invocations queue and the poller's errors"
    );
    match newest {
        None => Check::fail(
            check,
            format!(
                "no completed cycle in the last {} (no metrics line in {log_group})",
                humanise(searched.as_secs() as i64)
            ),
            remedy,
        ),
        Some(at) => {
            let age_ms = (now.as_millis() - at.as_millis()).max(0);
            let age = humanise(age_ms / 1000);
            if age_ms as u128 <= allowed.as_millis() {
                Check::ok(check, format!("completed {age} ago, at {at}"))
            } else {
                Check::fail(
                    check,
                    format!(
                        "the last completed {age} ago, at {at}; cycles are due every {}",
                        humanise(interval.as_secs() as i64)
                    ),
                    remedy,
                )
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Outbox

/// A notification still pending older than this means publishing keeps failing: each cycle
/// retries the outbox.
pub const OUTBOX_FAIL_AFTER: Duration = Duration::from_secs(15 * 60);

/// The outbox, from the pending notifications' `ObservedAt`.
pub fn judge_outbox(now: Timestamp, pending: &[Timestamp], topic: &str) -> Check {
    let check = "outbox";
    let Some(oldest) = pending.iter().min() else {
        return Check::ok(check, "empty: every notification was published");
    };
    let age_ms = (now.as_millis() - oldest.as_millis()).max(0);
    let detail = format!(
        "{} pending, the oldest for {} (since {oldest})",
        pending.len(),
        humanise(age_ms / 1000)
    );
    let remedy = format!(
        "publishing to {topic} is failing: read the poller's log group for the SNS error (a \
         topic policy, a KMS key policy or a deleted topic); each cycle retries the outbox"
    );
    if age_ms as u128 >= OUTBOX_FAIL_AFTER.as_millis() {
        Check::fail(check, detail, remedy)
    } else {
        Check::warn(
            check,
            detail,
            format!(
                "run doctor again in a few minutes: a cycle publishes what is pending; if it stays, {remedy}"
            ),
        )
    }
}

// ---------------------------------------------------------------------------------------
// Topic

/// A subscription as `ListSubscriptionsByTopic` and `GetSubscriptionAttributes` show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundSubscription {
    pub protocol: String,
    pub endpoint: String,
    /// `false` for a `PendingConfirmation` one.
    pub confirmed: bool,
    /// The `FilterPolicy` attribute, as given (JSON text).
    pub filter_policy: Option<String>,
    /// `MessageAttributes` (the default) or `MessageBody`.
    pub filter_scope: Option<String>,
}

/// A message as a subscription's filter policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub what: String,
    /// Message attributes (all `String`), as a JSON object.
    pub attributes: Value,
    /// The body by protocol: an `sqs` subscriber gets the event JSON, `https` the chat JSON,
    /// `email` plain text (`None`: not JSON).
    pub body: BTreeMap<String, Option<Value>>,
    /// The body for protocols not in `body`.
    pub default_body: Option<Value>,
}

/// Critical alerts as peerwatch sends them: a peer whose BGP session went down, and a peer
/// that failed, rendered by the real rules and renderer.
pub fn critical_alerts() -> Vec<Sample> {
    use crate::detect::{Rules, detect};
    let up = PeerSnapshot {
        route_server_peer_id: "rsp-0a1b2c3d4e5f60718".into(),
        route_server_id: "rs-0a1b2c3d4e5f60718".into(),
        vpc_id: "vpc-0a1b2c3d4e5f60718".into(),
        state: "available".into(),
        bgp_status: Some("up".into()),
        peer_asn: Some(65001),
        peer_address: "10.0.1.5".into(),
        ..Default::default()
    };
    let rules = Rules::default();
    let t0 = Timestamp::from_millis(1_795_000_000_000).expect("a fixed instant");
    let t1 = Timestamp::from_millis(1_795_000_060_000).expect("a fixed instant");
    let known = detect(&Default::default(), std::slice::from_ref(&up), t0, &rules)
        .into_iter()
        .map(|tr| (tr.peer_id().to_string(), tr.record))
        .collect();
    let bgp_down = PeerSnapshot {
        bgp_status: Some("down".into()),
        ..up.clone()
    };
    let failed = PeerSnapshot {
        state: "failed".into(),
        failure_reason: Some("hold timer expired".into()),
        bgp_status: Some("down".into()),
        ..up
    };
    [bgp_down, failed]
        .iter()
        .flat_map(|p| detect(&known, std::slice::from_ref(p), t1, &rules))
        .filter(|tr| tr.severity == Severity::Critical)
        .map(|tr| {
            let n = crate::render::render(&tr);
            let envelope: BTreeMap<String, String> =
                serde_json::from_str(&n.message).unwrap_or_default();
            let parsed = |k: &str| envelope.get(k).and_then(|b| serde_json::from_str(b).ok());
            let mut body = BTreeMap::new();
            for protocol in ["sqs", "lambda", "email-json", "https", "email"] {
                body.insert(protocol.to_string(), parsed(protocol));
            }
            for protocol in ["firehose", "application", "sms"] {
                body.insert(protocol.to_string(), parsed("default"));
            }
            let attributes = n
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            Sample {
                what: format!("a critical {} alert", tr.event.as_str()),
                attributes: Value::Object(attributes),
                body,
                default_body: parsed("default"),
            }
        })
        .collect()
}

/// What the stack's CloudWatch alarms publish: JSON text, with no message attributes.
pub fn alarm_message() -> Sample {
    let body = json!({
        "AlarmName": "peerwatch-poller-errors",
        "AlarmDescription": "peerwatch cycles are failing",
        "AWSAccountId": "111122223333",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed",
        "StateChangeTime": "2026-11-25T19:05:00.000+0000",
        "Region": "US East (N. Virginia)",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM"},
    });
    Sample {
        what: "the stack's CloudWatch alarms".into(),
        attributes: json!({}),
        body: BTreeMap::new(),
        default_body: Some(body),
    }
}

/// Whether `sub`'s filter policy delivers `sample`: `Ok(true)` when it has none.
pub fn delivers(sub: &FoundSubscription, sample: &Sample) -> Result<bool, FilterError> {
    let Some(text) = sub
        .filter_policy
        .as_deref()
        .filter(|t| !t.trim().is_empty())
    else {
        return Ok(true);
    };
    let policy: Value = serde_json::from_str(text)
        .map_err(|e| FilterError(format!("the filter policy is not JSON: {e}")))?;
    if sub.filter_scope.as_deref() == Some("MessageBody") {
        let body = sample
            .body
            .get(&sub.protocol)
            .cloned()
            .unwrap_or_else(|| sample.default_body.clone());
        // A body that is not JSON never passes a body filter.
        return match body {
            Some(b) => filter::matches(&policy, &b, false),
            None => Ok(false),
        };
    }
    filter::matches(&policy, &sample.attributes, true)
}

fn subscription_name(s: &FoundSubscription) -> String {
    format!("{} {}", s.protocol, s.endpoint)
}

/// The topic: at least one confirmed subscription.
pub fn judge_subscriptions(topic: &str, subs: &[FoundSubscription]) -> Check {
    let check = "topic";
    let subscribe = format!(
        "subscribe someone: the stack parameter AlertEmail, or aws sns subscribe --topic-arn \
         {topic} --protocol email --notification-endpoint ADDRESS (then confirm the email), or \
         Amazon Q Developer in chat applications for Slack or Teams"
    );
    if subs.is_empty() {
        return Check::fail(
            check,
            format!("{topic} has no subscription: alerts reach nobody"),
            subscribe,
        );
    }
    let confirmed = subs.iter().filter(|s| s.confirmed).count();
    if confirmed == 0 {
        return Check::fail(
            check,
            format!(
                "{topic}: {} subscription(s), none confirmed: alerts reach nobody",
                subs.len()
            ),
            "confirm the subscription (the link in the message AWS sent to the endpoint), or \
             subscribe another endpoint",
        );
    }
    Check::ok(
        check,
        format!(
            "{topic}: {confirmed} confirmed subscription(s) of {}",
            subs.len()
        ),
    )
}

/// The filter policies: one confirmed subscription delivers every critical alert, and one
/// the stack's own alarms (which carry no message attributes).
pub fn judge_filters(subs: &[FoundSubscription]) -> Option<Check> {
    let check = "topic-filters";
    let confirmed: Vec<&FoundSubscription> = subs.iter().filter(|s| s.confirmed).collect();
    if confirmed.is_empty() {
        return None;
    }
    let alerts = critical_alerts();
    let alarm = alarm_message();
    let mut unjudged = Vec::new();
    let mut alert_ok = false;
    let mut alarm_ok = false;
    let mut hidden: Vec<String> = Vec::new();
    for s in &confirmed {
        let all_alerts: Result<Vec<bool>, FilterError> =
            alerts.iter().map(|a| delivers(s, a)).collect();
        match (all_alerts, delivers(s, &alarm)) {
            (Ok(a), Ok(b)) => {
                let every = a.iter().all(|x| *x);
                alert_ok |= every;
                alarm_ok |= b;
                for (sample, passed) in alerts.iter().zip(&a) {
                    if !passed {
                        hidden.push(format!("{} drops {}", subscription_name(s), sample.what));
                    }
                }
                if !b {
                    hidden.push(format!("{} drops {}", subscription_name(s), alarm.what));
                }
            }
            (Err(e), _) | (_, Err(e)) => unjudged.push(format!("{}: {e}", subscription_name(s))),
        }
    }
    let policy_help = "remove or widen the filter policy (aws sns set-subscription-attributes \
                       --attribute-name FilterPolicy), or subscribe an endpoint without one";
    if alert_ok && alarm_ok {
        let mut detail =
            "a confirmed subscription receives critical alerts and the stack's alarms".to_string();
        if !unjudged.is_empty() {
            detail.push_str(&format!(" (not judged: {})", unjudged.join("; ")));
        }
        return Some(Check::ok(check, detail));
    }
    if !unjudged.is_empty() {
        return Some(Check::warn(
            check,
            format!(
                "cannot tell whether critical alerts and alarms get through: {}{}",
                unjudged.join("; "),
                if hidden.is_empty() {
                    String::new()
                } else {
                    format!("; {}", hidden.join("; "))
                }
            ),
            format!(
                "check that policy by hand (doctor judges exact values, prefix, suffix, anything-but, exists, numeric and equals-ignore-case); {policy_help}"
            ),
        ));
    }
    if !alert_ok {
        return Some(Check::fail(
            check,
            format!(
                "no confirmed subscription receives every critical alert: {}",
                hidden.join("; ")
            ),
            format!(
                "{policy_help}; peerwatch's attributes are severity, event, routeServerPeerId, routeServerId and vpcId"
            ),
        ));
    }
    Some(Check::warn(
        check,
        format!(
            "critical alerts get through, but the stack's alarms (no message attributes) reach \
             no one: {}",
            hidden.join("; ")
        ),
        format!(
            "{policy_help}; an attribute policy passes a message without attributes only through \
             {{\"exists\": false}}"
        ),
    ))
}

// ---------------------------------------------------------------------------------------
// Peer logs and function errors

/// Peer logging: every known peer delivering to the stack's destination. `statuses` is (peer,
/// status word, why when partial).
pub fn judge_peer_logs(destination: &str, statuses: &[(String, String, Option<String>)]) -> Check {
    let check = "peer-logs";
    if statuses.is_empty() {
        return Check::ok(check, "no peer recorded yet: nothing to deliver");
    }
    let off: Vec<&(String, String, Option<String>)> =
        statuses.iter().filter(|(_, s, _)| s != "on").collect();
    if off.is_empty() {
        return Check::ok(
            check,
            format!("all {} peers deliver their logs", statuses.len()),
        );
    }
    let listed: Vec<String> = off
        .iter()
        .map(|(p, s, why)| match why {
            Some(w) => format!("{p} ({s}: {w})"),
            None => format!("{p} ({s})"),
        })
        .collect();
    let ids: Vec<&str> = off.iter().map(|(p, _, _)| p.as_str()).collect();
    Check::warn(
        check,
        format!(
            "{} of {} peers do not deliver their logs: {}; their changes between polls are not seen",
            off.len(),
            statuses.len(),
            listed.join(", ")
        ),
        format!(
            "peerwatch logging enable --peer {} --destination {destination}",
            ids.join(",")
        ),
    )
}

/// One function's errors and throttles over the last hour.
pub fn judge_function(function: &str, errors: f64, throttles: f64, log_group: &str) -> Check {
    let check = "errors";
    if errors <= 0.0 && throttles <= 0.0 {
        return Check::ok(
            check,
            format!("{function}: no errors or throttles in the last hour"),
        );
    }
    Check::warn(
        check,
        format!("{function}: {errors} error(s), {throttles} throttle(s) in the last hour"),
        format!("read why: aws logs tail {log_group} --since 1h"),
    )
}
