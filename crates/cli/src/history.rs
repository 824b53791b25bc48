//! `peerwatch history`: recorded transitions, newest first, for one peer (the table's key), one
//! route server (`ByRouteServer`) or the fleet (`ByDay`). Always `Query`, never `Scan`.

use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::time::{TIME_FORMS, absolute, parse_time, relative};
use super::{
    Context, EXIT_EMPTY, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json, explain,
    new_table, table_text,
};
use peerwatch_aws::history::History;
use peerwatch_core::history::{Cursor, HistoryQuery, HistoryRow, Scope};
use peerwatch_core::ids::{IdError, RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{Health, Timestamp};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch history                                   # the whole fleet, last 24 hours\n  \
    peerwatch history --peer rsp-0a1b2c3d4e5f60718 --since 7d\n  \
    peerwatch history --route-server rs-0a1b2c3d4e5f60718 --since 2h --limit 50\n  \
    peerwatch history --since 2026-11-25T00:00:00Z --until 2026-11-26T00:00:00Z --output json\n  \
    peerwatch history --limit 20 --starting-token 2026-11-25T19:05:00.123Z,rsp-0a1b2c3d4e5f60718\n\n\
    --since and --until take a duration back from now (90m, 2h, 7d, 1w, 1h30m), an RFC 3339\n\
    time (2026-11-25T19:05:00Z) or a UTC day (2026-11-25). Both ends are included.\n\
    With --limit, a full page ends with the token that continues it (nextToken in JSON).\n\n\
    Exit codes: 0 transitions shown, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 no transition in the window.")]
pub struct HistoryArgs {
    /// One peer's history (a route server peer id, rsp-...)
    #[arg(long, value_name = "PEER_ID", conflicts_with = "route_server")]
    pub peer: Option<String>,
    /// One route server's history (rs-...), through the ByRouteServer index
    #[arg(long = "route-server", value_name = "RS_ID")]
    pub route_server: Option<String>,
    /// Oldest transition to show: a duration back from now (2h, 7d) or a time [default: 24h]
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Newest transition to show: a duration back from now or a time [default: now]
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// At most this many transitions (the newest)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Continue a listing after the row this token names (printed when --limit cut it short)
    #[arg(long, value_name = "TOKEN")]
    pub starting_token: Option<String>,
}

/// Whose history, in the JSON document: `{"kind": "peer", "id": "rsp-..."}`,
/// `{"kind": "routeServer", "id": "rs-..."}` or `{"kind": "fleet"}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDoc {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl From<&Scope> for ScopeDoc {
    fn from(s: &Scope) -> Self {
        match s {
            Scope::Peer(id) => ScopeDoc {
                kind: "peer",
                id: Some(id.clone()),
            },
            Scope::RouteServer(id) => ScopeDoc {
                kind: "routeServer",
                id: Some(id.clone()),
            },
            Scope::Fleet => ScopeDoc {
                kind: "fleet",
                id: None,
            },
        }
    }
}

/// The JSON document `peerwatch history --output json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDocument {
    pub transitions: Vec<HistoryRow>,
    pub count: usize,
    pub since: Timestamp,
    pub until: Timestamp,
    pub scope: ScopeDoc,
    pub limit: Option<u32>,
    /// Set when `limit` rows came back: `--starting-token` continues after the last one (the
    /// next page may turn out empty).
    pub next_token: Option<String>,
}

/// The arguments checked and resolved against `now`: the query and the cursor to start after.
pub fn resolve(
    args: &HistoryArgs,
    now: Timestamp,
) -> Result<(HistoryQuery, Option<Cursor>), Failure> {
    let usage = |m: String| Failure::new(EXIT_USAGE, m);
    let time = |flag: &str, arg: &str| {
        parse_time(arg, now).map_err(|e| usage(format!("invalid {flag}: {e}")))
    };
    let since = time("--since", args.since.as_deref().unwrap_or("24h"))?;
    let until = match &args.until {
        Some(u) => time("--until", u)?,
        None => now,
    };
    if since > until {
        return Err(usage(format!(
            "invalid --since: {since} is after --until {until}"
        )));
    }
    let invalid = |flag: &'static str| move |e: IdError| usage(format!("invalid {flag}: {e}"));
    let scope = match (&args.peer, &args.route_server) {
        (Some(p), _) => Scope::Peer(
            RouteServerPeerId::parse(p)
                .map_err(invalid("--peer"))?
                .to_string(),
        ),
        (None, Some(r)) => Scope::RouteServer(
            RouteServerId::parse(r)
                .map_err(invalid("--route-server"))?
                .to_string(),
        ),
        (None, None) => Scope::Fleet,
    };
    let cursor = args
        .starting_token
        .as_deref()
        .map(|t| t.parse::<Cursor>())
        .transpose()
        .map_err(|e| usage(format!("invalid --starting-token: {e}")))?;
    let query = HistoryQuery {
        scope,
        since,
        until,
        limit: args.limit.map(|l| l as usize),
    };
    Ok((query, cursor))
}

pub async fn run(ctx: &Context, args: HistoryArgs) -> Result<(), Failure> {
    let (query, cursor) = resolve(&args, ctx.now)?;
    let history = History::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_transitions_table,
    );
    let rows = history
        .transitions_after(&query, cursor.as_ref())
        .await
        .map_err(|e| explain(ctx, &e))?;
    let next_token = match (query.limit, rows.last()) {
        (Some(l), Some(last)) if rows.len() >= l => Some(Cursor::after(last).to_string()),
        _ => None,
    };
    let doc = HistoryDocument {
        count: rows.len(),
        transitions: rows,
        since: query.since,
        until: query.until,
        scope: ScopeDoc::from(&query.scope),
        limit: args.limit,
        next_token,
    };
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table if doc.transitions.is_empty() => {}
        Output::Table => emit(&render(&doc, &query.scope, ctx.now, color_enabled()))?,
    }
    if doc.transitions.is_empty() {
        let after = if cursor.is_some() {
            " after the starting token"
        } else {
            ""
        };
        return Err(Failure::new(
            EXIT_EMPTY,
            format!(
                "no transitions {} from {} to {}{after} in table {} (region {}); \
                 widen the window with --since ({TIME_FORMS})",
                scope_text(&query.scope),
                query.since,
                query.until,
                history.table(),
                ctx.region()
            ),
        ));
    }
    Ok(())
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::Peer(id) => format!("of peer {id}"),
        Scope::RouteServer(id) => format!("on route server {id}"),
        Scope::Fleet => "in the fleet".into(),
    }
}

/// `BgpStatus up→down, State available→failing (hold timer expired)`; a discovered peer's
/// fields have no "from": `State available`.
pub fn changes_text(row: &HistoryRow) -> String {
    let mut parts: Vec<String> = row
        .changes
        .iter()
        .map(|c| {
            let to = c.to.as_deref().unwrap_or("-");
            match &c.from {
                Some(from) => format!("{} {from}→{to}", c.field),
                None => format!("{} {to}", c.field),
            }
        })
        .collect();
    if parts.is_empty() {
        parts.push("-".into());
    }
    let mut text = parts.join(", ");
    if let Some(reason) = &row.failure_reason {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

fn severity_color(severity: &str) -> Option<Color> {
    match severity {
        "critical" => Some(Color::Red),
        "warning" => Some(Color::Yellow),
        "recovery" => Some(Color::Green),
        _ => None,
    }
}

/// The table output, then one line saying what was shown and how to continue.
pub fn render(doc: &HistoryDocument, scope: &Scope, now: Timestamp, color: bool) -> String {
    let mut t = new_table(
        &[
            "OBSERVED AT",
            "PEER",
            "ROUTE SERVER",
            "KIND",
            "EVENT",
            "SEVERITY",
            "CHANGES",
            "HEALTH",
            "NOTIFICATION",
        ],
        color,
    );
    for row in &doc.transitions {
        let health_to = row.health_to.as_deref().unwrap_or("-");
        let health = match &row.health_from {
            Some(from) => format!("{from}→{health_to}"),
            None => health_to.to_string(),
        };
        let mut severity = Cell::new(&row.severity);
        let mut health = Cell::new(health);
        if color {
            if let Some(c) = severity_color(&row.severity) {
                severity = severity.fg(c);
            }
            if let Some(h) = row.health_to.as_deref().and_then(Health::parse) {
                health = health.fg(super::status::health_color(h));
            }
        }
        t.add_row(vec![
            Cell::new(format!(
                "{} ({})",
                absolute(row.observed_at),
                relative(row.observed_at, now)
            )),
            Cell::new(&row.route_server_peer_id),
            Cell::new(if row.route_server_id.is_empty() {
                "-"
            } else {
                &row.route_server_id
            }),
            Cell::new(&row.kind),
            Cell::new(row.event.as_deref().unwrap_or("-")),
            severity,
            Cell::new(changes_text(row)),
            health,
            Cell::new(&row.notification_state),
        ]);
    }
    let plural = if doc.count == 1 { "" } else { "s" };
    let scope = scope_text(scope);
    let mut out = table_text(&t);
    out.push_str(&format!(
        "\n\n{} transition{plural} {scope}, newest first, from {} to {}",
        doc.count,
        absolute(doc.since),
        absolute(doc.until)
    ));
    if let Some(token) = &doc.next_token {
        out.push_str(&format!(
            "; --limit reached, older ones may follow: --starting-token {token}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::model::{Field, FieldChange};

    const NOW: &str = "2026-11-25T19:05:00.000Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn args() -> HistoryArgs {
        HistoryArgs::default()
    }

    #[test]
    fn defaults_are_the_last_24_hours_of_the_fleet() {
        let (q, cursor) = resolve(&args(), now()).unwrap();
        assert_eq!(q.scope, Scope::Fleet);
        assert_eq!(q.since.to_string(), "2026-11-24T19:05:00.000Z");
        assert_eq!(q.until, now());
        assert_eq!((q.limit, cursor), (None, None));
    }

    #[test]
    fn bad_arguments_exit_2_naming_the_flag() {
        let cases = [
            (
                HistoryArgs {
                    since: Some("yesterday".into()),
                    ..args()
                },
                "invalid --since",
            ),
            (
                HistoryArgs {
                    until: Some("2026-11-25T10:00".into()),
                    ..args()
                },
                "invalid --until",
            ),
            (
                HistoryArgs {
                    since: Some("1h".into()),
                    until: Some("2h".into()),
                    ..args()
                },
                "is after --until",
            ),
            (
                HistoryArgs {
                    peer: Some("rs-0a1b".into()),
                    ..args()
                },
                "invalid --peer",
            ),
            (
                HistoryArgs {
                    route_server: Some("rsp-0a1b".into()),
                    ..args()
                },
                "invalid --route-server",
            ),
            (
                HistoryArgs {
                    starting_token: Some("page2".into()),
                    ..args()
                },
                "invalid --starting-token",
            ),
        ];
        for (a, want) in cases {
            let f = resolve(&a, now()).unwrap_err();
            assert_eq!(f.code, EXIT_USAGE, "{a:?}");
            assert!(f.message.contains(want), "{want}: {}", f.message);
        }
    }

    #[test]
    fn changes_read_from_to() {
        let mut row = HistoryRow {
            route_server_peer_id: "rsp-1".into(),
            observed_at: now(),
            route_server_id: "rs-1".into(),
            kind: "changed".into(),
            changes: vec![
                FieldChange {
                    field: Field::State,
                    from: Some("available".into()),
                    to: Some("failing".into()),
                },
                FieldChange {
                    field: Field::BgpStatus,
                    from: Some("up".into()),
                    to: Some("down".into()),
                },
            ],
            health_from: Some("healthy".into()),
            health_to: Some("degraded".into()),
            severity: "warning".into(),
            event: Some("peer.failing".into()),
            notification_state: "sent".into(),
            notification_message_id: None,
            failure_reason: Some("hold timer expired".into()),
            previous_observed_at: None,
            previous_duration_seconds: None,
            version: 2,
        };
        assert_eq!(
            changes_text(&row),
            "State available→failing, BgpStatus up→down (hold timer expired)"
        );
        row.changes[0].from = None;
        row.changes.truncate(1);
        row.failure_reason = None;
        assert_eq!(changes_text(&row), "State failing");
    }
}
