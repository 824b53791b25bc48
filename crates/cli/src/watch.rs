//! `peerwatch watch`: follow new transitions as they are recorded, one line each, like
//! `kubectl get -w` (with `--output json`, one JSON object per line).
//!
//! Each poll is one `Query` per partition, bounded below by `ObservedAt >= from`: the fleet's
//! `ByDay` partitions from that bound to now (two of them around UTC midnight, so a change
//! stamped just before midnight and written just after is still read), a route server's
//! `ByRouteServer`, a peer's own key and its advertisement's. Never a `Scan`, and never the
//! whole window again: after each poll, `from` moves on to the poll's time less the overlap.
//!
//! The overlap is there for changes written after their own time: the log path stamps a
//! transition with its record's time, seconds (minutes, on a retry) before it is written. Each
//! poll re-reads the overlap and drops the rows already shown, by key; the keys kept are only
//! those of rows inside the overlap, forgotten as it moves on.
//!
//! Every subject is shown as it was recorded, not only peers: an operator working on an
//! appliance wants to see its endpoint, its route server and the routes move too.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use clap::Args;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::history::changes_text;
use super::time::{TIME_FORMS, absolute, parse_time};
use super::{Context, EXIT_FAILED, EXIT_USAGE, Failure, Output, color_enabled, explain};
use peerwatch_aws::dynamo::StoreError;
use peerwatch_aws::history::{History, Partition, Recorded, days_newest_first};
use peerwatch_core::fabric::peer_routes_key;
use peerwatch_core::history::HistoryRow;
use peerwatch_core::ids::{IdError, RouteServerId, RouteServerPeerId};
use peerwatch_core::model::{Health, Timestamp};

#[derive(Args, Debug, Default)]
#[command(after_help = "Examples:\n  \
    peerwatch watch                                     # the whole fleet\n  \
    peerwatch watch --route-server rs-0a1b2c3d4e5f60718 --since 1h\n  \
    peerwatch watch --peer rsp-0a1b2c3d4e5f60718 --interval 2s\n  \
    peerwatch watch --output json | jq -c 'select(.severity == \"critical\")'\n\n\
    It first prints what was recorded since --since, oldest first, then every --interval what\n\
    was recorded since, one line each: time, subject, event, health, severity, source (poll or\n\
    log, and late for a log record older than the last change), what changed. Peers, endpoints,\n\
    route servers, routes and advertisements are all shown. A change written up to 5 minutes\n\
    (or two intervals, if longer) after its own time is still shown, once.\n\
    Ctrl-C (or SIGTERM) ends it with exit code 0. A poll that fails prints one line to stderr\n\
    and is tried again, less often while it keeps failing.\n\n\
    Exit codes: 0 ended by Ctrl-C or SIGTERM (or the reader of its output went away), 1 the\n\
    first read failed, 2 bad arguments or settings.")]
pub struct WatchArgs {
    /// Only this route server's subjects (rs-...), through the ByRouteServer index
    #[arg(long = "route-server", value_name = "RS_ID", conflicts_with = "peer")]
    pub route_server: Option<String>,
    /// Only this peer (rsp-...) and its advertisement
    #[arg(long, value_name = "PEER_ID")]
    pub peer: Option<String>,
    /// First show what was recorded since: a duration back from now (10m, 2h) or a time
    /// [default: 10m]
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// How often to look for new transitions, 1s to 1h (5s, 1m) [default: 5s]
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
}

/// Whose transitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Fleet,
    RouteServer(String),
    /// A peer's own items and its advertisement's.
    Peer(String),
}

/// The arguments checked and resolved.
#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub since: Timestamp,
    pub interval: Duration,
}

const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The least a poll re-reads behind its own time, for changes written late.
const MIN_OVERLAP: Duration = Duration::from_secs(300);
/// The longest wait between polls while they keep failing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub fn resolve(args: &WatchArgs, now: Timestamp) -> Result<Request, Failure> {
    let usage = |m: String| Failure::new(EXIT_USAGE, m);
    let since = parse_time(args.since.as_deref().unwrap_or("10m"), now)
        .map_err(|e| usage(format!("invalid --since: {e}")))?;
    if since > now {
        return Err(usage(format!(
            "invalid --since: {since} is in the future; expected {TIME_FORMS}"
        )));
    }
    let text = args.interval.as_deref().unwrap_or("5s").trim();
    let interval = humantime::parse_duration(text).map_err(|e| {
        usage(format!(
            "invalid --interval: {text:?} is not a duration ({e}); expected 5s, 30s, 1m"
        ))
    })?;
    if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
        return Err(usage(format!(
            "invalid --interval: {text:?} is not between 1s and 1h"
        )));
    }
    let invalid = |flag: &'static str| move |e: IdError| usage(format!("invalid {flag}: {e}"));
    let target = match (&args.peer, &args.route_server) {
        (Some(p), _) => Target::Peer(
            RouteServerPeerId::parse(p)
                .map_err(invalid("--peer"))?
                .to_string(),
        ),
        (None, Some(rs)) => Target::RouteServer(
            RouteServerId::parse(rs)
                .map_err(invalid("--route-server"))?
                .to_string(),
        ),
        (None, None) => Target::Fleet,
    };
    Ok(Request {
        target,
        since,
        interval,
    })
}

/// How far behind its own time each poll reads again: two intervals, and at least 5 minutes.
pub fn overlap(interval: Duration) -> Duration {
    (interval * 2).max(MIN_OVERLAP)
}

/// The partitions a poll reading from `from` at `now` queries, oldest first.
pub fn partitions(target: &Target, from: Timestamp, now: Timestamp) -> Vec<Partition> {
    match target {
        Target::Fleet => {
            // A clock stepped back puts `now` before `from`: the days between are read all
            // the same.
            let (first, last) = (from.min(now), from.max(now));
            let mut days = days_newest_first(first, last);
            days.reverse();
            days.into_iter().map(Partition::day).collect()
        }
        Target::RouteServer(id) => vec![Partition::route_server(id)],
        Target::Peer(id) => vec![
            Partition::subject(id),
            Partition::subject(peer_routes_key(id)),
        ],
    }
}

/// What has been shown, and where the next poll starts.
#[derive(Debug)]
pub struct Follower {
    from: Timestamp,
    overlap_ms: i64,
    /// The rows shown at or after `from`, by (time, key): all that a poll can read again.
    seen: BTreeSet<(Timestamp, String)>,
}

impl Follower {
    pub fn new(since: Timestamp, interval: Duration) -> Self {
        Follower {
            from: since,
            overlap_ms: i64::try_from(overlap(interval).as_millis()).unwrap_or(i64::MAX),
            seen: BTreeSet::new(),
        }
    }

    /// The lower bound of the next poll's `ObservedAt`.
    pub fn from(&self) -> Timestamp {
        self.from
    }

    /// How many rows' keys are kept.
    pub fn remembered(&self) -> usize {
        self.seen.len()
    }

    /// The rows of one poll not shown yet, oldest first (then by key), remembered as shown.
    pub fn admit(&mut self, mut rows: Vec<HistoryRow>) -> Vec<HistoryRow> {
        rows.sort_by(|a, b| {
            (a.observed_at, &a.route_server_peer_id).cmp(&(b.observed_at, &b.route_server_peer_id))
        });
        rows.retain(|r| {
            self.seen
                .insert((r.observed_at, r.route_server_peer_id.clone()))
        });
        rows
    }

    /// After a poll that began at `polled_at` succeeded: the next one reads from the overlap
    /// before it (never from further back than this one did), and the keys older than that,
    /// which no poll reads again, are forgotten.
    pub fn advance(&mut self, polled_at: Timestamp) {
        let back = Timestamp::from_millis(polled_at.as_millis().saturating_sub(self.overlap_ms));
        if let Some(back) = back
            && back > self.from
        {
            self.from = back;
        }
        let first = (self.from, String::new());
        self.seen = self.seen.split_off(&first);
    }
}

/// The wait before the next poll: the interval, doubled for each poll failed in a row, up to
/// a minute (or the interval, if longer).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    interval
        .checked_mul(1 << failures.min(16))
        .map_or(cap, |d| d.min(cap))
}

const TIME_WIDTH: usize = 20;
const SUBJECT_WIDTH: usize = 21;
const EVENT_WIDTH: usize = 23;
const HEALTH_WIDTH: usize = 22;
const SEVERITY_WIDTH: usize = 8;
const SOURCE_WIDTH: usize = 9;

/// The column heads, above the first line in table output.
pub fn header() -> String {
    columns(
        [
            "TIME", "SUBJECT", "EVENT", "HEALTH", "SEVERITY", "SOURCE", "CHANGES",
        ]
        .map(|h| (h.to_string(), None)),
    )
}

/// One transition as one line: fixed-width columns (a stream has no later rows to measure),
/// a longer value pushing the rest along rather than being cut. Coloured only when `color`.
pub fn line(row: &HistoryRow, color: bool) -> String {
    let health_to = row.health_to.as_deref().unwrap_or("-");
    let health = match &row.health_from {
        Some(from) => format!("{from}→{health_to}"),
        None => health_to.to_string(),
    };
    let health_color = row
        .health_to
        .as_deref()
        .and_then(Health::parse)
        .map(|h| match h {
            Health::Down => RED,
            Health::Degraded => YELLOW,
            Health::Transitional => CYAN,
            Health::Healthy => GREEN,
        });
    let severity_color = match row.severity.as_str() {
        "critical" => Some(RED),
        "warning" => Some(YELLOW),
        "recovery" => Some(GREEN),
        _ => None,
    };
    let source = match (row.source.as_deref(), row.late) {
        (Some(source), false) => source.to_string(),
        (Some(source), true) => format!("{source}, late"),
        (None, _) => "-".to_string(),
    };
    let paint = |c: Option<&'static str>| c.filter(|_| color);
    columns([
        (absolute(row.observed_at), None),
        (row.route_server_peer_id.clone(), None),
        (row.event.clone().unwrap_or_else(|| "-".into()), None),
        (health, paint(health_color)),
        (row.severity.clone(), paint(severity_color)),
        (source, None),
        (changes_text(row), None),
    ])
}

const RED: &str = "31";
const YELLOW: &str = "33";
const GREEN: &str = "32";
const CYAN: &str = "36";

fn columns(cells: [(String, Option<&'static str>); 7]) -> String {
    let widths = [
        TIME_WIDTH,
        SUBJECT_WIDTH,
        EVENT_WIDTH,
        HEALTH_WIDTH,
        SEVERITY_WIDTH,
        SOURCE_WIDTH,
        0,
    ];
    let mut out = String::new();
    for (i, ((text, ansi), width)) in cells.into_iter().zip(widths).enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        let pad = width.saturating_sub(text.chars().count());
        match ansi {
            Some(code) => out.push_str(&format!("\x1b[{code}m{text}\x1b[0m")),
            None => out.push_str(&text),
        }
        if i < widths.len() - 1 {
            out.push_str(&" ".repeat(pad));
        }
    }
    out.trim_end().to_string()
}

/// One transition as one JSON object on one line: the same fields as `peerwatch history
/// --output json`'s `transitions`.
pub fn json_line(row: &HistoryRow) -> Result<String, Failure> {
    serde_json::to_string(row)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot render JSON: {e}")))
}

fn scope_text(target: &Target) -> String {
    match target {
        Target::Fleet => "the fleet".into(),
        Target::RouteServer(id) => format!("route server {id}"),
        Target::Peer(id) => format!("peer {id}"),
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from the start so that one arriving at any point,
/// mid-query or mid-sleep, ends the watch with exit code 0.
struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    fn new() -> Result<Self, Failure> {
        let catch = |kind| {
            signal(kind).map_err(|e| {
                Failure::new(EXIT_FAILED, format!("cannot catch Ctrl-C and SIGTERM: {e}"))
            })
        };
        Ok(Stop {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
        })
    }

    async fn requested(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Writes one line to stdout and flushes it, so each change shows as it comes (a pipe is
/// otherwise block-buffered). False when the reader went away (`peerwatch watch | head`).
fn write_line(text: &str) -> Result<bool, Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Failure::new(
            EXIT_FAILED,
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// One poll: every partition the window from `from` to `now` covers.
async fn read(
    history: &History,
    target: &Target,
    from: Timestamp,
    now: Timestamp,
) -> Result<Recorded, StoreError> {
    let mut all = Recorded::default();
    for partition in partitions(target, from, now) {
        let got = history.recorded_since(&partition, from).await?;
        all.rows.extend(got.rows);
        all.malformed.extend(got.malformed);
    }
    Ok(all)
}

pub async fn run(ctx: &Context, args: WatchArgs) -> Result<(), Failure> {
    let req = resolve(&args, ctx.now)?;
    let mut stop = Stop::new()?;
    let history = History::new(
        aws_sdk_dynamodb::Client::new(&ctx.sdk),
        &ctx.config.peer_transitions_table,
    );
    let color = ctx.output == Output::Table && color_enabled();
    let mut follower = Follower::new(req.since, req.interval);
    // Each bad item is named once, not at every poll that reads it again.
    let mut reported: HashSet<String> = HashSet::new();
    let mut failures = 0u32;
    let mut first = true;
    if ctx.output == Output::Table && !write_line(&header())? {
        return Ok(());
    }
    eprintln!(
        "peerwatch: watching {} in table {} since {}, every {}; Ctrl-C ends",
        scope_text(&req.target),
        history.table(),
        absolute(req.since),
        humantime::format_duration(req.interval)
    );
    loop {
        let polled_at = Timestamp::now();
        let got = tokio::select! {
            _ = stop.requested() => return Ok(()),
            got = read(&history, &req.target, follower.from(), polled_at) => got,
        };
        match got {
            Ok(got) => {
                failures = 0;
                for bad in got.malformed {
                    let text = bad.to_string();
                    if reported.insert(text.clone()) {
                        eprintln!("peerwatch: skipped {text}");
                    }
                }
                for row in follower.admit(got.rows) {
                    let text = match ctx.output {
                        Output::Json => json_line(&row)?,
                        Output::Table => line(&row, color),
                    };
                    if !write_line(&text)? {
                        return Ok(());
                    }
                }
                follower.advance(polled_at);
            }
            // A watch that never read anything is set up wrong (table, region, credentials).
            Err(e) if first => return Err(explain(ctx, &e)),
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = backoff(req.interval, failures);
                eprintln!(
                    "peerwatch: poll failed, trying again in {}: {}",
                    humantime::format_duration(wait),
                    explain(ctx, &e).message
                );
            }
        }
        first = false;
        tokio::select! {
            _ = stop.requested() => return Ok(()),
            _ = tokio::time::sleep(backoff(req.interval, failures)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerwatch_core::model::{Field, FieldChange};

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-25T19:05:00.000Z";

    fn row(at: &str, key: &str) -> HistoryRow {
        HistoryRow {
            route_server_peer_id: key.into(),
            observed_at: t(at),
            route_server_id: "rs-0a1b2c3d4e5f60718".into(),
            kind: "changed".into(),
            source: Some("poll".into()),
            late: false,
            changes: vec![FieldChange {
                field: Field::BgpStatus,
                from: Some("up".into()),
                to: Some("down".into()),
            }],
            health_from: Some("healthy".into()),
            health_to: Some("down".into()),
            severity: "critical".into(),
            event: Some("bgp.down".into()),
            notification_state: "sent".into(),
            notification_message_id: None,
            failure_reason: None,
            previous_observed_at: None,
            previous_duration_seconds: None,
            version: 2,
            ack: None,
        }
    }

    fn keys(rows: &[HistoryRow]) -> Vec<(String, String)> {
        rows.iter()
            .map(|r| (r.observed_at.to_string(), r.route_server_peer_id.clone()))
            .collect()
    }

    #[test]
    fn defaults_are_the_fleet_the_last_10_minutes_every_5_seconds() {
        let r = resolve(&WatchArgs::default(), t(NOW)).unwrap();
        assert_eq!(r.target, Target::Fleet);
        assert_eq!(r.since, t("2026-11-25T18:55:00.000Z"));
        assert_eq!(r.interval, Duration::from_secs(5));
        let r = resolve(
            &WatchArgs {
                route_server: Some("rs-0a1b2c3d4e5f60718".into()),
                since: Some("2026-11-25".into()),
                interval: Some("1m 30s".into()),
                ..Default::default()
            },
            t(NOW),
        )
        .unwrap();
        assert_eq!(r.target, Target::RouteServer("rs-0a1b2c3d4e5f60718".into()));
        assert_eq!(r.since, t("2026-11-25T00:00:00.000Z"));
        assert_eq!(r.interval, Duration::from_secs(90));
    }

    #[test]
    fn bad_arguments_exit_2_naming_the_flag() {
        let cases = [
            (
                WatchArgs {
                    since: Some("soon".into()),
                    ..Default::default()
                },
                "invalid --since",
            ),
            (
                WatchArgs {
                    since: Some("2026-11-26T00:00:00Z".into()),
                    ..Default::default()
                },
                "is in the future",
            ),
            (
                WatchArgs {
                    interval: Some("fast".into()),
                    ..Default::default()
                },
                "invalid --interval",
            ),
            (
                WatchArgs {
                    interval: Some("0s".into()),
                    ..Default::default()
                },
                "between 1s and 1h",
            ),
            (
                WatchArgs {
                    interval: Some("2h".into()),
                    ..Default::default()
                },
                "between 1s and 1h",
            ),
            (
                WatchArgs {
                    peer: Some("rs-0a1b".into()),
                    ..Default::default()
                },
                "invalid --peer",
            ),
            (
                WatchArgs {
                    route_server: Some("rsp-0a1b".into()),
                    ..Default::default()
                },
                "invalid --route-server",
            ),
        ];
        for (a, want) in cases {
            let f = resolve(&a, t(NOW)).unwrap_err();
            assert_eq!(f.code, EXIT_USAGE, "{a:?}");
            assert!(f.message.contains(want), "{want}: {}", f.message);
        }
    }

    #[test]
    fn a_fleet_window_across_midnight_reads_both_days_oldest_first() {
        let days = |from: &str, now: &str| -> Vec<Partition> {
            partitions(&Target::Fleet, t(from), t(now))
        };
        assert_eq!(
            days("2026-11-25T23:55:10.000Z", "2026-11-26T00:00:10.000Z"),
            [Partition::day("2026-11-25"), Partition::day("2026-11-26")]
        );
        // Once the overlap has passed midnight, only the new day.
        assert_eq!(
            days("2026-11-26T00:00:01.000Z", "2026-11-26T00:05:01.000Z"),
            [Partition::day("2026-11-26")]
        );
        // A clock stepped back behind the bound still reads every day in between.
        assert_eq!(
            days("2026-11-26T00:00:01.000Z", "2026-11-25T23:59:59.000Z"),
            [Partition::day("2026-11-25"), Partition::day("2026-11-26")]
        );
        assert_eq!(
            partitions(&Target::Peer("rsp-1".into()), t(NOW), t(NOW)),
            [
                Partition::subject("rsp-1"),
                Partition::subject("routes#rsp-1")
            ]
        );
    }

    #[test]
    fn each_row_is_shown_once_and_a_late_one_still_shows() {
        let interval = Duration::from_secs(5);
        let mut f = Follower::new(t("2026-11-25T18:55:00.000Z"), interval);
        let shown = f.admit(vec![
            row("2026-11-25T19:00:00.000Z", "rsp-2"),
            row("2026-11-25T18:56:00.000Z", "rsp-1"),
            row("2026-11-25T19:00:00.000Z", "rsp-1"),
        ]);
        assert_eq!(
            keys(&shown),
            [
                ("2026-11-25T18:56:00.000Z".into(), "rsp-1".into()),
                ("2026-11-25T19:00:00.000Z".into(), "rsp-1".into()),
                ("2026-11-25T19:00:00.000Z".into(), "rsp-2".into()),
            ]
        );
        f.advance(t("2026-11-25T19:05:00.000Z"));
        // The next poll reads 5 minutes back (two intervals are less), and forgets what is
        // older than that.
        assert_eq!(f.from(), t("2026-11-25T19:00:00.000Z"));
        assert_eq!(f.remembered(), 2);
        // The overlap brings back what was shown, and a change written late, stamped before
        // the last poll: only that one is new.
        let shown = f.admit(vec![
            row("2026-11-25T19:00:00.000Z", "rsp-1"),
            row("2026-11-25T19:00:00.000Z", "rsp-2"),
            row("2026-11-25T19:04:58.000Z", "rsp-3"),
        ]);
        assert_eq!(
            keys(&shown),
            [("2026-11-25T19:04:58.000Z".into(), "rsp-3".into())]
        );
        f.advance(t("2026-11-25T19:10:00.000Z"));
        assert_eq!(f.from(), t("2026-11-25T19:05:00.000Z"));
        assert_eq!(f.remembered(), 0);
    }

    #[test]
    fn the_bound_never_moves_back_and_long_intervals_widen_the_overlap() {
        let mut f = Follower::new(t("2026-11-25T19:00:00.000Z"), Duration::from_secs(600));
        assert_eq!(overlap(Duration::from_secs(600)), Duration::from_secs(1200));
        // Polled 10 minutes after --since: 20 minutes back is before it, so it stays.
        f.advance(t("2026-11-25T19:10:00.000Z"));
        assert_eq!(f.from(), t("2026-11-25T19:00:00.000Z"));
        f.advance(t("2026-11-25T19:30:00.000Z"));
        assert_eq!(f.from(), t("2026-11-25T19:10:00.000Z"));
        // A clock stepped back does not widen the next read.
        f.advance(t("2026-11-25T19:15:00.000Z"));
        assert_eq!(f.from(), t("2026-11-25T19:10:00.000Z"));
    }

    #[test]
    fn failed_polls_back_off_up_to_a_minute() {
        let s = Duration::from_secs;
        let waits: Vec<Duration> = (0..8).map(|n| backoff(s(5), n)).collect();
        assert_eq!(
            waits,
            [s(5), s(10), s(20), s(40), s(60), s(60), s(60), s(60)]
        );
        assert_eq!(backoff(s(120), 3), s(120));
        assert_eq!(backoff(s(1), u32::MAX), s(60));
    }

    #[test]
    fn a_line_reads_time_subject_event_health_severity_source_changes() {
        let mut r = row("2026-11-25T23:59:58.123Z", "rsp-0a1b2c3d4e5f60718");
        assert_eq!(
            line(&r, false),
            "2026-11-25 23:59:58Z  rsp-0a1b2c3d4e5f60718  bgp.down                 healthy→down            \
             critical  poll       BgpStatus up→down"
        );
        assert_eq!(
            header(),
            "TIME                  SUBJECT                EVENT                    HEALTH                  \
             SEVERITY  SOURCE     CHANGES"
        );
        let coloured = line(&r, true);
        assert!(
            coloured
                .contains("\x1b[31mhealthy→down\x1b[0m            \x1b[31mcritical\x1b[0m  poll"),
            "{coloured:?}"
        );
        r.source = Some("log".into());
        r.late = true;
        r.route_server_peer_id = "route#rs-0a1b2c3d4e5f60718#10.0.0.0/16".into();
        r.health_from = None;
        r.health_to = None;
        r.severity = "info".into();
        r.event = None;
        r.changes.clear();
        assert_eq!(
            line(&r, true),
            "2026-11-25 23:59:58Z  route#rs-0a1b2c3d4e5f60718#10.0.0.0/16  -                        -                       \
             info      log, late  -"
        );
    }

    #[test]
    fn a_json_line_is_one_object_with_the_history_fields() {
        let text = json_line(&row("2026-11-25T23:59:58.123Z", "rsp-1")).unwrap();
        assert!(!text.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["routeServerPeerId"], "rsp-1");
        assert_eq!(v["observedAt"], "2026-11-25T23:59:58.123Z");
        assert_eq!(v["event"], "bgp.down");
        assert_eq!(v["healthTo"], "down");
        assert_eq!(v["source"], "poll");
    }
}
