//! [`PoolGuard`]: a checked-out resource that goes back on drop.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use super::config::RecycleOn;
use super::manager::Manager;
use super::pooled::Pooled;
use super::shared::{PoolState, Unready};

/// A resource checked out of a [`Pool`](super::Pool); it goes back when the
/// guard is dropped (or is destroyed, if the pool closed, shrank or the
/// resource outlived `max_lifetime` meanwhile).
///
/// Holds no borrow: move it into a task, keep it across awaits.
#[must_use = "the resource goes back to the pool as soon as the guard is dropped"]
pub struct PoolGuard<M: Manager> {
    shared: Arc<PoolState<M>>,
    /// `None` only once the guard is consumed.
    pooled: Option<Pooled<M::Resource>>,
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
    pub(crate) fn new(shared: Arc<PoolState<M>>, pooled: Pooled<M::Resource>) -> Self {
        Self {
            shared,
            pooled: Some(pooled),
        }
    }

    pub(crate) fn pooled(&self) -> &Pooled<M::Resource> {
        self.pooled.as_ref().expect(HELD)
    }

    /// The resource's id in the pool (as in [`PoolStatus`](super::PoolStatus)).
    #[must_use]
    pub fn id(&self) -> u64 {
        self.pooled().meta.id
    }

    /// How often the resource was checked out, this time included.
    #[must_use]
    pub fn uses(&self) -> u64 {
        self.pooled()
            .meta
            .uses
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How long since the resource was created.
    #[must_use]
    pub fn age(&self) -> Duration {
        self.pooled().meta.created.elapsed()
    }

    /// Takes the resource out of the pool for good: the pool forgets it
    /// and its slot is free for a new one.
    #[must_use]
    pub fn detach(mut guard: Self) -> M::Resource {
        let pooled = guard.pooled.take().expect(HELD);
        guard.shared.unlease(&pooled.meta);
        guard.shared.forget(&pooled.meta);
        guard.shared.release_permit();
        pooled.resource
    }

    /// Destroys the resource instead of returning it (it is broken); its
    /// slot is free for a new one.
    pub fn discard(mut guard: Self) {
        if let Some(pooled) = guard.pooled.take() {
            guard.shared.unlease(&pooled.meta);
            guard.shared.discard(pooled);
            guard.shared.release_permit();
        }
    }
}

impl<M: Manager> Deref for PoolGuard<M> {
    type Target = M::Resource;

    fn deref(&self) -> &M::Resource {
        &self.pooled().resource
    }
}

impl<M: Manager> DerefMut for PoolGuard<M> {
    fn deref_mut(&mut self) -> &mut M::Resource {
        &mut self.pooled.as_mut().expect(HELD).resource
    }
}

impl<M: Manager> Drop for PoolGuard<M> {
    fn drop(&mut self) {
        let Some(pooled) = self.pooled.take() else {
            return;
        };
        let shared = &self.shared;
        shared.unlease(&pooled.meta);
        if shared.config.recycle_on == RecycleOn::Return && !shared.must_discard(&pooled.meta) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    // The slot stays taken until the resource is recycled:
                    // a waiter gets a recycled resource or a new one, never
                    // this one half-way.
                    let shared = Arc::clone(shared);
                    runtime.spawn(async move {
                        let permit = shared.permit_guard();
                        recycle_then_return(&shared, pooled).await;
                        drop(permit);
                    });
                    return;
                }
                // No runtime to recycle on: the next checkout recycles it.
                Err(_) => shared.give_back(pooled, true),
            }
        } else {
            shared.give_back(pooled, false);
        }
        shared.release_permit();
    }
}

async fn recycle_then_return<M: Manager>(shared: &PoolState<M>, pooled: Pooled<M::Resource>) {
    // Dropped mid-recycle (the runtime shutting down): discarded.
    let mut pooled = Unready::new(shared, pooled);
    let recycled = shared.recycle(pooled.resource()).await;
    match recycled {
        Ok(()) => shared.give_back(pooled.take(), false),
        Err(error) => {
            tracing::debug!(target: "steward::pool", pool = shared.name(), error = %error.describe(), "recycle on return failed; resource discarded");
        }
    }
}

const HELD: &str = "a guard holds its resource until it is consumed";
