//! [`Managed`]: the handle of a supervised resource.

use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, MailboxError, Recipient};
use tokio::sync::{broadcast, watch};

use super::link::Link;
use super::messages::{Discard, Subscribe};
use super::stats::Recorder;
use super::{
    CheckHealth, Close, Health, Initialize, ReportResourceStatus, Resource, ResourceError,
    ResourceKeeper, ResourceStatus,
};
use crate::lifecycle::{State, StateChanged, StateView};

/// The handle of a resource owned by a [`ResourceKeeper`].
///
/// Cheap to clone; clones share the resource. Reading the state or taking
/// the resource asks nothing of the actor. When the last clone is dropped
/// without [`close`](Self::close), the keeper closes the resource
/// itself (cleanup bounded by the builder's `drop_close_timeout`).
pub struct Managed<R: Resource> {
    pub(super) name: Arc<str>,
    pub(super) addr: Addr<ResourceKeeper<R>>,
    pub(super) resource: Arc<R>,
    pub(super) view: StateView,
    failed_initializations: watch::Receiver<u64>,
    pub(super) link: Arc<Link>,
    pub(super) recorder: Arc<Recorder>,
    _closer: Arc<CloseOnDrop<R>>,
}

/// What a keeper publishes for its handles to read without a message.
pub(super) struct Published {
    pub(super) view: StateView,
    pub(super) failed_initializations: watch::Receiver<u64>,
    pub(super) link: Arc<Link>,
}

impl<R: Resource> Clone for Managed<R> {
    fn clone(&self) -> Self {
        Self {
            name: Arc::clone(&self.name),
            addr: self.addr.clone(),
            resource: Arc::clone(&self.resource),
            view: self.view.clone(),
            failed_initializations: self.failed_initializations.clone(),
            link: Arc::clone(&self.link),
            recorder: Arc::clone(&self.recorder),
            _closer: Arc::clone(&self._closer),
        }
    }
}

impl<R: Resource> std::fmt::Debug for Managed<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Managed")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Closes the resource when the last handle goes.
struct CloseOnDrop<R: Resource> {
    addr: Addr<ResourceKeeper<R>>,
    timeout: Duration,
}

impl<R: Resource> Drop for CloseOnDrop<R> {
    fn drop(&mut self) {
        // Losing this message is fine: it is lost only when the keeper
        // is already gone, and then there is nothing left to close.
        self.addr.do_send(Close {
            timeout: self.timeout,
        });
    }
}

impl<R: Resource> Managed<R> {
    pub(super) fn new(
        name: String,
        addr: Addr<ResourceKeeper<R>>,
        resource: Arc<R>,
        published: Published,
        drop_close_timeout: Duration,
    ) -> Self {
        let closer = Arc::new(CloseOnDrop {
            addr: addr.clone(),
            timeout: drop_close_timeout,
        });
        Self {
            name: name.into(),
            addr,
            resource,
            view: published.view,
            failed_initializations: published.failed_initializations,
            link: published.link,
            recorder: Arc::new(Recorder::new()),
            _closer: closer,
        }
    }

    /// The resource's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current state, read without a message.
    #[must_use]
    pub fn state(&self) -> State {
        self.view.state()
    }

    /// A cloneable view of the state, to wait for one (see
    /// [`StateView::wait_for`]).
    #[must_use]
    pub fn view(&self) -> &StateView {
        &self.view
    }

    /// Every later [`StateChanged`], for plain async code.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        self.view.subscribe()
    }

    /// Delivers every later [`StateChanged`] to an actor.
    pub fn subscribe_recipient(&self, recipient: Recipient<StateChanged>) {
        // Lost only when the keeper is gone: then no event would come.
        self.addr.do_send(Subscribe(recipient));
    }

    /// The keeper actor's address, for an application's actors (its
    /// messages: [`Initialize`](super::Initialize),
    /// [`CheckHealth`](super::CheckHealth), [`Close`](super::Close),
    /// [`ReportResourceStatus`](super::ReportResourceStatus)).
    #[must_use]
    pub fn address(&self) -> &Addr<ResourceKeeper<R>> {
        &self.addr
    }

    /// The resource, while it is usable (`Ready` or `Degraded`).
    ///
    /// # Errors
    ///
    /// [`ResourceError::NotReady`] in any other state.
    pub fn resource(&self) -> Result<Arc<R>, ResourceError> {
        let state = self.state();
        if state.is_usable() {
            Ok(Arc::clone(&self.resource))
        } else {
            Err(ResourceError::NotReady {
                name: self.name.to_string(),
                state,
            })
        }
    }

    /// Brings the resource to `Ready`, retrying under the policy; joins an
    /// initialization already running; answers at once when usable.
    ///
    /// # Examples
    ///
    /// See the [module documentation](super).
    ///
    /// # Errors
    ///
    /// [`ResourceError::Initialize`] with the last attempt's failure (the
    /// resource is then in `Error`), or [`ResourceError::Closed`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the initialization; it goes on
    /// and later callers see its outcome.
    pub async fn initialize(&self) -> Result<(), ResourceError> {
        crate::sync::try_ask(&self.addr, Initialize, || self.closed()).await
    }

    /// Runs a health check now (or joins the one running) and returns its
    /// verdict; a hung or failed check is `Unhealthy`. The state follows
    /// the verdict as it does for a background check.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::resource::{Health, Resource, ResourceError, ResourceKeeper};
    /// # use steward_actors::{State, UserError};
    /// struct Cache;
    ///
    /// impl Resource for Cache {
    ///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn check_health(&self) -> Result<Health, UserError> { Ok(Health::Degraded) }
    /// }
    ///
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), ResourceError> {
    /// let cache = ResourceKeeper::builder("cache", Cache).start()?;
    /// cache.initialize().await?;
    /// assert_eq!(cache.check_health().await?, Health::Degraded);
    /// assert_eq!(cache.state(), State::Degraded);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResourceError::NotReady`] unless the resource is usable;
    /// [`ResourceError::Closed`] if it closes meanwhile.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the check finishes and is counted either way.
    pub async fn check_health(&self) -> Result<Health, ResourceError> {
        crate::sync::try_ask(&self.addr, CheckHealth, || self.closed()).await
    }

    /// The keeper's [`ResourceStatus`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::resource::{Health, Resource, ResourceError, ResourceKeeper};
    /// # use steward_actors::{State, UserError};
    /// struct Cache;
    ///
    /// impl Resource for Cache {
    ///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn check_health(&self) -> Result<Health, UserError> { Ok(Health::Degraded) }
    /// }
    ///
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), ResourceError> {
    /// let cache = ResourceKeeper::builder("cache", Cache).start()?;
    /// cache.initialize().await?;
    /// let status = cache.status().await?;
    /// assert_eq!((status.name.as_str(), status.state), ("cache", State::Ready));
    /// assert_eq!(status.initializations, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResourceError::Closed`] once the keeper has stopped.
    pub async fn status(&self) -> Result<ResourceStatus, ResourceError> {
        crate::sync::ask(&self.addr, ReportResourceStatus, || self.closed()).await
    }

    /// Closes the resource: `Closing`, `cleanup` once within `timeout`,
    /// `Closed`. A call while a close is in progress gets that close's
    /// outcome; a call after it has finished returns `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::resource::{Health, Resource, ResourceError, ResourceKeeper};
    /// # use steward_actors::{State, UserError};
    /// struct Cache;
    ///
    /// impl Resource for Cache {
    ///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn check_health(&self) -> Result<Health, UserError> { Ok(Health::Degraded) }
    /// }
    ///
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), ResourceError> {
    /// let cache = ResourceKeeper::builder("cache", Cache).start()?;
    /// cache.initialize().await?;
    /// cache.close(Duration::from_secs(5)).await?;
    /// assert_eq!(cache.state(), State::Closed);
    /// cache.close(Duration::from_secs(5)).await?; // already closed: Ok
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResourceError::Cleanup`], [`ResourceError::CleanupPanicked`] or
    /// [`ResourceError::CleanupTimedOut`]: the resource is `Closed`
    /// regardless.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the close.
    pub async fn close(&self, timeout: Duration) -> Result<(), ResourceError> {
        match self.addr.send(Close { timeout }).await {
            Ok(outcome) => outcome,
            // The keeper stops right after closing.
            Err(MailboxError::Closed | MailboxError::Timeout) if self.state() == State::Closed => {
                Ok(())
            }
            Err(_) => Err(self.closed()),
        }
    }

    /// Closes the resource without running `cleanup` (its start failed),
    /// and waits until it is `Closed`.
    pub(crate) async fn discard(&self) {
        // A keeper already gone has closed.
        let _ = self.addr.send(Discard).await;
    }

    /// Resolves when the resource has given up (an initialization or a
    /// recovery ended in `Error`) or closed: `Err` with the last error, or
    /// `Ok` once closed. What a parent supervisor watches.
    pub(crate) async fn ended(&self) -> Result<(), String> {
        // The receiver was made when the keeper started, so a failure
        // at any time since counts as a change.
        let mut failed = self.failed_initializations.clone();
        let closed = self.view.wait_for(State::is_final);
        tokio::select! {
            _ = closed => Ok(()),
            changed = failed.changed() => match changed {
                Ok(()) => Err(self
                    .status()
                    .await
                    .ok()
                    .and_then(|status| status.last_error)
                    .unwrap_or_else(|| "failed".to_owned())),
                // The keeper is gone: it closed or stopped.
                Err(_) => Ok(()),
            },
        }
    }

    pub(super) fn closed(&self) -> ResourceError {
        ResourceError::Closed {
            name: self.name.to_string(),
        }
    }
}
