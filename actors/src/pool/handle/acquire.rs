//! Checking a resource out of a [`Pool`]: an idle one without a mailbox
//! hop, else a slot waited for (first come, first served) and a create.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::{SemaphorePermit, TryAcquireError, oneshot};
use tokio::time::Instant;

use super::Pool;
use crate::metric;
use crate::pool::capacity::Reservation;
use crate::pool::config::RecycleOn;
use crate::pool::error::{PoolError, TimeoutKind};
use crate::pool::guard::PoolGuard;
use crate::pool::manager::{CallError, Manager};
use crate::pool::messages::Create;
use crate::pool::pooled::{IdleEntry, Pooled};
use crate::pool::shared::{PoolState, Unready, deadline_after};

impl<M: Manager> Pool<M> {
    /// Checks a resource out. An idle resource is recycled (and checked,
    /// with `test_on_checkout`) first; without one, the keeper creates
    /// one. Without a [`wait_timeout`](crate::pool::PoolBuilder::wait_timeout)
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
        let permit = match shared.slots.semaphore().try_acquire() {
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
                let acquired = shared.slots.semaphore().acquire().await;
                if let (Ok(_), Some(started)) = (&acquired, started) {
                    shared.record_wait(started.elapsed());
                }
                acquired
            }
            Patience::Bounded(wait) => {
                let _waiting = shared.waiting();
                let acquire = shared.slots.semaphore().acquire();
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

    /// Has the keeper create a resource into `reservation`, and waits
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
        // No reply: the keeper is gone, or closed the pool.
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

/// The reply to a create request. Dropped before the reply was taken (the
/// acquire was cancelled), it makes a resource that did arrive idle, so it
/// is never lost.
struct PendingCreate<'a, M: Manager> {
    receiver: oneshot::Receiver<Result<Pooled<M::Resource>, PoolError>>,
    shared: &'a PoolState<M>,
}

impl<M: Manager> Drop for PendingCreate<'_, M> {
    fn drop(&mut self) {
        self.receiver.close();
        if let Ok(Ok(pooled)) = self.receiver.try_recv() {
            self.shared.give_back(pooled, false);
        }
    }
}
