//! `peerwatch doctor`: check a deployment from the operator's credentials. It reads the
//! CloudFormation stack for what it made (tables, topic, schedule, functions, log groups, the
//! peer-log destination), then each of those ([`gather`]), and has the core judge what it
//! found (`peerwatch_core::doctor`): one line per check, ok, warn or fail, with what to do.
//!
//! Without the stack (not found, not readable) it says so, and still checks what the settings
//! name (PEER_STATE_TABLE, PEER_TRANSITIONS_TABLE, ALERT_TOPIC_ARN).
//!
//! Exit codes: 0 every check ok, 1 some check failed, 4 warnings only.

mod gather;

use clap::Args;
use comfy_table::Color;
use serde::Serialize;

use peerwatch_aws::config::{Config, ConfigError};
use peerwatch_core::doctor::{Check, Status, overall};
use peerwatch_core::model::Timestamp;

use crate::{Context, EXIT_FAILED, EXIT_WARNINGS, Failure, Output, color_enabled, emit, emit_json};

/// The stack name `sam deploy` uses by default (infra/samconfig.toml).
pub const DEFAULT_STACK: &str = "peerwatch";
/// The setting that names another stack.
pub const PEERWATCH_STACK: &str = "PEERWATCH_STACK";

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    peerwatch doctor\n  \
    peerwatch doctor --stack peerwatch-prod --output json\n\n\
    Checks: the stack; the tables' keys, indexes, TTL and point-in-time recovery; the\n\
    schedule; the last completed cycle (its metrics line in the poller's log group); the\n\
    outbox; the topic's confirmed subscriptions and their filter policies; each peer's\n\
    logging (with the peer-log path); the functions' errors and throttles in the last hour.\n\
    docs/operator-policy.md lists the permissions it needs.\n\n\
    Exit codes: 0 all ok, 1 some check failed, 2 bad arguments, 4 warnings only.")]
pub struct DoctorArgs {
    /// The CloudFormation stack [env: PEERWATCH_STACK] [default: peerwatch]
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// The JSON document: every check, and the worst verdict.
#[derive(Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    pub status: Status,
}

/// What the settings say, when the CLI was configured.
pub enum Settings<'a> {
    Set(&'a Config),
    /// Not set (no PEER_STATE_TABLE, ...): fine when the stack names everything.
    Unset,
    /// Set but invalid: reported as a check.
    Invalid(String),
}

pub async fn run(ctx: &Context, args: DoctorArgs) -> Result<(), Failure> {
    check(
        &ctx.sdk,
        ctx.output,
        ctx.now,
        Settings::Set(&ctx.config),
        args,
    )
    .await
}

/// `doctor` when the settings could not be read: the stack names what it checks.
pub async fn run_unconfigured(
    sdk: &aws_config::SdkConfig,
    output: Output,
    settings: ConfigError,
    args: DoctorArgs,
) -> Result<(), Failure> {
    let settings = match settings {
        ConfigError::Missing(_) => Settings::Unset,
        other => Settings::Invalid(other.to_string()),
    };
    check(sdk, output, Timestamp::now(), settings, args).await
}

async fn check(
    sdk: &aws_config::SdkConfig,
    output: Output,
    now: Timestamp,
    settings: Settings<'_>,
    args: DoctorArgs,
) -> Result<(), Failure> {
    let stack = args
        .stack
        .or_else(|| std::env::var(PEERWATCH_STACK).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_STACK.to_string());
    if sdk.region().is_none() {
        return Err(Failure::new(
            crate::EXIT_USAGE,
            "no AWS region is set: give --region, or set AWS_REGION (or a region in the AWS \
             profile)",
        ));
    }
    let checks = gather::checks(sdk, now, &stack, &settings).await;
    let report = Report {
        status: overall(&checks),
        checks,
    };
    match output {
        Output::Json => emit_json(&report)?,
        Output::Table => emit(&render(&report.checks, color_enabled()))?,
    }
    let count = |s: Status| report.checks.iter().filter(|c| c.status == s).count();
    match report.status {
        Status::Ok => Ok(()),
        Status::Warn => Err(Failure::new(
            EXIT_WARNINGS,
            format!("{} warning(s), no failure", count(Status::Warn)),
        )),
        Status::Fail => Err(Failure::new(
            EXIT_FAILED,
            format!(
                "{} check(s) failed, {} warning(s)",
                count(Status::Fail),
                count(Status::Warn)
            ),
        )),
    }
}

/// One line per check: `ok|warn|fail  CHECK  DETAIL`, and for a warning or a failure
/// `  => WHAT TO DO` on the same line, so `grep fail` shows the remedy with the finding.
pub fn render(checks: &[Check], color: bool) -> String {
    let width = checks.iter().map(|c| c.check.len()).max().unwrap_or(0);
    checks
        .iter()
        .map(|c| {
            let word = format!("{:<4}", c.status.as_str());
            let status = if color {
                let colour = match c.status {
                    Status::Ok => Color::Green,
                    Status::Warn => Color::Yellow,
                    Status::Fail => Color::Red,
                };
                paint(&word, colour)
            } else {
                word
            };
            let mut line = format!("{status}  {:<width$}  {}", c.check, c.detail);
            if let Some(r) = &c.remedy {
                line.push_str("  => ");
                line.push_str(r);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn paint(text: &str, colour: Color) -> String {
    let code = match colour {
        Color::Green => 32,
        Color::Yellow => 33,
        _ => 31,
    };
    format!("\u{1b}[{code}m{text}\u{1b}[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_check_with_its_remedy() {
        let checks = [
            Check::ok("table", "PeerState pw-PeerState: keys as the code expects"),
            Check::fail("schedule", "pw-poll is DISABLED", "enable it"),
        ];
        assert_eq!(
            render(&checks, false),
            "ok    table     PeerState pw-PeerState: keys as the code expects\n\
             fail  schedule  pw-poll is DISABLED  => enable it"
        );
        assert!(render(&checks, true).contains("\u{1b}[31mfail\u{1b}[0m"));
    }
}
