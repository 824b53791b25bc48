//! `peerwatch ack`: acknowledge an open alert.

use clap::Args;

use crate::{Context, Failure};

#[derive(Args, Debug)]
pub struct AckArgs {}

pub async fn run(_ctx: &Context, _args: AckArgs) -> Result<(), Failure> {
    Err(Failure::new(crate::EXIT_FAILED, "not built yet"))
}
