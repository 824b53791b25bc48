//! `peerwatch status`: every known peer, one line each, worst health first. Reads `PeerState`
//! only (one paginated `Scan` of a small table); the history is not touched.

use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::time::{absolute, relative};
use super::{Context, EXIT_EMPTY, Failure, Output, color_enabled, emit, emit_json, explain};
use peerwatch_aws::store::Store;
use peerwatch_core::model::{Health, PeerRecord, Timestamp};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch status\n  \
    peerwatch status --health down,degraded\n  \
    peerwatch status --route-server rs-0a1b2c3d4e5f60718 --route-server rs-0b2c3d4e5f6071829\n  \
    peerwatch status --vpc vpc-0123456789abcdef0 --output json | jq '.peers[].routeServerPeerId'\n\n\
    Peers are sorted worst health first (down, degraded, transitional, healthy), then by route\n\
    server and peer id. Peers that vanished from EC2's listing are shown apart, with the state\n\
    they had when last seen; the filters apply to them too.\n\n\
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
/// apart, each sorted as the table is.
#[derive(Debug, Serialize, PartialEq)]
pub struct StatusDocument {
    pub peers: Vec<PeerRecord>,
    pub vanished: Vec<PeerRecord>,
}

impl StatusArgs {
    fn matches(&self, r: &PeerRecord) -> bool {
        let any =
            |wanted: &[String], value: &str| wanted.is_empty() || wanted.iter().any(|w| w == value);
        any(&self.route_servers, &r.peer.route_server_id)
            && any(&self.vpcs, &r.peer.vpc_id)
            && (self.healths.is_empty() || self.healths.contains(&r.health))
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

/// Filters and sorts the records into the document the command prints.
pub fn select(records: impl IntoIterator<Item = PeerRecord>, args: &StatusArgs) -> StatusDocument {
    let (mut peers, mut vanished): (Vec<_>, Vec<_>) = records
        .into_iter()
        .filter(|r| args.matches(r))
        .partition(|r| r.present);
    for list in [&mut peers, &mut vanished] {
        list.sort_by(|a, b| {
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
    StatusDocument { peers, vanished }
}

pub async fn run(ctx: &Context, args: StatusArgs) -> Result<(), Failure> {
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let records = store.load_states().await.map_err(|e| explain(ctx, &e))?;
    let known = records.len();
    let doc = select(records.into_values(), &args);
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

/// The table output: present peers, then the vanished ones under their own heading, then a
/// one-line count by health.
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
        let n = doc.peers.iter().filter(|r| r.health == *h).count();
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

fn table(records: &[PeerRecord], now: Timestamp, color: bool) -> comfy_table::Table {
    let mut t = super::new_table(
        &[
            "HEALTH",
            "STATE",
            "BGP",
            "BFD",
            "PEER",
            "ADDRESS",
            "ASN",
            "ROUTE SERVER",
            "VPC",
            "SINCE",
        ],
        color,
    );
    let dash = |v: &str| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.to_string()
        }
    };
    for r in records {
        let p = &r.peer;
        let mut health = Cell::new(r.health.as_str());
        if color {
            health = health.fg(health_color(r.health));
        }
        let mut state = dash(&p.state);
        if let Some(reason) = &p.failure_reason {
            state = format!("{state} ({reason})");
        }
        t.add_row(vec![
            health,
            Cell::new(state),
            Cell::new(dash(p.bgp_status.as_deref().unwrap_or_default())),
            Cell::new(dash(p.bfd_status.as_deref().unwrap_or_default())),
            Cell::new(&p.route_server_peer_id),
            Cell::new(dash(&p.peer_address)),
            Cell::new(p.peer_asn.map_or("-".into(), |a| a.to_string())),
            Cell::new(dash(&p.route_server_id)),
            Cell::new(dash(&p.vpc_id)),
            Cell::new(format!(
                "{} ({})",
                relative(r.last_changed_at, now),
                absolute(r.last_changed_at)
            )),
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
            health,
            open_alert: None,
            alerting: Default::default(),
        }
    }

    fn ids(list: &[PeerRecord]) -> Vec<&str> {
        list.iter()
            .map(|r| r.peer.route_server_peer_id.as_str())
            .collect()
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
        let doc = select(fleet(), &StatusArgs::default());
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
        let doc = select(fleet(), &args);
        assert_eq!(
            (ids(&doc.peers), ids(&doc.vanished)),
            (vec!["rsp-c"], vec!["rsp-g"])
        );
        assert_eq!(args.describe(), "--route-server rs-2 --health down");
        let args = StatusArgs {
            vpcs: vec!["vpc-2".into()],
            ..Default::default()
        };
        assert_eq!(ids(&select(fleet(), &args).peers), ["rsp-c", "rsp-e"]);
    }

    #[test]
    fn the_table_has_one_line_per_peer_and_a_vanished_section() {
        let now: Timestamp = "2026-11-25T19:05:00.000Z".parse().unwrap();
        let text = render(&select(fleet(), &StatusArgs::default()), now, false);
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
        let coloured = render(&select(fleet(), &StatusArgs::default()), now, true);
        assert!(coloured.contains("\u{1b}["), "health in colour when asked");
    }

    #[test]
    fn bad_health_names_the_choices() {
        assert!(parse_health("sick").unwrap_err().contains("down, degraded"));
    }
}
