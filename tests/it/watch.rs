//! `peerwatch watch` driven as a user drives it: the binary in a tmux pane (a real terminal,
//! read back with `capture-pane`, stopped with `send-keys C-c`), the fleet changing in the
//! simulator and poll cycles recording it. Across UTC midnight, the watch's clock is moved
//! from outside by libfaketime (the wall clock only: tokio's sleeps stay on the real
//! monotonic clock) and the cycles' by a `ManualClock` kept level with it. The library is
//! preloaded into the binary itself rather than through the `faketime` command, which waits
//! for its child and is killed by Ctrl-C itself: the pane would show its status, not the
//! binary's.
//!
//! With CI=true a missing tmux or libfaketime fails the test; elsewhere it is skipped, saying
//! so.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use peerwatch_aws::history::row_from_item;
use peerwatch_cli::watch::line;
use peerwatch_core::history::HistoryRow;
use peerwatch_core::model::Timestamp;
use peerwatch_testkit::emulators::unique_name;
use serde_json::{Value, json};

use crate::helpers::{ManualClock, Stack, s, user_command};

static PEERWATCH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("peerwatch"));

/// `--interval`'s default, which the fleet's and the peer's watch run with.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The interval across midnight, so that the wait for midnight stays short.
const MIDNIGHT_INTERVAL: Duration = Duration::from_secs(2);
/// What a poll of the watch itself may take on top of the interval (a few Querys to moto),
/// and the pane's reading every 100 ms.
const SLACK: Duration = Duration::from_millis(2500);

/// Whether a tool the test needs is here; with CI=true its absence fails the test.
fn needed(what: &str, found: bool) -> bool {
    if found {
        return true;
    }
    let install = "apt-get install -y tmux faketime";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is needed for the watch tests: {install}");
    }
    eprintln!("skipped: {what} is not installed ({install})");
    false
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// libfaketime's multithreaded library (the binary runs tokio's threads), where Debian's
/// `faketime` package puts it.
fn libfaketime() -> Option<PathBuf> {
    let mut dirs = vec![PathBuf::from("/usr/lib/faketime")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(entries.flatten().map(|e| e.path().join("faketime")));
    }
    dirs.into_iter()
        .map(|d| d.join("libfaketimeMT.so.1"))
        .find(|p| p.exists())
}

/// Every history item of the stack (peers and routing subjects), as rows, by key.
async fn recorded(stack: &Stack) -> BTreeMap<(String, String), HistoryRow> {
    let mut items = stack.history().await;
    items.extend(stack.routing_history().await);
    items
        .iter()
        .map(|i| {
            let row = row_from_item(i).expect("a history row");
            ((s(i, "ObservedAt"), s(i, "RouteServerPeerId")), row)
        })
        .collect()
}

/// The rows recorded since `before` was read.
fn new_rows(
    before: &BTreeMap<(String, String), HistoryRow>,
    after: &BTreeMap<(String, String), HistoryRow>,
) -> Vec<HistoryRow> {
    after
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .map(|(_, r)| r.clone())
        .collect()
}

/// A shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One tmux server of its own (its own socket) running one pane 200x50: the peerwatch binary
/// with exactly the environment `user_command` gives it, then `exit=<status>`.
struct Pane {
    socket: String,
    dir: PathBuf,
}

impl Pane {
    fn start(stack: &Stack, args: &[&str], extra_env: &[(&str, String)]) -> Pane {
        let cmd = user_command(PEERWATCH.as_str(), Some(stack));
        let mut env: Vec<String> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
            .collect();
        env.push("PATH=/usr/bin:/bin".into());
        env.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
        let words: Vec<String> = env
            .iter()
            .map(String::as_str)
            .chain([PEERWATCH.as_str()])
            .chain(args.iter().copied())
            .map(quote)
            .collect();
        let socket = unique_name("pw-watch");
        let dir = std::env::temp_dir().join(&socket);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let script = dir.join("run.sh");
        // bash, not sh: it waits for a child that handles Ctrl-C and goes on to the echo.
        std::fs::write(
            &script,
            format!("env -i {}\necho \"exit=$?\"\nsleep 600\n", words.join(" ")),
        )
        .expect("write the pane's script");
        let pane = Pane { socket, dir };
        pane.tmux(&[
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            &format!("bash {}", script.display()),
        ]);
        pane
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The whole pane, scrollback included, wrapped lines joined.
    fn text(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-"])
    }

    /// Waits until `done` holds of the pane's text; answers when, or fails with the text.
    fn wait_for(&self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> Instant {
        let start = Instant::now();
        loop {
            let text = self.text();
            if done(&text) {
                return Instant::now();
            }
            assert!(
                start.elapsed() < timeout,
                "{what}: not in the pane after {timeout:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// How many of the pane's lines are exactly `want`.
    fn count(text: &str, want: &str) -> usize {
        text.lines().filter(|l| l.trim_end() == want).count()
    }

    /// Ctrl-C, then the status the binary exited with.
    fn interrupt(&self) -> (String, Duration) {
        self.tmux(&["send-keys", "C-c"]);
        let sent = Instant::now();
        let done = self.wait_for("exit status", Duration::from_secs(5), |t| {
            t.contains("exit=")
        });
        let text = self.text();
        let status = text
            .lines()
            .find_map(|l| l.split("exit=").nth(1))
            .unwrap_or_default()
            .trim()
            .to_string();
        (status, done - sent)
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until every row shows in the pane as the one line `watch` prints for it; answers
/// when the last one did.
fn shows(pane: &Pane, rows: &[HistoryRow], by: Instant, what: &str) {
    let wanted: Vec<String> = rows.iter().map(|r| line(r, false)).collect();
    let timeout = by.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
    pane.wait_for(what, timeout, |text| {
        wanted.iter().all(|w| Pane::count(text, w) >= 1)
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_shows_each_change_within_one_interval_once_and_ctrl_c_exits_0() {
    if !needed("tmux", have_tmux()) {
        return;
    }
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 3);
    stack.cycle().await;
    let start = recorded(&stack).await;
    assert!(
        start.len() > 3,
        "peers and their routing subjects: {start:?}"
    );

    let fleet = Pane::start(&stack, &["watch"], &[]);
    let peer = Pane::start(&stack, &["watch", "--peer", &ids[0]], &[]);
    // What was recorded before it started (within --since 10m) comes first, every subject.
    let all: Vec<HistoryRow> = start.values().cloned().collect();
    shows(
        &fleet,
        &all,
        Instant::now() + Duration::from_secs(10),
        "the recorded",
    );
    let text = fleet.text();
    for subject in ["rsp-", "rse-", "rs-"] {
        assert!(
            text.lines().any(|l| l.contains(&format!("  {subject}"))),
            "{subject}: {text}"
        );
    }

    let mut seen = start;
    for (patch, event, severity) in [
        (json!({"bgpStatus": "down"}), "bgp.down", "critical"),
        (json!({"bgpStatus": "up"}), "", "recovery"),
    ] {
        let started = Instant::now();
        stack.sim.set_peer(&ids[0], patch.clone());
        stack.cycle().await;
        let cycle = started.elapsed();
        let now = recorded(&stack).await;
        let new = new_rows(&seen, &now);
        seen = now;
        let mine: Vec<HistoryRow> = new
            .iter()
            .filter(|r| r.route_server_peer_id == ids[0])
            .cloned()
            .collect();
        assert_eq!(mine.len(), 1, "{patch}: {new:?}");
        assert_eq!(mine[0].severity, severity, "{:?}", mine[0]);
        if !event.is_empty() {
            assert_eq!(mine[0].event.as_deref(), Some(event), "{:?}", mine[0]);
        }
        let by = started + cycle + DEFAULT_INTERVAL + SLACK;
        shows(&fleet, &new, by, &format!("{patch} in the fleet's watch"));
        shows(&peer, &mine, by, &format!("{patch} in the peer's watch"));
        // Told apart by a reader's eye too, not only by the formatter.
        let text = fleet.text();
        assert!(
            text.lines().any(|l| l.contains(&ids[0])
                && l.contains(severity)
                && l.contains(mine[0].event.as_deref().unwrap_or("-"))),
            "{text}"
        );
    }

    // Two more polls: the overlap reads them again, and nothing shows twice.
    std::thread::sleep(DEFAULT_INTERVAL * 2);
    let text = fleet.text();
    for row in seen.values() {
        assert_eq!(Pane::count(&text, &line(row, false)), 1, "{row:?}\n{text}");
    }
    let rows_shown = text.lines().filter(|l| l.starts_with("20")).count();
    assert_eq!(rows_shown, seen.len(), "{text}");
    assert!(
        text.lines().next().unwrap_or_default().starts_with("TIME"),
        "{text}"
    );
    // The peer's watch: that peer only (its advertisement too, had it one).
    let text = peer.text();
    let peer_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("20")).collect();
    assert_eq!(peer_lines.len(), 3, "discovered, down, up: {text}");
    assert!(
        peer_lines.iter().all(|l| l
            .split_whitespace()
            .nth(2)
            .is_some_and(|k| k.ends_with(ids[0].as_str()))),
        "{text}"
    );

    for pane in [&fleet, &peer] {
        let (status, took) = pane.interrupt();
        assert_eq!(status, "0", "{}", pane.text());
        assert!(took < Duration::from_secs(2), "Ctrl-C took {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_carries_on_across_utc_midnight_on_a_scripted_clock() {
    if !needed("tmux", have_tmux()) {
        return;
    }
    let Some(lib) = libfaketime() else {
        needed("libfaketime", false);
        return;
    };
    let mut stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 2);
    // The watch's clock runs `offset_s` ahead of (or behind) the real one, from 23:59:50
    // today.
    let today = Timestamp::now().day();
    let start: Timestamp = format!("{today}T23:59:50.000Z").parse().unwrap();
    let offset_s = start.as_secs() - Timestamp::now().as_secs();
    let fake_now = move || Timestamp::now().plus_seconds(offset_s);
    let clock = ManualClock::at(&fake_now().plus_seconds(-5).to_string());
    stack.poller.set_clock(clock.clock());
    stack.cycle().await;
    let mut seen = recorded(&stack).await;

    let env = [
        ("LD_PRELOAD", lib.display().to_string()),
        ("FAKETIME", format!("{offset_s:+}s")),
        // tokio's timers and sleeps read the monotonic clock: real.
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
    ];
    let pane = Pane::start(&stack, &["watch", "--interval", "2s"], &env);
    let all: Vec<HistoryRow> = seen.values().cloned().collect();
    shows(
        &pane,
        &all,
        Instant::now() + Duration::from_secs(10),
        "the recorded",
    );

    // Before midnight, just after it with a change stamped before it (written late, as the log
    // path writes), and on the new day.
    let midnight_ms = start.as_millis() + 10_000;
    let steps: [(&str, i64, Value); 3] = [
        ("before midnight", 0, json!({"bgpStatus": "down"})),
        (
            "stamped before midnight, written after",
            -3,
            json!({"bgpStatus": "up"}),
        ),
        ("after midnight", 0, json!({"bgpStatus": "down"})),
    ];
    for (i, (what, stamp_back, patch)) in steps.into_iter().enumerate() {
        if i == 1 {
            // Wait until the watch's clock is past midnight.
            while fake_now().as_millis() < midnight_ms + 1_000 {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let started = Instant::now();
        let stamp = match i {
            1 => Timestamp::from_millis(midnight_ms - 1_000).unwrap(),
            _ => fake_now().plus_seconds(stamp_back),
        };
        clock.set(&stamp.to_string());
        stack.sim.set_peer(&ids[0], patch);
        stack.cycle().await;
        let cycle = started.elapsed();
        let now = recorded(&stack).await;
        let new = new_rows(&seen, &now);
        seen = now;
        assert!(
            new.iter().any(|r| r.route_server_peer_id == ids[0]),
            "{what}: {new:?}"
        );
        shows(
            &pane,
            &new,
            started + cycle + MIDNIGHT_INTERVAL + SLACK,
            what,
        );
    }
    let days: std::collections::BTreeSet<String> =
        seen.values().map(|r| r.observed_at.day()).collect();
    assert_eq!(days.len(), 2, "both sides of midnight recorded: {days:?}");
    let text = pane.text();
    for day in &days {
        assert!(
            text.lines().any(|l| l.starts_with(day.as_str())),
            "{day}: {text}"
        );
    }
    for row in seen.values() {
        assert_eq!(Pane::count(&text, &line(row, false)), 1, "{row:?}\n{text}");
    }
    let (status, _) = pane.interrupt();
    assert_eq!(status, "0", "{}", pane.text());
}

/// A child's stdout or stderr, line by line, as it comes.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(pipe).lines() {
            let Ok(l) = l else { return };
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    rx
}

fn signal(child: &std::process::Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: a signal to the child this test started and has not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Waits up to `timeout` for the child to exit; answers its status and how long it took.
fn exited(
    child: &mut std::process::Child,
    timeout: Duration,
) -> (std::process::ExitStatus, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, start.elapsed());
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_output_json_is_one_object_per_line_each_once_and_sigterm_exits_0() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 2);
    stack.cycle().await;
    let mut child = user_command(PEERWATCH.as_str(), Some(&stack))
        .args(["watch", "--output", "json", "--interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerwatch starts");
    let out = lines_of(child.stdout.take().unwrap());
    let err = lines_of(child.stderr.take().unwrap());
    let mut got: Vec<String> = Vec::new();
    let mut collect = |want: usize, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while got.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match out.recv_timeout(left) {
                Ok(l) => got.push(l),
                Err(_) => panic!("{what}: {} of {want} lines: {got:?}", got.len()),
            }
        }
    };
    let first = recorded(&stack).await;
    collect(first.len(), "the recorded");
    stack.sim.set_peer(&ids[1], json!({"bgpStatus": "down"}));
    stack.cycle().await;
    let all = recorded(&stack).await;
    collect(all.len(), "the change");
    // Two more polls: nothing again.
    std::thread::sleep(Duration::from_millis(2500));
    signal(&child, libc::SIGTERM);
    let (status, took) = exited(&mut child, Duration::from_secs(3));
    got.extend(out.try_iter());
    assert_eq!(
        status.code(),
        Some(0),
        "{:?}",
        err.try_iter().collect::<Vec<_>>()
    );
    assert!(took < Duration::from_secs(2), "SIGTERM took {took:?}");

    let mut keys = Vec::new();
    for l in &got {
        assert!(!l.contains('\x1b'), "no colour in a pipe: {l:?}");
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"));
        let key = (
            v["observedAt"].as_str().expect("observedAt").to_string(),
            v["routeServerPeerId"]
                .as_str()
                .expect("routeServerPeerId")
                .to_string(),
        );
        let row = &all[&key];
        assert_eq!(v, serde_json::to_value(row).unwrap());
        keys.push(key);
    }
    let want: Vec<(String, String)> = all.keys().cloned().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(sorted, want, "each recorded row once");
    // Oldest first: the change comes after everything recorded before it.
    let down = keys.iter().position(|(_, k)| k == &ids[1]).unwrap();
    assert!(
        keys[down + 1..].iter().any(|(_, k)| k == &ids[1]),
        "{keys:?}"
    );
    let banner: Vec<String> = err.try_iter().collect();
    assert!(
        banner.iter().any(|l| l.contains("watching the fleet")),
        "{banner:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_flags_exit_2_a_missing_table_1_and_ctrl_c_ends_a_sleeping_watch_with_0() {
    let stack = Stack::new().await;
    for (args, want) in [
        (vec!["--interval", "0s"], "invalid --interval"),
        (vec!["--interval", "often"], "invalid --interval"),
        (vec!["--since", "tomorrow"], "invalid --since"),
        (vec!["--peer", "rs-0a1b2c3d4e5f60718"], "invalid --peer"),
        (
            vec![
                "--peer",
                "rsp-0a1b2c3d4e5f60718",
                "--route-server",
                "rs-0a1b2c3d4e5f60718",
            ],
            "cannot be used with",
        ),
    ] {
        let out = user_command(PEERWATCH.as_str(), Some(&stack))
            .arg("watch")
            .args(&args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing half-written: {args:?}");
    }

    let out = user_command(PEERWATCH.as_str(), Some(&stack))
        .args(["watch", "--transitions-table", "NoSuchTable"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("NoSuchTable") && stderr.contains("does not exist"),
        "{stderr}"
    );

    // Mid-sleep (an hour's interval, just after its first poll): Ctrl-C ends it at once.
    let mut child = user_command(PEERWATCH.as_str(), Some(&stack))
        .args(["watch", "--interval", "1h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerwatch starts");
    let out = lines_of(child.stdout.take().unwrap());
    assert!(
        out.recv_timeout(Duration::from_secs(10))
            .is_ok_and(|l| l.starts_with("TIME")),
        "the header"
    );
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, libc::SIGINT);
    let (status, took) = exited(&mut child, Duration::from_secs(3));
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(1), "Ctrl-C took {took:?}");
}

/// The pane's script passes each argument and setting to the binary as it is.
#[test]
fn a_shell_word_survives_quotes() {
    assert_eq!(quote("a'b c"), r"'a'\''b c'");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("printf %s {}", quote("a'b $HOME c")))
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a'b $HOME c");
}

/// A TCP relay to moto that can be cut: while cut, it drops every connection, open or new.
struct Relay {
    endpoint: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn to(target: &str) -> Relay {
        let target = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (cut, cut_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = cut_rx.clone();
                if *cut.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|c| *c) => {}
                    }
                });
            }
        });
        Relay { endpoint, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_poll_is_one_line_on_stderr_and_the_watch_carries_on() {
    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 1);
    stack.cycle().await;
    let relay = Relay::to(crate::helpers::moto().endpoint()).await;
    let mut child = user_command(PEERWATCH.as_str(), Some(&stack))
        .env("AWS_ENDPOINT_URL_DYNAMODB", &relay.endpoint)
        .args(["watch", "--output", "json", "--interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("peerwatch starts");
    let out = lines_of(child.stdout.take().unwrap());
    let err = lines_of(child.stderr.take().unwrap());
    let first = recorded(&stack).await;
    for _ in 0..first.len() {
        out.recv_timeout(Duration::from_secs(10))
            .expect("the recorded rows");
    }
    assert!(
        err.recv_timeout(Duration::from_secs(5))
            .is_ok_and(|l| l.contains("watching the fleet")),
        "the banner"
    );

    relay.set_cut(true);
    let failed = err
        .recv_timeout(Duration::from_secs(20))
        .expect("a failed poll is reported");
    assert!(
        failed.starts_with("peerwatch: poll failed, trying again in 2s: ")
            && failed.contains(&format!(
                "Query on table {}",
                stack.config.peer_transitions_table
            )),
        "{failed}"
    );
    // Changed while it cannot read: shown once it can again.
    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    stack.cycle().await;
    let change = new_rows(&first, &recorded(&stack).await);
    assert_eq!(change.len(), 1, "{change:?}");
    let next = err
        .recv_timeout(Duration::from_secs(20))
        .expect("a second failure");
    assert!(next.contains("trying again in 4s"), "backing off: {next}");
    relay.set_cut(false);
    let shown = out
        .recv_timeout(Duration::from_secs(15))
        .expect("the change, once DynamoDB answers again");
    let v: Value = serde_json::from_str(&shown).expect("a JSON line");
    assert_eq!(v, serde_json::to_value(&change[0]).unwrap());

    signal(&child, libc::SIGTERM);
    let (status, _) = exited(&mut child, Duration::from_secs(3));
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = out.try_iter().collect();
    assert!(rest.is_empty(), "nothing twice: {rest:?}");
    // One line per failed poll, each on one line.
    let failures: Vec<String> = err.try_iter().collect();
    assert!(
        failures
            .iter()
            .all(|l| l.starts_with("peerwatch: poll failed")),
        "{failures:?}"
    );
}
