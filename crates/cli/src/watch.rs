//! `peerwatch watch`: follow new transitions as they are recorded.

use clap::Args;

use crate::{Context, Failure};

#[derive(Args, Debug)]
pub struct WatchArgs {}

pub async fn run(_ctx: &Context, _args: WatchArgs) -> Result<(), Failure> {
    Err(Failure::new(crate::EXIT_FAILED, "not built yet"))
}
