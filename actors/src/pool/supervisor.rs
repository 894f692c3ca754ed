//! The `PoolSupervisor` actor: owns a pool's creation (under the circuit
//! breaker), replacement, idle reaping, lifetimes, health checks, resize
//! and close.

use std::sync::{Arc, Weak};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::breaker::{Admit, Breaker, Verdict};
use super::capacity::Reservation;
use super::config::MAX_SIZE;
use super::error::{PoolError, TimeoutKind};
use super::manager::{CallError, Manager};
use super::messages::{
    ClosePool, Create, Destroy, Reply, Resize, Start, SubscribeState, SubscribeStateRecipient,
};
use super::pooled::IdleEntry;
use super::requests::{CreateRequest, Creates, Purpose};
use super::shared::{Shared, Unready, now};
use crate::Shutdown;
use crate::UserError;
use crate::lifecycle::{Lifecycle, State};
use crate::retry::{Failure, RetryError, with_retry};

/// The actor behind a [`Pool`](super::Pool). Checkouts of idle resources
/// never reach it; it owns every other change of the pool.
pub struct PoolSupervisor<M: Manager> {
    shared: Weak<Shared<M>>,
    lifecycle: Lifecycle,
    breaker: Breaker,
    creates: Creates<M::Resource>,
    probe: Option<SpawnHandle>,
    maintenance: Option<SpawnHandle>,
    health: Option<SpawnHandle>,
    /// The health check running, if any.
    checking: Option<SpawnHandle>,
}

impl<M: Manager> std::fmt::Debug for PoolSupervisor<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolSupervisor")
            .field("pool", &self.lifecycle.resource())
            .field("state", &self.lifecycle.state())
            .finish_non_exhaustive()
    }
}

impl<M: Manager> PoolSupervisor<M> {
    /// A supervisor that knows its pool once [`Start`] arrives.
    pub(crate) fn new(lifecycle: Lifecycle, breaker: Breaker) -> Self {
        Self {
            shared: Weak::new(),
            lifecycle,
            breaker,
            creates: Creates::default(),
            probe: None,
            maintenance: None,
            health: None,
            checking: None,
        }
    }

    fn state(&self) -> State {
        self.lifecycle.state()
    }

    fn advance(&mut self, to: State, reason: &str) {
        if self.state() == to {
            return;
        }
        self.lifecycle.advance_expected(to, reason);
    }

    /// Applies the breaker's verdict; the state moved to, if any.
    fn apply(&mut self, verdict: Verdict) -> Option<State> {
        match verdict {
            Verdict::Stay => None,
            Verdict::Move(to, reason) => {
                self.advance(to, &reason);
                Some(to)
            }
        }
    }

    fn is_closing(&self) -> bool {
        matches!(self.state(), State::Closing | State::Closed)
    }

    // ---- start --------------------------------------------------------

    /// Fills `min_size` (each create under the retry policy), then
    /// `Ready`.
    fn start(
        &mut self,
        shared: Weak<Shared<M>>,
        reply: oneshot::Sender<Result<(), PoolError>>,
        ctx: &mut Context<Self>,
    ) {
        self.shared = shared;
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        self.advance(State::Initializing, "starting");
        let fills: Vec<_> = (0..shared.config.min_size)
            .filter_map(|_| shared.capacity.reserve())
            .map(|reservation| {
                let shared = Arc::clone(&shared);
                async move { (reservation, create_with_retry(&shared).await) }
            })
            .collect();
        let filling = futures::future::join_all(fills);
        ctx.spawn(filling.into_actor(self).map(move |results, actor, ctx| {
            let mut first_error = None;
            for (reservation, result) in results {
                match result {
                    Ok(resource) => shared.give_back(shared.admit(reservation, resource), false),
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
            if actor.is_closing() {
                let _ = reply.send(Err(shared.closed_error()));
                return;
            }
            match first_error {
                Some(error) => {
                    shared.record_failed_create(last_error(&error));
                    actor.advance(State::Error, "min_size could not be filled");
                    let _ = reply.send(Err(error));
                }
                None => {
                    actor.advance(State::Ready, "started");
                    actor.start_timers(&shared, ctx);
                    let _ = reply.send(Ok(()));
                }
            }
        }));
    }

    fn start_timers(&mut self, shared: &Shared<M>, ctx: &mut Context<Self>) {
        let every = shared.config.maintenance_interval;
        self.maintenance = Some(ctx.run_interval(every, |actor, ctx| actor.maintain(ctx)));
        if let Some(every) = shared.config.health_check_interval {
            self.health = Some(ctx.run_interval(every, |actor, ctx| actor.health_check(ctx)));
        }
    }

    // ---- creates, under the breaker -----------------------------------

    /// An acquire reserved room and waits for a new resource.
    fn create_for(
        &mut self,
        reservation: Reservation,
        reply: Reply<M::Resource>,
        ctx: &mut Context<Self>,
    ) {
        let request = CreateRequest::new(reservation, Purpose::Acquire(reply));
        self.creates.queued.push_back(request);
        self.pump(ctx);
    }

    /// Starts the queued creates the breaker admits, first come first.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        while let Some(request) = self.creates.queued.pop_front() {
            if request.abandoned() {
                continue;
            }
            if self.is_closing() {
                request.fail(shared.closed_error());
                continue;
            }
            match self.breaker.admit(self.state()) {
                Admit::Start => self.attempt(&shared, request, ctx),
                Admit::Queue => {
                    self.creates.queued.push_front(request);
                    return;
                }
                Admit::Refuse => request.fail(shared.unavailable_error()),
            }
        }
    }

    /// Runs one attempt of `request`'s create (admitted by the breaker).
    fn attempt(
        &mut self,
        shared: &Arc<Shared<M>>,
        request: CreateRequest<M::Resource>,
        ctx: &mut Context<Self>,
    ) {
        let id = self.creates.next_id();
        let shared = Arc::clone(shared);
        let attempt = async move { shared.create_once().await };
        let handle = ctx.spawn(
            attempt
                .into_actor(self)
                .map(move |outcome, actor, ctx| actor.attempted(id, outcome, ctx)),
        );
        self.creates.running.insert(id, (handle, request));
    }

    /// Judges an attempt's outcome and moves its request on.
    fn attempted(
        &mut self,
        id: u64,
        outcome: Result<M::Resource, CallError>,
        ctx: &mut Context<Self>,
    ) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let Some((_, request)) = self.creates.running.remove(&id) else {
            // Cancelled once it had finished: nobody takes the resource.
            if let Ok(resource) = outcome {
                self.destroy(vec![resource], ctx);
            }
            return;
        };
        match outcome {
            Ok(resource) => {
                let verdict = self.breaker.succeeded(self.state());
                self.apply(verdict);
                deliver(&shared, request, resource);
                self.pump(ctx);
                self.refill(ctx);
            }
            Err(error) => {
                shared.record_failed_create(error.user_error());
                let verdict = self.breaker.failed(self.state(), now());
                match self.apply(verdict) {
                    Some(State::Error) => {
                        request.fail(shared.unavailable_error());
                        self.open(&shared, ctx);
                        return;
                    }
                    Some(State::Degraded) => self.keep_one_attempt(ctx),
                    _ => {}
                }
                self.retry_or_fail(&shared, id, request, error, ctx);
                self.pump(ctx);
            }
        }
    }

    /// A failed attempt: the next one after the policy's delay, or the
    /// request fails with the attempt's error.
    fn retry_or_fail(
        &mut self,
        shared: &Shared<M>,
        id: u64,
        mut request: CreateRequest<M::Resource>,
        error: CallError,
        ctx: &mut Context<Self>,
    ) {
        let retryable = match &error {
            CallError::Failed(error) => shared.manager.is_retryable(error),
            CallError::Pool(error) => error.timeout_kind().is_some(),
        };
        let delay = if retryable && !request.is_probe() {
            request
                .backoff
                .get_or_insert_with(|| shared.config.retry.backoff())
                .next()
        } else {
            None
        };
        let Some(delay) = delay else {
            let error = match error {
                CallError::Failed(error) => PoolError::Create {
                    pool: shared.name().to_owned(),
                    error,
                },
                CallError::Pool(error) if error.timeout_kind().is_some() => {
                    shared.timeout(TimeoutKind::Create)
                }
                CallError::Pool(error) => error,
            };
            request.fail(error);
            return;
        };
        tracing::debug!(target: "steward::pool", pool = shared.name(), ?delay, "create attempt failed; retrying");
        let timer = ctx.run_later(delay, move |actor, ctx| {
            if let Some((_, request)) = actor.creates.backing_off.remove(&id) {
                actor.creates.queued.push_front(request);
                actor.pump(ctx);
            }
        });
        self.creates.backing_off.insert(id, (timer, request));
    }

    /// `Degraded`: one attempt at a time. Attempts started while `Ready`
    /// are cancelled but the oldest; their requests queue again.
    fn keep_one_attempt(&mut self, ctx: &mut Context<Self>) {
        for (handle, request) in self.creates.take_running(true).into_iter().rev() {
            ctx.cancel_future(handle);
            self.breaker.cancelled();
            self.creates.queued.push_front(request);
        }
    }

    /// The breaker opened: every request fails with `Unavailable` now,
    /// retry schedules and running attempts end, the probe is scheduled.
    fn open(&mut self, shared: &Shared<M>, ctx: &mut Context<Self>) {
        tracing::warn!(target: "steward::pool", pool = shared.name(), failures = self.breaker.consecutive_failures(), "create attempts keep failing: the pool fails fast and probes");
        self.end_requests(ctx, || shared.unavailable_error());
        self.schedule_probe(ctx);
    }

    /// Fails every request with `error()`: queued, backing off (timer
    /// cancelled) and running (attempt cancelled; a probe too).
    fn end_requests(&mut self, ctx: &mut Context<Self>, error: impl Fn() -> PoolError) {
        for request in self.creates.queued.drain(..) {
            request.fail(error());
        }
        for (timer, request) in self.creates.take_backing_off() {
            ctx.cancel_future(timer);
            request.fail(error());
        }
        for (handle, request) in self.creates.take_running(false) {
            ctx.cancel_future(handle);
            self.breaker.cancelled();
            request.fail(error());
        }
    }

    fn schedule_probe(&mut self, ctx: &mut Context<Self>) {
        let Some(delay) = self.breaker.probe_due_in(self.state(), now()) else {
            return;
        };
        if let Some(timer) = self.probe.take() {
            ctx.cancel_future(timer);
        }
        self.probe = Some(ctx.run_later(delay, |actor, ctx| {
            actor.probe = None;
            actor.start_probe(ctx);
        }));
    }

    /// In `Error`: one create, to learn whether the backend is back.
    fn start_probe(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if self.state() != State::Error || shared.is_closed() {
            return;
        }
        let Some(reservation) = shared.capacity.reserve() else {
            // Full: nothing to create; look again later.
            self.probe = Some(ctx.run_later(shared.config.probe_interval, |actor, ctx| {
                actor.probe = None;
                actor.start_probe(ctx);
            }));
            return;
        };
        let verdict = self.breaker.start_probe(self.state(), now());
        if self.apply(verdict).is_some() {
            self.attempt(
                &shared,
                CreateRequest::new(reservation, Purpose::Probe),
                ctx,
            );
        }
    }

    /// Creates resources in the background until `min_size` is reached.
    pub(crate) fn refill(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if !self.state().is_usable() || shared.is_closed() {
            return;
        }
        let min = shared.min_size.load(std::sync::atomic::Ordering::Acquire);
        for _ in shared.size()..min {
            let Some(reservation) = shared.capacity.reserve() else {
                break;
            };
            let request = CreateRequest::new(reservation, Purpose::Refill);
            self.creates.queued.push_back(request);
        }
        self.pump(ctx);
    }

    // ---- upkeep -------------------------------------------------------

    /// Reaps idle resources past `idle_timeout` (above `min_size`), past
    /// their lifetime or above `max_size`; reports leaks; clears a quiet
    /// `Degraded`; refills `min_size`.
    fn maintain(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            // Every handle and guard is gone: nothing left to supervise.
            ctx.stop();
            return;
        };
        let now = now();
        let idle_timeout = shared.config.idle_timeout;
        let min = shared.min_size.load(std::sync::atomic::Ordering::Acquire);
        let max = shared.capacity.max_size();
        let mut size = shared.size();
        let reaped = shared.take_idle_where(|entry| {
            let expired = entry.pooled.meta.expired(now);
            let idle_too_long = idle_timeout
                .zip(entry.since)
                .is_some_and(|(timeout, since)| now.duration_since(since) >= timeout);
            let remove = size > max || expired || (idle_too_long && size > min);
            if remove {
                size -= 1;
            }
            remove
        });
        if !reaped.is_empty() {
            tracing::debug!(target: "steward::pool", pool = shared.name(), reaped = reaped.len(), "idle resources reaped");
        }
        for pooled in reaped {
            shared.discard(pooled);
        }
        if let Some(threshold) = shared.config.leak_threshold {
            for (id, held, location) in shared.new_leaks(threshold) {
                tracing::warn!(target: "steward::pool", pool = shared.name(), id, ?held, %location, "pooled resource held longer than leak_threshold");
            }
        }
        let verdict = self.breaker.quiet(self.state(), now);
        if self.apply(verdict).is_some() {
            self.pump(ctx);
        }
        self.refill(ctx);
    }

    /// Checks idle resources one at a time, never the last idle one, never
    /// under a lock an acquire needs; a check gives its resource up (it is
    /// replaced) when an acquire finds the pool full.
    fn health_check(&mut self, ctx: &mut Context<Self>) {
        if self.checking.is_some() {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let rounds = shared.idle_len().saturating_sub(1);
        let checks = async move {
            for _ in 0..rounds {
                if !check_one(&shared).await {
                    break;
                }
            }
        };
        self.checking = Some(ctx.spawn(checks.into_actor(self).map(|(), actor, ctx| {
            actor.checking = None;
            actor.refill(ctx);
        })));
    }

    // ---- resize, close, destroy ---------------------------------------

    fn resize(&mut self, size: usize, ctx: &mut Context<Self>) -> Result<(), PoolError> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        if shared.is_closed() {
            return Err(shared.closed_error());
        }
        if !(1..=MAX_SIZE).contains(&size) {
            return Err(shared.config.invalid("max_size", size, "must be 1 to 2^24"));
        }
        let min = &shared.min_size;
        if min.load(std::sync::atomic::Ordering::Acquire) > size {
            min.store(size, std::sync::atomic::Ordering::Release);
        }
        shared.set_max_size(size);
        let mut excess = shared.size().saturating_sub(size);
        for pooled in shared.take_idle_where(|_| {
            let remove = excess > 0;
            excess = excess.saturating_sub(1);
            remove
        }) {
            shared.discard(pooled);
        }
        tracing::info!(target: "steward::pool", pool = shared.name(), max_size = size, "pool resized");
        self.refill(ctx);
        Ok(())
    }

    /// Stops admitting; fails every create request with `Closed` and
    /// cancels their attempts, the probe and the health check; destroys
    /// idle resources; `Closed` once they are.
    fn close(&mut self, ctx: &mut Context<Self>) -> ResponseActFuture<Self, ()> {
        let Some(shared) = self.shared.upgrade() else {
            return Box::pin(actix::fut::ready(()));
        };
        shared.stop_admitting();
        if self.is_closing() {
            return Box::pin(actix::fut::ready(()));
        }
        self.advance(State::Closing, "close requested");
        self.end_requests(ctx, || shared.closed_error());
        for handle in [
            self.maintenance.take(),
            self.health.take(),
            self.checking.take(),
            self.probe.take(),
        ]
        .into_iter()
        .flatten()
        {
            ctx.cancel_future(handle);
        }
        let idle: Vec<_> = shared
            .take_idle_where(|_| true)
            .into_iter()
            .map(|pooled| {
                shared.forget(&pooled.meta);
                pooled.resource
            })
            .collect();
        Box::pin(
            destroy_all(shared, idle)
                .into_actor(self)
                .map(|(), actor, _| {
                    if actor.state() == State::Closing {
                        actor.advance(State::Closed, "idle resources destroyed");
                    }
                }),
        )
    }

    /// Destroys a resource the shared state discarded; the pool may be
    /// below `min_size` now.
    fn destroy_discarded(&mut self, resource: M::Resource, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let done = Arc::clone(&shared);
        ctx.spawn(
            destroy_all(shared, vec![resource])
                .into_actor(self)
                .map(move |(), _, _| done.destroy_done()),
        );
        self.refill(ctx);
    }

    /// Destroys resources through the manager, in the background.
    fn destroy(&mut self, resources: Vec<M::Resource>, ctx: &mut Context<Self>) {
        if let Some(shared) = self.shared.upgrade() {
            ctx.spawn(destroy_all(shared, resources).into_actor(self));
        }
    }
}

/// Hands a new resource to the acquire waiting for it, or makes it idle.
fn deliver<M: Manager>(
    shared: &Shared<M>,
    request: CreateRequest<M::Resource>,
    resource: M::Resource,
) {
    let pooled = shared.admit(request.reservation, resource);
    let unclaimed = match request.purpose {
        Purpose::Acquire(reply) => reply.send(Ok(pooled)).err().and_then(Result::ok),
        Purpose::Refill | Purpose::Probe => Some(pooled),
    };
    if let Some(pooled) = unclaimed {
        shared.give_back(pooled, false);
    }
}

/// Checks the longest-idle resource (not the last idle one); `false` when
/// there was none to check or an acquire wanted it.
async fn check_one<M: Manager>(shared: &Shared<M>) -> bool {
    let wanted = shared.wanted();
    tokio::pin!(wanted);
    wanted.as_mut().enable();
    shared.set_checking(true);
    let _done = CheckDone(shared);
    let Some(entry) = shared.pop_for_check() else {
        return false;
    };
    if futures::FutureExt::now_or_never(&mut wanted).is_some() {
        // Wanted before the check began: back, unchecked.
        shared.push_idle(entry);
        return false;
    }
    let since = entry.since;
    let recycle_owed = entry.recycle_owed;
    let mut checked = Unready::new(shared, entry.pooled);
    let id = checked.id();
    let outcome = {
        let check = shared.check(checked.resource());
        tokio::select! {
            biased;
            () = &mut wanted => None,
            outcome = check => Some(outcome),
        }
    };
    match outcome {
        Some(Ok(())) => {
            shared.push_idle(IdleEntry {
                pooled: checked.take(),
                since,
                recycle_owed,
            });
            true
        }
        Some(Err(error)) => {
            tracing::info!(target: "steward::pool", pool = shared.name(), id, error = %error.describe(), "idle resource failed its health check; replaced");
            // Dropping it discards it.
            false
        }
        None => {
            tracing::debug!(target: "steward::pool", pool = shared.name(), id, "health check given up: an acquire wants the room");
            // Its state is unknown after a cut-off check: discarded, so
            // the acquire can create one.
            false
        }
    }
}

struct CheckDone<'a, M: Manager>(&'a Shared<M>);

impl<M: Manager> Drop for CheckDone<'_, M> {
    fn drop(&mut self) {
        self.0.set_checking(false);
    }
}

/// A start's create: the manager's `create` under the retry policy, each
/// attempt bounded by `create_timeout`, a panic caught.
async fn create_with_retry<M: Manager>(shared: &Shared<M>) -> Result<M::Resource, PoolError> {
    let policy = shared
        .config
        .retry
        .clone()
        .with_attempt_timeout(shared.config.create_timeout);
    let manager = &shared.manager;
    let result = with_retry(
        |_attempt| async move {
            manager.create().await.map_err(|error| {
                if manager.is_retryable(&error) {
                    Failure::retryable(error)
                } else {
                    Failure::fatal(error)
                }
            })
        },
        &policy,
    )
    .await;
    let pool = shared.name().to_owned();
    result.map_err(|error| match error {
        RetryError::Fatal { error, .. } => PoolError::Create { pool, error },
        RetryError::Panicked { message, .. } => PoolError::Panicked {
            pool,
            callback: "create",
            message,
        },
        RetryError::Exhausted { last, .. } => match last {
            crate::retry::AttemptFailure::TimedOut(_) => shared.timeout(TimeoutKind::Create),
            crate::retry::AttemptFailure::Error(error) => PoolError::Create { pool, error },
        },
        other => PoolError::Create {
            pool,
            error: UserError::msg(other),
        },
    })
}

/// The error a breaker reports for a failed create.
fn last_error(error: &PoolError) -> UserError {
    match error {
        PoolError::Create { error, .. } => error.clone(),
        other => UserError::msg(other),
    }
}

/// Destroys resources through the manager, each bounded by
/// `recycle_timeout`; a failure or panic is logged.
async fn destroy_all<M: Manager>(shared: Arc<Shared<M>>, resources: Vec<M::Resource>) {
    let destroys = resources.into_iter().map(|resource| {
        let shared = &shared;
        async move {
            if let Err(error) = shared.destroy(resource).await {
                tracing::warn!(target: "steward::pool", pool = shared.name(), error = %error.describe(), "destroy failed");
            }
        }
    });
    futures::future::join_all(destroys).await;
}

impl<M: Manager> Actor for PoolSupervisor<M> {
    // Creates and destroys come with `do_send`, which a full mailbox
    // never refuses.
    type Context = Context<Self>;
}

// ---- handlers: they only dispatch -------------------------------------

impl<M: Manager> Handler<Start<Shared<M>>> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: Start<Shared<M>>, ctx: &mut Context<Self>) {
        self.start(message.shared, message.reply, ctx);
    }
}

impl<M: Manager> Handler<Create<M::Resource>> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: Create<M::Resource>, ctx: &mut Context<Self>) {
        self.create_for(message.reservation, message.reply, ctx);
    }
}

impl<M: Manager> Handler<Destroy<M::Resource>> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, Destroy(resource): Destroy<M::Resource>, ctx: &mut Context<Self>) {
        self.destroy_discarded(resource, ctx);
    }
}

impl<M: Manager> Handler<Resize> for PoolSupervisor<M> {
    type Result = Result<(), PoolError>;

    fn handle(&mut self, Resize(size): Resize, ctx: &mut Context<Self>) -> Self::Result {
        self.resize(size, ctx)
    }
}

impl<M: Manager> Handler<ClosePool> for PoolSupervisor<M> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: ClosePool, ctx: &mut Context<Self>) -> Self::Result {
        self.close(ctx)
    }
}

impl<M: Manager> Handler<Shutdown> for PoolSupervisor<M> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        self.close(ctx)
    }
}

impl<M: Manager> Handler<SubscribeState> for PoolSupervisor<M> {
    type Result = MessageResult<SubscribeState>;

    fn handle(&mut self, _: SubscribeState, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.lifecycle.subscribe())
    }
}

impl<M: Manager> Handler<SubscribeStateRecipient> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: SubscribeStateRecipient, _: &mut Context<Self>) {
        self.lifecycle.subscribe_recipient(message.0);
    }
}
