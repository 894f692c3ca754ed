//! A tracked process: the task that reaps it, and how it is stopped.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio::sync::{oneshot, watch};

use super::actor::Shared;
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
    /// The mark its descendants carry, when the tracker spawned it.
    pub(crate) marker: Option<os::Match>,
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
pub(crate) fn watch(
    mut child: Child,
    shared: Arc<Shared>,
    pid: u32,
) -> (watch::Receiver<ProcessState>, HandBack) {
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
                    shared.exited(pid);
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
    pub(crate) marker: Option<os::Match>,
    pub(crate) state: watch::Receiver<ProcessState>,
    pub(crate) hand_back: HandBack,
    pub(crate) shared: Arc<Shared>,
}

impl Stopping {
    pub(crate) fn new(entry: ProcessEntry, shared: &Arc<Shared>) -> Self {
        Self {
            pid: entry.pid,
            group: entry.group,
            marker: entry.marker,
            state: entry.state,
            hand_back: entry.hand_back,
            shared: Arc::clone(shared),
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
        // Whatever outlived the leader: marked descendants, or (for an
        // adopted child without a mark) what is left of its group, each
        // signalled by a pid just read alive.
        let spare: Vec<u32> = self.shared.owned().into_iter().chain([self.pid]).collect();
        let descendants_killed = match (self.marker.clone(), self.group) {
            (Some(marker), _) => sweep(marker, spare, kill_wait).await,
            (None, Some(group)) => kill_group_members(group, spare, kill_wait).await,
            (None, None) => 0,
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

/// SIGKILLs what is left of process group `group` (but `spare`).
async fn kill_group_members(group: u32, spare: Vec<u32>, budget: Duration) -> usize {
    let killing = tokio::task::spawn_blocking(move || {
        os::group_members(group)
            .into_iter()
            .filter(|pid| !spare.contains(pid) && os::signal_process(*pid, Signal::SIGKILL))
            .count()
    });
    bounded(killing, budget).await
}

/// Awaits a blocking `/proc` job for at most `budget` (plus a second): a
/// read of `/proc` can hang on a process holding its memory lock.
async fn bounded(job: tokio::task::JoinHandle<usize>, budget: Duration) -> usize {
    let bound = budget.saturating_add(Duration::from_secs(1));
    match tokio::time::timeout(bound, job).await {
        Ok(Ok(killed)) => killed,
        _ => 0,
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
        let now = Instant::now();
        let deadline = now
            .checked_add(budget)
            .unwrap_or(now + Duration::from_secs(3600));
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
    bounded(sweeping, budget).await
}
