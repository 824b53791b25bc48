//! `route-server-sim`: a local emulator of the EC2 route-server API.
//!
//! It speaks the EC2 Query protocol on `/` (so any AWS SDK or the AWS CLI works against it
//! unchanged) and a JSON control API under `/_sim/` for tests and demos to steer peers,
//! build fleets and inject faults.

pub mod changelog;
mod control;
pub mod error;
pub mod query;
pub mod routing;
pub mod state;
mod xml;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;

use error::Ec2Error;
use query::Params;
pub use state::Timing;
use state::World;

/// One injected fault: the next `remaining` calls of `action` wait `delay` and/or fail.
#[derive(Debug, Clone)]
pub struct Fault {
    pub action: String,
    pub remaining: u32,
    pub error: Option<(u16, String)>,
    pub delay: Option<Duration>,
    /// Answer a describe with an empty page whose `nextToken` resumes where the caller was,
    /// as EC2 may (valid, if odd: a paginator must keep going).
    pub empty_page: bool,
}

/// The simulator's shared state, cheap to clone into handlers.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    world: Mutex<World>,
    log: Mutex<changelog::ChangeLog>,
    faults: Mutex<Vec<Fault>>,
    requests: AtomicU64,
}

impl Simulator {
    pub fn new(timing: Timing) -> Self {
        Simulator {
            inner: Arc::new(Inner {
                world: Mutex::new(World::new(timing)),
                log: Mutex::new(changelog::ChangeLog::default()),
                faults: Mutex::new(Vec::new()),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The world, locked; the change log sees whatever the holder changed when it lets go.
    fn world(&self) -> WorldGuard<'_> {
        // A panic while holding the lock must not take the whole simulator down with it.
        let world = self
            .inner
            .world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        WorldGuard {
            world,
            log: &self.inner.log,
        }
    }

    fn log(&self) -> MutexGuard<'_, changelog::ChangeLog> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Vec<Fault>> {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one use of the first fault armed for `action` (or for `*`).
    fn take_fault(&self, action: &str) -> Option<Fault> {
        let mut faults = self.faults();
        let i = faults
            .iter()
            .position(|f| f.remaining > 0 && (f.action == action || f.action == "*"))?;
        faults[i].remaining -= 1;
        let fault = faults[i].clone();
        if faults[i].remaining == 0 {
            faults.remove(i);
        }
        Some(fault)
    }

    fn request_id(&self) -> String {
        let n = self.inner.requests.fetch_add(1, Ordering::Relaxed);
        format!("5e1f0000-0000-4000-8000-{n:012x}")
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/", post(ec2_query).get(ec2_query))
            .route(
                "/_sim/peers",
                get(control::list_peers).post(control::patch_peers),
            )
            .route("/_sim/peers/{id}", post(control::patch_peer))
            .route("/_sim/peers/{id}/vanish", post(control::vanish_peer))
            .route(
                "/_sim/peers/{id}/routes",
                post(control::set_peer_routes).get(control::get_peer_routes),
            )
            .route("/_sim/endpoints", get(control::list_endpoints))
            .route("/_sim/endpoints/{id}", post(control::patch_endpoint))
            .route("/_sim/route-servers", get(control::list_route_servers))
            .route(
                "/_sim/route-servers/{id}",
                post(control::patch_route_server),
            )
            .route(
                "/_sim/rejections",
                post(control::add_rejection)
                    .get(control::list_rejections)
                    .delete(control::clear_rejections),
            )
            .route(
                "/_sim/clock",
                post(control::advance_clock).get(control::get_clock),
            )
            .route("/_sim/fleet", post(control::create_fleet))
            .route(
                "/_sim/faults",
                post(control::add_fault)
                    .get(control::list_faults)
                    .delete(control::clear_faults),
            )
            .route("/_sim/reset", post(control::reset))
            .route("/_sim/peer-logs", get(control::get_peer_logs))
            .route(
                "/_sim/log",
                get(control::get_log)
                    .post(control::start_log)
                    .delete(control::stop_log),
            )
            .fallback(control::not_found)
            .with_state(self.clone())
    }
}

/// The locked world. Every change goes through one of these, so logging on release catches
/// them all, the lifecycle's own moves (settled by the holder) and routing included.
struct WorldGuard<'a> {
    world: MutexGuard<'a, World>,
    log: &'a Mutex<changelog::ChangeLog>,
}

impl std::ops::Deref for WorldGuard<'_> {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl std::ops::DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        &mut self.world
    }
}

impl Drop for WorldGuard<'_> {
    fn drop(&mut self) {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .observe(&self.world);
    }
}

async fn ec2_query(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = Params::parse(&body);
    if let Some(q) = query {
        params.merge(Params::parse(q.as_bytes()));
    }
    let request_id = sim.request_id();
    let action = params.get("Action").unwrap_or("").to_string();
    if let Some(fault) = sim.take_fault(&action) {
        if let Some(delay) = fault.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some((status, code)) = fault.error {
            let err = Ec2Error::new(status, code, format!("Injected fault for {action}"));
            return ec2_error(&err, &request_id);
        }
        let set = match action.as_str() {
            "DescribeRouteServerPeers" => Some("routeServerPeerSet"),
            "DescribeRouteServers" => Some("routeServerSet"),
            "DescribeRouteServerEndpoints" => Some("routeServerEndpointSet"),
            _ => None,
        };
        if let (true, Some(set)) = (fault.empty_page, set) {
            let n = sim.inner.requests.load(Ordering::Relaxed);
            let token = state::empty_page_token(params.get("NextToken"), n);
            let mut xml = xml::Xml::response(&action, &request_id);
            xml.open(set).close(set).el("nextToken", token);
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
                xml.finish(&action),
            )
                .into_response();
        }
    }
    let result = query::handle(&mut sim.world(), &params, &request_id);
    match result {
        Ok(xml) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
            xml,
        )
            .into_response(),
        Err(err) => ec2_error(&err, &request_id),
    }
}

fn ec2_error(err: &Ec2Error, request_id: &str) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/xml;charset=UTF-8")],
        err.to_xml(request_id),
    )
        .into_response()
}

/// Binds `listen` (port 0 picks a free one) and serves until the process ends.
pub async fn serve(
    listen: &str,
    timing: Timing,
) -> std::io::Result<(SocketAddr, impl Future<Output = std::io::Result<()>>)> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let sim = Simulator::new(timing);
    let app = sim.router();
    Ok((addr, async move { axum::serve(listener, app).await }))
}
