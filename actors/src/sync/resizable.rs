//! [`ResizableSemaphore`]: a tokio `Semaphore` whose number of permits
//! can change while permits are held, for limits changed at run time (a
//! drive's IO limit, a pool's `max_size`).
//!
//! Growing adds permits at once, waking waiters. Shrinking removes the
//! free permits at once and records the rest as owed: each permit that
//! comes back while some are owed is destroyed instead of returned, until
//! the debt is paid. A later growth cancels what is still owed first.
//!
//! Holders take their permit from [`semaphore`](ResizableSemaphore::semaphore)
//! and `forget` it, and give it back with
//! [`release`](ResizableSemaphore::release), never by dropping a tokio
//! permit: a returned permit must see the debt.
//!
//! # Why no permit is lost or left over
//!
//! The debt changes only under its lock; `owed` mirrors it so that a
//! release with no debt (the common case) takes no lock. A release that
//! saw no debt, then returns its permit, may race a shrink that found
//! that permit not yet free and so owed it: each side looks again after
//! its own step (the release at `owed` after returning its permit, the
//! shrink at the free permits after raising `owed`), both with `SeqCst`,
//! so at least one of them sees the other's step and takes that permit
//! back. The stress test in `sync/tests/resizable.rs` checks that once
//! everything is back, the free permits are exactly the limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Semaphore;

/// A semaphore with a limit that can shrink below what is held.
#[derive(Debug)]
pub(crate) struct ResizableSemaphore {
    semaphore: Semaphore,
    limit: AtomicUsize,
    /// Permits to destroy as they come back.
    debt: Mutex<usize>,
    /// A copy of `debt`, read without its lock.
    owed: AtomicUsize,
}

impl ResizableSemaphore {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            semaphore: Semaphore::new(limit),
            limit: AtomicUsize::new(limit),
            debt: Mutex::new(0),
            owed: AtomicUsize::new(0),
        }
    }

    /// The semaphore permits are taken from (and forgotten).
    pub(crate) fn semaphore(&self) -> &Semaphore {
        &self.semaphore
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit.load(Ordering::Acquire)
    }

    /// Permits held now: those in existence (the limit and the debt) less
    /// the free ones.
    pub(crate) fn held(&self) -> usize {
        let existing = self.limit() + self.owed.load(Ordering::Acquire);
        existing.saturating_sub(self.semaphore.available_permits())
    }

    /// Changes the limit; returns the one before. Calls are serialized by
    /// the debt's lock.
    pub(crate) fn resize(&self, limit: usize) -> usize {
        let mut debt = self.lock_debt();
        let old = self.limit.swap(limit, Ordering::AcqRel);
        if limit > old {
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
        old
    }

    /// Takes a permit back: destroyed if a shrink is owed one, else free
    /// again.
    pub(crate) fn release(&self) {
        if self.owed.load(Ordering::SeqCst) > 0 && self.pay_debt(|| true) {
            return;
        }
        self.semaphore.add_permits(1);
        // The other half of `resize`'s second look (see the module docs).
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
        super::lock(&self.debt)
    }
}
