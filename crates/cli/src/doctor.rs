//! `peerwatch doctor`: check a deployment.

use clap::Args;

use crate::{Context, Failure};

#[derive(Args, Debug)]
pub struct DoctorArgs {}

pub async fn run(_ctx: &Context, _args: DoctorArgs) -> Result<(), Failure> {
    Err(Failure::new(crate::EXIT_FAILED, "not built yet"))
}
