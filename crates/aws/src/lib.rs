//! peerwatch's AWS adapters: everything that speaks to EC2, DynamoDB or SNS, around the pure
//! `peerwatch-core`.
//!
//! - [`sdk`]: one SDK configuration for every client (one TLS stack, timeouts);
//! - [`config`]: the settings from the environment, the same for the Lambda and the CLI;
//! - [`listing`]: every route server peer, a page at a time;
//! - [`routing`]: route servers, endpoints and routing databases, where traffic goes;
//! - [`dynamo`]: the store's error and item attributes, shared by the DynamoDB adapters;
//! - [`store`]: `PeerState` and `PeerTransitions`, the conditional writes and the outbox;
//! - [`mutes`]: the mutes stored beside the peers;
//! - [`history`]: the recorded history read back;
//! - [`publish`]: one SNS `Publish` of a rendered notification;
//! - [`cycle`]: one poll cycle, the same for the Lambda and `peerwatch poll`;
//! - [`ack`]: an operator acknowledging an open alert, through the cycle's store and delivery;
//! - [`peer_logs`]: the log consumer, peer log records applied through the same store;
//! - [`logging`]: peer logging turned on and off (CloudWatch Logs vended delivery).

pub mod ack;
pub mod config;
pub mod cycle;
pub mod dynamo;
pub mod history;
pub mod listing;
pub mod logging;
pub mod mutes;
pub mod peer_logs;
pub mod publish;
pub mod routing;
pub mod sdk;
pub mod store;
