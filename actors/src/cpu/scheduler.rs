//! The `CpuScheduler` actor: owns the pool's lifecycle.

use std::sync::Arc;

use actix::{Actor, ActorContext, Context, Handler, Message, Recipient};

use super::pool::Pool;
use crate::Shutdown;
use crate::lifecycle::{Lifecycle, State, StateChanged};

/// The actor behind [`Cpu`](super::Cpu). Jobs never pass through it: they
/// go straight to the worker pool it publishes. It owns the pool's
/// lifecycle, `Ready` from the start (the workers exist before the actor
/// does), then at shutdown `Closing` (no job admitted, queued ones
/// skipped) and `Closed`; running jobs finish on their own.
#[derive(Debug)]
pub struct CpuScheduler {
    pool: Arc<Pool>,
    lifecycle: Lifecycle,
}

impl CpuScheduler {
    /// A scheduler of `pool`, whose workers are up: its lifecycle is
    /// already `Ready`.
    pub(crate) fn new(pool: Arc<Pool>, lifecycle: Lifecycle) -> Self {
        Self { pool, lifecycle }
    }

    /// Stops admitting jobs and skips the queued ones; `Closing` then
    /// `Closed`.
    fn close(&mut self) {
        self.lifecycle.advance_expected(State::Closing, "shutdown");
        self.pool.close();
        tracing::debug!(target: "steward::cpu", stats = ?self.pool.stats(), "CPU scheduler shut down");
        self.lifecycle
            .advance_expected(State::Closed, "queued jobs skipped; running ones finish");
    }
}

impl Actor for CpuScheduler {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Stopped without a `Shutdown` (its System went down): closed all
        // the same.
        if !self.lifecycle.state().is_final() {
            self.close();
        }
    }
}

impl Handler<Shutdown> for CpuScheduler {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.close();
        ctx.stop();
    }
}

/// Delivers the scheduler's later lifecycle moves to an actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubscribeCpuState(pub Recipient<StateChanged>);

impl Handler<SubscribeCpuState> for CpuScheduler {
    type Result = ();

    fn handle(&mut self, message: SubscribeCpuState, _: &mut Context<Self>) {
        self.lifecycle.subscribe_recipient(message.0);
    }
}
