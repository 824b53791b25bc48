//! Benchmark-style run of the simulator: create a fleet of 10,000 peers in one control call,
//! then describe them all through `aws-sdk-ec2`, and print how long each took.
//! Figures only, nothing asserted. `cargo run --release -p peerwatch-tools --bin sim-fleet [PEERS]`.

use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use peerwatch_testkit::emulators::{Emulator, same_build_binary};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let peers: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let route_servers = 10.min(peers.max(1));
    let sim = Emulator::simulator(
        &same_build_binary("route-server-sim")?,
        &["--transition-ms", "0"],
    )?;

    let started = Instant::now();
    let body = serde_json::json!({"routeServers": route_servers, "peersPerRouteServer": peers / route_servers, "seed": 1});
    let answer: serde_json::Value = ureq::post(format!("{}/_sim/fleet", sim.endpoint()))
        .send_json(&body)?
        .into_body()
        .read_json()?;
    let created = answer["routeServerPeerIds"].as_array().map_or(0, Vec::len);
    let create_ms = started.elapsed().as_secs_f64() * 1000.0;

    let conf = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(peerwatch_aws::sdk::http_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
        .endpoint_url(sim.endpoint())
        .build();
    let ec2 = aws_sdk_ec2::Client::from_conf(conf);
    for page_size in [1000, 5] {
        let started = Instant::now();
        let mut pages = ec2
            .describe_route_server_peers()
            .max_results(page_size)
            .into_paginator()
            .send();
        let (mut listed, mut calls) = (0, 0);
        while let Some(page) = pages.next().await {
            listed += page?.route_server_peers().len();
            calls += 1;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!(
            "describe   {listed:>6} peers  MaxResults={page_size:<4} {calls:>5} calls  {ms:>9.1} ms"
        );
    }
    println!("create     {created:>6} peers  in one POST /_sim/fleet        {create_ms:>9.1} ms");
    Ok(())
}
