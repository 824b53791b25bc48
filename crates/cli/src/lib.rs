//! The `peerwatch` command line: argument definitions and dispatch. Each command lives in its
//! own module; `main.rs` only parses and calls [`run`].
//!
//! Exit codes (documented in docs/operating.md, relied on by scripts):
//! 0 done; 1 an AWS call or the run failed; 2 bad arguments or configuration (clap's own
//! usage errors are 2 as well); 3 the question had no answer (no peers, no history, nothing
//! open to acknowledge); 4 `doctor` found warnings and no failure.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use peerwatch_aws::config::{self, Config};
use peerwatch_aws::dynamo::StoreError;
use peerwatch_core::error_chain;
use peerwatch_core::ids::IdError;
use peerwatch_core::model::Timestamp;

pub mod ack;
pub mod doctor;
pub mod history;
pub mod logging;
pub mod mute;
pub mod poll;
pub mod report;
pub mod routes;
pub mod status;
pub mod time;
pub mod timeline;
pub mod watch;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_EMPTY: u8 = 3;
pub const EXIT_WARNINGS: u8 = 4;

#[derive(Parser)]
#[command(
    name = "peerwatch",
    version,
    about = "Watch AWS VPC Route Server BGP peers: poll, and read their recorded state and history",
    after_help = "Settings come from the same environment variables as the Lambda\n\
                  (PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE, ALERT_TOPIC_ARN, ROUTE_SERVER_IDS,\n\
                  HISTORY_RETENTION_DAYS, NOTIFY_MIN_SEVERITY, and for `poll` the alert rules:\n\
                  STORM_THRESHOLD, FLAP_THRESHOLD, FLAP_WINDOW_MINUTES, FLAP_HOLD_MINUTES,\n\
                  REMIND_EVERY_MINUTES, PEER_METRICS); flags override them.\n\n\
                  Examples:\n  peerwatch status --health down\n  \
                  peerwatch history --peer rsp-0a1b2c3d4e5f60718 --since 12h\n  \
                  peerwatch routes --route-server rs-0a1b2c3d4e5f60718\n  \
                  peerwatch history --prefix 10.0.0.0/16 --since 7d\n  \
                  peerwatch report --since 30d --svg timeline.svg\n  \
                  peerwatch mute --route-server rs-0a1b2c3d4e5f60718 --for 2h --reason \"upgrade\"\n  \
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
    /// SNS topic for alerts (poll, and ack's note) [env: ALERT_TOPIC_ARN]
    #[arg(long, global = true)]
    pub topic_arn: Option<String>,
    /// AWS region (else the SDK's usual sources: AWS_REGION, the profile)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Output format: a table for people, JSON for programs (docs/operating.md lists its fields)
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
    /// Recorded transitions, newest first, for one peer, one route server, one prefix or the fleet
    History(history::HistoryArgs),
    /// Each route server's recorded FIB: per prefix the peer, next hop and route tables
    Routes(routes::RoutesArgs),
    /// Availability, outages and time to recover per peer and route server over a window
    Report(report::ReportArgs),
    /// Hold back a peer's or a route server's alerts for maintenance (changes are still recorded)
    Mute(mute::MuteArgs),
    /// Delete a mute set with `peerwatch mute`
    Unmute(mute::UnmuteArgs),
    /// Active mutes, stored and by tag (--all: ended ones too)
    Mutes(mute::MutesArgs),
    /// Route server peer logging to the stack's destination: enable, disable, status
    Logging(logging::LoggingArgs),
    /// Acknowledge an open alert: its reminders stop, and a note goes to its thread
    Ack(ack::AckArgs),
    /// Follow new transitions as they are recorded, one line each (Ctrl-C ends it)
    Watch(watch::WatchArgs),
    /// Check a deployment: tables, schedule, last cycle, outbox, topic, peer logs, errors
    Doctor(doctor::DoctorArgs),
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

/// An id argument, by the id kind's one rule (`peerwatch_core::ids`).
pub fn parse_id<T: std::str::FromStr<Err = IdError>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: IdError| e.to_string())
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
    let mut loader = peerwatch_aws::sdk::loader();
    if let Some(region) = &g.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let config = match (config, cli.command) {
        (Ok(c), command) => (c, command),
        // doctor finds the tables and topic in the stack, and reports bad settings itself.
        (Err(e), Command::Doctor(args)) => {
            let sdk = loader.load().await;
            return finish(doctor::run_unconfigured(&sdk, g.output, e, args).await);
        }
        (Err(e), _) => {
            eprintln!("peerwatch: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (config, command) = config;
    let ctx = Context {
        config,
        sdk: loader.load().await,
        output: g.output,
        now: Timestamp::now(),
    };
    let result = match command {
        Command::Poll(args) => poll::run(&ctx, args).await,
        Command::Status(args) => status::run(&ctx, args).await,
        Command::History(args) => history::run(&ctx, args).await,
        Command::Routes(args) => routes::run(&ctx, args).await,
        Command::Report(args) => report::run(&ctx, args).await,
        Command::Mute(args) => mute::mute(&ctx, args).await,
        Command::Unmute(args) => mute::unmute(&ctx, args).await,
        Command::Mutes(args) => mute::list(&ctx, args).await,
        Command::Logging(args) => logging::run(&ctx, args).await,
        Command::Ack(args) => ack::run(&ctx, args).await,
        Command::Watch(args) => watch::run(&ctx, args).await,
        Command::Doctor(args) => doctor::run(&ctx, args).await,
    };
    finish(result)
}

/// A command's result as the process ends: its failure on stderr, and its exit code.
fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("peerwatch: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// An error from the store or the SDK, worded for the operator: what failed, and the likely
/// cause when it is one of the usual ones (no such table, wrong region, no credentials). The
/// causes are told apart by the SDK's typed errors, found anywhere in the source chain.
pub fn explain(ctx: &Context, err: &(dyn std::error::Error + 'static)) -> Failure {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;

    let region = ctx.region();
    let detail = error_chain(err);
    if ctx.sdk.region().is_none() {
        return Failure::new(
            EXIT_USAGE,
            "no AWS region is set: give --region, or set AWS_REGION (or a region in the AWS \
             profile)",
        );
    }
    let chain = || std::iter::successors(Some(err), |e| e.source());
    let store = chain().find_map(|e| e.downcast_ref::<StoreError>());
    // The store boxes the SDK's error, so it is a `Box<Error>` in the chain, not an `Error`.
    let (table, operation, service) = match store {
        Some(StoreError::Dynamo {
            table,
            operation,
            source,
        }) => (table.as_str(), *operation, Some(&**source)),
        _ => (
            "",
            "request",
            chain().find_map(|e| e.downcast_ref::<aws_sdk_dynamodb::Error>()),
        ),
    };
    let table = if table.is_empty() { "(unknown)" } else { table };
    let (flag, var) = if table == ctx.config.peer_transitions_table {
        ("--transitions-table", config::PEER_TRANSITIONS_TABLE)
    } else {
        ("--state-table", config::PEER_STATE_TABLE)
    };
    if let Some(e) = service {
        let message = match (e, e.code()) {
            (aws_sdk_dynamodb::Error::ResourceNotFoundException(_), _) => Some(format!(
                "DynamoDB table {table} does not exist in region {region}: check the table name \
                 ({flag} or {var}) and the region (--region or AWS_REGION)"
            )),
            (_, Some("UnrecognizedClientException" | "InvalidSignatureException")) => {
                Some(format!(
                    "AWS rejected the credentials for DynamoDB {operation} in region {region}: \
                     check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE ({detail})"
                ))
            }
            (_, Some("ExpiredTokenException" | "ExpiredToken")) => Some(format!(
                "the AWS credentials have expired (DynamoDB {operation} in region {region}): \
                 refresh them, e.g. `aws sso login` ({detail})"
            )),
            (_, Some("AccessDeniedException")) => Some(format!(
                "not allowed to call DynamoDB {operation} on table {table} in region {region}: \
                 the caller needs dynamodb:{operation} on it ({detail})"
            )),
            _ => None,
        };
        if let Some(m) = message {
            return Failure::new(EXIT_FAILED, m);
        }
    }
    if chain().any(|e| e.downcast_ref::<CredentialsError>().is_some()) {
        return Failure::new(
            EXIT_FAILED,
            format!(
                "no AWS credentials were found (DynamoDB {operation} on table {table}, region \
                 {region}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a \
                 profile in ~/.aws (`aws configure`, `aws sso login`), or run where a role \
                 provides them"
            ),
        );
    }
    if chain()
        .filter_map(|e| e.downcast_ref::<ConnectorError>())
        .any(|c| c.is_io() || c.is_timeout())
    {
        let endpoint = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|v| std::env::var(v).ok().map(|url| format!("{v}={url}")))
            .unwrap_or_else(|| format!("dynamodb.{region}.amazonaws.com"));
        let cause = chain().last().map(|e| e.to_string()).unwrap_or_default();
        return Failure::new(
            EXIT_FAILED,
            format!(
                "DynamoDB could not be reached in region {region} ({endpoint}): check the region \
                 (--region or AWS_REGION), the endpoint settings and the network ({cause})"
            ),
        );
    }
    Failure::new(EXIT_FAILED, format!("{detail} (region {region})"))
}

/// Whether table output may be coloured: stdout is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>), so pipes, files and scripts get plain text.
pub fn color_enabled() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A table in the commands' style: no borders, one line per row (never wrapped to the
/// terminal's width, so `grep` and `awk` see whole rows), styled only when `color`.
pub fn new_table(header: &[&str], color: bool) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .force_no_tty()
        .set_header(header.to_vec());
    if color {
        table.enforce_styling();
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
}

/// A table as text, without the padding comfy-table leaves at the end of each line.
pub fn table_text(table: &comfy_table::Table) -> String {
    table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes `text` and a newline to stdout. A closed pipe (`peerwatch history | head`) is not an
/// error: the reader has what it wanted.
pub fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::new(
            EXIT_FAILED,
            format!("cannot write to stdout: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Writes `value` to stdout as pretty JSON.
pub fn emit_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(EXIT_FAILED, format!("cannot render JSON: {e}")))?;
    emit(&text)
}
