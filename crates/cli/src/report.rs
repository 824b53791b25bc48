//! `peerwatch report`: availability, outages and recovery times over a window, per peer, per
//! route server and for the fleet, route failovers and lost time per route server and prefix,
//! and an SVG timeline. Reads `PeerState` (one `Scan` of a small table) and the window's peer
//! and route transitions (`Query` on `ByDay` or `ByRouteServer`, never a `Scan`); the figures
//! come from the pure `peerwatch_core::report::build_with_routes`.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{Cell, CellAlignment, Color};

use super::time::{TIME_FORMS, absolute, parse_time};
use super::{
    Context, EXIT_EMPTY, EXIT_FAILED, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json,
    explain, new_table, table_text,
};
use crate::timeline;
use peerwatch_aws::dynamo::StoreError;
use peerwatch_aws::history::History;
use peerwatch_aws::store::Store;
use peerwatch_core::duration::humanise_secs_f64;
use peerwatch_core::fabric::{FabricRecord, Subject};
use peerwatch_core::history::{HistoryQuery, HistoryRow, Scope};
use peerwatch_core::ids::RouteServerId;
use peerwatch_core::model::{PeerRecord, Timestamp};
use peerwatch_core::report::{self, Condition, Report, RouteCondition, format_percent};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch report                                    # the last 30 days, every route server\n  \
    peerwatch report --since 7d --svg timeline.svg\n  \
    peerwatch report --route-server rs-0a1b2c3d4e5f60718 --since 24h\n  \
    peerwatch report --since 2026-11-01 --until 2026-12-01 --output json | jq '.fleet'\n\n\
    --since and --until take a duration back from now (90m, 2h, 7d, 1w), an RFC 3339 time\n\
    (2026-11-25T19:05:00Z) or a UTC day (2026-11-25); an --until after now is taken as now.\n\n\
    Availability = healthy / (healthy + degraded + down) time. Time a peer spent pending,\n\
    deleting or deleted, and time it was not observed (before its discovery, after it\n\
    vanished), count for neither side. An outage is a stretch of down or degraded health\n\
    (degraded, then down, then degraded is one outage); one that began before --since is\n\
    counted from --since. Time to recover (MTTR: its mean) is over outages that ended with\n\
    the peer healthy again within the window. Per route server and prefix: failovers (moves\n\
    of the FIB next hop to another peer) and lost time (no route in the FIB, from route.lost\n\
    to route.restored; a prefix lost at --since counts from --since). docs/operating.md\n\
    describes the JSON fields.\n\n\
    The SVG shows one bar per peer over the window: healthy green, degraded amber, down red,\n\
    transitional grey, not observed hatched; then one bar per prefix of its route server: in\n\
    the FIB blue, lost red, a dark mark at each failover. Hover a segment for its times.\n\n\
    Exit codes: 0 report shown, 1 an AWS call failed (or the SVG could not be written),\n\
    2 bad arguments or settings, 3 no peer observed in the window.")]
pub struct ReportArgs {
    /// Start of the window: a duration back from now (30d, 12h) or a time [default: 30d]
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// End of the window: a duration back from now or a time [default: now]
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only peers of these route servers (repeat the flag or give a comma list)
    #[arg(long = "route-server", value_name = "RS_ID", value_delimiter = ',')]
    pub route_servers: Vec<String>,
    /// Also draw the timeline (one bar per peer and per prefix) as an SVG picture into FILE
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// The window and scope `args` ask for, checked and resolved against `now`.
#[derive(Debug, PartialEq, Eq)]
pub struct Window {
    pub since: Timestamp,
    pub until: Timestamp,
    pub route_servers: Vec<String>,
}

pub fn resolve(args: &ReportArgs, now: Timestamp) -> Result<Window, Failure> {
    let usage = |m: String| Failure::new(EXIT_USAGE, m);
    let time = |flag: &str, arg: &str| {
        parse_time(arg, now).map_err(|e| usage(format!("invalid {flag}: {e}")))
    };
    let since = time("--since", args.since.as_deref().unwrap_or("30d"))?;
    // The future has no health yet: a report ends now at the latest.
    let until = match &args.until {
        Some(u) => time("--until", u)?.min(now),
        None => now,
    };
    if since >= until {
        return Err(usage(format!(
            "invalid --since: {since} is not before --until {until}; a report needs a window \
             ({TIME_FORMS})"
        )));
    }
    let mut route_servers = Vec::new();
    for r in &args.route_servers {
        let r = RouteServerId::parse(r)
            .map_err(|e| usage(format!("invalid --route-server: {e}")))?
            .to_string();
        if !route_servers.contains(&r) {
            route_servers.push(r);
        }
    }
    Ok(Window {
        since,
        until,
        route_servers,
    })
}

pub async fn run(ctx: &Context, args: ReportArgs) -> Result<(), Failure> {
    let window = resolve(&args, ctx.now)?;
    let client = aws_sdk_dynamodb::Client::new(&ctx.sdk);
    let store = Store::new(
        client.clone(),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let history = History::new(client, &ctx.config.peer_transitions_table);
    let (known, (transitions, route_transitions)) =
        tokio::try_join!(store.load_known(), transitions(&history, &window, ctx.now))
            .map_err(|e| explain(ctx, &e))?;
    let in_scope =
        |rs: &str| window.route_servers.is_empty() || window.route_servers.iter().any(|r| r == rs);
    let states: Vec<PeerRecord> = known
        .peers
        .into_values()
        .filter(|r| in_scope(&r.peer.route_server_id))
        .collect();
    let routes: Vec<FabricRecord> = known
        .fabric
        .into_values()
        .filter(|r| matches!(r.subject, Subject::Route(_)) && in_scope(r.subject.route_server_id()))
        .collect();
    let report = report::build_with_routes(
        &states,
        &transitions,
        &routes,
        &route_transitions,
        window.since,
        window.until,
    );

    if report.peers.is_empty() {
        if ctx.output == Output::Json {
            emit_json(&report)?;
        }
        let scope = match window.route_servers.as_slice() {
            [] => String::new(),
            ids => format!(" on route server {}", ids.join(", ")),
        };
        return Err(Failure::new(
            EXIT_EMPTY,
            format!(
                "no peer was observed{scope} from {} to {} ({} peers known in table {}, region {})",
                window.since,
                window.until,
                states.len(),
                ctx.config.peer_state_table,
                ctx.region()
            ),
        ));
    }
    // The picture first: a path that cannot be written fails before anything is printed.
    if let Some(path) = &args.svg {
        std::fs::write(path, timeline::render(&report)).map_err(|e| {
            Failure::new(
                EXIT_FAILED,
                format!("cannot write the timeline to {}: {e}", path.display()),
            )
        })?;
    }
    match ctx.output {
        Output::Json => emit_json(&report),
        Output::Table => {
            let mut text = render(&report, color_enabled());
            if let Some(path) = &args.svg {
                text.push_str(&format!("\nTimeline: {}", path.display()));
            }
            emit(&text)
        }
    }
}

/// The peers' and the routes' transitions the report needs: from `since` up to now rather
/// than `until`, because the first transition after a quiet window tells what the peer or the
/// prefix was during it.
async fn transitions(
    history: &History,
    window: &Window,
    now: Timestamp,
) -> Result<(Vec<HistoryRow>, Vec<HistoryRow>), StoreError> {
    let query = |scope| HistoryQuery {
        scope,
        since: window.since,
        until: now.max(window.until),
        limit: None,
    };
    let scopes = if window.route_servers.is_empty() {
        vec![Scope::Fleet]
    } else {
        window
            .route_servers
            .iter()
            .map(|id| Scope::RouteServer(id.clone()))
            .collect()
    };
    let (mut peers, mut routes) = (Vec::new(), Vec::new());
    for scope in scopes {
        let q = query(scope);
        let (p, r) = tokio::try_join!(history.transitions(&q), history.route_transitions(&q))?;
        peers.extend(p);
        routes.extend(r);
    }
    Ok((peers, routes))
}

/// The table output: the window, route servers with the fleet's total, peers, and what the
/// figures mean.
pub fn render(report: &Report, color: bool) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("{n} {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut out = format!(
        "Report from {} to {} ({}): {} on {}\n\n",
        absolute(report.since),
        absolute(report.until),
        humanise_secs_f64((report.until.as_millis() - report.since.as_millis()) as f64 / 1000.0),
        plural(report.peers.len(), "peer", "peers"),
        plural(report.route_servers.len(), "route server", "route servers"),
    );

    let mut t = new_table(
        &[
            "ROUTE SERVER",
            "PEERS",
            "AVAILABILITY",
            "OUTAGES",
            "MTTR",
            "LONGEST",
            "OPEN",
        ],
        color,
    );
    let totals_row = |name: String, r: &report::Totals| {
        vec![
            Cell::new(name),
            Cell::new(r.peers),
            Cell::new(format_percent(r.availability_percent)),
            Cell::new(r.outage_count),
            Cell::new(span(r.mean_time_to_recover_seconds)),
            Cell::new(span(r.longest_time_to_recover_seconds)),
            open_cell(r.open_outages, color),
        ]
    };
    for rs in &report.route_servers {
        t.add_row(totals_row(rs.route_server_id.clone(), &rs.totals));
    }
    if report.route_servers.len() > 1 {
        t.add_row(totals_row("(all)".into(), &report.fleet));
    }
    align_right(&mut t, &[1, 2, 3, 4, 5, 6]);
    out.push_str(&table_text(&t));
    out.push_str("\n\n");

    let mut t = new_table(
        &[
            "PEER",
            "ROUTE SERVER",
            "ADDRESS",
            "AT END",
            "AVAILABILITY",
            "OUTAGES",
            "MTTR",
            "LONGEST",
            "OPEN OUTAGE",
        ],
        color,
    );
    for p in &report.peers {
        let mut health = Cell::new(p.health_at_until);
        if color && let Some(c) = condition_color(p.health_at_until) {
            health = health.fg(c);
        }
        let open = match &p.open_outage {
            None => "-".to_string(),
            Some(o) if o.started_before_window => format!(
                "{} for {}+ (since before the window)",
                o.health,
                humanise_secs_f64(o.duration_seconds)
            ),
            Some(o) => format!(
                "{} for {} (since {})",
                o.health,
                humanise_secs_f64(o.duration_seconds),
                absolute(o.since)
            ),
        };
        t.add_row(vec![
            Cell::new(&p.route_server_peer_id),
            Cell::new(&p.route_server_id),
            Cell::new(p.peer_address.as_deref().unwrap_or("-")),
            health,
            Cell::new(format_percent(p.availability_percent)),
            Cell::new(p.outage_count),
            Cell::new(span(p.mean_time_to_recover_seconds)),
            Cell::new(span(p.longest_time_to_recover_seconds)),
            Cell::new(open),
        ]);
    }
    align_right(&mut t, &[4, 5, 6, 7]);
    out.push_str(&table_text(&t));
    out.push_str(&routes_text(report, color));
    out.push_str(
        "\n\nAvailability = healthy / (healthy + degraded + down); time pending, deleting, \
         deleted or not observed is not counted.\n\
         MTTR = mean time to recover, over outages that ended healthy in the window; an outage \
         under way at --since counts from --since.",
    );
    out
}

/// A section per route server with prefixes: its failovers and lost time, then one line per
/// prefix with its lost stretches. Empty when no route server has any.
fn routes_text(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for rs in report.route_servers.iter().filter(|r| !r.routes.is_empty()) {
        let failovers = match rs.route_failovers {
            1 => "1 failover".to_string(),
            n => format!("{n} failovers"),
        };
        out.push_str(&format!(
            "\n\nRoutes of {}: {} prefixes, {failovers}, lost for {}\n",
            rs.route_server_id,
            rs.routes.len(),
            humanise_secs_f64(rs.route_lost_seconds),
        ));
        let mut t = new_table(
            &["PREFIX", "AT END", "FAILOVERS", "LOST", "LOST FROM - TO"],
            color,
        );
        for r in &rs.routes {
            let mut state = Cell::new(r.state_at_until);
            if color {
                state = match r.state_at_until {
                    RouteCondition::InFib => state.fg(Color::Green),
                    RouteCondition::Lost => state.fg(Color::Red),
                    RouteCondition::Unobserved => state,
                };
            }
            let stretches: Vec<String> = r
                .lost_intervals
                .iter()
                .map(|l| {
                    let from = if l.started_before_window {
                        "(before)".to_string()
                    } else {
                        absolute(l.started_at)
                    };
                    let to = l.ended_at.map_or("(still lost)".to_string(), absolute);
                    format!("{from} - {to}")
                })
                .collect();
            t.add_row(vec![
                Cell::new(&r.prefix),
                state,
                Cell::new(r.failovers),
                Cell::new(humanise_secs_f64(r.lost_seconds)),
                Cell::new(if stretches.is_empty() {
                    "-".to_string()
                } else {
                    stretches.join(", ")
                }),
            ]);
        }
        align_right(&mut t, &[2, 3]);
        out.push_str(&table_text(&t));
    }
    if !out.is_empty() {
        out.push_str(
            "\n\nA failover is a move of a prefix's FIB next hop to another peer; lost time is \
             time with no route in the FIB, from route.lost to route.restored.",
        );
    }
    out
}

fn span(seconds: Option<f64>) -> String {
    seconds.map_or("-".into(), humanise_secs_f64)
}

fn open_cell(n: usize, color: bool) -> Cell {
    let cell = Cell::new(n);
    if color && n > 0 {
        cell.fg(Color::Red)
    } else {
        cell
    }
}

fn condition_color(c: Condition) -> Option<Color> {
    match c {
        Condition::Healthy => Some(Color::Green),
        Condition::Degraded => Some(Color::Yellow),
        Condition::Down => Some(Color::Red),
        Condition::Transitional => Some(Color::Cyan),
        Condition::Unobserved => None,
    }
}

fn align_right(t: &mut comfy_table::Table, columns: &[usize]) {
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-25T19:05:00.000Z";

    fn args(since: Option<&str>, until: Option<&str>, rs: &[&str]) -> ReportArgs {
        ReportArgs {
            since: since.map(String::from),
            until: until.map(String::from),
            route_servers: rs.iter().map(|s| s.to_string()).collect(),
            svg: None,
        }
    }

    #[test]
    fn the_window_defaults_to_the_last_30_days_and_ends_now_at_the_latest() {
        let now = t(NOW);
        let w = resolve(&args(None, None, &[]), now).unwrap();
        assert_eq!((w.since, w.until), (t("2026-10-26T19:05:00.000Z"), now));
        let w = resolve(&args(Some("2h"), Some("2026-12-01"), &[]), now).unwrap();
        assert_eq!(w.until, now, "the future is taken as now");
        let w = resolve(
            &args(
                Some("2026-11-20T10:00:00Z"),
                Some("2026-11-20T11:00:00Z"),
                &["rs-1", "rs-2", "rs-1"],
            ),
            now,
        )
        .unwrap();
        assert_eq!(
            w,
            Window {
                since: t("2026-11-20T10:00:00Z"),
                until: t("2026-11-20T11:00:00Z"),
                route_servers: vec!["rs-1".into(), "rs-2".into()],
            }
        );
    }

    #[test]
    fn bad_arguments_are_usage_errors_that_say_why() {
        let now = t(NOW);
        for (a, needle) in [
            (args(Some("yesterday"), None, &[]), "invalid --since"),
            (args(None, Some("soon"), &[]), "invalid --until"),
            (args(Some("1h"), Some("2h"), &[]), "is not before --until"),
            (args(Some("0s"), None, &[]), "is not before --until"),
            (args(None, None, &["vpc-1"]), "is not a route server id"),
        ] {
            let f = resolve(&a, now).unwrap_err();
            assert_eq!(f.code, EXIT_USAGE);
            assert!(f.message.contains(needle), "{}", f.message);
        }
    }
}
