//! The one bounded poller of the integration tests. What another process,
//! a thread or the kernel does is awaited by polling for it, each wait
//! with a bound, never by a sleep alone.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is looked at.
const EVERY: Duration = Duration::from_millis(10);

/// Polls `check` until it returns `Some`, at most `limit`; `None` past
/// it (the caller says what was missing).
pub(crate) fn some<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(EVERY);
    }
}

/// Polls `condition` until it holds; fails the test, naming `what`, if
/// it does not within `limit`.
pub(crate) fn until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let held = some(limit, || condition().then_some(()));
    assert!(held.is_some(), "not within {limit:?}: {what}");
}

/// [`until`] for a condition that has to be awaited, polled from an async
/// test without blocking its runtime.
pub(crate) async fn until_async<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let held = tokio::time::timeout(limit, async {
        while !condition().await {
            tokio::time::sleep(EVERY).await;
        }
    })
    .await;
    assert!(held.is_ok(), "not within {limit:?}: {what}");
}
