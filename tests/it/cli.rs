//! `peerwatch` and `poller` driven as a user drives them: the binary, environment variables,
//! and the SDK's standard endpoint settings (`AWS_ENDPOINT_URL_*`), nothing else.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::{Stack, s, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));
static POLLER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("poller"));

fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn peerwatch_poll_runs_one_cycle_through_the_standard_endpoint_settings() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 4);

    let (out, stdout, stderr) = run(user_command(PEERWATCH.as_str(), Some(&stack)).args([
        "poll",
        "--dry-run",
        "--output",
        "json",
    ]));
    assert!(out.status.success(), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).expect("JSON summary");
    assert_eq!(
        (
            summary["dryRun"].clone(),
            summary["transitionsDetected"].clone(),
            summary["transitionsRecorded"].clone()
        ),
        (json!(true), json!(4), json!(0))
    );
    assert!(stack.history().await.is_empty());

    let (out, stdout, stderr) =
        run(user_command(PEERWATCH.as_str(), Some(&stack)).args(["poll", "--output", "json"]));
    assert!(out.status.success(), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "peersSeen",
        "transitionsRecorded",
        "notificationsSent",
        "notificationsRetried",
        "durationMs",
    ] {
        assert!(summary.get(key).is_some(), "summary has {key}: {summary}");
    }
    assert_eq!(
        (
            summary["peersSeen"].clone(),
            summary["transitionsRecorded"].clone()
        ),
        (json!(4), json!(4))
    );

    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    let (out, stdout, _) = run(user_command(PEERWATCH.as_str(), Some(&stack)).arg("poll"));
    assert!(out.status.success());
    assert!(
        stdout.contains("transitions recorded   1") && stdout.contains("notifications sent     1"),
        "{stdout}"
    );
    let history = stack.history().await;
    assert_eq!(
        history
            .iter()
            .filter(|t| s(t, "Event") == "bgp.down")
            .count(),
        1
    );
    assert_eq!(stack.deliveries().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_run_exits_1_and_says_what_failed() {
    let stack = Stack::new().await;
    stack
        .sim
        .fault("DescribeRouteServerPeers", 100, "InternalError", 500);
    let (out, stdout, stderr) = run(user_command(PEERWATCH.as_str(), Some(&stack)).arg("poll"));
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stderr.contains("cannot list route server peers")
            && stderr.contains("DescribeRouteServerPeers"),
        "{stderr}"
    );
}

#[test]
fn missing_or_invalid_settings_fail_at_start_with_one_line_naming_the_variable() {
    for bin in [PEERWATCH.as_str(), POLLER.as_str()] {
        let mut cmd = user_command(bin, None);
        if bin == PEERWATCH.as_str() {
            cmd.arg("poll");
        }
        let (out, _, stderr) = run(cmd.env("PEER_TRANSITIONS_TABLE", "PeerTransitions"));
        assert_eq!(out.status.code(), Some(2), "{bin}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("PEER_STATE_TABLE is not set"), "{stderr}");

        let mut cmd = user_command(bin, None);
        if bin == PEERWATCH.as_str() {
            cmd.arg("poll");
        }
        cmd.env("PEER_STATE_TABLE", "PeerState")
            .env("PEER_TRANSITIONS_TABLE", "PeerTransitions")
            .env("NOTIFY_MIN_SEVERITY", "loud");
        let (out, _, stderr) = run(&mut cmd);
        assert_eq!(out.status.code(), Some(2), "{bin}: {stderr}");
        assert!(
            stderr.contains("NOTIFY_MIN_SEVERITY is invalid") && stderr.contains("\"loud\""),
            "{stderr}"
        );
    }
}

#[test]
fn flags_override_the_environment() {
    let (out, _, stderr) = run(user_command(PEERWATCH.as_str(), None).args([
        "poll",
        "--state-table",
        "bad name!",
        "--transitions-table",
        "T1",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("PEER_STATE_TABLE is invalid"), "{stderr}");
}
