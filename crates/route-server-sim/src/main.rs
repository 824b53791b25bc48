//! Local emulator of the EC2 route-server API; see docs/route-server-sim.md.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use route_server_sim::{Timing, serve};

/// Local emulator of the EC2 VPC Route Server API (EC2 Query protocol) with a JSON control API under /_sim/.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  route-server-sim --listen 127.0.0.1:0\n  aws ec2 describe-route-server-peers --endpoint-url http://127.0.0.1:PORT"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port. The first line printed is `listening on http://ADDR`.
    #[arg(long, default_value = "127.0.0.1:4599")]
    listen: String,
    /// How long `pending` -> `available` and `deleting` -> `deleted` take, in milliseconds.
    #[arg(long, default_value_t = 500)]
    transition_ms: u64,
    /// How long a `deleted` resource stays listed, in seconds.
    #[arg(long, default_value_t = 600)]
    deleted_retention_secs: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let timing = Timing {
        transition: Duration::from_millis(args.transition_ms),
        deleted_retention: Duration::from_secs(args.deleted_retention_secs),
    };
    let (addr, server) = match serve(&args.listen, timing).await {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("route-server-sim: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{addr}");
    let _ = std::io::stdout().flush();
    if let Err(e) = server.await {
        eprintln!("route-server-sim: server stopped: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
