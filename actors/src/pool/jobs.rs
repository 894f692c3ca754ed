//! The work a pool's keeper spawns off its thread: a start's creates
//! under the retry policy, handing a new resource over, an idle
//! resource's health check, destroys.

use std::sync::Arc;

use super::error::{PoolError, TimeoutKind};
use super::manager::Manager;
use super::pooled::IdleEntry;
use super::requests::{CreateRequest, Purpose};
use super::shared::{PoolState, Unready};
use crate::UserError;
use crate::retry::{Failure, RetryError, with_retry};

/// Hands a new resource to the acquire waiting for it, or makes it idle.
pub(super) fn deliver<M: Manager>(
    shared: &PoolState<M>,
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
pub(super) async fn check_one<M: Manager>(shared: &PoolState<M>) -> bool {
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

struct CheckDone<'a, M: Manager>(&'a PoolState<M>);

impl<M: Manager> Drop for CheckDone<'_, M> {
    fn drop(&mut self) {
        self.0.set_checking(false);
    }
}

/// A start's create: the manager's `create` under the retry policy, each
/// attempt bounded by `create_timeout`, a panic caught.
pub(super) async fn create_with_retry<M: Manager>(
    shared: &PoolState<M>,
) -> Result<M::Resource, PoolError> {
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
pub(super) fn last_error(error: &PoolError) -> UserError {
    match error {
        PoolError::Create { error, .. } => error.clone(),
        other => UserError::msg(other),
    }
}

/// Destroys resources through the manager, each bounded by
/// `recycle_timeout`; a failure or panic is logged.
pub(super) async fn destroy_all<M: Manager>(
    shared: Arc<PoolState<M>>,
    resources: Vec<M::Resource>,
) {
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
