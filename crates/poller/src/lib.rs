//! The Lambda function's handler (`poller`): checks the payload before any AWS call, runs one
//! cycle of `peerwatch-aws`, prints its metrics and answers its summary.

pub mod handler;
