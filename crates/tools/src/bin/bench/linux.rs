//! The benchmark harness (`make bench`, docs/benchmarks.md): for fleets of 100, 1,000 and 10,000 peers,
//! against route-server-sim and moto on this machine, one poller in this process measures
//!
//! - a steady-state cycle (every peer recorded, nothing changed since; median of 3 runs),
//! - a storm cycle (10 % of the peers' BGP goes down) at the default write concurrency and at 1,
//! - the floor: the same describe pages and the same consistent state `Scan`, issued by a bare
//!   SDK loop that does nothing else, interleaved with the steady runs,
//!
//! and prints, per fleet size, wall time, AWS requests by operation (the `Recorder`
//! interceptor), DynamoDB units (`peerwatch_testkit::capacity::CapacityMeter`: computed from
//! item sizes by DynamoDB's rules, and what moto reported) and the RSS high-water mark of this
//! process, with the project's budgets (docs/benchmarks.md) marked PASS or MISS. Figures are
//! printed, never asserted. The steady cycle is also run by the real binary (`peerwatch poll`)
//! in a child process, for its max RSS.
//! Above 1,000 peers the discovery is seeded with `BatchWriteItem` and the storms are skipped
//! (`--all-storms` runs them): moto copies each table per transaction (docs/benchmarks.md).
//!
//! Then, per size, a routed fleet of the same number of peers (`peers / 2` route servers up to
//! 50, every peer advertising `--routes-per-peer` routes, default 20; its discovery always
//! seeded): its steady cycle against the same fleet's peers-only floor (the describe pages and
//! a `Scan` of a second state table holding only its peers' items), and against its own floor
//! (the same plus every route-server, endpoint and routing-database page), interleaved; the
//! binary's steady cycle for its max RSS; the `Scan`'s read units with and without routes.
//!
//! Last, the time to alert (module `time_to_alert`): from a change in the simulator to the
//! message in an SQS queue subscribed to the topic, through the log consumer and through the
//! poll at a 60 s interval, and the consumer's time per record for batches of 1 and 1,000.
//!
//! `cargo run --release -p peerwatch-tools --bin bench -- [--sizes 100,1000,10000] [--quick]
//! [--all-storms] [--no-routes | --routes-only] [--routes-per-peer 20]
//! [--time-to-alert | --no-time-to-alert] [--alert-samples 200]` (`--quick`: 100 and 1,000;
//! `--time-to-alert`: that section alone). Needs moto from the project venv (`make venv`, or
//! `PEERWATCH_PYTHON`) and `route-server-sim` built beside it (`make bench` does both).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_smithy_types::retry::RetryConfig;
use futures::StreamExt;
use peerwatch_aws::config::Config;
use peerwatch_aws::config::DEFAULT_WRITE_CONCURRENCY as WRITE_CONCURRENCY;
use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_aws::routing::{ROUTING_CONCURRENCY, Session};
use peerwatch_aws::store::{fabric_record_to_item, record_to_item};
use peerwatch_core::fabric;
use peerwatch_core::model::{Severity, Timestamp};
use peerwatch_core::summary::Summary;
use peerwatch_testkit::capacity::{CapacityMeter, CapacityReport};
use peerwatch_testkit::emulators::{Emulator, project_python, same_build_binary, unique_name};
use peerwatch_testkit::recorder::Recorder;
use peerwatch_testkit::tables::create_tables;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Above this many peers the discovery cycle is not run through the poller: moto copies each
/// table a transaction touches (its rollback), so N transactions cost O(N²). The state is then
/// seeded with `BatchWriteItem`, from the same detection the discovery cycle would record.
const DISCOVER_THROUGH_POLLER_MAX: usize = 1_000;
const STEADY_RUNS: usize = 3;
const ROUTE_SERVERS: usize = 10;

/// One steady cycle by the real binary, as a user runs it: `peerwatch poll --output json` with
/// the environment a user would set. Answers its wall time (spawn to exit), its CPU time (user
/// + system) and its max RSS in kB, all from `wait4`'s `rusage`.
fn child_poll(
    binary: &std::path::Path,
    config: &Config,
    sim: &str,
    moto: &str,
) -> Result<ChildRun, Error> {
    let started = Instant::now();
    let child = std::process::Command::new(binary)
        .args(["poll", "--output", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_EC2", sim)
        .env("AWS_ENDPOINT_URL_DYNAMODB", moto)
        .env("AWS_ENDPOINT_URL_SNS", moto)
        .env("PEER_STATE_TABLE", &config.peer_state_table)
        .env("PEER_TRANSITIONS_TABLE", &config.peer_transitions_table)
        .env(
            "ALERT_TOPIC_ARN",
            config.alert_topic_arn.as_deref().unwrap_or_default(),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is valid, and `wait4` only writes into the two locals.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // The peak is the child's own `VmHWM`, sampled until it exits. Not `ru_maxrss`: the
    // child is spawned with vfork + exec, and exec keeps the high-water mark of the address
    // space it leaves, which under vfork is this (much larger) bench process's.
    let mut hwm_kb = 0;
    loop {
        hwm_kb = hwm_kb.max(vm_hwm_kb(pid).unwrap_or(0));
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        if reaped != 0 {
            return Err(format!(
                "wait4 on {}: {}",
                binary.display(),
                std::io::Error::last_os_error()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = started.elapsed();
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{} poll failed (status {status})", binary.display()).into());
    }
    let cpu = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(ChildRun {
        wall,
        cpu: cpu(usage.ru_utime) + cpu(usage.ru_stime),
        maxrss_kb: hwm_kb,
    })
}

/// A process's resident-memory high-water mark (`VmHWM` in `/proc/<pid>/status`), in kB.
fn vm_hwm_kb(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// One `peerwatch poll` in a child process.
#[derive(Clone, Copy)]
struct ChildRun {
    wall: Duration,
    cpu: Duration,
    maxrss_kb: u64,
}

fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(peerwatch_aws::sdk::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "bench",
        )))
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .build()
}

macro_rules! client {
    ($sdk:ident, $endpoint:expr, $recorder:expr) => {{
        let conf = $sdk::config::Builder::from(&sdk_config())
            .endpoint_url($endpoint)
            .interceptor($recorder.clone())
            .build();
        $sdk::Client::from_conf(conf)
    }};
    ($sdk:ident, $endpoint:expr, $recorder:expr, $meter:expr) => {{
        let conf = $sdk::config::Builder::from(&sdk_config())
            .endpoint_url($endpoint)
            .interceptor($recorder.clone())
            .interceptor($meter.clone())
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

// After `client!`, which it uses.
mod time_to_alert;

/// This process's resident set (`VmRSS`) and its high-water mark (`VmHWM`), in kB.
fn rss_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets `VmHWM` to the current RSS (Linux: "5" to `/proc/self/clear_refs`); false if not.
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// One measured run.
#[derive(Default, Clone)]
struct Run {
    wall: Duration,
    ops: BTreeMap<String, usize>,
    capacity: CapacityReport,
    /// kB: RSS when it started, its high-water mark during the run, RSS at the end.
    rss_start: u64,
    rss_peak: u64,
    rss_end: u64,
    summary: Summary,
    /// Where a floor's wall time went: its state `Scan` and its EC2 reads, in that order.
    phases: Vec<(&'static str, Duration)>,
}

impl Run {
    fn op(&self, name: &str) -> usize {
        self.ops.get(name).copied().unwrap_or(0)
    }
    fn units(&self, ops: &[&str], computed: bool) -> (f64, u64, u64) {
        let (mut units, mut requests, mut reported) = (0.0, 0, 0);
        for op in ops {
            if let Some(c) = self.capacity.get(op) {
                units += if computed {
                    c.computed_units
                } else {
                    c.reported_units
                };
                requests += c.requests;
                reported += c.reported_responses;
            }
        }
        (units, requests, reported)
    }
    fn read_units(&self, computed: bool) -> (f64, u64, u64) {
        self.units(&["Scan", "Query"], computed)
    }
    fn write_units(&self, computed: bool) -> (f64, u64, u64) {
        self.units(&["TransactWriteItems", "UpdateItem"], computed)
    }
}

struct Bench {
    sim: Emulator,
    moto: Emulator,
    hwm_resets: bool,
    /// Run the storm cycles above `DISCOVER_THROUGH_POLLER_MAX` too (`--all-storms`).
    all_storms: bool,
    /// The `peerwatch` binary whose `poll` is measured in a child process (`--binary`).
    binary: PathBuf,
    /// Only seed the fleet and measure the binary (`--binary-only`): comparing builds.
    binary_only: bool,
    /// moto behind the RTT relay (`--rtt-ms`, default 10).
    relay: String,
    rtt: Duration,
}

/// The poller's clients, its recorder and its configuration for one fleet.
struct Target {
    poller: Poller,
    /// The same, with one write in flight at a time (`WRITE_CONCURRENCY=1`).
    poller_serial: Poller,
    /// The same tables and topic, with DynamoDB and SNS reached through the RTT relay.
    remote: Poller,
    remote_serial: Poller,
    ec2: aws_sdk_ec2::Client,
    /// Consumed capacity of the pollers' DynamoDB requests, direct and through the relay.
    meter: CapacityMeter,
    remote_meter: CapacityMeter,
    recorder: Recorder,
    peer_ids: Vec<String>,
    /// A routed fleet's second state table: its peers' items only (`routed_target`).
    peers_only_table: Option<String>,
}

/// A TCP relay in front of moto that holds each request for `rtt` before passing it on: the
/// round trip to a DynamoDB or SNS endpoint, which moto on loopback does not have, and without
/// which write concurrency cannot show its effect (moto itself serves one request at a time).
/// A request is a burst of bytes from the client after a pause; only its first chunk waits.
async fn rtt_relay(upstream: &str, rtt: Duration) -> Result<String, Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let requests = async move {
                    let mut buf = vec![0; 64 * 1024];
                    let mut last = Instant::now() - rtt;
                    loop {
                        let n = client_rx.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        if last.elapsed() > Duration::from_millis(2) {
                            tokio::time::sleep(rtt).await;
                        }
                        server_tx.write_all(&buf[..n]).await?;
                        last = Instant::now();
                    }
                    server_tx.shutdown().await
                };
                let responses = tokio::io::copy(&mut server_rx, &mut client_tx);
                let _ = tokio::join!(requests, responses);
            });
        }
    });
    Ok(endpoint)
}

impl Bench {
    /// The steady cycle by the real binary, `STEADY_RUNS` times: median wall and CPU, the
    /// largest max RSS. `None` when the binary is not built.
    fn child_runs(&self, target: &Target) -> Result<Option<ChildRun>, Error> {
        if !self.binary.is_file() {
            println!(
                "  ({} not built: no child-process run; `make bench` builds it)",
                self.binary.display()
            );
            return Ok(None);
        }
        let mut runs = Vec::new();
        for _ in 0..STEADY_RUNS {
            runs.push(child_poll(
                &self.binary,
                target.poller.config(),
                self.sim.endpoint(),
                self.moto.endpoint(),
            )?);
        }
        let run = ChildRun {
            wall: median(runs.iter().map(|r| r.wall).collect()),
            cpu: median(runs.iter().map(|r| r.cpu).collect()),
            maxrss_kb: runs.iter().map(|r| r.maxrss_kb).max().unwrap_or(0),
        };
        println!(
            "  steady cycle by the binary ({}, `poll`, child process, median of {STEADY_RUNS}): {} ms spawn to exit, {} ms CPU (user + system), max RSS {:.1} MB",
            self.binary.display(),
            ms(run.wall),
            ms(run.cpu),
            run.maxrss_kb as f64 / 1024.0
        );
        Ok(Some(run))
    }

    async fn measure<F, Fut>(
        &self,
        target: &Target,
        meter: &CapacityMeter,
        run: F,
    ) -> Result<Run, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Summary, Error>>,
    {
        target.recorder.take();
        meter.take();
        reset_hwm();
        let (rss_start, _) = rss_kb();
        let started = Instant::now();
        let summary = run().await?;
        let wall = started.elapsed();
        let (rss_end, rss_peak) = rss_kb();
        let mut ops = BTreeMap::new();
        for op in target.recorder.take() {
            *ops.entry(format!("{}:{}", op.service, op.operation))
                .or_default() += 1;
        }
        Ok(Run {
            wall,
            ops,
            capacity: meter.take(),
            rss_start,
            rss_peak,
            rss_end,
            summary,
            phases: Vec::new(),
        })
    }

    async fn cycle(&self, target: &Target) -> Result<Run, Error> {
        self.cycle_by(target, &target.poller, &target.meter).await
    }

    /// One cycle of `poller`, its DynamoDB units counted by `meter`.
    async fn cycle_by(
        &self,
        target: &Target,
        poller: &Poller,
        meter: &CapacityMeter,
    ) -> Result<Run, Error> {
        self.measure(target, meter, || async {
            Ok(poller.run(RunOptions::default()).await?)
        })
        .await
    }

    /// A cycle with DynamoDB and SNS through the RTT relay.
    async fn remote_cycle(&self, target: &Target) -> Result<Run, Error> {
        self.cycle_by(target, &target.remote, &target.remote_meter)
            .await
    }

    /// The floor: the describe pages and the consistent state scan, nothing else.
    async fn floor(&self, target: &Target) -> Result<Run, Error> {
        self.floor_on(target, target.poller.store().state_table())
            .await
    }

    /// The floor with the state scan of `table`.
    async fn floor_on(&self, target: &Target, table: &str) -> Result<Run, Error> {
        let ec2 = &target.ec2;
        let ddb = target.poller.store().client();
        let phases = std::sync::Mutex::new(Vec::new());
        let phase = &phases;
        let mut run = self
            .measure(target, &target.meter, || async move {
                let started = Instant::now();
                let mut pages = ec2
                    .describe_route_server_peers()
                    .max_results(1000)
                    .into_paginator()
                    .send();
                let mut peers = 0;
                while let Some(page) = pages.next().await {
                    peers += page?.route_server_peers().len();
                }
                let reads = started.elapsed();
                let started = Instant::now();
                let mut pages = ddb
                    .scan()
                    .table_name(table)
                    .consistent_read(true)
                    .into_paginator()
                    .send();
                let mut items = 0;
                while let Some(page) = pages.next().await {
                    items += page?.items().len();
                }
                *phase.lock().expect("phases") =
                    vec![("Scan", started.elapsed()), ("EC2 reads", reads)];
                Ok(Summary {
                    peers_seen: peers.max(items),
                    ..Summary::default()
                })
            })
            .await?;
        run.phases = phases.into_inner().expect("phases");
        Ok(run)
    }

    fn control(&self, path: &str, body: serde_json::Value) -> Result<serde_json::Value, Error> {
        Ok(ureq::post(format!("{}{path}", self.sim.endpoint()))
            .send_json(&body)?
            .into_body()
            .read_json()?)
    }

    /// Sets `bgpStatus` on these peers: the control API has no batch call, so 4 threads.
    fn patch_bgp(&self, ids: &[String], status: &str) -> Result<Duration, Error> {
        let started = Instant::now();
        let chunk = ids.len().div_ceil(4).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|ids| {
                    s.spawn(move || -> Result<(), Error> {
                        for id in ids {
                            self.control(
                                &format!("/_sim/peers/{id}"),
                                serde_json::json!({ "bgpStatus": status }),
                            )?;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .try_for_each(|h| h.join().expect("patch thread"))
        })?;
        Ok(started.elapsed())
    }

    async fn target(&self, peers: usize) -> Result<Target, Error> {
        self.target_with(ROUTE_SERVERS, peers / ROUTE_SERVERS, 0)
            .await
    }

    /// A fresh simulator fleet (`routes_per_peer` routes from every peer) with its own tables
    /// and topic.
    async fn target_with(
        &self,
        route_servers: usize,
        peers_per_route_server: usize,
        routes_per_peer: usize,
    ) -> Result<Target, Error> {
        self.control("/_sim/reset", serde_json::json!({}))?;
        let created = self.control(
            "/_sim/fleet",
            serde_json::json!({
                "routeServers": route_servers,
                "peersPerRouteServer": peers_per_route_server,
                "routesPerPeer": routes_per_peer,
                "seed": 7,
            }),
        )?;
        let peer_ids: Vec<String> = created["routeServerPeerIds"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let moto = self.moto.endpoint();
        let recorder = Recorder::default();
        let sns = client!(aws_sdk_sns, moto, recorder);
        let topic_arn = sns
            .create_topic()
            .name(unique_name("bench-alerts"))
            .send()
            .await?
            .topic_arn
            .ok_or("no topic arn")?;
        let config = Config {
            peer_state_table: unique_name("PeerState"),
            peer_transitions_table: unique_name("PeerTransitions"),
            alert_topic_arn: Some(topic_arn),
            route_server_ids: None,
            history_retention_days: 90,
            notify_min_severity: Severity::Warning,
            // Defaults (storm threshold 5): what a user runs.
            alerting: Default::default(),
            write_concurrency: WRITE_CONCURRENCY,
            peer_logs_auto: None,
        };
        let serial = Config {
            write_concurrency: 1,
            ..config.clone()
        };
        let (meter, remote_meter) = (CapacityMeter::default(), CapacityMeter::default());
        let ec2 = client!(aws_sdk_ec2, self.sim.endpoint(), recorder);
        let remote_ddb = client!(aws_sdk_dynamodb, &self.relay, recorder, remote_meter);
        let remote_sns = client!(aws_sdk_sns, &self.relay, recorder);
        let ddb = client!(aws_sdk_dynamodb, moto, recorder, meter);
        let target = Target {
            remote: Poller::from_clients(
                ec2.clone(),
                remote_ddb.clone(),
                remote_sns.clone(),
                config.clone(),
            ),
            remote_serial: Poller::from_clients(
                ec2.clone(),
                remote_ddb,
                remote_sns,
                serial.clone(),
            ),
            poller: Poller::from_clients(ec2.clone(), ddb.clone(), sns.clone(), config),
            poller_serial: Poller::from_clients(ec2.clone(), ddb, sns, serial),
            ec2,
            meter,
            remote_meter,
            recorder,
            peer_ids,
            peers_only_table: None,
        };
        create_tables(target.poller.store()).await?;
        Ok(target)
    }

    /// The routed fleet of one size, its state seeded, beside a second state table holding
    /// only its peers' items: what a peers-only watcher of the same fleet would scan.
    async fn routed_target(&self, shape: &RoutedShape) -> Result<Target, Error> {
        let mut target = self
            .target_with(
                shape.route_servers,
                shape.per_route_server,
                shape.routes_per_peer,
            )
            .await?;
        let table = unique_name("PeerStateOnly");
        let config = Config {
            peer_state_table: table.clone(),
            peer_transitions_table: unique_name("PeerTransitionsOnly"),
            ..target.poller.config().clone()
        };
        let only = Poller::from_clients(
            target.ec2.clone(),
            target.poller.store().client().clone(),
            client!(aws_sdk_sns, self.moto.endpoint(), target.recorder),
            config,
        );
        create_tables(only.store()).await?;
        target.peers_only_table = Some(table);
        Ok(target)
    }

    /// Records every peer as the discovery cycle would, with `BatchWriteItem` (25 a call, 8 in
    /// flight) instead of one transaction each: `PeerState` only, as a steady cycle reads it.
    async fn seed(&self, target: &Target) -> Result<usize, Error> {
        let items = peer_items(target).await?;
        let n = items.len();
        batch_write(
            target.poller.store().client(),
            target.poller.store().state_table(),
            items,
        )
        .await?;
        Ok(n)
    }

    /// A routed fleet's discovery, seeded the same way: its peers, and the route servers,
    /// endpoints, routes and advertisements the first cycle would record, from the same
    /// detection; the peers alone into the peers-only table too. Answers (peer items, the
    /// others).
    async fn seed_routed(&self, target: &Target) -> Result<(usize, usize), Error> {
        let peers = peer_items(target).await?;
        let listed = peerwatch_aws::listing::list_peers(&target.ec2, None).await?;
        let sessions: Vec<Session> = listed.iter().map(Session::of).collect();
        drop(listed);
        let fabric = peerwatch_aws::routing::read(&target.ec2, None)
            .await?
            .fabric(&sessions);
        if !fabric.unread.is_empty() {
            return Err(format!("routing databases unread: {:?}", fabric.unread).into());
        }
        let rules = target.poller.config().rules();
        let others: Vec<_> =
            fabric::detect::detect(&HashMap::new(), &fabric, Timestamp::now(), &rules)
                .iter()
                .map(|t| fabric_record_to_item(&t.record))
                .collect();
        let counts = (peers.len(), others.len());
        let ddb = target.poller.store().client();
        if let Some(only) = &target.peers_only_table {
            batch_write(ddb, only, peers.clone()).await?;
        }
        let mut all = peers;
        all.extend(others);
        batch_write(ddb, target.poller.store().state_table(), all).await?;
        Ok(counts)
    }

    /// The floor of a routed cycle: the same describe pages, the same `DescribeRouteServers`,
    /// `DescribeRouteServerEndpoints` and every routing database page, read as concurrently
    /// as the poller reads them, and the consistent scan of the whole state; nothing else.
    async fn routes_floor(&self, target: &Target) -> Result<Run, Error> {
        let ec2 = &target.ec2;
        let ddb = target.poller.store().client();
        let table = target.poller.store().state_table();
        let phases = std::sync::Mutex::new(Vec::new());
        let phase = &phases;
        let mut run = self
            .measure(target, &target.meter, || async move {
                let started = Instant::now();
                let mut pages = ddb
                    .scan()
                    .table_name(table)
                    .consistent_read(true)
                    .into_paginator()
                    .send();
                let mut items = 0;
                while let Some(page) = pages.next().await {
                    items += page?.items().len();
                }
                let peers = async {
                    let mut pages = ec2
                        .describe_route_server_peers()
                        .max_results(1000)
                        .into_paginator()
                        .send();
                    let mut peers = 0;
                    while let Some(page) = pages.next().await {
                        peers += page?.route_server_peers().len();
                    }
                    Ok::<_, Error>(peers)
                };
                let routing = async {
                    let servers = async {
                        let mut ids = Vec::new();
                        let mut pages = ec2
                            .describe_route_servers()
                            .max_results(1000)
                            .into_paginator()
                            .send();
                        while let Some(page) = pages.next().await {
                            ids.extend(
                                page?
                                    .route_servers()
                                    .iter()
                                    .filter_map(|r| r.route_server_id().map(str::to_string)),
                            );
                        }
                        Ok::<_, Error>(ids)
                    };
                    let endpoints = async {
                        let mut pages = ec2
                            .describe_route_server_endpoints()
                            .max_results(1000)
                            .into_paginator()
                            .send();
                        while let Some(page) = pages.next().await {
                            page?;
                        }
                        Ok::<_, Error>(())
                    };
                    let (ids, ()) = futures::try_join!(servers, endpoints)?;
                    let routes: Vec<Result<usize, Error>> = futures::stream::iter(ids)
                        .map(|id| async move {
                            let mut token: Option<String> = None;
                            let mut routes = 0;
                            loop {
                                let page = ec2
                                    .get_route_server_routing_database()
                                    .route_server_id(&id)
                                    .max_results(1000)
                                    .set_next_token(token.take())
                                    .send()
                                    .await?;
                                routes += page.routes().len();
                                match page.next_token() {
                                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                                    _ => return Ok(routes),
                                }
                            }
                        })
                        .buffer_unordered(ROUTING_CONCURRENCY)
                        .collect()
                        .await;
                    routes.into_iter().sum::<Result<usize, Error>>()
                };
                let scanned = started.elapsed();
                let started = Instant::now();
                let (peers, routes) = futures::try_join!(peers, routing)?;
                *phase.lock().expect("phases") =
                    vec![("Scan", scanned), ("EC2 reads", started.elapsed())];
                Ok(Summary {
                    peers_seen: peers.max(items),
                    routes_seen: routes,
                    ..Summary::default()
                })
            })
            .await?;
        run.phases = phases.into_inner().expect("phases");
        Ok(run)
    }
}

/// The `PeerState` items of every listed peer, from the discovery cycle's detection.
async fn peer_items(target: &Target) -> Result<Vec<HashMap<String, AttributeValue>>, Error> {
    let rules = target.poller.config().rules();
    let listed = peerwatch_aws::listing::list_peers(&target.ec2, None).await?;
    let transitions =
        peerwatch_core::detect::detect(&HashMap::new(), &listed, Timestamp::now(), &rules);
    Ok(transitions
        .iter()
        .map(|tr| record_to_item(&tr.record))
        .collect())
}

/// `BatchWriteItem`, 25 items a call, 8 calls in flight, until nothing is left unprocessed.
async fn batch_write(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<(), Error> {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("item is set");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    let results: Vec<Result<(), Error>> = futures::stream::iter(requests.chunks(25))
        .map(|chunk| async move {
            let mut pending = chunk.to_vec();
            while !pending.is_empty() {
                let out = ddb
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
            Ok(())
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

fn median(mut walls: Vec<Duration>) -> Duration {
    walls.sort();
    walls[walls.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn mb(kb: u64) -> String {
    format!("{:.1}", kb as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn print_table(peers: usize, cols: &[(&str, &Run)]) {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    rows.push((
        "wall ms".into(),
        cols.iter().map(|(_, r)| ms(r.wall)).collect(),
    ));
    let mut phases: Vec<&str> = cols
        .iter()
        .flat_map(|(_, r)| r.phases.iter().map(|(name, _)| *name))
        .collect();
    phases.sort_unstable();
    phases.dedup();
    for name in phases {
        rows.push((
            format!("  of which {name} ms"),
            cols.iter()
                .map(|(_, r)| {
                    r.phases
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or_else(|| "-".to_string(), |(_, d)| ms(*d))
                })
                .collect(),
        ));
    }
    rows.push((
        "transitions recorded".into(),
        cols.iter()
            .map(|(_, r)| r.summary.transitions_recorded.to_string())
            .collect(),
    ));
    let mut ops: Vec<&String> = cols.iter().flat_map(|(_, r)| r.ops.keys()).collect();
    ops.sort();
    ops.dedup();
    for op in ops {
        rows.push((
            format!("req {op}"),
            cols.iter().map(|(_, r)| r.op(op).to_string()).collect(),
        ));
    }
    let units = |f: &dyn Fn(&Run) -> (f64, u64, u64), computed: bool| -> Vec<String> {
        cols.iter()
            .map(|(name, r)| {
                if *name == "floor" {
                    return "-".into();
                }
                let (u, requests, reported) = f(r);
                if computed || requests == 0 {
                    format!("{u:.1}")
                } else {
                    format!("{u:.1} ({reported}/{requests})")
                }
            })
            .collect()
    };
    let mut capacity_ops: Vec<&str> = cols
        .iter()
        .flat_map(|(_, r)| r.capacity.keys().copied())
        .collect();
    capacity_ops.sort();
    capacity_ops.dedup();
    for op in capacity_ops {
        let unit = if matches!(op, "Scan" | "Query") {
            "RCU"
        } else {
            "WCU"
        };
        rows.push((
            format!("{unit} {op} computed"),
            units(&|r: &Run| r.units(&[op], true), true),
        ));
        rows.push((
            format!("{unit} {op} moto"),
            units(&|r: &Run| r.units(&[op], false), false),
        ));
    }
    rows.push((
        "RCU total computed".into(),
        units(&|r: &Run| r.read_units(true), true),
    ));
    rows.push((
        "WCU total computed".into(),
        units(&|r: &Run| r.write_units(true), true),
    ));
    rows.push((
        "RSS at start MB".into(),
        cols.iter().map(|(_, r)| mb(r.rss_start)).collect(),
    ));
    rows.push((
        "peak RSS (VmHWM) MB".into(),
        cols.iter().map(|(_, r)| mb(r.rss_peak)).collect(),
    ));
    rows.push((
        "RSS growth MB".into(),
        cols.iter()
            .map(|(_, r)| mb(r.rss_peak.saturating_sub(r.rss_start)))
            .collect(),
    ));
    rows.push((
        "VmRSS after MB".into(),
        cols.iter().map(|(_, r)| mb(r.rss_end)).collect(),
    ));
    let label_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.1[i].len())
                .chain([cols[i].0.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    print!("  {:label_width$}", format!("{peers} peers"));
    for (i, (name, _)) in cols.iter().enumerate() {
        print!("  {:>w$}", name, w = widths[i]);
    }
    println!();
    for (label, values) in rows {
        print!("  {label:label_width$}");
        for (i, v) in values.iter().enumerate() {
            print!("  {:>w$}", v, w = widths[i]);
        }
        println!();
    }
}

async fn bench_size(bench: &Bench, peers: usize) -> Result<(), Error> {
    println!(
        "\n== {peers} peers ({ROUTE_SERVERS} route servers x {}) ==",
        peers / ROUTE_SERVERS
    );
    let target = bench.target(peers).await?;

    // Discovery: every peer recorded.
    if peers <= DISCOVER_THROUGH_POLLER_MAX {
        let d = bench.cycle(&target).await?;
        println!(
            "  discovery cycle (through the poller): {} transitions recorded in {} ms, {} TransactWriteItems, {} Publish",
            d.summary.transitions_recorded,
            ms(d.wall),
            d.op("DynamoDB:TransactWriteItems"),
            d.op("SNS:Publish"),
        );
    } else {
        let started = Instant::now();
        let seeded = bench.seed(&target).await?;
        println!(
            "  discovery seeded with BatchWriteItem (moto copies each table per transaction, so \
             {peers} transactions would be O(N^2)): {seeded} peers in {} ms",
            ms(started.elapsed())
        );
        // One cycle to settle (its outbox, if any), not measured.
        bench.cycle(&target).await?;
    }

    // The steady cycle by the real binary in a child process, if it is built.
    let child = bench.child_runs(&target)?;
    if bench.binary_only {
        return Ok(());
    }
    // Steady state, interleaved with the floor.
    let (mut steady, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..STEADY_RUNS {
        floor.push(bench.floor(&target).await?);
        steady.push(bench.cycle(&target).await?);
    }
    let steady_wall = median(steady.iter().map(|r| r.wall).collect());
    let floor_wall = median(floor.iter().map(|r| r.wall).collect());
    let mut steady_run = steady.last().cloned().unwrap_or_default();
    steady_run.wall = steady_wall;
    steady_run.rss_peak = steady.iter().map(|r| r.rss_peak).max().unwrap_or(0);
    let mut floor_run = floor.last().cloned().unwrap_or_default();
    floor_run.wall = floor_wall;

    if peers > DISCOVER_THROUGH_POLLER_MAX && !bench.all_storms {
        println!(
            "  storms skipped: through moto, each of the {} transactions copies both tables \
             (0.16 s apiece at 1,000 peers, growing with the tables), so a storm would take tens of \
             minutes; --all-storms runs them",
            peers / 10
        );
        print_table(peers, &[("steady", &steady_run), ("floor", &floor_run)]);
        print_budgets(peers, &steady, &steady_run, floor_wall, None, child);
        return Ok(());
    }

    // Storms: 10 % of the peers (every tenth, across the route servers) go BGP down.
    let storm_a: Vec<String> = target.peer_ids.iter().step_by(10).cloned().collect();
    let storm_b: Vec<String> = target
        .peer_ids
        .iter()
        .skip(1)
        .step_by(10)
        .cloned()
        .collect();
    let patched = bench.patch_bgp(&storm_a, "down")?;
    let storm16 = bench.cycle(&target).await?;
    // They come back (a recovery storm, not measured), then another 10 % goes down at 1.
    bench.patch_bgp(&storm_a, "up")?;
    let recovery = bench.cycle(&target).await?;
    bench.patch_bgp(&storm_b, "down")?;
    let storm1 = bench
        .cycle_by(&target, &target.poller_serial, &target.meter)
        .await?;
    // The same again with a network round trip to DynamoDB and SNS (the relay): 10 % more
    // down at the default concurrency, back up, another 10 % down at 1.
    let storm_c: Vec<String> = target
        .peer_ids
        .iter()
        .skip(2)
        .step_by(10)
        .cloned()
        .collect();
    let storm_d: Vec<String> = target
        .peer_ids
        .iter()
        .skip(3)
        .step_by(10)
        .cloned()
        .collect();
    bench.patch_bgp(&storm_b, "up")?;
    bench.cycle(&target).await?;
    bench.patch_bgp(&storm_c, "down")?;
    let remote16 = bench.remote_cycle(&target).await?;
    bench.patch_bgp(&storm_c, "up")?;
    bench.remote_cycle(&target).await?;
    bench.patch_bgp(&storm_d, "down")?;
    let remote1 = bench
        .cycle_by(&target, &target.remote_serial, &target.remote_meter)
        .await?;

    println!(
        "  storm: {} peers patched BGP down in {} ms (control API, 4 threads, not timed in the cycle); storm threshold: default 5 (grouped per route server)",
        storm_a.len(),
        ms(patched)
    );
    let c16 = format!("storm c={WRITE_CONCURRENCY}");
    let rtt_ms = bench.rtt.as_millis();
    let r16 = format!("rtt {rtt_ms} ms c={WRITE_CONCURRENCY}");
    let r1 = format!("rtt {rtt_ms} ms c=1");
    print_table(
        peers,
        &[
            ("steady", &steady_run),
            ("floor", &floor_run),
            (c16.as_str(), &storm16),
            ("storm c=1", &storm1),
            ("recovery", &recovery),
            (r16.as_str(), &remote16),
            (r1.as_str(), &remote1),
        ],
    );

    print_budgets(
        peers,
        &steady,
        &steady_run,
        floor_wall,
        Some((&storm16, &storm1)),
        child,
    );
    println!(
        "    storm writes, {rtt_ms} ms round trip     c={WRITE_CONCURRENCY}: {} ms, c=1: {} ms ({:.2}x)",
        ms(remote16.wall),
        ms(remote1.wall),
        remote1.wall.as_secs_f64() / remote16.wall.as_secs_f64()
    );
    Ok(())
}

/// The routed fleet of one size: `peers / 2` route servers up to 50 (the simulator routes
/// for at most 64), so every route server has at least 2 peers and at 10,000 peers each has
/// 200; every peer advertises the same `routes_per_peer` prefixes as the others of its route
/// server, one best path and backups per prefix.
struct RoutedShape {
    route_servers: usize,
    per_route_server: usize,
    routes_per_peer: usize,
}

const ROUTED_ROUTE_SERVERS_MAX: usize = 50;

impl RoutedShape {
    fn for_peers(peers: usize, routes_per_peer: usize) -> RoutedShape {
        let route_servers = (peers / 2).clamp(1, ROUTED_ROUTE_SERVERS_MAX);
        RoutedShape {
            route_servers,
            per_route_server: peers / route_servers,
            routes_per_peer,
        }
    }

    fn peers(&self) -> usize {
        self.route_servers * self.per_route_server
    }

    /// `GetRouteServerRoutingDatabase` calls a cycle needs: each route server's routes, 1,000
    /// a page.
    fn routing_pages(&self) -> usize {
        self.route_servers
            * (self.per_route_server * self.routes_per_peer)
                .div_ceil(1000)
                .max(1)
    }
}

/// Median wall time of the runs, the highest RSS peak; the rest from the last run.
fn combined(runs: &[Run]) -> Run {
    let mut run = runs.last().cloned().unwrap_or_default();
    run.wall = median(runs.iter().map(|r| r.wall).collect());
    run.rss_peak = runs.iter().map(|r| r.rss_peak).max().unwrap_or(0);
    run
}

/// The steady cycle of a routed fleet against the same fleet's peers-only floor: three runs
/// each of the peers-only floor, the routed floor and the poller, interleaved.
async fn bench_routes(bench: &Bench, peers: usize, routes_per_peer: usize) -> Result<(), Error> {
    let shape = RoutedShape::for_peers(peers, routes_per_peer);
    let peers = shape.peers();
    println!(
        "\n== {peers} peers with routes ({} route servers x {}, {} routes from every peer: {} routes in the RIBs, {} prefixes in the FIBs) ==",
        shape.route_servers,
        shape.per_route_server,
        shape.routes_per_peer,
        peers * shape.routes_per_peer,
        shape.route_servers * shape.routes_per_peer
    );
    let target = bench.routed_target(&shape).await?;
    let started = Instant::now();
    let (peer_items, others) = bench.seed_routed(&target).await?;
    println!(
        "  discovery seeded with BatchWriteItem: {peer_items} peers and {others} route-server, endpoint, route and advertisement items in {} ms (the peers alone into a second table, the peers-only state)",
        ms(started.elapsed())
    );
    let settle = bench.cycle(&target).await?;
    let settled = settle.summary.transitions_recorded + settle.summary.routing_transitions_recorded;
    if settled != 0 {
        println!("  NOTE: the first cycle after seeding recorded {settled} transitions");
    }
    let child = bench.child_runs(&target)?;
    let only = target
        .peers_only_table
        .clone()
        .ok_or("a routed target has a peers-only table")?;
    let (mut floor, mut routes_floor, mut steady) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..STEADY_RUNS {
        floor.push(bench.floor_on(&target, &only).await?);
        routes_floor.push(bench.routes_floor(&target).await?);
        steady.push(bench.cycle(&target).await?);
    }
    let (floor_run, routes_floor_run, steady_run) =
        (combined(&floor), combined(&routes_floor), combined(&steady));
    print_table(
        peers,
        &[
            ("peers-only floor", &floor_run),
            ("routes floor", &routes_floor_run),
            ("routes steady", &steady_run),
        ],
    );

    let at_10k = |ok: bool| {
        if peers == 10_000 {
            verdict(ok)
        } else {
            "(budget set at 10,000)"
        }
    };
    let wall = |r: &Run| r.wall.as_secs_f64();
    let ratio = wall(&steady_run) / wall(&floor_run);
    println!("  budgets, with routes:");
    println!(
        "    routes steady / peers-only floor <= 1.3 (at 10,000)  {ratio:.2} ({} / {} ms)  {}",
        ms(steady_run.wall),
        ms(floor_run.wall),
        at_10k(ratio <= 1.3)
    );
    println!(
        "    routes steady / routes floor (the poller's own work)  {:.2} ({} / {} ms)",
        wall(&steady_run) / wall(&routes_floor_run),
        ms(steady_run.wall),
        ms(routes_floor_run.wall)
    );
    println!(
        "    routes floor / peers-only floor (the routing reads)   {:.2} ({} / {} ms)",
        wall(&routes_floor_run) / wall(&floor_run),
        ms(routes_floor_run.wall),
        ms(floor_run.wall)
    );
    let (steady_wcu, _, _) = steady_run.write_units(true);
    let publishes: usize = steady.iter().map(|r| r.op("SNS:Publish")).sum();
    println!(
        "    steady: 0 write units, 0 publishes                  {steady_wcu:.1} WCU, {publishes} publishes  {}",
        verdict(steady_wcu == 0.0 && publishes == 0)
    );
    let routing_calls = steady_run.op("EC2:GetRouteServerRoutingDatabase");
    println!(
        "    steady: routing database calls = pages of routes    {routing_calls} (want {}: {} a route server)  {}",
        shape.routing_pages(),
        shape.routing_pages() / shape.route_servers,
        verdict(routing_calls == shape.routing_pages())
    );
    let describe = steady_run.op("EC2:DescribeRouteServerPeers");
    println!(
        "    steady: describe calls = ceil(N/1000)               {describe} (want {})  {}",
        peers.div_ceil(1000),
        verdict(describe == peers.div_ceil(1000))
    );
    let scan = |r: &Run| r.units(&["Scan"], true);
    let ((only_rcu, only_pages, _), (routes_rcu, routes_pages, _)) =
        (scan(&floor_run), scan(&steady_run));
    println!(
        "    Scan RCU (computed): peers only {only_rcu:.1} in {only_pages} pages, with routes {routes_rcu:.1} in {routes_pages} pages ({:.2}x)",
        routes_rcu / only_rcu.max(f64::MIN_POSITIVE)
    );
    if let Some(run) = child {
        let child_mb = run.maxrss_kb as f64 / 1024.0;
        println!(
            "    peak RSS <= 64 MB, the binary, with routes          {child_mb:.1} MB (peerwatch poll, steady)  {}",
            at_10k(child_mb <= 64.0)
        );
    }
    let detected: usize = steady
        .iter()
        .map(|r| r.summary.transitions_detected + r.summary.routing_transitions_detected)
        .sum();
    if detected != 0 {
        println!("    NOTE: the steady runs detected {detected} transitions");
    }
    Ok(())
}

fn print_budgets(
    peers: usize,
    steady: &[Run],
    steady_run: &Run,
    floor_wall: Duration,
    storms: Option<(&Run, &Run)>,
    child: Option<ChildRun>,
) {
    let steady_wall = steady_run.wall;
    let detected_in_steady: usize = steady.iter().map(|r| r.summary.transitions_detected).sum();
    let describe_calls = peers.div_ceil(1000);
    let ratio = steady_wall.as_secs_f64() / floor_wall.as_secs_f64();
    let (steady_wcu, _, _) = steady_run.write_units(true);
    let steady_publish = steady.iter().map(|r| r.op("SNS:Publish")).sum::<usize>();
    let steady_describe = steady_run.op("EC2:DescribeRouteServerPeers");
    let peak_mb = steady
        .iter()
        .chain(storms.into_iter().flat_map(|(a, b)| [a, b]))
        .map(|r| r.rss_peak)
        .max()
        .unwrap_or(0) as f64
        / 1024.0;
    println!("  budgets:");
    println!(
        "    steady: 0 write units                  {steady_wcu:.1} WCU computed, {} write requests    {}",
        steady_run.op("DynamoDB:TransactWriteItems") + steady_run.op("DynamoDB:UpdateItem"),
        verdict(steady_wcu == 0.0)
    );
    println!(
        "    steady: 0 publishes                    {steady_publish}                                  {}",
        verdict(steady_publish == 0)
    );
    println!(
        "    steady: describe calls = ceil(N/1000)  {steady_describe} (want {describe_calls})                         {}",
        verdict(steady_describe == describe_calls)
    );
    println!(
        "    poller/floor wall <= 1.3 (at 10,000)   {ratio:.2} ({} / {} ms)             {}",
        ms(steady_wall),
        ms(floor_wall),
        if peers == 10_000 {
            verdict(ratio <= 1.3)
        } else {
            "(budget set at 10,000)"
        }
    );
    let at_10k = |ok: bool| {
        if peers == 10_000 {
            verdict(ok)
        } else {
            "(budget set at 10,000)"
        }
    };
    // The bench process holds the fleet it seeded: the budget is the binary's, below.
    println!(
        "    peak RSS, this process (for reference)  {peak_mb:.1} MB (bench VmHWM, includes the seeding's data)"
    );
    if let Some(run) = child {
        let child_mb = run.maxrss_kb as f64 / 1024.0;
        println!(
            "    peak RSS <= 64 MB, the binary          {child_mb:.1} MB (peerwatch poll, steady)   {}",
            at_10k(child_mb <= 64.0)
        );
    }
    if let Some((storm16, storm1)) = storms {
        println!(
            "    storm writes concurrent                c={WRITE_CONCURRENCY}: {} ms, c=1: {} ms ({:.2}x)",
            ms(storm16.wall),
            ms(storm1.wall),
            storm1.wall.as_secs_f64() / storm16.wall.as_secs_f64()
        );
    }
    if detected_in_steady != 0 {
        println!("    NOTE: the steady runs detected {detected_in_steady} transitions");
    }
}

struct Args {
    sizes: Vec<usize>,
    /// The fleet sizes at all (`--time-to-alert` alone skips them).
    fleets: bool,
    /// Time to alert, log path and poll, and the consumer's time per record.
    time_to_alert: bool,
    alert_samples: usize,
    all_storms: bool,
    /// Which of the two fleets each size measures.
    peers_fleet: bool,
    routed_fleet: bool,
    routes_per_peer: usize,
    binary: PathBuf,
    binary_only: bool,
    rtt: Duration,
}

fn parse_args() -> Result<Args, Error> {
    let mut sizes = vec![100, 1_000, 10_000];
    let mut all_storms = false;
    let mut binary = same_build_binary("peerwatch")?;
    let mut binary_only = false;
    let mut rtt = Duration::from_millis(10);
    let (mut peers_fleet, mut routed_fleet) = (true, true);
    let mut routes_per_peer = 20;
    let (mut fleets, mut time_to_alert, mut alert_samples) = (true, true, 200);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => sizes = vec![100, 1_000],
            "--all-storms" => all_storms = true,
            "--binary" => binary = args.next().ok_or("--binary needs a path")?.into(),
            "--binary-only" => binary_only = true,
            "--time-to-alert" => (fleets, time_to_alert) = (false, true),
            "--no-time-to-alert" => time_to_alert = false,
            "--alert-samples" => {
                let n = args.next().ok_or("--alert-samples needs a number")?;
                alert_samples = n.parse()?;
                if alert_samples == 0 {
                    return Err("--alert-samples takes at least 1".into());
                }
            }
            "--no-routes" => routed_fleet = false,
            "--routes-only" => peers_fleet = false,
            "--routes-per-peer" => {
                let n = args.next().ok_or("--routes-per-peer needs a number")?;
                routes_per_peer = n.parse()?;
                if !(1..=100).contains(&routes_per_peer) {
                    return Err("--routes-per-peer takes 1 to 100 (the simulator's limit)".into());
                }
            }
            "--rtt-ms" => {
                let n = args
                    .next()
                    .ok_or("--rtt-ms needs a number of milliseconds")?;
                rtt = Duration::from_millis(n.parse()?);
            }
            "--sizes" => {
                let list = args.next().ok_or("--sizes needs a list, e.g. 100,1000")?;
                sizes = list
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()?;
            }
            other if other.starts_with("--sizes=") => {
                sizes = other["--sizes=".len()..]
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse())
                    .collect::<Result<_, _>>()?;
            }
            "-h" | "--help" => {
                println!(
                    "bench [--sizes 100,1000,10000] [--quick] [--all-storms] [--binary PATH] [--binary-only] [--rtt-ms 10] [--no-routes | --routes-only] [--routes-per-peer 20] [--time-to-alert | --no-time-to-alert] [--alert-samples 200]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if let Some(bad) = sizes.iter().find(|&&n| n < ROUTE_SERVERS) {
        return Err(format!("a fleet needs at least {ROUTE_SERVERS} peers, not {bad}").into());
    }
    if !peers_fleet && !routed_fleet {
        return Err("--no-routes and --routes-only leave nothing to measure".into());
    }
    if binary_only && !peers_fleet {
        return Err(
            "--binary-only measures the peers-only fleet, which --routes-only skips".into(),
        );
    }
    if binary_only && !binary.is_file() {
        return Err(format!("--binary-only: {} is not built", binary.display()).into());
    }
    if !fleets && !time_to_alert {
        return Err("--time-to-alert and --no-time-to-alert leave nothing to measure".into());
    }
    Ok(Args {
        sizes,
        fleets,
        time_to_alert: time_to_alert && !binary_only,
        alert_samples,
        all_storms,
        peers_fleet,
        routed_fleet,
        routes_per_peer,
        binary,
        binary_only,
        rtt,
    })
}

#[tokio::main]
pub async fn main() -> Result<(), Error> {
    let Args {
        sizes,
        fleets,
        time_to_alert,
        alert_samples,
        all_storms,
        peers_fleet,
        routed_fleet,
        routes_per_peer,
        binary,
        binary_only,
        rtt,
    } = parse_args()?;
    let sizes = if fleets { sizes } else { Vec::new() };
    let sim = Emulator::simulator(
        &same_build_binary("route-server-sim")?,
        &["--transition-ms", "0"],
    )?;
    let moto = Emulator::moto(&project_python()).map_err(|e| {
        format!(
            "{e}\n  moto comes from the project venv: run `make venv` (or set PEERWATCH_PYTHON)"
        )
    })?;
    let hwm_resets = reset_hwm();
    let moto_endpoint = moto.endpoint().to_string();
    let moto_endpoint = moto_endpoint.as_str();
    let bench = Bench {
        sim,
        moto,
        hwm_resets,
        all_storms,
        binary,
        binary_only,
        relay: rtt_relay(moto_endpoint, rtt).await?,
        rtt,
    };
    println!(
        "peerwatch bench: {} CPUs, sizes {sizes:?}; VmHWM reset per phase: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if bench.hwm_resets {
            "yes"
        } else {
            "no (peak is the process's)"
        }
    );
    println!(
        "units: 'computed' from item sizes by DynamoDB's rules; 'reported by moto' is moto's \
         ConsumedCapacity, with (responses that carried one / requests)"
    );
    let started = Instant::now();
    for peers in sizes {
        let size_started = Instant::now();
        if peers_fleet {
            bench_size(&bench, peers).await?;
        }
        // `--binary-only` compares builds on the peers-only fleet alone.
        if routed_fleet && !bench.binary_only {
            bench_routes(&bench, peers, routes_per_peer).await?;
        }
        println!(
            "  ({peers} peers: {:.1} s in all)",
            size_started.elapsed().as_secs_f64()
        );
    }
    if time_to_alert {
        let alert_started = Instant::now();
        time_to_alert::run(&bench, alert_samples).await?;
        println!(
            "  (time to alert: {:.1} s in all)",
            alert_started.elapsed().as_secs_f64()
        );
    }
    println!("\nbench done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
