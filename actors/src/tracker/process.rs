//! A tracked process: its entry, and the task that reaps it.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::{oneshot, watch};

use super::child::ChildProcess;
use super::containment::Cell;
use super::pids::Pids;
use super::status::{ProcessState, ProcessStatus, Usage};

/// Asks the watcher for the `Child` back.
pub(crate) type ReturnChild = oneshot::Sender<oneshot::Sender<ChildProcess>>;

/// One tracked process.
pub(crate) struct ProcessEntry {
    /// Its number: its cgroup's name, and its order for `cleanup_all`.
    pub(crate) id: u64,
    pub(crate) pid: u32,
    pub(crate) started: SystemTime,
    pub(crate) state: watch::Receiver<ProcessState>,
    pub(crate) hand_back: ReturnChild,
    pub(crate) cell: Arc<dyn Cell>,
    /// The last reading of its cell, kept once the cell is gone.
    pub(crate) last_usage: Arc<Mutex<Usage>>,
}

impl std::fmt::Debug for ProcessEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessEntry")
            .field("id", &self.id)
            .field("pid", &self.pid)
            .field("cell", &self.cell)
            .finish_non_exhaustive()
    }
}

impl ProcessEntry {
    pub(crate) fn has_exited(&self) -> bool {
        self.state.borrow().has_exited()
    }

    /// What a status needs, to read outside the table's lock.
    pub(crate) fn view(&self) -> ProcessView {
        ProcessView {
            pid: self.pid,
            started: self.started,
            state: *self.state.borrow(),
            cell: Arc::clone(&self.cell),
            last_usage: Arc::clone(&self.last_usage),
        }
    }
}

/// A copy of what a process's status shows.
pub(crate) struct ProcessView {
    pid: u32,
    started: SystemTime,
    state: ProcessState,
    pub(crate) cell: Arc<dyn Cell>,
    pub(crate) last_usage: Arc<Mutex<Usage>>,
}

impl ProcessView {
    /// Its status, with `usage` read now, or the last reading.
    pub(crate) fn status(&self, usage: Option<Usage>) -> ProcessStatus {
        ProcessStatus {
            pid: self.pid,
            state: self.state,
            started: self.started,
            containment: self.cell.contained(),
            usage: usage.unwrap_or_else(|| last(&self.last_usage)),
        }
    }
}

fn last(usage: &Mutex<Usage>) -> Usage {
    *crate::sync::lock(usage)
}

/// Reads `cell`'s usage into `into` while the cell exists; returns the
/// latest reading.
pub(crate) fn record(cell: &Arc<dyn Cell>, into: &Mutex<Usage>) -> Usage {
    let mut kept = crate::sync::lock(into);
    if !cell.is_released() {
        *kept = cell.usage();
    }
    *kept
}

/// Keeps `cell`'s last reading in `into` and removes the cell (or, with
/// `recycle`, keeps it for reuse), if nothing of it runs any more; true if
/// it is gone.
pub(crate) fn finish(cell: &Arc<dyn Cell>, into: &Mutex<Usage>, recycle: bool) -> bool {
    if cell.is_released() {
        return true;
    }
    let last = cell.final_usage();
    let released = if recycle {
        cell.recycle()
    } else {
        cell.release()
    };
    if released {
        *crate::sync::lock(into) = last;
    }
    released
}

/// Starts, on the current runtime, the task that waits for (and so reaps)
/// `child` the moment it exits, publishes its state, removes its cell if
/// nothing of it is left, and hands the `Child` back on request.
pub(crate) fn spawn_reaper(
    mut child: ChildProcess,
    pid: u32,
    pids: Arc<Pids>,
    cell: Arc<dyn Cell>,
    last_usage: Arc<Mutex<Usage>>,
) -> (watch::Receiver<ProcessState>, ReturnChild) {
    let (state_tx, state) = watch::channel(ProcessState::Running);
    let (hand_back, mut requests) = oneshot::channel::<oneshot::Sender<ChildProcess>>();
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
                    pids.exited(pid);
                    // The cell goes first if nothing of it is left (a read
                    // of cpu.stat and an rmdir, never a scan), so a waiter
                    // that wakes finds the process done with.
                    if cell.until_empty(std::time::Duration::ZERO).await {
                        finish(&cell, &last_usage, true);
                    }
                    state_tx.send_replace(state);
                }
                request = &mut requests => {
                    if let Ok(reply) = request {
                        let _ = reply.send(child);
                    }
                    // Asked for it, or the entry is gone: either way done.
                    // (An unexited child dropped here is reaped later, by
                    // tokio's orphan reaper or ours; it was stopped or
                    // handed over first.)
                    return;
                }
            }
        }
    });
    (state, hand_back)
}
