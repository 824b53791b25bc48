//! `make demo`: peerwatch's main job end to end, on local emulators, with no AWS account.
//!
//! It starts moto (DynamoDB, SNS, SQS) and `route-server-sim` (EC2's route-server API) on
//! free loopback ports, points the AWS SDK at them through nothing but its standard
//! settings (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SNS`),
//! creates the two tables and an alert topic, and runs `Poller::run` (the code path of the
//! Lambda and of `peerwatch poll`) six times while peers of a small fleet break, flap,
//! recover, vanish and are deleted. At the end it shows the recorded history (a `Query` of
//! the `ByDay` index), the current `PeerState`, every alert delivered to an SQS subscriber,
//! and the plain text an email subscriber gets. Then it runs the operator CLI, the real
//! `peerwatch` binary, on the same tables as a user would (`status`, `history`, `report` with
//! an SVG timeline), and checks what those commands answer.
//!
//! The simulator and the CLI are looked for next to this executable
//! (`target/debug/route-server-sim` and `target/debug/peerwatch` beside
//! `target/debug/demo`), the simulator also at `ROUTE_SERVER_SIM_BIN`; moto runs on
//! the project venv's Python (`make venv`), or `PEERWATCH_PYTHON`. Exit status 0 means every
//! poll and every command did what the narration says it should.

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;
use peerwatch_aws::config::{self, Config};
use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_aws::store::INDEX_BY_DAY;
use peerwatch_core::duration::humanise;
use peerwatch_core::error_chain;
use peerwatch_core::model::Timestamp;
use peerwatch_core::summary::Summary;
use peerwatch_testkit::emulators::{Emulator, project_python};
use serde_json::{Value, json};

type BoxError = Box<dyn Error + Send + Sync>;
type Result<T, E = BoxError> = std::result::Result<T, E>;
type Item = HashMap<String, AttributeValue>;

/// Time between polls (the deployed schedule polls every minute).
const POLL_GAP: Duration = Duration::from_millis(1000);
/// How long the simulator takes for `pending` -> `available` and `deleting` -> `deleted`.
const SIM_TRANSITION_MS: &str = "300";
const STATE_TABLE: &str = "PeerState";
const TRANSITIONS_TABLE: &str = "PeerTransitions";
const TOPIC: &str = "peerwatch-alerts";
const QUEUE: &str = "peerwatch-demo-deliveries";

fn main() -> ExitCode {
    let started = Instant::now();
    // The start of the run, for `peerwatch report --since`: before anything is recorded.
    let run_start = Timestamp::now();
    let ui = Ui::detect();

    // Loopback traffic must not go to a proxy a developer machine may have configured: not
    // ours, and not moto's when it delivers to the HTTP subscriber. The process is still
    // single-threaded here, so changing the environment is sound; moto inherits it.
    let no_proxy = match std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")) {
        Ok(v) if !v.trim().is_empty() => format!("{v},127.0.0.1,localhost"),
        _ => "127.0.0.1,localhost".to_string(),
    };
    // SAFETY: no other thread exists yet.
    unsafe {
        std::env::set_var("NO_PROXY", &no_proxy);
        std::env::set_var("no_proxy", &no_proxy);
    }

    println!(
        "{}",
        ui.bold("peerwatch demo: the poller's job end to end, on local emulators (no AWS account)")
    );

    // Both binaries come from the same `cargo build --workspace --bins`; fail before starting
    // anything when one is missing.
    let peerwatch_bin = match sibling_binary("peerwatch") {
        Ok(path) => path,
        Err(e) => {
            eprintln!("demo: {}", error_chain(e.as_ref()));
            return ExitCode::FAILURE;
        }
    };

    ui.heading("1. Local emulators");
    let emulators = match start_emulators(&ui) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("demo: {}", error_chain(e.as_ref()));
            return ExitCode::FAILURE;
        }
    };
    let moto_url = emulators.moto.endpoint().to_string();
    let sim_url = emulators.sim.endpoint().to_string();

    // The product reads its endpoints, credentials and region only through the SDK's
    // standard settings; the demo sets them, as a Lambda's environment or a shell would.
    let settings = [
        ("AWS_ENDPOINT_URL_EC2", sim_url.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto_url.as_str()),
        ("AWS_ENDPOINT_URL_SNS", moto_url.as_str()),
        ("AWS_ENDPOINT_URL_SQS", moto_url.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    // SAFETY: the tokio runtime does not exist yet. The only other threads are the emulator
    // helpers of `peerwatch_testkit::emulators`: one waits on a channel to spawn children (std's
    // `Command::spawn` reads the environment under std's own lock, which `set_var` takes too)
    // and the others block reading the children's stdout pipes. None reads the environment
    // through libc, so nothing reads or writes it concurrently with these calls.
    unsafe {
        for unwanted in [
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        ] {
            std::env::remove_var(unwanted);
        }
        for (name, value) in settings {
            std::env::set_var(name, value);
        }
    }
    println!();
    println!("  The SDK is configured only through its standard environment variables:");
    for (name, value) in settings {
        println!("    {name:<27} {value}");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = PeerwatchCli::new(peerwatch_bin, &ui, &sim_url, &moto_url);
    let outcome = runtime.block_on(demo(&ui, &sim_url, &cli, run_start));
    drop(runtime);
    drop(emulators);
    match outcome {
        Ok(problems) if problems.is_empty() => {
            println!();
            println!(
                "Demo finished in {:.1} s; the emulators are stopped.",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            println!();
            println!(
                "{}",
                ui.red("The demo saw something other than what it expected:")
            );
            for p in problems {
                println!("  - {p}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("demo: {}", error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

struct Emulators {
    moto: Emulator,
    sim: Emulator,
}

fn start_emulators(ui: &Ui) -> Result<Emulators> {
    let sim_bin = simulator_binary()?;
    let t = Instant::now();
    let python = project_python();
    let moto = Emulator::moto(&python).map_err(|e| {
        format!(
            "{}\n  moto comes from the project venv: run `make venv` (or set PEERWATCH_PYTHON to a Python with moto[server])",
            error_chain(&e)
        )
    })?;
    let sim = Emulator::simulator(&sim_bin, &["--transition-ms", SIM_TRANSITION_MS])
        .map_err(|e| error_chain(&e))?;
    println!(
        "  {:<36} {}",
        "moto (DynamoDB, SNS, SQS)",
        ui.bold(moto.endpoint())
    );
    println!(
        "  {:<36} {}",
        "route-server-sim (EC2 route servers)",
        ui.bold(sim.endpoint())
    );
    println!(
        "  {}",
        ui.dim(&format!(
            "started in {:.1} s; logs in target/emulator-logs/",
            t.elapsed().as_secs_f64()
        ))
    );
    Ok(Emulators { moto, sim })
}

/// `target/debug/demo` -> `target/debug/route-server-sim`, unless
/// `ROUTE_SERVER_SIM_BIN` names another.
fn simulator_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ROUTE_SERVER_SIM_BIN") {
        return Ok(PathBuf::from(path));
    }
    sibling_binary("route-server-sim")
}

/// `target/debug/demo` -> `target/debug/NAME`: a binary of the same build.
fn sibling_binary(name: &str) -> Result<PathBuf> {
    let path = peerwatch_testkit::emulators::same_build_binary(name)?;
    if !path.is_file() {
        return Err(format!(
            "no {name} at {}: build it first with `cargo build --workspace --bins` (or run `make demo`)",
            path.display()
        )
        .into());
    }
    Ok(path)
}

// ---------------------------------------------------------------------------------------
// The story

/// One peer of the fleet as the simulator created it.
#[derive(Debug, Clone)]
struct Peer {
    id: String,
    name: String,
    route_server: String,
    address: String,
    asn: i64,
    liveness: String,
}

enum Action {
    /// `POST /_sim/peers/{id}` with this patch; the text says what it does.
    Patch(String, Value, &'static str),
    /// `POST /_sim/peers/{id}/vanish`.
    Vanish(String),
    /// EC2 `DeleteRouteServerPeer`, through the SDK.
    Delete(String),
}

struct Poll {
    title: &'static str,
    actions: Vec<Action>,
    /// What the narration promises: (peers seen, transitions recorded, notifications sent).
    expect: (usize, usize, usize),
    outcome: &'static str,
}

/// The roles peers play, picked by liveness so the BFD case is the keep-alive one.
struct Cast {
    bgp_down: Peer,
    failed: Peer,
    bfd_quiet: Peer,
    flapper: Peer,
    vanisher: Peer,
    deleted: Peer,
}

async fn demo(
    ui: &Ui,
    sim_url: &str,
    cli: &PeerwatchCli,
    run_start: Timestamp,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let sdk = peerwatch_aws::sdk::loader().load().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let sim = Sim::new(sim_url);

    // --- 2. Tables, topic, subscribers -------------------------------------------------
    ui.heading("2. Tables, the alert topic and two subscribers");
    let topic_arn = sns
        .create_topic()
        .name(TOPIC)
        .send()
        .await
        .map_err(sdk_err("SNS CreateTopic"))?
        .topic_arn
        .ok_or("CreateTopic returned no TopicArn")?;
    let queue_url = sqs
        .create_queue()
        .queue_name(QUEUE)
        .send()
        .await
        .map_err(sdk_err("SQS CreateQueue"))?
        .queue_url
        .ok_or("CreateQueue returned no QueueUrl")?;
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(sdk_err("SQS GetQueueAttributes"))?
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .ok_or("GetQueueAttributes returned no QueueArn")?;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .map_err(sdk_err("SNS Subscribe (sqs)"))?;
    let inbox = HttpInbox::start().await?;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("http")
        .endpoint(inbox.url())
        .send()
        .await
        .map_err(sdk_err("SNS Subscribe (http)"))?;

    // The Lambda's settings, parsed by the same code that reads its environment.
    let lambda_env = [
        (config::PEER_STATE_TABLE, STATE_TABLE.to_string()),
        (
            config::PEER_TRANSITIONS_TABLE,
            TRANSITIONS_TABLE.to_string(),
        ),
        (config::ALERT_TOPIC_ARN, topic_arn.clone()),
    ];
    let config = Config::from_lookup(|name| {
        lambda_env
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })?;
    let poller = Poller::new(&sdk, config.clone());
    peerwatch_testkit::tables::create_tables(poller.store()).await?;

    println!(
        "  DynamoDB  {:<16} key RouteServerPeerId",
        ui.bold(STATE_TABLE)
    );
    println!(
        "            {:<16} key RouteServerPeerId + ObservedAt; GSIs ByRouteServer, ByDay, PendingNotifications; TTL on ExpiresAt",
        ui.bold(TRANSITIONS_TABLE)
    );
    println!("  SNS       {}", ui.bold(&topic_arn));
    println!(
        "  SQS       {QUEUE} subscribed (protocol sqs: receives the event JSON, the `sqs` key)"
    );
    println!(
        "  HTTP      {} subscribed (receives the `default` key: the same plain text as email)",
        inbox.url()
    );
    println!();
    println!("  The poller's own settings (the Lambda's environment variables):");
    for (name, value) in &lambda_env {
        println!("    {name:<27} {value}");
    }
    println!(
        "    {:<27} {} (default)",
        config::HISTORY_RETENTION_DAYS,
        config.history_retention_days
    );
    println!(
        "    {:<27} {} (default)",
        config::NOTIFY_MIN_SEVERITY,
        config.notify_min_severity
    );

    // --- 3. Fleet and polls ------------------------------------------------------------
    ui.heading("3. A fleet of 2 route servers x 4 peers, polled six times");
    let fleet = sim.fleet(2, 4)?;
    let peers = sim.peers()?;
    let by_id: HashMap<String, Peer> = peers.iter().map(|p| (p.id.clone(), p.clone())).collect();
    let ordered: Vec<&Peer> = fleet.iter().filter_map(|id| by_id.get(id)).collect();
    let of = |liveness: &str| -> Vec<Peer> {
        ordered
            .iter()
            .filter(|p| p.liveness == liveness)
            .map(|p| (*p).clone())
            .collect()
    };
    let (bfd, keepalive) = (of("bfd"), of("bgp-keepalive"));
    if bfd.len() < 3 || keepalive.len() < 3 {
        return Err(format!(
            "expected 4 bfd and 4 bgp-keepalive peers, the simulator made {} and {}",
            bfd.len(),
            keepalive.len()
        )
        .into());
    }
    let cast = Cast {
        bgp_down: bfd[0].clone(),
        failed: bfd[1].clone(),
        vanisher: bfd[2].clone(),
        bfd_quiet: keepalive[0].clone(),
        flapper: keepalive[1].clone(),
        deleted: keepalive[2].clone(),
    };
    let roles: HashMap<&str, &str> = [
        (
            cast.bgp_down.id.as_str(),
            "BGP down (poll 2), up again (poll 3)",
        ),
        (
            cast.failed.id.as_str(),
            "failed with a reason (poll 2), recovers (poll 4)",
        ),
        (
            cast.bfd_quiet.id.as_str(),
            "BFD down (poll 2), up (poll 4): recorded only",
        ),
        (
            cast.flapper.id.as_str(),
            "flaps: BGP down (poll 3), up (poll 4)",
        ),
        (
            cast.vanisher.id.as_str(),
            "vanishes from the listing (poll 5)",
        ),
        (
            cast.deleted.id.as_str(),
            "deleted with DeleteRouteServerPeer (poll 5)",
        ),
    ]
    .into();
    let route_servers: BTreeSet<(String, String)> = ordered
        .iter()
        .map(|p| {
            let rs_name = p
                .name
                .rsplit_once("-peer-")
                .map_or(String::new(), |(head, _)| head.to_string());
            (rs_name, p.route_server.clone())
        })
        .collect();
    for (name, id) in &route_servers {
        println!("  route server {id}  ({name})");
    }
    println!();
    let rows: Vec<Vec<Cell>> = ordered
        .iter()
        .map(|p| {
            vec![
                Cell::plain(&p.name),
                Cell::plain(&p.id),
                Cell::plain(&p.address),
                Cell::plain(format!("AS{}", p.asn)),
                Cell::plain(&p.liveness),
                Cell::plain(roles.get(p.id.as_str()).copied().unwrap_or("stays healthy")),
            ]
        })
        .collect();
    print_table(
        ui,
        &[
            "NAME",
            "PEER",
            "ADDRESS",
            "ASN",
            "LIVENESS",
            "ROLE IN THIS DEMO",
        ],
        &rows,
    );

    let n = ordered.len();
    let polls = [
        Poll {
            title: "first poll: every peer is new",
            actions: vec![],
            expect: (n, n, 0),
            outcome: "8 peers discovered (info): recorded, nothing to alert",
        },
        Poll {
            title: "a BGP session drops, a peer fails, a keep-alive peer loses BFD",
            actions: vec![
                Action::Patch(
                    cast.bgp_down.id.clone(),
                    json!({"bgpStatus": "down"}),
                    "BGP up -> down",
                ),
                Action::Patch(
                    cast.failed.id.clone(),
                    json!({"state": "failed", "failureReason": "BGP hold timer expired", "bgpStatus": "down"}),
                    "State available -> failed, reason \"BGP hold timer expired\", BGP down",
                ),
                Action::Patch(
                    cast.bfd_quiet.id.clone(),
                    json!({"bfdStatus": "down"}),
                    "BFD up -> down (liveness bgp-keepalive)",
                ),
            ],
            expect: (n, 3, 2),
            outcome: "2 critical alerts (bgp.down, peer.failed); the keep-alive peer's BFD is recorded, not alerted",
        },
        Poll {
            title: "the BGP session comes back; another peer starts to flap",
            actions: vec![
                Action::Patch(
                    cast.bgp_down.id.clone(),
                    json!({"bgpStatus": "up"}),
                    "BGP down -> up",
                ),
                Action::Patch(
                    cast.flapper.id.clone(),
                    json!({"bgpStatus": "down"}),
                    "BGP up -> down",
                ),
            ],
            expect: (n, 2, 2),
            outcome: "1 recovery (bgp.up, in the alert's thread) and 1 critical alert (bgp.down)",
        },
        Poll {
            title: "the flapping peer is back, the failed peer recovers, BFD returns",
            actions: vec![
                Action::Patch(
                    cast.flapper.id.clone(),
                    json!({"bgpStatus": "up"}),
                    "BGP down -> up",
                ),
                Action::Patch(
                    cast.failed.id.clone(),
                    json!({"state": "available", "failureReason": null, "bgpStatus": "up"}),
                    "State failed -> available, reason cleared, BGP up",
                ),
                Action::Patch(
                    cast.bfd_quiet.id.clone(),
                    json!({"bfdStatus": "up"}),
                    "BFD down -> up",
                ),
            ],
            expect: (n, 3, 2),
            outcome: "2 recoveries (bgp.up, peer.recovered); the BFD change is recorded only",
        },
        Poll {
            title: "one peer vanishes, another is deleted through the EC2 API",
            actions: vec![
                Action::Vanish(cast.vanisher.id.clone()),
                Action::Delete(cast.deleted.id.clone()),
            ],
            expect: (n - 1, 2, 1),
            outcome: "1 warning (peer.vanished); the orderly deletion is recorded as info",
        },
        Poll {
            title: "nothing changes",
            actions: vec![],
            expect: (n - 1, 0, 0),
            outcome: "a steady-state poll writes nothing and sends nothing",
        },
    ];

    let first_day = Timestamp::now().day();
    for (i, poll) in polls.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(POLL_GAP).await;
        }
        println!();
        println!(
            "  {} {}",
            ui.bold(&format!("poll {}:", i + 1)),
            ui.bold(poll.title)
        );
        for action in &poll.actions {
            let (how, id, what) = match action {
                Action::Patch(id, patch, what) => {
                    sim.patch(id, patch)?;
                    ("sim", id, *what)
                }
                Action::Vanish(id) => {
                    sim.vanish(id)?;
                    (
                        "sim",
                        id,
                        "vanishes from every listing, without deleting/deleted",
                    )
                }
                Action::Delete(id) => {
                    ec2.delete_route_server_peer()
                        .route_server_peer_id(id)
                        .send()
                        .await
                        .map_err(sdk_err("EC2 DeleteRouteServerPeer"))?;
                    (
                        "ec2",
                        id,
                        "DeleteRouteServerPeer (deleting, then deleted 0.3 s later)",
                    )
                }
            };
            let name = by_id.get(id).map_or("", |p| p.name.as_str());
            println!("    {how}  {id} {:<17}  {what}", format!("({name})"));
        }
        if !poll.actions.is_empty() && i + 1 < polls.len() {
            // Let the simulator's 0.3 s lifecycle steps (deleting -> deleted) settle.
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        let summary = poller.run(RunOptions::default()).await?;
        let got = (
            summary.peers_seen,
            summary.transitions_recorded,
            summary.notifications_sent,
        );
        let verdict = if got == poll.expect {
            ui.green("as expected")
        } else {
            let (s, r, n) = poll.expect;
            problems.push(format!(
                "poll {}: saw {}, expected {s} peers seen, {r} recorded, {n} sent",
                i + 1,
                summary_line(&summary)
            ));
            ui.red(&format!("EXPECTED {s} seen, {r} recorded, {n} sent"))
        };
        println!("    -> {}  [{verdict}]", summary_line(&summary));
        println!("       {}", ui.dim(poll.outcome));
    }

    // --- 4a. History and state ---------------------------------------------------------
    let last_day = Timestamp::now().day();
    let mut days = vec![first_day];
    if last_day != days[0] {
        days.push(last_day);
    }
    let ddb = poller.store().client();
    let mut history = Vec::new();
    for day in &days {
        history.extend(transitions_of_day(ddb, TRANSITIONS_TABLE, day).await?);
    }
    ui.heading(&format!(
        "4a. What was recorded: {TRANSITIONS_TABLE}, Query of index {INDEX_BY_DAY} for Day = {} (oldest first)",
        days.join(", ")
    ));
    let rows: Vec<Vec<Cell>> = history.iter().map(history_row).collect();
    print_table(
        ui,
        &[
            "TIME (UTC)",
            "PEER",
            "KIND",
            "SEVERITY",
            "EVENT",
            "NOTIFICATION",
            "PREV FOR",
            "CHANGES",
        ],
        &rows,
    );
    let expected_total: usize = polls.iter().map(|p| p.expect.1).sum();
    if history.len() != expected_total {
        problems.push(format!(
            "{} transitions in the history, expected {expected_total}",
            history.len()
        ));
    }
    println!(
        "  {}",
        ui.dim(&format!(
            "{} transitions; PREV FOR is how long the previous status lasted (PreviousDurationSeconds)",
            history.len()
        ))
    );

    let mut states = scan_states(ddb, STATE_TABLE).await?;
    states.sort_by_key(tag_name);
    ui.heading(&format!(
        "4b. Current state: {STATE_TABLE} (a Scan: one small item per peer)"
    ));
    let rows: Vec<Vec<Cell>> = states
        .iter()
        .map(|item| {
            let health = s(item, "Health");
            let present = matches!(item.get("Present"), Some(AttributeValue::Bool(true)));
            vec![
                Cell::plain(tag_name(item)),
                Cell::plain(s(item, "RouteServerPeerId")),
                Cell::plain(s(item, "State")),
                Cell::plain(s(item, "BgpStatus")),
                Cell::plain(s(item, "BfdStatus")),
                Cell::plain(s(item, "PeerLivenessDetection")),
                Cell::health(health),
                Cell::plain(if present { "yes" } else { "NO" }),
                Cell::plain(
                    item.get("Version")
                        .and_then(|v| v.as_n().ok())
                        .map_or("", |v| v),
                ),
                Cell::plain(time_of(&s(item, "LastChangedAt"))),
                Cell::plain(s(item, "FailureReason")),
            ]
        })
        .collect();
    print_table(
        ui,
        &[
            "NAME",
            "PEER",
            "STATE",
            "BGP",
            "BFD",
            "LIVENESS",
            "HEALTH",
            "PRESENT",
            "VERSION",
            "LAST CHANGED",
            "FAILURE REASON",
        ],
        &rows,
    );

    // --- 4b. Deliveries ----------------------------------------------------------------
    let deliveries = drain(&sqs, &queue_url).await?;
    ui.heading(&format!(
        "4c. Alerts delivered to the SQS subscriber ({} messages, event JSON v1)",
        deliveries.len()
    ));
    let mut alerts: Vec<(Value, Value)> = deliveries
        .into_iter()
        .map(|envelope| {
            let event = envelope["Message"]
                .as_str()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or(Value::Null);
            (envelope, event)
        })
        .collect();
    alerts.sort_by(|a, b| {
        let key = |e: &Value| {
            (
                e["observedAt"].as_str().unwrap_or_default().to_string(),
                e["routeServerPeerId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        };
        key(&a.1).cmp(&key(&b.1))
    });
    let rows: Vec<Vec<Cell>> = alerts
        .iter()
        .map(|(_, e)| {
            let severity = e["severity"].as_str().unwrap_or_default();
            vec![
                Cell::plain(time_of(e["observedAt"].as_str().unwrap_or_default())),
                Cell::severity(severity),
                Cell::plain(e["event"].as_str().unwrap_or_default()),
                Cell::plain(e["routeServerPeerId"].as_str().unwrap_or_default()),
                Cell::plain(event_changes(e)),
            ]
        })
        .collect();
    let subjects: Vec<String> = alerts
        .iter()
        .map(|(envelope, _)| {
            format!(
                "Subject: {}",
                envelope["Subject"].as_str().unwrap_or("(none)")
            )
        })
        .collect();
    print_table_with_notes(
        ui,
        &["OBSERVED", "SEVERITY", "EVENT", "PEER", "CHANGES"],
        &rows,
        &subjects,
    );
    let attribute_names: BTreeSet<String> = alerts
        .iter()
        .filter_map(|(envelope, _)| envelope["MessageAttributes"].as_object())
        .flat_map(|attrs| attrs.keys().cloned())
        .collect();
    println!(
        "  {}",
        ui.dim(&format!(
            "Message attributes for subscription filter policies: {}",
            attribute_names.into_iter().collect::<Vec<_>>().join(", ")
        ))
    );
    let expected_sent: usize = polls.iter().map(|p| p.expect.2).sum();
    if alerts.len() != expected_sent {
        problems.push(format!(
            "{} messages on the SQS queue, expected {expected_sent}",
            alerts.len()
        ));
    }
    if let Some((_, e)) = alerts
        .iter()
        .find(|(_, e)| e["event"] == "peer.failed")
        .or_else(|| alerts.first())
    {
        println!();
        println!(
            "  One event JSON in full (what `sqs`, `lambda` and `email-json` subscribers get):"
        );
        let pretty = serde_json::to_string_pretty(e)?;
        for line in pretty.lines() {
            println!("    {line}");
        }
    }

    // The plain text of one alert and its recovery, as the HTTP subscriber received it.
    let texts = inbox.messages();
    if texts.len() != expected_sent {
        problems.push(format!(
            "{} messages at the HTTP subscriber, expected {expected_sent}",
            texts.len()
        ));
    }
    ui.heading(
        "4d. The email / SMS text (keys `email` and `default`) of one alert and its recovery",
    );
    println!(
        "  {}",
        ui.dim("Received by the HTTP subscriber, which SNS gives the `default` key; chat (Slack, Teams via Amazon Q Developer) gets the `https` key.")
    );
    for label in ["[CRITICAL]", "[RECOVERY]"] {
        let found = texts.iter().find(|m| {
            let subject = m["Subject"].as_str().unwrap_or_default();
            subject.starts_with(label) && subject.contains(&cast.failed.id)
        });
        match found {
            Some(m) => {
                println!();
                println!(
                    "  {} {}",
                    ui.bold("Subject:"),
                    m["Subject"].as_str().unwrap_or_default()
                );
                for line in m["Message"].as_str().unwrap_or_default().lines() {
                    println!("{}", format!("  | {line}").trim_end());
                }
            }
            None => problems.push(format!(
                "no {label} message for {} at the HTTP subscriber",
                cast.failed.id
            )),
        }
    }

    // --- 4e. The operator CLI ------------------------------------------------------------
    ui.heading("4e. The same tables through the operator CLI, `peerwatch`, as a user runs it");
    problems.extend(cli_section(ui, cli, run_start, &fleet, &cast, &history));

    // --- 5. Real AWS -------------------------------------------------------------------
    let day = days.last().cloned().unwrap_or_default();
    let peer = &cast.failed.id;
    ui.heading("5. The same against real AWS");
    let commands = [
        "# Deploy the stack (function, schedule, tables, topic, alarms) from infra/template.yaml;",
        "# arm64 by default, for x86_64 add --parameter-overrides Architecture=x86_64 to both commands",
        "cd infra && sam build && sam deploy --guided",
        "",
        "# Point the CLI at the stack: AWS_REGION, PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE and",
        "# ALERT_TOPIC_ARN from its CliEnvironment output",
        "eval \"$(aws cloudformation describe-stacks --stack-name peerwatch \\",
        "  --query \"Stacks[0].Outputs[?OutputKey=='CliEnvironment'].OutputValue\" --output text)\"",
        "",
        "# One poll by hand, through the Lambda's code path (--dry-run: detect, write and send nothing;",
        "# `make release` builds the CLI as target/release/peerwatch)",
        "peerwatch poll --dry-run",
        "",
        "# Current state, one peer's history, and 30 days of availability with a timeline picture",
        "peerwatch status",
        &format!("peerwatch history --peer {peer} --since 7d"),
        "peerwatch report --since 30d --svg timeline.svg",
        "",
        "# The same with the AWS CLI: what EC2 says now ...",
        "aws ec2 describe-route-server-peers \\",
        "  --query 'RouteServerPeers[].[RouteServerPeerId,State,BgpStatus.Status,BfdStatus.Status,FailureReason]' --output table",
        "# ... what is down now (the state table is small) ...",
        "aws dynamodb scan --table-name peerwatch-PeerState --filter-expression 'Health = :h' \\",
        "  --expression-attribute-values '{\":h\":{\"S\":\"down\"}}'",
        "# ... one peer's history, newest first ...",
        "aws dynamodb query --table-name peerwatch-PeerTransitions \\",
        "  --key-condition-expression 'RouteServerPeerId = :p' \\",
        &format!(
            "  --expression-attribute-values '{{\":p\":{{\"S\":\"{peer}\"}}}}' --no-scan-index-forward"
        ),
        "# ... everything recorded on one day, oldest first (no Scan) ...",
        "aws dynamodb query --table-name peerwatch-PeerTransitions --index-name ByDay \\",
        "  --key-condition-expression '#d = :d' --expression-attribute-names '{\"#d\":\"Day\"}' \\",
        &format!("  --expression-attribute-values '{{\":d\":{{\"S\":\"{day}\"}}}}'"),
        "# ... notifications still waiting to be sent (the sparse outbox index)",
        "aws dynamodb query --table-name peerwatch-PeerTransitions --index-name PendingNotifications \\",
        "  --key-condition-expression '#p = :p' --expression-attribute-names '{\"#p\":\"Pending\"}' \\",
        "  --expression-attribute-values '{\":p\":{\"S\":\"pending\"}}'",
        "",
        "# Subscribe to the alerts: email (confirm the link AWS sends), or only critical and recovery",
        "# to a queue whose policy lets the topic send (see docs/deploying.md, Subscribing to alerts)",
        "aws sns subscribe --topic-arn \"$ALERT_TOPIC_ARN\" --protocol email --notification-endpoint network-alerts@example.com",
        "aws sns subscribe --topic-arn \"$ALERT_TOPIC_ARN\" --protocol sqs --notification-endpoint QUEUE_ARN \\",
        "  --attributes '{\"FilterPolicy\":\"{\\\"severity\\\":[\\\"critical\\\",\\\"recovery\\\"]}\"}'",
    ];
    for line in commands {
        if line.starts_with('#') {
            println!("  {}", ui.dim(line));
        } else if line.is_empty() {
            println!();
        } else {
            println!("  {line}");
        }
    }
    Ok(problems)
}

/// Section 4e: `status`, `history` and `report` through the real binary, each shown as a user
/// sees it (its table, on this process's stdout) and checked through its `--output json`.
/// Answers what differed from the expected figures.
fn cli_section(
    ui: &Ui,
    cli: &PeerwatchCli,
    run_start: Timestamp,
    fleet: &[String],
    cast: &Cast,
    history: &[Item],
) -> Vec<String> {
    let mut problems = Vec::new();
    println!(
        "  `peerwatch` is {}, started with none of this demo's environment but the shell's",
        shown(&cli.bin).display()
    );
    println!("  (PATH, HOME, proxies) and what a user would export:");
    for line in cli.exports() {
        println!("    {}", ui.dim(&line));
    }

    // status: every peer still listed, and the vanished one apart.
    let present: BTreeSet<String> = fleet
        .iter()
        .filter(|id| **id != cast.vanisher.id)
        .cloned()
        .collect();
    let vanished = BTreeSet::from([cast.vanisher.id.clone()]);
    let args = ["status"];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let (got, gone) = (peer_ids(&doc["peers"]), peer_ids(&doc["vanished"]));
            if got == present && gone == vanished {
                Ok(format!(
                    "{} peers listed, {} vanished",
                    got.len(),
                    gone.len()
                ))
            } else {
                Err(format!(
                    "`peerwatch status` listed {got:?} and vanished {gone:?}, expected {present:?} and {vanished:?}"
                ))
            }
        });
    }
    cli.verdict(ui, verdict, &mut problems);

    // history --limit 8: the 8 newest of what section 4a read from the ByDay index.
    let mut newest: Vec<String> = history.iter().map(|i| s(i, "ObservedAt")).collect();
    newest.sort_unstable_by(|a, b| b.cmp(a));
    newest.truncate(8);
    let args = ["history", "--limit", "8"];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let got: Vec<String> = doc["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["observedAt"].as_str().unwrap_or_default().to_string())
                .collect();
            if got.len() == 8 && doc["count"] == 8 && got == newest && doc["nextToken"].is_string()
            {
                Ok("8 rows, the newest of the 4a history, and a token for the next page".into())
            } else {
                Err(format!(
                    "`peerwatch history --limit 8` gave {} rows (count {}, nextToken {}) observed at {got:?}, expected 8 observed at {newest:?} and a token",
                    got.len(),
                    doc["count"],
                    doc["nextToken"]
                ))
            }
        });
    }
    cli.verdict(ui, verdict, &mut problems);

    // history --peer: the failed peer's own transitions, newest first.
    let peer = cast.failed.id.as_str();
    let events: Vec<String> = history
        .iter()
        .rev()
        .filter(|i| s(i, "RouteServerPeerId") == peer)
        .map(|i| s(i, "Event"))
        .collect();
    let args = ["history", "--peer", peer];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let got: Vec<String> = doc["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["event"].as_str().unwrap_or_default().to_string())
                .collect();
            if got == events && doc["scope"]["id"] == peer {
                Ok(format!("{} transitions: {}", got.len(), got.join(", ")))
            } else {
                Err(format!(
                    "`peerwatch history --peer {peer}` gave events {got:?}, expected {events:?}"
                ))
            }
        });
    }
    cli.verdict(ui, verdict, &mut problems);

    // report: every peer of the fleet observed since the run began; the failed peer had one
    // outage and recovered from it; the SVG has a row per peer.
    let since = run_start.to_string();
    let svg = shown(&cli.svg);
    let svg_arg = svg.display().to_string();
    let args = ["report", "--since", &since, "--svg", &svg_arg];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli
            .json(&["report", "--since", &since])
            .and_then(|doc| {
                let peers = doc["peers"].as_array().cloned().unwrap_or_default();
                let ids = peer_ids(&doc["peers"]);
                let expected: BTreeSet<String> = fleet.iter().cloned().collect();
                let failed = peers
                    .iter()
                    .find(|p| p["routeServerPeerId"] == peer)
                    .cloned()
                    .unwrap_or(Value::Null);
                if ids != expected {
                    return Err(format!(
                        "`peerwatch report` covered {ids:?}, expected the whole fleet {expected:?}"
                    ));
                }
                if failed["outageCount"] != 1
                    || failed["recoveredCount"] != 1
                    || !failed["openOutage"].is_null()
                {
                    return Err(format!(
                        "`peerwatch report`: {peer} had {} outages, {} recovered, open {}; expected 1, 1 and none",
                        failed["outageCount"], failed["recoveredCount"], failed["openOutage"]
                    ));
                }
                Ok(format!(
                    "{} peers; {peer}: 1 outage, recovered in {}",
                    ids.len(),
                    failed["meanTimeToRecoverSeconds"]
                        .as_f64()
                        .map_or_else(|| "-".to_string(), |secs| format!("{secs:.1} s"))
                ))
            })
            .and_then(|figures| {
                let text = std::fs::read_to_string(&cli.svg)
                    .map_err(|e| format!("cannot read {}: {e}", cli.svg.display()))?;
                let rows = text.matches("data-peer-id=\"").count();
                if rows == fleet.len() && text.contains(&format!("data-peer-id=\"{peer}\"")) {
                    Ok(format!("{figures}; timeline with {rows} peer rows"))
                } else {
                    Err(format!(
                        "{} has {rows} peer rows, expected {} including {peer}",
                        cli.svg.display(),
                        fleet.len()
                    ))
                }
            });
    }
    cli.verdict(ui, verdict, &mut problems);
    println!();
    println!(
        "  The timeline picture is at {}; open it in a browser (hover a segment for its times).",
        ui.bold(&cli.svg.display().to_string())
    );
    problems
}

/// The `routeServerPeerId`s of a JSON list of peers.
fn peer_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["routeServerPeerId"].as_str().map(str::to_string))
        .collect()
}

/// `path` relative to the current directory when it is under it (`target/debug/peerwatch`).
fn shown(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

fn summary_line(s: &Summary) -> String {
    let mut line = format!(
        "{}, {}, {}",
        count(s.peers_seen, "peer", "seen"),
        count(s.transitions_recorded, "transition", "recorded"),
        count(s.notifications_sent, "notification", "sent")
    );
    if s.notifications_retried > 0 {
        line.push_str(&format!(", {} retried", s.notifications_retried));
    }
    if s.notifications_pending > 0 {
        line.push_str(&format!(", {} PENDING", s.notifications_pending));
    }
    line.push_str(&format!(" ({} ms)", s.duration_ms));
    line
}

/// `1 notification sent`, `2 notifications sent`.
fn count(n: usize, noun: &str, verb: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{n} {noun}{s} {verb}")
}

// ---------------------------------------------------------------------------------------
// Reading DynamoDB and SQS

async fn transitions_of_day(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    day: &str,
) -> Result<Vec<Item>> {
    let mut pages = ddb
        .query()
        .table_name(table)
        .index_name(INDEX_BY_DAY)
        .key_condition_expression("#d = :d")
        .expression_attribute_names("#d", "Day")
        .expression_attribute_values(":d", AttributeValue::S(day.to_string()))
        .into_paginator()
        .send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_err("DynamoDB Query (ByDay)"))?;
        items.extend(page.items().iter().cloned());
    }
    // The index orders by ObservedAt; one poll's transitions share it, so order those by peer.
    items.sort_by(|a, b| {
        (s(a, "ObservedAt"), s(a, "RouteServerPeerId"))
            .cmp(&(s(b, "ObservedAt"), s(b, "RouteServerPeerId")))
    });
    Ok(items)
}

async fn scan_states(ddb: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>> {
    let mut pages = ddb.scan().table_name(table).into_paginator().send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_err("DynamoDB Scan"))?;
        items.extend(page.items().iter().cloned());
    }
    Ok(items)
}

/// Every message on the queue, as SNS's envelope JSON; each is deleted once read.
async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(sdk_err("SQS ReceiveMessage"))?;
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(out);
        }
        for m in messages {
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(sdk_err("SQS DeleteMessage"))?;
            }
            let body = m.body().unwrap_or_default();
            out.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_string())));
        }
    }
}

fn s(item: &Item, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn tag_name(item: &Item) -> String {
    match item.get("Tags") {
        Some(AttributeValue::M(tags)) => tags
            .get("Name")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// `2026-11-25T19:05:00.123Z` -> `19:05:00.123`.
fn time_of(rfc3339: &str) -> String {
    rfc3339
        .get(11..23)
        .map_or_else(|| rfc3339.to_string(), str::to_string)
}

fn short_field(field: &str) -> &str {
    match field {
        "BgpStatus" => "BGP",
        "BfdStatus" => "BFD",
        other => other,
    }
}

fn history_row(item: &Item) -> Vec<Cell> {
    let kind = s(item, "Kind");
    let mut changes = Vec::new();
    for field in ["State", "BgpStatus", "BfdStatus"] {
        let from = item
            .get(&format!("{field}From"))
            .and_then(|v| v.as_s().ok());
        let to = item.get(&format!("{field}To")).and_then(|v| v.as_s().ok());
        match (from, to) {
            (Some(from), Some(to)) => {
                changes.push(format!("{} {from} -> {to}", short_field(field)))
            }
            (None, Some(to)) => changes.push(format!("{} {to}", short_field(field))),
            (Some(from), None) => changes.push(format!("{} {from} -> (none)", short_field(field))),
            (None, None) => {}
        }
    }
    if kind == "vanished" {
        changes.push("no longer listed".to_string());
    }
    let reason = s(item, "FailureReason");
    if !reason.is_empty() {
        changes.push(format!("reason \"{reason}\""));
    }
    let prev_for = item
        .get("PreviousDurationSeconds")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .map_or_else(|| "-".to_string(), humanise);
    vec![
        Cell::plain(time_of(&s(item, "ObservedAt"))),
        Cell::plain(s(item, "RouteServerPeerId")),
        Cell::plain(kind),
        Cell::severity(&s(item, "Severity")),
        Cell::plain(s(item, "Event")),
        Cell::plain(s(item, "NotificationState")),
        Cell::plain(prev_for),
        Cell::plain(changes.join(", ")),
    ]
}

/// `BGP up -> down; health healthy -> down` from an event JSON.
fn event_changes(e: &Value) -> String {
    let mut parts: Vec<String> = e["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let v = |x: &Value| x.as_str().unwrap_or("(none)").to_string();
            format!(
                "{} {} -> {}",
                short_field(c["field"].as_str().unwrap_or_default()),
                v(&c["from"]),
                v(&c["to"])
            )
        })
        .collect();
    if e["kind"] == "vanished" {
        let peer = &e["peer"];
        let v = |k: &str| peer[k].as_str().unwrap_or("-").to_string();
        parts.push(format!(
            "no longer listed (last known: {}, BGP {}, BFD {})",
            v("state"),
            v("bgpStatus"),
            v("bfdStatus")
        ));
    }
    if let Some(reason) = e["peer"]["failureReason"].as_str() {
        parts.push(format!("reason \"{reason}\""));
    }
    let (from, to) = (&e["health"]["from"], &e["health"]["to"]);
    if from != to {
        parts.push(format!(
            "health {} -> {}",
            from.as_str().unwrap_or("(none)"),
            to.as_str().unwrap_or("(none)")
        ));
    }
    parts.join(", ")
}

fn sdk_err<E>(what: &'static str) -> impl FnOnce(E) -> BoxError
where
    E: Error + 'static,
{
    move |e| format!("{what} failed: {}", DisplayErrorContext(&e)).into()
}

// ---------------------------------------------------------------------------------------
// The operator CLI, run as a separate program

/// The `peerwatch` binary of this build and the environment it is started with: the shell's
/// basics from this process, then only the settings a user would export. Endpoints reach it
/// through `AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SNS` alone.
struct PeerwatchCli {
    bin: PathBuf,
    /// Where `report --svg` writes the timeline: `target/demo-timeline.svg`.
    svg: PathBuf,
    settings: Vec<(&'static str, String)>,
    inherited: Vec<(String, std::ffi::OsString)>,
}

/// What the commands keep from this process's environment: nothing of AWS's.
const SHELL_BASICS: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TERM",
    "NO_COLOR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
];

impl PeerwatchCli {
    fn new(bin: PathBuf, ui: &Ui, sim_url: &str, moto_url: &str) -> PeerwatchCli {
        let target_dir = bin
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
        let settings = vec![
            (config::PEER_STATE_TABLE, STATE_TABLE.to_string()),
            (
                config::PEER_TRANSITIONS_TABLE,
                TRANSITIONS_TABLE.to_string(),
            ),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("AWS_ENDPOINT_URL_EC2", sim_url.to_string()),
            ("AWS_ENDPOINT_URL_DYNAMODB", moto_url.to_string()),
            ("AWS_ENDPOINT_URL_SNS", moto_url.to_string()),
        ];
        let mut inherited: Vec<(String, std::ffi::OsString)> = SHELL_BASICS
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|v| (name.to_string(), v)))
            .collect();
        // The commands colour only on a terminal; where the demo itself does not colour one
        // (TERM=dumb), they do not either.
        if !ui.colour {
            inherited.retain(|(name, _)| name != "NO_COLOR");
            inherited.push(("NO_COLOR".to_string(), "1".into()));
        }
        PeerwatchCli {
            svg: target_dir.join("demo-timeline.svg"),
            bin,
            settings,
            inherited,
        }
    }

    /// The settings as `export` lines a user would type.
    fn exports(&self) -> Vec<String> {
        let group = |names: &[&str]| {
            let pairs: Vec<String> = self
                .settings
                .iter()
                .filter(|(name, _)| names.contains(name))
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            format!("export {}", pairs.join(" "))
        };
        vec![
            group(&[
                config::PEER_STATE_TABLE,
                config::PEER_TRANSITIONS_TABLE,
                "AWS_REGION",
            ]),
            group(&["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
            group(&["AWS_ENDPOINT_URL_EC2"]),
            group(&["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS"]),
        ]
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args).env_clear();
        command.envs(self.inherited.iter().map(|(k, v)| (k, v)));
        command.envs(self.settings.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Prints `$ peerwatch ARGS` dimmed, then runs it on this process's stdout and stderr, so
    /// its table is coloured when they are a terminal. A problem unless it exits 0.
    fn show(&self, ui: &Ui, args: &[&str]) -> Result<String, String> {
        let line = format!("peerwatch {}", args.join(" "));
        println!();
        println!("  {}", ui.dim(&format!("$ {line}")));
        let _ = std::io::stdout().flush();
        let status = tokio::task::block_in_place(|| {
            self.command(args)
                .stdin(Stdio::null())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit())
                .status()
        })
        .map_err(|e| format!("`{line}` could not start: {e}"))?;
        match status.code() {
            Some(0) => Ok(String::new()),
            Some(code) => Err(format!("`{line}` exited with {code}, expected 0")),
            None => Err(format!("`{line}` was ended by a signal ({status})")),
        }
    }

    /// Runs `peerwatch ARGS --output json` quietly and answers its document.
    fn json(&self, args: &[&str]) -> Result<Value, String> {
        let line = format!("peerwatch {} --output json", args.join(" "));
        let out = tokio::task::block_in_place(|| {
            self.command(args)
                .args(["--output", "json"])
                .stdin(Stdio::null())
                .output()
        })
        .map_err(|e| format!("`{line}` could not start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`{line}` ended with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("`{line}` printed something other than JSON: {e}"))
    }

    /// `-> exit 0; FIGURES  [as expected]`, or the problem in red (and kept).
    fn verdict(&self, ui: &Ui, verdict: Result<String, String>, problems: &mut Vec<String>) {
        match verdict {
            Ok(figures) => println!(
                "  -> exit 0; checked with --output json: {figures}  [{}]",
                ui.green("as expected")
            ),
            Err(problem) => {
                println!("  -> {}", ui.red(&problem));
                problems.push(problem);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The simulator's control API and an HTTP subscriber

struct Sim {
    base: String,
    agent: ureq::Agent,
}

impl Sim {
    fn new(base: &str) -> Sim {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Sim {
            base: base.trim_end_matches('/').to_string(),
            agent,
        }
    }

    /// One control call; answers the JSON body of a 200.
    fn call(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        // A blocking call on a runtime worker: tell tokio, so other tasks move elsewhere.
        tokio::task::block_in_place(|| {
            let response = match body {
                Some(b) => self.agent.post(&url).send_json(b),
                None if path == "/_sim/peers" => self.agent.get(&url).call(),
                None => self.agent.post(&url).send_empty(),
            }
            .map_err(|e| format!("simulator control call {path}: {e}"))?;
            let status = response.status().as_u16();
            let text = response
                .into_body()
                .read_to_string()
                .map_err(|e| format!("simulator control call {path}: {e}"))?;
            if status != 200 {
                return Err(
                    format!("simulator control call {path} answered {status}: {text}").into(),
                );
            }
            Ok(serde_json::from_str(&text)?)
        })
    }

    fn fleet(&self, route_servers: u32, peers_per_route_server: u32) -> Result<Vec<String>> {
        let body = json!({"routeServers": route_servers, "peersPerRouteServer": peers_per_route_server, "seed": 7});
        let answer = self.call("/_sim/fleet", Some(&body))?;
        Ok(serde_json::from_value(
            answer["routeServerPeerIds"].clone(),
        )?)
    }

    fn peers(&self) -> Result<Vec<Peer>> {
        let answer = self.call("/_sim/peers", None)?;
        let text = |p: &Value, k: &str| p[k].as_str().unwrap_or_default().to_string();
        Ok(answer
            .as_array()
            .ok_or("GET /_sim/peers did not answer a list")?
            .iter()
            .map(|p| Peer {
                id: text(p, "routeServerPeerId"),
                name: p["tags"]["Name"].as_str().unwrap_or_default().to_string(),
                route_server: text(p, "routeServerId"),
                address: text(p, "peerAddress"),
                asn: p["peerAsn"].as_i64().unwrap_or_default(),
                liveness: text(p, "peerLivenessDetection"),
            })
            .collect())
    }

    fn patch(&self, id: &str, patch: &Value) -> Result<()> {
        self.call(&format!("/_sim/peers/{id}"), Some(patch))
            .map(drop)
    }

    fn vanish(&self, id: &str) -> Result<()> {
        self.call(&format!("/_sim/peers/{id}/vanish"), None)
            .map(drop)
    }
}

/// A loopback HTTP endpoint subscribed to the topic: it keeps every SNS notification posted
/// to it (moto delivers them as AWS does, one JSON document per POST).
struct HttpInbox {
    url: String,
    received: Arc<Mutex<Vec<Value>>>,
}

impl HttpInbox {
    async fn start() -> Result<HttpInbox> {
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let store = received.clone();
        let app = axum::Router::new().route(
            "/sns",
            axum::routing::post(move |body: axum::body::Bytes| {
                let store = store.clone();
                async move {
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        store.lock().unwrap_or_else(|p| p.into_inner()).push(v);
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/sns", listener.local_addr()?);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("demo: the HTTP subscriber stopped: {e}");
            }
        });
        Ok(HttpInbox { url, received })
    }

    fn url(&self) -> &str {
        &self.url
    }

    fn messages(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

// ---------------------------------------------------------------------------------------
// Output: aligned columns, colour only on a terminal

#[derive(Clone, Copy)]
struct Ui {
    colour: bool,
}

impl Ui {
    fn detect() -> Ui {
        let colour = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var("TERM").map_or(true, |t| t != "dumb");
        Ui { colour }
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.colour && !sgr.is_empty() {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    fn heading(&self, text: &str) {
        println!();
        println!("{}", self.bold(&format!("== {text}")));
    }
}

struct Cell {
    text: String,
    /// An SGR code, applied on a terminal only.
    sgr: &'static str,
}

impl Cell {
    fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            sgr: "",
        }
    }

    fn severity(severity: &str) -> Cell {
        let sgr = match severity {
            "critical" => "1;31",
            "warning" => "33",
            "recovery" => "32",
            _ => "",
        };
        Cell {
            text: severity.to_string(),
            sgr,
        }
    }

    fn health(health: String) -> Cell {
        let sgr = match health.as_str() {
            "down" => "1;31",
            "degraded" => "33",
            "healthy" => "32",
            _ => "",
        };
        Cell { text: health, sgr }
    }
}

fn print_table(ui: &Ui, header: &[&str], rows: &[Vec<Cell>]) {
    print_table_with_notes(ui, header, rows, &[]);
}

/// Two-space gutters, every column as wide as its widest cell; `notes[i]`, when given, is
/// printed under row `i`, starting at the second column.
fn print_table_with_notes(ui: &Ui, header: &[&str], rows: &[Vec<Cell>], notes: &[String]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.text.chars().count());
        }
    }
    let line = |cells: Vec<(String, &str)>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::from("  ");
        for (i, (text, sgr)) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(text.chars().count());
            out.push_str(&ui.paint(sgr, &text));
            if i < last {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|h| (h.to_string(), "2")).collect());
    for (i, row) in rows.iter().enumerate() {
        line(row.iter().map(|c| (c.text.clone(), c.sgr)).collect());
        if let Some(note) = notes.get(i) {
            println!("  {}{}", " ".repeat(widths[0] + 2), ui.dim(note));
        }
    }
}
