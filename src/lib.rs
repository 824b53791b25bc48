//! peerwatch: keeps watch over AWS VPC Route Server BGP peers.
//!
//! The library holds everything; the binaries (`poller`, `peerwatch`, `route-server-sim`)
//! are thin wrappers around it.

pub mod detect;
pub mod emulators;
pub mod model;
pub mod sim;
