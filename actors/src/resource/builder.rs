//! Settings of a resource keeper, and starting it.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ArbiterHandle};

use super::handle::Published;
use super::settings::{DEFAULT_ATTEMPT_TIMEOUT, Settings};
use super::{Managed, Resource, ResourceError, ResourceKeeper};
use crate::retry::RetryPolicy;

/// Builds and starts a [`ResourceKeeper`].
///
/// Defaults: [`RetryPolicy::default`] with a 30 s attempt timeout, a health check every 30 s bounded
/// by 5 s, `Error` after 3 failed checks in a row, 5 s for the cleanup
/// when the last handle is dropped without [`Managed::close`].
#[derive(Debug)]
#[must_use = "a builder does nothing until started"]
pub struct ResourceKeeperBuilder<R> {
    name: String,
    resource: Arc<R>,
    settings: Settings,
}

impl<R: Resource> ResourceKeeperBuilder<R> {
    pub(super) fn new(name: String, resource: Arc<R>) -> Self {
        Self {
            name,
            resource,
            settings: Settings::default(),
        }
    }

    /// The retry policy for initialization and recovery. A policy without
    /// an `attempt_timeout` gets 30 s: a hung `initialize` must end as a
    /// failed attempt, never hold the keeper in `Initializing`.
    pub fn retry(mut self, mut policy: RetryPolicy) -> Self {
        policy
            .attempt_timeout
            .get_or_insert(DEFAULT_ATTEMPT_TIMEOUT);
        self.settings.retry = policy;
        self
    }

    /// How often to check health while the resource is usable.
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.settings.health_check_interval = Some(interval);
        self
    }

    /// Turns background health checks off ([`Managed::check_health`]
    /// still works).
    pub fn without_health_checks(mut self) -> Self {
        self.settings.health_check_interval = None;
        self
    }

    /// How long one health check may take before it counts as failed.
    pub fn health_check_timeout(mut self, timeout: Duration) -> Self {
        self.settings.health_check_timeout = timeout;
        self
    }

    /// How many failed checks in a row send the resource to `Error`.
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.settings.failure_threshold = failures;
        self
    }

    /// How long the cleanup may take when the last handle is dropped
    /// without a [`Managed::close`].
    pub fn drop_close_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drop_close_timeout = timeout;
        self
    }

    /// Starts the keeper on the current thread's arbiter. The resource
    /// stays `Uninitialized` until [`Managed::initialize`].
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidSettings`] naming the bad setting, or
    /// [`ResourceError::NoArbiter`] outside an actix System.
    pub fn start(self) -> Result<Managed<R>, ResourceError> {
        let Some(arbiter) = actix::Arbiter::try_current() else {
            return Err(ResourceError::NoArbiter { name: self.name });
        };
        self.start_in(&arbiter)
    }

    /// Starts the keeper on `arbiter`.
    ///
    /// # Errors
    ///
    /// [`ResourceError::InvalidSettings`] naming the bad setting.
    pub fn start_in(self, arbiter: &ArbiterHandle) -> Result<Managed<R>, ResourceError> {
        self.settings.validate(&self.name)?;
        let keeper = ResourceKeeper::new(
            self.name.clone(),
            Arc::clone(&self.resource),
            self.settings.clone(),
        );
        let published = Published {
            view: keeper.view(),
            failed_initializations: keeper.failed_initializations(),
            link: keeper.link(),
        };
        let addr = ResourceKeeper::start_in_arbiter(arbiter, move |_| keeper);
        Ok(Managed::new(
            self.name,
            addr,
            self.resource,
            published,
            self.settings.drop_close_timeout,
        ))
    }
}

impl<R: Resource> ResourceKeeper<R> {
    /// A builder for a keeper of `resource`, named `name` in events,
    /// errors and status.
    pub fn builder(name: impl Into<String>, resource: R) -> ResourceKeeperBuilder<R> {
        ResourceKeeperBuilder::new(name.into(), Arc::new(resource))
    }

    /// Like [`builder`](Self::builder), for a resource already shared.
    pub fn builder_shared(name: impl Into<String>, resource: Arc<R>) -> ResourceKeeperBuilder<R> {
        ResourceKeeperBuilder::new(name.into(), resource)
    }
}
