//! The manager's callbacks on a pool's shared state, each bounded by its
//! timeout and panic-safe, and [`Unready`], the resource one runs on.

use super::PoolState;
use crate::pool::error::TimeoutKind;
use crate::pool::manager::{CallError, Manager, guarded};
use crate::pool::pooled::Pooled;

impl<M: Manager> PoolState<M> {
    /// One `create` attempt, bounded by `create_timeout`.
    pub(crate) async fn create_once(&self) -> Result<M::Resource, CallError> {
        let timeout = self.config.create_timeout;
        let create = self.manager.create();
        guarded(self.name(), "create", TimeoutKind::Create, timeout, create).await
    }

    /// `recycle`, bounded by `recycle_timeout`.
    pub(crate) async fn recycle(&self, resource: &mut M::Resource) -> Result<(), CallError> {
        let timeout = self.config.recycle_timeout;
        let recycle = self.manager.recycle(resource);
        guarded(
            self.name(),
            "recycle",
            TimeoutKind::Recycle,
            timeout,
            recycle,
        )
        .await
    }

    /// `check`, bounded by `recycle_timeout`.
    pub(crate) async fn check(&self, resource: &mut M::Resource) -> Result<(), CallError> {
        let timeout = self.config.recycle_timeout;
        let check = self.manager.check(resource);
        guarded(self.name(), "check", TimeoutKind::Check, timeout, check).await
    }

    /// `destroy`, bounded by `recycle_timeout`.
    pub(crate) async fn destroy(&self, resource: M::Resource) -> Result<(), CallError> {
        let timeout = self.config.recycle_timeout;
        let destroy = async {
            self.manager.destroy(resource).await;
            Ok(())
        };
        guarded(
            self.name(),
            "destroy",
            TimeoutKind::Destroy,
            timeout,
            destroy,
        )
        .await
    }
}

const PRESENT: &str = "an unready resource is present until taken";

/// A resource out of the idle queue while a callback runs on it: if the
/// future running the callback is dropped, the resource is in an unknown
/// state, so it is discarded (its room freed), never lost.
pub(crate) struct Unready<'a, M: Manager> {
    shared: &'a PoolState<M>,
    pooled: Option<Pooled<M::Resource>>,
}

impl<'a, M: Manager> Unready<'a, M> {
    pub(crate) fn new(shared: &'a PoolState<M>, pooled: Pooled<M::Resource>) -> Self {
        Self {
            shared,
            pooled: Some(pooled),
        }
    }

    pub(crate) fn resource(&mut self) -> &mut M::Resource {
        &mut self.pooled.as_mut().expect(PRESENT).resource
    }

    pub(crate) fn id(&self) -> u64 {
        self.pooled.as_ref().map_or(0, |pooled| pooled.meta.id)
    }

    /// The callback finished: the caller decides.
    pub(crate) fn take(mut self) -> Pooled<M::Resource> {
        self.pooled.take().expect(PRESENT)
    }
}

impl<M: Manager> Drop for Unready<'_, M> {
    fn drop(&mut self) {
        if let Some(pooled) = self.pooled.take() {
            self.shared.discard(pooled);
        }
    }
}
