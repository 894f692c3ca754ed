//! [`PooledChild`]: a running child of a subprocess pool.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use super::Runners;
use super::running::Running;
use crate::pool::PoolGuard;
use crate::tracker::{ProcessExit, ProcessGuard, ProcessState, SpawnedProcess};

/// A child started by [`SubprocessPool::spawn`](super::SubprocessPool::spawn):
/// tracked by the ResourceTracker, holding one of the pool's run slots.
///
/// Dropping it stops the child (SIGTERM to everything in its cgroup or group, then SIGKILL) if it
/// still runs, and frees the slot.
#[must_use = "the child is stopped as soon as this is dropped"]
#[derive(Debug)]
pub struct PooledChild {
    /// The tracker key it runs under.
    pub key: String,
    /// Its pid.
    pub pid: u32,
    /// Its stdin (piped).
    pub stdin: Option<ChildStdin>,
    /// Its stdout (piped).
    pub stdout: Option<ChildStdout>,
    /// Its stderr (piped).
    pub stderr: Option<ChildStderr>,
    exit: ProcessExit,
    // On drop: the slot is freed once the process is gone (see `Drop`);
    // then the guard stops the process and the run is forgotten.
    _process: ProcessGuard,
    _running: Running,
    /// Always `Some` until dropped.
    slot: Option<PoolGuard<Runners>>,
}

/// How long a dropped child's slot waits for the child to be gone: the
/// guard's SIGTERM grace, then the SIGKILL.
const SLOT_HOLD: std::time::Duration = crate::budget::GRACE_THEN_KILL;

impl Drop for PooledChild {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if self.exit.state().has_exited() {
            return; // the slot goes back now
        }
        // Still running: it is being stopped by its guard. Its slot stays
        // taken until it is gone, so the pool never has more than its
        // bound of live children.
        let mut exit = self.exit.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tokio::time::timeout(SLOT_HOLD, exit.wait()).await;
                drop(slot);
            });
        }
    }
}

impl PooledChild {
    pub(crate) fn new(
        key: String,
        spawned: SpawnedProcess,
        process: ProcessGuard,
        running: Running,
        slot: PoolGuard<Runners>,
    ) -> Self {
        Self {
            key,
            pid: spawned.pid,
            stdin: spawned.stdin,
            stdout: spawned.stdout,
            stderr: spawned.stderr,
            exit: spawned.exit,
            _process: process,
            _running: running,
            slot: Some(slot),
        }
    }

    /// Waits for the child to exit (it is reaped by the tracker). Close or
    /// take stdin first if the child reads it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::subprocess_pool::{SubprocessError, SubprocessPool};
    /// # use steward_actors::tracker::{ChildIo, CommandSpec, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let arbiter = actix::Arbiter::current();
    /// # let tracker = Tracker::start_in(&arbiter);
    /// let pool = SubprocessPool::new("tools", 2);
    /// pool.start(&tracker, &arbiter).await?;
    /// let mut failing = CommandSpec::new("sh");
    /// failing.args(["-c", "exit 3"]);
    /// let mut child = pool.spawn(failing).await?;
    /// assert_eq!(child.wait().await.code(), Some(3));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the child keeps running.
    pub async fn wait(&mut self) -> ExitStatus {
        exit_status(self.exit.wait().await)
    }

    /// Reads stdout and stderr (those still here, piped) to their end,
    /// then waits for the child to exit.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::subprocess_pool::{SubprocessError, SubprocessPool};
    /// # use steward_actors::tracker::{ChildIo, CommandSpec, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let arbiter = actix::Arbiter::current();
    /// # let tracker = Tracker::start_in(&arbiter);
    /// let pool = SubprocessPool::new("tools", 2);
    /// pool.start(&tracker, &arbiter).await?;
    /// let mut both = CommandSpec::new("sh");
    /// both.args(["-c", "echo out; echo err >&2"])
    ///     .stdout(ChildIo::Piped)
    ///     .stderr(ChildIo::Piped);
    /// let mut child = pool.spawn(both).await?;
    /// let output = child.wait_with_output().await?;
    /// assert!(output.status.success());
    /// assert_eq!((output.stdout.as_slice(), output.stderr.as_slice()), (&b"out\n"[..], &b"err\n"[..]));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// A read of a pipe failed; the child keeps running (dropping it
    /// stops it).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the pipes it took; the child keeps
    /// running until it or this `PooledChild` is stopped.
    pub async fn wait_with_output(&mut self) -> std::io::Result<Output> {
        let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
        let (stdout, stderr) = tokio::try_join!(read_all(stdout), read_all(stderr))?;
        Ok(Output {
            status: self.wait().await,
            stdout,
            stderr,
        })
    }
}

/// Everything a pipe gives until it closes; nothing without a pipe.
async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

/// A tracker state as the std type.
pub(crate) fn exit_status(state: ProcessState) -> ExitStatus {
    match state {
        ProcessState::Exited {
            signal: Some(signal),
            ..
        } => ExitStatus::from_raw(signal),
        ProcessState::Exited {
            code: Some(code), ..
        } => ExitStatus::from_raw(code << 8),
        // Unknown: reported as killed by SIGKILL.
        _ => ExitStatus::from_raw(9),
    }
}
