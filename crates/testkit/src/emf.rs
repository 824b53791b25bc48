//! A checker of CloudWatch Embedded Metric Format documents against every rule of the EMF
//! specification ("Specification: Embedded metric format", CloudWatch User Guide). The tests
//! run it on every line `peerwatch_core::metrics` builds and the Lambda prints.

use serde_json::{Map, Value};

/// The largest log event CloudWatch Logs accepted when the EMF specification was written
/// (256 KB; the limit has since been raised, the lower one is kept as the safe bound).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// MetricDefinitions in one MetricDirective.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// Dimension keys in one DimensionSet.
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// Values in one metric array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Characters in a dimension value.
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
/// The units CloudWatch accepts (`MetricDatum.Unit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one log line: a single line holding one JSON object and nothing else, that is a
/// valid EMF document ([`validate_emf`]).
pub fn validate_emf_line(line: &str) -> Result<Value, String> {
    if line.contains('\n') || line.contains('\r') {
        return Err("an EMF document must be one log line".into());
    }
    let doc: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON document: {e}"))?;
    validate_emf(&doc)?;
    Ok(doc)
}

/// Checks a document against the EMF specification's rules:
/// - the root is an object of at most [`MAX_EVENT_BYTES`] serialised, with the member `_aws`;
/// - `_aws` is an object with `Timestamp` (a whole number of epoch milliseconds) and
///   `CloudWatchMetrics` (an array of MetricDirectives), and no other member;
/// - a MetricDirective has exactly `Namespace` (a string of 1 to 255 characters),
///   `Dimensions` (an array of at least one DimensionSet) and `Metrics` (an array of at most
///   100 MetricDefinitions);
/// - a DimensionSet is an array of at most 30 strings (1 to 250 characters), each naming a
///   member of the root whose value is a string of 1 to 1024 characters;
/// - a MetricDefinition has `Name` (a string of 1 to 255 characters naming a member of the
///   root whose value is a number or an array of at most 100 numbers), optionally `Unit` (a
///   CloudWatch unit) and `StorageResolution` (1 or 60), and nothing else.
///
/// Target members are looked up by their whole name on the root (a reference `A.a` names the
/// member `"A.a"`, never a nested one).
pub fn validate_emf(doc: &Value) -> Result<(), String> {
    let root = doc
        .as_object()
        .ok_or("the root of an EMF document must be a JSON object")?;
    let size = serde_json::to_string(doc).map(|s| s.len()).unwrap_or(0);
    if size > MAX_EVENT_BYTES {
        return Err(format!(
            "the document is {size} bytes, more than a log event's {MAX_EVENT_BYTES}"
        ));
    }
    let aws = root
        .get("_aws")
        .ok_or("the root has no `_aws` metadata member")?
        .as_object()
        .ok_or("`_aws` must be an object")?;
    only_members(aws, &["Timestamp", "CloudWatchMetrics"], "`_aws`")?;
    match aws.get("Timestamp") {
        None => return Err("`_aws.Timestamp` is missing".into()),
        Some(t) if t.as_i64().is_some_and(|ms| ms >= 0) || t.as_u64().is_some() => {}
        Some(t) => {
            return Err(format!(
                "`_aws.Timestamp` must be whole epoch milliseconds, got {t}"
            ));
        }
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .ok_or("`_aws.CloudWatchMetrics` is missing")?
        .as_array()
        .ok_or("`_aws.CloudWatchMetrics` must be an array of MetricDirectives")?;
    for (i, directive) in directives.iter().enumerate() {
        let at = format!("CloudWatchMetrics[{i}]");
        let directive = directive
            .as_object()
            .ok_or_else(|| format!("{at} must be an object"))?;
        only_members(directive, &["Namespace", "Dimensions", "Metrics"], &at)?;
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{at}.Namespace must be a string"))?;
        chars_within(namespace, 1, 255, &format!("{at}.Namespace"))?;

        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}.Dimensions must be an array of DimensionSets"))?;
        if sets.is_empty() {
            return Err(format!(
                "{at}.Dimensions must hold at least one DimensionSet (it may be empty: [[]])"
            ));
        }
        for (j, set) in sets.iter().enumerate() {
            let set_at = format!("{at}.Dimensions[{j}]");
            let keys = set
                .as_array()
                .ok_or_else(|| format!("{set_at} must be an array of dimension names"))?;
            if keys.len() > MAX_DIMENSIONS_PER_SET {
                return Err(format!(
                    "{set_at} has {} dimensions, more than {MAX_DIMENSIONS_PER_SET}",
                    keys.len()
                ));
            }
            for key in keys {
                let key = key
                    .as_str()
                    .ok_or_else(|| format!("{set_at} holds {key}, not a dimension name"))?;
                chars_within(key, 1, 250, &format!("dimension name in {set_at}"))?;
                let value = root.get(key).ok_or_else(|| {
                    format!("dimension {key:?} of {set_at} is not a member of the root")
                })?;
                let value = value.as_str().ok_or_else(|| {
                    format!("dimension {key:?} must have a string value, got {value}")
                })?;
                chars_within(
                    value,
                    1,
                    MAX_DIMENSION_VALUE_CHARS,
                    &format!("the value of dimension {key:?}"),
                )?;
            }
        }

        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{at}.Metrics must be an array of MetricDefinitions"))?;
        if metrics.len() > MAX_METRICS_PER_DIRECTIVE {
            return Err(format!(
                "{at}.Metrics has {} MetricDefinitions, more than {MAX_METRICS_PER_DIRECTIVE}",
                metrics.len()
            ));
        }
        for (k, def) in metrics.iter().enumerate() {
            let def_at = format!("{at}.Metrics[{k}]");
            let def = def
                .as_object()
                .ok_or_else(|| format!("{def_at} must be an object"))?;
            only_members(def, &["Name", "Unit", "StorageResolution"], &def_at)?;
            let name = def
                .get("Name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{def_at}.Name must be a string"))?;
            chars_within(name, 1, 255, &format!("{def_at}.Name"))?;
            if let Some(unit) = def.get("Unit") {
                let unit = unit.as_str().unwrap_or_default();
                if !UNITS.contains(&unit) {
                    return Err(format!(
                        "{def_at}.Unit must be a CloudWatch unit, got {:?}",
                        def["Unit"]
                    ));
                }
            }
            if let Some(res) = def.get("StorageResolution")
                && !matches!(res.as_u64(), Some(1 | 60))
            {
                return Err(format!(
                    "{def_at}.StorageResolution must be 1 or 60, got {res}"
                ));
            }
            let value = root
                .get(name)
                .ok_or_else(|| format!("metric {name:?} is not a member of the root"))?;
            match value {
                Value::Number(_) => {}
                Value::Array(values) => {
                    if values.len() > MAX_VALUES_PER_METRIC {
                        return Err(format!(
                            "metric {name:?} has {} values, more than {MAX_VALUES_PER_METRIC}",
                            values.len()
                        ));
                    }
                    if let Some(bad) = values.iter().find(|v| !v.is_number()) {
                        return Err(format!("metric {name:?} must hold only numbers, got {bad}"));
                    }
                }
                other => {
                    return Err(format!(
                        "metric {name:?} must be a number or an array of numbers, got {other}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn only_members(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("{what} must not have the member {extra:?}")),
        None => Ok(()),
    }
}

fn chars_within(s: &str, min: usize, max: usize, what: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(format!("{what} must be {min} to {max} characters, got {n}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::metrics::{NAMESPACE, PeerHealth, from_cycle};
    use peerwatch_core::model::{Health, PeerRecord};
    use peerwatch_core::summary::Summary;
    use serde_json::json;

    const NOW_MS: i64 = 1_795_000_000_000;

    fn record(peer: &str, rs: &str, health: Health, bgp: &str, present: bool) -> PeerRecord {
        crate::fixtures::peer_record(peer, rs, health, bgp, present, NOW_MS)
    }

    /// Seven peers over three route servers, every health, one vanished.
    fn fleet() -> Vec<PeerRecord> {
        let healths = [
            Health::Healthy,
            Health::Down,
            Health::Degraded,
            Health::Transitional,
        ];
        (0..7)
            .map(|i| {
                let bgp = if i % 2 == 0 { "up" } else { "down" };
                let rs = ["rs-a", "rs-b", "rs-c"][i % 3];
                record(&format!("rsp-{i}"), rs, healths[i % 4], bgp, i != 3)
            })
            .collect()
    }

    fn summary() -> Summary {
        Summary {
            transitions_recorded: 4,
            notifications_sent: 1,
            duration_ms: 95,
            ..Summary::default()
        }
    }

    /// The lines of one cycle over [`fleet`].
    fn cycle_lines(peer_metrics: bool) -> Vec<Value> {
        let peers: Vec<PeerHealth> = fleet().iter().filter_map(PeerHealth::of).collect();
        from_cycle(&summary(), &peers, "pw-poller", NOW_MS, peer_metrics).lines()
    }

    #[test]
    fn a_line_without_a_function_name_is_still_valid() {
        let local = from_cycle(&summary(), &[], "", NOW_MS, false).lines();
        validate_emf(&local[0]).unwrap();
    }

    #[test]
    fn every_line_is_valid_emf() {
        for peer_metrics in [false, true] {
            let lines = cycle_lines(peer_metrics);
            assert!(!lines.is_empty());
            for line in &lines {
                validate_emf(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let text = serde_json::to_string(line).unwrap();
                assert_eq!(validate_emf_line(&text).as_ref(), Ok(line));
                assert_eq!(line["_aws"]["Timestamp"], NOW_MS);
                assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
            }
        }
    }

    /// A large fleet: one line per route server and per peer, each well within the limits.
    #[test]
    fn a_large_fleet_stays_within_the_limits() {
        let records: Vec<PeerRecord> = (0..2000)
            .map(|i| {
                record(
                    &format!("rsp-{i:017x}"),
                    &format!("rs-{:017x}", i % 40),
                    Health::Healthy,
                    "up",
                    true,
                )
            })
            .collect();
        let lines = from_cycle(
            &summary(),
            &records
                .iter()
                .filter_map(PeerHealth::of)
                .collect::<Vec<_>>(),
            "pw-poller",
            NOW_MS,
            true,
        )
        .lines();
        assert_eq!(lines.len(), 40 + 1 + 2000);
        for line in &lines {
            validate_emf(line).unwrap();
            assert!(serde_json::to_string(line).unwrap().len() < 1024);
        }
    }

    fn valid() -> Value {
        json!({
            "_aws": {
                "Timestamp": NOW_MS,
                "CloudWatchMetrics": [{
                    "Namespace": "example",
                    "Dimensions": [["Stage"]],
                    "Metrics": [{"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 60}]
                }]
            },
            "Stage": "prod",
            "Latency": [12, 15.5],
            "requestId": "not a metric, allowed",
        })
    }

    #[test]
    fn validator_accepts_valid_documents() {
        validate_emf(&valid()).unwrap();
        // An empty DimensionSet is allowed (a metric with no dimensions).
        let mut no_dims = valid();
        no_dims["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([[]]);
        validate_emf(&no_dims).unwrap();
        // A reference with a dot names a root member with a dot, not a nested one.
        let mut dotted = valid();
        dotted["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("A.a");
        dotted["A.a"] = json!(1);
        validate_emf(&dotted).unwrap();
    }

    /// The validator can fail: each broken document is rejected for its own reason.
    #[test]
    fn validator_rejects_broken_documents() {
        type Break = fn(&mut Value);
        let cases: Vec<(&str, Break, &str)> = vec![
            (
                "root not an object",
                |d| *d = json!([1]),
                "must be a JSON object",
            ),
            (
                "missing _aws",
                |d| {
                    d.as_object_mut().unwrap().remove("_aws");
                },
                "no `_aws`",
            ),
            (
                "_aws not an object",
                |d| d["_aws"] = json!("x"),
                "`_aws` must be an object",
            ),
            (
                "extra member in _aws",
                |d| d["_aws"]["Extra"] = json!(1),
                "member \"Extra\"",
            ),
            (
                "missing Timestamp",
                |d| {
                    d["_aws"].as_object_mut().unwrap().remove("Timestamp");
                },
                "Timestamp` is missing",
            ),
            (
                "Timestamp a string",
                |d| d["_aws"]["Timestamp"] = json!("2026-11-25T19:05:00Z"),
                "whole epoch milliseconds",
            ),
            (
                "Timestamp fractional",
                |d| d["_aws"]["Timestamp"] = json!(1.5),
                "whole epoch milliseconds",
            ),
            (
                "missing CloudWatchMetrics",
                |d| {
                    d["_aws"]
                        .as_object_mut()
                        .unwrap()
                        .remove("CloudWatchMetrics");
                },
                "CloudWatchMetrics` is missing",
            ),
            (
                "CloudWatchMetrics not an array",
                |d| d["_aws"]["CloudWatchMetrics"] = json!({}),
                "array of MetricDirectives",
            ),
            (
                "missing Namespace",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("Namespace");
                },
                "Namespace must be a string",
            ),
            (
                "empty Namespace",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(""),
                "1 to 255 characters",
            ),
            (
                "extra member in a directive",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Unit"] = json!("Count"),
                "member \"Unit\"",
            ),
            (
                "Dimensions not nested",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!(["Stage"]),
                "array of dimension names",
            ),
            (
                "no DimensionSet",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([]),
                "at least one DimensionSet",
            ),
            (
                "dimension not a member",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([["Region"]]),
                "\"Region\" of CloudWatchMetrics[0].Dimensions[0] is not a member",
            ),
            (
                "dimension value a number",
                |d| d["Stage"] = json!(3),
                "must have a string value",
            ),
            (
                "dimension value empty",
                |d| d["Stage"] = json!(""),
                "1 to 1024 characters",
            ),
            (
                "dimension value too long",
                |d| d["Stage"] = json!("x".repeat(1025)),
                "1 to 1024 characters",
            ),
            (
                "31 dimensions",
                |d| {
                    let names: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
                    for n in &names {
                        d[n.as_str()] = json!("v");
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([names]);
                },
                "31 dimensions, more than 30",
            ),
            (
                "101 metrics",
                |d| {
                    let defs: Vec<Value> =
                        (0..101).map(|i| json!({"Name": format!("M{i}")})).collect();
                    for i in 0..101 {
                        d[format!("M{i}").as_str()] = json!(i);
                    }
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(defs);
                },
                "101 MetricDefinitions, more than 100",
            ),
            (
                "metric not a member",
                |d| {
                    d.as_object_mut().unwrap().remove("Latency");
                },
                "metric \"Latency\" is not a member",
            ),
            (
                "metric value a string",
                |d| d["Latency"] = json!("12"),
                "must be a number or an array of numbers",
            ),
            (
                "metric value a boolean",
                |d| d["Latency"] = json!(true),
                "must be a number or an array of numbers",
            ),
            (
                "metric array with a string",
                |d| d["Latency"] = json!([1, "2"]),
                "must hold only numbers",
            ),
            (
                "metric array of 101 values",
                |d| d["Latency"] = json!(vec![1; 101]),
                "101 values, more than 100",
            ),
            (
                "metric name not a string",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!(7),
                "Name must be a string",
            ),
            (
                "unknown unit",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Peers"),
                "must be a CloudWatch unit",
            ),
            (
                "storage resolution 30",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = json!(30)
                },
                "1 or 60",
            ),
            (
                "extra member in a MetricDefinition",
                |d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Stat"] = json!("Sum"),
                "member \"Stat\"",
            ),
            (
                "nested target",
                |d| {
                    d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("A.a");
                    d["A"] = json!({"a": 1});
                },
                "metric \"A.a\" is not a member",
            ),
            (
                "larger than a log event",
                |d| d["padding"] = json!("x".repeat(MAX_EVENT_BYTES)),
                "more than a log event's",
            ),
        ];
        for (what, break_it, needle) in cases {
            let mut doc = valid();
            break_it(&mut doc);
            let err = validate_emf(&doc).expect_err(what);
            assert!(err.contains(needle), "{what}: {err}");
        }
    }

    #[test]
    fn a_line_is_one_json_object_and_nothing_else() {
        let text = serde_json::to_string(&valid()).unwrap();
        validate_emf_line(&text).unwrap();
        for (bad, needle) in [
            (format!("INFO {text}"), "not a JSON document"),
            (format!("{text} trailing"), "not a JSON document"),
            (
                serde_json::to_string_pretty(&valid()).unwrap(),
                "one log line",
            ),
        ] {
            let err = validate_emf_line(&bad).unwrap_err();
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
