//! `peerwatch report` on a history made by real poll cycles (scripted clock).
//!
//! The scenario, 2026-11-20, report window 10:00 to 11:00 (one minute = 1/60 of it):
//!
//! | peer | route server | what happens | healthy | availability | outages | recovery |
//! |---|---|---|---|---|---|---|
//! | A | 1 | BGP down 10:20, up 10:30 | 50 m | 83.33 % | 1 | 10 m |
//! | B | 1 | failing 10:10, failed 10:15, available 10:25 | 45 m (5 degraded, 10 down) | 75 % | 1 | 15 m |
//! | C | 1 | BGP down 10:40, up only at 11:10 | 40 m | 66.67 % | 1, open 20 m | - |
//! | D | 2 | vanishes 10:45 | 45 m (15 unobserved) | 100 % | 0 | - |
//! | E | 2 | BGP down 10:05-10:07, failing 10:50-10:58 | 50 m | 83.33 % | 2 | mean 5 m, longest 8 m |
//! | F | 2 | nothing | 60 m | 100 % | 0 | - |
//! | G | 3 | appears 10:30 | 30 m (30 unobserved) | 100 % | 0 | - |
//!
//! Route server 1: 135 of 180 counted minutes healthy = 75 %, 3 outages, mean recovery
//! (10 + 15) / 2 = 12.5 m, longest 15 m, 1 open. Route server 2: 155 of 165 = 93.94 %, 2
//! outages, mean 5 m, longest 8 m. Fleet: 320 of 375 = 85.33 %, 5 outages, mean recovery
//! (10 + 15 + 2 + 8) / 4 = 8.75 m, longest 15 m, 1 open.

use std::collections::{BTreeMap, HashMap};
use std::process::Output;

use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));
const SINCE: &str = "2026-11-20T10:00:00Z";
const UNTIL: &str = "2026-11-20T11:00:00Z";

/// The scenario's peers by letter, and each peer's route server.
struct Scenario {
    stack: Stack,
    peer: BTreeMap<char, String>,
    route_server: HashMap<String, String>,
}

impl Scenario {
    fn id(&self, letter: char) -> &str {
        &self.peer[&letter]
    }

    fn rs_of(&self, letter: char) -> &str {
        &self.route_server[self.id(letter)]
    }

    fn letter(&self, id: &str) -> char {
        *self
            .peer
            .iter()
            .find(|(_, v)| *v == id)
            .unwrap_or_else(|| panic!("{id} is not in the scenario"))
            .0
    }

    fn report(&self, extra: &[&str]) -> (Output, String, String) {
        let out = user_command(PEERWATCH.as_str(), Some(&self.stack))
            .arg("report")
            .args(extra)
            .output()
            .expect("peerwatch runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        (out, stdout, stderr)
    }

    fn report_json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["--since", SINCE, "--until", UNTIL, "--output", "json"];
        args.extend_from_slice(extra);
        let (out, stdout, stderr) = self.report(&args);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }
}

/// Plays the scenario through real poll cycles against the simulator, one cycle per change.
async fn scenario() -> Scenario {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(SINCE);
    stack.poller.set_clock(clock.clock());
    let ids = stack.sim.fleet(2, 3);
    let mut peer: BTreeMap<char, String> = "ABCDEF".chars().zip(ids).collect();

    let at = |hh_mm: &str| clock.set(&format!("2026-11-20T{hh_mm}:00Z"));
    let set = |stack: &Stack, peer: &BTreeMap<char, String>, letter: char, patch: Value| {
        stack.sim.set_peer(&peer[&letter], patch);
    };

    at("10:00");
    assert_eq!(stack.cycle().await.transitions_recorded, 6);
    at("10:05");
    set(&stack, &peer, 'E', json!({"bgpStatus": "down"}));
    stack.cycle().await;
    at("10:07");
    set(&stack, &peer, 'E', json!({"bgpStatus": "up"}));
    stack.cycle().await;
    at("10:10");
    set(&stack, &peer, 'B', json!({"state": "failing"}));
    stack.cycle().await;
    at("10:15");
    set(&stack, &peer, 'B', json!({"state": "failed"}));
    stack.cycle().await;
    at("10:20");
    set(&stack, &peer, 'A', json!({"bgpStatus": "down"}));
    stack.cycle().await;
    at("10:25");
    set(&stack, &peer, 'B', json!({"state": "available"}));
    stack.cycle().await;
    at("10:30");
    set(&stack, &peer, 'A', json!({"bgpStatus": "up"}));
    let (status, body) = stack.sim.control(
        "POST",
        "/_sim/fleet",
        Some(&json!({"routeServers": 1, "peersPerRouteServer": 1, "seed": 7}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    peer.insert('G', body["routeServerPeerIds"][0].as_str().unwrap().into());
    assert_eq!(stack.cycle().await.transitions_recorded, 2, "A up, G found");
    at("10:40");
    set(&stack, &peer, 'C', json!({"bgpStatus": "down"}));
    stack.cycle().await;
    at("10:45");
    let (status, body) =
        stack
            .sim
            .control("POST", &format!("/_sim/peers/{}/vanish", peer[&'D']), None);
    assert_eq!(status, 200, "{body}");
    stack.cycle().await;
    at("10:50");
    set(&stack, &peer, 'E', json!({"state": "failing"}));
    stack.cycle().await;
    at("10:58");
    set(&stack, &peer, 'E', json!({"state": "available"}));
    stack.cycle().await;
    at("11:00");
    assert_eq!(stack.cycle().await.transitions_recorded, 0);
    // After the window: the report must still see C down at 11:00.
    at("11:10");
    set(&stack, &peer, 'C', json!({"bgpStatus": "up"}));
    stack.cycle().await;

    let mut route_server: HashMap<String, String> = stack
        .sim
        .peers()
        .into_iter()
        .map(|(id, p)| (id, p["routeServerId"].as_str().unwrap().to_string()))
        .collect();
    // D vanished from the simulator; it shared its route server with E.
    let rs_e = route_server[&peer[&'E']].clone();
    route_server.insert(peer[&'D'].clone(), rs_e);
    let s = Scenario {
        stack,
        peer,
        route_server,
    };
    assert_eq!(s.rs_of('A'), s.rs_of('C'));
    assert_ne!(s.rs_of('A'), s.rs_of('E'));
    s
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

/// Asserts figures of one JSON object: `null` or a number (compared within 1e-6) per key.
fn check(what: &str, obj: &Value, want: &[(&str, Option<f64>)]) {
    for (key, w) in want {
        let got = &obj[key];
        let ok = match w {
            None => got.is_null(),
            Some(w) => close(got, *w),
        };
        assert!(ok, "{what}: {key} is {got}, expected {w:?}\n{obj:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn report_figures_match_the_hand_computed_scenario_in_json_and_table() {
    let s = scenario().await;
    let json = s.report_json(&[]);
    assert_eq!(json["since"], "2026-11-20T10:00:00.000Z");
    assert_eq!(json["until"], "2026-11-20T11:00:00.000Z");

    let peers: BTreeMap<char, &Value> = json["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (s.letter(p["routeServerPeerId"].as_str().unwrap()), p))
        .collect();
    assert_eq!(peers.keys().collect::<String>(), "ABCDEFG");
    for (letter, p) in &peers {
        assert_eq!(p["routeServerId"], s.rs_of(*letter), "{letter}");
    }
    let min = |m: f64| Some(m * 60.0);
    let pct = |healthy: f64, counted: f64| Some(healthy / counted * 100.0);
    check(
        "A",
        peers[&'A'],
        &[
            ("availabilityPercent", pct(50.0, 60.0)),
            ("healthySeconds", min(50.0)),
            ("downSeconds", min(10.0)),
            ("outageCount", Some(1.0)),
            ("meanTimeToRecoverSeconds", min(10.0)),
            ("longestTimeToRecoverSeconds", min(10.0)),
        ],
    );
    assert!(close(&peers[&'A']["availabilityPercent"], 83.333333));
    assert_eq!(peers[&'A']["openOutage"], Value::Null);
    check(
        "B",
        peers[&'B'],
        &[
            ("availabilityPercent", Some(75.0)),
            ("degradedSeconds", min(5.0)),
            ("downSeconds", min(10.0)),
            ("outageCount", Some(1.0)),
            ("meanTimeToRecoverSeconds", min(15.0)),
        ],
    );
    assert_eq!(peers[&'B']["outages"][0]["worst"], "down");
    check(
        "C",
        peers[&'C'],
        &[
            ("availabilityPercent", pct(40.0, 60.0)),
            ("outageCount", Some(1.0)),
            ("recoveredCount", Some(0.0)),
            ("meanTimeToRecoverSeconds", None),
        ],
    );
    assert_eq!(peers[&'C']["healthAtUntil"], "down");
    assert_eq!(
        peers[&'C']["openOutage"],
        json!({"since": "2026-11-20T10:40:00.000Z", "startedBeforeWindow": false,
               "durationSeconds": 1200.0, "health": "down"})
    );
    check(
        "D",
        peers[&'D'],
        &[
            ("availabilityPercent", Some(100.0)),
            ("healthySeconds", min(45.0)),
            ("unobservedSeconds", min(15.0)),
            ("outageCount", Some(0.0)),
        ],
    );
    assert_eq!(peers[&'D']["healthAtUntil"], "unobserved");
    check(
        "E",
        peers[&'E'],
        &[
            ("availabilityPercent", pct(50.0, 60.0)),
            ("downSeconds", min(2.0)),
            ("degradedSeconds", min(8.0)),
            ("outageCount", Some(2.0)),
            ("meanTimeToRecoverSeconds", min(5.0)),
            ("longestTimeToRecoverSeconds", min(8.0)),
        ],
    );
    check(
        "F",
        peers[&'F'],
        &[
            ("availabilityPercent", Some(100.0)),
            ("healthySeconds", min(60.0)),
        ],
    );
    check(
        "G",
        peers[&'G'],
        &[
            ("availabilityPercent", Some(100.0)),
            ("healthySeconds", min(30.0)),
            ("unobservedSeconds", min(30.0)),
        ],
    );

    let rs: HashMap<&str, &Value> = json["routeServers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["routeServerId"].as_str().unwrap(), r))
        .collect();
    assert_eq!(rs.len(), 3);
    check(
        "route server 1",
        rs[s.rs_of('A')],
        &[
            ("peers", Some(3.0)),
            ("availabilityPercent", pct(135.0, 180.0)),
            ("outageCount", Some(3.0)),
            ("meanTimeToRecoverSeconds", min(12.5)),
            ("longestTimeToRecoverSeconds", min(15.0)),
            ("openOutages", Some(1.0)),
        ],
    );
    check(
        "route server 2",
        rs[s.rs_of('E')],
        &[
            ("peers", Some(3.0)),
            ("availabilityPercent", pct(155.0, 165.0)),
            ("outageCount", Some(2.0)),
            ("meanTimeToRecoverSeconds", min(5.0)),
            ("longestTimeToRecoverSeconds", min(8.0)),
            ("openOutages", Some(0.0)),
        ],
    );
    check(
        "route server 3",
        rs[s.rs_of('G')],
        &[
            ("availabilityPercent", Some(100.0)),
            ("outageCount", Some(0.0)),
            ("meanTimeToRecoverSeconds", None),
        ],
    );
    check(
        "fleet",
        &json["fleet"],
        &[
            ("peers", Some(7.0)),
            ("availabilityPercent", pct(320.0, 375.0)),
            ("outageCount", Some(5.0)),
            ("recoveredCount", Some(4.0)),
            ("meanTimeToRecoverSeconds", min(8.75)),
            ("longestTimeToRecoverSeconds", min(15.0)),
            ("openOutages", Some(1.0)),
        ],
    );

    // The same figures, as a person reads them.
    let (out, table, stderr) = s.report(&["--since", SINCE, "--until", UNTIL]);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line = |key: &str| -> &str {
        table
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no line for {key}:\n{table}"))
    };
    let words = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    assert!(
        table.starts_with(
            "Report from 2026-11-20 10:00:00Z to 2026-11-20 11:00:00Z (1h): 7 peers on 3 route servers"
        ),
        "{table}"
    );
    assert_eq!(
        words(line(s.id('A')))[3..8],
        ["healthy", "83.33 %", "1", "10m", "10m"],
        "{table}"
    );
    assert_eq!(words(line(s.id('B')))[4..8], ["75.00 %", "1", "15m", "15m"]);
    assert_eq!(
        words(line(s.id('C')))[3..],
        [
            "down",
            "66.67 %",
            "1",
            "-",
            "-",
            "down for 20m (since 2026-11-20 10:40:00Z)"
        ]
    );
    assert_eq!(words(line(s.id('D')))[3..5], ["unobserved", "100.00 %"]);
    assert_eq!(words(line(s.id('E')))[4..8], ["83.33 %", "2", "5m", "8m"]);
    assert_eq!(
        words(line(s.rs_of('A')))[1..],
        ["3", "75.00 %", "3", "12m 30s", "15m", "1"]
    );
    assert_eq!(
        words(line(s.rs_of('E')))[1..],
        ["3", "93.94 %", "2", "5m", "8m", "0"]
    );
    assert_eq!(
        words(line("(all)"))[1..],
        ["7", "85.33 %", "5", "8m 45s", "15m", "1"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_draws_one_svg_row_per_peer_with_proportional_coloured_segments() {
    let s = scenario().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-svg");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.svg", s.stack.config.peer_state_table));
    let json = s.report_json(&["--svg", path.to_str().unwrap()]);
    let text = std::fs::read_to_string(&path).expect("the SVG was written");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );

    let rows: Vec<roxmltree::Node> = root
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("peer"))
        .collect();
    assert_eq!(rows.len(), 7, "one row per peer");
    assert_eq!(rows.len(), json["peers"].as_array().unwrap().len());

    let colour: HashMap<&str, &str> = [
        ("healthy", "#2e9d4a"),
        ("degraded", "#f0a202"),
        ("down", "#d7263d"),
        ("transitional", "#9e9e9e"),
        ("unobserved", "url(#unobserved)"),
    ]
    .into();
    let window_ms = 3_600_000.0;
    let mut seen = BTreeMap::new();
    for row in &rows {
        let id = row
            .attribute("data-peer-id")
            .expect("the row names its peer");
        let label = row
            .children()
            .find(|n| n.has_tag_name("text") && n.attribute("class") == Some("label"))
            .and_then(|n| n.text());
        assert_eq!(label, Some(id), "the row is labelled with its peer id");
        let letter = s.letter(id);
        assert_eq!(row.attribute("data-route-server-id"), Some(s.rs_of(letter)));

        let mut segments = Vec::new();
        let mut total = 0.0;
        for rect in row.children().filter(|n| {
            n.has_tag_name("rect")
                && n.attribute("class")
                    .is_some_and(|c| c.starts_with("segment"))
        }) {
            let health = rect.attribute("data-health").unwrap();
            assert_eq!(
                rect.attribute("fill"),
                Some(colour[health]),
                "{id} {health}"
            );
            let from: peerwatch_core::model::Timestamp =
                rect.attribute("data-from").unwrap().parse().unwrap();
            let to: peerwatch_core::model::Timestamp =
                rect.attribute("data-to").unwrap().parse().unwrap();
            let width: f64 = rect.attribute("width").unwrap().parse().unwrap();
            let want = (to.as_millis() - from.as_millis()) as f64 / window_ms * 1000.0;
            assert!(
                (width - want).abs() < 0.01,
                "{id}: width {width}, duration share {want}"
            );
            let title = rect
                .children()
                .find(|n| n.has_tag_name("title"))
                .and_then(|n| n.text())
                .expect("a hover title");
            assert!(title.contains(health), "{title}");
            total += width;
            segments.push((health.to_string(), (width * 1000.0).round() / 1000.0));
        }
        assert!(
            (total - 1000.0).abs() < 0.01,
            "{id}: the bar spans the window"
        );
        seen.insert(letter, segments);
    }
    let seg = |h: &str, w: f64| (h.to_string(), w);
    assert_eq!(
        seen[&'A'],
        [
            seg("healthy", 333.333),
            seg("down", 166.667),
            seg("healthy", 500.0)
        ]
    );
    assert_eq!(
        seen[&'B'],
        [
            seg("healthy", 166.667),
            seg("degraded", 83.333),
            seg("down", 166.667),
            seg("healthy", 583.333)
        ]
    );
    assert_eq!(seen[&'C'], [seg("healthy", 666.667), seg("down", 333.333)]);
    assert_eq!(
        seen[&'D'],
        [seg("healthy", 750.0), seg("unobserved", 250.0)]
    );
    assert_eq!(seen[&'F'], [seg("healthy", 1000.0)]);
    assert_eq!(
        seen[&'G'],
        [seg("unobserved", 500.0), seg("healthy", 500.0)]
    );

    // A legend for each colour, and a time axis.
    for health in colour.keys() {
        assert!(
            root.descendants()
                .any(|n| n.attribute("class") == Some(&format!("swatch {health}"))),
            "legend for {health}"
        );
    }
    let ticks: Vec<&str> = root
        .descendants()
        .filter(|n| n.attribute("class") == Some("tick"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        ticks,
        [
            "10:00", "10:10", "10:20", "10:30", "10:40", "10:50", "11:00"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_scopes_to_route_servers_through_their_index_and_exits_3_when_nothing_was_observed()
{
    let s = scenario().await;
    let json = s.report_json(&["--route-server", s.rs_of('E')]);
    let ids: Vec<&str> = json["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["routeServerPeerId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|id| "DEF".contains(s.letter(id))), "{ids:?}");
    assert!(close(
        &json["fleet"]["availabilityPercent"],
        155.0 / 165.0 * 100.0
    ));

    // The day before: nothing was known yet. JSON still comes, then exit 3.
    let (out, stdout, stderr) = s.report(&[
        "--since",
        "2026-11-19T10:00:00Z",
        "--until",
        "2026-11-19T11:00:00Z",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let empty: Value = serde_json::from_str(&stdout).expect("JSON even when empty");
    assert_eq!(empty["peers"], json!([]));
    assert_eq!(empty["fleet"]["peers"], 0);
    assert!(stderr.contains("no peer was observed"), "{stderr}");

    let (out, stdout, stderr) = s.report(&[
        "--since",
        "2026-11-19T10:00:00Z",
        "--until",
        "2026-11-19T11:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn report_errors_exit_2_for_bad_arguments_and_1_for_a_missing_table() {
    let stack = Stack::new().await;
    let run = |args: &[&str]| {
        let out = user_command(PEERWATCH.as_str(), Some(&stack))
            .arg("report")
            .args(args)
            .output()
            .expect("peerwatch runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&["--since", "2h", "--until", "3h"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not before --until"), "{stderr}");
    let (code, stderr) = run(&["--since", "last tuesday"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("invalid --since"), "{stderr}");
    let (code, stderr) = run(&["--route-server", "vpc-1"]);
    assert_eq!(code, Some(2), "{stderr}");

    let (code, stderr) = run(&["--state-table", "NoSuchPeerState"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("NoSuchPeerState") && stderr.contains("region us-east-1"),
        "{stderr}"
    );

    let (code, stderr) = run(&["--svg", "/nonexistent/dir/timeline.svg"]);
    // An empty table: nothing to show comes before the picture.
    assert_eq!(code, Some(3), "{stderr}");

    let (code, stdout) = {
        let out = user_command(PEERWATCH.as_str(), None)
            .args(["report", "--help"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("Examples:") && stdout.contains("--svg") && stdout.contains("Exit codes"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_fails_with_exit_1_when_the_svg_cannot_be_written() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(SINCE);
    stack.poller.set_clock(clock.clock());
    stack.sim.fleet(1, 1);
    stack.cycle().await;
    let out = user_command(PEERWATCH.as_str(), Some(&stack))
        .args(["report", "--since", SINCE, "--until", UNTIL])
        .args(["--svg", "/nonexistent/dir/timeline.svg"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot write the timeline to /nonexistent/dir/timeline.svg"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

/// One route server, two peers advertising 100.64.0.0/24 and 100.64.1.0/24 (peer 0 the best
/// path, peer 1 the backup), report window 10:00 to 11:00:
///
/// | time | what happens | 100.64.0.0/24 | 100.64.1.0/24 |
/// |---|---|---|---|
/// | 10:10 | peer 0's BGP down | failover 0 -> 1 | failover 0 -> 1 |
/// | 10:20 | peer 1 withdraws 100.64.1.0/24 | | lost |
/// | 10:30 | peer 0's BGP up | failover 1 -> 0 | restored via 0 |
/// | 10:50 | peer 0 withdraws 100.64.1.0/24 | | lost (open at 11:00) |
///
/// So 100.64.0.0/24: 2 failovers, never lost; 100.64.1.0/24: 1 failover, lost 10 + 10
/// minutes; the route server: 3 failovers, 1200 s lost.
#[tokio::test(flavor = "multi_thread")]
async fn report_counts_route_failovers_and_lost_time_per_route_server_and_prefix() {
    let mut stack = Stack::new().await;
    let clock = ManualClock::at(SINCE);
    stack.poller.set_clock(clock.clock());
    let (status, fleet) = stack.sim.control(
        "POST",
        "/_sim/fleet",
        Some(
            &json!({"routeServers": 1, "peersPerRouteServer": 2, "seed": 11, "routesPerPeer": 2})
                .to_string(),
        ),
    );
    assert_eq!(status, 200, "{fleet}");
    let peers: Vec<String> = serde_json::from_value(fleet["routeServerPeerIds"].clone()).unwrap();
    let rs = fleet["routeServerIds"][0].as_str().unwrap().to_string();
    let (p0, p1) = (peers[0].as_str(), peers[1].as_str());
    let (kept, dropped) = ("100.64.0.0/24", "100.64.1.0/24");
    let at = |hh_mm: &str| clock.set(&format!("2026-11-20T{hh_mm}:00Z"));
    // What a peer advertises, less `prefix`.
    let withdraw = |peer: &str, prefix: &str| {
        let path = format!("/_sim/peers/{peer}/routes");
        let (status, body) = stack.sim.control("GET", &path, None);
        assert_eq!(status, 200, "{body}");
        let routes: Vec<Value> = body["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["prefix"] != prefix)
            .cloned()
            .collect();
        let (status, body) = stack.sim.control(
            "POST",
            &path,
            Some(&json!({ "routes": routes }).to_string()),
        );
        assert_eq!(status, 200, "{body}");
    };

    at("10:00");
    stack.cycle().await;
    at("10:10");
    stack.sim.set_peer(p0, json!({"bgpStatus": "down"}));
    stack.cycle().await;
    at("10:20");
    withdraw(p1, dropped);
    stack.cycle().await;
    at("10:30");
    stack.sim.set_peer(p0, json!({"bgpStatus": "up"}));
    stack.cycle().await;
    at("10:50");
    withdraw(p0, dropped);
    stack.cycle().await;
    at("11:00");
    stack.cycle().await;

    let report = |extra: &[&str]| {
        let out = user_command(PEERWATCH.as_str(), Some(&stack))
            .args(["report", "--since", SINCE, "--until", UNTIL])
            .args(extra)
            .output()
            .expect("peerwatch runs");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let check_routes = |json: &Value| {
        let [server] = json["routeServers"].as_array().unwrap().as_slice() else {
            panic!("one route server: {json:#}")
        };
        assert_eq!(server["routeServerId"], rs.as_str());
        assert_eq!(server["peers"], 2, "the peers' figures stay");
        assert_eq!(server["routeFailovers"], 3, "{server:#}");
        assert_eq!(server["routeLostSeconds"], 1200.0, "{server:#}");
        let routes = server["routes"].as_array().unwrap();
        let prefixes: Vec<&str> = routes
            .iter()
            .map(|r| r["prefix"].as_str().unwrap())
            .collect();
        assert_eq!(prefixes, [kept, dropped]);
        let (a, b) = (&routes[0], &routes[1]);
        assert_eq!(
            (&a["failovers"], &a["lostSeconds"], &a["stateAtUntil"]),
            (&json!(2), &json!(0.0), &json!("in-fib"))
        );
        assert_eq!(
            a["failoverEvents"],
            json!([
                {"observedAt": "2026-11-20T10:10:00.000Z", "fromPeerId": p0, "toPeerId": p1},
                {"observedAt": "2026-11-20T10:30:00.000Z", "fromPeerId": p1, "toPeerId": p0}
            ])
        );
        assert_eq!(a["lostIntervals"], json!([]));
        assert_eq!(
            (&b["failovers"], &b["lostSeconds"], &b["stateAtUntil"]),
            (&json!(1), &json!(1200.0), &json!("lost"))
        );
        assert_eq!(
            b["lostIntervals"],
            json!([
                {"startedAt": "2026-11-20T10:20:00.000Z", "startedBeforeWindow": false,
                 "endedAt": "2026-11-20T10:30:00.000Z", "durationSeconds": 600.0},
                {"startedAt": "2026-11-20T10:50:00.000Z", "startedBeforeWindow": false,
                 "endedAt": null, "durationSeconds": 600.0}
            ])
        );
        assert_eq!(
            b["timeline"],
            json!([
                {"from": "2026-11-20T10:00:00.000Z", "to": "2026-11-20T10:20:00.000Z", "state": "in-fib"},
                {"from": "2026-11-20T10:20:00.000Z", "to": "2026-11-20T10:30:00.000Z", "state": "lost"},
                {"from": "2026-11-20T10:30:00.000Z", "to": "2026-11-20T10:50:00.000Z", "state": "in-fib"},
                {"from": "2026-11-20T10:50:00.000Z", "to": "2026-11-20T11:00:00.000Z", "state": "lost"}
            ])
        );
    };

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-svg");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-routes.svg", stack.config.peer_state_table));
    let json: Value = serde_json::from_str(&report(&[
        "--output",
        "json",
        "--svg",
        path.to_str().unwrap(),
    ]))
    .unwrap();
    check_routes(&json);
    // The peers are as the session changes made them: peer 0 down 10:10 to 10:30.
    let p0_report = json["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["routeServerPeerId"] == p0)
        .unwrap();
    assert_eq!(p0_report["downSeconds"], 1200.0);

    // Through the route server's index, the same figures.
    let scoped: Value =
        serde_json::from_str(&report(&["--output", "json", "--route-server", &rs])).unwrap();
    check_routes(&scoped);

    // The SVG: one row per prefix after the peers, its segments and a marker per failover.
    let text = std::fs::read_to_string(&path).expect("the SVG was written");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let rows: Vec<(&str, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("g"))
        .filter_map(|n| {
            let id = match n.attribute("class")? {
                "peer" => n.attribute("data-peer-id"),
                "route" => n.attribute("data-prefix"),
                _ => None,
            }?;
            Some((n.attribute("class").unwrap(), id))
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("peer", p0),
            ("peer", p1),
            ("route", kept),
            ("route", dropped)
        ]
    );
    let row = doc
        .descendants()
        .find(|n| n.attribute("data-prefix") == Some(dropped))
        .unwrap();
    assert_eq!(row.attribute("data-route-server-id"), Some(rs.as_str()));
    let label = row
        .children()
        .find(|n| n.attribute("class") == Some("label"))
        .and_then(|n| n.text());
    assert_eq!(label, Some(dropped));
    let segments: Vec<(&str, f64, &str)> = row
        .children()
        .filter(|n| n.has_tag_name("rect"))
        .map(|n| {
            (
                n.attribute("data-state").unwrap(),
                n.attribute("width").unwrap().parse().unwrap(),
                n.attribute("fill").unwrap(),
            )
        })
        .collect();
    let blue = "#3b7dd8";
    let red = "#d7263d";
    assert_eq!(
        segments,
        [
            ("in-fib", 333.333, blue),
            ("lost", 166.667, red),
            ("in-fib", 333.333, blue),
            ("lost", 166.667, red)
        ]
    );
    let markers = |prefix: &str| -> Vec<String> {
        doc.descendants()
            .find(|n| n.attribute("data-prefix") == Some(prefix))
            .unwrap()
            .children()
            .filter(|n| n.attribute("class") == Some("failover"))
            .map(|n| n.attribute("data-at").unwrap().to_string())
            .collect()
    };
    assert_eq!(markers(dropped), ["2026-11-20T10:10:00.000Z"]);
    assert_eq!(
        markers(kept),
        ["2026-11-20T10:10:00.000Z", "2026-11-20T10:30:00.000Z"]
    );

    // The table: a section for the route server's prefixes.
    let table = report(&[]);
    let line = |start: &str| -> String {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no line for {start}:\n{table}"))
            .to_string()
    };
    assert_eq!(
        line("Routes of"),
        format!("Routes of {rs}: 2 prefixes, 3 failovers, lost for 20m")
    );
    let words = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(words(&line(kept)), [kept, "in-fib", "2", "0s", "-"]);
    assert_eq!(
        words(&line(dropped)),
        [
            dropped,
            "lost",
            "1",
            "20m",
            "2026-11-20 10:20:00Z - 2026-11-20 10:30:00Z, 2026-11-20 10:50:00Z - (still lost)"
        ]
    );
}
