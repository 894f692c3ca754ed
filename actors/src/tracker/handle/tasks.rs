//! The tracker handle's methods for tasks, and [`TaskGuard`].

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::Tracker;
use crate::tracker::error::{Rejected, TrackerError};
use crate::tracker::status::TaskState;

impl Tracker {
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
    /// A refusal hands the handle back in its [`Rejected`]; `?` turns it
    /// into the [`TrackerError`] alone (the handle is then dropped and the
    /// task runs on, detached).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::{Tracker, TrackerError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_task("job", tokio::spawn(std::future::pending::<()>())).await?;
    /// let again = tracker.register_task("job", tokio::spawn(async {})).await.unwrap_err();
    /// assert!(again.item.is_some(), "the handle is handed back");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the handle, with [`TrackerError::DuplicateKey`]
    /// or [`TrackerError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: tracked at one poll, or not at all (the handle is then
    /// dropped and the task runs on, detached).
    pub async fn register_task<T: Send + 'static>(
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
        self.register_task(key.clone(), handle).await?;
        Ok(TaskGuard {
            tracker: self.clone(),
            key,
        })
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
