//! The tracker handle's methods for child processes, and [`ProcessGuard`].

use std::time::Duration;

use tokio::process::Child;

use super::Tracker;
use crate::tracker::GUARD_TIMEOUT;
use crate::tracker::child::ChildProcess;
use crate::tracker::command::CommandSpec;
use crate::tracker::error::{Rejected, TrackerError};
use crate::tracker::messages::{StopProcess, UnregisterProcess};
use crate::tracker::options::SpawnOptions;
use crate::tracker::status::StopOutcome;
use crate::tracker::table::SpawnedProcess;

impl Tracker {
    /// Starts `command` contained (its own cgroup, or its own process
    /// group) and tracks it under `key`; returns its pid. A key whose
    /// process has exited is reused.
    ///
    /// `command` is a [`CommandSpec`], or a `std::process::Command`
    /// (slower under cgroups: see [`CommandSpec`]). The spawn runs in the
    /// calling task, and the process is in the tracker's table before this
    /// returns: no mailbox hop.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::{CommandSpec, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let pid = tracker.spawn("quick", CommandSpec::new("true")).await?;
    /// assert_eq!(tracker.status().await?.processes["quick"].pid, pid);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] while a process runs under `key`
    /// (nothing is started); [`TrackerError::Spawn`];
    /// [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the spawn and its registration happen together at one
    /// poll, so a dropped future has started nothing, or a process that is
    /// tracked.
    pub async fn spawn(
        &self,
        key: impl Into<String>,
        command: impl Into<CommandSpec>,
    ) -> Result<u32, TrackerError> {
        self.spawn_with(key, command, SpawnOptions::default())
            .await
            .map(|spawned| spawned.pid)
    }

    /// Starts `command` as [`spawn`](Self::spawn) does and hands back the
    /// pipes it asked for (`Stdio::piped()`) and a [`ProcessExit`] to wait
    /// for it.
    ///
    /// [`ProcessExit`]: crate::tracker::ProcessExit
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::process::{Command, Stdio};
    /// # use steward_actors::tracker::Tracker;
    /// use tokio::io::AsyncReadExt;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let mut echo = Command::new("echo");
    /// echo.arg("hi").stdout(Stdio::piped());
    /// let mut spawned = tracker.spawn_piped("echo", echo).await?;
    /// let mut out = String::new();
    /// spawned.stdout.take().unwrap().read_to_string(&mut out).await?;
    /// assert_eq!(out, "hi\n");
    /// assert!(spawned.exit.wait().await.has_exited());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](Self::spawn); a dropped future closes the pipes.
    pub async fn spawn_piped(
        &self,
        key: impl Into<String>,
        command: impl Into<CommandSpec>,
    ) -> Result<SpawnedProcess, TrackerError> {
        self.spawn_with(key, command, SpawnOptions::default()).await
    }

    /// Starts `command` as [`spawn_piped`](Self::spawn_piped) does, under
    /// `options`' limits (`memory.max`, `pids.max`, `cpu.max` of its
    /// cgroup).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::{SpawnOptions, Tracker, TrackerError};
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let limited = SpawnOptions::default().pids_max(16);
    /// match tracker.spawn_with("job", std::process::Command::new("true"), limited).await {
    ///     Ok(_) => {} // the pids controller is delegated here
    ///     Err(TrackerError::ControllerMissing { controller, .. }) => assert_eq!(controller, "pids"),
    ///     Err(other) => panic!("{other}"),
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), and [`TrackerError::ControllerMissing`]
    /// naming the controller a limit needs when it is not delegated to the
    /// program (nothing is started).
    ///
    /// # Cancel safety
    ///
    /// As [`spawn`](Self::spawn).
    pub async fn spawn_with(
        &self,
        key: impl Into<String>,
        command: impl Into<CommandSpec>,
        options: SpawnOptions,
    ) -> Result<SpawnedProcess, TrackerError> {
        let key = key.into();
        let command = command.into();
        let runtime = self.runtime().await?;
        self.shared.spawn(&runtime, key, command, &options)
    }

    /// A guard that stops the process tracked under `key` when dropped.
    pub fn process_guard(&self, key: impl Into<String>) -> ProcessGuard {
        ProcessGuard {
            tracker: self.clone(),
            key: key.into(),
        }
    }

    /// Tracks a child the application started. With cgroups it is moved
    /// into a cgroup of its own (what it started before stays outside);
    /// otherwise its descendants are stopped with it only if it leads its
    /// own process group (`Command::process_group(0)`).
    ///
    /// A refusal hands the child back in its [`Rejected`], so the caller
    /// decides what becomes of it; `?` turns it into the
    /// [`TrackerError`] alone (and drops the child).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::{Tracker, TrackerError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let child = tokio::process::Command::new("sleep").arg("300").spawn().unwrap();
    /// tracker.register_process("sleeper", child).await?;
    /// let second = tokio::process::Command::new("true").spawn().unwrap();
    /// let rejected = tracker.register_process("sleeper", second).await.unwrap_err();
    /// assert!(matches!(rejected.error, TrackerError::DuplicateKey { .. }));
    /// assert!(rejected.item.is_some(), "the child is handed back");
    /// tracker.stop_process("sleeper", std::time::Duration::from_secs(5)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the child, with
    /// [`TrackerError::DuplicateKey`] or [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: registered at one poll, or not at all.
    pub async fn register_process(
        &self,
        key: impl Into<String>,
        child: Child,
    ) -> Result<u32, Rejected<Child>> {
        let key = key.into();
        self.with_runtime(child, |runtime, child| {
            self.shared.register_process(runtime, key, child)
        })
        .await
    }

    /// Stops the process under `key`: SIGTERM to every process of its
    /// cgroup (or group), up to `timeout` for all to exit, then SIGKILL to
    /// all; reaped, untracked, its cgroup removed. Returns how it ended.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::tracker::{Ending, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let mut tree = std::process::Command::new("sh");
    /// tree.args(["-c", "sleep 300 & sleep 300 & wait"]);
    /// tracker.spawn("tree", tree).await?;
    /// let outcome = tracker.stop_process("tree", Duration::from_secs(5)).await?;
    /// assert_eq!(outcome.ending, Ending::Terminated);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// The stop runs on the tracker: dropping the future only stops waiting.
    pub async fn stop_process(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<StopOutcome, TrackerError> {
        self.ask(StopProcess {
            key: key.to_owned(),
            timeout,
        })
        .await?
    }

    /// Hands the child under `key` back without stopping it (it leaves its
    /// cgroup; descendants it started stay there, to be stopped with the
    /// tracker).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let mut sleeper = std::process::Command::new("sleep");
    /// sleeper.arg("300");
    /// tracker.spawn("sleeper", sleeper).await?;
    /// let mut child = tracker.unregister_process("sleeper").await?;
    /// child.kill().await.unwrap();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_process(&self, key: &str) -> Result<ChildProcess, TrackerError> {
        self.ask(UnregisterProcess {
            key: key.to_owned(),
        })
        .await?
    }

    /// Tracks `child` and returns a guard that stops it when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let child = tokio::process::Command::new("sleep").arg("300").spawn().unwrap();
    /// let guard = tracker.track_process("scoped", child).await?;
    /// drop(guard); // stopped
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register_process`](Self::register_process).
    pub async fn track_process(
        &self,
        key: impl Into<String>,
        child: Child,
    ) -> Result<ProcessGuard, TrackerError> {
        let key = key.into();
        self.register_process(key.clone(), child).await?;
        Ok(ProcessGuard {
            tracker: self.clone(),
            key,
        })
    }
}

/// Stops its process (SIGTERM, then SIGKILL after [`GUARD_TIMEOUT`]) when
/// dropped; one that has exited and left nothing is just untracked.
#[must_use = "the process is stopped as soon as the guard is dropped"]
#[derive(Debug)]
pub struct ProcessGuard {
    tracker: Tracker,
    key: String,
}

impl ProcessGuard {
    /// The key the process is tracked under.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        // Exited and nothing left: untracked here, no mailbox hop.
        if self.tracker.shared.remove_exited(&self.key) {
            return;
        }
        self.tracker.address.do_send(StopProcess {
            key: std::mem::take(&mut self.key),
            timeout: GUARD_TIMEOUT,
        });
    }
}
