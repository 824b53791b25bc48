//! peerwatch's test support: what the tests, the demo and the benchmark share, and nothing
//! shipped depends on.
//!
//! - [`emulators`]: moto, the fault proxy and route-server-sim on free loopback ports;
//! - [`recorder`]: an interceptor that records every AWS request (and the IAM action it needs);
//! - [`capacity`]: an interceptor that counts DynamoDB's consumed capacity;
//! - [`tables`]: the two tables as the template defines them;
//! - [`chaos`]: the history checker of the fault campaign;
//! - [`emf`]: a checker of CloudWatch Embedded Metric Format documents;
//! - [`fixtures`]: records as the tables hold them;
//! - [`awslogs`]: peer log records packed as a CloudWatch Logs subscription delivers them.

pub mod awslogs;
pub mod capacity;
pub mod chaos;
pub mod emf;
pub mod emulators;
pub mod fixtures;
pub mod recorder;
pub mod tables;
