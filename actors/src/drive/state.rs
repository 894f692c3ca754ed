//! One drive's shared state: the semaphore the hot path takes permits
//! from, the limit the actor changes, and the statistics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::mountinfo::DeviceNumber;
use crate::metric::{self, WaitHistogram};
use crate::sync::DropGuard;

/// One drive's statistics, as [`Drives::stats`](super::Drives::stats)
/// reports them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DriveStats {
    /// Where the drive is mounted (`(no mount)` for the default bucket).
    pub mount_point: PathBuf,
    /// The mounted device, if any.
    pub device: Option<DeviceNumber>,
    /// Concurrent operations allowed.
    pub limit: usize,
    /// Permits held right now.
    pub in_flight: usize,
    /// Tasks waiting for a permit right now.
    pub waiting: usize,
    /// Permits released so far.
    pub completed: u64,
    /// The longest any acquire waited, in microseconds.
    pub longest_wait_us: u64,
}

/// The state of one drive, shared by its actor, its handles and its
/// permits.
#[derive(Debug)]
pub(crate) struct DriveState {
    pub(crate) mount_point: PathBuf,
    pub(crate) device: Option<DeviceNumber>,
    pub(crate) semaphore: Semaphore,
    limit: AtomicUsize,
    /// Permits to destroy as they come back, after a shrink that found
    /// fewer free than it removed. Changed only under this lock; `owed`
    /// mirrors it so a release without debt takes no lock.
    debt: Mutex<usize>,
    owed: AtomicUsize,
    pub(crate) waiting: AtomicUsize,
    completed: AtomicU64,
    longest_wait_us: AtomicU64,
    /// `steward_drive_wait_seconds` of this drive.
    waits: WaitHistogram,
}

impl DriveState {
    pub(crate) fn new(mount_point: PathBuf, device: Option<DeviceNumber>, limit: usize) -> Self {
        Self {
            mount_point,
            device,
            semaphore: Semaphore::new(limit),
            limit: AtomicUsize::new(limit),
            debt: Mutex::new(0),
            owed: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            longest_wait_us: AtomicU64::new(0),
            waits: WaitHistogram::new(&metric::DRIVE_WAIT),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// Changes the limit. Growing frees permits at once (waking waiters);
    /// shrinking removes free permits now and the rest as they come back.
    /// Only the drive's actor calls this, so calls never overlap.
    pub(crate) fn set_limit(&self, limit: usize) {
        let mut debt = self.lock_debt();
        let old = self.limit.swap(limit, Ordering::AcqRel);
        if limit > old {
            // Growth first cancels permits still owed from a shrink.
            let grow = limit - old;
            let cancelled = grow.min(*debt);
            *debt -= cancelled;
            self.owed.store(*debt, Ordering::SeqCst);
            self.semaphore.add_permits(grow - cancelled);
        } else if limit < old {
            let shrink = old - limit;
            *debt += shrink - self.semaphore.forget_permits(shrink);
            self.owed.store(*debt, Ordering::SeqCst);
            // A release that saw no debt before the store above may have
            // returned its permit since: take such permits back too.
            *debt -= self.semaphore.forget_permits(*debt);
            self.owed.store(*debt, Ordering::SeqCst);
        }
    }

    /// Takes a permit back: destroys it if a shrink is owed one, else
    /// returns it to the semaphore.
    pub(crate) fn release(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        if self.owed.load(Ordering::SeqCst) > 0 && self.pay_debt(|| true) {
            return;
        }
        self.semaphore.add_permits(1);
        // With `set_limit`'s second sweep, this closes the window of a
        // shrink that raised the debt between the check above and the
        // return: one of the two sees the other (both use SeqCst).
        if self.owed.load(Ordering::SeqCst) > 0 {
            self.pay_debt(|| self.semaphore.forget_permits(1) == 1);
        }
    }

    /// Pays one permit of debt if `take` gives one up.
    fn pay_debt(&self, take: impl FnOnce() -> bool) -> bool {
        let mut debt = self.lock_debt();
        if *debt == 0 || !take() {
            return false;
        }
        *debt -= 1;
        self.owed.store(*debt, Ordering::SeqCst);
        true
    }

    fn lock_debt(&self) -> MutexGuard<'_, usize> {
        // Nothing panics under this lock: a poisoned one is still consistent.
        crate::sync::lock(&self.debt)
    }

    /// Records a wait that ended with a permit (only acquires that found
    /// none free wait).
    pub(crate) fn record_wait(&self, waited: Duration) {
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.longest_wait_us.fetch_max(micros, Ordering::Relaxed);
        self.waits
            .observe(waited, || self.mount_point.to_string_lossy().into_owned());
    }

    pub(crate) fn stats(&self) -> DriveStats {
        let limit = self.limit();
        // Permits in existence are the limit plus those owed to a shrink;
        // those not free are held.
        let existing = limit + self.owed.load(Ordering::Acquire);
        DriveStats {
            mount_point: self.mount_point.clone(),
            device: self.device,
            limit,
            in_flight: existing.saturating_sub(self.semaphore.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
            completed: self.completed.load(Ordering::Relaxed),
            longest_wait_us: self.longest_wait_us.load(Ordering::Relaxed),
        }
    }
}

impl DriveState {
    /// Counts a task as waiting until the guard is dropped, so a cancelled
    /// wait uncounts itself.
    pub(crate) fn waiting(&self) -> DropGuard<impl FnOnce() + '_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        DropGuard::new(move || {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        })
    }
}
