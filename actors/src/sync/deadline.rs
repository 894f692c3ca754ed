//! Deadlines and timeouts that neither overflow nor cost a timer they do
//! not need.

use std::future::Future;
use std::ops::Add;
use std::task::Poll;
use std::time::Duration;

/// How far away a deadline "never" is: thirty years, as tokio's own
/// far-future instant.
const NEVER: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);

/// An instant a deadline can be counted from: `std`'s or tokio's.
pub(crate) trait Deadline: Copy + Add<Duration, Output = Self> {
    /// `self + wait`, or `None` past the clock's range.
    fn checked_add(self, wait: Duration) -> Option<Self>;
}

impl Deadline for std::time::Instant {
    fn checked_add(self, wait: Duration) -> Option<Self> {
        std::time::Instant::checked_add(&self, wait)
    }
}

impl Deadline for tokio::time::Instant {
    fn checked_add(self, wait: Duration) -> Option<Self> {
        tokio::time::Instant::checked_add(&self, wait)
    }
}

/// `wait` after `now`. A wait too long for the clock (`Duration::MAX`, the
/// way to say "forever") becomes thirty years instead of a panic.
pub(crate) fn deadline_after<I: Deadline>(now: I, wait: Duration) -> I {
    now.checked_add(wait).unwrap_or_else(|| now + NEVER)
}

/// Runs `future` for at most `limit`, counted from the first time it
/// waits; `None` when the time ran out first.
///
/// A future that finishes on its first poll costs no clock read and no
/// timer: tokio's `timeout` reads the clock when made and takes the time
/// driver's lock when dropped even if its timer was never armed. Only a
/// future that waits gets a timer, armed once; it is not polled twice in a
/// row for it.
///
/// # Cancel safety
///
/// Exactly as cancel-safe as `future`.
pub(crate) async fn within<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    if let Poll::Ready(output) = futures::poll!(future.as_mut()) {
        return Some(output);
    }
    let mut timer = std::pin::pin!(tokio::time::sleep(limit));
    let mut just_polled = true;
    std::future::poll_fn(move |cx| {
        // The first time round the future was polled a moment ago (above):
        // only the timer needs arming.
        if !std::mem::take(&mut just_polled)
            && let Poll::Ready(output) = future.as_mut().poll(cx)
        {
            return Poll::Ready(Some(output));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}
