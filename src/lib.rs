//! peerwatch: keeps watch over AWS VPC Route Server BGP peers.
//!
//! The library holds everything; the binaries (`poller`, `peerwatch`, `route-server-sim`)
//! are thin wrappers around it. `detect` is the pure core; `listing`, `store` and `notify`
//! are its AWS edges; `cycle` ties them into one poll cycle.

pub mod capacity;
pub mod chaos;
pub mod cli;
pub mod config;
pub mod cycle;
pub mod detect;
pub mod emulators;
pub mod handler;
pub mod history;
pub mod listing;
pub mod metrics;
pub mod model;
pub mod mutes;
pub mod notify;
pub mod recorder;
pub mod report;
pub mod sdk;
pub mod sim;
pub mod store;
