//! The Lambda function: one poll cycle per invocation (see `peerwatch::handler`).

use lambda_runtime::{Error, run, service_fn, tracing};
use peerwatch::config::Config;
use peerwatch::cycle::Poller;
use peerwatch::handler::handle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env().unwrap_or_else(|e| {
        eprintln!("peerwatch poller: {e}");
        std::process::exit(2);
    });
    let sdk = peerwatch::sdk::loader().load().await;
    let poller = Poller::new(&sdk, config);
    run(service_fn(|event| handle(&poller, event))).await
}
