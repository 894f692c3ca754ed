//! The retry policy: how many attempts, how long between them.

use std::time::Duration;

use super::{Backoff, InvalidPolicy};

/// How often to retry and how long to wait in between.
///
/// The delay before retry `n` (counting from 0) is
/// `min(max_delay, base_delay × multiplierⁿ)`, then spread by `jitter`:
/// a jitter of `0.2` picks uniformly within ±20 % of it (never above
/// `max_delay`). Each attempt may be bounded by `attempt_timeout`; an
/// attempt that runs out of time counts as a retryable failure.
///
/// The jitter comes from a seedable generator: set `seed` to replay the
/// exact delays (in tests); leave it `None` to seed from the OS.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steward_actors::retry::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .with_max_retries(4)
///     .with_base_delay(Duration::from_millis(100))
///     .with_multiplier(2.0)
///     .with_jitter(0.0);
/// let delays: Vec<_> = policy.backoff().collect();
/// assert_eq!(delays, [100, 200, 400, 800].map(Duration::from_millis));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts after the first; `0` means try once.
    pub max_retries: u32,
    /// The delay before the first retry.
    pub base_delay: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// How much the delay grows per retry; at least `1.0`.
    pub multiplier: f64,
    /// How far a delay may be spread, as a fraction in `0.0..=1.0`.
    pub jitter: f64,
    /// The longest one attempt may take; `None` for no bound.
    pub attempt_timeout: Option<Duration>,
    /// The jitter generator's seed; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// Three retries from 100 ms, doubling up to 30 s, ±10 % jitter, no
    /// attempt timeout.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.1,
            attempt_timeout: None,
            seed: None,
        }
    }
}

impl RetryPolicy {
    /// A policy that tries once and never retries.
    #[must_use]
    pub fn never() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets [`max_retries`](Self::max_retries).
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets [`base_delay`](Self::base_delay).
    #[must_use]
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets [`max_delay`](Self::max_delay).
    #[must_use]
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets [`multiplier`](Self::multiplier).
    #[must_use]
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`attempt_timeout`](Self::attempt_timeout).
    #[must_use]
    pub fn with_attempt_timeout(mut self, attempt_timeout: Duration) -> Self {
        self.attempt_timeout = Some(attempt_timeout);
        self
    }

    /// Sets [`seed`](Self::seed).
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Checks that the numbers make sense together.
    ///
    /// # Errors
    ///
    /// [`InvalidPolicy`] naming the field: a multiplier below 1 or not
    /// finite, a jitter outside `0.0..=1.0`, `base_delay` above
    /// `max_delay`, or a zero `attempt_timeout`.
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(InvalidPolicy::new(
                "multiplier",
                self.multiplier,
                "must be a finite number of at least 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(InvalidPolicy::new(
                "jitter",
                self.jitter,
                "must be between 0 and 1",
            ));
        }
        if self.base_delay > self.max_delay {
            return Err(InvalidPolicy::new(
                "base_delay",
                format_args!("{:?}", self.base_delay),
                "must not exceed max_delay",
            ));
        }
        if self.attempt_timeout == Some(Duration::ZERO) {
            return Err(InvalidPolicy::new(
                "attempt_timeout",
                "0s",
                "must be above zero",
            ));
        }
        Ok(())
    }

    /// The delays before each retry, in order: `max_retries` of them.
    #[must_use]
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self)
    }

    /// The delay before retry `retry` (from 0) without jitter.
    #[must_use]
    pub fn nominal_delay(&self, retry: u32) -> Duration {
        let max = self.max_delay.as_secs_f64();
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let grown = self.base_delay.as_secs_f64() * self.multiplier.max(1.0).powi(exponent);
        if !grown.is_finite() {
            return self.max_delay;
        }
        // Past what a `Duration` holds (a `max_delay` of `Duration::MAX`),
        // the cap itself is the delay.
        Duration::try_from_secs_f64(grown.min(max)).unwrap_or(self.max_delay)
    }
}
