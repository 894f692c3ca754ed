//! [`Pool`]: the handle of a pool, and [`WeakPool`], one that does not
//! keep it alive.

use std::future::Future;
use std::panic::Location;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle, Recipient, WeakAddr};
use tokio::sync::{SemaphorePermit, TryAcquireError, broadcast, oneshot};
use tokio::time::Instant;

use super::breaker::Breaker;
use super::capacity::Reservation;
use super::config::{PoolConfig, RecycleOn};
use super::error::{PoolError, TimeoutKind};
use super::guard::PoolGuard;
use super::manager::{CallError, Manager};
use super::messages::{ClosePool, Create, Resize, Start, SubscribeStateRecipient};
use super::pooled::{IdleEntry, Pooled};
use super::shared::{Shared, Unready, deadline_after};
use super::status::PoolStatus;
use super::supervisor::PoolSupervisor;
use crate::lifecycle::{Lifecycle, State, StateChanged, StateView};
use crate::metric;

/// A pool of `M`'s resources: `Clone + Send + Sync`, cheap to clone;
/// clones share one pool.
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
    address: Addr<PoolSupervisor<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            address: self.address.clone(),
        }
    }
}

impl<M: Manager> std::fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.shared.name())
            .field("state", &self.shared.state())
            .field("size", &self.shared.size())
            .finish_non_exhaustive()
    }
}

/// How long an acquire waits for a slot.
#[derive(Debug, Clone, Copy)]
enum Patience {
    /// Not at all (`try_acquire`).
    None,
    /// Until a slot is free or the pool closes: no timer, no clock read.
    Unbounded,
    /// At most this long; the deadline is taken only once the fast path
    /// failed.
    Bounded(Duration),
}

impl<M: Manager> Pool<M> {
    pub(crate) async fn launch(
        manager: M,
        config: PoolConfig,
        arbiter: &ArbiterHandle,
    ) -> Result<Self, PoolError> {
        let lifecycle = Lifecycle::new(config.name.clone());
        let view = lifecycle.view();
        let breaker = Breaker::new(
            config.failure_threshold,
            config.probe_interval,
            config.quiet_window,
        );
        let address = PoolSupervisor::start_in_arbiter(arbiter, move |_| {
            PoolSupervisor::new(lifecycle, breaker)
        });
        let destroyer = address.clone().recipient();
        let shared = Arc::new(Shared::new(manager, config, view, destroyer));
        let pool = Self { shared, address };
        let (reply, started) = oneshot::channel();
        pool.address.do_send(Start {
            shared: Arc::downgrade(&pool.shared),
            reply,
        });
        let outcome = started
            .await
            .unwrap_or_else(|_| Err(pool.shared.closed_error()));
        if let Err(error) = outcome {
            pool.close().await;
            return Err(error);
        }
        tracing::debug!(target: "steward::pool", pool = pool.shared.name(), "pool started");
        Ok(pool)
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared<M> {
        &self.shared
    }

    /// The pool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The supervisor's address, for sending its messages directly.
    #[must_use]
    pub fn address(&self) -> &Addr<PoolSupervisor<M>> {
        &self.address
    }

    /// The manager the pool was built with.
    #[must_use]
    pub fn manager(&self) -> &M {
        &self.shared.manager
    }

    /// A handle that does not keep the pool alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakPool<M> {
        WeakPool {
            shared: Arc::downgrade(&self.shared),
            address: self.address.downgrade(),
        }
    }

    /// Checks a resource out. An idle resource is recycled (and checked,
    /// with `test_on_checkout`) first; without one, the supervisor creates
    /// one. Without a [`wait_timeout`](super::PoolBuilder::wait_timeout)
    /// (the default) it waits until a slot is free or the pool closes, and
    /// arms no timer.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = Vec<u8>;
    /// #     async fn create(&self) -> Result<Vec<u8>, UserError> { Ok(Vec::new()) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).max_size(2).start().await?;
    /// let mut buffer = pool.acquire().await?;
    /// buffer.push(1); // DerefMut
    /// drop(buffer);
    /// assert_eq!(pool.acquire().await?.len(), 1, "the same buffer came back");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::Timeout`] (`Wait` once the wait timeout passed,
    /// `Create` when the create attempts timed out, `Recycle` for a recycle
    /// or check on checkout); [`PoolError::Closed`];
    /// [`PoolError::Unavailable`] while the circuit breaker is open and no
    /// idle resource is left; [`PoolError::Create`] and
    /// [`PoolError::Panicked`] from the manager.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped acquire leaves the queue and holds no slot; a
    /// resource being created for it goes idle.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<PoolGuard<M>, PoolError>> + Send + '_ {
        let location = Location::caller();
        let patience = self
            .shared
            .config
            .wait_timeout
            .map_or(Patience::Unbounded, Patience::Bounded);
        self.acquire_with(patience, location)
    }

    /// [`acquire`](Self::acquire) waiting at most `timeout` for a slot and
    /// for a resource being created for it. The timer is armed only if no
    /// slot is free at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).max_size(1).start().await?;
    /// let held = pool.acquire().await?;
    /// let late = pool.acquire_timeout(Duration::from_millis(10)).await;
    /// assert!(late.is_err(), "the only resource is held");
    /// # drop(held);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    #[track_caller]
    pub fn acquire_timeout(
        &self,
        timeout: Duration,
    ) -> impl Future<Output = Result<PoolGuard<M>, PoolError>> + Send + '_ {
        let location = Location::caller();
        self.acquire_with(Patience::Bounded(timeout), location)
    }

    /// [`acquire`](Self::acquire) without waiting for a slot: fails with
    /// [`PoolError::Busy`] when none is free. It may still wait for a
    /// create or recycle.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).max_size(1).start().await?;
    /// let held = pool.try_acquire().await?;
    /// assert!(matches!(pool.try_acquire().await, Err(steward_actors::pool::PoolError::Busy { .. })));
    /// # drop(held);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::Busy`], else as [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    #[track_caller]
    pub fn try_acquire(&self) -> impl Future<Output = Result<PoolGuard<M>, PoolError>> + Send + '_ {
        let location = Location::caller();
        self.acquire_with(Patience::None, location)
    }

    async fn acquire_with(
        &self,
        patience: Patience,
        location: &'static Location<'static>,
    ) -> Result<PoolGuard<M>, PoolError> {
        let shared = &self.shared;
        // Taken at the first wait, then shared by every later one.
        let mut deadline = None;
        let permit = match shared.semaphore.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(shared.closed_error()),
            Err(TryAcquireError::NoPermits) => self.wait_for_slot(patience, &mut deadline).await?,
        };
        // The permit's return is the guard's job (it honours a shrink that
        // is still owed permits); until then, `PermitGuard`'s.
        permit.forget();
        let permit = shared.permit_guard();
        let pooled = self.checkout(patience, &mut deadline).await?;
        shared.lease(&pooled, location);
        permit.disarm();
        Ok(PoolGuard::new(Arc::clone(shared), pooled))
    }

    /// Queues for a slot, first come first served: no timer unless the
    /// wait is bounded, and no clock read for a free slot; a wait that
    /// ends with a slot is timed and observed into
    /// `steward_pool_wait_seconds` only once a recorder is announced.
    async fn wait_for_slot(
        &self,
        patience: Patience,
        deadline: &mut Option<Instant>,
    ) -> Result<SemaphorePermit<'_>, PoolError> {
        let shared = &self.shared;
        let acquired = match patience {
            Patience::None => return Err(shared.busy_error()),
            Patience::Unbounded => {
                // The clock is read only for the histogram.
                let started = metric::wait::observing().then(Instant::now);
                let _waiting = shared.waiting();
                let acquired = shared.semaphore.acquire().await;
                if let (Ok(_), Some(started)) = (&acquired, started) {
                    shared.record_wait(started.elapsed());
                }
                acquired
            }
            Patience::Bounded(wait) => {
                let _waiting = shared.waiting();
                let acquire = shared.semaphore.acquire();
                tokio::pin!(acquire);
                // Queue first: a permit released since `try_acquire` needs
                // no deadline.
                match futures::poll!(acquire.as_mut()) {
                    Poll::Ready(acquired) => acquired,
                    Poll::Pending => {
                        let started = metric::wait::observing().then(Instant::now);
                        let deadline = *deadline.get_or_insert_with(|| deadline_after(wait));
                        let acquired = tokio::time::timeout_at(deadline, acquire)
                            .await
                            .map_err(|_| shared.timeout(TimeoutKind::Wait))?;
                        if let (Ok(_), Some(started)) = (&acquired, started) {
                            shared.record_wait(started.elapsed());
                        }
                        acquired
                    }
                }
            }
        };
        acquired.map_err(|_| shared.closed_error())
    }

    /// With a slot held: an idle resource, or a new one.
    async fn checkout(
        &self,
        patience: Patience,
        deadline: &mut Option<Instant>,
    ) -> Result<Pooled<M::Resource>, PoolError> {
        let shared = &self.shared;
        loop {
            if let Some(entry) = shared.pop_idle() {
                match self.prepare(entry).await {
                    Ok(pooled) => return Ok(pooled),
                    Err(CallError::Pool(error)) => return Err(error),
                    Err(CallError::Failed(_)) => continue,
                }
            }
            if shared.is_closed() {
                return Err(shared.closed_error());
            }
            if shared.is_unavailable() {
                return Err(shared.unavailable_error());
            }
            if let Some(reservation) = shared.capacity.reserve() {
                return self.create(reservation, patience, deadline).await;
            }
            // Full, yet a slot is ours: a resource is being created for an
            // acquire that left, checked, or destroyed after a shrink.
            shared.want();
            let ready = || {
                shared.is_closed()
                    || shared.is_unavailable()
                    || shared.idle_len() > 0
                    || shared.size() < shared.capacity.max_size()
            };
            let bound = match patience {
                Patience::None if ready() => continue,
                Patience::None => return Err(shared.busy_error()),
                Patience::Unbounded => None,
                Patience::Bounded(wait) => {
                    Some(*deadline.get_or_insert_with(|| deadline_after(wait)))
                }
            };
            if !shared.capacity.wait_for(bound, ready).await {
                return Err(shared.timeout(TimeoutKind::Wait));
            }
        }
    }

    /// Has the supervisor create a resource into `reservation`, and waits
    /// for it (within the deadline, if there is one) or for the pool to
    /// close.
    async fn create(
        &self,
        reservation: Reservation,
        patience: Patience,
        deadline: &mut Option<Instant>,
    ) -> Result<Pooled<M::Resource>, PoolError> {
        let shared = &self.shared;
        let (reply, receiver) = oneshot::channel();
        self.address.do_send(Create { reservation, reply });
        let mut pending = PendingCreate { receiver, shared };
        let bound = match patience {
            Patience::Bounded(wait) => Some(*deadline.get_or_insert_with(|| deadline_after(wait))),
            Patience::None | Patience::Unbounded => None,
        };
        let replied = {
            let reply = &mut pending.receiver;
            let closed = shared.closed();
            match bound {
                None => tokio::select! {
                    biased;
                    replied = reply => replied,
                    () = closed => return Err(shared.closed_error()),
                },
                Some(deadline) => tokio::select! {
                    biased;
                    replied = reply => replied,
                    () = closed => return Err(shared.closed_error()),
                    () = tokio::time::sleep_until(deadline) => {
                        return Err(shared.timeout(TimeoutKind::Wait));
                    }
                },
            }
        };
        // No reply: the supervisor is gone, or closed the pool.
        let pooled = replied.unwrap_or_else(|_| Err(shared.closed_error()))?;
        if shared.is_closed() {
            // Closed while it was being created: discard it.
            drop(Unready::new(shared, pooled));
            return Err(shared.closed_error());
        }
        Ok(pooled)
    }

    /// Recycles (and checks) an idle resource on checkout, as configured.
    async fn prepare(
        &self,
        entry: IdleEntry<M::Resource>,
    ) -> Result<Pooled<M::Resource>, CallError> {
        let shared = &*self.shared;
        let config = &shared.config;
        let recycle = config.recycle_on == RecycleOn::Checkout || entry.recycle_owed;
        if !recycle && !config.test_on_checkout {
            return Ok(entry.pooled);
        }
        let mut pooled = Unready::new(shared, entry.pooled);
        let prepared = async {
            if recycle {
                shared.recycle(pooled.resource()).await?;
            }
            if config.test_on_checkout {
                shared.check(pooled.resource()).await?;
            }
            Ok::<(), CallError>(())
        }
        .await;
        match prepared {
            Ok(()) => Ok(pooled.take()),
            Err(error) => {
                tracing::debug!(target: "steward::pool", pool = shared.name(), id = pooled.id(), error = %error.describe(), "resource failed on checkout; discarded");
                // Dropping it discards it.
                drop(pooled);
                Err(error)
            }
        }
    }

    /// The pool's state, sizes and counters now; no mailbox hop.
    #[must_use]
    pub fn status(&self) -> PoolStatus {
        self.shared.status()
    }

    /// The pool's lifecycle state now; no mailbox hop.
    #[must_use]
    pub fn state(&self) -> State {
        self.shared.state()
    }

    /// A cloneable view of the pool's state, to wait for one (see
    /// [`StateView::wait_for`]).
    #[must_use]
    pub fn view(&self) -> &StateView {
        self.shared.view()
    }

    /// Whether the pool stopped admitting acquires (it is closing or
    /// closed).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Changes `max_size`; see [`Resize`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).max_size(2).start().await?;
    /// pool.resize(8).await?;
    /// assert_eq!(pool.status().max_size, 8);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::Invalid`] for 0 or above [`MAX_SIZE`](super::MAX_SIZE);
    /// [`PoolError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not resize the pool.
    pub async fn resize(&self, max_size: usize) -> Result<(), PoolError> {
        crate::sync::try_ask(&self.address, Resize(max_size), || {
            self.shared.closed_error()
        })
        .await
    }

    /// Closes the pool: every waiter, those waiting for a resource being
    /// created included, fails with `Closed` at once; creates in flight
    /// are cancelled (a resource that arrives anyway is destroyed); later
    /// acquires fail; idle resources are destroyed now and checked-out
    /// ones when they come back. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).min_size(1).start().await?;
    /// pool.close().await;
    /// assert_eq!(pool.status().size, 0);
    /// assert!(pool.try_acquire().await.unwrap_err().is_closed());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Admission stops at the first poll; dropping the future later only
    /// stops waiting for the idle resources' destruction.
    pub async fn close(&self) {
        self.shared.stop_admitting();
        // A supervisor already gone has nothing left to destroy.
        let _ = self.address.send(ClosePool).await;
    }

    /// Closes the pool as [`close`](Self::close) does, then waits at most
    /// `timeout` for the checked-out resources to come back (they are
    /// destroyed as they do).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).start().await?;
    /// let held = pool.acquire().await?;
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(Duration::from_millis(5)).await;
    ///     drop(held);
    /// });
    /// pool.drain(Duration::from_secs(5)).await?;
    /// assert_eq!(pool.status().size, 0);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::DrainTimeout`] naming how many were still out; they are
    /// destroyed when they come back.
    ///
    /// # Cancel safety
    ///
    /// Admission stops at the first poll; dropping the future later only
    /// stops waiting.
    pub async fn drain(&self, timeout: Duration) -> Result<(), PoolError> {
        let shared = &self.shared;
        self.close().await;
        let drained = || shared.is_drained();
        if !drained() {
            let deadline = deadline_after(timeout);
            shared.capacity.wait_for(Some(deadline), drained).await;
        }
        let in_use = shared.in_use();
        if in_use > 0 {
            return Err(PoolError::DrainTimeout {
                pool: shared.name().to_owned(),
                in_use,
                waited: timeout,
            });
        }
        Ok(())
    }

    /// Every later move of the pool's lifecycle, for plain async code; no
    /// mailbox hop. The stream ends once the supervisor is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::{State, UserError};
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = Pool::builder(Numbers).start().await?;
    /// let mut moves = pool.subscribe();
    /// pool.close().await;
    /// assert_eq!(moves.recv().await?.to, State::Closing);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        self.shared.view().subscribe()
    }

    /// Delivers the pool's later lifecycle moves to an actor.
    pub fn subscribe_recipient(&self, recipient: Recipient<StateChanged>) {
        // Lost only when the supervisor is gone: then no move would come.
        self.address.do_send(SubscribeStateRecipient(recipient));
    }
}

/// A [`Pool`] handle that does not keep the pool alive (as `steward` holds
/// the pools it closes at shutdown).
pub struct WeakPool<M: Manager> {
    shared: Weak<Shared<M>>,
    address: WeakAddr<PoolSupervisor<M>>,
}

impl<M: Manager> Clone for WeakPool<M> {
    fn clone(&self) -> Self {
        Self {
            shared: Weak::clone(&self.shared),
            address: self.address.clone(),
        }
    }
}

impl<M: Manager> std::fmt::Debug for WeakPool<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeakPool").finish_non_exhaustive()
    }
}

impl<M: Manager> WeakPool<M> {
    /// The pool, if a [`Pool`] handle or a guard still holds it.
    #[must_use]
    pub fn upgrade(&self) -> Option<Pool<M>> {
        Some(Pool {
            shared: self.shared.upgrade()?,
            address: self.address.upgrade()?,
        })
    }
}

/// The reply to a create request. Dropped before the reply was taken (the
/// acquire was cancelled), it makes a resource that did arrive idle, so it
/// is never lost.
struct PendingCreate<'a, M: Manager> {
    receiver: oneshot::Receiver<Result<Pooled<M::Resource>, PoolError>>,
    shared: &'a Shared<M>,
}

impl<M: Manager> Drop for PendingCreate<'_, M> {
    fn drop(&mut self) {
        self.receiver.close();
        if let Ok(Ok(pooled)) = self.receiver.try_recv() {
            self.shared.give_back(pooled, false);
        }
    }
}
