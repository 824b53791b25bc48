//! The `poller` binary as Lambda runs it: cargo-lambda's runtime emulator (`cargo lambda watch
//! --only-lambda-apis`) serves the Lambda runtime API, the prebuilt binary polls it, and
//! `cargo lambda invoke --data-file` sends every sample payload in `events/`. The AWS endpoints
//! reach the binary only through the SDK's standard variables.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use peerwatch_testkit::emulators::{Emulator, Supervised, project_root};
use serde_json::{Value, json};

use crate::helpers::{Stack, s, user_command};

static POLLER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("poller"));
/// The function name the binary registers under and `cargo lambda invoke` addresses; the
/// emulator refuses a name that is not one of the project's binaries.
const FUNCTION: &str = "poller";
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Every file in `events/` and what it must produce; a new file needs a line here.
const EVENT_FILES: [&str; 6] = [
    "dry-run.json",
    "eventbridge-scheduled.json",
    "malformed-dry-run.json",
    "malformed-not-object.json",
    "peer-logs.json",
    "scheduled.json",
];

/// cargo-lambda from the project venv (`make venv`), or `PEERWATCH_CARGO_LAMBDA`.
fn cargo_lambda() -> PathBuf {
    let path = std::env::var_os("PEERWATCH_CARGO_LAMBDA")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/cargo-lambda"));
    assert!(
        path.is_file(),
        "cargo-lambda is needed for this test (run `make venv`): {} is missing",
        path.display()
    );
    path
}

fn event_file(name: &str) -> PathBuf {
    project_root().join("events").join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The function's process: what Lambda sets, plus the stack's settings as a user gives them.
fn function_command(runtime_api: &str, stack: &Stack) -> Command {
    let mut cmd = user_command(POLLER.as_str(), Some(stack));
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON");
    cmd
}

/// cargo-lambda's runtime emulator on a free port, and the poller binary attached to it.
pub(crate) struct LocalLambda {
    port: u16,
    watch: Supervised,
    pub(crate) poller: Supervised,
}

impl LocalLambda {
    pub(crate) fn start(stack: &Stack) -> LocalLambda {
        let (port, watch) = start_runtime_emulator();
        // The emulator routes `/.rt/<function>/...` to invocations of `<function>`; its bare
        // `/.rt` serves only the default function `_`.
        let runtime_api = format!("http://127.0.0.1:{port}/.rt/{FUNCTION}");
        let cmd = function_command(&runtime_api, stack);
        let poller = Emulator::spawn_command("poller", cmd).expect("starting the poller binary");
        LocalLambda {
            port,
            watch,
            poller,
        }
    }

    pub(crate) async fn invoke(&mut self, file: &str) -> Invocation {
        self.invoke_file(file, &event_file(file)).await
    }

    /// Invokes the function with `payload` as `cargo lambda invoke --data-file` sends it.
    pub(crate) async fn invoke_payload(&mut self, what: &str, payload: &Value) -> Invocation {
        let path = std::env::temp_dir().join(format!(
            "{}.json",
            peerwatch_testkit::emulators::unique_name("peerwatch-payload")
        ));
        std::fs::write(&path, payload.to_string()).expect("writing the payload");
        let out = self.invoke_file(what, &path).await;
        let _ = std::fs::remove_file(&path);
        out
    }

    async fn invoke_file(&mut self, file: &str, path: &std::path::Path) -> Invocation {
        let mut cmd = tokio::process::Command::from(user_command(cargo_lambda(), None));
        cmd.current_dir(project_root())
            .args(["lambda", "invoke", FUNCTION, "--data-file"])
            .arg(path)
            // Long forms: in `invoke`, `-A` is both --invoke-address and --data-ascii.
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(self.port.to_string())
            .args(["--output-format", "json", "--color", "never"])
            .kill_on_drop(true);
        let out = match tokio::time::timeout(INVOKE_TIMEOUT, cmd.output()).await {
            Ok(out) => out.expect("cargo lambda invoke runs"),
            Err(_) => panic!(
                "cargo lambda invoke {file} took over {INVOKE_TIMEOUT:?}; poller exited: {:?}\npoller stdout:\n{}\npoller stderr:\n{}\nwatch log:\n{}{}",
                self.poller.try_wait(),
                self.poller.stdout(),
                self.poller.stderr(),
                self.watch.stdout(),
                self.watch.stderr()
            ),
        };
        Invocation {
            file: file.to_string(),
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Starts `cargo lambda watch --only-lambda-apis` on a free port; retries if the port was taken
/// between choosing it and binding it.
fn start_runtime_emulator() -> (u16, Supervised) {
    let mut last_log = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = user_command(cargo_lambda(), None);
        // It reads the project's Cargo metadata even when it starts no function.
        cmd.current_dir(project_root())
            .args(["lambda", "watch", "--only-lambda-apis"])
            // Its default address, `::`, does not work here.
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string());
        let mut watch = Emulator::spawn_command("cargo-lambda-watch", cmd)
            .expect("starting cargo lambda watch");
        let started = Instant::now();
        let announced = format!("runtime_addr=127.0.0.1:{port}");
        while started.elapsed() < Duration::from_secs(60) {
            if let Some(status) = watch.try_wait() {
                last_log = format!("exited {status}: {}{}", watch.stdout(), watch.stderr());
                break;
            }
            let log = watch.stdout() + &watch.stderr();
            if log.contains(&announced) && TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (port, watch);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if watch.try_wait().is_none() {
            last_log = format!(
                "no runtime server within 60 s: {}{}",
                watch.stdout(),
                watch.stderr()
            );
        }
    }
    panic!("cargo lambda watch did not start: {last_log}");
}

#[derive(Debug)]
pub(crate) struct Invocation {
    file: String,
    pub(crate) ok: bool,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Invocation {
    /// The function's response, checked to be a summary.
    fn summary(&self) -> Value {
        assert!(self.ok, "{} should succeed: {self:#?}", self.file);
        let summary: Value = serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: the response is not JSON ({e}): {self:#?}", self.file));
        for key in [
            "peersSeen",
            "transitionsDetected",
            "transitionsRecorded",
            "notificationsSent",
            "notificationsRetried",
            "dryRun",
        ] {
            assert!(
                summary.get(key).is_some(),
                "{}: no {key} in {summary}",
                self.file
            );
        }
        assert!(
            summary["durationMs"].is_u64(),
            "{}: durationMs in {summary}",
            self.file
        );
        summary
    }

    /// The function's response as JSON, which must be a success.
    pub(crate) fn answer(&self) -> Value {
        assert!(self.ok, "{} should succeed: {self:#?}", self.file);
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("{}: the response is not JSON ({e}): {self:#?}", self.file))
    }

    /// Checks that the function answered an error of `error_type` whose message has `needle`.
    pub(crate) fn assert_error(&self, error_type: &str, needle: &str) {
        assert!(!self.ok, "{} should be rejected: {self:#?}", self.file);
        assert!(
            self.stderr.contains(&format!("Error: {error_type}")) && self.stderr.contains(needle),
            "{}: expected {error_type} with {needle:?}: {self:#?}",
            self.file
        );
    }
}

fn counts(summary: &Value) -> (Value, Value, Value, Value) {
    (
        summary["peersSeen"].clone(),
        summary["transitionsDetected"].clone(),
        summary["transitionsRecorded"].clone(),
        summary["dryRun"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_every_sample_event_through_the_cargo_lambda_runtime_emulator() {
    let mut files: Vec<String> = std::fs::read_dir(project_root().join("events"))
        .expect("events/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files, EVENT_FILES, "every sample payload has a case below");

    let stack = Stack::new().await;
    let ids = stack.sim.fleet(1, 3);
    let mut lambda = LocalLambda::start(&stack);
    let rejected = [
        ("malformed-not-object.json", "got an array"),
        ("malformed-dry-run.json", "dryRun must be true or false"),
    ];

    // Malformed payloads are rejected before any AWS call: an EC2 fault armed first is still
    // armed after them, and fails the next well-formed run.
    stack
        .sim
        .fault("DescribeRouteServerPeers", 1, "UnauthorizedOperation", 403);
    for (file, needle) in rejected {
        lambda
            .invoke(file)
            .await
            .assert_error("InvalidPayload", needle);
    }
    lambda
        .invoke("dry-run.json")
        .await
        .assert_error("ListPeersFailed", "DescribeRouteServerPeers");
    assert!(stack.history().await.is_empty());

    // A dry run detects the whole fleet and records nothing.
    let dry = lambda.invoke("dry-run.json").await.summary();
    assert_eq!(
        counts(&dry),
        (json!(3), json!(3), json!(0), json!(true)),
        "{dry}"
    );
    // Three peers, and their route server with its two endpoints.
    assert_eq!(dry["routingTransitionsDetected"], 3, "{dry}");
    assert_eq!(dry["detected"].as_array().map(Vec::len), Some(6), "{dry}");
    assert!(stack.history().await.is_empty());

    // The scheduled invocation records the discovery of all three.
    let first = lambda.invoke("scheduled.json").await.summary();
    assert_eq!(
        first["transitionsDeferred"], 0,
        "nothing may be deferred with ten minutes left: cargo-lambda's emulator sends \
         `Lambda-Runtime-Deadline-Ms: 600000` (a duration, where real Lambda sends a Unix-ms \
         timestamp), so a handler that takes it as-is sees a deadline in 1970 and defers every \
         write: {first}"
    );
    assert_eq!(
        counts(&first),
        (json!(3), json!(3), json!(3), json!(false)),
        "{first}"
    );
    assert_eq!(first["notificationsSent"], 0, "{first}");
    let history = stack.history().await;
    assert_eq!(history.len(), 3);

    // Rejected again with history present: nothing changes.
    for (file, needle) in rejected {
        lambda
            .invoke(file)
            .await
            .assert_error("InvalidPayload", needle);
    }
    assert_eq!(stack.history().await, history);

    // One BGP session goes down: the dry run reports it, the classic scheduled event records
    // and alerts it.
    stack.sim.set_peer(&ids[0], json!({"bgpStatus": "down"}));
    let dry = lambda.invoke("dry-run.json").await.summary();
    assert_eq!(
        counts(&dry),
        (json!(3), json!(1), json!(0), json!(true)),
        "{dry}"
    );
    assert_eq!(
        dry["detected"][0]["routeServerPeerId"],
        ids[0].as_str(),
        "{dry}"
    );
    assert_eq!(dry["detected"][0]["event"], "bgp.down", "{dry}");
    assert_eq!(stack.history().await, history);

    let second = lambda.invoke("eventbridge-scheduled.json").await.summary();
    assert_eq!(
        counts(&second),
        (json!(3), json!(1), json!(1), json!(false)),
        "{second}"
    );
    assert_eq!(second["notificationsSent"], 1, "{second}");
    let history = stack.history().await;
    assert_eq!(history.len(), 4);
    assert_eq!(
        history
            .iter()
            .filter(|t| s(t, "Event") == "bgp.down" && s(t, "RouteServerPeerId") == ids[0])
            .count(),
        1
    );
    assert_eq!(stack.deliveries().await.len(), 1);

    // The sample peer log batch: its peer is none this stack's polls discovered, so every
    // record is left to the poll and nothing is written.
    let logs = lambda.invoke("peer-logs.json").await.answer();
    assert_eq!(
        (
            logs["recordsReceived"].clone(),
            logs["recordsUntracked"].clone(),
            logs["changesRecorded"].clone()
        ),
        (json!(4), json!(4), json!(0)),
        "{logs}"
    );
    assert_eq!(stack.history().await, history);

    // With AWS_LAMBDA_LOG_FORMAT=JSON every log line is a JSON object.
    assert!(
        lambda.poller.try_wait().is_none(),
        "the poller is still serving"
    );
    let (stdout, stderr) = (lambda.poller.stdout(), lambda.poller.stderr());
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(!lines.is_empty(), "the poller logged nothing");
    let mut emf = Vec::new();
    for line in &lines {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
        if parsed.get("_aws").is_some() {
            // Embedded Metric Format: valid per the specification, one document per line.
            peerwatch_testkit::emf::validate_emf_line(line)
                .unwrap_or_else(|e| panic!("an EMF line is invalid ({e}): {line}"));
            emf.push(parsed);
            continue;
        }
        assert!(
            parsed.is_object() && parsed.get("level").is_some(),
            "{line}"
        );
    }
    // The two full cycles printed their metrics, the dry runs and rejections none: per cycle
    // one line for the route server and one for the cycle.
    let cycles: Vec<&Value> = emf
        .iter()
        .filter(|d| d.get("CycleDuration").is_some())
        .collect();
    assert_eq!(cycles.len(), 2, "{emf:#?}");
    assert_eq!(
        cycles
            .iter()
            .map(|d| d["TransitionsRecorded"].clone())
            .collect::<Vec<_>>(),
        [json!(3), json!(1)]
    );
    let per_route_server: Vec<(Value, Value)> = emf
        .iter()
        .filter(|d| d.get("RouteServerId").is_some())
        .map(|d| (d["PeersHealthy"].clone(), d["PeersDown"].clone()))
        .collect();
    assert_eq!(
        per_route_server,
        [(json!(3), json!(0)), (json!(2), json!(1))]
    );
    assert!(
        lines.iter().any(|l| l.contains("InvalidPayload")),
        "the rejections are logged: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_poller_without_peer_state_table_exits_with_one_clear_line() {
    let mut cmd = tokio::process::Command::new(&*POLLER);
    cmd.env_clear()
        .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("PEER_TRANSITIONS_TABLE", "PeerTransitions")
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("the poller exits at once")
        .expect("the poller runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("PEER_STATE_TABLE"), "{stderr}");
}
