//! Shared helpers: emulators on free ports, SDK clients pointed at them, isolated names.

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use peerwatch::emulators::{Emulator, project_python};
use serde_json::{Value, json};

/// The simulator binary cargo built for this test run.
pub const SIM_BIN: &str = env!("CARGO_BIN_EXE_route-server-sim");

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
        std::path::Path::new(SIM_BIN),
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
        let (status, body) = self.control(
            "POST",
            "/_sim/fleet",
            Some(&json!({"routeServers": route_servers, "peersPerRouteServer": peers_per_route_server, "seed": 42}).to_string()),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body["routeServerPeerIds"].clone()).expect("peer ids")
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

/// Static test credentials and a region: the emulators accept any signature.
pub fn sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
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
