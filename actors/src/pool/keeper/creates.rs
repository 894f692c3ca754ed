//! A pool keeper's creates, under the circuit breaker: queued,
//! admitted one attempt at a time while the backend fails, retried, the
//! probe while the breaker is open.

use std::sync::Arc;

use actix::prelude::*;

use super::PoolKeeper;
use crate::lifecycle::State;
use crate::pool::breaker::Admit;
use crate::pool::capacity::Reservation;
use crate::pool::error::{PoolError, TimeoutKind};
use crate::pool::jobs::deliver;
use crate::pool::manager::{CallError, Manager};
use crate::pool::requests::{CreateRequest, Purpose, Reply};
use crate::pool::shared::{PoolState, now};

impl<M: Manager> PoolKeeper<M> {
    /// An acquire reserved room and waits for a new resource.
    pub(crate) fn create_for(
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
    pub(super) fn pump(&mut self, ctx: &mut Context<Self>) {
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
        shared: &Arc<PoolState<M>>,
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
        shared: &PoolState<M>,
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
    fn open(&mut self, shared: &PoolState<M>, ctx: &mut Context<Self>) {
        tracing::warn!(target: "steward::pool", pool = shared.name(), failures = self.breaker.consecutive_failures(), "create attempts keep failing: the pool fails fast and probes");
        self.end_requests(ctx, || shared.unavailable_error());
        self.schedule_probe(ctx);
    }

    /// Fails every request with `error()`: queued, backing off (timer
    /// cancelled) and running (attempt cancelled; a probe too).
    pub(super) fn end_requests(&mut self, ctx: &mut Context<Self>, error: impl Fn() -> PoolError) {
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
    pub(super) fn refill(&mut self, ctx: &mut Context<Self>) {
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
}
