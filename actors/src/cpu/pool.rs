//! The worker pool and its counters, shared by the actor and the handles.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::{CpuError, CpuStats, QueueBound, WhenFull};
use crate::panic_message::panic_message;

/// Stack of each worker. Recursion runs inline on the worker's stack, so it
/// is larger than std's 2 MiB default; it is only reserved, not committed.
const WORKER_STACK_BYTES: usize = 64 << 20;

/// The pool, its optional queue bound and its counters.
pub(crate) struct Pool {
    threads: rayon::ThreadPool,
    queue: Option<(Arc<Semaphore>, QueueBound)>,
    closed: AtomicBool,
    queued: AtomicUsize,
    running: AtomicUsize,
    completed: AtomicU64,
    panicked: AtomicU64,
    skipped: AtomicU64,
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
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .stack_size(WORKER_STACK_BYTES)
            .thread_name(|index| format!("steward-cpu-{index}"))
            .build()
            .map_err(|err| CpuError::Build {
                workers,
                reason: err.to_string(),
            })?;
        Ok(Self {
            threads,
            queue: queue.map(|bound| (Arc::new(Semaphore::new(bound.max_queued)), bound)),
            closed: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        })
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn on_worker(&self) -> bool {
        self.threads.current_thread_index().is_some()
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some((slots, _)) = &self.queue {
            slots.close();
        }
    }

    pub(crate) fn check_open(&self) -> Result<(), CpuError> {
        if self.closed.load(Ordering::Acquire) {
            Err(CpuError::Closed)
        } else {
            Ok(())
        }
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
        self.queued.fetch_add(1, Ordering::Relaxed);
        let pool = Arc::clone(self);
        self.threads.spawn(move || {
            let _slot = slot;
            pool.queued.fetch_sub(1, Ordering::Relaxed);
            // Nobody waits for the result, or the scheduler shut down (the
            // dropped `reply` tells the waiter `Closed`): skip the job.
            if reply.is_closed() || pool.closed.load(Ordering::Acquire) {
                pool.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            // The receiver may go between this check and the send; the job
            // then ran for nothing, which is all a race here can cost.
            let _ = reply.send(pool.run_here(job));
        });
    }

    /// Runs `job` on this pool, blocking the caller until it is done.
    pub(crate) fn install<F, T>(&self, job: F) -> Result<T, CpuError>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        self.threads.install(|| self.run_here(job))
    }

    /// Runs `job` on the calling thread, counting it and catching a panic.
    pub(crate) fn run_here<F: FnOnce() -> T, T>(&self, job: F) -> Result<T, CpuError> {
        self.running.fetch_add(1, Ordering::Relaxed);
        let result = catch_unwind(AssertUnwindSafe(job));
        self.running.fetch_sub(1, Ordering::Relaxed);
        match result {
            Ok(value) => {
                self.completed.fetch_add(1, Ordering::Relaxed);
                Ok(value)
            }
            Err(payload) => {
                self.panicked.fetch_add(1, Ordering::Relaxed);
                let message = panic_message(&*payload);
                tracing::warn!(target: "steward::cpu", %message, "CPU job panicked");
                Err(CpuError::Panicked { message })
            }
        }
    }

    pub(crate) fn stats(&self) -> CpuStats {
        CpuStats {
            workers: self.threads.current_num_threads(),
            queued: self.queued.load(Ordering::Relaxed),
            running: self.running.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            panicked: self.panicked.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}
