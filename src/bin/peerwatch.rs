//! `peerwatch`: the operator's command line.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use peerwatch::config::{self, Config};
use peerwatch::cycle::{Poller, RunOptions, Summary, error_chain};

#[derive(Parser)]
#[command(
    version,
    about = "Watch AWS VPC Route Server BGP peers: poll, and read their recorded history",
    after_help = "Settings come from the same environment variables as the Lambda\n\
                  (PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE, ALERT_TOPIC_ARN, ROUTE_SERVER_IDS,\n\
                  HISTORY_RETENTION_DAYS, NOTIFY_MIN_SEVERITY); flags override them.\n\n\
                  Examples:\n  peerwatch poll --dry-run\n  peerwatch poll --output json"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// PeerState table [env: PEER_STATE_TABLE]
    #[arg(long, global = true)]
    state_table: Option<String>,
    /// PeerTransitions table [env: PEER_TRANSITIONS_TABLE]
    #[arg(long, global = true)]
    transitions_table: Option<String>,
    /// SNS topic for alerts [env: ALERT_TOPIC_ARN]
    #[arg(long, global = true)]
    topic_arn: Option<String>,
    /// AWS region (else the SDK's usual sources: AWS_REGION, profile)
    #[arg(long, global = true)]
    region: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    output: Output,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run one poll cycle now, through the same code as the Lambda, and print its summary
    Poll {
        /// Detect and report; write and publish nothing
        #[arg(long)]
        dry_run: bool,
        /// Only these route servers (comma-separated), within ROUTE_SERVER_IDS
        #[arg(long, value_delimiter = ',')]
        route_server_ids: Vec<String>,
    },
}

/// Exit codes: 0 done, 1 the run failed, 2 bad configuration or arguments.
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let config = Config::from_lookup(|name| {
        let flag = match name {
            config::PEER_STATE_TABLE => g.state_table.clone(),
            config::PEER_TRANSITIONS_TABLE => g.transitions_table.clone(),
            config::ALERT_TOPIC_ARN => g.topic_arn.clone(),
            _ => None,
        };
        flag.or_else(|| std::env::var(name).ok())
    });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("peerwatch: {e}");
            return ExitCode::from(2);
        }
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &g.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let poller = Poller::new(&loader.load().await, config);
    match cli.command {
        Command::Poll {
            dry_run,
            route_server_ids,
        } => {
            let opts = RunOptions {
                dry_run,
                route_server_ids: (!route_server_ids.is_empty()).then_some(route_server_ids),
                deadline: None,
            };
            match poller.run(opts).await {
                Ok(summary) => {
                    print_summary(&summary, g.output);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("peerwatch: {}", error_chain(&e));
                    ExitCode::FAILURE
                }
            }
        }
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
