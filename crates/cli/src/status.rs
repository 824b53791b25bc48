//! `peerwatch status`: every known peer, one line each, worst health first, with the routes it
//! advertises and has in the FIB, then the route servers' endpoints. Reads `PeerState` only
//! (one paginated `Scan` of a small table); the history is not touched.

use std::collections::HashMap;

use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::time::{absolute, relative};
use super::{Context, EXIT_EMPTY, Failure, Output, color_enabled, emit, emit_json, explain};
use peerwatch_aws::store::Store;
use peerwatch_core::fabric::{EndpointSnapshot, FabricRecord, Subject};
use peerwatch_core::model::{Ack, Health, PeerRecord, Severity, Timestamp};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch status\n  \
    peerwatch status --health down,degraded\n  \
    peerwatch status --route-server rs-0a1b2c3d4e5f60718 --route-server rs-0b2c3d4e5f6071829\n  \
    peerwatch status --vpc vpc-0123456789abcdef0 --output json | jq '.peers[].routeServerPeerId'\n\n\
    Peers are sorted worst health first (down, degraded, transitional, healthy), then by route\n\
    server and peer id. Peers that vanished from EC2's listing are shown apart, with the state\n\
    they had when last seen; the filters apply to them too. ADVERTISED is how many routes\n\
    the peer last advertised (- when none recorded), IN FIB how many of its route server's\n\
    FIB routes are the peer's. The route servers' endpoints follow, filtered alike.\n\n\
    Exit codes: 0 peers shown, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 no peer known (or none matches the filters).")]
pub struct StatusArgs {
    /// Only peers of these route servers (repeat the flag or give a comma list)
    #[arg(long = "route-server", value_name = "RS_ID", value_delimiter = ',')]
    pub route_servers: Vec<String>,
    /// Only peers in these VPCs (repeat the flag or give a comma list)
    #[arg(long = "vpc", value_name = "VPC_ID", value_delimiter = ',')]
    pub vpcs: Vec<String>,
    /// Only peers of these healths: down, degraded, transitional, healthy (comma list)
    #[arg(long = "health", value_name = "HEALTH", value_delimiter = ',', value_parser = parse_health)]
    pub healths: Vec<Health>,
}

fn parse_health(s: &str) -> Result<Health, String> {
    Health::parse(s.trim()).ok_or_else(|| {
        format!("{s:?} is not a health; expected one of down, degraded, transitional, healthy")
    })
}

/// The JSON document: `PeerState` records in camelCase (with `health`), present and vanished
/// apart, each sorted as the table is, then the present endpoints by route server and id
/// (left out when there are none, as before endpoints were recorded).
#[derive(Debug, Serialize, PartialEq)]
pub struct StatusDocument {
    pub peers: Vec<PeerStatus>,
    pub vanished: Vec<PeerStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<EndpointStatus>,
}

/// A peer's record and its routes: `advertisedRoutes` from its route server's record (`null`
/// when that is not recorded), `inFibRoutes` the present FIB routes of its route server whose
/// peer it is.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PeerStatus {
    #[serde(flatten)]
    pub record: PeerRecord,
    pub advertised_routes: Option<u32>,
    pub in_fib_routes: u32,
}

/// An endpoint as last recorded, with its health and since when, and its open alert (and who
/// acknowledged it) when there is one.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatus {
    #[serde(flatten)]
    pub endpoint: EndpointSnapshot,
    pub health: Health,
    pub last_changed_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_alert: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked: Option<Ack>,
}

impl StatusArgs {
    fn matches(&self, route_server_id: &str, vpc_id: &str, health: Health) -> bool {
        let any =
            |wanted: &[String], value: &str| wanted.is_empty() || wanted.iter().any(|w| w == value);
        any(&self.route_servers, route_server_id)
            && any(&self.vpcs, vpc_id)
            && (self.healths.is_empty() || self.healths.contains(&health))
    }

    /// The filters as flags, for messages: `--route-server rs-1 --health down`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.route_servers.is_empty() {
            parts.push(format!("--route-server {}", self.route_servers.join(",")));
        }
        if !self.vpcs.is_empty() {
            parts.push(format!("--vpc {}", self.vpcs.join(",")));
        }
        if !self.healths.is_empty() {
            let h: Vec<&str> = self.healths.iter().map(Health::as_str).collect();
            parts.push(format!("--health {}", h.join(",")));
        }
        parts.join(" ")
    }
}

/// Worst first: what needs attention is at the top.
fn health_rank(h: Health) -> u8 {
    match h {
        Health::Down => 0,
        Health::Degraded => 1,
        Health::Transitional => 2,
        Health::Healthy => 3,
    }
}

/// Filters and sorts the records into the document the command prints; `fabric` gives the
/// peers' route counts and the endpoints.
pub fn select(
    records: impl IntoIterator<Item = PeerRecord>,
    fabric: &HashMap<String, FabricRecord>,
    args: &StatusArgs,
) -> StatusDocument {
    // A FIB is per route server: a peer's count is of its own route server's routes.
    let mut in_fib: HashMap<(&str, &str), u32> = HashMap::new();
    let mut endpoints = Vec::new();
    for r in fabric.values().filter(|r| r.present) {
        match &r.subject {
            Subject::Route(route) => {
                if let Some(f) = &route.fib {
                    *in_fib
                        .entry((&route.route_server_id, &f.route_server_peer_id))
                        .or_default() += 1;
                }
            }
            Subject::Endpoint(e) if args.matches(&e.route_server_id, &e.vpc_id, r.health) => {
                endpoints.push(EndpointStatus {
                    endpoint: e.clone(),
                    health: r.health,
                    last_changed_at: r.last_changed_at,
                    open_alert: r.open_alert,
                    acked: r.alerting.acked.clone(),
                });
            }
            _ => {}
        }
    }
    // What each peer advertises, as its route server's record last knew it (while its
    // session was up), present or not: like a vanished peer's state, what was last known.
    let advertised = |rs: &str, peer: &str| match fabric.get(rs) {
        Some(FabricRecord {
            subject: Subject::RouteServer(r),
            ..
        }) => Some(r.advertised.get(peer).copied().unwrap_or(0)),
        _ => None,
    };
    let (mut peers, mut vanished): (Vec<_>, Vec<_>) = records
        .into_iter()
        .filter(|r| args.matches(&r.peer.route_server_id, &r.peer.vpc_id, r.health))
        .map(|record| PeerStatus {
            advertised_routes: advertised(
                &record.peer.route_server_id,
                &record.peer.route_server_peer_id,
            ),
            in_fib_routes: in_fib
                .get(&(
                    record.peer.route_server_id.as_str(),
                    record.peer.route_server_peer_id.as_str(),
                ))
                .copied()
                .unwrap_or(0),
            record,
        })
        .partition(|p| p.record.present);
    for list in [&mut peers, &mut vanished] {
        list.sort_by(|a, b| {
            let (a, b) = (&a.record, &b.record);
            (
                health_rank(a.health),
                &a.peer.route_server_id,
                &a.peer.route_server_peer_id,
            )
                .cmp(&(
                    health_rank(b.health),
                    &b.peer.route_server_id,
                    &b.peer.route_server_peer_id,
                ))
        });
    }
    endpoints.sort_by(|a, b| {
        (
            &a.endpoint.route_server_id,
            &a.endpoint.route_server_endpoint_id,
        )
            .cmp(&(
                &b.endpoint.route_server_id,
                &b.endpoint.route_server_endpoint_id,
            ))
    });
    StatusDocument {
        peers,
        vanished,
        endpoints,
    }
}

pub async fn run(ctx: &Context, args: StatusArgs) -> Result<(), Failure> {
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let records = store.load_known().await.map_err(|e| explain(ctx, &e))?;
    let known = records.peers.len();
    let doc = select(records.peers.into_values(), &records.fabric, &args);
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table if doc.peers.is_empty() && doc.vanished.is_empty() => {}
        Output::Table => emit(&render(&doc, ctx.now, color_enabled()))?,
    }
    if doc.peers.is_empty() && doc.vanished.is_empty() {
        let table = &ctx.config.peer_state_table;
        let region = ctx.region();
        let message = if known == 0 {
            format!(
                "no peers known: table {table} (region {region}) is empty; the poller records \
                 every peer on its first cycle (try `peerwatch poll`)"
            )
        } else {
            format!(
                "no peer matches {}: {known} peers known in table {table} (region {region})",
                args.describe()
            )
        };
        return Err(Failure::new(EXIT_EMPTY, message));
    }
    Ok(())
}

/// The table output: present peers, then the vanished ones under their own heading, then the
/// endpoints, then a one-line count by health.
pub fn render(doc: &StatusDocument, now: Timestamp, color: bool) -> String {
    let mut out = String::new();
    if !doc.peers.is_empty() {
        out.push_str(&super::table_text(&table(&doc.peers, now, color)));
        out.push('\n');
    }
    if !doc.vanished.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Vanished from EC2's listing (last known state):\n");
        out.push_str(&super::table_text(&table(&doc.vanished, now, color)));
        out.push('\n');
    }
    if !doc.endpoints.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Route server endpoints:\n");
        out.push_str(&super::table_text(&endpoint_table(
            &doc.endpoints,
            now,
            color,
        )));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&summary(doc));
    out
}

fn summary(doc: &StatusDocument) -> String {
    let counts: Vec<String> = [
        Health::Down,
        Health::Degraded,
        Health::Transitional,
        Health::Healthy,
    ]
    .iter()
    .filter_map(|h| {
        let n = doc.peers.iter().filter(|p| p.record.health == *h).count();
        (n > 0).then(|| format!("{n} {h}"))
    })
    .collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut line = format!("{} peer{}", doc.peers.len(), plural(doc.peers.len()));
    if !counts.is_empty() {
        line.push_str(&format!(": {}", counts.join(", ")));
    }
    if !doc.vanished.is_empty() {
        line.push_str(&format!("; {} vanished", doc.vanished.len()));
    }
    line
}

pub fn health_color(h: Health) -> Color {
    match h {
        Health::Down => Color::Red,
        Health::Degraded => Color::Yellow,
        Health::Transitional => Color::Cyan,
        Health::Healthy => Color::Green,
    }
}

fn dash(v: &str) -> String {
    if v.is_empty() {
        "-".to_string()
    } else {
        v.to_string()
    }
}

fn health_cell(h: Health, color: bool) -> Cell {
    let cell = Cell::new(h.as_str());
    if color {
        cell.fg(health_color(h))
    } else {
        cell
    }
}

/// The open alert: `critical`, `critical, acked by OnCall/alice`, or `-`.
pub fn alert_text(open_alert: Option<Severity>, acked: Option<&Ack>) -> String {
    match (open_alert, acked) {
        (Some(s), Some(a)) => format!("{s}, acked by {}", a.by),
        (Some(s), None) => s.to_string(),
        (None, _) => "-".to_string(),
    }
}

/// `failing (reason)`, or the state alone.
fn state_text(state: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{} ({reason})", dash(state)),
        None => dash(state),
    }
}

fn since_text(t: Timestamp, now: Timestamp) -> String {
    format!("{} ({})", relative(t, now), absolute(t))
}

fn endpoint_table(endpoints: &[EndpointStatus], now: Timestamp, color: bool) -> comfy_table::Table {
    let mut t = super::new_table(
        &[
            "ROUTE SERVER",
            "ENDPOINT",
            "HEALTH",
            "STATE",
            "ADDRESS",
            "SUBNET",
            "SINCE",
            "ALERT",
        ],
        color,
    );
    for e in endpoints {
        let ep = &e.endpoint;
        t.add_row(vec![
            Cell::new(dash(&ep.route_server_id)),
            Cell::new(&ep.route_server_endpoint_id),
            health_cell(e.health, color),
            Cell::new(state_text(&ep.state, ep.failure_reason.as_deref())),
            Cell::new(dash(&ep.eni_address)),
            Cell::new(dash(&ep.subnet_id)),
            Cell::new(since_text(e.last_changed_at, now)),
            Cell::new(alert_text(e.open_alert, e.acked.as_ref())),
        ]);
    }
    t
}

fn table(peers: &[PeerStatus], now: Timestamp, color: bool) -> comfy_table::Table {
    let mut t = super::new_table(
        &[
            "HEALTH",
            "STATE",
            "BGP",
            "BFD",
            "PEER",
            "ADDRESS",
            "ASN",
            "ADVERTISED",
            "IN FIB",
            "ROUTE SERVER",
            "VPC",
            "SINCE",
            "ALERT",
        ],
        color,
    );
    for s in peers {
        let r = &s.record;
        let p = &r.peer;
        t.add_row(vec![
            health_cell(r.health, color),
            Cell::new(state_text(&p.state, p.failure_reason.as_deref())),
            Cell::new(dash(p.bgp_status.as_deref().unwrap_or_default())),
            Cell::new(dash(p.bfd_status.as_deref().unwrap_or_default())),
            Cell::new(&p.route_server_peer_id),
            Cell::new(dash(&p.peer_address)),
            Cell::new(p.peer_asn.map_or("-".into(), |a| a.to_string())),
            Cell::new(s.advertised_routes.map_or("-".into(), |n| n.to_string())),
            Cell::new(s.in_fib_routes),
            Cell::new(dash(&p.route_server_id)),
            Cell::new(dash(&p.vpc_id)),
            Cell::new(since_text(r.last_changed_at, now)),
            Cell::new(alert_text(r.open_alert, r.alerting.acked.as_ref())),
        ]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::model::PeerSnapshot;

    fn record(id: &str, rs: &str, vpc: &str, health: Health, present: bool) -> PeerRecord {
        PeerRecord {
            peer: PeerSnapshot {
                route_server_peer_id: id.into(),
                route_server_id: rs.into(),
                vpc_id: vpc.into(),
                state: "available".into(),
                peer_address: "10.0.1.5".into(),
                peer_asn: Some(65001),
                ..Default::default()
            },
            first_seen_at: "2026-11-20T10:00:00.000Z".parse().unwrap(),
            last_changed_at: "2026-11-25T15:53:00.000Z".parse().unwrap(),
            present,
            version: 1,
            sessions_changed_at: Default::default(),
            health,
            open_alert: None,
            alerting: Default::default(),
        }
    }

    fn ids(list: &[PeerStatus]) -> Vec<&str> {
        list.iter()
            .map(|p| p.record.peer.route_server_peer_id.as_str())
            .collect()
    }

    fn none() -> HashMap<String, FabricRecord> {
        HashMap::new()
    }

    fn fleet() -> Vec<PeerRecord> {
        vec![
            record("rsp-a", "rs-2", "vpc-1", Health::Healthy, true),
            record("rsp-b", "rs-1", "vpc-1", Health::Healthy, true),
            record("rsp-c", "rs-2", "vpc-2", Health::Down, true),
            record("rsp-d", "rs-1", "vpc-1", Health::Transitional, true),
            record("rsp-e", "rs-1", "vpc-2", Health::Degraded, true),
            record("rsp-f", "rs-1", "vpc-1", Health::Down, true),
            record("rsp-g", "rs-2", "vpc-1", Health::Down, false),
        ]
    }

    #[test]
    fn worst_first_then_route_server_then_peer() {
        let doc = select(fleet(), &none(), &StatusArgs::default());
        assert_eq!(
            ids(&doc.peers),
            ["rsp-f", "rsp-c", "rsp-e", "rsp-d", "rsp-b", "rsp-a"]
        );
        assert_eq!(ids(&doc.vanished), ["rsp-g"]);
    }

    #[test]
    fn filters_combine_and_apply_to_vanished_peers_too() {
        let args = StatusArgs {
            route_servers: vec!["rs-2".into()],
            healths: vec![Health::Down],
            ..Default::default()
        };
        let doc = select(fleet(), &none(), &args);
        assert_eq!(
            (ids(&doc.peers), ids(&doc.vanished)),
            (vec!["rsp-c"], vec!["rsp-g"])
        );
        assert_eq!(args.describe(), "--route-server rs-2 --health down");
        let args = StatusArgs {
            vpcs: vec!["vpc-2".into()],
            ..Default::default()
        };
        assert_eq!(
            ids(&select(fleet(), &none(), &args).peers),
            ["rsp-c", "rsp-e"]
        );
    }

    #[test]
    fn an_acknowledged_alert_shows_who_in_the_table_and_the_json() {
        let now: Timestamp = "2026-11-25T19:05:00.000Z".parse().unwrap();
        let mut peers = fleet();
        peers[2].open_alert = Some(Severity::Critical);
        peers[2].alerting.acked = Some(Ack {
            by: "OnCall/alice".into(),
            reason: Some("on it".into()),
            at: now,
        });
        peers[5].open_alert = Some(Severity::Critical);
        let doc = select(peers, &none(), &StatusArgs::default());
        let text = render(&doc, now, false);
        let row = |id: &str| text.lines().find(|l| l.contains(id)).unwrap().to_string();
        assert!(
            row("rsp-c").ends_with("critical, acked by OnCall/alice"),
            "{text}"
        );
        assert!(row("rsp-f").ends_with("critical"), "{text}");
        assert!(row("rsp-a").ends_with('-'), "{text}");
        assert!(text.lines().next().unwrap().ends_with("ALERT"), "{text}");
        let json = serde_json::to_value(&doc).unwrap();
        let c = &json["peers"][1];
        assert_eq!(c["routeServerPeerId"], "rsp-c");
        assert_eq!(c["openAlert"], "critical");
        assert_eq!(
            c["acked"],
            serde_json::json!({"by": "OnCall/alice", "reason": "on it", "at": "2026-11-25T19:05:00.000Z"})
        );
        assert!(json["peers"][0].get("acked").is_none());
    }

    #[test]
    fn the_table_has_one_line_per_peer_and_a_vanished_section() {
        let now: Timestamp = "2026-11-25T19:05:00.000Z".parse().unwrap();
        let text = render(
            &select(fleet(), &none(), &StatusArgs::default()),
            now,
            false,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].contains("HEALTH") && lines[0].contains("SINCE"),
            "{text}"
        );
        let row = lines.iter().find(|l| l.contains("rsp-f")).unwrap();
        for want in ["down", "available", "10.0.1.5", "65001", "rs-1", "vpc-1"] {
            assert!(row.contains(want), "{want} in {row}");
        }
        assert!(row.contains("3h 12m ago (2026-11-25 15:53:00Z)"), "{row}");
        let vanished = text.find("Vanished").unwrap();
        assert!(text.find("rsp-g").unwrap() > vanished, "{text}");
        assert!(
            text.ends_with("6 peers: 2 down, 1 degraded, 1 transitional, 2 healthy; 1 vanished"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour codes when not asked");
        let coloured = render(&select(fleet(), &none(), &StatusArgs::default()), now, true);
        assert!(coloured.contains("\u{1b}["), "health in colour when asked");
    }

    fn fabric_record(subject: Subject, present: bool) -> (String, FabricRecord) {
        let r = FabricRecord {
            health: peerwatch_core::fabric::detect::health(&subject),
            subject,
            first_seen_at: "2026-11-20T10:00:00.000Z".parse().unwrap(),
            last_changed_at: "2026-11-25T15:53:00.000Z".parse().unwrap(),
            present,
            version: 1,
            open_alert: None,
            alerting: Default::default(),
        };
        (r.subject.key(), r)
    }

    fn fabric() -> HashMap<String, FabricRecord> {
        use peerwatch_core::fabric::{FibRoute, RouteSnapshot};
        let route = |rs: &str, prefix: &str, peer: Option<&str>, present| {
            fabric_record(
                Subject::Route(RouteSnapshot {
                    route_server_id: rs.into(),
                    vpc_id: "vpc-1".into(),
                    prefix: prefix.into(),
                    fib: peer.map(|p| FibRoute {
                        route_server_peer_id: p.into(),
                        route_server_endpoint_id: "rse-1".into(),
                        next_hop_ip: "10.0.1.5".into(),
                        as_paths: vec![],
                        med: None,
                        route_tables: vec![],
                    }),
                }),
                present,
            )
        };
        let endpoint = |id: &str, rs: &str, state: &str, reason: Option<&str>, present| {
            fabric_record(
                Subject::Endpoint(EndpointSnapshot {
                    route_server_endpoint_id: id.into(),
                    route_server_id: rs.into(),
                    vpc_id: "vpc-1".into(),
                    eni_address: "10.0.0.4".into(),
                    state: state.into(),
                    failure_reason: reason.map(Into::into),
                    ..Default::default()
                }),
                present,
            )
        };
        let server = fabric_record(
            Subject::RouteServer(peerwatch_core::fabric::RouteServerSnapshot {
                route_server_id: "rs-1".into(),
                vpc_id: "vpc-1".into(),
                state: "available".into(),
                advertised: [("rsp-b".to_string(), 3), ("rsp-f".to_string(), 0)].into(),
                ..Default::default()
            }),
            true,
        );
        [
            route("rs-1", "10.0.0.0/16", Some("rsp-b"), true),
            route("rs-1", "10.1.0.0/16", Some("rsp-b"), true),
            route("rs-1", "10.2.0.0/16", Some("rsp-f"), true),
            route("rs-1", "10.3.0.0/16", Some("rsp-f"), false),
            route("rs-1", "10.4.0.0/16", None, true),
            // Another route server's FIB does not count for rs-1's peers.
            route("rs-2", "10.5.0.0/16", Some("rsp-b"), true),
            server,
            endpoint("rse-2", "rs-1", "available", None, true),
            endpoint("rse-1", "rs-1", "failed", Some("ENI deleted"), true),
            endpoint("rse-3", "rs-2", "available", None, true),
            endpoint("rse-4", "rs-2", "available", None, false),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn peers_carry_their_route_counts_and_endpoints_follow() {
        let doc = select(fleet(), &fabric(), &StatusArgs::default());
        let counts = |id: &str| {
            let p = doc
                .peers
                .iter()
                .find(|p| p.record.peer.route_server_peer_id == id)
                .unwrap();
            (p.advertised_routes, p.in_fib_routes)
        };
        assert_eq!(counts("rsp-b"), (Some(3), 2));
        assert_eq!(counts("rsp-f"), (Some(0), 1));
        assert_eq!(counts("rsp-a"), (None, 0), "its route server has no record");
        let eps: Vec<&str> = doc
            .endpoints
            .iter()
            .map(|e| e.endpoint.route_server_endpoint_id.as_str())
            .collect();
        assert_eq!(eps, ["rse-1", "rse-2", "rse-3"]);
        let v = serde_json::to_value(&doc).unwrap();
        let b = v["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["routeServerPeerId"] == "rsp-b")
            .unwrap();
        assert_eq!(
            (&b["advertisedRoutes"], &b["inFibRoutes"]),
            (&3.into(), &2.into())
        );
        assert_eq!(b["health"], "healthy");
        assert_eq!(v["endpoints"][0]["failureReason"], "ENI deleted");
        assert_eq!(v["endpoints"][0]["health"], "down");
        assert_eq!(v["endpoints"][0]["routeServerId"], "rs-1");

        // The filters apply to endpoints too; none left, no `endpoints` in the JSON.
        let args = StatusArgs {
            healths: vec![Health::Down],
            ..Default::default()
        };
        let doc = select(fleet(), &fabric(), &args);
        assert_eq!(doc.endpoints.len(), 1);
        let args = StatusArgs {
            route_servers: vec!["rs-3".into()],
            ..Default::default()
        };
        let v = serde_json::to_value(select(fleet(), &fabric(), &args)).unwrap();
        assert_eq!(v, serde_json::json!({"peers": [], "vanished": []}));

        let now: Timestamp = "2026-11-25T19:05:00.000Z".parse().unwrap();
        let text = render(
            &select(fleet(), &fabric(), &StatusArgs::default()),
            now,
            false,
        );
        let row = text.lines().find(|l| l.contains("rsp-b")).unwrap();
        assert!(row.contains(" 3 ") && row.contains(" 2 "), "{row}");
        let row = text.lines().find(|l| l.contains("rsp-a")).unwrap();
        assert!(row.contains(" - "), "{row}");
        let heading = text
            .find("Route server endpoints:")
            .expect("an endpoint section");
        let row = text.lines().find(|l| l.contains("rse-1")).unwrap();
        assert!(text.find("rse-1").unwrap() > heading, "{text}");
        for want in ["rs-1", "down", "failed (ENI deleted)", "10.0.0.4"] {
            assert!(row.contains(want), "{want} in {row}");
        }
        assert!(text.ends_with("; 1 vanished"), "{text}");
    }

    #[test]
    fn bad_health_names_the_choices() {
        assert!(parse_health("sick").unwrap_err().contains("down, degraded"));
    }
}
