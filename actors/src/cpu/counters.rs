//! The pool's counters, laid out so that jobs do not contend on them.
//!
//! Each worker counts in a cache line of its own, found through a
//! thread-local set when the worker starts, so a job touches no shared
//! counter and no shared reference count; only submitters share the
//! `submitted` line. Reading the stats sums the lines.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::CpuStats;

/// Keeps a value on a cache line (pair) of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// What one worker did. Only that worker writes these, so a count is a
/// plain load and store (no locked read-modify-write); readers may see a
/// count a moment late.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) started: AtomicU64,
    /// Of `started`, those run inline (`run_blocking`, nested calls): never
    /// submitted to the queue.
    pub(crate) inline: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) skipped: AtomicU64,
}

/// Adds one to a counter only the calling thread writes.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

/// Everything counted about a pool, and whether it is closed.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) closed: AtomicBool,
    submitted: Padded<AtomicU64>,
    workers: Box<[Padded<WorkerCounters>]>,
}

thread_local! {
    /// The counters of the pool this thread is a worker of, and its index.
    static WORKER: RefCell<Option<(Arc<Counters>, usize)>> = const { RefCell::new(None) };
}

impl Counters {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            closed: AtomicBool::new(false),
            submitted: Padded::default(),
            workers: (0..workers).map(|_| Padded::default()).collect(),
        }
    }

    /// Registers the calling thread as worker `index` of this pool.
    pub(crate) fn enter_worker(self: &Arc<Self>, index: usize) {
        WORKER.with_borrow_mut(|worker| *worker = Some((Arc::clone(self), index)));
    }

    pub(crate) fn submitted(&self) {
        self.submitted.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `count` on the calling worker's counters and the pool's, if the
    /// caller is a worker (it always is where jobs run).
    pub(crate) fn on_this_worker<R>(
        count: impl FnOnce(&WorkerCounters, &Counters) -> R,
    ) -> Option<R> {
        WORKER.with_borrow(|worker| {
            let (counters, index) = worker.as_ref()?;
            Some(count(&counters.workers.get(*index)?.0, counters))
        })
    }

    pub(crate) fn stats(&self) -> CpuStats {
        let sum = |field: fn(&WorkerCounters) -> &AtomicU64| -> u64 {
            self.workers
                .iter()
                .map(|worker| field(&worker.0).load(Ordering::Relaxed))
                .sum()
        };
        let (started, inline, completed, panicked, skipped) = (
            sum(|w| &w.started),
            sum(|w| &w.inline),
            sum(|w| &w.completed),
            sum(|w| &w.panicked),
            sum(|w| &w.skipped),
        );
        let submitted = self.submitted.0.load(Ordering::Relaxed);
        // Read at slightly different moments: clamp rather than underflow.
        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        CpuStats {
            workers: self.workers.len(),
            queued: to_usize(submitted.saturating_sub(started.saturating_sub(inline) + skipped)),
            running: to_usize(started.saturating_sub(completed + panicked)),
            completed,
            panicked,
            skipped,
        }
    }
}
