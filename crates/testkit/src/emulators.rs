//! Starts the local emulators (moto for DynamoDB/SNS/SQS, `route-server-sim` for EC2) on
//! free loopback ports, for the tests, the demo and the benchmarks. Nothing here is used by
//! the Lambda.
//!
//! Each emulator is a child process that prints `listening on http://ADDR` first. Children
//! die with this process whatever way it ends: they are killed on drop, and the kernel
//! kills them (`PR_SET_PDEATHSIG`) if this process dies without running destructors.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot start {what} ({program}): {source}")]
    Spawn {
        what: &'static str,
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} did not say where it listens within {timeout:?}; its log is {log}")]
    NoAddress {
        what: &'static str,
        timeout: Duration,
        log: PathBuf,
    },
    #[error("cannot create the emulator log directory {dir}: {source}")]
    LogDir {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// A running emulator process; killed when dropped.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    _child: KillOnDrop,
}

/// A child process that is killed and reaped when dropped.
#[derive(Debug)]
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Emulator {
    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Starts `route-server-sim` from `binary` on a free port with extra arguments.
    pub fn simulator(binary: &Path, args: &[&str]) -> Result<Emulator, EmulatorError> {
        let mut cmd = Command::new(binary);
        cmd.args(["--listen", "127.0.0.1:0"]).args(args);
        start("route-server-sim", cmd, Duration::from_secs(10))
    }

    /// Starts moto in server mode with the project venv's Python.
    pub fn moto(python: &Path) -> Result<Emulator, EmulatorError> {
        let mut cmd = Command::new(python);
        cmd.arg(project_root().join("scripts/moto_server.py"))
            .arg("--until-stdin-closes");
        // Importing moto takes a few seconds on a cold machine.
        start("moto", cmd, Duration::from_secs(90))
    }

    /// Starts `scripts/fault_proxy.py` (stdlib only) in front of `upstream` (moto): the fault
    /// campaign's DynamoDB and SNS errors, timeouts and lost responses.
    pub fn fault_proxy(python: &Path, upstream: &str) -> Result<Emulator, EmulatorError> {
        let mut cmd = Command::new(python);
        cmd.arg(project_root().join("scripts/fault_proxy.py"))
            .args(["--upstream", upstream, "--until-stdin-closes"]);
        start("fault proxy", cmd, Duration::from_secs(30))
    }

    /// Starts any command the way the emulators are started (it dies with this process), for
    /// programs that do not announce an address: a Lambda runtime emulator on a port the caller
    /// chose, or the Lambda function itself. Stdout and stderr go to log files.
    pub fn spawn_command(
        what: &'static str,
        mut cmd: Command,
    ) -> Result<Supervised, EmulatorError> {
        let stdout_log = log_path(what, "stdout")?;
        let stderr_log = log_path(what, "stderr")?;
        let open = |path: &Path| {
            std::fs::File::create(path).map_err(|source| EmulatorError::LogDir {
                dir: path.to_path_buf(),
                source,
            })
        };
        cmd.stdin(Stdio::null())
            .stdout(open(&stdout_log)?)
            .stderr(open(&stderr_log)?);
        die_with_parent(&mut cmd);
        let program = PathBuf::from(cmd.get_program());
        let child = spawn_from_keeper(cmd).map_err(|source| EmulatorError::Spawn {
            what,
            program,
            source,
        })?;
        Ok(Supervised {
            child: KillOnDrop(child),
            stdout_log,
            stderr_log,
        })
    }
}

/// A process from [`Emulator::spawn_command`]; killed when dropped.
#[derive(Debug)]
pub struct Supervised {
    child: KillOnDrop,
    stdout_log: PathBuf,
    stderr_log: PathBuf,
}

impl Supervised {
    /// Its exit status if it has ended.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.0.try_wait().ok().flatten()
    }

    pub fn stdout_log(&self) -> &Path {
        &self.stdout_log
    }

    pub fn stderr_log(&self) -> &Path {
        &self.stderr_log
    }

    /// What it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_log).unwrap_or_default()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

/// The repository this crate was built from (scripts, venv and binaries live under it): two
/// levels above `crates/testkit`.
pub fn project_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// `target/<profile>/NAME`: a binary of the same build as the running program, which is
/// `target/<profile>/NAME` itself (a workspace tool) or `target/<profile>/deps/NAME-HASH` (a
/// test). Not checked to exist.
pub fn same_build_binary(name: &str) -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent();
    let profile_dir = dir
        .and_then(|d| {
            if d.ends_with("deps") {
                d.parent()
            } else {
                Some(d)
            }
        })
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "cannot tell the target directory from {}",
                exe.display()
            ))
        })?;
    Ok(profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// The Python with moto installed: `PEERWATCH_PYTHON`, else the project venv's.
pub fn project_python() -> PathBuf {
    std::env::var_os("PEERWATCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/python"))
}

/// A name no other test in this run, or any concurrent run, will use.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{}-{n}-{:04x}",
        std::process::id(),
        fastrand::u16(..)
    )
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Children are spawned from one thread that lives as long as the process, because
/// `PR_SET_PDEATHSIG` fires when the spawning *thread* exits, and test threads are short-lived.
fn spawn_from_keeper(cmd: Command) -> std::io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("emulator-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // Every sender is gone only at process exit; park so children are not orphaned early.
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning a thread at start-up");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    keeper
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, reply_tx))
        .map_err(|_| std::io::Error::other("emulator keeper thread is gone"))?;
    reply_rx
        .recv()
        .map_err(|_| std::io::Error::other("emulator keeper thread is gone"))?
}

/// A fresh log file name under `target/emulator-logs`, the directory created if need be.
fn log_path(what: &str, extension: &str) -> Result<PathBuf, EmulatorError> {
    let dir = project_root().join("target/emulator-logs");
    std::fs::create_dir_all(&dir).map_err(|source| EmulatorError::LogDir {
        dir: dir.clone(),
        source,
    })?;
    Ok(dir.join(format!("{}.{extension}", unique_name(what))))
}

/// The kernel kills the child if the thread that spawned it ends (see `spawn_from_keeper`).
/// Linux only: elsewhere a child outlives a test process that is killed (a normal exit still
/// stops it, through `KillOnDrop`).
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;

    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

fn start(
    what: &'static str,
    mut cmd: Command,
    timeout: Duration,
) -> Result<Emulator, EmulatorError> {
    let log = log_path(what, "log")?;
    let log_file = std::fs::File::create(&log).map_err(|source| EmulatorError::LogDir {
        dir: log.clone(),
        source,
    })?;
    let program = PathBuf::from(cmd.get_program());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log_file);
    die_with_parent(&mut cmd);
    let mut child = spawn_from_keeper(cmd).map_err(|source| EmulatorError::Spawn {
        what,
        program,
        source,
    })?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        // Keep draining so a chatty child never blocks on a full pipe.
        for _ in lines {}
    });
    let first = rx.recv_timeout(timeout).ok().flatten();
    match first
        .as_deref()
        .and_then(|l| l.strip_prefix("listening on "))
    {
        Some(url) => Ok(Emulator {
            endpoint: url.trim().to_string(),
            _child: KillOnDrop(child),
        }),
        None => {
            drop(KillOnDrop(child));
            Err(EmulatorError::NoAddress { what, timeout, log })
        }
    }
}
