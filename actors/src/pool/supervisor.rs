//! The `PoolSupervisor` actor: owns a pool's creation, replacement, idle
//! reaping, lifetimes, health checks, circuit breaker, resize and close.

use std::sync::{Arc, Weak};
use std::time::Duration;

use actix::{
    Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, Recipient,
    ResponseActFuture, SpawnHandle, WrapFuture,
};
use tokio::sync::{broadcast, oneshot};
use tokio::time::Instant;

use super::manager::guarded;
use super::slots::{Reservation, Shared, Slot};
use super::{Manager, PoolError, TimeoutKind};
use crate::Shutdown;
use crate::UserError;
use crate::lifecycle::{Lifecycle, State, StateChanged};
use crate::retry::{Failure, RetryError, with_retry};

/// The actor behind a [`Pool`](super::Pool). Checkouts of idle resources
/// never reach it; it owns every other change of the pool.
pub struct PoolSupervisor<M: Manager> {
    shared: Weak<Shared<M>>,
    lifecycle: Lifecycle,
    consecutive_failures: u32,
    maintenance: Option<SpawnHandle>,
    health: Option<SpawnHandle>,
    checking: bool,
}

impl<M: Manager> std::fmt::Debug for PoolSupervisor<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolSupervisor")
            .field("pool", &self.lifecycle.resource())
            .field("state", &self.lifecycle.state())
            .finish_non_exhaustive()
    }
}

/// Creates one resource for an acquire, into the room it reserved; a
/// resource whose acquire has gone becomes idle.
pub(crate) struct Create<M: Manager> {
    pub(crate) reservation: Reservation<M>,
    pub(crate) reply: oneshot::Sender<Result<Slot<M::Resource>, PoolError>>,
}

impl<M: Manager> Message for Create<M> {
    type Result = ();
}

/// Destroys a discarded resource (bounded by `recycle_timeout`).
pub(crate) struct Destroy<R>(pub(crate) R);

impl<R: Send + 'static> Message for Destroy<R> {
    type Result = ();
}

/// Fills `min_size` and makes the pool `Ready`; the reply carries the
/// first create's error if it cannot.
pub(crate) struct Start {
    pub(crate) reply: oneshot::Sender<Result<(), PoolError>>,
}

impl Message for Start {
    type Result = ();
}

/// Changes a pool's `max_size` (and lowers `min_size` to it if above).
///
/// Growing frees slots at once and wakes waiters; shrinking destroys idle
/// resources above the new size now and checked-out ones when they come
/// back.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), PoolError>")]
pub struct Resize(pub usize);

/// Closes a pool: waiters and later acquires fail with `Closed`, idle
/// resources are destroyed now, checked-out ones when they come back.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "()")]
pub struct ClosePool;

/// Asks for a stream of the pool's lifecycle moves.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "broadcast::Receiver<StateChanged>")]
pub struct SubscribeState;

/// Delivers the pool's lifecycle moves to an actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubscribeStateRecipient(pub Recipient<StateChanged>);

impl<M: Manager> PoolSupervisor<M> {
    pub(crate) fn new(shared: Weak<Shared<M>>, name: String) -> Self {
        Self {
            shared,
            lifecycle: Lifecycle::new(name),
            consecutive_failures: 0,
            maintenance: None,
            health: None,
            checking: false,
        }
    }

    fn advance(&mut self, to: State, reason: &str) {
        if self.lifecycle.state() == to {
            return;
        }
        match self.lifecycle.advance(to, reason) {
            Ok(_) => {
                if let Some(shared) = self.shared.upgrade() {
                    shared.publish_state(to);
                }
            }
            Err(illegal) => {
                debug_assert!(false, "{illegal}");
                tracing::error!(target: "steward::pool", pool = self.lifecycle.resource(), %illegal, "pool state machine refused a move");
            }
        }
    }

    fn is_closing(&self) -> bool {
        matches!(self.lifecycle.state(), State::Closing | State::Closed)
    }

    /// Counts a create operation's outcome: the circuit breaker.
    fn record_create(&mut self, result: &Result<(), PoolError>, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        match result {
            Ok(()) => {
                self.consecutive_failures = 0;
                if self.lifecycle.state() == State::Degraded {
                    self.advance(State::Ready, "create succeeded");
                }
            }
            Err(error) => {
                shared
                    .failed_creates
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                shared.set_last_error(last_error(error));
                self.consecutive_failures += 1;
                let state = self.lifecycle.state();
                if !state.is_usable() {
                    return;
                }
                if self.consecutive_failures >= shared.config.failure_threshold {
                    shared.set_unavailable(true);
                    self.advance(
                        State::Error,
                        &format!("{} consecutive creates failed", self.consecutive_failures),
                    );
                    self.schedule_probe(ctx, Duration::ZERO);
                } else if state == State::Ready {
                    self.advance(State::Degraded, "a create failed");
                }
            }
        }
    }

    /// In `Error`: one probe create at a time, under the retry policy.
    fn schedule_probe(&mut self, ctx: &mut Context<Self>, delay: Duration) {
        ctx.run_later(delay, |actor, ctx| actor.probe(ctx));
    }

    fn probe(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if self.lifecycle.state() != State::Error || shared.is_closed() {
            return;
        }
        self.advance(State::Initializing, "probing with one create");
        let probe = create_resource(Arc::clone(&shared));
        ctx.spawn(probe.into_actor(self).map(move |result, actor, ctx| {
            if actor.is_closing() {
                if let Ok(resource) = result {
                    shared.supervisor.do_send(Destroy(resource));
                }
                return;
            }
            match result {
                Ok(resource) => {
                    actor.consecutive_failures = 0;
                    shared.set_unavailable(false);
                    actor.advance(State::Ready, "probe create succeeded");
                    match shared.reserve() {
                        Some(reservation) => shared.push_idle(reservation.fill(resource)),
                        None => shared.supervisor.do_send(Destroy(resource)),
                    }
                    actor.refill(ctx);
                }
                Err(error) => {
                    shared
                        .failed_creates
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    shared.set_last_error(last_error(&error));
                    actor.advance(State::Error, "probe create failed");
                    actor.schedule_probe(ctx, shared.config.probe_interval);
                }
            }
        }));
    }

    /// Creates resources in the background until `min_size` is reached.
    fn refill(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if !self.lifecycle.state().is_usable() || shared.is_closed() {
            return;
        }
        let min = shared.min_size.load(std::sync::atomic::Ordering::Acquire);
        for _ in shared.size()..min {
            let Some(reservation) = shared.reserve() else {
                return;
            };
            self.spawn_create(reservation, None, ctx);
        }
    }

    /// Runs one create for `reservation`; the result goes to `reply`, or
    /// into the idle queue when there is no one to take it.
    fn spawn_create(
        &mut self,
        reservation: Reservation<M>,
        reply: Option<oneshot::Sender<Result<Slot<M::Resource>, PoolError>>>,
        ctx: &mut Context<Self>,
    ) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let creating = create_resource(Arc::clone(&shared));
        ctx.spawn(creating.into_actor(self).map(move |result, actor, ctx| {
            actor.record_create(&result.as_ref().map(|_| ()).map_err(Clone::clone), ctx);
            match result {
                Ok(resource) => {
                    let slot = reservation.fill(resource);
                    let unclaimed = match reply {
                        Some(reply) => reply.send(Ok(slot)).err().and_then(Result::ok),
                        None => Some(slot),
                    };
                    if let Some(slot) = unclaimed {
                        shared.push_idle(slot);
                    }
                }
                Err(error) => {
                    drop(reservation);
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(error));
                    }
                }
            }
        }));
    }

    /// Reaps idle resources past `idle_timeout` (above `min_size`) or past
    /// their lifetime, reports leaks, refills `min_size`.
    fn maintain(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            // Every handle and guard is gone: nothing left to supervise.
            ctx.stop();
            return;
        };
        let now = Instant::now();
        let idle_timeout = shared.config.idle_timeout;
        let min = shared.min_size.load(std::sync::atomic::Ordering::Acquire);
        let mut size = shared.size();
        let reaped = shared.take_idle_where(|entry| {
            let expired = entry.slot.meta.expired(now);
            let idle_too_long = idle_timeout
                .zip(entry.since)
                .is_some_and(|(timeout, since)| now.duration_since(since) >= timeout);
            let remove = expired || (idle_too_long && size > min);
            if remove {
                size -= 1;
            }
            remove
        });
        if !reaped.is_empty() {
            tracing::debug!(target: "steward::pool", pool = shared.name(), reaped = reaped.len(), "idle resources reaped");
        }
        for slot in reaped {
            shared.discard(slot);
        }
        if let Some(threshold) = shared.config.leak_threshold {
            for (id, held, location) in shared.new_leaks(threshold) {
                tracing::warn!(target: "steward::pool", pool = shared.name(), id, ?held, %location, "pooled resource held longer than leak_threshold");
            }
        }
        self.refill(ctx);
    }

    /// Checks idle resources one at a time, never the last idle one, never
    /// under a lock an acquire needs.
    fn health_check(&mut self, ctx: &mut Context<Self>) {
        if self.checking {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        self.checking = true;
        let rounds = shared.idle_len().saturating_sub(1);
        let checks = async move {
            for _ in 0..rounds {
                let Some(mut entry) = shared.pop_for_check() else {
                    break;
                };
                let checked = guarded(
                    shared.name(),
                    "check",
                    TimeoutKind::Recycle,
                    shared.config.recycle_timeout,
                    shared.manager.check(&mut entry.slot.resource),
                )
                .await;
                match checked {
                    Ok(()) => shared.push_idle_entry(entry),
                    Err(error) => {
                        tracing::info!(target: "steward::pool", pool = shared.name(), id = entry.slot.meta.id, error = %error.describe(), "idle resource failed its health check; replaced");
                        shared.discard(entry.slot);
                    }
                }
            }
        };
        ctx.spawn(checks.into_actor(self).map(|(), actor, ctx| {
            actor.checking = false;
            actor.refill(ctx);
        }));
    }

    fn start_timers(&mut self, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let every = shared.config.maintenance_interval;
        self.maintenance = Some(ctx.run_interval(every, |actor, ctx| actor.maintain(ctx)));
        if let Some(every) = shared.config.health_check_interval {
            self.health = Some(ctx.run_interval(every, |actor, ctx| actor.health_check(ctx)));
        }
    }

    fn resize(&mut self, size: usize, ctx: &mut Context<Self>) -> Result<(), PoolError> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        if shared.is_closed() {
            return Err(shared.closed_error());
        }
        if !(1..=super::builder::MAX_SIZE).contains(&size) {
            return Err(shared.config.invalid("max_size", size, "must be 1 to 2^24"));
        }
        let min = &shared.min_size;
        if min.load(std::sync::atomic::Ordering::Acquire) > size {
            min.store(size, std::sync::atomic::Ordering::Release);
        }
        shared.set_max_size(size);
        let mut excess = shared.size().saturating_sub(size);
        for slot in shared.take_idle_where(|_| {
            let remove = excess > 0;
            excess = excess.saturating_sub(1);
            remove
        }) {
            shared.discard(slot);
        }
        tracing::info!(target: "steward::pool", pool = shared.name(), max_size = size, "pool resized");
        self.refill(ctx);
        Ok(())
    }

    /// Stops admitting, destroys idle resources; `Closed` once they are.
    fn close(&mut self, ctx: &mut Context<Self>) -> Vec<M::Resource> {
        let Some(shared) = self.shared.upgrade() else {
            return Vec::new();
        };
        shared.stop_admitting();
        if self.is_closing() {
            return Vec::new();
        }
        self.advance(State::Closing, "close requested");
        for handle in [self.maintenance.take(), self.health.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel_future(handle);
        }
        shared
            .take_idle_where(|_| true)
            .into_iter()
            .map(|slot| {
                shared.forget(&slot.meta);
                slot.resource
            })
            .collect()
    }
}

/// One create operation: the manager's `create` under the retry policy,
/// each attempt bounded by `create_timeout`, a panic caught.
async fn create_resource<M: Manager>(shared: Arc<Shared<M>>) -> Result<M::Resource, PoolError> {
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
            let destroyed = guarded(
                shared.name(),
                "destroy",
                TimeoutKind::Recycle,
                shared.config.recycle_timeout,
                async {
                    shared.manager.destroy(resource).await;
                    Ok(())
                },
            )
            .await;
            if let Err(error) = destroyed {
                tracing::warn!(target: "steward::pool", pool = shared.name(), error = %error.describe(), "destroy failed");
            }
        }
    });
    futures::future::join_all(destroys).await;
}

impl<M: Manager> Actor for PoolSupervisor<M> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Creates and destroys can come in bursts: never refuse one.
        ctx.set_mailbox_capacity(usize::MAX);
    }
}

impl<M: Manager> Handler<Start> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: Start, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        self.advance(State::Initializing, "starting");
        let min = shared.config.min_size;
        let fills: Vec<_> = (0..min)
            .filter_map(|_| shared.reserve())
            .map(|reservation| {
                let shared = Arc::clone(&shared);
                async move { (reservation, create_resource(shared).await) }
            })
            .collect();
        let filling = futures::future::join_all(fills);
        ctx.spawn(filling.into_actor(self).map(move |results, actor, ctx| {
            let mut first_error = None;
            for (reservation, result) in results {
                match result {
                    Ok(resource) => shared.push_idle(reservation.fill(resource)),
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
            if actor.is_closing() {
                let _ = message.reply.send(Err(shared.closed_error()));
                return;
            }
            match first_error {
                Some(error) => {
                    shared.set_last_error(last_error(&error));
                    actor.advance(State::Error, "min_size could not be filled");
                    let _ = message.reply.send(Err(error));
                }
                None => {
                    actor.advance(State::Ready, "started");
                    actor.start_timers(ctx);
                    let _ = message.reply.send(Ok(()));
                }
            }
        }));
    }
}

impl<M: Manager> Handler<Create<M>> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: Create<M>, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            let _ = message.reply.send(Err(shared.closed_error()));
        } else if shared.is_unavailable() {
            let _ = message.reply.send(Err(shared.unavailable_error()));
        } else {
            self.spawn_create(message.reservation, Some(message.reply), ctx);
        }
    }
}

impl<M: Manager> Handler<Destroy<M::Resource>> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, Destroy(resource): Destroy<M::Resource>, ctx: &mut Context<Self>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        ctx.spawn(destroy_all(shared, vec![resource]).into_actor(self));
        // A destroyed resource may leave the pool below `min_size`.
        self.refill(ctx);
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
        let idle = self.close(ctx);
        let destroying = self
            .shared
            .upgrade()
            .map(|shared| destroy_all(shared, idle));
        Box::pin(
            async move {
                if let Some(destroying) = destroying {
                    destroying.await;
                }
            }
            .into_actor(self)
            .map(|(), actor, _| {
                if actor.lifecycle.state() == State::Closing {
                    actor.advance(State::Closed, "idle resources destroyed");
                }
            }),
        )
    }
}

impl<M: Manager> Handler<Shutdown> for PoolSupervisor<M> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        self.handle(ClosePool, ctx)
    }
}

impl<M: Manager> Handler<SubscribeState> for PoolSupervisor<M> {
    type Result = actix::MessageResult<SubscribeState>;

    fn handle(&mut self, _: SubscribeState, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.lifecycle.subscribe())
    }
}

impl<M: Manager> Handler<SubscribeStateRecipient> for PoolSupervisor<M> {
    type Result = ();

    fn handle(&mut self, message: SubscribeStateRecipient, _: &mut Context<Self>) {
        self.lifecycle.subscribe_recipient(message.0);
    }
}
