//! `peerwatch routes`: the FIB of each route server as the poller last recorded it, one line
//! per prefix: which peer's route is in the FIB, its next hop and where it is installed. Reads
//! `PeerState` only (the same single `Scan` as `status`).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::{
    Context, EXIT_EMPTY, Failure, Output, color_enabled, emit, emit_json, explain, new_table,
    parse_id, table_text,
};
use peerwatch_aws::store::Store;
use peerwatch_core::fabric::{FabricRecord, RouteTableInstall, Subject};
use peerwatch_core::ids::RouteServerId;

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch routes\n  \
    peerwatch routes --route-server rs-0a1b2c3d4e5f60718\n  \
    peerwatch routes --output json | jq '.routeServers[].routes[] | select(.routeStatus == \"lost\")'\n\n\
    Each route server's recorded FIB, prefixes in address order: the peer whose route is\n\
    in-fib, its next hop, AS path and MED, and each route table's installation. A prefix the\n\
    poller saw and no longer finds in the FIB is listed as lost.\n\n\
    Exit codes: 0 routes shown, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 no route server recorded (or none matches --route-server).")]
pub struct RoutesArgs {
    /// Only these route servers (repeat the flag or give a comma list)
    #[arg(
        long = "route-server",
        value_name = "RS_ID",
        value_delimiter = ',',
        value_parser = parse_id::<RouteServerId>
    )]
    pub route_servers: Vec<RouteServerId>,
}

/// The JSON document: route servers by id, each with its routes by prefix.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoutesDocument {
    pub route_servers: Vec<RouteServerRoutes>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteServerRoutes {
    pub route_server_id: String,
    /// `null` when the route server's own record is missing (its routes are known only).
    pub are_routes_persisted: Option<bool>,
    pub routes: Vec<RouteRow>,
    #[serde(skip)]
    pub vpc_id: String,
}

/// One prefix. A lost one has no peer, next hop or MED, and empty lists.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteRow {
    pub prefix: String,
    pub route_server_peer_id: Option<String>,
    pub next_hop_ip: Option<String>,
    /// `in-fib` | `lost`.
    pub route_status: &'static str,
    pub as_paths: Vec<String>,
    pub med: Option<i64>,
    pub route_tables: Vec<RouteTableInstall>,
}

/// An IPv4 CIDR as EC2 writes prefixes: `a.b.c.d/len`, no host bits set (a route item's key
/// holds the prefix as text, so another spelling of the same network would match nothing).
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let s = s.trim();
    let bad = || format!("{s:?} is not an IPv4 CIDR (e.g. 10.0.0.0/16)");
    let (addr, len) = s.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    // `u8::from_str` takes a leading '+', which no CIDR has.
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let len: u8 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(format!("{s:?}: a prefix length is at most 32"));
    }
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    let network = Ipv4Addr::from(u32::from(addr) & mask);
    if network != addr {
        return Err(format!(
            "{s:?} has host bits set: the network is {network}/{len}"
        ));
    }
    Ok((addr, len))
}

/// Address order (`9.0.0.0/8` before `10.0.0.0/8`), then shorter first; anything that is not
/// a CIDR after those, by text.
fn sort_routes(routes: &mut [RouteRow]) {
    routes.sort_by_cached_key(|r| match parse_cidr(&r.prefix) {
        Ok((a, l)) => (0, u32::from(a), l, String::new()),
        Err(_) => (1, 0, 0, r.prefix.clone()),
    });
}

/// The document for the present records of `fabric`, restricted to `wanted` route servers
/// when any are named: every route server recorded (with an empty FIB too) and every one
/// that has routes recorded.
pub fn select(fabric: &HashMap<String, FabricRecord>, wanted: &[RouteServerId]) -> RoutesDocument {
    let mut servers: BTreeMap<String, RouteServerRoutes> = BTreeMap::new();
    let entry = |servers: &mut BTreeMap<String, RouteServerRoutes>, id: &str, vpc: &str| {
        let e = servers
            .entry(id.to_string())
            .or_insert_with(|| RouteServerRoutes {
                route_server_id: id.to_string(),
                are_routes_persisted: None,
                routes: Vec::new(),
                vpc_id: String::new(),
            });
        if e.vpc_id.is_empty() {
            e.vpc_id = vpc.to_string();
        }
    };
    for r in fabric.values().filter(|r| r.present) {
        let rs = r.subject.route_server_id();
        if !wanted.is_empty() && !wanted.iter().any(|w| w == rs) {
            continue;
        }
        match &r.subject {
            Subject::RouteServer(s) => {
                entry(&mut servers, rs, &s.vpc_id);
                servers
                    .get_mut(rs)
                    .expect("just added")
                    .are_routes_persisted = Some(s.are_routes_persisted);
            }
            Subject::Route(route) => {
                entry(&mut servers, rs, &route.vpc_id);
                let row = match &route.fib {
                    Some(f) => RouteRow {
                        prefix: route.prefix.clone(),
                        route_server_peer_id: Some(f.route_server_peer_id.clone()),
                        next_hop_ip: Some(f.next_hop_ip.clone()),
                        route_status: "in-fib",
                        as_paths: f.as_paths.clone(),
                        med: f.med,
                        route_tables: f.route_tables.clone(),
                    },
                    None => RouteRow {
                        prefix: route.prefix.clone(),
                        route_server_peer_id: None,
                        next_hop_ip: None,
                        route_status: "lost",
                        as_paths: Vec::new(),
                        med: None,
                        route_tables: Vec::new(),
                    },
                };
                servers.get_mut(rs).expect("just added").routes.push(row);
            }
            Subject::Endpoint(_) | Subject::PeerRoutes(_) => {}
        }
    }
    let mut route_servers: Vec<RouteServerRoutes> = servers.into_values().collect();
    for s in &mut route_servers {
        sort_routes(&mut s.routes);
    }
    RoutesDocument { route_servers }
}

pub async fn run(ctx: &Context, args: RoutesArgs) -> Result<(), Failure> {
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let known = store.load_known().await.map_err(|e| explain(ctx, &e))?;
    let doc = select(&known.fabric, &args.route_servers);
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table if doc.route_servers.is_empty() => {}
        Output::Table => emit(&render(&doc, color_enabled()))?,
    }
    if doc.route_servers.is_empty() {
        let table = &ctx.config.peer_state_table;
        let region = ctx.region();
        let message = if args.route_servers.is_empty() {
            format!(
                "no route server recorded: table {table} (region {region}) holds no route \
                 server or route; the poller records them on its cycles (try `peerwatch poll`)"
            )
        } else {
            let ids: Vec<&str> = args.route_servers.iter().map(|r| r.as_str()).collect();
            format!(
                "no route server or route recorded for --route-server {} in table {table} \
                 (region {region})",
                ids.join(",")
            )
        };
        return Err(Failure::new(EXIT_EMPTY, message));
    }
    Ok(())
}

fn dash(v: Option<&str>) -> String {
    match v {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => "-".into(),
    }
}

/// `rtb-1 installed, rtb-2 rejected (a static route for the prefix)`.
fn tables_text(tables: &[RouteTableInstall]) -> String {
    if tables.is_empty() {
        return "-".into();
    }
    tables
        .iter()
        .map(|t| {
            let mut s = format!("{} {}", t.route_table_id, t.status);
            if let Some(reason) = &t.reason {
                s.push_str(&format!(" ({reason})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table output: per route server a heading line and its routes, then a count.
pub fn render(doc: &RoutesDocument, color: bool) -> String {
    let mut out = String::new();
    let (mut in_fib, mut lost) = (0, 0);
    for s in &doc.route_servers {
        let lost_here = s.routes.iter().filter(|r| r.route_status == "lost").count();
        let fib_here = s.routes.len() - lost_here;
        in_fib += fib_here;
        lost += lost_here;
        let persisted = match s.are_routes_persisted {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        };
        let vpc = if s.vpc_id.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.vpc_id)
        };
        out.push_str(&format!(
            "Route server {}{vpc}: {fib_here} in FIB, {lost_here} lost; routes persisted: \
             {persisted}\n",
            s.route_server_id
        ));
        if s.routes.is_empty() {
            out.push_str("(no route recorded)\n\n");
            continue;
        }
        let mut t = new_table(
            &[
                "PREFIX",
                "PEER",
                "NEXT HOP",
                "AS PATH",
                "MED",
                "ROUTE TABLES",
            ],
            color,
        );
        for r in &s.routes {
            let mut peer = Cell::new(match r.route_status {
                "lost" => "LOST (no in-fib route)".to_string(),
                _ => dash(r.route_server_peer_id.as_deref()),
            });
            let mut tables = Cell::new(tables_text(&r.route_tables));
            if color {
                if r.route_status == "lost" {
                    peer = peer.fg(Color::Red);
                }
                if r.route_tables.iter().any(|t| t.status == "rejected") {
                    tables = tables.fg(Color::Yellow);
                }
            }
            let path = if r.as_paths.is_empty() {
                "-".to_string()
            } else {
                r.as_paths.join(" ")
            };
            t.add_row(vec![
                Cell::new(&r.prefix),
                peer,
                Cell::new(dash(r.next_hop_ip.as_deref())),
                Cell::new(path),
                Cell::new(r.med.map_or("-".into(), |m| m.to_string())),
                tables,
            ]);
        }
        out.push_str(&table_text(&t));
        out.push_str("\n\n");
    }
    let n = doc.route_servers.len();
    out.push_str(&format!(
        "{n} route server{}: {in_fib} route{} in FIB, {lost} lost",
        if n == 1 { "" } else { "s" },
        if in_fib == 1 { "" } else { "s" },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::fabric::{FibRoute, RouteServerSnapshot, RouteSnapshot};

    fn record(subject: Subject, present: bool) -> (String, FabricRecord) {
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

    fn route(rs: &str, prefix: &str, peer: Option<&str>) -> Subject {
        Subject::Route(RouteSnapshot {
            route_server_id: rs.into(),
            vpc_id: "vpc-1".into(),
            prefix: prefix.into(),
            fib: peer.map(|p| FibRoute {
                route_server_peer_id: p.into(),
                route_server_endpoint_id: "rse-1".into(),
                next_hop_ip: "10.0.1.5".into(),
                as_paths: vec!["65001".into(), "65002".into()],
                med: Some(10),
                route_tables: vec![
                    RouteTableInstall {
                        route_table_id: "rtb-1".into(),
                        status: "installed".into(),
                        reason: None,
                    },
                    RouteTableInstall {
                        route_table_id: "rtb-2".into(),
                        status: "rejected".into(),
                        reason: Some("static route".into()),
                    },
                ],
            }),
        })
    }

    fn fabric() -> HashMap<String, FabricRecord> {
        [
            record(
                Subject::RouteServer(RouteServerSnapshot {
                    route_server_id: "rs-2".into(),
                    vpc_id: "vpc-2".into(),
                    state: "available".into(),
                    are_routes_persisted: true,
                    ..Default::default()
                }),
                true,
            ),
            record(route("rs-1", "10.0.0.0/16", Some("rsp-1")), true),
            record(route("rs-1", "9.0.0.0/8", Some("rsp-2")), true),
            record(route("rs-1", "10.0.0.0/8", None), true),
            record(route("rs-1", "172.16.0.0/12", Some("rsp-1")), false),
            record(route("rs-3", "0.0.0.0/0", Some("rsp-3")), false),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn route_servers_by_id_routes_in_address_order_present_only() {
        let doc = select(&fabric(), &[]);
        let ids: Vec<&str> = doc
            .route_servers
            .iter()
            .map(|s| s.route_server_id.as_str())
            .collect();
        assert_eq!(ids, ["rs-1", "rs-2"]);
        let prefixes: Vec<&str> = doc.route_servers[0]
            .routes
            .iter()
            .map(|r| r.prefix.as_str())
            .collect();
        assert_eq!(prefixes, ["9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16"]);
        assert_eq!(doc.route_servers[0].are_routes_persisted, None);
        assert_eq!(doc.route_servers[1].are_routes_persisted, Some(true));
        assert!(doc.route_servers[1].routes.is_empty());
        let only = select(&fabric(), &[RouteServerId::parse("rs-2").unwrap()]);
        assert_eq!(only.route_servers.len(), 1);
    }

    #[test]
    fn a_lost_route_has_nulls_and_empty_lists_in_json() {
        let doc = select(&fabric(), &[RouteServerId::parse("rs-1").unwrap()]);
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(
            v["routeServers"][0]["routes"][1],
            serde_json::json!({
                "prefix": "10.0.0.0/8",
                "routeServerPeerId": null,
                "nextHopIp": null,
                "routeStatus": "lost",
                "asPaths": [],
                "med": null,
                "routeTables": []
            })
        );
        assert_eq!(
            v["routeServers"][0]["routes"][2]["routeTables"][1],
            serde_json::json!({"routeTableId": "rtb-2", "status": "rejected", "reason": "static route"})
        );
        assert!(v["routeServers"][0].get("vpcId").is_none());
    }

    #[test]
    fn the_table_marks_lost_routes_and_ends_with_a_count() {
        let text = render(&select(&fabric(), &[]), false);
        assert!(
            text.starts_with(
                "Route server rs-1 (vpc-1): 2 in FIB, 1 lost; routes persisted: unknown"
            ),
            "{text}"
        );
        let lost = text.lines().find(|l| l.starts_with("10.0.0.0/8 ")).unwrap();
        assert!(lost.contains("LOST"), "{lost}");
        let row = text.lines().find(|l| l.starts_with("10.0.0.0/16")).unwrap();
        for want in [
            "rsp-1",
            "10.0.1.5",
            "65001 65002",
            "10",
            "rtb-1 installed, rtb-2 rejected (static route)",
        ] {
            assert!(row.contains(want), "{want} in {row}");
        }
        assert!(text.contains("routes persisted: yes"), "{text}");
        assert!(
            text.ends_with("2 route servers: 2 routes in FIB, 1 lost"),
            "{text}"
        );
    }

    #[test]
    fn cidrs_are_checked() {
        assert_eq!(
            parse_cidr(" 10.0.0.0/16 ").unwrap(),
            (Ipv4Addr::new(10, 0, 0, 0), 16)
        );
        assert!(parse_cidr("0.0.0.0/0").is_ok());
        assert!(parse_cidr("10.0.0.1/32").is_ok());
        for bad in [
            "10.0.0.0",
            "10.0.0/16",
            "10.0.0.0/+8",
            "fe80::/10",
            "x/8",
            "",
        ] {
            assert!(
                parse_cidr(bad).unwrap_err().contains("not an IPv4 CIDR"),
                "{bad}"
            );
        }
        assert!(
            parse_cidr("10.0.0.0/33")
                .unwrap_err()
                .contains("at most 32")
        );
        assert!(
            parse_cidr("10.0.0.1/16")
                .unwrap_err()
                .contains("the network is 10.0.0.0/16")
        );
    }
}
