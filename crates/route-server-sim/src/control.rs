//! The `/_sim/` control API: JSON over HTTP beside the EC2 endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::state::{PeerPatch, PeerView};
use super::{Fault, Simulator};

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

#[allow(clippy::result_large_err)] // the error is the response itself, returned at once
/// Parses a JSON body strictly: bad JSON, wrong types and unknown fields are a 400 that says which.
fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

fn unknown_peer(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no route server peer '{id}'"),
    )
}

/// `null` for `failureReason` clears it, so absence and null must be told apart.
fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchBody {
    state: Option<String>,
    #[serde(default, deserialize_with = "some_or_null")]
    failure_reason: Option<Option<String>>,
    bgp_status: Option<String>,
    bfd_status: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

pub async fn patch_peer(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let patch: PatchBody = match body(&bytes) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let patch = PeerPatch {
        state: patch.state,
        failure_reason: patch.failure_reason,
        bgp_status: patch.bgp_status,
        bfd_status: patch.bfd_status,
        tags: patch.tags,
    };
    let mut world = sim.world();
    let now = Instant::now();
    world.settle(now);
    match world.patch_peer(now, &id, patch) {
        Some(view) => Json(view).into_response(),
        None => unknown_peer(&id),
    }
}

pub async fn list_peers(State(sim): State<Simulator>) -> Response {
    let mut world = sim.world();
    world.settle(Instant::now());
    let peers: Vec<PeerView> = world.peers.values().map(PeerView::from).collect();
    Json(peers).into_response()
}

pub async fn vanish_peer(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    match sim.world().vanish_peer(&id) {
        Some(view) => Json(view).into_response(),
        None => unknown_peer(&id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FleetBody {
    route_servers: u32,
    peers_per_route_server: u32,
    seed: Option<u64>,
}

/// Enough for any benchmark here, small enough that a typo cannot eat the machine's memory.
const MAX_FLEET_PEERS: u64 = 200_000;

pub async fn create_fleet(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let fleet: FleetBody = match body(&bytes) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if fleet.route_servers == 0 {
        return error(StatusCode::BAD_REQUEST, "routeServers must be at least 1");
    }
    let total = u64::from(fleet.route_servers) * u64::from(fleet.peers_per_route_server);
    if total > MAX_FLEET_PEERS {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "a fleet of {total} peers is more than the simulator allows ({MAX_FLEET_PEERS})"
            ),
        );
    }
    let ids = sim.world().create_fleet(
        Instant::now(),
        fleet.route_servers,
        fleet.peers_per_route_server,
        fleet.seed,
    );
    Json(json!({ "routeServerPeerIds": ids })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FaultBody {
    action: String,
    count: u32,
    code: Option<String>,
    status: Option<u16>,
    delay_ms: Option<u64>,
    #[serde(default)]
    empty_page: bool,
}

pub async fn add_fault(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let f: FaultBody = match body(&bytes) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if f.action.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "action must name an EC2 action, or * for all",
        );
    }
    if f.count == 0 {
        return error(StatusCode::BAD_REQUEST, "count must be at least 1");
    }
    let error_part = match (f.code, f.status) {
        (Some(code), Some(status)) if (400..=599).contains(&status) && !code.is_empty() => {
            Some((status, code))
        }
        (Some(_), Some(status)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("status {status} is not an HTTP error status (400-599), or code is empty"),
            );
        }
        (Some(_), None) | (None, Some(_)) => {
            return error(StatusCode::BAD_REQUEST, "code and status go together");
        }
        (None, None) => None,
    };
    if error_part.is_none() && f.delay_ms.is_none() && !f.empty_page {
        return error(
            StatusCode::BAD_REQUEST,
            "a fault needs code and status, delayMs, or emptyPage",
        );
    }
    let fault = Fault {
        action: f.action,
        remaining: f.count,
        error: error_part,
        delay: f.delay_ms.map(Duration::from_millis),
        empty_page: f.empty_page,
    };
    let armed = json!({
        "action": fault.action,
        "count": fault.remaining,
        "code": fault.error.as_ref().map(|e| e.1.clone()),
        "status": fault.error.as_ref().map(|e| e.0),
        "delayMs": f.delay_ms,
        "emptyPage": f.empty_page,
    });
    sim.faults().push(fault);
    Json(armed).into_response()
}

/// `GET /_sim/faults`: what is still armed (a campaign counts what was injected).
pub async fn list_faults(State(sim): State<Simulator>) -> Response {
    let armed: Vec<_> = sim
        .faults()
        .iter()
        .map(|f| {
            json!({
                "action": f.action,
                "count": f.remaining,
                "code": f.error.as_ref().map(|e| e.1.clone()),
                "status": f.error.as_ref().map(|e| e.0),
            })
        })
        .collect();
    Json(armed).into_response()
}

pub async fn clear_faults(State(sim): State<Simulator>) -> Response {
    sim.faults().clear();
    Json(json!({})).into_response()
}

pub async fn reset(State(sim): State<Simulator>) -> Response {
    sim.world().reset();
    sim.faults().clear();
    sim.log().stop();
    Json(json!({})).into_response()
}

/// `GET /_sim/log`: every change logged since `POST /_sim/log`, oldest first.
pub async fn get_log(State(sim): State<Simulator>) -> Response {
    // Settle first, so a lifecycle move that is due shows in the log.
    sim.world().settle(Instant::now());
    let log = sim.log();
    Json(json!({ "enabled": log.enabled, "changes": log.entries })).into_response()
}

/// `POST /_sim/log`: (re)starts the change log from the fleet as it is now.
pub async fn start_log(State(sim): State<Simulator>) -> Response {
    let world = sim.world();
    sim.log().start(&world);
    drop(world);
    Json(json!({ "enabled": true })).into_response()
}

/// `DELETE /_sim/log`: stops logging and forgets the log.
pub async fn stop_log(State(sim): State<Simulator>) -> Response {
    sim.log().stop();
    Json(json!({ "enabled": false })).into_response()
}

pub async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "no such route; the simulator serves EC2 on / and its control API under /_sim/",
    )
}
