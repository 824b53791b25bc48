//! Cold start of the Lambda binary: from process start to its first request to the Lambda
//! runtime API (`GET /2018-06-01/runtime/invocation/next`), and its resident memory then.
//!
//! `cargo run --release -p peerwatch-tools --bin cold-start -- [BOOTSTRAP] [RUNS]` (default
//! `target/lambda/poller/bootstrap`, 20 runs; `make cold-start` builds it with cargo-lambda
//! first and reports the deployable zip's size too). Figures are printed, never asserted.
//!
//! A local listener stands in for the runtime API; the binary gets the environment a deployed
//! function has (tables, topic, region, test credentials). It is killed once it has asked for
//! its first event, so no AWS call is made.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let binary = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/lambda/poller/bootstrap".into()),
    );
    let runs: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(20);
    if !binary.is_file() {
        return Err(format!(
            "{} not found: build it with `make cold-start` (cargo lambda build --release)",
            binary.display()
        )
        .into());
    }

    let mut starts = Vec::with_capacity(runs);
    let mut rss_kb = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (elapsed, rss) = one_start(&binary)?;
        starts.push(elapsed);
        rss_kb.push(rss);
    }
    starts.sort();
    rss_kb.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("cold start of {} ({runs} runs)", binary.display());
    println!(
        "  process start -> first runtime API request: median {:.2} ms, min {:.2} ms, max {:.2} ms (budget 15 ms)",
        ms(starts[runs / 2]),
        ms(starts[0]),
        ms(starts[runs - 1])
    );
    println!(
        "  resident memory then: median {:.1} MB",
        rss_kb[runs / 2] as f64 / 1024.0
    );
    println!(
        "  binary size: {:.2} MB",
        std::fs::metadata(&binary)?.len() as f64 / 1e6
    );
    Ok(())
}

/// Starts the binary once; answers the time to its first runtime API request and its VmRSS
/// (kB) at that moment.
fn one_start(binary: &PathBuf) -> Result<(Duration, u64), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let api = listener.local_addr()?.to_string();
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "peerwatch-poller")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("PEER_STATE_TABLE", "peerwatch-PeerState")
        .env("PEER_TRANSITIONS_TABLE", "peerwatch-PeerTransitions")
        .env(
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:peerwatch-alerts",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let (stream, _) = listener.accept()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let elapsed = started.elapsed();
    let rss = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0);
    child.kill()?;
    child.wait()?;
    if !line.starts_with("GET /2018-06-01/runtime/invocation/next") {
        return Err(format!("unexpected first request: {line:?}").into());
    }
    Ok((elapsed, rss))
}
