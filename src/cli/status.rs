//! `peerwatch status`: every known peer, one line each.

use clap::Args;

use super::{Context, Failure};

#[derive(Args, Debug)]
pub struct StatusArgs {}

pub async fn run(_ctx: &Context, _args: StatusArgs) -> Result<(), Failure> {
    todo!()
}
