//! `peerwatch history`: recorded transitions, newest first, never a Scan.

use clap::Args;

use super::{Context, Failure};

#[derive(Args, Debug)]
pub struct HistoryArgs {}

pub async fn run(_ctx: &Context, _args: HistoryArgs) -> Result<(), Failure> {
    todo!()
}
