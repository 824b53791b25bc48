//! `peerwatch poll`: one cycle now, through the same code as the Lambda.

use clap::Args;

use std::fmt::Write;

use peerwatch_aws::cycle::{Poller, RunOptions};
use peerwatch_core::error_chain;
use peerwatch_core::ids::RouteServerId;
use peerwatch_core::summary::Summary;

use super::{Context, EXIT_FAILED, Failure, Output, emit, emit_json, parse_id};

#[derive(Args, Debug)]
pub struct PollArgs {
    /// Detect and report; write and publish nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only these route servers (comma-separated), within ROUTE_SERVER_IDS
    #[arg(long, value_delimiter = ',', value_parser = parse_id::<RouteServerId>)]
    pub route_server_ids: Vec<RouteServerId>,
}

pub async fn run(ctx: &Context, args: PollArgs) -> Result<(), Failure> {
    let poller = Poller::new(&ctx.sdk, ctx.config.clone());
    let opts = RunOptions {
        dry_run: args.dry_run,
        route_server_ids: (!args.route_server_ids.is_empty()).then_some(args.route_server_ids),
        deadline: None,
    };
    match poller.run(opts).await {
        Ok(summary) => match ctx.output {
            Output::Json => emit_json(&summary),
            Output::Table => emit(&summary_text(&summary)),
        },
        Err(e) => Err(Failure::new(EXIT_FAILED, error_chain(&e))),
    }
}

/// The summary as the table output shows it.
fn summary_text(s: &Summary) -> String {
    let mut out = String::new();
    let mode = if s.dry_run {
        " (dry run: nothing written)"
    } else {
        ""
    };
    let _ = writeln!(out, "poll cycle done in {} ms{mode}", s.duration_ms);
    let _ = writeln!(out, "  peers seen             {}", s.peers_seen);
    let _ = writeln!(out, "  transitions detected   {}", s.transitions_detected);
    let _ = writeln!(out, "  transitions recorded   {}", s.transitions_recorded);
    if s.transitions_lost_race > 0 {
        let _ = writeln!(out, "  recorded by another run {}", s.transitions_lost_race);
    }
    if s.transitions_deferred > 0 {
        let _ = writeln!(out, "  deferred to next run   {}", s.transitions_deferred);
    }
    let _ = writeln!(out, "  notifications sent     {}", s.notifications_sent);
    let _ = writeln!(out, "  notifications retried  {}", s.notifications_retried);
    if s.grouped_notifications > 0 {
        let _ = writeln!(
            out,
            "  of which grouped       {} (storm control: {} transitions)",
            s.grouped_notifications, s.transitions_grouped
        );
    }
    if s.notifications_pending > 0 {
        let _ = writeln!(
            out,
            "  notifications PENDING  {} (publish failed; the next run retries)",
            s.notifications_pending
        );
    }
    for d in &s.detected {
        let changes: Vec<String> = d
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} {}->{}",
                    c.field,
                    c.from.as_deref().unwrap_or("-"),
                    c.to.as_deref().unwrap_or("-")
                )
            })
            .collect();
        let notify = if d.notify { "notify" } else { "record" };
        let _ = writeln!(
            out,
            "  {} {:<10} {:<15} {:<8} {notify:<6} {}",
            d.route_server_peer_id,
            d.kind,
            d.event,
            d.severity,
            changes.join(", ")
        );
    }
    out.trim_end().to_string()
}
