//! A resource keeper's settings, as its builder gathers them and the
//! keeper reads them.

use std::time::Duration;

use super::ResourceError;
use crate::retry::RetryPolicy;

/// How long one initialization attempt may take unless the policy says.
pub(super) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The keeper's settings; see [`ResourceKeeperBuilder`](super::ResourceKeeperBuilder).
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) retry: RetryPolicy,
    pub(super) health_check_interval: Option<Duration>,
    pub(super) health_check_timeout: Duration,
    pub(super) failure_threshold: u32,
    pub(super) drop_close_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            // Bounded by default: a hung `initialize` is an attempt that
            // failed, not a keeper stuck in `Initializing`.
            retry: RetryPolicy::default().with_attempt_timeout(DEFAULT_ATTEMPT_TIMEOUT),
            health_check_interval: Some(Duration::from_secs(30)),
            health_check_timeout: Duration::from_secs(5),
            failure_threshold: 3,
            drop_close_timeout: crate::budget::CLOSE,
        }
    }
}

impl Settings {
    pub(super) fn validate(&self, name: &str) -> Result<(), ResourceError> {
        self.retry
            .validate()
            .map_err(|error| ResourceError::invalid_policy(name, &error))?;
        let problem = if self.health_check_interval == Some(Duration::ZERO) {
            "health_check_interval must be above zero"
        } else if self.health_check_timeout.is_zero() {
            "health_check_timeout must be above zero"
        } else if self.failure_threshold == 0 {
            "failure_threshold must be at least 1"
        } else {
            return Ok(());
        };
        Err(ResourceError::InvalidSettings {
            name: name.to_owned(),
            problem: problem.to_owned(),
        })
    }
}
