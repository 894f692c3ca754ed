//! [`PoolState`]: the state a pool publishes to its handles and guards: the
//! semaphore of slots, the idle queue, the room for resources, the
//! counters, and a view of the keeper's lifecycle. An acquire with an
//! idle resource touches only this; the keeper owns every other change.
//!
//! It never names the supervisor: the one message it sends (a resource to
//! destroy) goes to a [`Recipient`].

use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Message, Recipient};
use tokio::sync::Notify;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::capacity::{Capacity, Reservation};
use super::config::{PoolConfig, QueueMode};
use super::manager::Manager;
use super::pooled::{IdleEntry, Lease, Pooled, ResourceMeta};
use crate::UserError;
use crate::lifecycle::{State, StateView};
use crate::metric::{self, WaitHistogram};
use crate::sync::{DropGuard, ResizableSemaphore};

pub(crate) use crate::sync::lock;

mod calls;
mod report;

pub(crate) use calls::Unready;

/// The pool's clock, read only where the caller asked for a deadline or a
/// setting needs the time (`idle_timeout`, `max_lifetime`,
/// `leak_threshold`). Tests count the reads on their thread.
pub(crate) fn now() -> Instant {
    #[cfg(test)]
    CLOCK_READS.with(|reads| reads.set(reads.get() + 1));
    Instant::now()
}

#[cfg(test)]
thread_local! {
    /// How often this thread read the pool's clock.
    pub(crate) static CLOCK_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// `wait` from now (the pool's counted clock read); a wait too long for
/// an `Instant` saturates (see [`crate::sync::deadline_after`]).
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    crate::sync::deadline_after(now(), wait)
}

/// Destroys a discarded resource (bounded by `recycle_timeout`): the one
/// message the shared state sends.
pub(crate) struct Destroy<R>(pub(crate) R);

impl<R: Send + 'static> Message for Destroy<R> {
    type Result = ();
}

/// The shared state of one pool.
pub(crate) struct PoolState<M: Manager> {
    pub(crate) manager: M,
    pub(crate) config: PoolConfig,
    /// The keeper's lifecycle: the pool's one state.
    view: StateView,
    destroyer: Recipient<Destroy<M::Resource>>,
    /// One slot per resource that may be checked out, `max_size` of them:
    /// FIFO waiters. Closed when the pool stops admitting.
    pub(crate) slots: ResizableSemaphore,
    pub(crate) capacity: Arc<Capacity>,
    idle: Mutex<Idle<M::Resource>>,
    pub(crate) min_size: AtomicUsize,
    waiting: AtomicUsize,
    /// `steward_pool_wait_seconds` of this pool.
    waits: WaitHistogram,
    created: AtomicU64,
    destroyed: AtomicU64,
    failed_creates: AtomicU64,
    timeouts: AtomicU64,
    /// Discarded resources the keeper has not destroyed yet.
    destroying: AtomicUsize,
    last_error: Mutex<Option<UserError>>,
    /// Signalled once, when the pool stops admitting: wakes acquires
    /// waiting for a create.
    closing: Notify,
    /// Signalled by an acquire that finds the pool full while a health
    /// check holds a resource: the check gives it up.
    wanted: Notify,
    checking: AtomicBool,
    resources: Mutex<HashMap<u64, Arc<ResourceMeta>>>,
    next_id: AtomicU64,
    rng: Mutex<fastrand::Rng>,
}

impl<M: Manager> std::fmt::Debug for PoolState<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolState")
            .field("name", &self.config.name)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

impl<M: Manager> PoolState<M> {
    pub(crate) fn new(
        manager: M,
        config: PoolConfig,
        view: StateView,
        destroyer: Recipient<Destroy<M::Resource>>,
    ) -> Self {
        let rng = config
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            manager,
            view,
            destroyer,
            slots: ResizableSemaphore::new(config.max_size),
            capacity: Arc::new(Capacity::new(config.max_size)),
            idle: Mutex::new(Idle {
                entries: VecDeque::with_capacity(config.max_size.min(1024)),
                closed: false,
            }),
            min_size: AtomicUsize::new(config.min_size),
            waiting: AtomicUsize::new(0),
            waits: WaitHistogram::new(&metric::POOL_WAIT),
            created: AtomicU64::new(0),
            destroyed: AtomicU64::new(0),
            failed_creates: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            destroying: AtomicUsize::new(0),
            last_error: Mutex::new(None),
            closing: Notify::new(),
            wanted: Notify::new(),
            checking: AtomicBool::new(false),
            resources: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            rng: Mutex::new(rng),
            config,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    // ---- state --------------------------------------------------------

    pub(crate) fn view(&self) -> &StateView {
        &self.view
    }

    pub(crate) fn state(&self) -> State {
        self.view.state()
    }

    /// Whether the pool stopped admitting acquires.
    pub(crate) fn is_closed(&self) -> bool {
        self.slots.semaphore().is_closed()
    }

    /// Stops admitting acquires: every waiter fails with `Closed` at once,
    /// those waiting for a create included, and the idle queue takes no
    /// more resources.
    pub(crate) fn stop_admitting(&self) {
        lock(&self.idle).closed = true;
        self.slots.semaphore().close();
        self.closing.notify_waiters();
        self.capacity.notify_all();
    }

    /// Resolves once the pool stops admitting.
    pub(crate) async fn closed(&self) {
        let notified = self.closing.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        notified.await;
    }

    /// Whether the circuit breaker is open (`Error`, or `Initializing`
    /// while its probe runs): an acquire that needs a new resource fails.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(self.state(), State::Error | State::Initializing)
    }

    pub(crate) fn size(&self) -> usize {
        self.capacity.size()
    }

    /// Resources checked out: counted from their records, so that a
    /// checkout touches no counter every other checkout touches too.
    pub(crate) fn in_use(&self) -> usize {
        lock(&self.resources)
            .values()
            .filter(|meta| meta.in_use.load(Ordering::Acquire))
            .count()
    }

    pub(crate) fn idle_len(&self) -> usize {
        lock(&self.idle).entries.len()
    }

    // ---- slots (permits) ----------------------------------------------

    /// Gives back a slot permit, or destroys it while a shrink is owed one.
    pub(crate) fn release_permit(&self) {
        self.slots.release();
    }

    /// Changes the limit: grows at once, shrinks as permits come back.
    pub(crate) fn set_max_size(&self, new: usize) {
        self.capacity.set_max_size(new);
        self.slots.resize(new);
    }

    /// Records a wait for a slot that ended with one (only acquires that
    /// found none free wait).
    pub(crate) fn record_wait(&self, waited: Duration) {
        self.waits.observe(waited, || self.config.name.clone());
    }

    /// Counts an acquire as waiting until the guard is dropped, so a
    /// cancelled wait uncounts itself.
    pub(crate) fn waiting(&self) -> DropGuard<impl FnOnce() + '_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        DropGuard::new(move || {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        })
    }

    // ---- resources ----------------------------------------------------

    /// A new resource takes the room `reservation` holds.
    pub(crate) fn admit(
        &self,
        reservation: Reservation,
        resource: M::Resource,
    ) -> Pooled<M::Resource> {
        reservation.keep();
        let created = now();
        let meta = Arc::new(ResourceMeta {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            created,
            expires: self.lifetime_end(created),
            uses: AtomicU64::new(0),
            in_use: AtomicBool::new(false),
            lease: Mutex::new(None),
        });
        lock(&self.resources).insert(meta.id, Arc::clone(&meta));
        self.created.fetch_add(1, Ordering::Relaxed);
        Pooled { resource, meta }
    }

    fn lifetime_end(&self, now: Instant) -> Option<Instant> {
        let lifetime = self.config.max_lifetime?;
        let jitter = self.config.lifetime_jitter;
        let factor = 1.0 - jitter * lock(&self.rng).f64();
        // A lifetime too long for an `Instant` never ends.
        now.checked_add(lifetime.mul_f64(factor))
    }

    pub(crate) fn pop_idle(&self) -> Option<IdleEntry<M::Resource>> {
        let mut idle = lock(&self.idle);
        match self.config.queue_mode {
            QueueMode::Fifo => idle.entries.pop_front(),
            QueueMode::Lifo => idle.entries.pop_back(),
        }
    }

    /// Takes the longest-idle resource for a health check, but never the
    /// last idle one: an acquire always finds that.
    pub(crate) fn pop_for_check(&self) -> Option<IdleEntry<M::Resource>> {
        let mut idle = lock(&self.idle);
        if idle.entries.len() < 2 {
            return None;
        }
        idle.entries.pop_front()
    }

    /// Takes the idle resources `remove` picks.
    pub(crate) fn take_idle_where(
        &self,
        mut remove: impl FnMut(&IdleEntry<M::Resource>) -> bool,
    ) -> Vec<Pooled<M::Resource>> {
        let mut idle = lock(&self.idle);
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(idle.entries.len());
        for entry in idle.entries.drain(..) {
            if remove(&entry) {
                taken.push(entry.pooled);
            } else {
                kept.push_back(entry);
            }
        }
        idle.entries = kept;
        taken
    }

    /// Makes a resource idle again, or discards it if the pool closed,
    /// shrank below its size, or the resource outlived its lifetime.
    pub(crate) fn give_back(&self, pooled: Pooled<M::Resource>, recycle_owed: bool) {
        // Closed is the idle queue's to say, under the lock a return takes
        // anyway.
        if self.must_retire(&pooled.meta) {
            self.discard(pooled);
            return;
        }
        let since = self.config.idle_timeout.map(|_| now());
        self.push_idle_unchecked(IdleEntry {
            pooled,
            since,
            recycle_owed,
        });
    }

    /// Puts back an entry a health check took (or discards it, as
    /// [`give_back`](Self::give_back) does).
    pub(crate) fn push_idle(&self, entry: IdleEntry<M::Resource>) {
        if self.must_discard(&entry.pooled.meta) {
            self.discard(entry.pooled);
            return;
        }
        self.push_idle_unchecked(entry);
    }

    fn push_idle_unchecked(&self, entry: IdleEntry<M::Resource>) {
        let refused = {
            let mut idle = lock(&self.idle);
            if idle.closed {
                Some(entry)
            } else {
                idle.entries.push_back(entry);
                None
            }
        };
        match refused {
            Some(entry) => self.discard(entry.pooled),
            None => self.capacity.notify_change(),
        }
    }

    /// Forgets a resource and has the keeper destroy it.
    pub(crate) fn discard(&self, pooled: Pooled<M::Resource>) {
        self.forget(&pooled.meta);
        self.destroyed.fetch_add(1, Ordering::Relaxed);
        // With the keeper gone (the System stopped), the resource is
        // dropped instead.
        if self.destroyer.connected() {
            self.destroying.fetch_add(1, Ordering::AcqRel);
            self.destroyer.do_send(Destroy(pooled.resource));
        }
    }

    /// The keeper destroyed a discarded resource.
    pub(crate) fn destroy_done(&self) {
        self.destroying.fetch_sub(1, Ordering::AcqRel);
        self.capacity.notify_change();
    }

    /// Whether every resource is back and destroyed (after a close).
    pub(crate) fn is_drained(&self) -> bool {
        self.in_use() == 0 && self.destroying.load(Ordering::Acquire) == 0
    }

    /// Takes a resource's record out of the pool's count.
    pub(crate) fn forget(&self, meta: &ResourceMeta) {
        lock(&self.resources).remove(&meta.id);
        self.capacity.release();
    }

    /// Whether a resource must go rather than be idle again.
    pub(crate) fn must_discard(&self, meta: &ResourceMeta) -> bool {
        self.is_closed() || self.must_retire(meta)
    }

    /// Whether a resource must go even from an open pool: above
    /// `max_size` after a shrink, or past its lifetime.
    fn must_retire(&self, meta: &ResourceMeta) -> bool {
        self.capacity.over() || (self.config.max_lifetime.is_some() && meta.expired(now()))
    }

    /// Marks `pooled` checked out.
    pub(crate) fn lease(&self, pooled: &Pooled<M::Resource>, location: &'static Location<'static>) {
        pooled.meta.uses.fetch_add(1, Ordering::Relaxed);
        pooled.meta.in_use.store(true, Ordering::Release);
        if self.config.leak_threshold.is_some() {
            *lock(&pooled.meta.lease) = Some(Lease {
                since: now(),
                location,
                reported: false,
            });
        }
    }

    /// Marks a resource no longer checked out.
    pub(crate) fn unlease(&self, meta: &ResourceMeta) {
        meta.in_use.store(false, Ordering::Release);
        if self.config.leak_threshold.is_some() {
            *lock(&meta.lease) = None;
        }
    }

    // ---- health checks ------------------------------------------------

    /// Resolves when an acquire wants the resource a health check holds
    /// ([`want`](Self::want)); enable it before
    /// [`set_checking`](Self::set_checking).
    pub(crate) fn wanted(&self) -> Notified<'_> {
        self.wanted.notified()
    }

    pub(crate) fn set_checking(&self, checking: bool) {
        self.checking.store(checking, Ordering::SeqCst);
    }

    /// An acquire finds the pool full: a health check holding a resource
    /// gives it up.
    pub(crate) fn want(&self) {
        if self.checking.load(Ordering::SeqCst) {
            self.wanted.notify_waiters();
        }
    }
}

/// The idle resources, and whether the pool still takes them back.
struct Idle<R> {
    entries: VecDeque<IdleEntry<R>>,
    /// Set when the pool stops admitting, under the lock every return
    /// takes: a resource returned later is destroyed.
    closed: bool,
}

impl<M: Manager> PoolState<M> {
    /// A slot permit taken from the semaphore and forgotten there: given
    /// back when the guard is dropped, unless it is disarmed once a
    /// [`PoolGuard`](super::PoolGuard) owns the permit (a cancelled acquire
    /// leaks nothing).
    pub(crate) fn permit_guard(&self) -> DropGuard<impl FnOnce() + '_> {
        DropGuard::new(move || self.release_permit())
    }
}
