//! `peerwatch poll`: one cycle now, through the same code as the Lambda.

use clap::Args;

use super::{Context, EXIT_FAILED, Failure, Output};
use crate::cycle::{Poller, RunOptions, Summary, error_chain};

#[derive(Args, Debug)]
pub struct PollArgs {
    /// Detect and report; write and publish nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Only these route servers (comma-separated), within ROUTE_SERVER_IDS
    #[arg(long, value_delimiter = ',')]
    pub route_server_ids: Vec<String>,
}

pub async fn run(ctx: &Context, args: PollArgs) -> Result<(), Failure> {
    let poller = Poller::new(&ctx.sdk, ctx.config.clone());
    let opts = RunOptions {
        dry_run: args.dry_run,
        route_server_ids: (!args.route_server_ids.is_empty()).then_some(args.route_server_ids),
        deadline: None,
    };
    match poller.run(opts).await {
        Ok(summary) => {
            print_summary(&summary, ctx.output);
            Ok(())
        }
        Err(e) => Err(Failure::new(EXIT_FAILED, error_chain(&e))),
    }
}

fn print_summary(s: &Summary, output: Output) {
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(s).expect("a summary is plain data")
        ),
        Output::Table => {
            let mode = if s.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            };
            println!("poll cycle done in {} ms{mode}", s.duration_ms);
            println!("  peers seen             {}", s.peers_seen);
            println!("  transitions detected   {}", s.transitions_detected);
            println!("  transitions recorded   {}", s.transitions_recorded);
            if s.transitions_lost_race > 0 {
                println!("  recorded by another run {}", s.transitions_lost_race);
            }
            if s.transitions_deferred > 0 {
                println!("  deferred to next run   {}", s.transitions_deferred);
            }
            println!("  notifications sent     {}", s.notifications_sent);
            println!("  notifications retried  {}", s.notifications_retried);
            if s.notifications_pending > 0 {
                println!(
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
                println!(
                    "  {} {:<10} {:<15} {:<8} {notify:<6} {}",
                    d.route_server_peer_id,
                    d.kind,
                    d.event,
                    d.severity,
                    changes.join(", ")
                );
            }
        }
    }
}
