//! Stopping one tracked process and everything its cell holds.
//!
//! SIGTERM to every process of the cell, up to the timeout for the leader
//! to exit and the cell to empty, then SIGKILL to the whole cell (one write
//! to `cgroup.kill`, or the process group), up to the kill wait; then what
//! escaped the cell (marked processes that left their group) is killed,
//! the last usage read, and the cell removed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::containment::Cell;
use super::process::{ProcessEntry, finish};
use super::status::{Ending, ProcessState, StopCounts, StopOutcome};

/// How long a SIGKILLed process (or descendant) may take to disappear.
pub(crate) const KILL_WAIT: Duration = crate::budget::KILL_WAIT;

/// How long a cgroup that reads `populated 0` may stay busy for `rmdir`
/// (its last task is still being released).
const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// Stops `entry`: see the module doc. The entry is out of the tracker's
/// table already; dropping it at the end ends its watcher. Returns the
/// outcome, and the cell if it could not be removed yet (the caller keeps
/// it to retry).
pub(crate) async fn stop(
    mut entry: ProcessEntry,
    timeout: Duration,
    kill_wait: Duration,
) -> (StopOutcome, Option<Arc<dyn Cell>>) {
    let exited_before = entry.has_exited();
    let ending = if exited_before && entry.cell.until_empty(Duration::ZERO).await {
        Ending::ExitedBySelf
    } else {
        entry.cell.signal(Signal::SIGTERM, exited_before).await;
        if settled(&mut entry, timeout).await {
            if exited_before {
                Ending::ExitedBySelf
            } else {
                Ending::Terminated
            }
        } else {
            Ending::Killed
        }
    };
    let mut descendants_killed = 0;
    if ending == Ending::Killed {
        descendants_killed += entry.cell.kill(entry.pid, entry.has_exited());
        settled(&mut entry, kill_wait).await;
    }
    descendants_killed += entry.cell.sweep(kill_wait).await;
    let released = release(&entry).await;
    let state = *entry.state.borrow();
    let ending = match (ending, exited_before) {
        (Ending::Killed, true) => Ending::ExitedBySelf,
        (ending, _) => ending,
    };
    tracing::debug!(target: "steward::tracker", pid = entry.pid, ?ending, descendants_killed, "process stopped");
    (
        StopOutcome {
            ending,
            state,
            descendants_killed,
        },
        (!released).then(|| Arc::clone(&entry.cell)),
    )
}

/// Waits, at most `within`, until the leader has exited and its cell is
/// empty.
async fn settled(entry: &mut ProcessEntry, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let exited = tokio::time::timeout(within, entry.state.wait_for(ProcessState::has_exited))
        .await
        .is_ok_and(|exited| exited.is_ok());
    exited
        && entry
            .cell
            .until_empty(deadline.saturating_duration_since(Instant::now()))
            .await
}

/// Reads the cell's last usage and removes it, retrying a busy cgroup for
/// a moment.
async fn release(entry: &ProcessEntry) -> bool {
    if !entry.cell.until_empty(Duration::ZERO).await {
        return false;
    }
    let deadline = Instant::now() + RELEASE_WAIT;
    loop {
        if finish(&entry.cell, &entry.last_usage, false) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Counts the tracker's stops by how they ended, for its status.
#[derive(Debug, Default)]
pub(crate) struct StopCounter {
    exited_by_self: AtomicU64,
    terminated: AtomicU64,
    killed: AtomicU64,
}

impl StopCounter {
    pub(crate) fn count(&self, ending: Ending) {
        let counter = match ending {
            Ending::ExitedBySelf => &self.exited_by_self,
            Ending::Terminated => &self.terminated,
            Ending::Killed => &self.killed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn counts(&self) -> StopCounts {
        StopCounts {
            exited_by_self: self.exited_by_self.load(Ordering::Relaxed),
            terminated: self.terminated.load(Ordering::Relaxed),
            killed: self.killed.load(Ordering::Relaxed),
        }
    }
}
