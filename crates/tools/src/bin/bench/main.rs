//! `bench`: the benchmark harness behind `make bench` (docs/benchmarks.md). It measures with
//! `wait4`, `/proc/<pid>/status` and `/proc/self/clear_refs`, so it runs on Linux only; on any
//! other system it builds and says so, so that the workspace builds everywhere.

#[cfg(target_os = "linux")]
mod linux;

#[cfg(target_os = "linux")]
fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    linux::main()
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("bench: measures through wait4 and /proc, which only Linux has");
    std::process::ExitCode::from(2)
}
