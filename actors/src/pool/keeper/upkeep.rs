//! A pool keeper's upkeep: reaping idle and expired resources, health
//! checks, resize, close and destroys.

use std::sync::Arc;

use actix::prelude::*;

use super::PoolKeeper;
use crate::lifecycle::State;
use crate::pool::config::MAX_SIZE;
use crate::pool::error::PoolError;
use crate::pool::jobs::{check_one, destroy_all};
use crate::pool::manager::Manager;
use crate::pool::shared::now;

impl<M: Manager> PoolKeeper<M> {
    // ---- upkeep -------------------------------------------------------

    /// Reaps idle resources past `idle_timeout` (above `min_size`), past
    /// their lifetime or above `max_size`; reports leaks; clears a quiet
    /// `Degraded`; refills `min_size`.
    pub(super) fn maintain(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            // Every handle and guard is gone: nothing left to supervise.
            ctx.stop();
            return;
        };
        let now = now();
        let idle_timeout = shared.config.idle_timeout;
        let min = shared.min_size.load(std::sync::atomic::Ordering::Acquire);
        let max = shared.capacity.max_size();
        let mut size = shared.size();
        let reaped = shared.take_idle_where(|entry| {
            let expired = entry.pooled.meta.expired(now);
            let idle_too_long = idle_timeout
                .zip(entry.since)
                .is_some_and(|(timeout, since)| now.duration_since(since) >= timeout);
            let remove = size > max || expired || (idle_too_long && size > min);
            if remove {
                size -= 1;
            }
            remove
        });
        if !reaped.is_empty() {
            tracing::debug!(target: "steward::pool", pool = shared.name(), reaped = reaped.len(), "idle resources reaped");
        }
        for pooled in reaped {
            shared.discard(pooled);
        }
        if let Some(threshold) = shared.config.leak_threshold {
            for (id, held, location) in shared.new_leaks(threshold) {
                tracing::warn!(target: "steward::pool", pool = shared.name(), id, ?held, %location, "pooled resource held longer than leak_threshold");
            }
        }
        let verdict = self.breaker.quiet(self.state(), now);
        if self.apply(verdict).is_some() {
            self.pump(ctx);
        }
        self.refill(ctx);
    }

    /// Checks idle resources one at a time, never the last idle one, never
    /// under a lock an acquire needs; a check gives its resource up (it is
    /// replaced) when an acquire finds the pool full.
    pub(super) fn health_check(&mut self, ctx: &mut Context<Self>) {
        if self.checking.is_some() {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let rounds = shared.idle_len().saturating_sub(1);
        let checks = async move {
            for _ in 0..rounds {
                if !check_one(&shared).await {
                    break;
                }
            }
        };
        self.checking = Some(ctx.spawn(checks.into_actor(self).map(|(), actor, ctx| {
            actor.checking = None;
            actor.refill(ctx);
        })));
    }

    // ---- resize, close, destroy ---------------------------------------

    pub(crate) fn resize(&mut self, size: usize, ctx: &mut Context<Self>) -> Result<(), PoolError> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        if shared.is_closed() {
            return Err(shared.closed_error());
        }
        if !(1..=MAX_SIZE).contains(&size) {
            return Err(shared.config.invalid("max_size", size, "must be 1 to 2^24"));
        }
        let min = &shared.min_size;
        if min.load(std::sync::atomic::Ordering::Acquire) > size {
            min.store(size, std::sync::atomic::Ordering::Release);
        }
        shared.set_max_size(size);
        let mut excess = shared.size().saturating_sub(size);
        for pooled in shared.take_idle_where(|_| {
            let remove = excess > 0;
            excess = excess.saturating_sub(1);
            remove
        }) {
            shared.discard(pooled);
        }
        tracing::info!(target: "steward::pool", pool = shared.name(), max_size = size, "pool resized");
        self.refill(ctx);
        Ok(())
    }

    /// Stops admitting; fails every create request with `Closed` and
    /// cancels their attempts, the probe and the health check; destroys
    /// idle resources; `Closed` once they are.
    pub(crate) fn close(&mut self, ctx: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        let Some(shared) = self.shared.upgrade() else {
            return Box::pin(actix::fut::ready(()));
        };
        shared.stop_admitting();
        if self.is_closing() {
            return Box::pin(actix::fut::ready(()));
        }
        self.advance(State::Closing, "close requested");
        self.end_requests(ctx, || shared.closed_error());
        for handle in [
            self.maintenance.take(),
            self.health.take(),
            self.checking.take(),
            self.probe.take(),
        ]
        .into_iter()
        .flatten()
        {
            ctx.cancel_future(handle);
        }
        let idle: Vec<_> = shared
            .take_idle_where(|_| true)
            .into_iter()
            .map(|pooled| {
                shared.forget(&pooled.meta);
                pooled.resource
            })
            .collect();
        Box::pin(
            destroy_all(shared, idle)
                .into_actor(self)
                .map(|(), actor, _| {
                    if actor.state() == State::Closing {
                        actor.advance(State::Closed, "idle resources destroyed");
                    }
                }),
        )
    }

    /// Destroys a resource the shared state discarded; the pool may be
    /// below `min_size` now.
    pub(crate) fn destroy_discarded(&mut self, resource: M::Resource, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let done = Arc::clone(&shared);
        ctx.spawn(
            destroy_all(shared, vec![resource])
                .into_actor(self)
                .map(move |(), _, _| done.destroy_done()),
        );
        self.refill(ctx);
    }

    /// Destroys resources through the manager, in the background.
    pub(super) fn destroy(&mut self, resources: Vec<M::Resource>, ctx: &mut Context<Self>) {
        if let Some(shared) = self.shared.upgrade() {
            ctx.spawn(destroy_all(shared, resources).into_actor(self));
        }
    }
}
