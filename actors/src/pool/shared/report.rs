//! What a pool's shared state reports: its errors, its status, and the
//! resources held past the leak threshold.

use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{PoolState, lock, now};
use crate::UserError;
use crate::pool::error::{PoolError, TimeoutKind};
use crate::pool::manager::Manager;
use crate::pool::pooled::ResourceMeta;
use crate::pool::status::{PoolStatus, PooledStatus};

impl<M: Manager> PoolState<M> {
    pub(crate) fn closed_error(&self) -> PoolError {
        PoolError::Closed {
            pool: self.config.name.clone(),
        }
    }

    /// Counts a timeout and names it.
    pub(crate) fn timeout(&self, kind: TimeoutKind) -> PoolError {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
        PoolError::Timeout {
            pool: self.config.name.clone(),
            kind,
        }
    }

    pub(crate) fn unavailable_error(&self) -> PoolError {
        let last_error = lock(&self.last_error)
            .clone()
            .unwrap_or_else(|| UserError::msg("creates kept failing"));
        PoolError::Unavailable {
            pool: self.config.name.clone(),
            last_error,
        }
    }

    pub(crate) fn busy_error(&self) -> PoolError {
        PoolError::Busy {
            pool: self.config.name.clone(),
            max_size: self.capacity.max_size(),
        }
    }

    /// Counts a failed create attempt and keeps its error for
    /// `Unavailable`.
    pub(crate) fn record_failed_create(&self, error: UserError) {
        self.failed_creates.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_error) = Some(error);
    }

    /// Every checked-out resource held longer than `threshold` and not yet
    /// reported: its id, how long, and where it was acquired.
    pub(crate) fn new_leaks(
        &self,
        threshold: Duration,
    ) -> Vec<(u64, Duration, &'static Location<'static>)> {
        let now = now();
        let metas: Vec<Arc<ResourceMeta>> = lock(&self.resources).values().cloned().collect();
        let mut leaks = Vec::new();
        for meta in metas {
            let mut lease = lock(&meta.lease);
            if let Some(lease) = lease.as_mut()
                && !lease.reported
                && now.duration_since(lease.since) >= threshold
            {
                lease.reported = true;
                leaks.push((meta.id, now.duration_since(lease.since), lease.location));
            }
        }
        leaks
    }

    pub(crate) fn status(&self) -> PoolStatus {
        let now = now();
        let mut resources: Vec<PooledStatus> = lock(&self.resources)
            .values()
            .map(|meta| PooledStatus {
                id: meta.id,
                age: now.duration_since(meta.created),
                uses: meta.uses.load(Ordering::Relaxed),
                in_use: meta.in_use.load(Ordering::Acquire),
            })
            .collect();
        resources.sort_by_key(|resource| resource.id);
        PoolStatus {
            name: self.config.name.clone(),
            state: self.state(),
            max_size: self.capacity.max_size(),
            min_size: self.min_size.load(Ordering::Acquire),
            size: self.size(),
            idle: self.idle_len(),
            in_use: resources.iter().filter(|resource| resource.in_use).count(),
            waiting: self.waiting.load(Ordering::Relaxed),
            created: self.created.load(Ordering::Relaxed),
            destroyed: self.destroyed.load(Ordering::Relaxed),
            failed_creates: self.failed_creates.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            resources,
        }
    }
}
