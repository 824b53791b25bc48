//! `make demo`: peerwatch's main job end to end, on local emulators, with no AWS account.
//!
//! It starts moto (DynamoDB, SNS, SQS) and `route-server-sim` (EC2's route-server API) on
//! free loopback ports, points the AWS SDK at them through nothing but its standard
//! settings (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SNS`),
//! creates the two tables and an alert topic, and runs `Poller::run` (the code path of the
//! Lambda and of `peerwatch poll`) 14 times while peers of a small fleet break, flap,
//! recover, vanish and are deleted. Between two of those polls two BFD peers flap for 8
//! seconds: the simulator's peer log records of one of them are handed to the log consumer as
//! CloudWatch Logs hands them (an `awslogs` payload, through the Lambda handler), and the flap
//! is recorded at both of its times and alerted; the other has no peer logs, and the polls see
//! nothing of its flap. Then, on an edge route server with persist-routes and
//! two firewalls, the default route fails over and back, a prefix is lost and restored, and
//! every session drops so the routes are persisted until the live ones take over again. At
//! the end it shows the recorded history (a `Query` of the `ByDay` index) of the peers and of
//! the routes, the current `PeerState` with the FIB as recorded, every alert delivered to an
//! SQS subscriber, and the plain text an email subscriber gets. Then it runs the operator
//! CLI, the real `peerwatch` binary, on the same tables as a user would (`status`, `history`,
//! `report` with an SVG timeline, `routes`, `history --prefix`), checks what those
//! commands answer, and sets the two flapping peers side by side: recorded, alerted and
//! counted in the report with peer logs; invisible, at 100 % availability, without.
//!
//! The simulator and the CLI are looked for next to this executable
//! (`target/debug/route-server-sim` and `target/debug/peerwatch` beside
//! `target/debug/demo`), the simulator also at `ROUTE_SERVER_SIM_BIN`; moto runs on
//! the project venv's Python (`make venv`), or `PEERWATCH_PYTHON`. Exit status 0 means every
//! poll and every command did what the narration says it should.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::error::Error;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;
use lambda_runtime::{Context, LambdaEvent};
use peerwatch_aws::config::{self, Config};
use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_aws::peer_logs::LogSummary;
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
/// How long the flap between two polls lasts, by the simulator's clock: a BFD failover and
/// recovery, well inside the minute between two polls.
const FLAP_SECONDS: u64 = 8;
/// The heading of the routing story: the edge route server's FIB is shown after its polls.
const ROUTING_STORY: &str = "3b. Where traffic goes: the edge route server's FIB fails over, loses a prefix, persists its routes";

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
    /// `POST /_sim/peers/{id}/routes`: what the peer advertises from now on.
    Advertise(String, Value, &'static str),
    /// `POST /_sim/clock`: the simulator's clock moves ahead this many seconds.
    Clock(u64, &'static str),
    /// `POST /_sim/peers/{id}/vanish`.
    Vanish(String),
    /// EC2 `DeleteRouteServerPeer`, through the SDK.
    Delete(String),
    /// Both peers lose BFD and BGP at once and get them back `FLAP_SECONDS` later by the
    /// simulator's clock; the first one's peer log records go to the log consumer.
    Flap { logged: Peer, unlogged: Peer },
}

/// What the narration promises of one poll.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Expect {
    peers_seen: usize,
    /// Peers' transitions recorded.
    peers: usize,
    /// Route servers', endpoints', routes' and advertisements' transitions recorded.
    routing: usize,
    sent: usize,
}

const fn expect(peers_seen: usize, peers: usize, routing: usize, sent: usize) -> Expect {
    Expect {
        peers_seen,
        peers,
        routing,
        sent,
    }
}

impl Expect {
    fn of(s: &Summary) -> Expect {
        expect(
            s.peers_seen,
            s.transitions_recorded,
            s.routing_transitions_recorded,
            s.notifications_sent,
        )
    }

    fn text(&self) -> String {
        format!(
            "{} seen, {} + {} recorded, {} sent",
            self.peers_seen, self.peers, self.routing, self.sent
        )
    }
}

struct Poll {
    title: &'static str,
    /// A section heading printed before it.
    opens: Option<&'static str>,
    actions: Vec<Action>,
    expect: Expect,
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
    /// The two BFD peers of the flap between polls: with peer logs, and without.
    logged: Peer,
    unlogged: Peer,
}

/// The edge route server's two prefixes: a default route through either firewall (fw-a's AS
/// path is shorter, so it is preferred) and a site network behind fw-b alone.
const DEFAULT_ROUTE: &str = "0.0.0.0/0";
const SITE_PREFIX: &str = "192.168.50.0/24";
const EDGE_NAME: &str = "edge-rs";
const EDGE_VPC: &str = "vpc-0e1d9e5a0c0ffee01";
const EDGE_TABLES: [&str; 2] = ["rtb-0e1d9e5a0c0ffee0a", "rtb-0e1d9e5a0c0ffee0b"];

/// The route server the routing story happens on, set up through the EC2 API as a user would:
/// persist-routes on (1 minute), one endpoint, two firewalls, two propagated route tables.
struct Edge {
    route_server: String,
    endpoint: String,
    /// Preferred for the default route.
    fw_a: Peer,
    /// The default route's backup, and the only peer advertising the site prefix.
    fw_b: Peer,
}

impl Edge {
    fn advertised_a() -> Value {
        json!([{"prefix": DEFAULT_ROUTE, "asPaths": [65010]}])
    }

    fn advertised_b(with_site: bool) -> Value {
        let mut routes = vec![json!({"prefix": DEFAULT_ROUTE, "asPaths": [65020, 65020]})];
        if with_site {
            routes.push(json!({"prefix": SITE_PREFIX, "asPaths": [65020]}));
        }
        Value::Array(routes)
    }

    /// `route#<rs-id>#<prefix>`: the key of a route's items in both tables.
    fn key(&self, prefix: &str) -> String {
        peerwatch_core::fabric::route_key(&self.route_server, prefix)
    }
}

async fn build_edge(ui: &Ui, ec2: &aws_sdk_ec2::Client, sim: &Sim) -> Result<Edge> {
    use aws_sdk_ec2::types::{
        ResourceType, RouteServerBgpOptionsRequest, RouteServerPeerLivenessMode,
        RouteServerPersistRoutesAction, Tag, TagSpecification,
    };
    let name = |resource: ResourceType, name: &str| {
        TagSpecification::builder()
            .resource_type(resource)
            .tags(Tag::builder().key("Name").value(name).build())
            .build()
    };
    let step = |call: &str, what: String| println!("    ec2  {call:<29} {what}");
    let rs = ec2
        .create_route_server()
        .amazon_side_asn(65000)
        .persist_routes(RouteServerPersistRoutesAction::Enable)
        .persist_routes_duration(1)
        .tag_specifications(name(ResourceType::RouteServer, EDGE_NAME))
        .send()
        .await
        .map_err(sdk_err("EC2 CreateRouteServer"))?
        .route_server
        .and_then(|r| r.route_server_id)
        .ok_or("CreateRouteServer returned no RouteServerId")?;
    step(
        "CreateRouteServer",
        format!("{rs} ({EDGE_NAME}, AS65000, persist-routes enabled for 1 minute)"),
    );
    ec2.associate_route_server()
        .route_server_id(&rs)
        .vpc_id(EDGE_VPC)
        .send()
        .await
        .map_err(sdk_err("EC2 AssociateRouteServer"))?;
    step("AssociateRouteServer", EDGE_VPC.to_string());
    let ep = ec2
        .create_route_server_endpoint()
        .route_server_id(&rs)
        .subnet_id("subnet-0e1d9e5a0c0ffee01")
        .tag_specifications(name(
            ResourceType::RouteServerEndpoint,
            &format!("{EDGE_NAME}-ep-0"),
        ))
        .send()
        .await
        .map_err(sdk_err("EC2 CreateRouteServerEndpoint"))?
        .route_server_endpoint
        .ok_or("CreateRouteServerEndpoint returned no endpoint")?;
    let endpoint = ep.route_server_endpoint_id.clone().unwrap_or_default();
    let eni_address = ep.eni_address.clone().unwrap_or_default();
    step(
        "CreateRouteServerEndpoint",
        format!("{endpoint} (ENI address {eni_address})"),
    );
    for table in EDGE_TABLES {
        ec2.enable_route_server_propagation()
            .route_server_id(&rs)
            .route_table_id(table)
            .send()
            .await
            .map_err(sdk_err("EC2 EnableRouteServerPropagation"))?;
    }
    step("EnableRouteServerPropagation", EDGE_TABLES.join(", "));
    // The firewalls sit beside the endpoint, in its subnet.
    let subnet = eni_address
        .rsplit_once('.')
        .map_or("10.99.0", |(head, _)| head)
        .to_string();
    let mut peers = Vec::new();
    for (fw, host, asn) in [("fw-a", 10, 65010), ("fw-b", 11, 65020)] {
        let address = format!("{subnet}.{host}");
        let id = ec2
            .create_route_server_peer()
            .route_server_endpoint_id(&endpoint)
            .peer_address(&address)
            .bgp_options(
                RouteServerBgpOptionsRequest::builder()
                    .peer_asn(asn)
                    .peer_liveness_detection(RouteServerPeerLivenessMode::Bfd)
                    .build(),
            )
            .tag_specifications(name(ResourceType::RouteServerPeer, fw))
            .send()
            .await
            .map_err(sdk_err("EC2 CreateRouteServerPeer"))?
            .route_server_peer
            .and_then(|p| p.route_server_peer_id)
            .ok_or("CreateRouteServerPeer returned no RouteServerPeerId")?;
        step(
            "CreateRouteServerPeer",
            format!("{id} ({fw}, {address}, AS{asn}, BFD)"),
        );
        peers.push(Peer {
            id,
            name: fw.to_string(),
            route_server: rs.clone(),
            address,
            asn,
            liveness: "bfd".to_string(),
        });
    }
    let [fw_a, fw_b]: [Peer; 2] = peers
        .try_into()
        .map_err(|_| "expected two firewall peers")?;
    let edge = Edge {
        route_server: rs,
        endpoint,
        fw_a,
        fw_b,
    };
    // Everything is `pending` for the simulator's 0.3 s, then `available`.
    tokio::time::sleep(Duration::from_millis(400)).await;
    // A new peer's sessions are down until the firewall connects: the simulator stands in for
    // the firewalls, bringing their sessions up and advertising their routes.
    sim.patch_many(&[
        (&edge.fw_a.id, json!({"bgpStatus": "up", "bfdStatus": "up"})),
        (&edge.fw_b.id, json!({"bgpStatus": "up", "bfdStatus": "up"})),
    ])?;
    sim.advertise(&edge.fw_a.id, &Edge::advertised_a())?;
    sim.advertise(&edge.fw_b.id, &Edge::advertised_b(true))?;
    println!(
        "    sim  {:<29} {}",
        "BGP and BFD up, routes",
        ui.dim("(the simulator stands in for the firewalls)")
    );
    Ok(edge)
}

/// What section 3a saw of the flap between two polls, for section 4g to set side by side.
struct Flap {
    logged: Peer,
    unlogged: Peer,
    /// The number of the poll before it.
    after_poll: usize,
    /// The simulator's stamps of the drop and of the return, Unix milliseconds.
    down_ms: i64,
    up_ms: i64,
    /// The logged peer's records, handed to the consumer; the other's, delivered nowhere.
    delivered: usize,
    undelivered: usize,
    summary: LogSummary,
    problems: Vec<String>,
}

/// What the handler must answer for the logged peer's four records: two changes (BFD and BGP
/// down at one instant, both up at another), each alerted.
const FLAP_EXPECTED: (usize, usize, usize, usize) = (4, 0, 2, 2);

/// Section 3a before its poll: two BFD peers lose BFD and BGP at once and get both back
/// `FLAP_SECONDS` later by the simulator's clock. The logged peer's records, read from the
/// simulator, go to the Lambda handler as a CloudWatch Logs subscription payload; the other
/// peer has no peer logging, so nothing of its flap is delivered anywhere. `poll` is the
/// index of the poll that follows.
async fn flap_between_polls(
    ui: &Ui,
    sim: &Sim,
    poller: &Poller,
    logged: &Peer,
    unlogged: &Peer,
    poll: usize,
) -> Result<Flap> {
    let mut problems = Vec::new();
    let row = |how: &str, peer: &Peer, what: &str| {
        println!(
            "    {how}  {} {:<19}  {what}",
            peer.id,
            format!("({})", peer.name)
        )
    };
    println!(
        "  {}",
        ui.dim(&format!(
            "Peer logging is per peer (a delivery source each, as `peerwatch logging enable --peer` sets up): {} has it, {} has not.",
            logged.name, unlogged.name
        ))
    );
    println!(
        "  {}",
        ui.dim("There is no CloudWatch Logs here: the demo reads the records the simulator wrote and delivers them as the stack's subscription filter would.")
    );
    println!();
    println!(
        "  {}",
        ui.bold(&format!("between poll {poll} and poll {}:", poll + 1))
    );
    let mark = sim.now_ms()?;
    let both = |status: &str| {
        let patch = json!({"bfdStatus": status, "bgpStatus": status});
        [(&logged.id, patch.clone()), (&unlogged.id, patch)]
    };
    sim.patch_many(&both("down"))?;
    for peer in [logged, unlogged] {
        row(
            "sim",
            peer,
            "BFD up -> down and BGP up -> down (liveness bfd: the session goes with BFD)",
        );
    }
    sim.advance_clock(FLAP_SECONDS)?;
    println!("    sim  the simulator's clock moves {FLAP_SECONDS} s ahead");
    sim.patch_many(&both("up"))?;
    for peer in [logged, unlogged] {
        row("sim", peer, "BFD down -> up and BGP down -> up");
    }

    let records = sim.peer_logs(mark)?;
    let of = |peer: &Peer| -> Vec<Value> {
        let arn_end = format!("/{}", peer.id);
        records
            .iter()
            .filter(|r| {
                r["resource_arn"]
                    .as_str()
                    .is_some_and(|a| a.ends_with(&arn_end))
            })
            .cloned()
            .collect()
    };
    let (delivered, undelivered) = (of(logged), of(unlogged));
    let shape = |rs: &[Value]| -> Vec<(String, String)> {
        rs.iter()
            .map(|r| {
                let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (text("type"), text("status"))
            })
            .collect()
    };
    let want: Vec<(String, String)> = [
        ("BFDStatus", "DOWN"),
        ("BGPStatus", "DOWN"),
        ("BFDStatus", "UP"),
        ("BGPStatus", "UP"),
    ]
    .iter()
    .map(|(t, s)| (t.to_string(), s.to_string()))
    .collect();
    if shape(&delivered) != want || shape(&undelivered) != want {
        return Err(format!(
            "GET /_sim/peer-logs?since={mark}: expected BFD and BGP down, then up, for each of {} and {}; got {:?} and {:?}",
            logged.id,
            unlogged.id,
            shape(&delivered),
            shape(&undelivered)
        )
        .into());
    }
    let stamp = |r: &Value| r["event_timestamp"].as_i64().unwrap_or_default();
    let (down_ms, up_ms) = (stamp(&delivered[0]), stamp(&delivered[2]));
    if up_ms - down_ms < FLAP_SECONDS as i64 * 1000 {
        problems.push(format!(
            "the flap's records are {} ms apart, expected at least {FLAP_SECONDS} s",
            up_ms - down_ms
        ));
    }
    println!(
        "    sim  GET /_sim/peer-logs?since={mark}: {} records, 4 a peer: BFDStatus and BGPStatus DOWN at {}, UP at {} ({:.3} s later)",
        records.len(),
        time_of(&rfc3339(down_ms)),
        time_of(&rfc3339(up_ms)),
        (up_ms - down_ms) as f64 / 1000.0
    );
    for r in &delivered {
        println!("           {}", ui.dim(&r.to_string()));
    }
    let payload = peerwatch_testkit::awslogs::payload(&delivered);
    let packed = payload["awslogs"]["data"].as_str().map_or(0, str::len);
    row(
        "log",
        logged,
        &format!(
            "its 4 records as CloudWatch Logs delivers them: {{\"awslogs\": {{\"data\": {packed} characters of base64 of gzip}}}}, one log event each"
        ),
    );
    row(
        "log",
        unlogged,
        "no peer logging: its 4 records are delivered nowhere",
    );

    // The Lambda handler, invoked as the log consumer's function is: it tells a subscription
    // payload from a schedule by its `awslogs` key.
    let answer =
        peerwatch_poller::handler::handle(poller, LambdaEvent::new(payload, Context::default()))
            .await
            .map_err(|e| format!("the log consumer failed: {}", error_chain(&e)))?;
    let summary = answer
        .peer_logs()
        .ok_or("the handler answered a poll's summary to a CloudWatch Logs payload")?;
    let got = (
        summary.records_received,
        summary.records_skipped,
        summary.changes_recorded,
        summary.notifications_sent,
    );
    let verdict = if got == FLAP_EXPECTED {
        ui.green("as expected")
    } else {
        let text = |(r, s, c, n): (usize, usize, usize, usize)| {
            format!("{r} received, {s} skipped, {c} changes recorded, {n} sent")
        };
        problems.push(format!(
            "the log consumer saw {}, expected {}",
            text(got),
            text(FLAP_EXPECTED)
        ));
        ui.red(&format!("EXPECTED {}", text(FLAP_EXPECTED)))
    };
    println!(
        "    -> the handler, as the log consumer's Lambda is invoked: {} records received, {} skipped, {} changes recorded (Source=log), {} ({} ms)  [{verdict}]",
        summary.records_received,
        summary.records_skipped,
        summary.changes_recorded,
        count(summary.notifications_sent, "notification", "sent"),
        summary.duration_ms
    );

    // Read back: the flap at both of its records' own times.
    let recorded: Vec<Item> = transitions_of_peer(
        poller.store().client(),
        poller.store().transitions_table(),
        &logged.id,
        &rfc3339(down_ms),
    )
    .await?
    .into_iter()
    .filter(|i| s(i, "Source") == "log")
    .collect();
    let rows: Vec<(String, String, String, String)> = recorded
        .iter()
        .map(|i| {
            (
                s(i, "ObservedAt"),
                s(i, "Event"),
                s(i, "Severity"),
                s(i, "NotificationState"),
            )
        })
        .collect();
    let expected = vec![
        (
            rfc3339(down_ms),
            "bgp.down".to_string(),
            "critical".to_string(),
            "sent".to_string(),
        ),
        (
            rfc3339(up_ms),
            "bgp.up".to_string(),
            "recovery".to_string(),
            "sent".to_string(),
        ),
    ];
    if rows != expected {
        problems.push(format!(
            "{}'s log history is {rows:?}, expected {expected:?}",
            logged.id
        ));
    }
    let down_for = recorded
        .last()
        .map(|i| num(i, "PreviousDurationSeconds"))
        .unwrap_or_default();
    println!(
        "       {}",
        ui.dim(&format!(
            "recorded for {} at the records' own times (Source=log): {}; down for {down_for}s",
            logged.name,
            rows.iter()
                .map(|(at, event, severity, sent)| format!(
                    "{} {event} {severity}, {sent}",
                    time_of(at)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    );
    println!(
        "       {}",
        ui.dim(&format!(
            "(the simulator's clock now runs {FLAP_SECONDS} s ahead of the poller's, so the return is stamped later than the next polls; in an account both are the wall clock)"
        ))
    );
    Ok(Flap {
        logged: logged.clone(),
        unlogged: unlogged.clone(),
        after_poll: poll,
        down_ms,
        up_ms,
        delivered: delivered.len(),
        undelivered: undelivered.len(),
        summary,
        problems,
    })
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
    ui.heading(
        "3. A fleet of 2 route servers x 5 peers and an edge route server with two firewalls, polled 14 times",
    );
    let fleet = sim.fleet(2, 5)?;
    println!("  The edge route server, set up through the EC2 API as in an account:");
    let edge = build_edge(ui, &ec2, &sim).await?;
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
    let (mut bfd, keepalive) = (of("bfd"), of("bgp-keepalive"));
    if bfd.len() < 5 || keepalive.len() < 3 {
        return Err(format!(
            "expected 5 bfd and 5 bgp-keepalive peers, the simulator made {} and {}",
            bfd.len(),
            keepalive.len()
        )
        .into());
    }
    // The last two BFD peers flap between polls; the others play the rest of the story.
    let flappers = bfd.split_off(bfd.len() - 2);
    let cast = Cast {
        bgp_down: bfd[0].clone(),
        failed: bfd[1].clone(),
        vanisher: bfd[2].clone(),
        bfd_quiet: keepalive[0].clone(),
        flapper: keepalive[1].clone(),
        deleted: keepalive[2].clone(),
        logged: flappers[0].clone(),
        unlogged: flappers[1].clone(),
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
        (
            cast.logged.id.as_str(),
            "BFD and BGP down for 8 s between polls 5 and 6; peer logs on",
        ),
        (
            cast.unlogged.id.as_str(),
            "the same flap at the same moments; no peer logs",
        ),
        (
            edge.fw_a.id.as_str(),
            "0.0.0.0/0, AS path 65010 (preferred); BGP down (polls 7, 11), up (8, 12)",
        ),
        (
            edge.fw_b.id.as_str(),
            "0.0.0.0/0, AS path 65020 65020 (backup), and 192.168.50.0/24 alone; withdraws it (9), again (10); BGP down (11), up (12)",
        ),
    ]
    .into();
    println!();
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
        println!("  route server {id}  ({name}: no routes)");
    }
    println!(
        "  route server {}  ({EDGE_NAME}: endpoint {}, propagates to {})",
        edge.route_server,
        edge.endpoint,
        EDGE_TABLES.join(" and ")
    );
    println!();
    let all_peers: Vec<&Peer> = ordered
        .iter()
        .copied()
        .chain([&edge.fw_a, &edge.fw_b])
        .collect();
    let rows: Vec<Vec<Cell>> = all_peers
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

    let n = all_peers.len();
    let (fw_a, fw_b) = (&edge.fw_a.id, &edge.fw_b.id);
    let polls = [
        Poll {
            title: "first poll: everything is new",
            opens: None,
            actions: vec![],
            // 3 route servers (with what each peer advertises), 5 endpoints, 2 routes.
            expect: expect(n, n, 10, 0),
            outcome: "12 peers, 3 route servers (each with what its peers advertise), 5 endpoints and 2 routes discovered (info): recorded, nothing to alert",
        },
        Poll {
            title: "a BGP session drops, a peer fails, a keep-alive peer loses BFD",
            opens: None,
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
            expect: expect(n, 3, 0, 2),
            outcome: "2 critical alerts (bgp.down, peer.failed); the keep-alive peer's BFD is recorded, not alerted",
        },
        Poll {
            title: "the BGP session comes back; another peer starts to flap",
            opens: None,
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
            expect: expect(n, 2, 0, 2),
            outcome: "1 recovery (bgp.up, in the alert's thread) and 1 critical alert (bgp.down)",
        },
        Poll {
            title: "the flapping peer is back, the failed peer recovers, BFD returns",
            opens: None,
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
            expect: expect(n, 3, 0, 2),
            outcome: "2 recoveries (bgp.up, peer.recovered); the BFD change is recorded only",
        },
        Poll {
            title: "one peer vanishes, another is deleted through the EC2 API",
            opens: None,
            actions: vec![
                Action::Vanish(cast.vanisher.id.clone()),
                Action::Delete(cast.deleted.id.clone()),
            ],
            expect: expect(n - 1, 2, 0, 1),
            outcome: "1 warning (peer.vanished); the orderly deletion is recorded as info",
        },
        Poll {
            title: "the next poll: both flapping peers are up, as they were at poll 5",
            opens: Some(
                "3a. Between polls: an 8-second BFD flap of two peers, one with peer logs, one without",
            ),
            actions: vec![Action::Flap {
                logged: cast.logged.clone(),
                unlogged: cast.unlogged.clone(),
            }],
            expect: expect(n - 1, 0, 0, 0),
            outcome: "nothing to record: the logged flap is recorded already, and of the other the polls saw nothing at all",
        },
        Poll {
            title: "the preferred firewall's BGP session drops",
            opens: Some(ROUTING_STORY),
            actions: vec![Action::Patch(
                fw_a.clone(),
                json!({"bgpStatus": "down"}),
                "BGP up -> down: its 0.0.0.0/0 is withdrawn, fw-b's is best",
            )],
            expect: expect(n - 1, 1, 1, 2),
            outcome: "1 critical alert (bgp.down) and 1 warning (route.failover: 0.0.0.0/0 from fw-a to fw-b)",
        },
        Poll {
            title: "it comes back: the default route fails back",
            opens: None,
            actions: vec![Action::Patch(
                fw_a.clone(),
                json!({"bgpStatus": "up"}),
                "BGP down -> up: its shorter AS path is best again",
            )],
            expect: expect(n - 1, 1, 1, 2),
            outcome: "1 recovery (bgp.up) and 1 warning (route.failover: 0.0.0.0/0 from fw-b back to fw-a)",
        },
        Poll {
            title: "the backup firewall stops advertising its site",
            opens: None,
            actions: vec![Action::Advertise(
                fw_b.clone(),
                Edge::advertised_b(false),
                "advertises 0.0.0.0/0 only: 192.168.50.0/24 is withdrawn, and no one else has it",
            )],
            expect: expect(n - 1, 0, 2, 1),
            outcome: "1 critical alert (route.lost: 192.168.50.0/24 has no route in the FIB); fw-b's advertisement 2 -> 1 routes is recorded (info)",
        },
        Poll {
            title: "the site is advertised again",
            opens: None,
            actions: vec![Action::Advertise(
                fw_b.clone(),
                Edge::advertised_b(true),
                "advertises 0.0.0.0/0 and 192.168.50.0/24 again",
            )],
            expect: expect(n - 1, 0, 2, 1),
            outcome: "1 recovery (route.restored, in the alert's thread); the advertisement 1 -> 2 is recorded (info)",
        },
        Poll {
            title: "both firewalls drop, one after the other: the route server persists its routes",
            opens: None,
            actions: vec![
                Action::Patch(
                    fw_a.clone(),
                    json!({"bgpStatus": "down"}),
                    "BGP up -> down: 0.0.0.0/0 fails over to fw-b",
                ),
                Action::Patch(
                    fw_b.clone(),
                    json!({"bgpStatus": "down"}),
                    "BGP up -> down: no session left; persist-routes keeps the FIB as it is",
                ),
            ],
            expect: expect(n - 1, 2, 2, 4),
            outcome: "3 critical alerts (bgp.down twice, routes.persisted: the VPC forwards on kept routes) and 1 warning (route.failover to fw-b)",
        },
        Poll {
            title: "both sessions are back, the routes still persisted",
            opens: None,
            actions: vec![
                Action::Patch(fw_a.clone(), json!({"bgpStatus": "up"}), "BGP down -> up"),
                Action::Patch(fw_b.clone(), json!({"bgpStatus": "up"}), "BGP down -> up"),
            ],
            expect: expect(n - 1, 2, 0, 2),
            outcome: "2 recoveries (bgp.up); the kept routes stay for the persist duration, so the FIB does not move",
        },
        Poll {
            title: "the persist duration has passed: the live routes take over",
            opens: None,
            actions: vec![Action::Clock(
                61,
                "the simulator's clock moves 61 s ahead, past the 1-minute persist duration",
            )],
            expect: expect(n - 1, 0, 2, 2),
            outcome: "1 recovery (routes.unpersisted, closing the persisted alert) and 1 warning (route.failover: 0.0.0.0/0 back to fw-a)",
        },
        Poll {
            title: "nothing changes",
            opens: None,
            actions: vec![],
            expect: expect(n - 1, 0, 0, 0),
            outcome: "a steady-state poll writes nothing and sends nothing, routing databases included",
        },
    ];

    let ddb = poller.store().client();
    let first_day = Timestamp::now().day();
    let routing_from = polls
        .iter()
        .position(|p| p.opens == Some(ROUTING_STORY))
        .unwrap_or(polls.len());
    let mut flap: Option<Flap> = None;
    for (i, poll) in polls.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(POLL_GAP).await;
        }
        if let Some(heading) = poll.opens {
            ui.heading(heading);
        }
        // A flap happens between the previous poll and this one, and is told before it.
        for action in &poll.actions {
            if let Action::Flap { logged, unlogged } = action {
                let seen = flap_between_polls(ui, &sim, &poller, logged, unlogged, i).await?;
                problems.extend(seen.problems.iter().cloned());
                flap = Some(seen);
            }
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
                    ("sim", id.as_str(), *what)
                }
                Action::Advertise(id, routes, what) => {
                    sim.advertise(id, routes)?;
                    ("sim", id.as_str(), *what)
                }
                Action::Clock(seconds, what) => {
                    sim.advance_clock(*seconds)?;
                    ("sim", "", *what)
                }
                Action::Vanish(id) => {
                    sim.vanish(id)?;
                    (
                        "sim",
                        id.as_str(),
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
                        id.as_str(),
                        "DeleteRouteServerPeer (deleting, then deleted 0.3 s later)",
                    )
                }
                Action::Flap { .. } => continue,
            };
            if id.is_empty() {
                println!("    {how}  {what}");
            } else {
                let name = by_id.get(id).map_or("", |p| p.name.as_str());
                println!("    {how}  {id} {:<19}  {what}", format!("({name})"));
            }
        }
        if poll.actions.iter().any(|a| matches!(a, Action::Delete(_))) {
            // Let the simulator's 0.3 s lifecycle steps (deleting -> deleted) settle.
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        let summary = poller.run(RunOptions::default()).await?;
        let got = Expect::of(&summary);
        let verdict = if got == poll.expect {
            ui.green("as expected")
        } else {
            problems.push(format!(
                "poll {}: saw {} (peers seen, peer + routing transitions recorded, notifications sent), expected {}",
                i + 1,
                got.text(),
                poll.expect.text()
            ));
            ui.red(&format!("EXPECTED {}", poll.expect.text()))
        };
        println!("    -> {}  [{verdict}]", summary_line(&summary));
        println!("       {}", ui.dim(poll.outcome));
        // The edge route server's FIB after the first poll and each of its own.
        if i == 0 || (routing_from..polls.len() - 1).contains(&i) {
            let states = scan_states(ddb, STATE_TABLE).await?;
            println!(
                "       {}",
                ui.dim(&format!(
                    "{EDGE_NAME}'s FIB as recorded: {}",
                    fib_line(&states, &edge, &by_id)
                ))
            );
        }
    }

    // Names for ids, so the routing tables read as the story does.
    let mut names: HashMap<String, String> = all_peers
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    names.extend(
        route_servers
            .iter()
            .map(|(name, id)| (id.clone(), name.clone())),
    );
    names.insert(edge.route_server.clone(), EDGE_NAME.to_string());
    names.insert(edge.endpoint.clone(), format!("{EDGE_NAME}-ep-0"));

    // --- 4a. History -------------------------------------------------------------------
    let last_day = Timestamp::now().day();
    let mut days = vec![first_day];
    if last_day != days[0] {
        days.push(last_day);
    }
    let mut recorded = Vec::new();
    for day in &days {
        recorded.extend(transitions_of_day(ddb, TRANSITIONS_TABLE, day).await?);
    }
    let (history, routing_history): (Vec<Item>, Vec<Item>) = recorded
        .into_iter()
        .partition(|i| s(i, "RouteServerPeerId").starts_with("rsp-"));
    ui.heading(&format!(
        "4a. What was recorded of the peers: {TRANSITIONS_TABLE}, Query of index {INDEX_BY_DAY} for Day = {} (oldest first)",
        days.join(", ")
    ));
    let rows: Vec<Vec<Cell>> = history.iter().map(history_row).collect();
    print_table(
        ui,
        &[
            "TIME (UTC)",
            "PEER",
            "SOURCE",
            "KIND",
            "SEVERITY",
            "EVENT",
            "NOTIFICATION",
            "PREV FOR",
            "CHANGES",
        ],
        &rows,
    );
    // The log consumer's records come on top of the polls'.
    let (log_changes, log_sent) = match &flap {
        Some(_) => (FLAP_EXPECTED.2, FLAP_EXPECTED.3),
        None => (0, 0),
    };
    let expected_total: usize = polls.iter().map(|p| p.expect.peers).sum::<usize>() + log_changes;
    if history.len() != expected_total {
        problems.push(format!(
            "{} peer transitions in the history, expected {expected_total}",
            history.len()
        ));
    }
    println!(
        "  {}",
        ui.dim(&format!(
            "{} transitions; SOURCE is what saw the change (the poll, or the log consumer); PREV FOR is how long the previous status lasted (PreviousDurationSeconds)",
            history.len()
        ))
    );

    // --- 4b. The routing history -------------------------------------------------------
    ui.heading(
        "4b. What was recorded of where traffic goes: the same Query, its route-server, endpoint, route and advertisement items",
    );
    // The route servers without routes only matter for their discovery: summed up, not listed.
    let (edge_history, other_history): (Vec<&Item>, Vec<&Item>) = routing_history
        .iter()
        .partition(|i| s(i, "RouteServerId") == edge.route_server);
    let mut other_events: BTreeMap<String, usize> = BTreeMap::new();
    for item in other_history
        .iter()
        .filter(|i| s(i, "Kind") == "discovered")
    {
        *other_events.entry(s(item, "Event")).or_default() += 1;
    }
    let other_events: Vec<String> = other_events
        .iter()
        .map(|(event, n)| format!("{n} {event}"))
        .collect();
    println!(
        "  {}",
        ui.dim(&format!(
            "{} (no routes): {} at the first poll, not listed. {EDGE_NAME} ({}) and the rest, oldest first:",
            route_servers
                .iter()
                .map(|(name, _)| name.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            other_events.join(", "),
            edge.route_server
        ))
    );
    let rows: Vec<Vec<Cell>> = routing_history
        .iter()
        .filter(|i| s(i, "RouteServerId") == edge.route_server || s(i, "Kind") != "discovered")
        .map(|item| routing_history_row(item, &names))
        .collect();
    print_table(
        ui,
        &[
            "TIME (UTC)",
            "ITEM",
            "KIND",
            "SEVERITY",
            "EVENT",
            "NOTIFICATION",
            "PREV FOR",
            "WHAT",
        ],
        &rows,
    );
    let expected_routing: usize = polls.iter().map(|p| p.expect.routing).sum();
    if routing_history.len() != expected_routing {
        problems.push(format!(
            "{} routing transitions in the history, expected {expected_routing}",
            routing_history.len()
        ));
    }
    let default_events: Vec<String> = edge_history
        .iter()
        .filter(|i| s(i, "RouteServerPeerId") == edge.key(DEFAULT_ROUTE))
        .map(|i| s(i, "Event"))
        .collect();
    println!(
        "  {}",
        ui.dim(&format!(
            "{} transitions. The route {DEFAULT_ROUTE} (key {}): {}",
            routing_history.len(),
            edge.key(DEFAULT_ROUTE),
            default_events.join(", ")
        ))
    );

    // --- 4c. Current state -------------------------------------------------------------
    let mut states = scan_states(ddb, STATE_TABLE).await?;
    states.sort_by_key(tag_name);
    ui.heading(&format!(
        "4c. Current state: {STATE_TABLE} (a Scan: one small item per peer, route server, endpoint and route)"
    ));
    let rows: Vec<Vec<Cell>> = states
        .iter()
        .filter(|item| s(item, "RouteServerPeerId").starts_with("rsp-"))
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
                Cell::plain(num(item, "Version")),
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
    println!();
    let rows: Vec<Vec<Cell>> = states
        .iter()
        .filter(|item| {
            s(item, "ItemType") == "route" && s(item, "RouteServerId") == edge.route_server
        })
        .map(|item| {
            let via = s(item, "NextHopPeerId");
            let tables: Vec<String> = item
                .get("RouteTables")
                .and_then(|v| v.as_l().ok())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_m().ok())
                .map(|m| format!("{} {}", s(m, "RouteTableId"), s(m, "Status")))
                .collect();
            vec![
                Cell::plain(s(item, "Prefix")),
                Cell::health(s(item, "Health")),
                Cell::plain(format!("{} {via}", names.get(&via).map_or("", |n| n))),
                Cell::plain(s(item, "NextHopIp")),
                Cell::plain(strings(item, "AsPaths").join(" ")),
                Cell::plain(tables.join(", ")),
                Cell::plain(num(item, "Version")),
                Cell::plain(time_of(&s(item, "LastChangedAt"))),
            ]
        })
        .collect();
    println!(
        "  {}",
        ui.bold(&format!(
            "{EDGE_NAME}'s FIB as recorded (items route#{}#<prefix>):",
            edge.route_server
        ))
    );
    print_table(
        ui,
        &[
            "PREFIX",
            "HEALTH",
            "VIA",
            "NEXT HOP",
            "AS PATH",
            "ROUTE TABLES",
            "VERSION",
            "LAST CHANGED",
        ],
        &rows,
    );
    let find = |key: &str| {
        states
            .iter()
            .find(|i| s(i, "RouteServerPeerId") == key)
            .cloned()
            .unwrap_or_default()
    };
    let rs_item = find(&edge.route_server);
    let persisted = matches!(
        rs_item.get("AreRoutesPersisted"),
        Some(AttributeValue::Bool(true))
    );
    println!(
        "  {}",
        ui.dim(&format!(
            "route server item {}: {}, persist-routes {} ({} min), routes persisted: {}, health {}, version {}",
            edge.route_server,
            s(&rs_item, "State"),
            s(&rs_item, "PersistRoutesState"),
            num(&rs_item, "PersistRoutesDuration"),
            if persisted { "yes" } else { "no" },
            s(&rs_item, "Health"),
            num(&rs_item, "Version"),
        ))
    );
    // What each firewall advertises: on the route server's item, or on an item of the peer's
    // own (`routes#<peer>`) where the store keeps one.
    let counts = rs_item.get("AdvertisedRoutes").and_then(|v| v.as_m().ok());
    let advertised: Vec<String> = [&edge.fw_a, &edge.fw_b]
        .iter()
        .map(|p| {
            let own = find(&peerwatch_core::fabric::peer_routes_key(&p.id));
            let n = counts
                .and_then(|m| m.get(&p.id))
                .and_then(|v| v.as_n().ok())
                .cloned()
                .unwrap_or_else(|| num(&own, "AdvertisedRoutes"));
            format!("{} advertises {n}", p.name)
        })
        .collect();
    println!(
        "  {}",
        ui.dim(&format!("advertised routes: {}", advertised.join(", ")))
    );
    let fib = fib_line(&states, &edge, &by_id);
    let want = format!(
        "{DEFAULT_ROUTE} via fw-a ({}), {SITE_PREFIX} via fw-b ({}); routes persisted: no",
        edge.fw_a.address, edge.fw_b.address
    );
    if fib != want {
        problems.push(format!(
            "{EDGE_NAME}'s FIB as recorded is \"{fib}\", expected \"{want}\""
        ));
    }

    // --- 4d. Deliveries ----------------------------------------------------------------
    let deliveries = drain(&sqs, &queue_url).await?;
    ui.heading(&format!(
        "4d. Alerts delivered to the SQS subscriber ({} messages, event JSON v1)",
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
                e["subject"].is_string(),
                event_subject(e, &names),
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
                Cell::plain(event_subject(e, &names)),
                Cell::plain(if e["subject"].is_string() {
                    fabric_event_changes(e, &names)
                } else {
                    event_changes(e)
                }),
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
        &["OBSERVED", "SEVERITY", "EVENT", "SUBJECT", "CHANGES"],
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
    let expected_sent: usize = polls.iter().map(|p| p.expect.sent).sum::<usize>() + log_sent;
    if alerts.len() != expected_sent {
        problems.push(format!(
            "{} messages on the SQS queue, expected {expected_sent}",
            alerts.len()
        ));
    }
    for (wanted, what) in [("peer.failed", "A peer's"), ("route.failover", "A route's")] {
        match alerts.iter().find(|(_, e)| e["event"] == wanted) {
            Some((_, e)) => {
                println!();
                println!(
                    "  {}",
                    ui.bold(&format!(
                        "{what} event JSON in full, {wanted}: what `sqs`, `lambda` and `email-json` subscribers get"
                    ))
                );
                let pretty = serde_json::to_string_pretty(e)?;
                for line in pretty.lines() {
                    println!("    {line}");
                }
            }
            None => problems.push(format!("no {wanted} event on the SQS queue")),
        }
    }

    // The plain text of alerts and a recovery, as the HTTP subscriber received them.
    let texts = inbox.messages();
    if texts.len() != expected_sent {
        problems.push(format!(
            "{} messages at the HTTP subscriber, expected {expected_sent}",
            texts.len()
        ));
    }
    ui.heading(
        "4e. The email / SMS text (keys `email` and `default`) of a peer's alert, its recovery, and a failover",
    );
    println!(
        "  {}",
        ui.dim("Received by the HTTP subscriber, which SNS gives the `default` key; chat (Slack, Teams via Amazon Q Developer) gets the `https` key.")
    );
    for (label, about) in [
        ("[CRITICAL]", cast.failed.id.as_str()),
        ("[RECOVERY]", cast.failed.id.as_str()),
        ("[WARNING]", DEFAULT_ROUTE),
    ] {
        let found = texts.iter().find(|m| {
            let subject = m["Subject"].as_str().unwrap_or_default();
            subject.starts_with(label) && subject.contains(about)
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
                "no {label} message about {about} at the HTTP subscriber"
            )),
        }
    }

    // --- 4f. The operator CLI ------------------------------------------------------------
    ui.heading("4f. The same tables through the operator CLI, `peerwatch`, as a user runs it");
    let all_ids: Vec<String> = all_peers.iter().map(|p| p.id.clone()).collect();
    let recorded = Recorded {
        peers: &history,
        routing: &routing_history,
        edge: &edge_history,
    };
    problems.extend(cli_section(
        ui, cli, run_start, &all_ids, &cast, &edge, &recorded,
    ));

    // --- 4g. The flap with and without peer logs ---------------------------------------
    if let Some(flap) = &flap {
        let events: Vec<&Value> = alerts.iter().map(|(_, e)| e).collect();
        problems.extend(flap_side_by_side(
            ui, cli, run_start, flap, &history, &events,
        ));
    }

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
        "# Where traffic goes: each route server's FIB as recorded, and one prefix's failovers",
        "peerwatch routes",
        "peerwatch history --prefix 0.0.0.0/0 --since 7d",
        "",
        "# The same with the AWS CLI: what EC2 says now ...",
        "aws ec2 describe-route-server-peers \\",
        "  --query 'RouteServerPeers[].[RouteServerPeerId,State,BgpStatus.Status,BfdStatus.Status,FailureReason]' --output table",
        "# ... and what a route server's FIB holds now ...",
        &format!(
            "aws ec2 get-route-server-routing-database --route-server-id {} \\",
            edge.route_server
        ),
        "  --query 'Routes[?RouteStatus==`in-fib`].[Prefix,RouteServerPeerId,NextHopIp]' --output table",
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
/// What sections 4a and 4b read from the history, for checking the CLI's answers.
struct Recorded<'a> {
    /// The peers' items, oldest first.
    peers: &'a [Item],
    /// Every other item, oldest first.
    routing: &'a [Item],
    /// The edge route server's among those.
    edge: &'a [&'a Item],
}

fn cli_section(
    ui: &Ui,
    cli: &PeerwatchCli,
    run_start: Timestamp,
    fleet: &[String],
    cast: &Cast,
    edge: &Edge,
    recorded: &Recorded,
) -> Vec<String> {
    let history = recorded.peers;
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

    // history --peer: the failed peer's own transitions, and any routing item that names it
    // (`PeerIds`), newest first; the order within one poll is the CLI's own.
    let peer = cast.failed.id.as_str();
    let newest_first = |mut rows: Vec<(String, String)>| {
        rows.sort_by(|a, b| b.cmp(a));
        rows
    };
    let expected = newest_first(
        history
            .iter()
            .chain(recorded.routing)
            .filter(|i| {
                s(i, "RouteServerPeerId") == peer || strings(i, "PeerIds").iter().any(|p| p == peer)
            })
            .map(|i| (s(i, "ObservedAt"), s(i, "Event")))
            .collect(),
    );
    let args = ["history", "--peer", peer];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let rows: Vec<&Value> = doc["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .collect();
            let text = |t: &Value, k: &str| t[k].as_str().unwrap_or_default().to_string();
            let events: Vec<String> = rows.iter().map(|t| text(t, "event")).collect();
            let got = newest_first(
                rows.iter()
                    .map(|t| (text(t, "observedAt"), text(t, "event")))
                    .collect(),
            );
            if got == expected && doc["scope"]["id"] == peer {
                Ok(format!(
                    "{} transitions: {}",
                    events.len(),
                    events.join(", ")
                ))
            } else {
                Err(format!(
                    "`peerwatch history --peer {peer}` gave {got:?}, expected {expected:?}"
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
                // The edge route server's failovers: every move of its default route (4b).
                let moves = recorded
                    .edge
                    .iter()
                    .filter(|i| s(i, "Event") == "route.failover")
                    .count();
                let failovers = doc["routeServers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|r| r["routeServerId"] == edge.route_server.as_str())
                    .map_or(Value::Null, |r| r["routeFailovers"].clone());
                if failovers != moves {
                    return Err(format!(
                        "`peerwatch report`: {EDGE_NAME} had {failovers} route failovers, expected {moves}"
                    ));
                }
                Ok(format!(
                    "{} peers; {peer}: 1 outage, recovered in {}; {EDGE_NAME}: {moves} route failovers",
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
    routes_commands(ui, cli, edge, recorded.edge, &mut problems);
    problems
}

/// Section 4g: the flap of section 3a as each path left it, the logged peer beside the
/// other: its history, its alerts as delivered (section 4d), and `peerwatch report`'s figures
/// (the table of section 4f, read through `--output json`). Answers what differed from the
/// expected figures.
fn flap_side_by_side(
    ui: &Ui,
    cli: &PeerwatchCli,
    run_start: Timestamp,
    flap: &Flap,
    history: &[Item],
    alerts: &[&Value],
) -> Vec<String> {
    let mut problems = Vec::new();
    let (a, b) = (&flap.logged, &flap.unlogged);
    ui.heading(&format!(
        "4g. The {FLAP_SECONDS}-second flap side by side: {} with peer logs, {} without",
        a.name, b.name
    ));
    let (down, up) = (rfc3339(flap.down_ms), rfc3339(flap.up_ms));
    let outage = (flap.up_ms - flap.down_ms) as f64 / 1000.0;

    // What the history holds of each since the drop: the logged peer's two changes, nothing of
    // the other's.
    let since_drop = |peer: &Peer| -> Vec<&Item> {
        history
            .iter()
            .filter(|i| s(i, "RouteServerPeerId") == peer.id && s(i, "ObservedAt") >= down)
            .collect()
    };
    let (ha, hb) = (since_drop(a), since_drop(b));
    let got: Vec<(String, String, String)> = ha
        .iter()
        .map(|i| (s(i, "ObservedAt"), s(i, "Event"), s(i, "Source")))
        .collect();
    let want = vec![
        (down.clone(), "bgp.down".to_string(), "log".to_string()),
        (up.clone(), "bgp.up".to_string(), "log".to_string()),
    ];
    if got != want {
        problems.push(format!(
            "{}'s history since the flap is {got:?}, expected {want:?}",
            a.id
        ));
    }
    if !hb.is_empty() {
        problems.push(format!(
            "{} has {} history items since the flap, expected none: no path saw it",
            b.id,
            hb.len()
        ));
    }
    let history_text = |items: &[&Item]| -> String {
        if items.is_empty() {
            return "nothing (only its discovery, by the poll)".to_string();
        }
        items
            .iter()
            .map(|i| {
                format!(
                    "{} {} ({})",
                    s(i, "Event"),
                    time_of(&s(i, "ObservedAt")),
                    s(i, "Source")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };

    // The alerts delivered about each: the logged peer's critical and its recovery.
    let about = |peer: &Peer| -> Vec<&Value> {
        alerts
            .iter()
            .copied()
            .filter(|e| e["routeServerPeerId"] == peer.id.as_str())
            .collect()
    };
    let (aa, ab) = (about(a), about(b));
    let got: Vec<(String, String)> = aa
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (text("observedAt"), text("severity"))
        })
        .collect();
    let want = vec![
        (down.clone(), "critical".to_string()),
        (up.clone(), "recovery".to_string()),
    ];
    if got != want {
        problems.push(format!(
            "the alerts delivered about {} are {got:?}, expected {want:?}",
            a.id
        ));
    }
    if !ab.is_empty() {
        problems.push(format!(
            "{} alerts delivered about {}, expected none",
            ab.len(),
            b.id
        ));
    }
    let alerts_text = |events: &[&Value]| -> String {
        if events.is_empty() {
            return "none".to_string();
        }
        events
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["severity"].as_str().unwrap_or_default(),
                    e["event"].as_str().unwrap_or_default(),
                    time_of(e["observedAt"].as_str().unwrap_or_default())
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };

    // The report's figures for each over the whole run.
    let since = run_start.to_string();
    let report = match cli.json(&["report", "--since", &since]) {
        Ok(doc) => doc,
        Err(problem) => {
            problems.push(problem);
            return problems;
        }
    };
    let entry = |peer: &Peer| -> Value {
        report["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["routeServerPeerId"] == peer.id.as_str())
            .cloned()
            .unwrap_or(Value::Null)
    };
    let (ra, rb) = (entry(a), entry(b));
    let figure = |r: &Value, k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    let logged_ok = ra["outageCount"] == 1
        && ra["recoveredCount"] == 1
        && (figure(&ra, "downSeconds") - outage).abs() < 0.002
        && figure(&ra, "availabilityPercent") < 100.0;
    if !logged_ok {
        problems.push(format!(
            "`peerwatch report` for {}: {} outages, {} recovered, down {} s, availability {} %; expected 1, 1, {outage:.3} s and below 100",
            a.id, ra["outageCount"], ra["recoveredCount"], ra["downSeconds"], ra["availabilityPercent"]
        ));
    }
    let unlogged_ok = rb["outageCount"] == 0
        && figure(&rb, "downSeconds") == 0.0
        && figure(&rb, "availabilityPercent") == 100.0;
    if !unlogged_ok {
        problems.push(format!(
            "`peerwatch report` for {}: {} outages, down {} s, availability {} %; expected 0, 0 s and 100",
            b.id, rb["outageCount"], rb["downSeconds"], rb["availabilityPercent"]
        ));
    }
    let outages = |r: &Value| match r["meanTimeToRecoverSeconds"].as_f64() {
        Some(mttr) => format!("{}, recovered in {mttr:.3} s", r["outageCount"]),
        None => format!("{}", r["outageCount"]),
    };
    let percent = |r: &Value| {
        r["availabilityPercent"]
            .as_f64()
            .map_or_else(|| "-".to_string(), |p| format!("{p:.2} %"))
    };
    let seconds = |r: &Value| {
        r["downSeconds"]
            .as_f64()
            .map_or_else(|| "-".to_string(), |d| format!("{d:.3} s"))
    };

    let sim_text = format!(
        "BFD and BGP down {}, up {} ({outage:.3} s)",
        time_of(&down),
        time_of(&up)
    );
    let polls_saw = format!(
        "BGP and BFD up at polls {} and {}",
        flap.after_poll,
        flap.after_poll + 1
    );
    let rows: Vec<Vec<Cell>> = [
        ("what happened", sim_text.clone(), sim_text),
        (
            "peer log records",
            format!(
                "{}, delivered to the log consumer: {} changes recorded, {} alerts sent",
                flap.delivered, flap.summary.changes_recorded, flap.summary.notifications_sent
            ),
            format!("{}, delivered nowhere", flap.undelivered),
        ),
        ("what the polls saw", polls_saw.clone(), polls_saw),
        ("recorded", history_text(&ha), history_text(&hb)),
        ("alerts delivered", alerts_text(&aa), alerts_text(&ab)),
        ("report: outages", outages(&ra), outages(&rb)),
        ("report: down", seconds(&ra), seconds(&rb)),
        ("report: availability", percent(&ra), percent(&rb)),
    ]
    .into_iter()
    .map(|(what, with, without)| vec![Cell::plain(what), Cell::plain(with), Cell::plain(without)])
    .collect();
    let (with, without) = (
        format!("{} (PEER LOGS)", a.name.to_uppercase()),
        format!("{} (NO PEER LOGS)", b.name.to_uppercase()),
    );
    print_table(ui, &["", with.as_str(), without.as_str()], &rows);
    println!(
        "  {}",
        ui.dim(&format!(
            "From the history (4a), the SQS subscriber (4d) and `peerwatch report --since {since} --output json` (the table of 4f). Without peer logs the flap is invisible: no record, no alert, 100 % available."
        ))
    );
    let verdict = if logged_ok && unlogged_ok && problems.is_empty() {
        ui.green("as expected")
    } else {
        ui.red("NOT AS EXPECTED")
    };
    println!(
        "  -> with peer logs: 1 outage of {outage:.3} s, {} available; without: {}  [{verdict}]",
        percent(&ra),
        percent(&rb)
    );
    problems
}

/// `routes` and `history --prefix` for the edge route server, each checked against what
/// sections 4b and 4c read from the tables. A build without the `routes` command says so:
/// those sections showed the same items.
fn routes_commands(
    ui: &Ui,
    cli: &PeerwatchCli,
    edge: &Edge,
    edge_history: &[&Item],
    problems: &mut Vec<String>,
) {
    let has_routes = tokio::task::block_in_place(|| {
        cli.command(&["routes", "--help"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    })
    .is_ok_and(|status| status.success());
    if !has_routes {
        println!();
        println!(
            "  {}",
            ui.dim("(this build of `peerwatch` has no `routes` command: the FIB as recorded is in 4c, its history in 4b)")
        );
        return;
    }

    // routes: the FIB as the poller last recorded it.
    let args = ["routes", "--route-server", edge.route_server.as_str()];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let server = doc["routeServers"]
                .as_array()
                .and_then(|list| {
                    list.iter()
                        .find(|r| r["routeServerId"] == edge.route_server.as_str())
                })
                .cloned()
                .unwrap_or(Value::Null);
            let got: Vec<(String, String, String)> = server["routes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
                    (
                        text("prefix"),
                        text("routeServerPeerId"),
                        text("routeStatus"),
                    )
                })
                .collect();
            let want = vec![
                (
                    DEFAULT_ROUTE.to_string(),
                    edge.fw_a.id.clone(),
                    "in-fib".to_string(),
                ),
                (
                    SITE_PREFIX.to_string(),
                    edge.fw_b.id.clone(),
                    "in-fib".to_string(),
                ),
            ];
            if got == want && server["areRoutesPersisted"] == false {
                Ok(format!(
                    "{DEFAULT_ROUTE} via fw-a and {SITE_PREFIX} via fw-b, in the FIB; routes not persisted"
                ))
            } else {
                Err(format!(
                    "`peerwatch routes` showed {got:?} (persisted {}), expected {want:?} and not persisted",
                    server["areRoutesPersisted"]
                ))
            }
        });
    }
    cli.verdict(ui, verdict, problems);

    // history --prefix: the default route's items, newest first.
    let key = edge.key(DEFAULT_ROUTE);
    let events: Vec<String> = edge_history
        .iter()
        .rev()
        .filter(|i| s(i, "RouteServerPeerId") == key)
        .map(|i| s(i, "Event"))
        .collect();
    let args = [
        "history",
        "--prefix",
        DEFAULT_ROUTE,
        "--route-server",
        edge.route_server.as_str(),
    ];
    let mut verdict = cli.show(ui, &args);
    if verdict.is_ok() {
        verdict = cli.json(&args).and_then(|doc| {
            let got: Vec<String> = doc["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["event"].as_str().unwrap_or_default().to_string())
                .collect();
            if got == events {
                Ok(format!("{} transitions: {}", got.len(), got.join(", ")))
            } else {
                Err(format!(
                    "`peerwatch history --prefix {DEFAULT_ROUTE}` gave events {got:?}, expected {events:?}"
                ))
            }
        });
    }
    cli.verdict(ui, verdict, problems);
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
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut line = format!(
        "{} peer{} and {} route{} seen, {} peer + {} routing transition{} recorded, {}",
        s.peers_seen,
        plural(s.peers_seen),
        s.routes_seen,
        plural(s.routes_seen),
        s.transitions_recorded,
        s.routing_transitions_recorded,
        plural(s.routing_transitions_recorded),
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

/// One peer's transitions observed at or after `from` (RFC 3339), oldest first.
async fn transitions_of_peer(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    peer: &str,
    from: &str,
) -> Result<Vec<Item>> {
    let mut pages = ddb
        .query()
        .table_name(table)
        .key_condition_expression("RouteServerPeerId = :p AND ObservedAt >= :t")
        .expression_attribute_values(":p", AttributeValue::S(peer.to_string()))
        .expression_attribute_values(":t", AttributeValue::S(from.to_string()))
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(sdk_err("DynamoDB Query (one peer)"))?;
        items.extend(page.items().iter().cloned());
    }
    Ok(items)
}

/// The wall clock in Unix milliseconds.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Unix milliseconds as the history writes them (`2026-12-01T16:20:27.127Z`).
fn rfc3339(ms: i64) -> String {
    Timestamp::from_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_string())
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
    let late = matches!(item.get("Late"), Some(AttributeValue::Bool(true)));
    let source = match s(item, "Source") {
        none if none.is_empty() => "-".to_string(),
        source if late => format!("{source}, late"),
        source => source,
    };
    vec![
        Cell::plain(time_of(&s(item, "ObservedAt"))),
        Cell::plain(s(item, "RouteServerPeerId")),
        Cell::plain(source),
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

/// A number attribute as text (`""` when absent).
fn num(item: &Item, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .cloned()
        .unwrap_or_default()
}

/// A list-of-strings attribute.
fn strings(item: &Item, key: &str) -> Vec<String> {
    item.get(key)
        .and_then(|v| v.as_l().ok())
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_s().ok().cloned())
        .collect()
}

/// `fw-a 10.4.0.10`: a next hop by the name of its peer.
fn hop_text(peer: &str, ip: &str, names: &HashMap<String, String>) -> String {
    match names.get(peer) {
        Some(name) => format!("{name} {ip}"),
        None => format!("{peer} {ip}"),
    }
}

/// Where a route's traffic went and goes, from its two next hops (either may be missing).
fn route_move(from: Option<String>, to: Option<String>) -> String {
    match (from, to) {
        (Some(f), Some(t)) if f != t => format!("{f} -> {t}"),
        (_, Some(t)) => format!("via {t}"),
        (Some(f), None) => format!("no route in the FIB (was via {f})"),
        (None, None) => "no route in the FIB".to_string(),
    }
}

/// The edge route server's FIB as `PeerState` holds it, in one line.
fn fib_line(states: &[Item], edge: &Edge, peers: &HashMap<String, Peer>) -> String {
    let mut routes: Vec<(String, String)> = states
        .iter()
        .filter(|i| s(i, "ItemType") == "route" && s(i, "RouteServerId") == edge.route_server)
        .map(|i| {
            let via = s(i, "NextHopPeerId");
            let text = if via.is_empty() {
                "lost".to_string()
            } else {
                let name = peers.get(&via).map_or(via.as_str(), |p| p.name.as_str());
                format!("via {name} ({})", s(i, "NextHopIp"))
            };
            (s(i, "Prefix"), text)
        })
        .collect();
    routes.sort();
    let persisted = states
        .iter()
        .find(|i| s(i, "RouteServerPeerId") == edge.route_server)
        .is_some_and(|i| {
            matches!(
                i.get("AreRoutesPersisted"),
                Some(AttributeValue::Bool(true))
            )
        });
    format!(
        "{}; routes persisted: {}",
        routes
            .iter()
            .map(|(prefix, text)| format!("{prefix} {text}"))
            .collect::<Vec<_>>()
            .join(", "),
        if persisted { "yes" } else { "no" }
    )
}

/// `text` with each peer id of `names` replaced by the peer's name.
fn named(text: &str, names: &HashMap<String, String>) -> String {
    let mut out = text.to_string();
    for (id, name) in names {
        if id.starts_with("rsp-") {
            out = out.replace(id.as_str(), name);
        }
    }
    out
}

/// `route 0.0.0.0/0`, `route server edge-rs`, `endpoint edge-rs-ep-0`, `advertisement fw-b`.
fn item_label(item_type: &str, key: &str, prefix: &str, names: &HashMap<String, String>) -> String {
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    match item_type {
        "route" => format!("route {prefix}"),
        "route-server" => format!("route server {}", name(key)),
        "endpoint" => format!("endpoint {}", name(key)),
        "peer-routes" => format!(
            "advertisement {}",
            name(key.trim_start_matches(peerwatch_core::fabric::PEER_ROUTES_KEY))
        ),
        _ => key.to_string(),
    }
}

/// One row of section 4b: a route server's, endpoint's, route's or advertisement's transition.
fn routing_history_row(item: &Item, names: &HashMap<String, String>) -> Vec<Cell> {
    let item_type = s(item, "ItemType");
    let hop = |side: &str| {
        let peer = s(item, &format!("{side}PeerId"));
        (!peer.is_empty()).then(|| hop_text(&peer, &s(item, &format!("{side}NextHopIp")), names))
    };
    let changed = |field: &str, label: &str| -> Option<String> {
        let from = item
            .get(&format!("{field}From"))
            .and_then(|v| v.as_s().ok());
        let to = item.get(&format!("{field}To")).and_then(|v| v.as_s().ok());
        match (from, to) {
            (Some(f), Some(t)) => Some(format!("{label} {f} -> {t}")),
            (None, Some(t)) => Some(format!("{label} {t}")),
            (Some(f), None) => Some(format!("{label} {f} -> (none)")),
            (None, None) => None,
        }
    };
    let mut what: Vec<String> = match item_type.as_str() {
        "route" => {
            let mut parts = vec![route_move(hop("From"), hop("To"))];
            let reason = s(item, "Reason");
            if !reason.is_empty() {
                parts.push(format!("{} rejected it: {reason}", s(item, "RouteTableId")));
            }
            parts
        }
        "peer-routes" => changed("AdvertisedRoutes", "routes advertised")
            .into_iter()
            .collect(),
        _ => [
            changed("State", "State"),
            changed("PersistRoutesState", "persist-routes"),
            changed("AreRoutesPersisted", "routes persisted"),
            changed("FailureReason", "reason"),
            changed("AdvertisedRoutes", "routes advertised").map(|text| named(&text, names)),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    let prefixes = strings(item, "Prefixes");
    if !prefixes.is_empty() {
        what.push(format!(
            "{} {} in {}",
            fib_label(&s(item, "Event")),
            prefixes.join(", "),
            strings(item, "RouteTables").join(", ")
        ));
    }
    let prev_for = item
        .get("PreviousDurationSeconds")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .map_or_else(|| "-".to_string(), humanise);
    vec![
        Cell::plain(time_of(&s(item, "ObservedAt"))),
        Cell::plain(item_label(
            &item_type,
            &s(item, "RouteServerPeerId"),
            &s(item, "Prefix"),
            names,
        )),
        Cell::plain(s(item, "Kind")),
        Cell::severity(&s(item, "Severity")),
        Cell::plain(s(item, "Event")),
        Cell::plain(s(item, "NotificationState")),
        Cell::plain(prev_for),
        Cell::plain(what.join("; ")),
    ]
}

/// How a `routes.persisted` or `routes.unpersisted` names the FIB it lists.
fn fib_label(event: &str) -> &'static str {
    if event == "routes.unpersisted" {
        "live FIB:"
    } else {
        "FIB kept:"
    }
}

/// What an alert is about: a peer's id, or a route, route server, endpoint or advertisement.
fn event_subject(e: &Value, names: &HashMap<String, String>) -> String {
    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
    match e["subject"].as_str() {
        Some(subject) => item_label(subject, &text("key"), &text("prefix"), names),
        None => text("routeServerPeerId"),
    }
}

/// `fw-a 10.4.0.10 -> fw-b 10.4.0.11`, `routes persisted false -> true; ...` from a routing
/// event's JSON.
fn fabric_event_changes(e: &Value, names: &HashMap<String, String>) -> String {
    let hop = |side: &str| {
        let h = &e[side];
        h["routeServerPeerId"]
            .as_str()
            .map(|peer| hop_text(peer, h["nextHopIp"].as_str().unwrap_or_default(), names))
    };
    let mut parts = Vec::new();
    if e["subject"] == "route" {
        parts.push(route_move(hop("from"), hop("to")));
    } else {
        for c in e["changes"].as_array().into_iter().flatten() {
            let v = |x: &Value| x.as_str().unwrap_or("(none)").to_string();
            let field = match c["field"].as_str().unwrap_or_default() {
                "AreRoutesPersisted" => "routes persisted",
                "AdvertisedRoutes" => "routes advertised",
                other => other,
            };
            parts.push(named(
                &format!("{field} {} -> {}", v(&c["from"]), v(&c["to"])),
                names,
            ));
        }
    }
    let list = |k: &str| -> Vec<String> {
        e[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    if !list("prefixes").is_empty() {
        parts.push(format!(
            "{} {} in {}",
            fib_label(e["event"].as_str().unwrap_or_default()),
            list("prefixes").join(", "),
            list("routeTables").join(", ")
        ));
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

    /// One control call (a POST); answers the JSON body of a 200.
    fn call(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        self.send(false, path, body)
    }

    /// A control read (a GET).
    fn get(&self, path: &str) -> Result<Value> {
        self.send(true, path, None)
    }

    fn send(&self, get: bool, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        // A blocking call on a runtime worker: tell tokio, so other tasks move elsewhere.
        tokio::task::block_in_place(|| {
            let response = match body {
                _ if get => self.agent.get(&url).call(),
                Some(b) => self.agent.post(&url).send_json(b),
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
        let answer = self.get("/_sim/peers")?;
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

    /// Several peers at once: the routing is recomputed once, after all of them.
    fn patch_many(&self, patches: &[(&String, Value)]) -> Result<()> {
        let peers: serde_json::Map<String, Value> = patches
            .iter()
            .map(|(id, patch)| ((*id).clone(), patch.clone()))
            .collect();
        self.call("/_sim/peers", Some(&json!({ "peers": peers })))
            .map(drop)
    }

    fn advertise(&self, id: &str, routes: &Value) -> Result<()> {
        self.call(
            &format!("/_sim/peers/{id}/routes"),
            Some(&json!({ "routes": routes })),
        )
        .map(drop)
    }

    fn advance_clock(&self, seconds: u64) -> Result<()> {
        self.call("/_sim/clock", Some(&json!({ "advanceSeconds": seconds })))
            .map(drop)
    }

    /// The simulator's clock now, in Unix milliseconds: the wall clock plus what
    /// `POST /_sim/clock` added, as it stamps its peer log records.
    fn now_ms(&self) -> Result<i64> {
        let advanced = self.get("/_sim/clock")?["advancedSeconds"]
            .as_f64()
            .ok_or("GET /_sim/clock answered no advancedSeconds")?;
        Ok(wall_ms() + (advanced * 1000.0) as i64)
    }

    /// The peer log records stamped at or after `since_ms`, oldest first.
    fn peer_logs(&self, since_ms: i64) -> Result<Vec<Value>> {
        let answer = self.get(&format!("/_sim/peer-logs?since={since_ms}"))?;
        match answer["records"].as_array() {
            Some(records) => Ok(records.clone()),
            None => Err("GET /_sim/peer-logs answered no records".into()),
        }
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
