//! [`PoolBuilder`]: a pool's settings, checked, then started.

use std::time::Duration;

use actix::ArbiterHandle;

use super::config::{PoolConfig, QueueMode, RecycleOn};
use super::error::PoolError;
use super::handle::Pool;
use super::manager::Manager;
use crate::retry::RetryPolicy;

/// Settings for a pool of `M`'s resources; [`start_in`](Self::start_in)
/// starts it.
///
/// # Examples
///
/// ```
/// # use steward_actors::pool::{Manager, Pool, QueueMode};
/// # use steward_actors::UserError;
/// # struct Connections;
/// # impl Manager for Connections {
/// #     type Resource = u32;
/// #     async fn create(&self) -> Result<u32, UserError> { Ok(1) }
/// # }
/// use std::time::Duration;
///
/// let builder = Pool::builder(Connections)
///     .name("db")
///     .max_size(16)
///     .min_size(2)
///     .wait_timeout(Some(Duration::from_secs(5)))
///     .idle_timeout(Duration::from_secs(300))
///     .max_lifetime(Duration::from_secs(3600))
///     .queue_mode(QueueMode::Lifo);
/// # drop(builder);
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until started"]
pub struct PoolBuilder<M> {
    pub(crate) manager: M,
    pub(crate) config: PoolConfig,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: Option<$ty:ty>) => {
        $(#[$doc])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.config.$name = Some($name);
            self
        }
    };
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, $name: $ty) -> Self {
            self.config.$name = $name;
            self
        }
    };
}

impl<M: Manager> Pool<M> {
    /// Settings for a pool of `manager`'s resources.
    pub fn builder(manager: M) -> PoolBuilder<M> {
        PoolBuilder::new(manager)
    }
}

impl<M: Manager> PoolBuilder<M> {
    fn new(manager: M) -> Self {
        Self {
            manager,
            config: PoolConfig::default(),
        }
    }

    /// The pool's name, in its errors, logs and status. Default `pool`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = name.into();
        self
    }

    setter!(
        /// At most this many resources exist at once (idle, in use or being
        /// created). Default 10.
        max_size: usize
    );
    setter!(
        /// Created at start and refilled in the background. Default 0.
        min_size: usize
    );
    /// The bound on an [`acquire`](super::Pool::acquire)'s wait for a free
    /// slot and for a resource being created for it ([`PoolError::Timeout`]
    /// of kind `Wait` once it passes). Default `None`: it waits until a
    /// slot is free or the pool closes, as deadpool does, and arms no
    /// timer. [`acquire_timeout`](super::Pool::acquire_timeout) sets a
    /// bound for one call.
    pub fn wait_timeout(mut self, wait_timeout: Option<Duration>) -> Self {
        self.config.wait_timeout = wait_timeout;
        self
    }
    setter!(
        /// The bound on one `create` attempt. Default 30 s.
        create_timeout: Duration
    );
    setter!(
        /// The bound on one `recycle` or `check`. Default 30 s.
        recycle_timeout: Duration
    );
    setter!(
        /// Idle resources above `min_size` idle this long are destroyed.
        /// Default: never.
        idle_timeout: Option<Duration>
    );
    setter!(
        /// A resource lives at most about this long: each gets a lifetime
        /// shortened by up to `lifetime_jitter` (default 10%) at random, so
        /// resources created together do not all expire together. An
        /// expired idle resource is destroyed; one in use when it comes
        /// back. Default: forever.
        max_lifetime: Option<Duration>
    );
    setter!(
        /// The fraction (0 to 1) by which lifetimes are spread. Default 0.1.
        lifetime_jitter: f64
    );
    setter!(
        /// Idle resources are checked ([`Manager::check`]) this often, in
        /// the background, one at a time, never the last idle one. Default:
        /// never.
        health_check_interval: Option<Duration>
    );
    setter!(
        /// Also run [`Manager::check`] on every checkout. Default false.
        test_on_checkout: bool
    );
    setter!(
        /// When [`Manager::recycle`] runs. Default on checkout.
        recycle_on: RecycleOn
    );
    setter!(
        /// Which idle resource an acquire takes. Waiters are always served
        /// first come, first served. Default FIFO.
        queue_mode: QueueMode
    );
    setter!(
        /// A guard held longer than this is reported (`tracing` warning
        /// with the place it was acquired). Default: off.
        leak_threshold: Option<Duration>
    );
    setter!(
        /// How a create is retried: each retry is one more attempt, and
        /// opening the circuit breaker ends every retry schedule. A probe
        /// is one attempt. Default [`RetryPolicy::default`].
        retry: RetryPolicy
    );
    setter!(
        /// After this many failed create attempts in a row the circuit
        /// breaker opens: the pool is `Error` and an acquire that needs a
        /// new resource fails fast. The first failure makes it `Degraded`:
        /// one attempt at a time. Default 3.
        failure_threshold: u32
    );
    setter!(
        /// How long a pool in `Error` waits before its first probe and
        /// between failed probes. Default 1 s.
        probe_interval: Duration
    );
    setter!(
        /// A `Degraded` pool is `Ready` again once no create attempt has
        /// failed for this long (or at once when one succeeds). Default 10 s.
        quiet_window: Duration
    );
    setter!(
        /// How often idle resources are reaped, lifetimes checked, leaks
        /// looked for and `min_size` refilled. Default 1 s.
        maintenance_interval: Duration
    );

    /// Seeds the lifetime jitter, so a test replays it.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Starts the pool's [`PoolKeeper`](super::PoolKeeper) on
    /// `arbiter`, creates `min_size` resources and returns the pool once
    /// it is `Ready`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::UserError;
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(7) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).min_size(2).start_in(&actix::Arbiter::current()).await?;
    /// assert_eq!(pool.status().idle, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PoolError::Invalid`] for a setting out of range; the real error of
    /// the first failed create ([`PoolError::Create`], `Timeout`,
    /// `Panicked`) when `min_size` cannot be filled (the pool is then
    /// closed).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves the pool's actor to fill `min_size`; the
    /// pool is dropped with its last handle.
    pub async fn start_in(self, arbiter: &ArbiterHandle) -> Result<Pool<M>, PoolError> {
        self.config.validate()?;
        Pool::launch(self.manager, self.config, arbiter).await
    }

    /// [`start_in`](Self::start_in) on the current thread's arbiter (inside
    /// an actix System).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::pool::{Manager, Pool};
    /// # use steward_actors::{State, UserError};
    /// # struct Numbers;
    /// # impl Manager for Numbers {
    /// #     type Resource = u32;
    /// #     async fn create(&self) -> Result<u32, UserError> { Ok(7) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::pool::PoolError> {
    /// let pool = Pool::builder(Numbers).start().await?;
    /// assert_eq!(pool.state(), State::Ready);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start_in`](Self::start_in).
    ///
    /// # Panics
    ///
    /// Outside an actix System.
    ///
    /// # Cancel safety
    ///
    /// As [`start_in`](Self::start_in).
    pub async fn start(self) -> Result<Pool<M>, PoolError> {
        self.start_in(&actix::Arbiter::current()).await
    }
}
