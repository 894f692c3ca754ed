//! The worker pool and its counters, shared by the actor and the handles.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::counters::{Counters, WorkerCounters, bump};
use super::{CpuError, CpuStats, QueueBound, WhenFull};
use crate::panic_message::panic_message;

/// Stack of each worker. Recursion runs inline on the worker's stack, so it
/// is larger than std's 2 MiB default; it is only reserved, not committed.
const WORKER_STACK_BYTES: usize = 64 << 20;

/// The pool, its optional queue bound and its counters.
pub(crate) struct Pool {
    threads: rayon::ThreadPool,
    queue: Option<(Arc<Semaphore>, QueueBound)>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.threads.current_num_threads())
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(crate) fn new(workers: usize, queue: Option<QueueBound>) -> Result<Self, CpuError> {
        let counters = Arc::new(Counters::new(workers));
        let worker_counters = Arc::clone(&counters);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .stack_size(WORKER_STACK_BYTES)
            .thread_name(|index| format!("steward-cpu-{index}"))
            .start_handler(move |index| worker_counters.enter_worker(index))
            .build()
            .map_err(|err| CpuError::Build {
                workers,
                reason: err.to_string(),
            })?;
        Ok(Self {
            threads,
            queue: queue.map(|bound| (Arc::new(Semaphore::new(bound.max_queued)), bound)),
            counters,
        })
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn on_worker(&self) -> bool {
        self.threads.current_thread_index().is_some()
    }

    pub(crate) fn close(&self) {
        self.counters.closed.store(true, Ordering::Release);
        if let Some((slots, _)) = &self.queue {
            slots.close();
        }
    }

    pub(crate) fn check_open(&self) -> Result<(), CpuError> {
        if self.counters.closed.load(Ordering::Acquire) {
            Err(CpuError::Closed)
        } else {
            Ok(())
        }
    }

    /// Whether queued jobs are bounded.
    pub(crate) fn is_bounded(&self) -> bool {
        self.queue.is_some()
    }

    /// A queue slot, when the pool has a bound: waits or fails when full.
    pub(crate) async fn slot(&self) -> Result<Option<OwnedSemaphorePermit>, CpuError> {
        let Some((slots, bound)) = &self.queue else {
            return Ok(None);
        };
        match bound.when_full {
            WhenFull::Wait => Arc::clone(slots)
                .acquire_owned()
                .await
                .map(Some)
                .map_err(|_| CpuError::Closed),
            WhenFull::Reject => match Arc::clone(slots).try_acquire_owned() {
                Ok(slot) => Ok(Some(slot)),
                Err(tokio::sync::TryAcquireError::NoPermits) => Err(CpuError::Saturated {
                    max_queued: bound.max_queued,
                }),
                Err(tokio::sync::TryAcquireError::Closed) => Err(CpuError::Closed),
            },
        }
    }

    /// Queues `job`; its result goes to `reply`. If `reply`'s receiver is
    /// gone by the time a worker picks the job up, the job is skipped.
    pub(crate) fn submit<F, T>(
        self: &Arc<Self>,
        job: F,
        reply: oneshot::Sender<Result<T, CpuError>>,
        slot: Option<OwnedSemaphorePermit>,
    ) where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.counters.submitted();
        // The job captures no handle to the pool: the worker finds its
        // counters itself (see `counters`), so no reference count bounces
        // between threads per job.
        self.threads.spawn(move || {
            // Everything of the job's is dropped inside: a value nobody
            // receives, or a skipped job's captures, may panic in `Drop`,
            // and a panic escaping a rayon job aborts the process.
            let outcome = catch_unwind(AssertUnwindSafe(move || {
                let _slot = slot;
                // One thread-local lookup per job. Off a worker (never, in
                // practice) the job is dropped and its waiter told `Closed`.
                Counters::on_this_worker(|worker, pool| {
                    // Nobody waits for the result, or the scheduler shut
                    // down (the dropped `reply` tells the waiter `Closed`).
                    if reply.is_closed() || pool.closed.load(Ordering::Acquire) {
                        bump(&worker.skipped);
                        return;
                    }
                    // The receiver may go between this check and the send;
                    // the job then ran for nothing, all a race can cost.
                    let _ = reply.send(run_counted(worker, job));
                });
            }));
            if outcome.is_err() {
                tracing::error!(target: "steward::cpu", "a CPU job's value or captures panicked when dropped");
            }
        });
    }

    /// Runs `job` on this pool, blocking the caller until it is done.
    pub(crate) fn install<F, T>(&self, job: F) -> Result<T, CpuError>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.threads.install(|| run_here(job))
    }

    pub(crate) fn stats(&self) -> CpuStats {
        self.counters.stats()
    }
}

/// Runs `job` on the calling worker, counting it and catching a panic.
pub(crate) fn run_here<F: FnOnce() -> T, T>(job: F) -> Result<T, CpuError> {
    let mut job = Some(job);
    Counters::on_this_worker(|worker, _| {
        bump(&worker.inline);
        job.take().map(|job| run_counted(worker, job))
    })
    .flatten()
    // Not a worker of any steward pool: run uncounted.
    .unwrap_or_else(|| job.take().map_or(Err(CpuError::Closed), catch))
}

fn run_counted<F: FnOnce() -> T, T>(worker: &WorkerCounters, job: F) -> Result<T, CpuError> {
    bump(&worker.started);
    let outcome = catch(job);
    bump(if outcome.is_ok() {
        &worker.completed
    } else {
        &worker.panicked
    });
    outcome
}

fn catch<F: FnOnce() -> T, T>(job: F) -> Result<T, CpuError> {
    catch_unwind(AssertUnwindSafe(job)).map_err(|payload| {
        let message = panic_message(&*payload);
        tracing::warn!(target: "steward::cpu", %message, "CPU job panicked");
        CpuError::Panicked { message }
    })
}
