//! The `CpuScheduler` actor: owns the pool's lifecycle.

use std::sync::Arc;

use actix::{Actor, ActorContext, Context, Handler};

use super::pool::Pool;
use crate::Shutdown;

/// The actor behind [`Cpu`](super::Cpu). Jobs never pass through it: they
/// go straight to the worker pool it publishes. It owns the pool's
/// shutdown: stop admitting, skip what is still queued, let running jobs
/// finish on their own.
#[derive(Debug)]
pub struct CpuScheduler {
    pool: Arc<Pool>,
}

impl CpuScheduler {
    pub(crate) fn new(pool: Arc<Pool>) -> Self {
        Self { pool }
    }
}

impl Actor for CpuScheduler {
    type Context = Context<Self>;
}

impl Handler<Shutdown> for CpuScheduler {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.pool.close();
        tracing::debug!(target: "steward::cpu", stats = ?self.pool.stats(), "CPU scheduler shut down");
        ctx.stop();
    }
}
