//! [`Tracker`], the handle, and the guards it hands out.

use std::sync::Arc;
use std::time::Duration;

use actix::Addr;
use tokio::runtime::Handle;

use super::ResourceTracker;
use super::error::{Rejected, TrackerError};
use super::messages::{CleanupAll, CurrentRuntime, ReportTrackerStatus};
use super::options::Containment;
use super::status::{CleanupReport, TrackerCounts, TrackerStatus};
use super::table::TrackerState;
use crate::Shutdown;

mod custom;
mod processes;
mod tasks;

pub use processes::ProcessGuard;
pub use tasks::TaskGuard;

/// The handle of the resource tracker: `Clone + Send + Sync`.
#[derive(Clone)]
pub struct Tracker {
    pub(crate) address: Addr<ResourceTracker>,
    pub(crate) shared: Arc<TrackerState>,
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
        self.ask(ReportTrackerStatus).await
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
