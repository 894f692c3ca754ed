//! [`Steward`]: the running framework and its shutdown.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use actix::ArbiterHandle;
use steward_actors::monitor::MonitorOptions;
use steward_actors::pool::{Manager, Pool, PoolBuilder, PoolStatus};
use steward_actors::subprocess_pool::SubprocessPool;
use steward_actors::tracker::{Containment, Tracker};
use steward_actors::{Config, Cpu, Drives, Monitor, Registry};
use tokio::sync::OnceCell;

use crate::block_on::block_on;
use crate::signals::Released;
use crate::system_thread::SystemThread;
use crate::{Error, StewardBuilder, SystemError};

/// Where steward's actors run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeContext {
    /// In the actix System that was running when `start` was called.
    ActixSystem,
    /// In steward's own System, on its `steward-system` thread.
    BackgroundThread,
}

/// The running framework: steward's actors and their handles.
///
/// `Clone + Send + Sync`; clones share one framework. It shuts down when
/// [`shutdown`](Self::shutdown) is called or the last clone is dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use steward::Steward;
///
/// #[tokio::main]
/// async fn main() -> Result<(), steward::Error> {
///     let steward = Steward::builder().start()?;
///     steward.registry().register(Arc::new(String::from("hello"))).await?;
///     assert_eq!(*steward.registry().resolve::<String>()?, "hello");
///     steward.shutdown().await?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Steward {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: Config,
    actors: Actors,
    arbiter: ArbiterHandle,
    /// `Some` when steward runs its own System.
    own_system: Option<SystemThread>,
    /// Set once shutdown has finished; later calls return its result.
    shutdown: OnceCell<Result<(), SystemError>>,
    /// Released at shutdown: caught signals act as if never caught.
    released: Released,
}

/// Closes one pool at shutdown.
type Closer = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Reads one pool's status, for `/status` and the metrics (`None` once it
/// cannot say).
type StatusReader = Box<dyn Fn() -> Option<PoolStatus> + Send + Sync>;

/// The pools to close at shutdown, in the order they were added, and how
/// to read each one's status.
#[derive(Default, Clone)]
pub(crate) struct Pools(Arc<Mutex<Vec<Closer>>>, Arc<Mutex<Vec<StatusReader>>>);

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Pools").field("count", &count).finish()
    }
}

impl Pools {
    fn add(&self, closer: Closer) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(closer);
    }

    fn add_status(&self, reader: StatusReader) {
        self.1
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reader);
    }

    /// Every pool's status, in the order the pools were added.
    pub(crate) fn statuses(&self) -> Vec<PoolStatus> {
        let readers = self.1.lock().unwrap_or_else(PoisonError::into_inner);
        readers.iter().filter_map(|read| read()).collect()
    }

    /// Closes every pool at once: each close is bounded by the pool's own
    /// destroy timeout, the whole by the shutdown timeout.
    async fn close_all(&self) {
        let closing: Vec<_> = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|close| close())
            .collect();
        futures::future::join_all(closing).await;
    }
}

/// Steward's actors, by handle.
#[derive(Debug, Clone)]
pub(crate) struct Actors {
    monitor: Monitor,
    registry: Registry,
    drives: Drives,
    cpu: Cpu,
    tracker: Tracker,
    pools: Pools,
    resources: resources::Resources,
    supervisors: status::Supervisors,
    alerts: status::AlertLog,
    #[cfg(feature = "observe")]
    history: status::ReadingHistory,
    sections: status::Sections,
    #[cfg(feature = "observe")]
    pub(crate) endpoints: crate::observe::Endpoints,
}

impl Actors {
    /// DESIGN.md's order: stop watching the machine, stop admitting work,
    /// close pools, clean up the tracker within most of the budget, drop
    /// services.
    async fn stop(&self, budget: std::time::Duration) {
        #[cfg(feature = "observe")]
        self.endpoints.stop_all(budget.mul_f64(0.1)).await;
        // Supervised children stop while what they use still works.
        if tokio::time::timeout(budget.mul_f64(0.1), self.supervisors.stop_all())
            .await
            .is_err()
        {
            tracing::warn!(target: "steward", "supervisors did not stop in their share of the shutdown budget");
        }
        self.monitor.shutdown().await;
        self.drives.shutdown().await;
        self.cpu.shutdown().await;
        // Pools get their own share: a destroy that hangs must not use up
        // the time the tracker needs to stop child processes.
        let share = budget.mul_f64(0.15);
        let closing =
            futures::future::join(self.pools.close_all(), self.resources.close_all(share));
        if tokio::time::timeout(share, closing).await.is_err() {
            tracing::warn!(target: "steward", "pools and managed resources did not close in their share of the shutdown budget");
        }
        match self.tracker.cleanup_all(budget.mul_f64(0.7)).await {
            Ok(report) if !report.failed.is_empty() => {
                tracing::warn!(target: "steward", failed = ?report.failed, "some tracked resources failed to clean up");
            }
            _ => {}
        }
        self.tracker.shutdown().await;
        self.registry.shutdown().await;
    }
}

impl Steward {
    /// A builder with the default configuration.
    pub fn builder() -> StewardBuilder {
        StewardBuilder::default()
    }

    /// Starts with the default configuration overridden by `STEWARD_*`
    /// environment variables: `Steward::builder().from_env().start()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let steward = steward::Steward::start()?;
    /// assert!(steward.config().cpu_workers() >= 1);
    /// # steward.shutdown_blocking()?;
    /// # Ok::<(), steward::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`StewardBuilder::start`].
    pub fn start() -> Result<Self, Error> {
        Self::builder().from_env().start()
    }

    pub(crate) fn launch(
        config: Config,
        monitor: MonitorOptions,
        containment: Containment,
    ) -> Result<Self, Error> {
        // A System counts as running only where a runtime drives this
        // thread: `System::new()` alone sets a current System that nothing
        // runs until `block_on`/`run`, and actors put there would not start.
        let running = actix_rt::System::try_current()
            .filter(|_| tokio::runtime::Handle::try_current().is_ok());
        Self::launch_in(config, monitor, running, containment)
    }

    /// Starts on a `steward-system` thread even inside an actix System.
    pub(crate) fn launch_own_system(config: Config) -> Result<Self, Error> {
        Self::launch_in(config, MonitorOptions::default(), None, Containment::Auto)
    }

    fn launch_in(
        config: Config,
        monitor: MonitorOptions,
        running: Option<actix_rt::System>,
        containment: Containment,
    ) -> Result<Self, Error> {
        let (arbiter, own_system) = match running {
            Some(system) => (system.arbiter().clone(), None),
            None => {
                let thread = SystemThread::spawn(config.shutdown_timeout())?;
                (thread.arbiter().clone(), Some(thread))
            }
        };
        let started = Cpu::start_in(&arbiter, config.cpu_workers(), config.cpu_queue())
            .map_err(Error::from)
            .and_then(|cpu| Ok((cpu, Drives::start_in(&arbiter, &config)?)))
            .and_then(|(cpu, drives)| {
                Ok((
                    cpu,
                    drives,
                    Monitor::start_with(&arbiter, &config, monitor)?,
                ))
            })
            .and_then(|(cpu, drives, monitor)| {
                let tracker = Tracker::builder()
                    .containment(containment)
                    .start_in(&arbiter)?;
                Ok((cpu, drives, monitor, tracker))
            });
        let (cpu, drives, monitor, tracker) = match started {
            Ok(parts) => parts,
            Err(err) => {
                // Nothing holds the actors yet: stopping our System (if
                // any) drops them.
                if let Some(system) = &own_system {
                    system.stop();
                }
                return Err(err);
            }
        };
        let actors = Actors {
            monitor,
            registry: Registry::start_in(&arbiter),
            drives,
            cpu,
            tracker,
            pools: Pools::default(),
            resources: resources::Resources::default(),
            supervisors: status::Supervisors::default(),
            alerts: status::AlertLog::default(),
            #[cfg(feature = "observe")]
            history: status::ReadingHistory::default(),
            sections: status::Sections::default(),
            #[cfg(feature = "observe")]
            endpoints: crate::observe::Endpoints::default(),
        };
        actors.alerts.follow(&actors.monitor, &arbiter);
        #[cfg(feature = "observe")]
        actors.history.follow(&actors.monitor, &arbiter);
        let steward = Self {
            inner: Arc::new(Inner {
                config,
                actors,
                arbiter,
                own_system,
                shutdown: OnceCell::new(),
                released: Released::default(),
            }),
        };
        tracing::info!(
            target: "steward",
            context = ?steward.runtime_context(),
            cpu_workers = steward.inner.config.cpu_workers(),
            default_io_limit = steward.inner.config.default_io_limit(),
            "steward started"
        );
        Ok(steward)
    }

    /// The configuration steward runs with.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The service registry.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.inner.actors.registry
    }

    /// The per-drive IO limits.
    #[must_use]
    pub fn drives(&self) -> &Drives {
        &self.inner.actors.drives
    }

    /// The CPU pool.
    #[must_use]
    pub fn cpu(&self) -> &Cpu {
        &self.inner.actors.cpu
    }

    /// The resource tracker: child processes, tasks, custom resources.
    #[must_use]
    pub fn tracker(&self) -> &Tracker {
        &self.inner.actors.tracker
    }

    /// The monitor: system readings, thresholds, alerts, availability.
    #[must_use]
    pub fn monitor(&self) -> &Monitor {
        &self.inner.actors.monitor
    }

    /// Starts a pool on steward's arbiter and closes it at shutdown
    /// (after admission stops, before the tracker's cleanup).
    ///
    /// # Examples
    ///
    /// ```
    /// use steward::pool::{Manager, Pool};
    /// use steward::UserError;
    ///
    /// struct Sessions;
    /// impl Manager for Sessions {
    ///     type Resource = u64;
    ///     async fn create(&self) -> Result<u64, UserError> { Ok(42) }
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), steward::Error> {
    ///     let steward = steward::Steward::builder().start()?;
    ///     let pool = steward.start_pool(Pool::builder(Sessions).max_size(4)).await?;
    ///     assert_eq!(*pool.acquire().await?, 42);
    ///     steward.shutdown().await?;
    ///     assert!(pool.is_closed());
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Pool`] as [`PoolBuilder::start_in`].
    ///
    /// # Cancel safety
    ///
    /// As [`PoolBuilder::start_in`]; a pool whose start was dropped is
    /// not closed at shutdown (it is dropped with its last handle).
    pub async fn start_pool<M: Manager>(&self, builder: PoolBuilder<M>) -> Result<Pool<M>, Error> {
        let pool = builder.start_in(&self.inner.arbiter).await?;
        self.close_on_shutdown(&pool);
        Ok(pool)
    }

    /// Closes `pool` at shutdown, with the pools steward started. Steward
    /// holds it weakly: a pool the application dropped is not kept alive.
    pub fn close_on_shutdown<M: Manager>(&self, pool: &Pool<M>) {
        let reading = pool.downgrade();
        self.inner.actors.pools.add_status(Box::new(move || {
            reading.upgrade().map(|pool| pool.status())
        }));
        let pool = pool.downgrade();
        self.inner.actors.pools.add(Box::new(move || {
            let pool = pool.upgrade();
            Box::pin(async move {
                if let Some(pool) = pool {
                    pool.close().await;
                }
            })
        }));
    }

    /// Starts a [`SubprocessPool`] of at most `max_concurrent` children,
    /// tracked by steward's tracker, closed at shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// let tools = steward.start_subprocess_pool("tools", 4).await?;
    /// let output = tools.run(std::process::Command::new("true")).await?;
    /// assert!(output.status.success());
    /// steward.shutdown().await?;
    /// assert!(tools.is_closed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Subprocess`] as [`SubprocessPool::start`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the pool unstarted.
    pub async fn start_subprocess_pool(
        &self,
        name: impl Into<String>,
        max_concurrent: usize,
    ) -> Result<SubprocessPool, Error> {
        let pool = SubprocessPool::new(name, max_concurrent);
        pool.start(self.tracker(), &self.inner.arbiter).await?;
        let reading = pool.clone();
        self.inner
            .actors
            .pools
            .add_status(Box::new(move || reading.status().ok()));
        let closing = pool.clone();
        self.on_pool_shutdown(move || {
            let pool = closing.clone();
            async move { pool.close().await }
        });
        Ok(pool)
    }

    /// Runs `close` at shutdown, with the pools: for pools built on
    /// [`Pool`] that close more than it (the subprocess pool).
    pub fn on_pool_shutdown<F, Fut>(&self, close: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner
            .actors
            .pools
            .add(Box::new(move || Box::pin(close())));
    }

    /// The arbiter steward's actors run on, for starting an application's
    /// own actors beside them (`Actor::start_in_arbiter`).
    #[must_use]
    pub fn arbiter(&self) -> &ArbiterHandle {
        &self.inner.arbiter
    }

    /// Where steward's actors run.
    #[must_use]
    pub fn runtime_context(&self) -> RuntimeContext {
        match self.inner.own_system {
            Some(_) => RuntimeContext::BackgroundThread,
            None => RuntimeContext::ActixSystem,
        }
    }

    /// Whether shutdown has finished.
    #[must_use]
    pub fn is_shut_down(&self) -> bool {
        self.inner.shutdown.initialized()
    }

    /// Stops steward, in order: stop the observation endpoints and the
    /// supervisors started through steward (a tenth of the timeout each),
    /// stop the monitor, stop admitting work (IO
    /// waiters and queued CPU jobs fail with `Closed`), close the pools
    /// started or registered through steward and the managed resources
    /// (15 % of the timeout), stop every tracked process, task and custom
    /// resource (`cleanup_all` within 70 % of the timeout), drop
    /// registered services (newest first), stop steward's own System if it
    /// has one. An
    /// actix System steward joined keeps running.
    ///
    /// Idempotent: concurrent and later calls wait for the first and return
    /// its result. Needs a tokio runtime with timers (any actix System,
    /// `#[tokio::main]`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// steward.shutdown().await?;
    /// steward.shutdown().await?; // a second call returns the first's result
    /// assert!(steward.registry().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SystemError::ShutdownTimedOut`] when it takes longer than the
    /// configured shutdown timeout.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops waiting; the steps already begun go on.
    /// A later call runs the steps again (each is idempotent) under a fresh
    /// timeout, so the time spent in all can exceed one timeout.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let inner = &self.inner;
        inner
            .shutdown
            .get_or_init(|| inner.shut_down())
            .await
            .clone()
            .map_err(Error::from)
    }

    /// [`shutdown`](Self::shutdown) for synchronous code.
    ///
    /// # Examples
    ///
    /// ```
    /// let steward = steward::Steward::builder().start()?;
    /// steward.shutdown_blocking()?;
    /// assert!(steward.is_shut_down());
    /// # Ok::<(), steward::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Self::shutdown), and
    /// [`SystemError::BlockingInsideRuntime`] when called on a thread that
    /// runs an async runtime.
    pub fn shutdown_blocking(&self) -> Result<(), Error> {
        block_on("Steward::shutdown_blocking", self.shutdown())?
    }

    /// Runs `future` to completion on the calling thread, for synchronous
    /// programs that use steward's async handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let steward = steward::Steward::builder().start()?;
    /// steward.block_on(steward.registry().register(Arc::new(7_u32)))??;
    /// assert_eq!(*steward.registry().resolve::<u32>()?, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`SystemError::BlockingInsideRuntime`] when called on a thread that
    /// runs an async runtime (`.await` there instead);
    /// [`SystemError::Runtime`] if no runtime can be built.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output, Error> {
        block_on("Steward::block_on", future).map_err(Error::from)
    }
}

impl Steward {
    #[cfg(feature = "observe")]
    pub(crate) fn actors(&self) -> &Actors {
        &self.inner.actors
    }

    pub(crate) fn inner_arc(&self) -> Arc<Inner> {
        Arc::clone(&self.inner)
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }
}

impl Inner {
    pub(crate) fn released(&self) -> &Released {
        &self.released
    }

    /// Stops the actors (not the System: the caller runs on it and is
    /// about to exit the process), bounded by the shutdown timeout.
    pub(crate) async fn stop_actors_for_exit(&self) -> Result<(), SystemError> {
        let timeout = self.config.shutdown_timeout();
        tokio::time::timeout(timeout, self.actors.stop(timeout))
            .await
            .map_err(|_| SystemError::ShutdownTimedOut { timeout })
    }

    async fn shut_down(&self) -> Result<(), SystemError> {
        let timeout = self.config.shutdown_timeout();
        tracing::info!(target: "steward", ?timeout, "steward shutting down");
        let steps = async {
            self.actors.stop(timeout).await;
            if let Some(system) = &self.own_system {
                system.stop_and_wait().await;
            }
        };
        let result = tokio::time::timeout(timeout, steps)
            .await
            .map_err(|_| SystemError::ShutdownTimedOut { timeout });
        self.released.release();
        match &result {
            Ok(()) => tracing::info!(target: "steward", "steward shut down"),
            Err(err) => {
                tracing::error!(target: "steward", %err, "steward shutdown incomplete");
                // Whatever overran, the System must not outlive shutdown:
                // ask it to stop; its thread ends once the stuck step does.
                if let Some(system) = &self.own_system {
                    system.stop();
                }
            }
        }
        result
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.shutdown.initialized() {
            return;
        }
        if tokio::runtime::Handle::try_current().is_err() {
            // Synchronous code: shut down fully before returning.
            match block_on("Steward drop", self.shut_down()) {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(target: "steward", %err, "shutdown on drop failed"),
                Err(err) => {
                    tracing::error!(target: "steward", %err, "shutdown on drop could not run")
                }
            }
            return;
        }
        // On an async runtime's thread a drop must not block, and the
        // program may exit right after it (main returning): kill tracked
        // processes now, synchronously, then hand the rest of the ordered
        // shutdown to steward's arbiter. `shutdown().await` is the graceful
        // way.
        self.actors.tracker.kill_all_now();
        self.released.release();
        tracing::debug!(target: "steward", "last handle dropped in async code; shutting down in the background");
        let actors = self.actors.clone();
        let budget = self.config.shutdown_timeout();
        let stop_own_system = self.own_system.is_some();
        self.arbiter.spawn(async move {
            actors.stop(budget).await;
            if stop_own_system {
                actix_rt::System::current().stop();
            }
        });
    }
}

mod resources;
mod status;
pub use resources::ManagedStatus;
#[cfg(feature = "observe")]
pub(crate) use status::HistoryPoint;
pub use status::{RECENT_ALERTS, StewardStatus, SupervisorStatus};
#[cfg(test)]
mod tests;
