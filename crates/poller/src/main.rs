//! The Lambda function: one poll cycle per invocation (see `peerwatch_poller::handler`).

use lambda_runtime::{Error, run, service_fn, tracing};
use peerwatch_aws::config::Config;
use peerwatch_aws::cycle::Poller;
use peerwatch_poller::handler::handle;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // Read once at start: a missing or invalid setting is one clear line and exit code 2.
    let config = Config::from_env().unwrap_or_else(|e| {
        eprintln!("peerwatch poller: {e}");
        std::process::exit(2);
    });
    let sdk = peerwatch_aws::sdk::loader().load().await;
    let poller = Poller::new(&sdk, config);
    run(service_fn(|event| handle(&poller, event))).await
}
