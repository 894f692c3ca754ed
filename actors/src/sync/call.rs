//! Calling application code: bounded in time, with its panic caught.
//!
//! actix catches nothing: a panic that unwinds through a handler drops
//! the actor silently. So every user callback (a factory, a health check,
//! a cleanup, a child's start) runs through [`call`] (async) or [`catch`]
//! (sync), and its panic becomes a value the caller turns into a typed
//! error and a state change.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;

use super::within;
use crate::panic_message::panic_message;

/// How a callback ended other than by returning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It outlived its time and was dropped.
    TimedOut(Duration),
    /// It panicked, with this message.
    Panicked(String),
}

/// Runs `callback` for at most `limit` (no bound for `None`), catching a
/// panic in any of its polls, the first included: everything the
/// application wrote runs inside the catch.
///
/// A callback that finishes at once arms no timer (see [`within`]).
///
/// # Cancel safety
///
/// Dropping the future drops the callback.
pub(crate) async fn call<F: Future>(
    limit: Option<Duration>,
    callback: F,
) -> Result<F::Output, Ended> {
    let caught = std::pin::pin!(AssertUnwindSafe(callback).catch_unwind());
    let outcome = match limit {
        Some(limit) => within(limit, caught).await.ok_or(Ended::TimedOut(limit))?,
        None => caught.await,
    };
    outcome.map_err(|payload| Ended::Panicked(panic_message(&*payload)))
}

/// Runs the synchronous `callback`, its panic caught and returned as its
/// message.
pub(crate) fn catch<T>(callback: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(AssertUnwindSafe(callback)).map_err(|payload| panic_message(&*payload))
}
