//! [`PoolGuard`]: a checked-out resource that goes back on drop.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use super::Manager;
use super::TimeoutKind;
use super::builder::RecycleOn;
use super::manager::guarded;
use super::slots::{InFlight, PermitGuard, Shared, Slot};

/// A resource checked out of a [`Pool`](super::Pool); it goes back when the
/// guard is dropped (or is destroyed, if the pool closed, shrank or the
/// resource outlived `max_lifetime` meanwhile).
///
/// Holds no borrow: move it into a task, keep it across awaits.
#[must_use = "the resource goes back to the pool as soon as the guard is dropped"]
pub struct PoolGuard<M: Manager> {
    shared: Arc<Shared<M>>,
    /// `None` only once the guard is consumed.
    slot: Option<Slot<M::Resource>>,
}

impl<M: Manager> std::fmt::Debug for PoolGuard<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolGuard")
            .field("pool", &self.shared.name())
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl<M: Manager> PoolGuard<M> {
    pub(crate) fn new(shared: Arc<Shared<M>>, slot: Slot<M::Resource>) -> Self {
        Self {
            shared,
            slot: Some(slot),
        }
    }

    pub(crate) fn slot(&self) -> &Slot<M::Resource> {
        self.slot
            .as_ref()
            .expect("a guard holds its slot until it is consumed")
    }

    /// The resource's id in the pool (as in [`PoolStatus`](super::PoolStatus)).
    #[must_use]
    pub fn id(&self) -> u64 {
        self.slot().meta.id
    }

    /// How often the resource was checked out, this time included.
    #[must_use]
    pub fn uses(&self) -> u64 {
        self.slot()
            .meta
            .uses
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long since the resource was created.
    #[must_use]
    pub fn age(&self) -> Duration {
        self.slot().meta.created.elapsed()
    }

    /// Takes the resource out of the pool for good: the pool forgets it
    /// and its slot is free for a new one.
    #[must_use]
    pub fn detach(mut guard: Self) -> M::Resource {
        let slot = guard
            .slot
            .take()
            .expect("a guard holds its slot until it is consumed");
        guard.shared.unlease(&slot.meta);
        guard.shared.forget(&slot.meta);
        guard.shared.release_permit();
        slot.resource
    }

    /// Destroys the resource instead of returning it (it is broken); its
    /// slot is free for a new one.
    pub fn discard(mut guard: Self) {
        if let Some(slot) = guard.slot.take() {
            guard.shared.unlease(&slot.meta);
            guard.shared.discard(slot);
            guard.shared.release_permit();
        }
    }
}

impl<M: Manager> Deref for PoolGuard<M> {
    type Target = M::Resource;

    fn deref(&self) -> &M::Resource {
        &self.slot().resource
    }
}

impl<M: Manager> DerefMut for PoolGuard<M> {
    fn deref_mut(&mut self) -> &mut M::Resource {
        &mut self
            .slot
            .as_mut()
            .expect("a guard holds its slot until it is consumed")
            .resource
    }
}

impl<M: Manager> Drop for PoolGuard<M> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let shared = &self.shared;
        shared.unlease(&slot.meta);
        if shared.must_discard(&slot.meta) {
            shared.discard(slot);
        } else if shared.config.recycle_on == RecycleOn::Return
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // The slot stays taken until the resource is recycled: a
            // waiter gets a recycled resource or a new one, never this one
            // half-way.
            let shared = Arc::clone(shared);
            runtime.spawn(async move {
                let permit = PermitGuard::new(&shared);
                recycle_then_return(&shared, slot).await;
                drop(permit);
            });
            return;
        } else {
            shared.push_idle(slot);
        }
        shared.release_permit();
    }
}

async fn recycle_then_return<M: Manager>(shared: &Shared<M>, slot: Slot<M::Resource>) {
    // Dropped mid-recycle (the runtime shutting down): discarded.
    let mut slot = InFlight::new(shared, slot);
    let recycled = guarded(
        shared.name(),
        "recycle",
        TimeoutKind::Recycle,
        shared.config.recycle_timeout,
        shared.manager.recycle(slot.resource()),
    )
    .await;
    match recycled {
        Ok(()) => shared.push_idle(slot.take()),
        Err(error) => {
            tracing::debug!(target: "steward::pool", pool = shared.name(), error = %error.describe(), "recycle on return failed; resource discarded");
        }
    }
}
