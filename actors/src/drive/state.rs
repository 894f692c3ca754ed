//! One drive's shared state: the semaphore the hot path takes permits
//! from, the limit the actor changes, and the statistics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::mountinfo::DeviceNumber;
use crate::metric::{self, WaitHistogram};
use crate::sync::{DropGuard, ResizableSemaphore};

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
    /// The permits; held ones are forgotten in the semaphore and come
    /// back through [`release`](Self::release).
    pub(crate) permits: ResizableSemaphore,
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
            permits: ResizableSemaphore::new(limit),
            waiting: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            longest_wait_us: AtomicU64::new(0),
            waits: WaitHistogram::new(&metric::DRIVE_WAIT),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.permits.limit()
    }

    /// Changes the limit. Growing frees permits at once (waking waiters);
    /// shrinking removes free permits now and the rest as they come back.
    pub(crate) fn set_limit(&self, limit: usize) {
        self.permits.resize(limit);
    }

    /// Takes a permit back: destroyed if a shrink is owed one, else free
    /// again.
    pub(crate) fn release(&self) {
        self.completed.fetch_add(1, Ordering::Relaxed);
        self.permits.release();
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
        DriveStats {
            mount_point: self.mount_point.clone(),
            device: self.device,
            limit: self.limit(),
            in_flight: self.permits.held(),
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
