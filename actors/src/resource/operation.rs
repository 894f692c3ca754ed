//! Running operations on a managed resource: retries, one shared
//! reconnect after a disconnect, a timeout, a tracing span, statistics.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use super::messages::Reconnect;
use super::stats::{CallRecord, OperationStats};
use super::{Managed, Resource, ResourceError};
use crate::UserError;
use crate::lifecycle::State;
use crate::retry::{Failure, RetryPolicy, with_retry};
use crate::sync::within;

/// The name [`Managed::with_retry`] records its calls under.
const UNNAMED: &str = "with_retry";

/// What one call's attempts ran into, besides failing.
#[derive(Debug, Default)]
struct Tally {
    disconnects: AtomicU32,
    reconnects: AtomicU32,
}

impl<R: Resource> Managed<R> {
    /// Runs `operation` on the resource under `policy`, recorded in
    /// [`stats`](Self::stats) under the name `with_retry`: the unnamed
    /// form of [`operation`](Self::operation), without a timeout.
    ///
    /// An attempt while the resource is not usable fails (retryably) with
    /// [`ResourceError::NotReady`], so a recovery in progress is waited out
    /// by the backoff; the resource's [`Resource::is_retryable`] judges
    /// the operation's errors, and [`Resource::is_disconnect`] tells which
    /// of them send the resource through a reconnect (see
    /// [`operation`](Self::operation)).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::resource::{Resource, ResourceKeeper, RetryPolicy};
    /// # use steward_actors::UserError;
    /// # #[derive(Debug)] struct Api;
    /// # impl Resource for Api {
    /// #     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    /// #     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::resource::ResourceError> {
    /// let api = ResourceKeeper::builder("api", Api).start()?;
    /// api.initialize().await?;
    /// let answer = api.with_retry(|_api| async { Ok(7) }, &RetryPolicy::default()).await?;
    /// assert_eq!(answer, 7);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResourceError::Operation`] with the last attempt's failure.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the running attempt; a reconnect it
    /// started goes on.
    pub async fn with_retry<T, F, Fut>(
        &self,
        operation: F,
        policy: &RetryPolicy,
    ) -> Result<T, ResourceError>
    where
        F: FnMut(Arc<R>) -> Fut,
        Fut: Future<Output = Result<T, UserError>>,
    {
        self.run(UNNAMED, None, operation, policy).await
    }

    /// Runs `operation` on the resource under `policy`, the whole call
    /// bounded by `timeout`; `name` goes into a `tracing` span (debug
    /// level, target `steward::resource`) and into [`stats`](Self::stats).
    ///
    /// Each attempt gets the resource while it is usable; otherwise it
    /// fails retryably with [`ResourceError::NotReady`] (fatally once
    /// closed). An error of the operation is judged by the resource:
    ///
    /// - [`Resource::is_disconnect`]: the connection is gone. The attempt
    ///   reports it and waits while the keeper reconnects through the
    ///   lifecycle (`Ready → Degraded → Error → Initializing → Ready`,
    ///   `initialize` retried under the keeper's policy); the next
    ///   attempt runs on the new connection. Concurrent operations that
    ///   hit the same disconnect share that one reconnect, and an attempt
    ///   that starts while it runs waits for it instead of failing. A
    ///   reconnect that gives up leaves the resource in `Error` until
    ///   [`initialize`](Self::initialize) is called (or a parent
    ///   keeper replaces it); the remaining attempts fail with
    ///   `NotReady`.
    /// - otherwise [`Resource::is_retryable`] says whether to try again.
    ///
    /// Waits belong to the attempt: the policy's `attempt_timeout` and
    /// this call's `timeout` bound them. A call that succeeds at its first
    /// attempt without waiting arms no timer and allocates nothing (the
    /// first call of a new `name` allocates its statistics once).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use steward_actors::resource::{Resource, ResourceKeeper, RetryPolicy};
    /// use steward_actors::UserError;
    ///
    /// #[derive(Debug)]
    /// struct Api;
    ///
    /// impl Resource for Api {
    ///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    /// }
    ///
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::resource::ResourceError> {
    /// let api = ResourceKeeper::builder("api", Api).start()?;
    /// api.initialize().await?;
    /// let policy = RetryPolicy::default().with_max_retries(2);
    /// let answer = api
    ///     .operation("answer", Duration::from_secs(5), |_api| async { Ok(42) }, &policy)
    ///     .await?;
    /// assert_eq!(answer, 42);
    /// assert_eq!(api.stats().operations["answer"].operations, 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ResourceError::Operation`] with the last attempt's failure, or
    /// [`ResourceError::OperationTimedOut`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the running attempt and is not counted in
    /// the statistics; a reconnect it started goes on.
    pub async fn operation<T, F, Fut>(
        &self,
        name: &str,
        timeout: Duration,
        operation: F,
        policy: &RetryPolicy,
    ) -> Result<T, ResourceError>
    where
        F: FnMut(Arc<R>) -> Fut,
        Fut: Future<Output = Result<T, UserError>>,
    {
        self.run(name, Some(timeout), operation, policy).await
    }

    /// The [`OperationStats`] of every operation run through this
    /// resource's handles, read without a message.
    #[must_use]
    pub fn stats(&self) -> OperationStats {
        self.recorder.snapshot(&self.name, self.link.reconnects())
    }

    async fn run<T, F, Fut>(
        &self,
        name: &str,
        timeout: Option<Duration>,
        operation: F,
        policy: &RetryPolicy,
    ) -> Result<T, ResourceError>
    where
        F: FnMut(Arc<R>) -> Fut,
        Fut: Future<Output = Result<T, UserError>>,
    {
        let started = Instant::now();
        // Behind a lock so that an attempt can call it after it has waited
        // for a reconnect; attempts run one at a time, so it never blocks.
        let operation = Mutex::new(operation);
        let tally = Tally::default();
        let mut attempts = 0;
        let outcome = {
            // Pinned where it is made: the layers below take a reference, so
            // the future is never copied.
            let retried = std::pin::pin!(with_retry(
                |number| {
                    attempts = number;
                    self.attempt(&operation, &tally)
                },
                policy,
            ));
            let span = tracing::debug_span!(target: "steward::resource", "operation", resource = %self.name, operation = name);
            match timeout {
                Some(limit) => within(limit, retried).instrument(span).await.ok_or(limit),
                None => Ok(retried.instrument(span).await),
            }
        };
        self.recorder.record(
            name,
            &CallRecord {
                latency: started.elapsed(),
                attempts,
                disconnects: tally.disconnects.into_inner(),
                reconnects: tally.reconnects.into_inner(),
                failed: !matches!(outcome, Ok(Ok(_))),
                timed_out: outcome.is_err(),
            },
        );
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(ResourceError::Operation {
                name: self.name.to_string(),
                operation: name.into(),
                source,
            }),
            Err(timeout) => Err(ResourceError::OperationTimedOut {
                name: self.name.to_string(),
                operation: name.into(),
                timeout,
            }),
        }
    }

    /// One attempt: on the current connection, or on the next one when a
    /// reconnect is running.
    async fn attempt<T, F, Fut>(&self, operation: &Mutex<F>, tally: &Tally) -> Result<T, Failure>
    where
        F: FnMut(Arc<R>) -> Fut,
        Fut: Future<Output = Result<T, UserError>>,
    {
        if !self.link.state().is_usable() && self.link.is_reconnecting() {
            // Boxed, like the disconnect report below: the slow paths stay
            // out of the attempt's future, which every layer of retry and
            // timeout holds.
            Box::pin(self.view.wait_for(|state| state != State::Initializing)).await;
        }
        // Read before the operation takes the connection: the generation
        // an attempt reports is never newer than the connection it used.
        let generation = self.link.generation();
        match self.link.state() {
            State::Ready | State::Degraded => {}
            state => {
                let error = ResourceError::NotReady {
                    name: self.name.to_string(),
                    state,
                };
                // Closed for good: no retry can help.
                return Err(if matches!(state, State::Closing | State::Closed) {
                    Failure::fatal(error)
                } else {
                    Failure::retryable(error)
                });
            }
        }
        let running = {
            let mut operation = crate::sync::lock(operation);
            (*operation)(Arc::clone(&self.resource))
        };
        let resource = &*self.resource;
        match running.await {
            Ok(value) => Ok(value),
            Err(error) if resource.is_disconnect(&error) => {
                Err(Box::pin(self.disconnected(error, generation, tally)).await)
            }
            Err(error) if resource.is_retryable(&error) => Err(Failure::retryable(error)),
            Err(error) => Err(Failure::fatal(error)),
        }
    }

    /// Reports a disconnect and waits for the reconnect it started or
    /// joined: the failure to retry (or not) after it.
    async fn disconnected(&self, error: UserError, generation: u64, tally: &Tally) -> Failure {
        tally.disconnects.fetch_add(1, Ordering::Relaxed);
        let report = Reconnect {
            generation,
            reason: error.to_string(),
        };
        let Ok(reply) = self.addr.send(report).await else {
            return Failure::fatal(error);
        };
        if reply.started {
            tally.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        match reply.outcome.await {
            // Closed, or the keeper is gone: nothing will reconnect.
            Ok(Err(ResourceError::Closed { .. })) | Err(_) => Failure::fatal(error),
            // Reconnected, or gave up (the next attempt finds `Error`).
            Ok(_) => Failure::retryable(error),
        }
    }
}
