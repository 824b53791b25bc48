use super::*;

fn at(rfc3339: &str) -> Timestamp {
    rfc3339.parse().unwrap()
}

fn m(policy: Value, message: Value) -> Result<bool, FilterError> {
    filter_matches(&policy, &message, true)
}

fn body(policy: Value, message: Value) -> Result<bool, FilterError> {
    filter_matches(&policy, &message, false)
}

#[test]
fn exact_strings_and_lists_are_or_keys_are_and() {
    let msg = json!({"severity": "critical", "event": "bgp.down"});
    assert_eq!(m(json!({"severity": ["critical"]}), msg.clone()), Ok(true));
    assert_eq!(
        m(json!({"severity": ["warning", "critical"]}), msg.clone()),
        Ok(true)
    );
    assert_eq!(m(json!({"severity": ["warning"]}), msg.clone()), Ok(false));
    assert_eq!(
        m(
            json!({"severity": ["critical"], "event": ["bfd.down"]}),
            msg.clone()
        ),
        Ok(false)
    );
    // An attribute the message lacks fails a value condition.
    assert_eq!(m(json!({"team": ["netops"]}), msg.clone()), Ok(false));
    assert_eq!(m(json!({}), msg), Ok(true));
}

#[test]
fn prefix_suffix_and_ignore_case() {
    let msg = json!({"event": "bgp.down", "severity": "critical"});
    assert_eq!(
        m(json!({"event": [{"prefix": "bgp."}]}), msg.clone()),
        Ok(true)
    );
    assert_eq!(
        m(json!({"event": [{"prefix": "bfd."}]}), msg.clone()),
        Ok(false)
    );
    assert_eq!(
        m(json!({"event": [{"suffix": ".down"}]}), msg.clone()),
        Ok(true)
    );
    assert_eq!(
        m(
            json!({"severity": [{"equals-ignore-case": "CRITICAL"}]}),
            msg.clone()
        ),
        Ok(true)
    );
    assert_eq!(m(json!({"severity": [{"prefix": "warn"}]}), msg), Ok(false));
}

#[test]
fn anything_but_in_its_forms() {
    let msg = json!({"severity": "critical"});
    assert_eq!(
        m(
            json!({"severity": [{"anything-but": ["info", "recovery"]}]}),
            msg.clone()
        ),
        Ok(true)
    );
    assert_eq!(
        m(
            json!({"severity": [{"anything-but": "critical"}]}),
            msg.clone()
        ),
        Ok(false)
    );
    assert_eq!(
        m(
            json!({"severity": [{"anything-but": {"prefix": "crit"}}]}),
            msg.clone()
        ),
        Ok(false)
    );
    assert_eq!(
        m(
            json!({"severity": [{"anything-but": {"suffix": "ing"}}]}),
            msg.clone()
        ),
        Ok(true)
    );
    // Absent: no value to be anything but.
    assert_eq!(m(json!({"team": [{"anything-but": "x"}]}), msg), Ok(false));
}

#[test]
fn exists_both_ways() {
    let msg = json!({"severity": "critical"});
    assert_eq!(
        m(json!({"severity": [{"exists": true}]}), msg.clone()),
        Ok(true)
    );
    assert_eq!(
        m(json!({"team": [{"exists": true}]}), msg.clone()),
        Ok(false)
    );
    assert_eq!(
        m(json!({"team": [{"exists": false}]}), msg.clone()),
        Ok(true)
    );
    // The only way an attribute policy passes a message without attributes.
    assert_eq!(
        m(json!({"severity": [{"exists": false}]}), json!({})),
        Ok(true)
    );
    assert_eq!(m(json!({"severity": ["critical"]}), json!({})), Ok(false));
}

#[test]
fn numeric_ranges_and_a_string_never_numeric() {
    let doc = json!({"count": 7});
    assert_eq!(
        body(
            json!({"count": [{"numeric": [">", 5, "<=", 7]}]}),
            doc.clone()
        ),
        Ok(true)
    );
    assert_eq!(
        body(json!({"count": [{"numeric": [">", 7]}]}), doc.clone()),
        Ok(false)
    );
    assert_eq!(body(json!({"count": [7]}), doc), Ok(true));
    assert_eq!(
        m(
            json!({"severity": [{"numeric": [">", 0]}]}),
            json!({"severity": "2"})
        ),
        Ok(false)
    );
}

#[test]
fn or_branches_and_nested_body_keys() {
    let doc = json!({"severity": "critical", "peer": {"asn": 65001, "tags": ["a", "b"]}});
    let policy = json!({"$or": [{"severity": ["warning"]}, {"peer": {"asn": [65001]}}]});
    assert_eq!(body(policy, doc.clone()), Ok(true));
    assert_eq!(
        body(json!({"peer": {"tags": ["b"]}}), doc.clone()),
        Ok(true)
    );
    assert_eq!(
        body(json!({"peer": {"tags": ["c"]}}), doc.clone()),
        Ok(false)
    );
    assert_eq!(
        body(json!({"route": {"x": [{"exists": false}]}}), doc),
        Ok(true)
    );
}

#[test]
fn unknown_operators_are_named_not_guessed() {
    let msg = json!({"sourceIp": "10.0.0.1"});
    let e = m(json!({"sourceIp": [{"cidr": "10.0.0.0/24"}]}), msg.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the operator cidr is not evaluated by doctor"
    );
    let e = m(json!({"sourceIp": "10.0.0.1"}), msg).unwrap_err();
    assert_eq!(e.to_string(), "the conditions of sourceIp are not a list");
}

fn sub(policy: Option<Value>, scope: Option<&str>) -> FoundSubscription {
    FoundSubscription {
        protocol: "sqs".into(),
        endpoint: "arn:aws:sqs:us-east-1:111122223333:oncall".into(),
        confirmed: true,
        filter_policy: policy.map(|p| p.to_string()),
        filter_scope: scope.map(str::to_string),
    }
}

#[test]
fn the_samples_are_what_peerwatch_sends_for_critical_alerts() {
    let alerts = critical_alerts();
    let events: Vec<&Value> = alerts.iter().map(|a| &a.attributes["event"]).collect();
    assert_eq!(events, [&json!("bgp.down"), &json!("peer.failed")]);
    for a in &alerts {
        assert_eq!(a.attributes["severity"], "critical");
        assert_eq!(a.attributes["routeServerPeerId"], "rsp-0a1b2c3d4e5f60718");
        assert_eq!(a.body["sqs"].as_ref().unwrap()["severity"], "critical");
        assert_eq!(a.body["email"], None, "email is plain text");
    }
    assert_eq!(alarm_message().attributes, json!({}));
}

#[test]
fn filters_judged_for_alerts_and_alarms() {
    // No policy: everything.
    let c = judge_filters(&[sub(None, None)]).unwrap();
    assert_eq!(c.status, Status::Ok, "{c:?}");
    // Critical only: alerts pass, the alarms (no attributes) do not.
    let c = judge_filters(&[sub(Some(json!({"severity": ["critical"]})), None)]).unwrap();
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(
        c.detail.contains("the stack's CloudWatch alarms"),
        "{}",
        c.detail
    );
    // ... unless the alarms are let in with exists: false.
    let both = json!({"$or": [{"severity": ["critical"]}, {"severity": [{"exists": false}]}]});
    assert_eq!(
        judge_filters(&[sub(Some(both), None)]).unwrap().status,
        Status::Ok
    );
    // Warnings only: no critical alert.
    let c = judge_filters(&[sub(Some(json!({"severity": ["warning"]})), None)]).unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail.contains("drops a critical bgp.down alert"),
        "{}",
        c.detail
    );
    // One event only: the other critical one is dropped.
    let c = judge_filters(&[sub(Some(json!({"event": ["bgp.down"]})), None)]).unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail.contains("drops a critical peer.failed alert"),
        "{}",
        c.detail
    );
    // A body policy on the event JSON an SQS subscriber gets; the alarm JSON has no severity.
    let c = judge_filters(&[sub(
        Some(json!({"severity": ["critical"]})),
        Some("MessageBody"),
    )])
    .unwrap();
    assert_eq!(c.status, Status::Warn, "{c:?}");
    // A second, open subscription makes it whole.
    let c = judge_filters(&[
        sub(Some(json!({"severity": ["warning"]})), None),
        sub(None, None),
    ])
    .unwrap();
    assert_eq!(c.status, Status::Ok);
    // An operator doctor does not evaluate: said, and a warning.
    let c = judge_filters(&[sub(
        Some(json!({"sourceIp": [{"cidr": "10.0.0.0/8"}]})),
        None,
    )])
    .unwrap();
    assert_eq!(c.status, Status::Warn);
    assert!(c.detail.contains("cidr"), "{}", c.detail);
    // Pending ones are not judged.
    let pending = FoundSubscription {
        confirmed: false,
        ..sub(None, None)
    };
    assert_eq!(judge_filters(&[pending]), None);
}

#[test]
fn subscriptions_need_one_confirmed() {
    let topic = "arn:aws:sns:us-east-1:111122223333:pw-alerts";
    let c = judge_subscriptions(topic, &[]);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.remedy
            .unwrap()
            .contains("aws sns subscribe --topic-arn arn:aws:sns")
    );
    let pending = FoundSubscription {
        confirmed: false,
        ..sub(None, None)
    };
    let c = judge_subscriptions(topic, std::slice::from_ref(&pending));
    assert_eq!(c.status, Status::Fail);
    assert!(c.detail.contains("none confirmed"), "{}", c.detail);
    let c = judge_subscriptions(topic, &[pending, sub(None, None)]);
    assert_eq!(c.status, Status::Ok);
    assert!(
        c.detail.ends_with("1 confirmed subscription(s) of 2"),
        "{}",
        c.detail
    );
}

fn transitions_expected() -> ExpectedTable {
    ExpectedTable {
        role: "PeerTransitions".into(),
        keys: vec![("K".into(), KeyType::Hash), ("T".into(), KeyType::Range)],
        indexes: vec![ExpectedIndex {
            name: "ByDay".into(),
            keys: vec![("Day".into(), KeyType::Hash), ("T".into(), KeyType::Range)],
        }],
        ttl: Some("ExpiresAt".into()),
    }
}

fn transitions_found() -> FoundTable {
    FoundTable {
        name: "pw-PeerTransitions".into(),
        keys: vec![("K".into(), KeyType::Hash), ("T".into(), KeyType::Range)],
        attributes: [("K", "S"), ("T", "S"), ("Day", "S")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .into(),
        indexes: vec![FoundIndex {
            name: "ByDay".into(),
            keys: vec![("Day".into(), KeyType::Hash), ("T".into(), KeyType::Range)],
            projection: "ALL".into(),
            status: "ACTIVE".into(),
        }],
        ttl_status: "ENABLED".into(),
        ttl_attribute: Some("ExpiresAt".into()),
        pitr: Some(true),
    }
}

#[test]
fn tables_keys_indexes_ttl_and_pitr() {
    let e = transitions_expected();
    let good = transitions_found();
    assert_eq!(judge_table(&e, &good, true).status, Status::Ok);
    assert_eq!(judge_ttl(&e, &good).unwrap().status, Status::Ok);
    assert_eq!(judge_pitr(&[("PeerTransitions", &good)]).status, Status::Ok);

    let mut no_index = good.clone();
    no_index.indexes.clear();
    let c = judge_table(&e, &no_index, true);
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.detail,
        "PeerTransitions pw-PeerTransitions: index ByDay is missing"
    );

    let mut wrong = good.clone();
    wrong.indexes[0].projection = "KEYS_ONLY".into();
    wrong.indexes[0].keys.pop();
    wrong.attributes.insert("Day".into(), "N".into());
    let c = judge_table(&e, &wrong, true);
    assert_eq!(
        c.detail,
        "PeerTransitions pw-PeerTransitions: Day is of type N, not S (string); index ByDay is \
         keyed on Day (partition) where the code queries Day (partition), T (sort); index ByDay \
         projects KEYS_ONLY, not ALL (the code reads whole items from it)"
    );

    let mut ttl_off = good.clone();
    ttl_off.ttl_status = "DISABLED".into();
    ttl_off.ttl_attribute = None;
    let c = judge_ttl(&e, &ttl_off).unwrap();
    assert_eq!(c.status, Status::Warn);
    assert!(
        c.remedy
            .unwrap()
            .contains("Enabled=true,AttributeName=ExpiresAt")
    );
    let mut ttl_other = good.clone();
    ttl_other.ttl_attribute = Some("Expiry".into());
    assert!(
        judge_ttl(&e, &ttl_other)
            .unwrap()
            .detail
            .contains("TTL is on Expiry, not ExpiresAt")
    );

    let mut no_pitr = good.clone();
    no_pitr.pitr = Some(false);
    let c = judge_pitr(&[("PeerState", &good), ("PeerTransitions", &no_pitr)]);
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        "point-in-time recovery not on: PeerTransitions pw-PeerTransitions (off)"
    );
}

#[test]
fn rate_expressions() {
    assert_eq!(
        rate_interval("rate(1 minute)"),
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        rate_interval("rate(5 minutes)"),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        rate_interval("rate(2 hours)"),
        Some(Duration::from_secs(7_200))
    );
    assert_eq!(
        rate_interval("rate(1 day)"),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(rate_interval("rate(0 minutes)"), None);
    assert_eq!(rate_interval("cron(0/5 * * * ? *)"), None);
    assert_eq!(rate_interval("rate(5 weeks)"), None);
}

#[test]
fn schedule_state_and_target() {
    let s = FoundSchedule {
        name: "pw-poll".into(),
        state: "ENABLED".into(),
        expression: "rate(1 minute)".into(),
        target_arn: "arn:aws:lambda:us-east-1:111122223333:function:pw-poller".into(),
    };
    let poller = "arn:aws:lambda:us-east-1:111122223333:function:pw-poller";
    assert_eq!(judge_schedule(&s, Some(poller), "pw").status, Status::Ok);
    let off = FoundSchedule {
        state: "DISABLED".into(),
        ..s.clone()
    };
    let c = judge_schedule(&off, Some(poller), "pw");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.detail,
        "pw-poll (rate(1 minute)) is DISABLED: no cycle runs"
    );
    assert!(c.remedy.unwrap().contains("ScheduleState=ENABLED"));
    let elsewhere = FoundSchedule {
        target_arn: "arn:aws:lambda:us-east-1:111122223333:function:other".into(),
        ..s
    };
    assert_eq!(
        judge_schedule(&elsewhere, Some(poller), "pw").status,
        Status::Fail
    );
}

#[test]
fn last_cycle_within_three_intervals() {
    let now = at("2026-11-25T19:10:00Z");
    let minute = Duration::from_secs(60);
    let hours = Duration::from_secs(6 * 3_600);
    let c = judge_last_cycle(
        now,
        Some(at("2026-11-25T19:07:00Z")),
        minute,
        hours,
        "/aws/lambda/pw-poller",
    );
    assert_eq!(c.status, Status::Ok);
    assert_eq!(c.detail, "completed 3m ago, at 2026-11-25T19:07:00.000Z");
    let c = judge_last_cycle(
        now,
        Some(at("2026-11-25T19:06:59Z")),
        minute,
        hours,
        "/aws/lambda/pw-poller",
    );
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail.starts_with("the last completed 3m 1s ago"),
        "{}",
        c.detail
    );
    let c = judge_last_cycle(now, None, minute, hours, "/aws/lambda/pw-poller");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.detail,
        "no completed cycle in the last 6h (no metrics line in /aws/lambda/pw-poller)"
    );
    assert!(
        c.remedy
            .unwrap()
            .contains("aws logs tail /aws/lambda/pw-poller")
    );
}

#[test]
fn outbox_empty_young_or_old() {
    let now = at("2026-11-25T19:30:00Z");
    let topic = "arn:aws:sns:us-east-1:111122223333:pw-alerts";
    assert_eq!(judge_outbox(now, &[], topic).status, Status::Ok);
    let c = judge_outbox(now, &[at("2026-11-25T19:25:00Z")], topic);
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        "1 pending, the oldest for 5m (since 2026-11-25T19:25:00.000Z)"
    );
    let c = judge_outbox(
        now,
        &[at("2026-11-25T19:25:00Z"), at("2026-11-25T18:30:00Z")],
        topic,
    );
    assert_eq!(c.status, Status::Fail);
    assert_eq!(
        c.detail,
        "2 pending, the oldest for 1h (since 2026-11-25T18:30:00.000Z)"
    );
}

#[test]
fn peer_logs_and_errors() {
    let d = "arn:aws:logs:us-east-1:111122223333:delivery-destination:pw-peer-logs";
    assert_eq!(judge_peer_logs(d, &[]).status, Status::Ok);
    let on = ("rsp-1".to_string(), "on".to_string(), None);
    let off = ("rsp-2".to_string(), "off".to_string(), None);
    assert_eq!(
        judge_peer_logs(d, std::slice::from_ref(&on)).status,
        Status::Ok
    );
    let c = judge_peer_logs(d, &[on, off]);
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.remedy.unwrap(),
        format!("peerwatch logging enable --peer rsp-2 --destination {d}")
    );
    assert_eq!(
        judge_function("pw-poller", 0.0, 0.0, "g").status,
        Status::Ok
    );
    let c = judge_function("pw-poller", 2.0, 0.0, "/aws/lambda/pw-poller");
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        "pw-poller: 2 error(s), 0 throttle(s) in the last hour"
    );
}

#[test]
fn the_worst_verdict_wins() {
    assert_eq!(overall(&[]), Status::Ok);
    let ok = Check::ok("a", "x");
    let warn = Check::warn("b", "y", "z");
    let fail = Check::fail("c", "y", "z");
    assert_eq!(overall(&[ok.clone(), warn.clone()]), Status::Warn);
    assert_eq!(overall(&[warn, fail, ok]), Status::Fail);
    assert_eq!(serde_json::to_value(Status::Warn).unwrap(), json!("warn"));
}
