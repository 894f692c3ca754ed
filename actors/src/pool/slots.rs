//! The state a pool publishes to its handles: the semaphore of slots, the
//! idle queue, the counters. An acquire with an idle resource touches only
//! this; the supervisor owns every other change.

use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix::Addr;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::builder::{PoolConfig, QueueMode};
use super::status::{PoolStatus, ResourceStatus};
use super::supervisor::{Destroy, PoolSupervisor};
use super::{Manager, PoolError};
use crate::UserError;
use crate::lifecycle::State;

/// Nothing panics while these locks are held (user code never runs under
/// them): a poisoned one is still consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

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

/// A resource and its record.
#[derive(Debug)]
pub(crate) struct Slot<R> {
    pub(crate) resource: R,
    pub(crate) meta: Arc<ResourceMeta>,
}

/// An idle resource, and since when it has been idle (with `idle_timeout`).
#[derive(Debug)]
pub(crate) struct IdleEntry<R> {
    pub(crate) slot: Slot<R>,
    pub(crate) since: Option<Instant>,
}

/// The shared state of one pool.
pub(crate) struct Shared<M: Manager> {
    pub(crate) manager: M,
    pub(crate) config: PoolConfig,
    pub(crate) supervisor: Addr<PoolSupervisor<M>>,
    /// One permit per resource that may be checked out: FIFO waiters.
    pub(crate) semaphore: Semaphore,
    idle: Mutex<VecDeque<IdleEntry<M::Resource>>>,
    pub(crate) max_size: AtomicUsize,
    pub(crate) min_size: AtomicUsize,
    /// Resources alive or being created: never above `max_size` but while
    /// a shrink waits for resources to come back.
    size: AtomicUsize,
    in_use: AtomicUsize,
    waiting: AtomicUsize,
    /// Permits a shrink could not take yet: returns forget them.
    owed: AtomicUsize,
    created: AtomicU64,
    destroyed: AtomicU64,
    pub(crate) failed_creates: AtomicU64,
    timeouts: AtomicU64,
    state: AtomicU8,
    /// The circuit breaker: while set, an acquire that needs a new
    /// resource fails at once.
    unavailable: AtomicBool,
    last_error: Mutex<Option<UserError>>,
    closed: AtomicBool,
    /// Signalled when a resource goes idle, the size drops or the pool
    /// closes, for acquires that hold a slot but find the pool full.
    changed: Notify,
    change_waiters: AtomicUsize,
    resources: Mutex<HashMap<u64, Arc<ResourceMeta>>>,
    next_id: AtomicU64,
    rng: Mutex<fastrand::Rng>,
}

impl<M: Manager> std::fmt::Debug for Shared<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("name", &self.config.name)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<M: Manager> Shared<M> {
    pub(crate) fn new(manager: M, config: PoolConfig, supervisor: Addr<PoolSupervisor<M>>) -> Self {
        let rng = config
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            manager,
            semaphore: Semaphore::new(config.max_size),
            idle: Mutex::new(VecDeque::with_capacity(config.max_size.min(1024))),
            max_size: AtomicUsize::new(config.max_size),
            min_size: AtomicUsize::new(config.min_size),
            size: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            owed: AtomicUsize::new(0),
            created: AtomicU64::new(0),
            destroyed: AtomicU64::new(0),
            failed_creates: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            state: AtomicU8::new(0),
            unavailable: AtomicBool::new(false),
            last_error: Mutex::new(None),
            closed: AtomicBool::new(false),
            changed: Notify::new(),
            change_waiters: AtomicUsize::new(0),
            resources: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            rng: Mutex::new(rng),
            supervisor,
            config,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    // ---- errors -------------------------------------------------------

    pub(crate) fn closed_error(&self) -> PoolError {
        PoolError::Closed {
            pool: self.config.name.clone(),
        }
    }

    pub(crate) fn timeout(&self, kind: super::TimeoutKind) -> PoolError {
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

    // ---- state --------------------------------------------------------

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Stops admitting acquires: waiters fail with `Closed` at once.
    pub(crate) fn stop_admitting(&self) {
        self.closed.store(true, Ordering::Release);
        self.semaphore.close();
        self.changed.notify_waiters();
    }

    pub(crate) fn is_unavailable(&self) -> bool {
        self.unavailable.load(Ordering::Acquire)
    }

    pub(crate) fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::Release);
        self.changed.notify_waiters();
    }

    pub(crate) fn set_last_error(&self, error: UserError) {
        *lock(&self.last_error) = Some(error);
    }

    pub(crate) fn publish_state(&self, state: State) {
        let index = State::ALL.iter().position(|s| *s == state).unwrap_or(0);
        self.state
            .store(u8::try_from(index).unwrap_or(0), Ordering::Release);
    }

    pub(crate) fn state(&self) -> State {
        State::ALL
            .get(usize::from(self.state.load(Ordering::Acquire)))
            .copied()
            .unwrap_or(State::Uninitialized)
    }

    pub(crate) fn size(&self) -> usize {
        self.size.load(Ordering::Acquire)
    }

    pub(crate) fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }

    pub(crate) fn idle_len(&self) -> usize {
        lock(&self.idle).len()
    }

    // ---- slots (permits) ----------------------------------------------

    /// Gives back a slot permit, or forgets it while a shrink is owed one.
    pub(crate) fn release_permit(&self) {
        let mut owed = self.owed.load(Ordering::Acquire);
        while owed > 0 {
            match self.owed.compare_exchange_weak(
                owed,
                owed - 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => owed = now,
            }
        }
        self.semaphore.add_permits(1);
    }

    /// Changes the limit: grows at once, shrinks as permits come back.
    pub(crate) fn set_max_size(&self, new: usize) {
        let old = self.max_size.swap(new, Ordering::AcqRel);
        if new > old {
            let mut grow = new - old;
            // Cancel what an earlier shrink still owes first.
            while grow > 0 {
                let owed = self.owed.load(Ordering::Acquire);
                if owed == 0 {
                    break;
                }
                let take = owed.min(grow);
                if self
                    .owed
                    .compare_exchange(owed, owed - take, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    grow -= take;
                }
            }
            self.semaphore.add_permits(grow);
        } else {
            let shrink = old - new;
            let forgotten = self.semaphore.forget_permits(shrink);
            self.owed.fetch_add(shrink - forgotten, Ordering::AcqRel);
        }
        self.changed.notify_waiters();
    }

    pub(crate) fn waiting(&self) -> WaitingGuard<'_, M> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        WaitingGuard { shared: self }
    }

    // ---- resources ----------------------------------------------------

    /// Reserves room for one more resource, if the pool is below
    /// `max_size`.
    pub(crate) fn reserve(self: &Arc<Self>) -> Option<Reservation<M>> {
        let max = self.max_size.load(Ordering::Acquire);
        let mut size = self.size.load(Ordering::Acquire);
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
                        shared: Arc::clone(self),
                        armed: true,
                    });
                }
                Err(now) => size = now,
            }
        }
    }

    fn unreserve(&self) {
        self.size.fetch_sub(1, Ordering::AcqRel);
        self.notify_change();
    }

    fn lifetime_end(&self, now: Instant) -> Option<Instant> {
        let lifetime = self.config.max_lifetime?;
        let jitter = self.config.lifetime_jitter;
        let factor = 1.0 - jitter * lock(&self.rng).f64();
        // A lifetime too long for an `Instant` never ends.
        now.checked_add(lifetime.mul_f64(factor))
    }

    pub(crate) fn pop_idle(&self) -> Option<Slot<M::Resource>> {
        let mut idle = lock(&self.idle);
        let entry = match self.config.queue_mode {
            QueueMode::Fifo => idle.pop_front(),
            QueueMode::Lifo => idle.pop_back(),
        };
        entry.map(|entry| entry.slot)
    }

    /// Takes the longest-idle resource for a health check, but never the
    /// last idle one: an acquire always finds that.
    pub(crate) fn pop_for_check(&self) -> Option<IdleEntry<M::Resource>> {
        let mut idle = lock(&self.idle);
        if idle.len() < 2 {
            return None;
        }
        idle.pop_front()
    }

    /// Takes the idle resources that `keep` refuses (reaping).
    pub(crate) fn take_idle_where(
        &self,
        mut remove: impl FnMut(&IdleEntry<M::Resource>) -> bool,
    ) -> Vec<Slot<M::Resource>> {
        let mut idle = lock(&self.idle);
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(idle.len());
        for entry in idle.drain(..) {
            if remove(&entry) {
                taken.push(entry.slot);
            } else {
                kept.push_back(entry);
            }
        }
        *idle = kept;
        taken
    }

    /// Makes `slot` idle again (destroys it if the pool has closed).
    pub(crate) fn push_idle(&self, slot: Slot<M::Resource>) {
        let since = self.config.idle_timeout.map(|_| Instant::now());
        self.push_idle_entry(IdleEntry { slot, since });
    }

    pub(crate) fn push_idle_entry(&self, entry: IdleEntry<M::Resource>) {
        if self.is_closed() {
            self.discard(entry.slot);
            return;
        }
        {
            let mut idle = lock(&self.idle);
            idle.push_back(entry);
        }
        // Closed in between: the pool's close may have drained already.
        if self.is_closed() {
            for slot in self.take_idle_where(|_| true) {
                self.discard(slot);
            }
        }
        self.notify_change();
    }

    /// Forgets a resource and has the supervisor destroy it.
    pub(crate) fn discard(&self, slot: Slot<M::Resource>) {
        self.forget(&slot.meta);
        self.destroyed.fetch_add(1, Ordering::Relaxed);
        // With the supervisor gone (the System stopped), the resource is
        // dropped instead.
        self.supervisor.do_send(Destroy(slot.resource));
    }

    /// Takes a resource's record out of the pool's count.
    pub(crate) fn forget(&self, meta: &ResourceMeta) {
        lock(&self.resources).remove(&meta.id);
        self.unreserve();
    }

    pub(crate) fn notify_change(&self) {
        if self.change_waiters.load(Ordering::SeqCst) > 0 {
            self.changed.notify_waiters();
        }
    }

    /// Waits until a resource goes idle, the size drops, the state
    /// changes or `deadline` passes (`false`). `ready` is checked after
    /// registering, so no change is missed.
    pub(crate) async fn wait_change(&self, deadline: Instant, ready: impl Fn() -> bool) -> bool {
        self.change_waiters.fetch_add(1, Ordering::SeqCst);
        let _registered = ChangeWaiter { shared: self };
        let notified = self.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if ready() {
            return true;
        }
        tokio::time::timeout_at(deadline, notified).await.is_ok()
    }

    /// Marks `slot` checked out.
    pub(crate) fn lease(&self, slot: &Slot<M::Resource>, location: &'static Location<'static>) {
        self.in_use.fetch_add(1, Ordering::Relaxed);
        slot.meta.uses.fetch_add(1, Ordering::Relaxed);
        slot.meta.in_use.store(true, Ordering::Relaxed);
        if self.config.leak_threshold.is_some() {
            *lock(&slot.meta.lease) = Some(Lease {
                since: Instant::now(),
                location,
                reported: false,
            });
        }
    }

    /// Marks `slot` no longer checked out.
    pub(crate) fn unlease(&self, meta: &ResourceMeta) {
        self.in_use.fetch_sub(1, Ordering::Relaxed);
        meta.in_use.store(false, Ordering::Relaxed);
        if self.config.leak_threshold.is_some() {
            *lock(&meta.lease) = None;
        }
    }

    /// Whether a returned resource must go rather than be idle again.
    pub(crate) fn must_discard(&self, meta: &ResourceMeta) -> bool {
        self.is_closed()
            || self.size() > self.max_size.load(Ordering::Acquire)
            || (self.config.max_lifetime.is_some() && meta.expired(Instant::now()))
    }

    /// Every checked-out resource held longer than `threshold` and not yet
    /// reported: its id, how long, and where it was acquired.
    pub(crate) fn new_leaks(
        &self,
        threshold: Duration,
    ) -> Vec<(u64, Duration, &'static Location<'static>)> {
        let now = Instant::now();
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
        let now = Instant::now();
        let mut resources: Vec<ResourceStatus> = lock(&self.resources)
            .values()
            .map(|meta| ResourceStatus {
                id: meta.id,
                age: now.duration_since(meta.created),
                uses: meta.uses.load(Ordering::Relaxed),
                in_use: meta.in_use.load(Ordering::Relaxed),
            })
            .collect();
        resources.sort_by_key(|resource| resource.id);
        PoolStatus {
            name: self.config.name.clone(),
            state: self.state(),
            max_size: self.max_size.load(Ordering::Acquire),
            min_size: self.min_size.load(Ordering::Acquire),
            size: self.size(),
            idle: self.idle_len(),
            in_use: self.in_use(),
            waiting: self.waiting.load(Ordering::Relaxed),
            created: self.created.load(Ordering::Relaxed),
            destroyed: self.destroyed.load(Ordering::Relaxed),
            failed_creates: self.failed_creates.load(Ordering::Relaxed),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            resources,
        }
    }
}

/// Room for one resource; given back on drop unless filled.
#[derive(Debug)]
pub(crate) struct Reservation<M: Manager> {
    shared: Arc<Shared<M>>,
    armed: bool,
}

impl<M: Manager> Reservation<M> {
    /// The new resource takes the reserved room.
    pub(crate) fn fill(mut self, resource: M::Resource) -> Slot<M::Resource> {
        self.armed = false;
        let shared = &self.shared;
        let now = Instant::now();
        let meta = Arc::new(ResourceMeta {
            id: shared.next_id.fetch_add(1, Ordering::Relaxed),
            created: now,
            expires: shared.lifetime_end(now),
            uses: AtomicU64::new(0),
            in_use: AtomicBool::new(false),
            lease: Mutex::new(None),
        });
        lock(&shared.resources).insert(meta.id, Arc::clone(&meta));
        shared.created.fetch_add(1, Ordering::Relaxed);
        Slot { resource, meta }
    }
}

impl<M: Manager> Drop for Reservation<M> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.unreserve();
        }
    }
}

/// A slot permit taken from the semaphore and forgotten there: given back
/// on drop unless handed to a guard (a cancelled acquire leaks nothing).
pub(crate) struct PermitGuard<'a, M: Manager> {
    shared: &'a Shared<M>,
    armed: bool,
}

impl<'a, M: Manager> PermitGuard<'a, M> {
    pub(crate) fn new(shared: &'a Shared<M>) -> Self {
        Self {
            shared,
            armed: true,
        }
    }

    /// The guard now owns the permit.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl<M: Manager> Drop for PermitGuard<'_, M> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.release_permit();
        }
    }
}

/// Counts a waiting acquire while it waits.
pub(crate) struct WaitingGuard<'a, M: Manager> {
    shared: &'a Shared<M>,
}

impl<M: Manager> Drop for WaitingGuard<'_, M> {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

struct ChangeWaiter<'a, M: Manager> {
    shared: &'a Shared<M>,
}

impl<M: Manager> Drop for ChangeWaiter<'_, M> {
    fn drop(&mut self) {
        self.shared.change_waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A resource out of the idle queue while a callback runs on it: if the
/// future running the callback is dropped, the resource is in an unknown
/// state, so it is discarded (its room freed), never lost.
pub(crate) struct InFlight<'a, M: Manager> {
    shared: &'a Shared<M>,
    slot: Option<Slot<M::Resource>>,
}

impl<'a, M: Manager> InFlight<'a, M> {
    pub(crate) fn new(shared: &'a Shared<M>, slot: Slot<M::Resource>) -> Self {
        Self {
            shared,
            slot: Some(slot),
        }
    }

    pub(crate) fn resource(&mut self) -> &mut M::Resource {
        &mut self.slot.as_mut().expect("present until taken").resource
    }

    pub(crate) fn id(&self) -> u64 {
        self.slot.as_ref().map_or(0, |slot| slot.meta.id)
    }

    /// The callback finished: the caller decides.
    pub(crate) fn take(mut self) -> Slot<M::Resource> {
        self.slot.take().expect("present until taken")
    }
}

impl<M: Manager> Drop for InFlight<'_, M> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.shared.discard(slot);
        }
    }
}
