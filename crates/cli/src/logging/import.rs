//! `peerwatch logging import FILE|-`: peer log records from JSON lines (as S3 and Firehose
//! deliveries hold them, plain or gzip) recorded through the same code as the Lambda's log
//! consumer: a backfill for a time peerwatch was not running, or a replay after an outage of
//! the consumer. Importing the same file twice records nothing the second time.

use std::io::Read;

use clap::Args;
use peerwatch_aws::cycle::Poller;
use peerwatch_aws::peer_logs::LogSummary;
use peerwatch_core::error_chain;
use peerwatch_core::peer_logs::Batch;

use crate::{
    Context, EXIT_FAILED, EXIT_USAGE, Failure, Output, color_enabled, emit, emit_json, new_table,
};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A file of JSON lines, plain or gzip; `-` reads standard input
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

pub async fn import(ctx: &Context, args: ImportArgs) -> Result<(), Failure> {
    let bytes = read(&args.file)?;
    let batch = Batch::of_file(&bytes).map_err(|e| {
        Failure::new(
            EXIT_USAGE,
            format!("cannot read {}: {e}", shown(&args.file)),
        )
    })?;
    drop(bytes);
    for (line, why) in &batch.skipped {
        eprintln!("peerwatch: line {line} skipped: {why}");
    }
    let poller = Poller::new(&ctx.sdk, ctx.config.clone());
    let summary = poller.consume(batch, None).await.map_err(|e| {
        Failure::new(
            EXIT_FAILED,
            format!(
                "{}; importing the same file again records the rest",
                error_chain(&e)
            ),
        )
    })?;
    match ctx.output {
        Output::Json => emit_json(&summary),
        Output::Table => emit(&render(&summary)),
    }
}

fn read(file: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
    };
    read.map_err(|e| Failure::new(EXIT_USAGE, format!("cannot read {}: {e}", shown(file))))?;
    Ok(bytes)
}

fn shown(file: &str) -> String {
    if file == "-" {
        "standard input".into()
    } else {
        file.to_string()
    }
}

fn render(s: &LogSummary) -> String {
    let mut table = new_table(&["records", "count"], color_enabled());
    for (what, n) in [
        ("read", s.records_received),
        ("skipped (malformed)", s.records_skipped),
        ("changes recorded", s.changes_recorded),
        (
            "already recorded",
            s.records_reflected + s.late_already_recorded,
        ),
        ("late, kept in the history", s.late_recorded),
        ("of untracked peers", s.records_untracked),
        ("routes", s.route_records),
        ("notifications sent", s.notifications_sent),
        ("notifications pending", s.notifications_pending),
    ] {
        table.add_row(vec![what.to_string(), n.to_string()]);
    }
    table.to_string()
}
