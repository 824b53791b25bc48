//! The `/_sim/` control API: JSON over HTTP beside the EC2 endpoint.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::changelog::PeerLogRecord;
use super::routing::{self, Prefix};
use super::state::{
    EndpointPatch, EndpointView, Fleet, MAX_FLEET_ROUTE_SERVERS_WITH_ROUTES, PeerPatch, PeerView,
    ROUTE_TABLE, RouteServerView,
};
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

fn unknown(noun: &str, id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no {noun} '{id}'"))
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
    let patch = patch.into_patch();
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.patch_peer(now, &id, patch) {
        Some(view) => Json(view).into_response(),
        None => unknown_peer(&id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchManyBody {
    peers: BTreeMap<String, PatchBody>,
}

/// `POST /_sim/peers` `{"peers": {"rsp-...": {...}, ...}}`: patches them all at once.
pub async fn patch_peers(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let many: PatchManyBody = match body(&bytes) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let patches = many
        .peers
        .into_iter()
        .map(|(id, p)| (id, p.into_patch()))
        .collect();
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.patch_peers(now, patches) {
        Ok(views) => Json(views).into_response(),
        Err(id) => unknown_peer(&id),
    }
}

impl PatchBody {
    fn into_patch(self) -> PeerPatch {
        PeerPatch {
            state: self.state,
            failure_reason: self.failure_reason,
            bgp_status: self.bgp_status,
            bfd_status: self.bfd_status,
            tags: self.tags,
        }
    }
}

pub async fn list_peers(State(sim): State<Simulator>) -> Response {
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    let peers: Vec<PeerView> = world.peers.values().map(PeerView::from).collect();
    Json(peers).into_response()
}

pub async fn vanish_peer(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.vanish_peer(now, &id) {
        Some(view) => Json(view).into_response(),
        None => unknown_peer(&id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoutesBody {
    routes: Vec<RouteBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RouteBody {
    prefix: String,
    as_paths: Vec<u32>,
    #[serde(default)]
    med: u32,
}

/// `POST /_sim/peers/{id}/routes`: what the peer advertises from now on (`[]` withdraws all).
pub async fn set_peer_routes(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let b: RoutesBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let adverts =
        match routing::check_adverts(b.routes.into_iter().map(|r| (r.prefix, r.as_paths, r.med))) {
            Ok(a) => a,
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        };
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.set_peer_routes(now, &id, adverts) {
        Some(routes) => Json(json!({ "routeServerPeerId": id, "routes": routes })).into_response(),
        None => unknown_peer(&id),
    }
}

pub async fn get_peer_routes(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    match sim.world().peer_routes(&id) {
        Some(routes) => Json(json!({ "routeServerPeerId": id, "routes": routes })).into_response(),
        None => unknown_peer(&id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EndpointBody {
    state: Option<String>,
    #[serde(default, deserialize_with = "some_or_null")]
    failure_reason: Option<Option<String>>,
}

pub async fn patch_endpoint(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let b: EndpointBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let patch = EndpointPatch {
        state: b.state,
        failure_reason: b.failure_reason,
    };
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.patch_endpoint(now, &id, patch) {
        Some(view) => Json(view).into_response(),
        None => unknown("route server endpoint", &id),
    }
}

pub async fn list_endpoints(State(sim): State<Simulator>) -> Response {
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    let endpoints: Vec<EndpointView> = world.endpoints.values().map(EndpointView::from).collect();
    Json(endpoints).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RouteServerBody {
    state: Option<String>,
}

pub async fn patch_route_server(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Response {
    let b: RouteServerBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    match world.patch_route_server(now, &id, b.state) {
        Some(view) => Json(view).into_response(),
        None => unknown("route server", &id),
    }
}

pub async fn list_route_servers(State(sim): State<Simulator>) -> Response {
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    let views: Vec<RouteServerView> = world
        .route_servers
        .values()
        .filter_map(|rs| world.route_server_view(&rs.id))
        .collect();
    Json(views).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RejectionBody {
    route_table_id: String,
    prefix: String,
    reason: String,
}

/// `POST /_sim/rejections`: that prefix's installation in that route table is `rejected`.
pub async fn add_rejection(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let b: RejectionBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(e) = ROUTE_TABLE.check_id(&b.route_table_id) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("routeTableId: {}", e.message),
        );
    }
    let prefix = match Prefix::parse(&b.prefix) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("prefix: {e}")),
    };
    if b.reason.is_empty() {
        return error(StatusCode::BAD_REQUEST, "reason must not be empty");
    }
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    world.add_rejection(now, &b.route_table_id, prefix, &b.reason);
    Json(json!({ "rejections": world.rejection_list() })).into_response()
}

pub async fn list_rejections(State(sim): State<Simulator>) -> Response {
    Json(json!({ "rejections": sim.world().rejection_list() })).into_response()
}

pub async fn clear_rejections(State(sim): State<Simulator>) -> Response {
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    world.clear_rejections(now);
    Json(json!({ "rejections": [] })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockBody {
    advance_seconds: f64,
}

/// `POST /_sim/clock`: moves the simulator's clock ahead; whatever falls due moves along.
pub async fn advance_clock(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let b: ClockBody = match body(&bytes) {
        Ok(b) => b,
        Err(r) => return r,
    };
    match sim.world().advance_clock(b.advance_seconds) {
        Ok(total) => Json(json!({ "advancedSeconds": total.as_secs_f64() })).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn get_clock(State(sim): State<Simulator>) -> Response {
    let total = sim.world().clock_offset();
    Json(json!({ "advancedSeconds": total.as_secs_f64() })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FleetBody {
    route_servers: u32,
    peers_per_route_server: u32,
    seed: Option<u64>,
    #[serde(default)]
    routes_per_peer: u32,
    #[serde(default)]
    persist_routes: bool,
}

/// Enough for any benchmark here, small enough that a typo cannot eat the machine's memory.
const MAX_FLEET_PEERS: u64 = 200_000;
const MAX_FLEET_ROUTE_SERVERS: u32 = 10_000;

pub async fn create_fleet(State(sim): State<Simulator>, bytes: Bytes) -> Response {
    let fleet: FleetBody = match body(&bytes) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if fleet.route_servers == 0 {
        return error(StatusCode::BAD_REQUEST, "routeServers must be at least 1");
    }
    if fleet.route_servers > MAX_FLEET_ROUTE_SERVERS {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "a fleet of {} route servers is more than the simulator allows ({MAX_FLEET_ROUTE_SERVERS})",
                fleet.route_servers
            ),
        );
    }
    if fleet.routes_per_peer as usize > routing::MAX_ROUTES_PER_PEER {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "routesPerPeer must be at most {} (the AWS limit)",
                routing::MAX_ROUTES_PER_PEER
            ),
        );
    }
    if fleet.routes_per_peer > 0 && fleet.route_servers > MAX_FLEET_ROUTE_SERVERS_WITH_ROUTES {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "a fleet with routes has at most {MAX_FLEET_ROUTE_SERVERS_WITH_ROUTES} route servers (one 100.<64+r>.0.0/16 each)"
            ),
        );
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
    let mut world = sim.world();
    let now = world.now();
    world.settle(now);
    let ids = world.create_fleet_with(
        now,
        Fleet {
            route_servers: fleet.route_servers,
            peers_per_route_server: fleet.peers_per_route_server,
            seed: fleet.seed,
            routes_per_peer: fleet.routes_per_peer,
            persist_routes: fleet.persist_routes,
        },
    );
    drop(world);
    Json(json!({
        "routeServerPeerIds": ids.peer_ids,
        "routeServerIds": ids.route_server_ids,
    }))
    .into_response()
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
    sim.log().reset();
    Json(json!({})).into_response()
}

/// `GET /_sim/log`: every change logged since `POST /_sim/log`, oldest first.
pub async fn get_log(State(sim): State<Simulator>) -> Response {
    // Settle first, so a lifecycle move that is due shows in the log.
    {
        let mut world = sim.world();
        let now = world.now();
        world.settle(now);
    }
    let log = sim.log();
    Json(json!({
        "enabled": log.enabled,
        "changes": log.entries,
        "endpointChanges": log.endpoint_entries,
        "routeServerChanges": log.route_server_entries,
        "fibChanges": log.fib_entries,
    }))
    .into_response()
}

/// `POST /_sim/log`: (re)starts the change log from the fleet as it is now.
pub async fn start_log(State(sim): State<Simulator>) -> Response {
    let world = sim.world();
    sim.log().start(&world);
    drop(world);
    Json(json!({ "enabled": true })).into_response()
}

/// Why a `GET /_sim/peer-logs` query was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerLogsQueryError {
    /// `since` is not a whole number of Unix milliseconds.
    Since(String),
    /// `since` given more than once.
    RepeatedSince,
    /// A parameter the endpoint does not take.
    Unknown(String),
}

impl std::fmt::Display for PeerLogsQueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Since(v) => write!(
                f,
                "since must be Unix milliseconds (a non-negative whole number), not '{v}'"
            ),
            Self::RepeatedSince => write!(f, "since may be given once"),
            Self::Unknown(name) => write!(
                f,
                "unknown query parameter '{name}' (the only one is since)"
            ),
        }
    }
}

impl std::error::Error for PeerLogsQueryError {}

/// The `since` of a `GET /_sim/peer-logs` query string, if any.
pub fn peer_logs_since(query: Option<&str>) -> Result<Option<i64>, PeerLogsQueryError> {
    let mut since = None;
    for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if name != "since" {
            return Err(PeerLogsQueryError::Unknown(name.into_owned()));
        }
        if since.is_some() {
            return Err(PeerLogsQueryError::RepeatedSince);
        }
        // Digits only: `i64::from_str` would take a sign.
        let ms = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
            .then(|| value.parse::<i64>().ok())
            .flatten()
            .ok_or_else(|| PeerLogsQueryError::Since(value.clone().into_owned()))?;
        since = Some(ms);
    }
    Ok(since)
}

#[derive(Serialize)]
struct PeerLogs<'a> {
    records: Vec<PeerLogRecord<'a>>,
}

/// `GET /_sim/peer-logs?since=MS`: every peer log record stamped at or after `since`.
pub async fn get_peer_logs(State(sim): State<Simulator>, RawQuery(query): RawQuery) -> Response {
    let since = match peer_logs_since(query.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    // Settle first, so a lifecycle move that is due shows in the log.
    {
        let mut world = sim.world();
        let now = world.now();
        world.settle(now);
    }
    let log = sim.log();
    let records = log.peer_log.records(since).collect();
    Json(PeerLogs { records }).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_unix_milliseconds_once_or_not_at_all() {
        assert_eq!(peer_logs_since(None), Ok(None));
        assert_eq!(peer_logs_since(Some("")), Ok(None));
        assert_eq!(
            peer_logs_since(Some("since=1746643490000")),
            Ok(Some(1_746_643_490_000))
        );
        assert_eq!(peer_logs_since(Some("since=0")), Ok(Some(0)));
        for bad in [
            "since=",
            "since",
            "since=-1",
            "since=+1",
            "since=1.5",
            "since=1e3",
            "since=%201",
            "since=abc",
            "since=9223372036854775808",
        ] {
            assert!(
                matches!(
                    peer_logs_since(Some(bad)),
                    Err(PeerLogsQueryError::Since(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            peer_logs_since(Some("since=1&since=2")),
            Err(PeerLogsQueryError::RepeatedSince)
        );
        assert_eq!(
            peer_logs_since(Some("since=1&colour=red")),
            Err(PeerLogsQueryError::Unknown("colour".into()))
        );
        let message = PeerLogsQueryError::Since("x".into()).to_string();
        assert!(message.contains("'x'"), "{message}");
    }
}
