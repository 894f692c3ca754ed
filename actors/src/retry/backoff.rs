//! The sequence of delays a policy prescribes.

use std::time::Duration;

use super::RetryPolicy;

/// The delays before each retry of a [`RetryPolicy`], jitter applied.
///
/// An iterator of exactly `max_retries` delays. Two `Backoff`s of a policy
/// with the same `seed` yield the same delays.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    retry: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    pub(super) fn new(policy: &RetryPolicy) -> Self {
        let rng = policy
            .seed
            .map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Self {
            policy: policy.clone(),
            retry: 0,
            rng,
        }
    }

    fn spread(&mut self, nominal: Duration) -> Duration {
        let jitter = self.policy.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return nominal;
        }
        // Uniform in [1 - jitter, 1 + jitter].
        let factor = 1.0 - jitter + 2.0 * jitter * self.rng.f64();
        let spread = nominal.as_secs_f64() * factor;
        Duration::try_from_secs_f64(spread.min(self.policy.max_delay.as_secs_f64()))
            .unwrap_or(self.policy.max_delay)
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.retry >= self.policy.max_retries {
            return None;
        }
        let nominal = self.policy.nominal_delay(self.retry);
        self.retry += 1;
        Some(self.spread(nominal))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.policy.max_retries - self.retry).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}
