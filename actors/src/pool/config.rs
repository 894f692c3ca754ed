//! [`PoolConfig`]: a pool's settings, checked.

use std::time::Duration;

use super::error::PoolError;
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

/// When [`Manager::recycle`](super::Manager::recycle) runs.
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

/// A pool's settings. Build with [`Pool::builder`](super::Pool::builder).
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) name: String,
    pub(crate) max_size: usize,
    pub(crate) min_size: usize,
    /// `None`: an acquire waits for a slot until one is free or the pool
    /// closes, with no timer.
    pub(crate) wait_timeout: Option<Duration>,
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
    pub(crate) quiet_window: Duration,
    pub(crate) maintenance_interval: Duration,
    pub(crate) seed: Option<u64>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "pool".to_owned(),
            max_size: 10,
            min_size: 0,
            wait_timeout: None,
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
            quiet_window: Duration::from_secs(10),
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

    pub(crate) fn validate(&self) -> Result<(), PoolError> {
        if !(1..=MAX_SIZE).contains(&self.max_size) {
            return Err(self.invalid("max_size", self.max_size, "must be 1 to 2^24"));
        }
        if self.min_size > self.max_size {
            return Err(self.invalid("min_size", self.min_size, "must not exceed max_size"));
        }
        let durations = [
            ("wait_timeout", self.wait_timeout),
            ("create_timeout", Some(self.create_timeout)),
            ("recycle_timeout", Some(self.recycle_timeout)),
            ("probe_interval", Some(self.probe_interval)),
            ("quiet_window", Some(self.quiet_window)),
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
