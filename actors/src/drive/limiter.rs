//! The `DriveLimiter` actor: owns one drive's limit and its shutdown.

use std::sync::Arc;

use actix::{Actor, ActorContext, Context, Handler, Message};

use super::DriveError;
use super::state::DriveState;
use crate::Shutdown;

/// The largest limit: far above any device's useful queue depth, well
/// inside what a tokio semaphore holds.
pub(crate) const MAX_LIMIT: usize = 1 << 30;

/// Changes a drive's limit at run time.
///
/// Growing frees permits at once and wakes waiters; shrinking while
/// permits are out takes effect as they come back.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), DriveError>")]
pub struct SetLimit(pub usize);

/// One drive's limiter. Acquiring and releasing permits never reach it:
/// they use the semaphore it publishes. It owns what changes that
/// semaphore: the limit and the shutdown.
#[derive(Debug)]
pub struct DriveLimiter {
    state: Arc<DriveState>,
}

impl DriveLimiter {
    pub(crate) fn new(state: Arc<DriveState>) -> Self {
        Self { state }
    }

    fn set_limit(&mut self, limit: usize) -> Result<(), DriveError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DriveError::InvalidLimit {
                mount_point: self.state.mount_point.clone(),
                limit,
                max: MAX_LIMIT,
            });
        }
        let old = self.state.limit();
        self.state.set_limit(limit);
        tracing::info!(target: "steward::drive", mount_point = %self.state.mount_point.display(), old, limit, "IO limit changed");
        Ok(())
    }
}

impl Actor for DriveLimiter {
    type Context = Context<Self>;
}

impl Handler<SetLimit> for DriveLimiter {
    type Result = Result<(), DriveError>;

    fn handle(&mut self, SetLimit(limit): SetLimit, _: &mut Context<Self>) -> Self::Result {
        self.set_limit(limit)
    }
}

impl Handler<Shutdown> for DriveLimiter {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        // Waiters fail with `Closed` at once; held permits stay valid
        // until dropped.
        self.state.permits.semaphore().close();
        ctx.stop();
    }
}
