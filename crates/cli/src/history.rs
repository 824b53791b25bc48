//! `peerwatch history`: recorded transitions, newest first, for one peer (the table's key, with
//! the routes and advertisement items that concern it), one route server (`ByRouteServer`), one
//! prefix (its route items' keys) or the fleet (`ByDay`). Always `Query`, never `Scan` of the
//! history (`--prefix` alone scans the small `PeerState` for the route servers that have it).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use clap::Args;
use comfy_table::{Cell, Color};
use serde::Serialize;

use super::routes::parse_cidr;
use super::time::{TIME_FORMS, absolute, parse_time, relative};
use super::{
    Context, EXIT_EMPTY, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json, explain,
    new_table, table_text,
};
use peerwatch_aws::dynamo::{StoreError, dynamo};
use peerwatch_aws::history::{History, row_from_item};
use peerwatch_aws::store::{INDEX_BY_ROUTE_SERVER, Store};
use peerwatch_core::fabric::{Subject, peer_routes_key, route_key};
use peerwatch_core::history::{Cursor, HistoryQuery, HistoryRow, Scope};
use peerwatch_core::ids::{IdError, RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{Health, Timestamp};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch history                                   # the whole fleet, last 24 hours\n  \
    peerwatch history --peer rsp-0a1b2c3d4e5f60718 --since 7d\n  \
    peerwatch history --route-server rs-0a1b2c3d4e5f60718 --since 2h --limit 50\n  \
    peerwatch history --prefix 10.0.0.0/16 --route-server rs-0a1b2c3d4e5f60718 --since 7d\n  \
    peerwatch history --since 2026-11-25T00:00:00Z --until 2026-11-26T00:00:00Z --output json\n  \
    peerwatch history --limit 20 --starting-token 2026-11-25T19:05:00.123Z,rsp-0a1b2c3d4e5f60718\n\n\
    --since and --until take a duration back from now (90m, 2h, 7d, 1w, 1h30m), an RFC 3339\n\
    time (2026-11-25T19:05:00Z) or a UTC day (2026-11-25). Both ends are included.\n\
    With --limit, a full page ends with the token that continues it (nextToken in JSON).\n\
    --peer includes the changes of routes whose next hop is or was the peer, and of what it\n\
    advertises. --prefix lists that prefix's route changes (failovers, losses, rejections) on\n\
    --route-server, or on every route server that has the prefix recorded.\n\n\
    Exit codes: 0 transitions shown, 1 an AWS call failed, 2 bad arguments or settings,\n\
    3 no transition in the window.")]
pub struct HistoryArgs {
    /// One peer's history (a route server peer id, rsp-...), with the routes that concern it
    #[arg(long, value_name = "PEER_ID", conflicts_with = "route_server")]
    pub peer: Option<String>,
    /// One route server's history (rs-...), through the ByRouteServer index; with --prefix,
    /// that prefix on this route server only
    #[arg(long = "route-server", value_name = "RS_ID")]
    pub route_server: Option<String>,
    /// One prefix's route history (an IPv4 CIDR, 10.0.0.0/16)
    #[arg(long, value_name = "CIDR", conflicts_with = "peer")]
    pub prefix: Option<String>,
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

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One peer: its own items, its advertisement's, and those of routes whose next hop it is
    /// or was (their `PeerIds` name it).
    Peer(String),
    RouteServer(String),
    /// One prefix's route items (`route#<rs>#<prefix>`), on one route server or on each that
    /// has the prefix recorded.
    Prefix {
        prefix: String,
        route_server: Option<String>,
    },
    Fleet,
}

/// The arguments checked and resolved: whose history, the window, the page.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub since: Timestamp,
    pub until: Timestamp,
    pub limit: Option<usize>,
    /// Continue after the row this names.
    pub cursor: Option<Cursor>,
}

impl Request {
    fn query(&self, scope: Scope) -> HistoryQuery {
        HistoryQuery {
            scope,
            since: self.since,
            until: self.until,
            limit: self.limit,
        }
    }
}

/// Whose history, in the JSON document: `{"kind": "peer", "id": "rsp-..."}`,
/// `{"kind": "routeServer", "id": "rs-..."}`, `{"kind": "prefix", "id": "10.0.0.0/16"}` (with
/// `"routeServerId"` when one was named) or `{"kind": "fleet"}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDoc {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_server_id: Option<String>,
}

impl From<&Target> for ScopeDoc {
    fn from(t: &Target) -> Self {
        let (kind, id, route_server_id) = match t {
            Target::Peer(id) => ("peer", Some(id.clone()), None),
            Target::RouteServer(id) => ("routeServer", Some(id.clone()), None),
            Target::Prefix {
                prefix,
                route_server,
            } => ("prefix", Some(prefix.clone()), route_server.clone()),
            Target::Fleet => ("fleet", None, None),
        };
        ScopeDoc {
            kind,
            id,
            route_server_id,
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

/// The arguments checked and resolved against `now`.
pub fn resolve(args: &HistoryArgs, now: Timestamp) -> Result<Request, Failure> {
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
    let route_server = args
        .route_server
        .as_deref()
        .map(|r| {
            RouteServerId::parse(r)
                .map(|id| id.to_string())
                .map_err(invalid("--route-server"))
        })
        .transpose()?;
    let target = match (&args.peer, &args.prefix, route_server) {
        (Some(p), _, _) => Target::Peer(
            RouteServerPeerId::parse(p)
                .map_err(invalid("--peer"))?
                .to_string(),
        ),
        (None, Some(prefix), route_server) => {
            let prefix = prefix.trim();
            parse_cidr(prefix).map_err(|e| usage(format!("invalid --prefix: {e}")))?;
            Target::Prefix {
                prefix: prefix.to_string(),
                route_server,
            }
        }
        (None, None, Some(r)) => Target::RouteServer(r),
        (None, None, None) => Target::Fleet,
    };
    let cursor = args
        .starting_token
        .as_deref()
        .map(|t| t.parse::<Cursor>())
        .transpose()
        .map_err(|e| usage(format!("invalid --starting-token: {e}")))?;
    Ok(Request {
        target,
        since,
        until,
        limit: args.limit.map(|l| l as usize),
        cursor,
    })
}

pub async fn run(ctx: &Context, args: HistoryArgs) -> Result<(), Failure> {
    let req = resolve(&args, ctx.now)?;
    let client = aws_sdk_dynamodb::Client::new(&ctx.sdk);
    let history = History::new(client.clone(), &ctx.config.peer_transitions_table);
    let merged = Merged {
        client: &client,
        table: history.table(),
    };
    let explain = |e: StoreError| explain(ctx, &e);
    let cursor = req.cursor.as_ref();
    let (rows, unknown_prefix) = match &req.target {
        Target::RouteServer(id) => {
            let q = req.query(Scope::RouteServer(id.clone()));
            let rows = history.transitions_after(&q, cursor).await;
            (rows.map_err(explain)?, false)
        }
        Target::Fleet => {
            let rows = history
                .transitions_after(&req.query(Scope::Fleet), cursor)
                .await;
            (rows.map_err(explain)?, false)
        }
        Target::Peer(id) => {
            let sources = peer_sources(ctx, &client, id).await.map_err(explain)?;
            (merged.rows(&sources, &req).await.map_err(explain)?, false)
        }
        Target::Prefix {
            prefix,
            route_server,
        } => {
            let servers = match route_server {
                Some(rs) => vec![rs.clone()],
                None => route_servers_with(ctx, &client, prefix)
                    .await
                    .map_err(explain)?,
            };
            let sources: Vec<Source> = servers
                .iter()
                .map(|rs| Source::partition(route_key(rs, prefix)))
                .collect();
            let rows = merged.rows(&sources, &req).await.map_err(explain)?;
            (rows, servers.is_empty())
        }
    };
    let next_token = match (req.limit, rows.last()) {
        (Some(l), Some(last)) if rows.len() >= l => Some(Cursor::after(last).to_string()),
        _ => None,
    };
    let doc = HistoryDocument {
        count: rows.len(),
        transitions: rows,
        since: req.since,
        until: req.until,
        scope: ScopeDoc::from(&req.target),
        limit: args.limit,
        next_token,
    };
    match ctx.output {
        Output::Json => emit_json(&doc)?,
        Output::Table if doc.transitions.is_empty() => {}
        Output::Table => emit(&render(&doc, &req.target, ctx.now, color_enabled()))?,
    }
    if doc.transitions.is_empty() {
        let after = if cursor.is_some() {
            " after the starting token"
        } else {
            ""
        };
        let hint = if unknown_prefix {
            format!(
                "; no route server in table {} has that prefix recorded (name one with \
                 --route-server)",
                ctx.config.peer_state_table
            )
        } else {
            String::new()
        };
        return Err(Failure::new(
            EXIT_EMPTY,
            format!(
                "no transitions {} from {} to {}{after} in table {} (region {}){hint}; \
                 widen the window with --since ({TIME_FORMS})",
                scope_text(&req.target),
                req.since,
                req.until,
                history.table(),
                ctx.region()
            ),
        ));
    }
    Ok(())
}

/// One partition of `PeerTransitions` (or of its `ByRouteServer` index) a merged listing
/// reads, optionally only its items whose `PeerIds` name a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    index: Option<&'static str>,
    key: &'static str,
    value: String,
    concerning: Option<String>,
}

impl Source {
    /// The items of one key value: a peer's, an advertisement's or a route's.
    fn partition(value: String) -> Self {
        Source {
            index: None,
            key: "RouteServerPeerId",
            value,
            concerning: None,
        }
    }
}

/// What `history --peer` reads: the peer's own items, its advertisement's, and, when its
/// route server is known, that route server's items naming the peer (routes it is or was the
/// next hop of). The route server is the peer's `PeerState` record's, else its
/// advertisement record's.
async fn peer_sources(
    ctx: &Context,
    client: &aws_sdk_dynamodb::Client,
    peer: &str,
) -> Result<Vec<Source>, StoreError> {
    let table = &ctx.config.peer_state_table;
    let mut sources = vec![
        Source::partition(peer.to_string()),
        Source::partition(peer_routes_key(peer)),
    ];
    for key in [peer.to_string(), peer_routes_key(peer)] {
        let got = client
            .get_item()
            .table_name(table)
            .key("RouteServerPeerId", AttributeValue::S(key))
            .projection_expression("RouteServerId")
            .send()
            .await
            .map_err(dynamo("GetItem", table))?;
        let rs = got
            .item()
            .and_then(|i| i.get("RouteServerId"))
            .and_then(|v| v.as_s().ok())
            .filter(|rs| !rs.is_empty());
        if let Some(rs) = rs {
            sources.push(Source {
                index: Some(INDEX_BY_ROUTE_SERVER),
                key: "RouteServerId",
                value: rs.clone(),
                concerning: Some(peer.to_string()),
            });
            break;
        }
    }
    Ok(sources)
}

/// The route servers whose history may hold `prefix`: those with a route record of it
/// (present or not) and every route server recorded, sorted.
async fn route_servers_with(
    ctx: &Context,
    client: &aws_sdk_dynamodb::Client,
    prefix: &str,
) -> Result<Vec<String>, StoreError> {
    let store = Store::new(
        client.clone(),
        &ctx.config.peer_state_table,
        &ctx.config.peer_transitions_table,
        ctx.config.history_retention_days,
    );
    let known = store.load_known().await?;
    let servers: BTreeSet<String> = known
        .fabric
        .values()
        .filter_map(|r| match &r.subject {
            Subject::Route(route) if route.prefix == prefix => Some(route.route_server_id.clone()),
            Subject::RouteServer(rs) => Some(rs.route_server_id.clone()),
            _ => None,
        })
        .filter(|rs| !rs.is_empty())
        .collect();
    Ok(servers.into_iter().collect())
}

/// Whether `row` comes after `c` in a merged listing: newest first, then by key, so that
/// rows of one instant in different partitions have one order a token can continue.
fn is_after(row: &HistoryRow, c: &Cursor) -> bool {
    row.observed_at < c.observed_at
        || (row.observed_at == c.observed_at && row.route_server_peer_id > c.route_server_peer_id)
}

fn merged_order(a: &HistoryRow, b: &HistoryRow) -> std::cmp::Ordering {
    b.observed_at
        .cmp(&a.observed_at)
        .then_with(|| a.route_server_peer_id.cmp(&b.route_server_peer_id))
}

/// Listings of several partitions merged into one, with the same window, limit and token
/// rules as [`History`]'s own (the token names the last row shown).
struct Merged<'a> {
    client: &'a aws_sdk_dynamodb::Client,
    table: &'a str,
}

impl Merged<'_> {
    async fn rows(&self, sources: &[Source], req: &Request) -> Result<Vec<HistoryRow>, StoreError> {
        // As `History`: a cursor newer than the window starts at its newest end, one older
        // than the window has nothing after it.
        let cursor = req.cursor.as_ref().filter(|c| c.observed_at <= req.until);
        if req.since > req.until || cursor.is_some_and(|c| c.observed_at < req.since) {
            return Ok(Vec::new());
        }
        let until = cursor.map_or(req.until, |c| c.observed_at);
        let mut rows = Vec::new();
        for source in sources {
            rows.extend(
                self.source(source, req.since, until, cursor, req.limit)
                    .await?,
            );
        }
        rows.sort_by(merged_order);
        // An item can come from two sources (an advertisement's, also under its route server).
        rows.dedup_by(|a, b| {
            a.observed_at == b.observed_at && a.route_server_peer_id == b.route_server_peer_id
        });
        if let Some(l) = req.limit {
            rows.truncate(l);
        }
        Ok(rows)
    }

    /// At least the newest `limit` rows of one source after `cursor` (all when it has fewer),
    /// and every row of the same instant as the last of them: which of those come first is
    /// the merge's order, not DynamoDB's.
    async fn source(
        &self,
        source: &Source,
        since: Timestamp,
        until: Timestamp,
        cursor: Option<&Cursor>,
        limit: Option<usize>,
    ) -> Result<Vec<HistoryRow>, StoreError> {
        let s = |v: &str| AttributeValue::S(v.to_string());
        let mut out: Vec<HistoryRow> = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(self.table)
                .set_index_name(source.index.map(str::to_string))
                .key_condition_expression("#k = :v AND ObservedAt BETWEEN :since AND :until")
                .expression_attribute_names("#k", source.key)
                .expression_attribute_values(":v", s(&source.value))
                .expression_attribute_values(":since", s(&since.to_string()))
                .expression_attribute_values(":until", s(&until.to_string()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take());
            match (&source.concerning, limit) {
                (Some(peer), _) => {
                    // DynamoDB's limit counts the items read before the filter, so none is set.
                    query = query
                        .filter_expression("contains(PeerIds, :peer)")
                        .expression_attribute_values(":peer", s(peer));
                }
                // One more than wanted: it shows whether the last wanted row's instant has more.
                (None, Some(l)) => {
                    let wanted = l.saturating_sub(out.len()) + 1;
                    query = query.limit(wanted.min(1000) as i32);
                }
                (None, None) => {}
            }
            let resp = query.send().await.map_err(dynamo("Query", self.table))?;
            for item in resp.items() {
                let row = row_from_item(item).map_err(|why| StoreError::Malformed {
                    table: self.table.to_string(),
                    key: format!(
                        "{}@{}",
                        item.get("RouteServerPeerId")
                            .and_then(|v| v.as_s().ok())
                            .map_or("", String::as_str),
                        item.get("ObservedAt")
                            .and_then(|v| v.as_s().ok())
                            .map_or("", String::as_str),
                    ),
                    why,
                })?;
                if cursor.is_none_or(|c| is_after(&row, c)) {
                    out.push(row);
                }
            }
            if let Some(l) = limit
                && l > 0
                && out.len() > l
                && out[out.len() - 1].observed_at < out[l - 1].observed_at
            {
                return Ok(out);
            }
            match resp.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

fn scope_text(target: &Target) -> String {
    match target {
        Target::Peer(id) => format!("of peer {id}"),
        Target::RouteServer(id) => format!("on route server {id}"),
        Target::Prefix {
            prefix,
            route_server: Some(rs),
        } => format!("of prefix {prefix} on route server {rs}"),
        Target::Prefix {
            prefix,
            route_server: None,
        } => format!("of prefix {prefix}"),
        Target::Fleet => "in the fleet".into(),
    }
}

/// `BgpStatus up→down, State available→failing (hold timer expired)`; a discovered peer's
/// fields have no "from": `State available`; an acknowledgement says who and why.
pub fn changes_text(row: &HistoryRow) -> String {
    if let Some(a) = &row.ack {
        return match &a.reason {
            Some(reason) => format!("acked by {}: {reason}", a.by),
            None => format!("acked by {}", a.by),
        };
    }
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
pub fn render(doc: &HistoryDocument, target: &Target, now: Timestamp, color: bool) -> String {
    let mut t = new_table(
        &[
            "OBSERVED AT",
            "PEER",
            "ROUTE SERVER",
            "KIND",
            "SOURCE",
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
            Cell::new(match (row.source.as_deref(), row.late) {
                (Some(source), false) => source.to_string(),
                (Some(source), true) => format!("{source}, late"),
                (None, _) => "-".to_string(),
            }),
            Cell::new(row.event.as_deref().unwrap_or("-")),
            severity,
            Cell::new(changes_text(row)),
            health,
            Cell::new(&row.notification_state),
        ]);
    }
    let plural = if doc.count == 1 { "" } else { "s" };
    let scope = scope_text(target);
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
        let r = resolve(&args(), now()).unwrap();
        assert_eq!(r.target, Target::Fleet);
        assert_eq!(r.since.to_string(), "2026-11-24T19:05:00.000Z");
        assert_eq!(r.until, now());
        assert_eq!((r.limit, r.cursor), (None, None));
    }

    #[test]
    fn a_prefix_is_on_the_route_server_named_or_on_any() {
        let r = resolve(
            &HistoryArgs {
                prefix: Some(" 10.0.0.0/16".into()),
                ..args()
            },
            now(),
        )
        .unwrap();
        let want = Target::Prefix {
            prefix: "10.0.0.0/16".into(),
            route_server: None,
        };
        assert_eq!(r.target, want);
        assert_eq!(
            serde_json::to_value(ScopeDoc::from(&r.target)).unwrap(),
            serde_json::json!({"kind": "prefix", "id": "10.0.0.0/16"})
        );
        let r = resolve(
            &HistoryArgs {
                prefix: Some("0.0.0.0/0".into()),
                route_server: Some("rs-1".into()),
                ..args()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(ScopeDoc::from(&r.target)).unwrap(),
            serde_json::json!({"kind": "prefix", "id": "0.0.0.0/0", "routeServerId": "rs-1"})
        );
        assert_eq!(
            scope_text(&r.target),
            "of prefix 0.0.0.0/0 on route server rs-1"
        );
    }

    fn row(at: &str, key: &str) -> HistoryRow {
        HistoryRow {
            route_server_peer_id: key.into(),
            observed_at: at.parse().unwrap(),
            route_server_id: "rs-1".into(),
            kind: "changed".into(),
            source: None,
            late: false,
            changes: vec![],
            health_from: None,
            health_to: None,
            severity: "info".into(),
            event: None,
            notification_state: "not-required".into(),
            notification_message_id: None,
            failure_reason: None,
            previous_observed_at: None,
            previous_duration_seconds: None,
            version: 1,
            ack: None,
        }
    }

    #[test]
    fn a_merged_listing_is_newest_first_then_by_key_and_a_token_continues_it() {
        let t1 = "2026-11-25T19:00:00.000Z";
        let t2 = "2026-11-25T18:00:00.000Z";
        let mut rows = [
            row(t2, "rsp-1"),
            row(t1, "route#rs-1#10.0.0.0/16"),
            row(t1, "rsp-1"),
            row(t1, "routes#rsp-1"),
        ];
        rows.sort_by(merged_order);
        let keys: Vec<(&str, String)> = rows
            .iter()
            .map(|r| (r.route_server_peer_id.as_str(), r.observed_at.to_string()))
            .collect();
        assert_eq!(
            keys,
            [
                ("route#rs-1#10.0.0.0/16", t1.to_string()),
                ("routes#rsp-1", t1.to_string()),
                ("rsp-1", t1.to_string()),
                ("rsp-1", t2.to_string()),
            ]
        );
        let c = Cursor::after(&rows[1]);
        let after: Vec<bool> = rows.iter().map(|r| is_after(r, &c)).collect();
        assert_eq!(after, [false, false, true, true]);
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
            (
                HistoryArgs {
                    prefix: Some("10.0.0.0".into()),
                    ..args()
                },
                "invalid --prefix: \"10.0.0.0\" is not an IPv4 CIDR",
            ),
            (
                HistoryArgs {
                    prefix: Some("10.0.0.1/16".into()),
                    ..args()
                },
                "invalid --prefix",
            ),
            (
                HistoryArgs {
                    prefix: Some("10.0.0.0/16".into()),
                    route_server: Some("vpc-1".into()),
                    ..args()
                },
                "invalid --route-server",
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
            source: None,
            late: false,
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
            ack: None,
        };
        assert_eq!(
            changes_text(&row),
            "State available→failing, BgpStatus up→down (hold timer expired)"
        );
        row.changes[0].from = None;
        row.changes.truncate(1);
        row.failure_reason = None;
        assert_eq!(changes_text(&row), "State failing");
        row.changes.clear();
        row.ack = Some(peerwatch_core::model::Ack {
            by: "OnCall/alice".into(),
            reason: Some("on it".into()),
            at: now(),
        });
        assert_eq!(changes_text(&row), "acked by OnCall/alice: on it");
    }
}
