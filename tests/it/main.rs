//! The integration suite: one binary, real emulators over HTTP (moto and route-server-sim),
//! started once per binary (moto) or once per test (the simulator).

mod ack;
mod alert_rules;
mod architecture;
mod chaos;
mod cli;
mod cli_logging;
mod cli_routes;
mod doctor;
mod flapping_reminders;
mod fuzz;
mod handler;
mod helpers;
mod infra;
mod lambda;
mod peer_logs;
mod poller;
mod report;
mod routes;
mod simulator;
mod status_history;
mod watch;
