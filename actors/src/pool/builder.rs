//! [`PoolBuilder`]: a pool's settings, checked, then started.

use std::time::Duration;

use actix::ArbiterHandle;

use super::{Manager, Pool, PoolError};
use crate::retry::RetryPolicy;

/// The largest `max_size`: far above any useful pool, well inside what a
/// tokio semaphore holds.
pub const MAX_SIZE: usize = 1 << 24;

/// Which idle resource an acquire takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMode {
    /// The one idle longest: use is spread over every resource.
    #[default]
    Fifo,
    /// The one returned last: hot resources stay hot, the rest reach
    /// `idle_timeout` and are reaped.
    Lifo,
}

/// When [`Manager::recycle`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecycleOn {
    /// When an idle resource is checked out (as deadpool does).
    #[default]
    Checkout,
    /// When a resource comes back, on a task, before it is idle again.
    Return,
    /// Never.
    Never,
}

/// A pool's settings. Build with [`Pool::builder`].
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) name: String,
    pub(crate) max_size: usize,
    pub(crate) min_size: usize,
    pub(crate) acquire_timeout: Duration,
    pub(crate) create_timeout: Duration,
    pub(crate) recycle_timeout: Duration,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) lifetime_jitter: f64,
    pub(crate) health_check_interval: Option<Duration>,
    pub(crate) test_on_checkout: bool,
    pub(crate) recycle_on: RecycleOn,
    pub(crate) queue_mode: QueueMode,
    pub(crate) leak_threshold: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) failure_threshold: u32,
    pub(crate) probe_interval: Duration,
    pub(crate) maintenance_interval: Duration,
    pub(crate) seed: Option<u64>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "pool".to_owned(),
            max_size: 10,
            min_size: 0,
            acquire_timeout: Duration::from_secs(30),
            create_timeout: Duration::from_secs(30),
            recycle_timeout: Duration::from_secs(30),
            idle_timeout: None,
            max_lifetime: None,
            lifetime_jitter: 0.1,
            health_check_interval: None,
            test_on_checkout: false,
            recycle_on: RecycleOn::Checkout,
            queue_mode: QueueMode::Fifo,
            leak_threshold: None,
            retry: RetryPolicy::default(),
            failure_threshold: 3,
            probe_interval: Duration::from_secs(1),
            maintenance_interval: Duration::from_secs(1),
            seed: None,
        }
    }
}

impl PoolConfig {
    pub(crate) fn invalid(
        &self,
        field: &'static str,
        value: impl std::fmt::Debug,
        problem: &'static str,
    ) -> PoolError {
        PoolError::Invalid {
            pool: self.name.clone(),
            field,
            value: format!("{value:?}"),
            problem,
        }
    }

    fn validate(&self) -> Result<(), PoolError> {
        if !(1..=MAX_SIZE).contains(&self.max_size) {
            return Err(self.invalid("max_size", self.max_size, "must be 1 to 2^24"));
        }
        if self.min_size > self.max_size {
            return Err(self.invalid("min_size", self.min_size, "must not exceed max_size"));
        }
        let durations = [
            ("acquire_timeout", Some(self.acquire_timeout)),
            ("create_timeout", Some(self.create_timeout)),
            ("recycle_timeout", Some(self.recycle_timeout)),
            ("probe_interval", Some(self.probe_interval)),
            ("maintenance_interval", Some(self.maintenance_interval)),
            ("idle_timeout", self.idle_timeout),
            ("max_lifetime", self.max_lifetime),
            ("health_check_interval", self.health_check_interval),
        ];
        for (field, value) in durations {
            if value == Some(Duration::ZERO) {
                return Err(self.invalid(field, Duration::ZERO, "must be above zero"));
            }
        }
        if !(0.0..=1.0).contains(&self.lifetime_jitter) {
            return Err(self.invalid("lifetime_jitter", self.lifetime_jitter, "must be 0 to 1"));
        }
        if self.failure_threshold == 0 {
            return Err(self.invalid("failure_threshold", 0, "must be at least 1"));
        }
        self.retry
            .validate()
            .map_err(|_| self.invalid("retry", &self.retry, "is not a valid retry policy"))
    }
}

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
///     .acquire_timeout(Duration::from_secs(5))
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

impl<M: Manager> PoolBuilder<M> {
    pub(crate) fn new(manager: M) -> Self {
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
    setter!(
        /// The bound on waiting for a free slot. Default 30 s.
        acquire_timeout: Duration
    );
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
        /// How creates are retried, and how patiently the probe of a pool
        /// in `Error` tries. Default [`RetryPolicy::default`].
        retry: RetryPolicy
    );
    setter!(
        /// After this many consecutive failed creates the pool is `Error`
        /// and fails fast (the first failure makes it `Degraded`). Default 3.
        failure_threshold: u32
    );
    setter!(
        /// How long a pool in `Error` waits between failed probes. Default 1 s.
        probe_interval: Duration
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

    /// Starts the pool's [`PoolSupervisor`](super::PoolSupervisor) on
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
