//! [`Pool`]: the handle of a pool, and [`WeakPool`], one that does not
//! keep it alive.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::{Actor, Addr, ArbiterHandle, Recipient, WeakAddr};
use tokio::sync::{broadcast, oneshot};

use super::breaker::Breaker;
use super::config::PoolConfig;
use super::error::PoolError;
use super::keeper::PoolKeeper;
use super::manager::Manager;
use super::messages::{ClosePool, Resize, Start, SubscribeStateRecipient};
use super::shared::{PoolState, deadline_after};
use super::status::PoolStatus;
use crate::lifecycle::{Lifecycle, State, StateChanged, StateView};

mod acquire;

/// A pool of `M`'s resources: `Clone + Send + Sync`, cheap to clone;
/// clones share one pool.
pub struct Pool<M: Manager> {
    shared: Arc<PoolState<M>>,
    address: Addr<PoolKeeper<M>>,
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
        let address =
            PoolKeeper::start_in_arbiter(arbiter, move |_| PoolKeeper::new(lifecycle, breaker));
        let destroyer = address.clone().recipient();
        let shared = Arc::new(PoolState::new(manager, config, view, destroyer));
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
    pub(crate) fn shared(&self) -> &PoolState<M> {
        &self.shared
    }

    /// The pool's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.shared.name()
    }

    /// The keeper's address, for sending its messages directly.
    #[must_use]
    pub fn address(&self) -> &Addr<PoolKeeper<M>> {
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
        // A keeper already gone has nothing left to destroy.
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
    /// mailbox hop. The stream ends once the keeper is gone.
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
        // Lost only when the keeper is gone: then no move would come.
        self.address.do_send(SubscribeStateRecipient(recipient));
    }
}

/// A [`Pool`] handle that does not keep the pool alive (as `steward` holds
/// the pools it closes at shutdown).
pub struct WeakPool<M: Manager> {
    shared: Weak<PoolState<M>>,
    address: WeakAddr<PoolKeeper<M>>,
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
