//! Shared helpers: emulators on free ports, SDK clients pointed at them, isolated names.

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use peerwatch_aws::config::Config;
use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_core::model::{Severity, Timestamp};
use peerwatch_core::summary::Summary;
use peerwatch_testkit::emulators::{Emulator, project_python, unique_name};
use peerwatch_testkit::recorder::Recorder;
use serde_json::{Value, json};

/// A binary of the workspace from the same build as this test (`cargo test --workspace`
/// builds them all; the Makefile builds them first): `target/<profile>/NAME`.
pub fn workspace_bin(name: &str) -> String {
    let path = peerwatch_testkit::emulators::same_build_binary(name)
        .unwrap_or_else(|e| panic!("cannot locate the {name} binary: {e}"));
    assert!(
        path.exists(),
        "{} is missing: build the workspace's binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// The simulator binary cargo built for this test run.
pub static SIM_BIN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::helpers::workspace_bin("route-server-sim"));

/// One moto for the whole test binary; each test isolates itself by unique table and topic names.
#[allow(dead_code)]
pub fn moto() -> &'static Emulator {
    static MOTO: OnceLock<Emulator> = OnceLock::new();
    MOTO.get_or_init(|| {
        Emulator::moto(&project_python())
            .unwrap_or_else(|e| panic!("moto is needed for this test (run `make venv`): {e}"))
    })
}

/// A simulator of this test's own; `transition_ms` is how long pending/deleting take.
pub fn simulator(transition_ms: u64) -> Sim {
    let emu = Emulator::simulator(
        std::path::Path::new(&*SIM_BIN),
        &["--transition-ms", &transition_ms.to_string()],
    )
    .expect("starting route-server-sim");
    Sim { emu }
}

pub struct Sim {
    emu: Emulator,
}

impl Sim {
    pub fn endpoint(&self) -> &str {
        self.emu.endpoint()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint())
    }

    /// Calls the control API; answers (status, JSON body).
    pub fn control(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = self.url(path);
        let resp = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            ("POST", Some(b)) => agent.post(&url).content_type("application/json").send(b),
            ("POST", None) => agent.post(&url).send_empty(),
            _ => panic!("unsupported method {method}"),
        }
        .expect("simulator answers");
        let status = resp.status().as_u16();
        let text = resp.into_body().read_to_string().expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub fn fleet(&self, route_servers: u32, peers_per_route_server: u32) -> Vec<String> {
        self.fleet_seeded(route_servers, peers_per_route_server, 42)
    }

    /// A fleet whose ids come from `seed`: for a test whose peers must not share ids with other
    /// tests' in the shared moto (a delivery source is named after its peer).
    pub fn fleet_seeded(
        &self,
        route_servers: u32,
        peers_per_route_server: u32,
        seed: u64,
    ) -> Vec<String> {
        let (status, body) = self.control(
            "POST",
            "/_sim/fleet",
            Some(&json!({"routeServers": route_servers, "peersPerRouteServer": peers_per_route_server, "seed": seed}).to_string()),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body["routeServerPeerIds"].clone()).expect("peer ids")
    }

    /// Every peer as the control API shows it, by id.
    #[allow(dead_code)]
    pub fn peers(&self) -> std::collections::BTreeMap<String, Value> {
        let (status, peers) = self.control("GET", "/_sim/peers", None);
        assert_eq!(status, 200, "{peers}");
        peers
            .as_array()
            .expect("an array of peers")
            .iter()
            .map(|p| {
                let id = p["routeServerPeerId"].as_str().expect("peer id");
                (id.to_string(), p.clone())
            })
            .collect()
    }

    pub fn fault(&self, action: &str, count: u32, code: &str, status: u16) {
        let body = json!({"action": action, "count": count, "code": code, "status": status});
        let (s, b) = self.control("POST", "/_sim/faults", Some(&body.to_string()));
        assert_eq!(s, 200, "{b}");
    }

    /// Sets fields of one peer; `patch` is the control API's JSON.
    #[allow(dead_code)]
    pub fn set_peer(&self, id: &str, patch: Value) -> Value {
        let (s, b) = self.control(
            "POST",
            &format!("/_sim/peers/{id}"),
            Some(&patch.to_string()),
        );
        assert_eq!(s, 200, "{b}");
        b
    }
}

/// A clock a test moves by hand, so a history can be scripted over hours in milliseconds:
/// `stack.poller.set_clock(clock.clock())`, then `clock.set(..)` or `clock.advance(..)`
/// before each cycle.
#[allow(dead_code)]
#[derive(Clone)]
pub struct ManualClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

#[allow(dead_code)]
impl ManualClock {
    pub fn at(rfc3339: &str) -> Self {
        let t: Timestamp = rfc3339.parse().expect("an RFC 3339 time");
        ManualClock(std::sync::Arc::new(t.as_millis().into()))
    }
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(std::sync::atomic::Ordering::SeqCst)).expect("in range")
    }
    pub fn set(&self, rfc3339: &str) {
        let t: Timestamp = rfc3339.parse().expect("an RFC 3339 time");
        self.0
            .store(t.as_millis(), std::sync::atomic::Ordering::SeqCst);
    }
    pub fn advance_secs(&self, secs: i64) {
        self.0
            .fetch_add(secs * 1000, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn clock(&self) -> peerwatch_aws::cycle::Clock {
        let me = self.clone();
        std::sync::Arc::new(move || me.now())
    }
}

/// Static test credentials and a region: the emulators accept any signature.
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(peerwatch_aws::sdk::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "test", "test", None, None, "tests",
        )))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(10)),
        )
        .build()
}

pub fn ec2_client(endpoint: &str) -> aws_sdk_ec2::Client {
    let conf = aws_sdk_ec2::config::Builder::from(&sdk_config())
        .endpoint_url(endpoint)
        .build();
    aws_sdk_ec2::Client::from_conf(conf)
}

/// A client config for one service pointed at `endpoint`, recording its operations.
macro_rules! client {
    ($sdk:ident, $endpoint:expr, $recorder:expr) => {{
        let conf = $sdk::config::Builder::from(&sdk_config())
            .endpoint_url($endpoint)
            .interceptor($recorder.clone())
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

/// Everything one poller test needs: its own simulator, its own tables, topic and queue in
/// the shared moto, and a poller wired to them whose AWS calls are recorded.
pub struct Stack {
    pub sim: Sim,
    pub poller: Poller,
    pub recorder: Recorder,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub config: Config,
}

impl Stack {
    pub async fn new() -> Stack {
        Self::with(|_| {}).await
    }

    /// Like `new`, with a chance to change the configuration first.
    pub async fn with(adjust: impl FnOnce(&mut Config)) -> Stack {
        let sim = simulator(0);
        let moto = moto().endpoint().to_string();
        let recorder = Recorder::default();
        let sns = client!(aws_sdk_sns, &moto, recorder);
        let sqs = client!(aws_sdk_sqs, &moto, Recorder::default());
        let topic_arn = sns
            .create_topic()
            .name(unique_name("alerts"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("topic arn");
        let queue_url = subscribe_queue(&sqs, &moto, &topic_arn).await;
        let mut config = Config {
            peer_state_table: unique_name("PeerState"),
            peer_transitions_table: unique_name("PeerTransitions"),
            alert_topic_arn: Some(topic_arn),
            route_server_ids: None,
            history_retention_days: 90,
            notify_min_severity: Severity::Warning,
            alerting: Default::default(),
            write_concurrency: peerwatch_aws::config::DEFAULT_WRITE_CONCURRENCY,
            peer_logs_auto: None,
        };
        adjust(&mut config);
        let poller = Self::poller_with(&sim, &moto, &moto, &recorder, config.clone());
        peerwatch_testkit::tables::create_tables(poller.store())
            .await
            .expect("create tables");
        recorder.take();
        Stack {
            sim,
            poller,
            recorder,
            sqs,
            queue_url,
            config,
        }
    }

    /// A poller on the same tables; `sns_endpoint` may differ (e.g. to make SNS unreachable).
    pub fn poller_with(
        sim: &Sim,
        moto: &str,
        sns_endpoint: &str,
        recorder: &Recorder,
        config: Config,
    ) -> Poller {
        Poller::from_clients(
            client!(aws_sdk_ec2, sim.endpoint(), recorder),
            client!(aws_sdk_dynamodb, moto, recorder),
            client!(aws_sdk_sns, sns_endpoint, recorder),
            config,
        )
    }

    pub async fn cycle(&self) -> Summary {
        self.poller
            .run(RunOptions::default())
            .await
            .expect("poll cycle")
    }

    /// Every message delivered to the queue so far, as SNS's envelope JSON, oldest first.
    pub async fn deliveries(&self) -> Vec<Value> {
        drain_queue(&self.sqs, &self.queue_url).await
    }

    /// The peers' history items, oldest first (endpoints', route servers', routes' and
    /// advertisements' share the table: [`Stack::routing_history`]).
    pub async fn history(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = self.all_history().await;
        items.retain(|i| s(i, "RouteServerPeerId").starts_with("rsp-"));
        items
    }

    /// The history items of everything but peers, oldest first.
    pub async fn routing_history(&self) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = self.all_history().await;
        items.retain(|i| !s(i, "RouteServerPeerId").starts_with("rsp-"));
        items
    }

    async fn all_history(&self) -> Vec<HashMap<String, AttributeValue>> {
        // Not the poller's client: the test's own reads must not count as the poller's calls.
        let ddb = client!(aws_sdk_dynamodb, moto().endpoint(), Recorder::default());
        let items = ddb
            .scan()
            .table_name(&self.config.peer_transitions_table)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .expect("scan history");
        let mut items = items;
        items.sort_by_key(|i| (s(i, "ObservedAt"), s(i, "RouteServerPeerId")));
        items
    }
}

/// A new queue in moto subscribed to `topic_arn`; answers its URL.
pub async fn subscribe_queue(sqs: &aws_sdk_sqs::Client, moto: &str, topic_arn: &str) -> String {
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("deliveries"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|mut a| a.remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue arn");
    client!(aws_sdk_sns, moto, Recorder::default())
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe queue");
    queue_url
}

/// Every message delivered to the queue so far, as SNS's envelope JSON, oldest first.
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let msgs = got.messages.unwrap_or_default();
        if msgs.is_empty() {
            break;
        }
        for m in msgs {
            out.push(serde_json::from_str(m.body().expect("body")).expect("envelope JSON"));
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().expect("handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    out
}

/// The Amazon Q Developer document (the `https` protocol's message) of a published
/// `MessageStructure=json` message.
pub fn chat_of(message: &Value) -> Value {
    serde_json::from_str(message["https"].as_str().expect("an https message"))
        .expect("the chat document is JSON")
}

/// A string attribute of an item, or "" when absent.
pub fn s(item: &HashMap<String, AttributeValue>, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A child process started as a user would: the caller's environment without any AWS or
/// peerwatch setting, test credentials and a region, and, with a stack, its tables, topic and
/// endpoints, the endpoints only through the SDK's standard `AWS_ENDPOINT_URL_*` variables.
pub fn user_command(
    program: impl AsRef<std::ffi::OsStr>,
    stack: Option<&Stack>,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("AWS_")
            || k.starts_with("PEER_")
            || [
                "ALERT_TOPIC_ARN",
                "ROUTE_SERVER_IDS",
                "HISTORY_RETENTION_DAYS",
                "NOTIFY_MIN_SEVERITY",
            ]
            .contains(&&*k)
        {
            cmd.env_remove(&*k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        );
    if let Some(stack) = stack {
        cmd.env("AWS_ENDPOINT_URL_EC2", stack.sim.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", moto().endpoint())
            .env("AWS_ENDPOINT_URL_SNS", moto().endpoint())
            .env("PEER_STATE_TABLE", &stack.config.peer_state_table)
            .env(
                "PEER_TRANSITIONS_TABLE",
                &stack.config.peer_transitions_table,
            )
            .env(
                "ALERT_TOPIC_ARN",
                stack
                    .config
                    .alert_topic_arn
                    .as_deref()
                    .expect("the stack has a topic"),
            );
    }
    cmd
}
