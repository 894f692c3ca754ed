//! [`Tracker`], the handle, and the guards it hands out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::process::Child;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::child::ChildProcess;
use super::command::CommandSpec;
use super::custom::{AsyncResource, SyncResource};
use super::error::{Rejected, TrackerError};
use super::messages::{
    CleanupAll, CleanupCustom, CurrentRuntime, RegisterCustom, ReportStatus, StopProcess,
    UnregisterCustom, UnregisterProcess,
};
use super::options::{Containment, SpawnOptions};
use super::status::{
    CleanupOutcome, CleanupReport, StopOutcome, TaskState, TrackerCounts, TrackerStatus,
};
use super::table::{Shared, SpawnedProcess};
use super::{GUARD_TIMEOUT, ResourceTracker};
use crate::{Shutdown, UserError};

/// The handle of the resource tracker: `Clone + Send + Sync`.
#[derive(Clone)]
pub struct Tracker {
    pub(crate) address: Addr<ResourceTracker>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("containment", &self.shared.container.kind())
            .field("marker", &self.shared.marker_var)
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// The actor's address, for sending its messages directly.
    #[must_use]
    pub fn address(&self) -> &Addr<ResourceTracker> {
        &self.address
    }

    /// How this tracker contains its processes: [`Containment::Cgroup`] or
    /// [`Containment::ProcessGroup`].
    #[must_use]
    pub fn containment(&self) -> Containment {
        self.shared.container.kind()
    }

    /// The watchdog's pid, while it runs.
    #[must_use]
    pub fn watchdog_pid(&self) -> Option<u32> {
        self.shared
            .watchdog
            .as_ref()
            .and_then(|watchdog| watchdog.pid())
    }

    /// The environment variable every process this tracker starts carries,
    /// set to its key, and its descendants inherit.
    #[must_use]
    pub fn marker_var(&self) -> &str {
        &self.shared.marker_var
    }

    /// Sends `message`; a closed mailbox is [`TrackerError::Closed`].
    async fn ask<M>(&self, message: M) -> Result<M::Result, TrackerError>
    where
        M: actix::Message + Send + 'static,
        M::Result: Send,
        ResourceTracker: actix::Handler<M>,
    {
        crate::sync::ask(&self.address, message, || TrackerError::Closed).await
    }

    /// The runtime the tracker's watchers run on: known once the actor has
    /// started (asked of it the first time only).
    async fn runtime(&self) -> Result<Handle, TrackerError> {
        match self.shared.runtime() {
            Some(runtime) => Ok(runtime),
            None => {
                let runtime = self.ask(CurrentRuntime).await?;
                self.shared.set_runtime(runtime.clone());
                Ok(runtime)
            }
        }
    }

    /// Registers `item` with the tracker's runtime, or hands it back.
    async fn with_runtime<T, R>(
        &self,
        item: T,
        register: impl FnOnce(&Handle, T) -> Result<R, Rejected<T>>,
    ) -> Result<R, Rejected<T>> {
        match self.runtime().await {
            Ok(runtime) => register(&runtime, item),
            Err(error) => Err(Rejected {
                error,
                item: Some(Box::new(item)),
            }),
        }
    }

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
    /// [`ProcessExit`]: super::ProcessExit
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
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let child = tokio::process::Command::new("sleep").arg("300").spawn().unwrap();
    /// tracker.register_process("sleeper", child).await?;
    /// tracker.stop_process("sleeper", std::time::Duration::from_secs(5)).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] (the child is dropped; use
    /// [`register_process_or_return`](Self::register_process_or_return) to
    /// get it back); [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: registered at one poll, or not at all.
    pub async fn register_process(
        &self,
        key: impl Into<String>,
        child: Child,
    ) -> Result<u32, TrackerError> {
        self.register_process_or_return(key, child)
            .await
            .map_err(TrackerError::from)
    }

    /// As [`register_process`](Self::register_process), handing the child
    /// back on a refusal.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let first = tokio::process::Command::new("true").spawn().unwrap();
    /// tracker.register_process_or_return("job", first).await.unwrap();
    /// # let _ = tracker.stop_process("job", std::time::Duration::from_secs(5)).await;
    /// # tracker.register_process_or_return("job", tokio::process::Command::new("sleep").arg("300").spawn().unwrap()).await.unwrap();
    /// let second = tokio::process::Command::new("true").spawn().unwrap();
    /// let rejected = tracker.register_process_or_return("job", second).await.unwrap_err();
    /// assert!(rejected.item.is_some(), "the child is handed back");
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the child.
    ///
    /// # Cancel safety
    ///
    /// As [`register_process`](Self::register_process).
    pub async fn register_process_or_return(
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

    /// Spawns `future` as a tokio task and tracks it under `key`. It runs on
    /// the runtime of the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::tracker::{TaskState, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.spawn_task("forever", std::future::pending::<()>()).await?;
    /// let state = tracker.cancel_task("forever", Duration::from_secs(1)).await?;
    /// assert_eq!(state, TaskState::Cancelled);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] (the task is aborted again);
    /// [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the task is spawned and tracked at one poll, or not
    /// spawned.
    pub async fn spawn_task<F>(&self, key: impl Into<String>, future: F) -> Result<(), TrackerError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let key = key.into();
        let runtime = self.runtime().await?;
        match self
            .shared
            .register_task(&runtime, key, tokio::spawn(future))
        {
            Ok(()) => Ok(()),
            Err(Rejected { error, item }) => {
                if let Some(handle) = item {
                    handle.abort();
                }
                Err(error)
            }
        }
    }

    /// Tracks a task the application spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_task("ticker", tokio::spawn(async { 1 })).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] (the handle is dropped: the task runs
    /// on, detached; use [`register_task_or_return`](Self::register_task_or_return)
    /// to get it back); [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: tracked at one poll, or not at all (the handle is then
    /// dropped and the task runs on, detached).
    pub async fn register_task<T: Send + 'static>(
        &self,
        key: impl Into<String>,
        handle: JoinHandle<T>,
    ) -> Result<(), TrackerError> {
        self.register_task_or_return(key, handle)
            .await
            .map_err(TrackerError::from)
    }

    /// Tracks a task the application spawned, handing the handle back if
    /// it is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_task_or_return("job", tokio::spawn(std::future::pending::<()>())).await.unwrap();
    /// let again = tracker.register_task_or_return("job", tokio::spawn(async {})).await.unwrap_err();
    /// assert!(again.item.is_some());
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the handle, for a duplicate key or a closed
    /// tracker.
    ///
    /// # Cancel safety
    ///
    /// As [`register_task`](Self::register_task).
    pub async fn register_task_or_return<T: Send + 'static>(
        &self,
        key: impl Into<String>,
        handle: JoinHandle<T>,
    ) -> Result<(), Rejected<JoinHandle<T>>> {
        let key = key.into();
        self.with_runtime(handle, |runtime, handle| {
            self.shared.register_task(runtime, key, handle)
        })
        .await
    }

    /// Aborts the task under `key` and waits, at most `timeout`, for it.
    ///
    /// # Examples
    ///
    /// See [`spawn_task`](Self::spawn_task).
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Timeout`].
    ///
    /// # Cancel safety
    ///
    /// The task is aborted at the first poll; dropping the future later
    /// only stops waiting.
    pub async fn cancel_task(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<TaskState, TrackerError> {
        let entry = self.shared.take_task(key)?;
        entry.cancel_within(key.to_owned(), timeout).await
    }

    /// Hands the task under `key` back, typed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let (go, wait) = tokio::sync::oneshot::channel::<()>();
    /// let task = tokio::spawn(async move { wait.await.map_or(0_u32, |()| 42) });
    /// tracker.register_task("answer", task).await?;
    /// let handle = tracker.unregister_task::<u32>("answer").await?;
    /// go.send(()).unwrap();
    /// assert_eq!(handle.await.unwrap(), 42);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::WrongType`] (the task stays tracked);
    /// [`TrackerError::NotRegistered`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future after its first poll drops the handle: the task
    /// runs on, detached.
    pub async fn unregister_task<T: Send + 'static>(
        &self,
        key: &str,
    ) -> Result<JoinHandle<T>, TrackerError> {
        self.shared
            .take_task_of::<T>(key)?
            .into_handle::<T>(key)
            .await
    }

    /// Tracks `resource` with a synchronous cleanup (run on a blocking
    /// thread).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::tracker::{CleanupOutcome, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_custom("file", 3_u32, |_| Ok(())).await.unwrap();
    /// let outcome = tracker.cleanup_custom("file", Duration::from_secs(1)).await.unwrap();
    /// assert_eq!(outcome, CleanupOutcome::Done);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the resource, for a duplicate key.
    pub async fn register_custom<T, F>(
        &self,
        key: impl Into<String>,
        resource: T,
        cleanup: F,
    ) -> Result<(), Rejected<T>>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Result<(), UserError> + Send + 'static,
    {
        let message = RegisterCustom {
            key: key.into(),
            resource: Box::new(SyncResource {
                value: resource,
                cleanup,
            }),
        };
        self.register(message).await
    }

    /// Tracks `resource` with an async cleanup.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker
    ///     .register_custom_async("socket", 9_u16, |_| async { Ok(()) })
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the resource, for a duplicate key.
    pub async fn register_custom_async<T, F, Fut>(
        &self,
        key: impl Into<String>,
        resource: T,
        cleanup: F,
    ) -> Result<(), Rejected<T>>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), UserError>> + Send + 'static,
    {
        let message = RegisterCustom {
            key: key.into(),
            resource: Box::new(AsyncResource {
                value: resource,
                cleanup,
            }),
        };
        self.register(message).await
    }

    async fn register<T: Send + 'static>(
        &self,
        message: RegisterCustom,
    ) -> Result<(), Rejected<T>> {
        match self.address.send(message).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Rejected { error, item })) => {
                let item = item.and_then(|item| item.downcast::<T>().ok());
                Err(Rejected { error, item })
            }
            Err(_) => Err(Rejected {
                error: TrackerError::Closed,
                item: None,
            }),
        }
    }

    /// Runs the cleanup of the resource under `key` (bounded by `timeout`)
    /// and untracks it; a failed or panicking cleanup is in the outcome.
    ///
    /// # Examples
    ///
    /// See [`register_custom`](Self::register_custom).
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn cleanup_custom(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<CleanupOutcome, TrackerError> {
        self.ask(CleanupCustom {
            key: key.to_owned(),
            timeout,
        })
        .await?
    }

    /// Hands the resource under `key` back, typed, without cleaning it up.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_custom("n", 7_u8, |_| Ok(())).await.unwrap();
    /// assert_eq!(tracker.unregister_custom::<u8>("n").await.unwrap(), 7);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::WrongType`] (the resource stays tracked);
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_custom<T: Send + 'static>(&self, key: &str) -> Result<T, TrackerError> {
        self.ask(UnregisterCustom::<T>::new(key)).await?
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

    /// Tracks `handle` and returns a guard that cancels it when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let guard = tracker.track_task("scoped", tokio::spawn(std::future::pending::<()>())).await?;
    /// drop(guard); // cancelled
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`]; [`TrackerError::Closed`].
    pub async fn track_task<T: Send + 'static>(
        &self,
        key: impl Into<String>,
        handle: JoinHandle<T>,
    ) -> Result<TaskGuard, TrackerError> {
        let key = key.into();
        self.register_task_or_return(key.clone(), handle).await?;
        Ok(TaskGuard {
            tracker: self.clone(),
            key,
        })
    }

    /// Stops everything within `deadline`: processes and tasks at once,
    /// custom resources newest first.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let mut sleeper = std::process::Command::new("sleep");
    /// sleeper.arg("300");
    /// tracker.spawn("sleeper", sleeper).await?;
    /// let report = tracker.cleanup_all(Duration::from_secs(5)).await?;
    /// assert_eq!(report.stopped_gracefully, ["sleeper"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::Closed`] if the tracker is gone.
    ///
    /// # Cancel safety
    ///
    /// The cleanup runs on the tracker: dropping the future only stops
    /// waiting.
    pub async fn cleanup_all(&self, deadline: Duration) -> Result<CleanupReport, TrackerError> {
        self.ask(CleanupAll { deadline }).await
    }

    /// Everything tracked, per kind, per key, with each process's
    /// containment, CPU time and pressure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let status = tracker.status().await?;
    /// assert!(status.processes.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::Closed`] if the tracker is gone.
    pub async fn status(&self) -> Result<TrackerStatus, TrackerError> {
        self.ask(ReportStatus).await
    }

    /// Running processes by containment, running tasks, stops and the
    /// CPU of the tracker's cgroups: read without a message and without a
    /// process's cgroup files (one read of the tracker's own `cpu.stat`),
    /// so it costs microseconds with thousands of processes.
    #[must_use]
    pub fn counts(&self) -> TrackerCounts {
        let processes = self.shared.process_statuses(false);
        let tasks = self.shared.task_statuses();
        TrackerCounts {
            stops: self.shared.stops.counts(),
            cpu_usec: self.shared.container.cpu_usec(),
            ..TrackerCounts::count(
                processes.iter().map(|(_, process)| process),
                tasks.iter().map(|(_, task)| task),
            )
        }
    }

    /// SIGKILLs everything tracked now, synchronously (one write to
    /// `cgroup.kill`, or a SIGKILL per process group): for a program about
    /// to go, when there is no time for anything gentler.
    pub fn kill_all_now(&self) {
        self.shared.kill_all_now();
    }

    /// Stops the actor: whatever is still tracked is killed, cells removed,
    /// the watchdog stopped cleanly. Later spawns fail with `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::{Tracker, TrackerError};
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.shutdown().await;
    /// let refused = tracker.spawn("late", std::process::Command::new("true")).await;
    /// assert!(matches!(refused, Err(TrackerError::Closed)));
    /// # }
    /// ```
    pub async fn shutdown(&self) {
        let _ = self.address.send(Shutdown).await;
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

/// Cancels its task when dropped.
#[must_use = "the task is cancelled as soon as the guard is dropped"]
#[derive(Debug)]
pub struct TaskGuard {
    tracker: Tracker,
    key: String,
}

impl TaskGuard {
    /// The key the task is tracked under.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if let Ok(entry) = self.tracker.shared.take_task(&self.key) {
            entry.abort.abort();
        }
    }
}
