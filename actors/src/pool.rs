//! A supervised pool of expensive resources (connections, sessions,
//! workers), with a circuit breaker none of the peers has.
//!
//! - A [`Manager`] says how to create, recycle, check and destroy a
//!   resource; [`Pool::builder`] sets sizes, timeouts, lifetimes and
//!   checks.
//! - [`Pool::acquire`] returns a [`PoolGuard`] that derefs to the resource
//!   and gives it back when dropped. Taking an idle resource touches only a
//!   semaphore and the idle queue: no mailbox hop. Waiters are served
//!   first come, first served.
//! - The [`PoolSupervisor`] actor owns everything else: creation (each
//!   attempt bounded, retried under the pool's
//!   [`RetryPolicy`](crate::retry::RetryPolicy)), replacement, reaping of
//!   idle and expired resources (lifetimes are jittered), background health
//!   checks of idle resources, `min_size` refill, resize, close.
//! - After `failure_threshold` consecutive failed creates the pool goes
//!   `Degraded` then `Error` (the [`lifecycle`](crate::lifecycle) states):
//!   an acquire that would need a new resource then fails at once with
//!   [`PoolError::Unavailable`], while one probe create at a time checks
//!   the backend; the first that succeeds makes the pool `Ready` again.
//! - Every manager callback is bounded and run under `catch_unwind`; a
//!   failure or a panic costs the resource, never the slot. A dropped
//!   acquire future leaks nothing.
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use steward_actors::pool::{Manager, Pool};
//! use steward_actors::UserError;
//!
//! struct Connections {
//!     opened: AtomicU32,
//! }
//!
//! impl Manager for Connections {
//!     type Resource = String;
//!
//!     async fn create(&self) -> Result<String, UserError> {
//!         let n = self.opened.fetch_add(1, Ordering::SeqCst);
//!         Ok(format!("connection {n}"))
//!     }
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::pool::PoolError> {
//! let pool = Pool::builder(Connections { opened: AtomicU32::new(0) })
//!     .name("db")
//!     .max_size(4)
//!     .min_size(1)
//!     .acquire_timeout(Duration::from_secs(5))
//!     .start()
//!     .await?;
//!
//! {
//!     let connection = pool.acquire().await?;
//!     assert_eq!(*connection, "connection 0");
//!     assert_eq!(pool.status().in_use, 1);
//! } // back in the pool here
//!
//! assert_eq!((pool.status().idle, pool.status().in_use), (1, 0));
//! pool.close().await;
//! assert!(pool.acquire().await.unwrap_err().is_closed());
//! # Ok(())
//! # }
//! ```

mod builder;
mod error;
mod guard;
mod manager;
mod slots;
mod status;
mod supervisor;

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle, Recipient};
use tokio::sync::{TryAcquireError, broadcast, oneshot};
use tokio::time::Instant;

pub use builder::{MAX_SIZE, PoolBuilder, QueueMode, RecycleOn};
pub use error::{PoolError, TimeoutKind};
pub use guard::PoolGuard;
pub use manager::Manager;
pub use status::{PoolStatus, ResourceStatus};
pub use supervisor::{ClosePool, PoolSupervisor, Resize, SubscribeState, SubscribeStateRecipient};

use crate::lifecycle::{State, StateChanged};
use builder::{PoolConfig, RecycleOn as Recycle};
use manager::{CallError, guarded};
use slots::{InFlight, PermitGuard, Shared, Slot};
use supervisor::{Create, Start};

/// A pool of `M`'s resources: `Clone + Send + Sync`, cheap to clone;
/// clones share one pool.
pub struct Pool<M: Manager> {
    shared: Arc<Shared<M>>,
}

impl<M: Manager> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
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

impl<M: Manager> Pool<M> {
    /// Settings for a pool of `manager`'s resources.
    pub fn builder(manager: M) -> PoolBuilder<M> {
        PoolBuilder::new(manager)
    }

    pub(crate) async fn launch(
        manager: M,
        config: PoolConfig,
        arbiter: &ArbiterHandle,
    ) -> Result<Self, PoolError> {
        let name = config.name.clone();
        let shared = Arc::new_cyclic(|weak| {
            let weak = weak.clone();
            let supervisor =
                PoolSupervisor::start_in_arbiter(arbiter, move |_| PoolSupervisor::new(weak, name));
            Shared::new(manager, config, supervisor)
        });
        let pool = Self { shared };
        let (reply, started) = oneshot::channel();
        pool.shared.supervisor.do_send(Start { reply });
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

    /// The pool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The supervisor's address, for sending its messages directly.
    #[must_use]
    pub fn supervisor(&self) -> &Addr<PoolSupervisor<M>> {
        &self.shared.supervisor
    }

    /// The manager the pool was built with.
    #[must_use]
    pub fn manager(&self) -> &M {
        &self.shared.manager
    }

    /// Checks a resource out, waiting at most the pool's `acquire_timeout`
    /// for a free slot. An idle resource is recycled (and checked, with
    /// `test_on_checkout`) first; without one, the supervisor creates one.
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
    /// [`PoolError::Timeout`] (`Wait` for the slot, `Create` for a create
    /// attempt, `Recycle` for a recycle or check on checkout);
    /// [`PoolError::Closed`]; [`PoolError::Unavailable`] while the pool is
    /// in `Error` and no idle resource is left; [`PoolError::Create`] and
    /// [`PoolError::Panicked`] from the manager.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped acquire leaves the queue and holds no slot; a
    /// resource being created for it goes idle.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<PoolGuard<M>, PoolError>> + Send + '_ {
        let location = Location::caller();
        self.acquire_within(Some(self.shared.config.acquire_timeout), location)
    }

    /// [`acquire`](Self::acquire) waiting at most `timeout` for a slot.
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
        self.acquire_within(Some(timeout), location)
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
        self.acquire_within(None, location)
    }

    /// `wait: None` means do not wait for a slot.
    async fn acquire_within(
        &self,
        wait: Option<Duration>,
        location: &'static Location<'static>,
    ) -> Result<PoolGuard<M>, PoolError> {
        let shared = &self.shared;
        if shared.is_closed() {
            return Err(shared.closed_error());
        }
        // Read the clock only when waiting: the idle path never does.
        let mut deadline = None;
        let permit = match shared.semaphore.try_acquire() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(shared.closed_error()),
            Err(TryAcquireError::NoPermits) => {
                let Some(wait) = wait else {
                    return Err(self.busy());
                };
                let deadline = *deadline.insert(deadline_after(wait));
                let _waiting = shared.waiting();
                let acquire = shared.semaphore.acquire();
                tokio::pin!(acquire);
                // Queue first; only a waiter that must really wait pays for
                // a timer.
                let acquired = match futures::FutureExt::now_or_never(&mut acquire) {
                    Some(acquired) => Ok(acquired),
                    None => tokio::time::timeout_at(deadline, acquire).await,
                };
                match acquired {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) => return Err(shared.closed_error()),
                    Err(_) => return Err(shared.timeout(TimeoutKind::Wait)),
                }
            }
        };
        // The permit's return is the guard's job (it honours a shrink that
        // is still owed permits); until then, `PermitGuard`'s.
        permit.forget();
        let permit = PermitGuard::new(shared);
        let slot = self.checkout(wait, deadline).await?;
        shared.lease(&slot, location);
        permit.disarm();
        Ok(PoolGuard::new(Arc::clone(shared), slot))
    }

    /// With a slot held: an idle resource, or a new one.
    async fn checkout(
        &self,
        wait: Option<Duration>,
        mut deadline: Option<Instant>,
    ) -> Result<Slot<M::Resource>, PoolError> {
        let shared = &self.shared;
        loop {
            if let Some(slot) = shared.pop_idle() {
                let mut slot = InFlight::new(shared, slot);
                match self.prepare(slot.resource()).await {
                    Ok(()) => return Ok(slot.take()),
                    Err(error) => {
                        tracing::debug!(target: "steward::pool", pool = shared.name(), id = slot.id(), error = %error.describe(), "resource failed on checkout; discarded");
                        // Dropping it discards it.
                        drop(slot);
                        if let CallError::Pool(error) = error {
                            return Err(error);
                        }
                        continue;
                    }
                }
            }
            if shared.is_closed() {
                return Err(shared.closed_error());
            }
            if shared.is_unavailable() {
                return Err(shared.unavailable_error());
            }
            if let Some(reservation) = shared.reserve() {
                let (reply, created) = oneshot::channel();
                shared.supervisor.do_send(Create { reservation, reply });
                let mut created = PendingCreate {
                    receiver: created,
                    shared,
                };
                let slot = (&mut created.receiver)
                    .await
                    .unwrap_or_else(|_| Err(shared.closed_error()))?;
                if shared.is_closed() {
                    // Closed while it was being created: discard it.
                    drop(InFlight::new(shared, slot));
                    return Err(shared.closed_error());
                }
                return Ok(slot);
            }
            // Full, yet a slot is ours: a resource is being created for an
            // acquire that left, checked, or destroyed after a shrink.
            let ready = || {
                shared.is_closed()
                    || shared.is_unavailable()
                    || shared.idle_len() > 0
                    || shared.size() < shared.max_size.load(std::sync::atomic::Ordering::Acquire)
            };
            let Some(wait) = wait else {
                if shared.wait_change(Instant::now(), ready).await {
                    continue;
                }
                return Err(self.busy());
            };
            let deadline = *deadline.get_or_insert_with(|| deadline_after(wait));
            if !shared.wait_change(deadline, ready).await {
                return Err(shared.timeout(TimeoutKind::Wait));
            }
        }
    }

    /// Recycles (and checks) an idle resource on checkout, as configured.
    async fn prepare(&self, resource: &mut M::Resource) -> Result<(), CallError> {
        let shared = &self.shared;
        let config = &shared.config;
        if config.recycle_on == Recycle::Checkout {
            guarded(
                shared.name(),
                "recycle",
                TimeoutKind::Recycle,
                config.recycle_timeout,
                shared.manager.recycle(resource),
            )
            .await?;
        }
        if config.test_on_checkout {
            guarded(
                shared.name(),
                "check",
                TimeoutKind::Recycle,
                config.recycle_timeout,
                shared.manager.check(resource),
            )
            .await?;
        }
        Ok(())
    }

    fn busy(&self) -> PoolError {
        PoolError::Busy {
            pool: self.shared.name().to_owned(),
            max_size: self
                .shared
                .max_size
                .load(std::sync::atomic::Ordering::Acquire),
        }
    }

    /// The pool's state, sizes and counters now; no mailbox hop.
    #[must_use]
    pub fn status(&self) -> PoolStatus {
        self.shared.status()
    }

    /// The pool's lifecycle state now.
    #[must_use]
    pub fn state(&self) -> State {
        self.shared.state()
    }

    /// Whether the pool has been closed.
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
    /// [`PoolError::Invalid`] for 0 or above [`MAX_SIZE`];
    /// [`PoolError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not resize the pool.
    pub async fn resize(&self, max_size: usize) -> Result<(), PoolError> {
        self.shared
            .supervisor
            .send(Resize(max_size))
            .await
            .map_err(|_| self.shared.closed_error())?
    }

    /// Closes the pool: waiters fail with `Closed` at once, later acquires
    /// fail, idle resources are destroyed now and checked-out ones when
    /// they come back. Idempotent.
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
        let _ = self.shared.supervisor.send(ClosePool).await;
    }

    /// Stops admitting acquires, waits at most `timeout` for checked-out
    /// resources to come back, then closes the pool.
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
    /// [`PoolError::DrainTimeout`] naming how many were still out; the pool
    /// is closed anyway and destroys them when they come back.
    ///
    /// # Cancel safety
    ///
    /// Admission stops at the first poll; dropping the future later leaves
    /// the pool not admitting but not closed; call [`close`](Self::close).
    pub async fn drain(&self, timeout: Duration) -> Result<(), PoolError> {
        let shared = &self.shared;
        shared.stop_admitting();
        let deadline = deadline_after(timeout);
        let back = || shared.in_use() == 0;
        while !back() {
            if !shared.wait_change(deadline, back).await {
                break;
            }
        }
        let in_use = shared.in_use();
        self.close().await;
        if in_use > 0 {
            return Err(PoolError::DrainTimeout {
                pool: shared.name().to_owned(),
                in_use,
                waited: timeout,
            });
        }
        Ok(())
    }

    /// A stream of the pool's later lifecycle moves.
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
    /// let mut moves = pool.subscribe().await?;
    /// pool.close().await;
    /// assert_eq!(moves.recv().await?.to, State::Closing);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::Closed`] if the supervisor is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<StateChanged>, PoolError> {
        self.shared
            .supervisor
            .send(SubscribeState)
            .await
            .map_err(|_| self.shared.closed_error())
    }

    /// Delivers the pool's later lifecycle moves to an actor.
    pub fn subscribe_recipient(&self, recipient: Recipient<StateChanged>) {
        self.shared
            .supervisor
            .do_send(SubscribeStateRecipient(recipient));
    }
}

/// `wait` from now; a wait too long for an `Instant` (`Duration::MAX`, a
/// way to say "forever") becomes thirty years.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600))
}

/// The reply to a create request. Dropped before the reply was taken (the
/// acquire was cancelled), it puts a slot that did arrive back as idle,
/// so the slot is never lost.
struct PendingCreate<'a, M: Manager> {
    receiver: oneshot::Receiver<Result<Slot<M::Resource>, PoolError>>,
    shared: &'a Arc<Shared<M>>,
}

impl<M: Manager> Drop for PendingCreate<'_, M> {
    fn drop(&mut self) {
        self.receiver.close();
        if let Ok(Ok(slot)) = self.receiver.try_recv() {
            self.shared.push_idle(slot);
        }
    }
}

#[cfg(test)]
mod tests;
