//! `peerwatch`: the operator's command line. Everything is in `peerwatch::cli`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    peerwatch::cli::run(peerwatch::cli::Cli::parse()).await
}
