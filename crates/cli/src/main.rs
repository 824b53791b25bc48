//! `peerwatch`: the operator's command line. Everything is in `peerwatch_cli`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    peerwatch_cli::run(peerwatch_cli::Cli::parse()).await
}
