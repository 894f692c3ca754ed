//! [`Capacity`]: how many resources a pool may hold and how many it holds
//! (alive or being created), and the signal that wakes an acquire waiting
//! for either to change.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The room for resources of one pool.
#[derive(Debug)]
pub(crate) struct Capacity {
    max_size: AtomicUsize,
    /// Resources alive or being created: never above `max_size` but while
    /// a shrink waits for resources to come back.
    size: AtomicUsize,
    /// Signalled when room frees up, a resource goes idle or the pool
    /// closes, for acquires that hold a slot but find the pool full.
    changed: Notify,
    change_waiters: AtomicUsize,
}

impl Capacity {
    pub(crate) fn new(max_size: usize) -> Self {
        Self {
            max_size: AtomicUsize::new(max_size),
            size: AtomicUsize::new(0),
            changed: Notify::new(),
            change_waiters: AtomicUsize::new(0),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size.load(Ordering::Acquire)
    }

    pub(crate) fn max_size(&self) -> usize {
        self.max_size.load(Ordering::Acquire)
    }

    /// Sets the limit and returns the old one.
    pub(crate) fn set_max_size(&self, max_size: usize) -> usize {
        let old = self.max_size.swap(max_size, Ordering::AcqRel);
        self.notify_all();
        old
    }

    /// Whether the pool holds more than it may (after a shrink).
    pub(crate) fn over(&self) -> bool {
        self.size() > self.max_size()
    }

    /// Reserves room for one more resource, if there is any.
    pub(crate) fn reserve(self: &Arc<Self>) -> Option<Reservation> {
        let max = self.max_size();
        let mut size = self.size();
        loop {
            if size >= max {
                return None;
            }
            match self.size.compare_exchange_weak(
                size,
                size + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return Some(Reservation {
                        capacity: Arc::clone(self),
                        armed: true,
                    });
                }
                Err(now) => size = now,
            }
        }
    }

    /// One resource is gone: its room is free.
    pub(crate) fn release(&self) {
        self.size.fetch_sub(1, Ordering::AcqRel);
        self.notify_change();
    }

    /// Wakes the acquires waiting for a change, if there are any.
    pub(crate) fn notify_change(&self) {
        if self.change_waiters.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Wakes every acquire waiting for a change.
    pub(crate) fn notify_all(&self) {
        self.changed.notify_waiters();
    }

    /// Waits until `ready` holds, rechecking on every change, or until
    /// `deadline` passes (`false`). Without a deadline no timer is armed.
    /// `ready` is checked after registering, so no change is missed.
    pub(crate) async fn wait_for(
        &self,
        deadline: Option<Instant>,
        ready: impl Fn() -> bool,
    ) -> bool {
        self.change_waiters.fetch_add(1, Ordering::SeqCst);
        let _registered = ChangeWaiter { capacity: self };
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ready() {
                return true;
            }
            match deadline {
                None => notified.await,
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return ready();
                    }
                }
            }
        }
    }
}

struct ChangeWaiter<'a> {
    capacity: &'a Capacity,
}

impl Drop for ChangeWaiter<'_> {
    fn drop(&mut self) {
        self.capacity.change_waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Room for one resource, reserved; given back on drop unless a resource
/// took it ([`keep`](Self::keep)).
#[derive(Debug)]
pub(crate) struct Reservation {
    capacity: Arc<Capacity>,
    armed: bool,
}

impl Reservation {
    /// A resource now fills the room: it is released when the resource
    /// goes, not when this does.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            self.capacity.release();
        }
    }
}
