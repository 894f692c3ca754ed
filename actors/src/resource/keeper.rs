//! The actor that owns one resource and walks it through the lifecycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{oneshot, watch};

use super::link::Link;
use super::outcome::{CheckCounter, CheckOutcome, Verdict};
use super::reconnect::{Decision, decide};
use super::settings::Settings;
use super::{Health, Resource, ResourceError, ResourceStatus};
use crate::lifecycle::{Lifecycle, State, StateView};
use crate::retry::{Failure, with_retry};
use crate::sync::Ended;

/// The actor that owns one [`Resource`]: initialization with retries,
/// background health checks, recovery and cleanup.
///
/// Start it with [`ResourceKeeper::builder`]; talk to it through the
/// [`Managed`](super::Managed) handle or its messages.
pub struct ResourceKeeper<R: Resource> {
    name: String,
    resource: Arc<R>,
    settings: Settings,
    lifecycle: Lifecycle,
    counter: CheckCounter,
    last_error: Option<String>,
    checks: u64,
    initializations: Arc<AtomicU64>,
    cleaned_up: bool,
    /// Initializations that ended in `Error` (it stays there): how a
    /// parent supervisor tells a resource that gave up from one that is
    /// recovering.
    failed_initializations: watch::Sender<u64>,
    /// The connection generation and reconnect flag the handles read.
    link: Arc<Link>,
    /// The running initialization, and who waits for it.
    init: Option<SpawnHandle>,
    init_waiters: Vec<oneshot::Sender<Result<(), ResourceError>>>,
    /// The running health check, and who waits for it.
    check: Option<SpawnHandle>,
    check_waiters: Vec<oneshot::Sender<Result<Health, ResourceError>>>,
    ticker: Option<SpawnHandle>,
    close_waiters: Vec<oneshot::Sender<Result<(), ResourceError>>>,
}

impl<R: Resource> std::fmt::Debug for ResourceKeeper<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceKeeper")
            .field("name", &self.name)
            .field("state", &self.lifecycle.state())
            .finish_non_exhaustive()
    }
}

impl<R: Resource> ResourceKeeper<R> {
    pub(super) fn new(name: String, resource: Arc<R>, settings: Settings) -> Self {
        Self {
            lifecycle: Lifecycle::new(name.clone()),
            counter: CheckCounter::new(settings.failure_threshold),
            name,
            resource,
            settings,
            last_error: None,
            checks: 0,
            initializations: Arc::new(AtomicU64::new(0)),
            cleaned_up: false,
            failed_initializations: watch::Sender::new(0),
            link: Arc::default(),
            init: None,
            init_waiters: Vec::new(),
            check: None,
            check_waiters: Vec::new(),
            ticker: None,
            close_waiters: Vec::new(),
        }
    }

    pub(super) fn view(&self) -> StateView {
        self.lifecycle.view()
    }

    pub(super) fn failed_initializations(&self) -> watch::Receiver<u64> {
        self.failed_initializations.subscribe()
    }

    pub(super) fn link(&self) -> Arc<Link> {
        Arc::clone(&self.link)
    }

    pub(super) fn lifecycle_mut(&mut self) -> &mut Lifecycle {
        &mut self.lifecycle
    }

    fn closed_error(&self) -> ResourceError {
        ResourceError::Closed {
            name: self.name.clone(),
        }
    }

    /// Every move goes through here; the table makes an illegal one a
    /// bug, logged rather than raised (the actor must keep running).
    fn advance(&mut self, to: State, reason: impl Into<String>) {
        if self.lifecycle.advance_expected(to, reason) {
            self.link.set_state(to);
        }
    }

    pub(super) fn status(&self) -> ResourceStatus {
        ResourceStatus {
            name: self.name.clone(),
            state: self.lifecycle.state(),
            last_error: self.last_error.clone(),
            consecutive_failures: self.counter.consecutive_failures(),
            checks: self.checks,
            initializations: self.initializations.load(Ordering::Relaxed),
            reconnects: self.link.reconnects(),
            cleaned_up: self.cleaned_up,
        }
    }

    // ----- initialization and recovery -----

    pub(super) fn initialize(
        &mut self,
        reply: oneshot::Sender<Result<(), ResourceError>>,
        ctx: &mut Context<Self>,
    ) {
        match self.lifecycle.state() {
            State::Ready | State::Degraded => {
                let _ = reply.send(Ok(()));
            }
            State::Closing | State::Closed => {
                let _ = reply.send(Err(self.closed_error()));
            }
            State::Initializing => self.init_waiters.push(reply),
            State::Uninitialized | State::Error => {
                self.init_waiters.push(reply);
                self.start_initializing("initializing", ctx);
            }
        }
    }

    fn start_initializing(&mut self, reason: &str, ctx: &mut Context<Self>) {
        self.advance(State::Initializing, reason);
        let resource = Arc::clone(&self.resource);
        let attempts = Arc::clone(&self.initializations);
        let policy = self.settings.retry.clone();
        let work = async move {
            let attempt = |_| {
                let resource = Arc::clone(&resource);
                attempts.fetch_add(1, Ordering::Relaxed);
                // All application code runs when the future is polled,
                // inside `with_retry`'s catch.
                async move {
                    resource.initialize().await.map_err(|error| {
                        if resource.is_retryable(&error) {
                            Failure::retryable(error)
                        } else {
                            Failure::fatal(error)
                        }
                    })
                }
            };
            with_retry(attempt, &policy).await
        };
        let handle = ctx.spawn(work.into_actor(self).map(|outcome, act, ctx| {
            act.init = None;
            act.initialized(
                outcome.map_err(|source| ResourceError::Initialize {
                    name: act.name.clone(),
                    source,
                }),
                ctx,
            );
        }));
        self.init = Some(handle);
    }

    fn initialized(&mut self, outcome: Result<(), ResourceError>, ctx: &mut Context<Self>) {
        match &outcome {
            Ok(()) => {
                self.counter.reset();
                // Before `Ready`: an operation that sees `Ready` never tags
                // the new connection with the old generation.
                self.link.connected();
                self.advance(State::Ready, "initialized");
                self.start_ticker(ctx);
            }
            Err(error) => {
                self.last_error = Some(error.to_string());
                self.advance(State::Error, error.to_string());
                self.failed_initializations.send_modify(|n| *n += 1);
            }
        }
        self.link.initialization_ended();
        for waiter in self.init_waiters.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
    }

    /// An operation found the connection of `generation` gone: reconnect
    /// once, however many operations report it. `reply` gets the
    /// reconnect's outcome; the return says whether this report started
    /// it.
    pub(super) fn reconnect(
        &mut self,
        generation: u64,
        reason: &str,
        reply: oneshot::Sender<Result<(), ResourceError>>,
        ctx: &mut Context<Self>,
    ) -> bool {
        let state = self.lifecycle.state();
        match decide(state, generation, self.link.generation()) {
            Decision::Start => {
                tracing::warn!(target: "steward::resource", resource = %self.name, %reason, "connection lost; reconnecting");
                if state == State::Ready {
                    self.advance(State::Degraded, format!("disconnected: {reason}"));
                }
                self.last_error = Some(format!("disconnected: {reason}"));
                self.advance(State::Error, "connection lost");
                self.init_waiters.push(reply);
                self.start_initializing("reconnecting", ctx);
                self.link.reconnect_started();
                return true;
            }
            Decision::Join => self.init_waiters.push(reply),
            Decision::Replaced => {
                let _ = reply.send(Ok(()));
            }
            Decision::NotReady(state) => {
                let _ = reply.send(Err(ResourceError::NotReady {
                    name: self.name.clone(),
                    state,
                }));
            }
            Decision::Closed => {
                let _ = reply.send(Err(self.closed_error()));
            }
        }
        false
    }

    // ----- health checks -----

    fn start_ticker(&mut self, ctx: &mut Context<Self>) {
        if let (None, Some(interval)) = (self.ticker, self.settings.health_check_interval) {
            self.ticker = Some(ctx.run_interval(interval, |act, ctx| {
                if act.lifecycle.state().is_usable() && act.check.is_none() {
                    act.start_check(ctx);
                }
            }));
        }
    }

    pub(super) fn check_now(
        &mut self,
        reply: oneshot::Sender<Result<Health, ResourceError>>,
        ctx: &mut Context<Self>,
    ) {
        let state = self.lifecycle.state();
        if !state.is_usable() {
            let _ = reply.send(Err(ResourceError::NotReady {
                name: self.name.clone(),
                state,
            }));
            return;
        }
        self.check_waiters.push(reply);
        if self.check.is_none() {
            self.start_check(ctx);
        }
    }

    fn start_check(&mut self, ctx: &mut Context<Self>) {
        let resource = Arc::clone(&self.resource);
        let timeout = self.settings.health_check_timeout;
        let work = async move {
            // Everything the application wrote runs inside the caught
            // block: the check, the synchronous code before its first
            // await, and `is_retryable`.
            let check = async {
                match resource.check_health().await {
                    Ok(health) => CheckOutcome::Verdict(health),
                    Err(error) if resource.is_retryable(&error) => {
                        CheckOutcome::Failed(error.to_string())
                    }
                    Err(error) => CheckOutcome::Fatal(error.to_string()),
                }
            };
            match crate::sync::call(Some(timeout), check).await {
                Err(Ended::TimedOut(_)) => CheckOutcome::TimedOut,
                Err(Ended::Panicked(message)) => CheckOutcome::Panicked(message),
                Ok(outcome) => outcome,
            }
        };
        // The connection the check looks at: a reconnect may replace it
        // while the check runs.
        let generation = self.link.generation();
        let handle = ctx.spawn(work.into_actor(self).map(move |outcome, act, ctx| {
            act.check = None;
            act.checked(&outcome, generation, ctx);
        }));
        self.check = Some(handle);
    }

    /// A check of the connection of `generation` ended with `outcome`.
    fn checked(&mut self, outcome: &CheckOutcome, generation: u64, ctx: &mut Context<Self>) {
        self.checks += 1;
        for waiter in self.check_waiters.drain(..) {
            let _ = waiter.send(Ok(outcome.health()));
        }
        let state = self.lifecycle.state();
        if !state.is_usable() {
            return;
        }
        if generation != self.link.generation() {
            // It judged a connection that a reconnect has since replaced:
            // its verdict says nothing about the new one.
            tracing::debug!(target: "steward::resource", resource = %self.name, "a check of a replaced connection is not judged");
            return;
        }
        match self.counter.judge(state, outcome) {
            Verdict::Stay => {}
            Verdict::Move(to, reason) => {
                if to == State::Degraded {
                    self.last_error = Some(reason.clone());
                }
                self.advance(to, reason);
            }
            Verdict::Fail(reason) => {
                tracing::warn!(target: "steward::resource", resource = %self.name, %reason, "resource failed; recovering");
                self.last_error = Some(reason.clone());
                self.advance(State::Error, reason);
                self.start_initializing("recovering", ctx);
            }
        }
    }

    // ----- close -----

    pub(super) fn close(
        &mut self,
        timeout: Duration,
        reply: Option<oneshot::Sender<Result<(), ResourceError>>>,
        ctx: &mut Context<Self>,
    ) {
        self.close_with(timeout, reply, true, ctx);
    }

    /// Closes without running `cleanup`: for a resource whose start
    /// failed (see [`Discard`](super::messages::Discard)).
    pub(super) fn discard(&mut self, ctx: &mut Context<Self>) {
        self.close_with(Duration::ZERO, None, false, ctx);
    }

    fn close_with(
        &mut self,
        timeout: Duration,
        reply: Option<oneshot::Sender<Result<(), ResourceError>>>,
        clean_up: bool,
        ctx: &mut Context<Self>,
    ) {
        let before = self.lifecycle.state();
        match before {
            State::Closed => {
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(()));
                }
                return;
            }
            State::Closing => {
                self.close_waiters.extend(reply);
                return;
            }
            _ => {}
        }
        self.close_waiters.extend(reply);
        self.advance(State::Closing, "closing");
        self.link.initialization_ended();
        for handle in [self.init.take(), self.check.take(), self.ticker.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel_future(handle);
        }
        let closed = self.closed_error();
        for waiter in self.init_waiters.drain(..) {
            let _ = waiter.send(Err(closed.clone()));
        }
        for waiter in self.check_waiters.drain(..) {
            let _ = waiter.send(Err(closed.clone()));
        }
        if before == State::Uninitialized || !clean_up {
            // Nothing was ever brought up, so there is nothing to clean.
            self.closed(Ok(()), ctx);
            return;
        }
        let resource = Arc::clone(&self.resource);
        let name = self.name.clone();
        let work = async move {
            // Inside the call, as the check is: a cleanup that is not an
            // `async fn` may run code before its future exists.
            match crate::sync::call(Some(timeout), async { resource.cleanup().await }).await {
                Err(Ended::TimedOut(_)) => Err(ResourceError::CleanupTimedOut { name, timeout }),
                Err(Ended::Panicked(message)) => {
                    Err(ResourceError::CleanupPanicked { name, message })
                }
                Ok(Err(error)) => Err(ResourceError::Cleanup {
                    name,
                    message: error.to_string(),
                }),
                Ok(Ok(())) => Ok(()),
            }
        };
        self.cleaned_up = true;
        ctx.spawn(
            work.into_actor(self)
                .map(|outcome, act, ctx| act.closed(outcome, ctx)),
        );
    }

    fn closed(&mut self, outcome: Result<(), ResourceError>, ctx: &mut Context<Self>) {
        let reason = match &outcome {
            Ok(()) => "closed".to_owned(),
            Err(error) => {
                self.last_error = Some(error.to_string());
                error.to_string()
            }
        };
        self.advance(State::Closed, reason);
        for waiter in self.close_waiters.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        ctx.stop();
    }
}

impl<R: Resource> Actor for ResourceKeeper<R> {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        // Stopped without a close (the System is going down): say so; the
        // resource's own `Drop` is all that runs now.
        if !self.lifecycle.state().is_final() {
            tracing::warn!(target: "steward::resource", resource = %self.name, state = %self.lifecycle.state(), "keeper stopped before the resource was closed");
        }
    }
}
