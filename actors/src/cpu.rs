//! CPU-bound work on a bounded worker pool, from async and sync code.
//!
//! The pool has `STEWARD_CPU_WORKERS` threads (default: available
//! parallelism). A job submitted from inside a job runs inline on the same
//! worker, so recursion never deadlocks, however few workers there are. A
//! panicking job is an error, not a crash, and the worker lives on. A
//! future dropped before its job starts skips the job. Optionally, the
//! number of queued jobs is bounded: when full, [`Cpu::run`] waits or
//! fails with [`CpuError::Saturated`].
//!
//! Jobs go straight to the pool (rayon): no mailbox hop. The
//! [`CpuScheduler`] actor owns the pool's lifecycle: `Ready` once its
//! workers are up, `Closing` and `Closed` at shutdown, read from the
//! handle without a message ([`Cpu::state`], [`Cpu::view`],
//! [`Cpu::subscribe`]).
//!
//! # Examples
//!
//! ```
//! use steward_actors::cpu::Cpu;
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::cpu::CpuError> {
//! let cpu = Cpu::start_in(&actix::Arbiter::current(), 2, None)?;
//! let sum = cpu.run(|| (1..=1_000_u64).sum::<u64>()).await?;
//! assert_eq!(sum, 500_500);
//!
//! let err = cpu.run(|| -> u64 { panic!("bad input") }).await.unwrap_err();
//! assert_eq!(err.to_string(), "CPU job panicked: bad input");
//! # Ok(())
//! # }
//! ```

mod counters;
mod error;
mod pool;
mod scheduler;

use std::sync::Arc;

use actix::{Actor, Addr, ArbiterHandle, Recipient};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, oneshot};

pub use error::CpuError;
pub use scheduler::{CpuScheduler, SubscribeCpuState};

use crate::Shutdown;
use crate::lifecycle::{Lifecycle, State, StateChanged, StateView};
use pool::Pool;

/// A bound on jobs queued and not yet finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBound {
    /// At most this many jobs queued or running at once.
    pub max_queued: usize,
    /// What [`Cpu::run`] does when the bound is reached.
    pub when_full: WhenFull,
}

/// What a submission does when the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for a slot (backpressure).
    Wait,
    /// Fail at once with [`CpuError::Saturated`] (load shedding).
    Reject,
}

/// The pool's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    /// Worker threads.
    pub workers: usize,
    /// Jobs submitted and not yet picked up.
    pub queued: usize,
    /// Jobs running now (inline ones included).
    pub running: usize,
    /// Jobs that returned a value.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs never run: their caller was gone, or the scheduler shut down.
    pub skipped: u64,
}

/// The handle of the CPU scheduler: `Clone + Send + Sync`.
#[derive(Clone)]
pub struct Cpu {
    pool: Arc<Pool>,
    scheduler: Addr<CpuScheduler>,
    view: StateView,
}

impl std::fmt::Debug for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cpu")
            .field("stats", &self.pool.stats())
            .finish_non_exhaustive()
    }
}

impl Cpu {
    /// Builds a pool of `workers` threads and starts its scheduler on
    /// `arbiter`.
    ///
    /// # Errors
    ///
    /// [`CpuError::Build`] if the threads cannot be started (or `workers`
    /// is 0).
    pub fn start_in(
        arbiter: &ArbiterHandle,
        workers: usize,
        queue: Option<QueueBound>,
    ) -> Result<Self, CpuError> {
        if workers == 0 {
            return Err(CpuError::Build {
                workers,
                reason: "a pool needs at least one worker".into(),
            });
        }
        if queue.is_some_and(|bound| bound.max_queued == 0) {
            return Err(CpuError::Build {
                workers,
                reason: "a queue bound of 0 admits no job".into(),
            });
        }
        let mut lifecycle = Lifecycle::new("cpu");
        lifecycle.advance_expected(State::Initializing, "starting the workers");
        let pool = Arc::new(Pool::new(workers, queue)?);
        lifecycle.advance_expected(State::Ready, "workers up");
        let view = lifecycle.view();
        let actor_pool = Arc::clone(&pool);
        let scheduler = CpuScheduler::start_in_arbiter(arbiter, move |_| {
            CpuScheduler::new(actor_pool, lifecycle)
        });
        Ok(Self {
            pool,
            scheduler,
            view,
        })
    }

    /// The scheduler's lifecycle state now (`Ready` until shutdown, then
    /// `Closed`); no mailbox hop.
    #[must_use]
    pub fn state(&self) -> State {
        self.view.state()
    }

    /// A cloneable view of the scheduler's state, to wait for one (see
    /// [`StateView::wait_for`]).
    #[must_use]
    pub fn view(&self) -> &StateView {
        &self.view
    }

    /// Every later [`StateChanged`] of the scheduler (`Closing`, then
    /// `Closed`, at shutdown).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        self.view.subscribe()
    }

    /// Delivers the scheduler's later lifecycle moves to an actor.
    pub fn subscribe_recipient(&self, recipient: Recipient<StateChanged>) {
        // Lost only when the scheduler is gone: then no move would come.
        self.scheduler.do_send(SubscribeCpuState(recipient));
    }

    /// The scheduler actor's address, for an application's actors.
    #[must_use]
    pub fn address(&self) -> &Addr<CpuScheduler> {
        &self.scheduler
    }

    /// Runs `job` on the pool and returns its value.
    ///
    /// Called from a job of this pool, `job` runs inline at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::cpu::Cpu;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::cpu::CpuError> {
    /// # let cpu = Cpu::start_in(&actix::Arbiter::current(), 1, None)?;
    /// let data = vec![3_u8; 1 << 20];
    /// let checksum = cpu.run(move || data.iter().map(|&b| u64::from(b)).sum::<u64>()).await?;
    /// assert_eq!(checksum, 3 << 20);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`CpuError::Panicked`] if `job` panics; [`CpuError::Saturated`] when
    /// a rejecting queue bound is reached; [`CpuError::Closed`] after
    /// shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before a worker picks the job up skips the job;
    /// dropped after, the job runs to its end and its value is discarded.
    pub async fn run<F, T>(&self, job: F) -> Result<T, CpuError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.pool.on_worker() {
            return pool::run_here(job);
        }
        self.pool.check_open()?;
        // Boxed, and only with a bound: the waiting state is large, and
        // unbounded pools (the default) should not carry it in every future.
        let slot = if self.pool.is_bounded() {
            Box::pin(self.pool.slot()).await?
        } else {
            None
        };
        let (reply, result) = oneshot::channel();
        self.pool.submit(job, reply, slot);
        // A dropped sender means the job was skipped at shutdown.
        result.await.unwrap_or(Err(CpuError::Closed))
    }

    /// Runs `job` on the pool from synchronous code, blocking the caller
    /// until it is done. `job` may borrow from the caller.
    ///
    /// Called from a job of this pool, `job` runs inline, so recursion
    /// works with a single worker. Do not call it on an async runtime's
    /// thread; use [`run`](Self::run) there. The queue bound does not
    /// apply: a blocked caller is its own backpressure.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::cpu::Cpu;
    /// # let system = actix::System::new();
    /// # let cpu = system.block_on(async { Cpu::start_in(&actix::Arbiter::current(), 1, None) })?;
    /// fn fib(cpu: &Cpu, n: u64) -> u64 {
    ///     if n < 2 { return n; }
    ///     let a = cpu.run_blocking(|| fib(cpu, n - 1)).unwrap();
    ///     let b = cpu.run_blocking(|| fib(cpu, n - 2)).unwrap();
    ///     a + b
    /// }
    /// assert_eq!(fib(&cpu, 20), 6765);
    /// # Ok::<(), steward_actors::cpu::CpuError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CpuError::Panicked`] if `job` panics; [`CpuError::Closed`] after
    /// shutdown.
    pub fn run_blocking<F, T>(&self, job: F) -> Result<T, CpuError>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        if self.pool.on_worker() {
            return pool::run_here(job);
        }
        self.pool.check_open()?;
        self.pool.install(job)
    }

    /// The pool's counters now.
    #[must_use]
    pub fn stats(&self) -> CpuStats {
        self.pool.stats()
    }

    /// Stops admitting jobs; queued jobs are skipped (their callers get
    /// [`CpuError::Closed`]), running ones finish.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::cpu::{Cpu, CpuError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), CpuError> {
    /// let cpu = Cpu::start_in(&actix::Arbiter::current(), 1, None)?;
    /// assert_eq!(cpu.run(|| 2 + 2).await?, 4);
    /// cpu.shutdown().await;
    /// assert!(matches!(cpu.run(|| 2 + 2).await, Err(CpuError::Closed)));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the scheduler running; call again.
    pub async fn shutdown(&self) {
        self.pool.close();
        // An actor already gone has closed the pool.
        let _ = self.scheduler.send(Shutdown).await;
    }
}

#[cfg(test)]
mod tests;
