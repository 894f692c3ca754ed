//! A tracked process: the task that reaps it, and how it is stopped.

use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio::sync::{oneshot, watch};

use super::os;
use super::status::{Ending, ProcessState, ProcessStatus, StopOutcome};

/// How long a SIGKILLed process (or descendant) may take to disappear.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(5);

/// Asks the watcher for the `Child` back.
pub(crate) type HandBack = oneshot::Sender<oneshot::Sender<Child>>;

pub(crate) struct ProcessEntry {
    pub(crate) sequence: u64,
    pub(crate) pid: u32,
    /// Its process group, when it leads one (every process the tracker
    /// spawns does); else only the pid is signalled.
    pub(crate) group: Option<u32>,
    /// The marker its descendants carry, when the tracker spawned it.
    pub(crate) marker: Option<String>,
    pub(crate) started: SystemTime,
    pub(crate) state: watch::Receiver<ProcessState>,
    pub(crate) hand_back: HandBack,
}

impl ProcessEntry {
    pub(crate) fn status(&self) -> ProcessStatus {
        ProcessStatus {
            pid: self.pid,
            state: *self.state.borrow(),
            started: self.started,
        }
    }
}

/// Starts the task that waits for (and so reaps) `child` the moment it
/// exits, publishes its state, and hands the `Child` back on request.
pub(crate) fn watch(mut child: Child) -> (watch::Receiver<ProcessState>, HandBack) {
    let (state_tx, state) = watch::channel(ProcessState::Running);
    let (hand_back, mut requests) = oneshot::channel::<oneshot::Sender<Child>>();
    tokio::spawn(async move {
        let mut exited = false;
        loop {
            tokio::select! {
                status = child.wait(), if !exited => {
                    exited = true;
                    let state = match status {
                        Ok(status) => ProcessState::from_exit(status),
                        Err(_) => ProcessState::Exited { code: None, signal: None },
                    };
                    state_tx.send_replace(state);
                }
                request = &mut requests => {
                    if let Ok(reply) = request {
                        let _ = reply.send(child);
                    }
                    // Asked for it, or the entry is gone: either way done.
                    // (An unexited child dropped here is reaped by tokio's
                    // orphan reaper; it was stopped or handed over first.)
                    return;
                }
            }
        }
    });
    (state, hand_back)
}

/// What stopping a process needs, taken out of the tracker.
pub(crate) struct Stopping {
    pub(crate) pid: u32,
    pub(crate) group: Option<u32>,
    pub(crate) marker: Option<String>,
    pub(crate) state: watch::Receiver<ProcessState>,
    pub(crate) hand_back: HandBack,
}

impl From<ProcessEntry> for Stopping {
    fn from(entry: ProcessEntry) -> Self {
        Self {
            pid: entry.pid,
            group: entry.group,
            marker: entry.marker,
            state: entry.state,
            hand_back: entry.hand_back,
        }
    }
}

impl Stopping {
    /// SIGTERM to the group, up to `timeout` for it to exit, then SIGKILL;
    /// then kills marked descendants that outlived it.
    pub(crate) async fn stop(mut self, timeout: Duration, kill_wait: Duration) -> StopOutcome {
        let ending = if self.state.borrow().has_exited() {
            Ending::ExitedBySelf
        } else {
            self.signal(Signal::SIGTERM);
            if self.wait_exit(timeout).await {
                Ending::Terminated
            } else {
                self.signal(Signal::SIGKILL);
                self.wait_exit(kill_wait).await;
                Ending::Killed
            }
        };
        let descendants_killed = match self.marker.clone() {
            Some(marker) => sweep(os::Match::Exact(marker), vec![self.pid], kill_wait).await,
            None => 0,
        };
        let state = *self.state.borrow();
        // Dropping the request side ends the watcher.
        drop(self.hand_back);
        StopOutcome {
            ending,
            state,
            descendants_killed,
        }
    }

    /// Signals only while the leader is unreaped, so its pid (the group's
    /// id) cannot have been reused.
    fn signal(&self, signal: Signal) {
        if self.state.borrow().has_exited() {
            return;
        }
        match self.group {
            Some(group) => os::signal_group(group, signal),
            None => os::signal_process(self.pid, signal),
        };
    }

    async fn wait_exit(&mut self, timeout: Duration) -> bool {
        matches!(
            tokio::time::timeout(timeout, self.state.wait_for(ProcessState::has_exited)).await,
            Ok(Ok(_))
        )
    }
}

/// SIGKILLs every live process whose marker matches (but `spare`) until
/// none is left or `budget` runs out; reaps those that were adopted.
/// Returns how many were killed.
pub(crate) async fn sweep(matching: os::Match, spare: Vec<u32>, budget: Duration) -> usize {
    let sweeping = tokio::task::spawn_blocking(move || {
        if !os::any_marked_child(&matching) {
            return 0;
        }
        let deadline = Instant::now() + budget;
        let mut killed = std::collections::HashSet::new();
        loop {
            for pid in os::marked(&matching) {
                if !spare.contains(&pid) && os::signal_process(pid, Signal::SIGKILL) {
                    killed.insert(pid);
                }
            }
            // Killed ones linger until their parent reaps them; we are the
            // parent of those that were orphaned (we are a subreaper).
            let lingering = killed
                .iter()
                .filter(|&&pid| !os::reap_if_zombie_child(pid))
                .count();
            if (lingering == 0 && os::marked(&matching).iter().all(|pid| spare.contains(pid)))
                || Instant::now() >= deadline
            {
                return killed.len();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    sweeping.await.unwrap_or(0)
}
