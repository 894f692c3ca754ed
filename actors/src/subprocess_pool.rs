//! A pool that bounds concurrent subprocess runs, every child tracked by
//! the [`Tracker`] so none outlives the program.
//!
//! Built from steward's parts: a [`Pool`] of run slots gives the bound,
//! first-come-first-served waiting, status and close; the tracker starts
//! each child in its own cgroup (or process group), reaps it, and stops it
//! (and its descendants) on close or shutdown.
//!
//! Like an application-wide pool, it can be created first, shared (e.g.
//! through the [`Registry`](crate::Registry)) and started later: a run
//! before [`start`](SubprocessPool::start) fails with
//! [`SubprocessError::NotStarted`], one after [`close`](SubprocessPool::close)
//! with [`SubprocessError::Closed`].
//!
//! # Examples
//!
//! ```
//! use std::process::Command;
//! use steward_actors::subprocess_pool::SubprocessPool;
//! use steward_actors::tracker::Tracker;
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::subprocess_pool::SubprocessError> {
//! let arbiter = actix::Arbiter::current();
//! let tracker = Tracker::start_in(&arbiter);
//! let pool = SubprocessPool::new("tools", 4);
//! pool.start(&tracker, &arbiter).await?;
//!
//! let mut echo = Command::new("echo");
//! echo.arg("hello");
//! let output = pool.run(echo).await?;
//! assert!(output.status.success());
//! assert_eq!(output.stdout, b"hello\n");
//!
//! pool.close().await;
//! assert!(pool.run(Command::new("true")).await.is_err());
//! # Ok(())
//! # }
//! ```

mod child;
mod error;
mod running;

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::ArbiterHandle;

pub use child::PooledChild;
pub use error::SubprocessError;

use crate::UserError;
use crate::pool::{Manager, Pool, PoolError, PoolStatus};
use crate::tracker::{ChildIo, CommandSpec, GUARD_TIMEOUT, Tracker};
use running::RunningSet;

/// The run slots of a subprocess pool: nothing to create but the right
/// to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Runners;

impl Manager for Runners {
    type Resource = ();

    async fn create(&self) -> Result<(), UserError> {
        Ok(())
    }
}

/// A bounded pool of subprocess runs: `Clone + Send + Sync`; clones share
/// one pool.
#[derive(Debug, Clone)]
pub struct SubprocessPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    max_concurrent: usize,
    started: OnceLock<Started>,
    closed: AtomicBool,
    next_run: AtomicU64,
    running: Arc<RunningSet>,
}

#[derive(Debug)]
struct Started {
    slots: Pool<Runners>,
    tracker: Tracker,
}

impl SubprocessPool {
    /// A pool named `name` that runs at most `max_concurrent` children at
    /// once; not started yet.
    #[must_use]
    pub fn new(name: impl Into<String>, max_concurrent: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                name: name.into(),
                max_concurrent,
                started: OnceLock::new(),
                closed: AtomicBool::new(false),
                next_run: AtomicU64::new(0),
                running: Arc::new(RunningSet::default()),
            }),
        }
    }

    /// The pool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Starts the pool: its slots' supervisor on `arbiter`, its children
    /// tracked by `tracker`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::subprocess_pool::SubprocessPool;
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::subprocess_pool::SubprocessError> {
    /// # let arbiter = actix::Arbiter::current();
    /// let pool = SubprocessPool::new("tools", 2);
    /// pool.start(&Tracker::start_in(&arbiter), &arbiter).await?;
    /// assert!(pool.start(&Tracker::start_in(&arbiter), &arbiter).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SubprocessError::AlreadyStarted`]; [`SubprocessError::Closed`];
    /// [`SubprocessError::Pool`] for a `max_concurrent` of 0.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the pool unstarted.
    pub async fn start(
        &self,
        tracker: &Tracker,
        arbiter: &ArbiterHandle,
    ) -> Result<(), SubprocessError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(self.closed());
        }
        if self.inner.started.get().is_some() {
            return Err(self.already_started());
        }
        let slots = Pool::builder(Runners)
            .name(self.inner.name.clone())
            .max_size(self.inner.max_concurrent)
            .wait_timeout(Some(Duration::from_secs(3600)))
            .start_in(arbiter)
            .await?;
        let started = Started {
            slots,
            tracker: tracker.clone(),
        };
        if let Err(lost) = self.inner.started.set(started) {
            lost.slots.close().await;
            return Err(self.already_started());
        }
        Ok(())
    }

    fn started(&self) -> Result<&Started, SubprocessError> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(self.closed());
        }
        self.inner
            .started
            .get()
            .ok_or_else(|| SubprocessError::NotStarted {
                pool: self.inner.name.clone(),
            })
    }

    fn closed(&self) -> SubprocessError {
        SubprocessError::Closed {
            pool: self.inner.name.clone(),
        }
    }

    fn already_started(&self) -> SubprocessError {
        SubprocessError::AlreadyStarted {
            pool: self.inner.name.clone(),
        }
    }

    /// Waits for a run slot, starts `command` with piped stdout and stderr
    /// (stdin: null) and returns its output once it has exited.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::process::Command;
    /// # use steward_actors::subprocess_pool::SubprocessPool;
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::subprocess_pool::SubprocessError> {
    /// # let arbiter = actix::Arbiter::current();
    /// # let pool = SubprocessPool::new("tools", 2);
    /// # pool.start(&Tracker::start_in(&arbiter), &arbiter).await?;
    /// let mut failing = Command::new("sh");
    /// failing.args(["-c", "echo oops >&2; exit 3"]);
    /// let output = pool.run(failing).await?;
    /// assert_eq!(output.status.code(), Some(3));
    /// assert_eq!(output.stderr, b"oops\n");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SubprocessError::NotStarted`]; [`SubprocessError::Closed`] (also
    /// when the pool closes while waiting); [`SubprocessError::Tracker`]
    /// when the command cannot start; [`SubprocessError::Io`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops the child (SIGTERM, then SIGKILL) and
    /// frees its slot.
    pub async fn run(&self, command: impl Into<CommandSpec>) -> Result<Output, SubprocessError> {
        let mut command = command.into();
        command
            .stdin(ChildIo::Null)
            .stdout(ChildIo::Piped)
            .stderr(ChildIo::Piped);
        let mut child = self.spawn(command).await?;
        child
            .wait_with_output()
            .await
            .map_err(|source| SubprocessError::Io {
                pool: self.inner.name.clone(),
                key: child.key.clone(),
                source: Arc::new(source),
            })
    }

    /// Waits for a run slot and starts `command` as it is set up (pipe
    /// what you want to read: `Stdio::piped()`); returns the running,
    /// tracked child with its pipes.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::process::{Command, Stdio};
    /// # use steward_actors::subprocess_pool::SubprocessPool;
    /// # use steward_actors::tracker::Tracker;
    /// use tokio::io::AsyncBufReadExt;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let arbiter = actix::Arbiter::current();
    /// # let pool = SubprocessPool::new("tools", 2);
    /// # pool.start(&Tracker::start_in(&arbiter), &arbiter).await?;
    /// let mut lines = Command::new("printf");
    /// lines.arg("a\nb\n").stdout(Stdio::piped());
    /// let mut child = pool.spawn(lines).await?;
    /// let mut reader = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    /// assert_eq!(reader.next_line().await?.as_deref(), Some("a"));
    /// assert_eq!(reader.next_line().await?.as_deref(), Some("b"));
    /// assert!(child.wait().await.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it returns frees the slot; a child
    /// already started is stopped.
    pub async fn spawn(
        &self,
        command: impl Into<CommandSpec>,
    ) -> Result<PooledChild, SubprocessError> {
        let started = self.started()?;
        let slot = started.slots.acquire().await.map_err(|error| match error {
            PoolError::Closed { .. } => self.closed(),
            other => SubprocessError::Pool(other),
        })?;
        let run = self.inner.next_run.fetch_add(1, Ordering::Relaxed);
        let key = format!("{}/run-{run}", self.inner.name);
        let running = self.inner.running.enter(&key);
        // The guard exists before the spawn: the tracker starts and
        // tracks the child at one poll, so if this future is dropped after
        // that, the guard's stop finds it tracked and stops it.
        let process = started.tracker.process_guard(key.clone());
        let spawned = started.tracker.spawn_piped(key.clone(), command).await?;
        let child = PooledChild::new(key, spawned, process, running, slot);
        // Closed while starting: `close` may have missed this one.
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(self.closed());
        }
        Ok(child)
    }

    /// The run slots' status: `in_use` is the number of running children.
    ///
    /// # Errors
    ///
    /// [`SubprocessError::NotStarted`]; [`SubprocessError::Closed`].
    pub fn status(&self) -> Result<PoolStatus, SubprocessError> {
        Ok(self.started()?.slots.status())
    }

    /// Whether [`close`](Self::close) has been called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Closes the pool: waiting runs fail with `Closed`, running children
    /// are stopped (SIGTERM to everything in their cgroup or group, SIGKILL after 5 s), later runs
    /// fail. Idempotent; an unstarted pool just becomes closed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::subprocess_pool::{SubprocessError, SubprocessPool};
    /// # use steward_actors::tracker::{CommandSpec, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), SubprocessError> {
    /// # let arbiter = actix::Arbiter::current();
    /// # let tracker = Tracker::start_in(&arbiter);
    /// let pool = SubprocessPool::new("sleepers", 2);
    /// pool.start(&tracker, &arbiter).await?;
    /// let mut sleeper = CommandSpec::new("sleep");
    /// sleeper.arg("300");
    /// let child = pool.spawn(sleeper).await?;
    /// pool.close().await; // stops the sleeper with its cgroup or group
    /// assert!(pool.is_closed());
    /// assert!(matches!(
    ///     pool.run(CommandSpec::new("true")).await,
    ///     Err(SubprocessError::Closed { .. })
    /// ));
    /// drop(child);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Admission stops at the first poll; dropping the future later stops
    /// waiting for the children to end (they are stopped anyway, by their
    /// runs' guards or the tracker's cleanup).
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let Some(started) = self.inner.started.get() else {
            return;
        };
        started.slots.close().await;
        let stops = self.inner.running.keys().into_iter().map(|key| {
            let tracker = started.tracker.clone();
            async move {
                // Already ended: nothing to stop.
                let _ = tracker.stop_process(&key, GUARD_TIMEOUT).await;
            }
        });
        futures::future::join_all(stops).await;
    }
}
