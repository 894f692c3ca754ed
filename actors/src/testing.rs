//! What the crate's unit tests share: the one bound on every wait, and
//! [`eventually`].

use std::time::{Duration, Instant};

/// The longest a test waits for anything, in real time: generous, for a
/// loaded machine, and never unbounded.
pub(crate) const BOUND: Duration = Duration::from_secs(30);

/// Polls after this many the poller starts resting between polls.
const EAGER_POLLS: u32 = 1_000;

/// Waits until `condition` holds, panicking with `what` if it still does
/// not after [`BOUND`] of real time.
///
/// Between polls it lets the runtime's other tasks run. It never moves a
/// paused tokio clock: the first polls only yield, and later ones rest a
/// millisecond on a blocking thread (tokio does not auto-advance a paused
/// clock while one runs), so a wait on real work (a child process, a
/// worker thread) does not spin a core either.
pub(crate) async fn eventually(what: &str, condition: impl FnMut() -> bool) {
    poll_until(BOUND, what, condition).await;
}

/// [`eventually`] with another bound.
async fn poll_until(bound: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    let mut polls = 0_u32;
    while !condition() {
        assert!(
            started.elapsed() < bound,
            "never happened within {bound:?}: {what}"
        );
        polls = polls.saturating_add(1);
        if polls < EAGER_POLLS {
            tokio::task::yield_now().await;
        } else {
            let rest = tokio::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1)));
            // A runtime shutting down cancels it: polling goes on regardless.
            let _ = rest.await;
        }
    }
}

mod tests;
