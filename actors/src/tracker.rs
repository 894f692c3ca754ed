//! Child processes, tasks and custom resources, stopped gracefully and
//! never leaked.
//!
//! - A process started with [`Tracker::spawn`] leads a process group of its
//!   own and carries a marker in its environment that its descendants
//!   inherit. Stopping it sends SIGTERM to the group, waits up to a
//!   timeout, sends SIGKILL, then kills any marked descendant that is left
//!   (one that called `setsid` escaped the group, not the marker). The
//!   program is made a child subreaper (`PR_SET_CHILD_SUBREAPER`), so such
//!   orphans are reparented to it, and the tracker reaps them. A child that
//!   exits by itself is reaped at once; its status shows the exit code.
//! - Tasks are aborted; custom resources are cleaned up by their own sync
//!   or async cleanup, whose failure or panic is reported, never raised.
//! - [`Tracker::cleanup_all`] stops everything within a deadline: processes
//!   and tasks at once, custom resources newest first.
//! - Guards ([`Tracker::track_process`], [`Tracker::track_task`]) stop what
//!   they hold when dropped: the Rust form of a context manager.
//!
//! Signals go only to live, unreaped processes: a group is signalled while
//! its leader is unreaped, so its id cannot have been reused.
//!
//! # Known limitations
//!
//! - Subreaping is process-wide: an orphan of a child the application
//!   started itself (unmarked, e.g. a daemonizing helper) is reparented to
//!   the program too, and stays a zombie until the program exits; the
//!   tracker reaps only what carries its mark.
//! - A registration whose future is dropped before the tracker handles it
//!   may be dropped with it: the child or task then runs untracked.
//!
//! # Examples
//!
//! ```
//! use std::process::Command;
//! use std::time::Duration;
//! use steward_actors::tracker::{Ending, Tracker};
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
//! let tracker = Tracker::start_in(&actix::Arbiter::current());
//! let mut sleeper = Command::new("sleep");
//! sleeper.arg("300");
//! tracker.spawn("sleeper", sleeper).await?;
//!
//! let outcome = tracker.stop_process("sleeper", Duration::from_secs(5)).await?;
//! assert_eq!(outcome.ending, Ending::Terminated);
//! # Ok(())
//! # }
//! ```

mod actor;
mod custom;
mod error;
mod os;
mod process;
mod status;
mod task;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle};
use tokio::process::Child;
use tokio::task::JoinHandle;

pub use actor::{
    CancelTask, CleanupAll, CleanupCustom, ProcessExit, RegisterCustom, RegisterProcess,
    RegisterTask, ReportStatus, ResourceTracker, SpawnPiped, SpawnProcess, SpawnedProcess,
    StopProcess, UnregisterCustom, UnregisterProcess, UnregisterTask,
};
pub use error::{Kind, Rejected, TrackerError};
pub use status::{
    CleanupOutcome, CleanupReport, CustomStatus, Ending, ProcessState, ProcessStatus, StopOutcome,
    TaskState, TaskStatus, TrackerStatus,
};

use crate::{Shutdown, UserError};
use custom::{AsyncResource, SyncResource};

/// How long a guard gives what it tracks to stop after SIGTERM or abort.
pub const GUARD_TIMEOUT: Duration = Duration::from_secs(5);

/// The handle of the resource tracker: `Clone + Send + Sync`.
#[derive(Clone)]
pub struct Tracker {
    address: Addr<ResourceTracker>,
    shared: Arc<actor::Shared>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("marker", &self.shared.marker_var)
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// Starts the tracker on `arbiter`, and makes this process a child
    /// subreaper.
    #[must_use]
    pub fn start_in(arbiter: &ArbiterHandle) -> Self {
        os::become_subreaper();
        let shared = Arc::new(actor::Shared::new());
        let actor_shared = Arc::clone(&shared);
        let address =
            ResourceTracker::start_in_arbiter(arbiter, move |_| ResourceTracker::new(actor_shared));
        Self { address, shared }
    }

    /// The actor's address, for sending its messages directly.
    #[must_use]
    pub fn address(&self) -> &Addr<ResourceTracker> {
        &self.address
    }

    /// Sends `message`; a closed mailbox is [`TrackerError::Closed`].
    async fn ask<M>(&self, message: M) -> Result<M::Result, TrackerError>
    where
        M: actix::Message + Send + 'static,
        M::Result: Send,
        ResourceTracker: actix::Handler<M>,
    {
        self.address
            .send(message)
            .await
            .map_err(|_| TrackerError::Closed)
    }

    /// Sends a registration whose refusal hands the item back; with a
    /// closed mailbox the item is lost with the message.
    async fn ask_or_reject<M, R, T>(&self, message: M) -> Result<R, Rejected<T>>
    where
        M: actix::Message<Result = Result<R, Rejected<T>>> + Send + 'static,
        R: Send + 'static,
        T: Send + 'static,
        ResourceTracker: actix::Handler<M>,
    {
        self.address.send(message).await.unwrap_or_else(|_| {
            Err(Rejected {
                error: TrackerError::Closed,
                item: None,
            })
        })
    }

    /// Starts `command` in a process group of its own and tracks it under
    /// `key`; returns its pid. A key whose process has exited is reused.
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] while a process runs under `key`
    /// (nothing is started); [`TrackerError::Spawn`]; [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not start the process; if started,
    /// it is tracked.
    pub async fn spawn(
        &self,
        key: impl Into<String>,
        command: std::process::Command,
    ) -> Result<u32, TrackerError> {
        self.ask(SpawnProcess {
            key: key.into(),
            command,
        })
        .await?
    }

    /// Starts `command` as [`spawn`](Self::spawn) does and hands back the
    /// pipes it asked for (`Stdio::piped()`) and a [`ProcessExit`] to wait
    /// for it.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not start the process; if started,
    /// it is tracked (its pipes are closed).
    pub async fn spawn_piped(
        &self,
        key: impl Into<String>,
        command: std::process::Command,
    ) -> Result<SpawnedProcess, TrackerError> {
        self.ask(SpawnPiped {
            key: key.into(),
            command,
        })
        .await?
    }

    /// A guard that stops the process tracked under `key` when dropped.
    pub fn process_guard(&self, key: impl Into<String>) -> ProcessGuard {
        ProcessGuard {
            tracker: self.clone(),
            key: key.into(),
        }
    }

    /// Tracks a child the application started. Its descendants are stopped
    /// with it only if it leads its own process group
    /// (`Command::process_group(0)`).
    ///
    /// # Errors
    ///
    /// [`Rejected`] with the child handed back, for a duplicate key;
    /// [`TrackerError::Closed`] (the child is then dropped).
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
    /// back on a duplicate key.
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the child.
    pub async fn register_process_or_return(
        &self,
        key: impl Into<String>,
        child: Child,
    ) -> Result<u32, Rejected<Child>> {
        self.ask_or_reject(RegisterProcess {
            key: key.into(),
            child,
        })
        .await
    }

    /// Stops the process under `key`: SIGTERM to its group, up to `timeout`
    /// to exit, then SIGKILL; reaped, untracked, and its marked
    /// descendants killed. Returns how it ended.
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

    /// Hands the child under `key` back without stopping it.
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_process(&self, key: &str) -> Result<Child, TrackerError> {
        self.ask(UnregisterProcess {
            key: key.to_owned(),
        })
        .await?
    }

    /// Spawns `future` as a tokio task and tracks it under `key`. It runs on
    /// the runtime of the caller.
    ///
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] (the task is aborted again);
    /// [`TrackerError::Closed`].
    pub async fn spawn_task<F>(&self, key: impl Into<String>, future: F) -> Result<(), TrackerError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self
            .register_task_or_return(key, tokio::spawn(future))
            .await
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
    /// # Errors
    ///
    /// [`TrackerError::DuplicateKey`] (the handle is dropped: the task runs
    /// on, detached; use [`register_task_or_return`](Self::register_task_or_return)
    /// to get it back); [`TrackerError::Closed`].
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
    /// # Errors
    ///
    /// [`Rejected`] holding the handle, for a duplicate key or a closed
    /// tracker.
    pub async fn register_task_or_return<T: Send + 'static>(
        &self,
        key: impl Into<String>,
        handle: JoinHandle<T>,
    ) -> Result<(), Rejected<JoinHandle<T>>> {
        self.ask_or_reject(RegisterTask {
            key: key.into(),
            handle,
        })
        .await
    }

    /// Aborts the task under `key` and waits, at most `timeout`, for it.
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Timeout`];
    /// [`TrackerError::Closed`].
    pub async fn cancel_task(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<TaskState, TrackerError> {
        self.ask(CancelTask {
            key: key.to_owned(),
            timeout,
        })
        .await?
    }

    /// Hands the task under `key` back, typed.
    ///
    /// # Errors
    ///
    /// [`TrackerError::WrongType`] (the task stays tracked);
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_task<T: Send + 'static>(
        &self,
        key: &str,
    ) -> Result<JoinHandle<T>, TrackerError> {
        self.ask(UnregisterTask::<T>::new(key)).await?
    }

    /// Tracks `resource` with a synchronous cleanup (run on a blocking
    /// thread).
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
    /// # Errors
    ///
    /// [`TrackerError::WrongType`] (the resource stays tracked);
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_custom<T: Send + 'static>(&self, key: &str) -> Result<T, TrackerError> {
        self.ask(UnregisterCustom::<T>::new(key)).await?
    }

    /// Tracks `child` and returns a guard that stops it when dropped.
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

    /// Stops everything within `deadline`; see the module doc.
    ///
    /// # Errors
    ///
    /// [`TrackerError::Closed`] if the tracker is gone.
    pub async fn cleanup_all(&self, deadline: Duration) -> Result<CleanupReport, TrackerError> {
        self.ask(CleanupAll { deadline }).await
    }

    /// Everything tracked, per kind, per key.
    ///
    /// # Errors
    ///
    /// [`TrackerError::Closed`] if the tracker is gone.
    pub async fn status(&self) -> Result<TrackerStatus, TrackerError> {
        self.ask(ReportStatus).await
    }

    /// SIGKILLs every tracked group and marked process now, synchronously:
    /// for a panic hook, when there is no time for anything gentler.
    pub fn kill_all_now(&self) {
        self.shared.kill_all_now(true);
    }

    /// Stops the actor (after killing whatever is still tracked).
    pub async fn shutdown(&self) {
        let _ = self.address.send(Shutdown).await;
    }
}

/// Stops its process (SIGTERM, then SIGKILL after [`GUARD_TIMEOUT`]) when
/// dropped. The stop runs on the tracker.
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
        self.tracker.address.do_send(CancelTask {
            key: std::mem::take(&mut self.key),
            timeout: GUARD_TIMEOUT,
        });
    }
}

#[cfg(test)]
mod tests;
