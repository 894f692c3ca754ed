//! [`Pooled`]: one resource of a pool and the record the pool keeps of it.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

/// Where and since when a resource is checked out, for leak reports.
#[derive(Debug)]
pub(crate) struct Lease {
    pub(crate) since: Instant,
    pub(crate) location: &'static Location<'static>,
    pub(crate) reported: bool,
}

/// What the pool knows about one resource, shared with its status.
#[derive(Debug)]
pub(crate) struct ResourceMeta {
    pub(crate) id: u64,
    pub(crate) created: Instant,
    /// Its jittered end of life, with `max_lifetime`.
    pub(crate) expires: Option<Instant>,
    pub(crate) uses: AtomicU64,
    pub(crate) in_use: AtomicBool,
    /// Kept only with `leak_threshold`.
    pub(crate) lease: Mutex<Option<Lease>>,
}

impl ResourceMeta {
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }
}

/// A pooled resource: the resource and its record.
#[derive(Debug)]
pub(crate) struct Pooled<R> {
    pub(crate) resource: R,
    pub(crate) meta: Arc<ResourceMeta>,
}

/// An idle resource, since when it has been idle (with `idle_timeout`),
/// and whether it still owes a recycle.
#[derive(Debug)]
pub(crate) struct IdleEntry<R> {
    pub(crate) pooled: Pooled<R>,
    pub(crate) since: Option<Instant>,
    /// Returned with `RecycleOn::Return` where no runtime could recycle
    /// it: the next checkout does.
    pub(crate) recycle_owed: bool,
}
