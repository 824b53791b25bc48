//! The `peerwatch` command line: argument definitions and dispatch. Each command lives in its
//! own module; `src/bin/peerwatch.rs` only parses and calls [`run`].
//!
//! Exit codes (documented in the README, relied on by scripts):
//! 0 done; 1 an AWS call or the run failed; 2 bad arguments or configuration (clap's own
//! usage errors are 2 as well); 3 the question had no answer (no peers, no history).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{self, Config};
use crate::cycle::error_chain;
use crate::model::Timestamp;

pub mod history;
pub mod poll;
pub mod report;
pub mod status;
pub mod time;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_EMPTY: u8 = 3;

#[derive(Parser)]
#[command(
    name = "peerwatch",
    version,
    about = "Watch AWS VPC Route Server BGP peers: poll, and read their recorded state and history",
    after_help = "Settings come from the same environment variables as the Lambda\n\
                  (PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE, ALERT_TOPIC_ARN, ROUTE_SERVER_IDS,\n\
                  HISTORY_RETENTION_DAYS, NOTIFY_MIN_SEVERITY); flags override them.\n\n\
                  Examples:\n  peerwatch status --health down\n  \
                  peerwatch history --peer rsp-0a1b2c3d4e5f60718 --since 12h\n  \
                  peerwatch report --since 30d --svg timeline.svg\n  \
                  peerwatch poll --dry-run\n\n\
                  Exit codes: 0 done, 1 an AWS call failed, 2 bad arguments or settings,\n\
                  3 nothing to show (no peers, no history in the window)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// PeerState table [env: PEER_STATE_TABLE]
    #[arg(long, global = true)]
    pub state_table: Option<String>,
    /// PeerTransitions table [env: PEER_TRANSITIONS_TABLE]
    #[arg(long, global = true)]
    pub transitions_table: Option<String>,
    /// SNS topic for alerts (poll only) [env: ALERT_TOPIC_ARN]
    #[arg(long, global = true)]
    pub topic_arn: Option<String>,
    /// AWS region (else the SDK's usual sources: AWS_REGION, the profile)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Output format: a table for people, JSON for programs (see the README for its fields)
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run one poll cycle now, through the same code as the Lambda, and print its summary
    Poll(poll::PollArgs),
    /// Every known peer, one line each: health, state, BGP, BFD, address, ASN, since when
    Status(status::StatusArgs),
    /// Recorded transitions, newest first, for one peer, one route server or the whole fleet
    History(history::HistoryArgs),
    /// Availability, outages and time to recover per peer and route server over a window
    Report(report::ReportArgs),
}

/// What every command gets: the settings, the SDK configuration and the output format.
pub struct Context {
    pub config: Config,
    pub sdk: aws_config::SdkConfig,
    pub output: Output,
    pub now: Timestamp,
}

impl Context {
    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(none)".into())
    }
}

/// A command's failure, already worded for the operator, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
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
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &g.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let ctx = Context {
        config,
        sdk: loader.load().await,
        output: g.output,
        now: Timestamp::now(),
    };
    let result = match cli.command {
        Command::Poll(args) => poll::run(&ctx, args).await,
        Command::Status(args) => status::run(&ctx, args).await,
        Command::History(args) => history::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("peerwatch: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// An error from the store or the SDK, worded for the operator: what failed, and the likely
/// cause when it is one of the usual ones (no such table, wrong region, no credentials).
pub fn explain(ctx: &Context, err: &(dyn std::error::Error + 'static)) -> Failure {
    Failure::new(EXIT_FAILED, format!("{} (region {})", error_chain(err), ctx.region()))
}
