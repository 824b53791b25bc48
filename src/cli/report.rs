//! `peerwatch report`: availability, outages and recovery times over a window, and an SVG timeline.

use clap::Args;

use super::{Context, Failure};

#[derive(Args, Debug)]
pub struct ReportArgs {}

pub async fn run(_ctx: &Context, _args: ReportArgs) -> Result<(), Failure> {
    todo!()
}
