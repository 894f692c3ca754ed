//! What the handle, the watchers and the actor share: the table of tracked
//! processes and tasks, the containment, the pids, the watchdog.
//!
//! Spawns and registrations write here directly from the caller's task,
//! synchronously, so a registration is done or not started at every await
//! point (cancel-safe), and no spawn waits on the actor's mailbox. The
//! actor takes entries out of it to stop them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::runtime::Handle;

use super::containment::{Cell, Container};
use super::error::{Kind, TrackerError, refusal};
use super::os;
use super::pids::Pids;
use super::process::{self, ProcessEntry};
use super::status::{ProcessState, ProcessStatus, TaskStatus};
use super::stop::StopCounter;
use super::task::TaskEntry;
use super::watchdog::Watchdog;

mod spawning;
mod tasks;

/// Processes and tasks by key, taken out of the table.
pub(crate) type Entries = (Vec<(String, ProcessEntry)>, Vec<(String, TaskEntry)>);

/// A process the tracker started: tracked, with its pipes.
#[derive(Debug)]
pub struct SpawnedProcess {
    /// Its pid.
    pub pid: u32,
    /// Its stdin, if piped.
    pub stdin: Option<tokio::process::ChildStdin>,
    /// Its stdout, if piped.
    pub stdout: Option<tokio::process::ChildStdout>,
    /// Its stderr, if piped.
    pub stderr: Option<tokio::process::ChildStderr>,
    /// Resolves when it has exited (and been reaped).
    pub exit: ProcessExit,
}

/// Waits for a tracked process to exit; the tracker reaps it.
#[derive(Debug, Clone)]
pub struct ProcessExit(tokio::sync::watch::Receiver<ProcessState>);

impl ProcessExit {
    /// Its state now.
    #[must_use]
    pub fn state(&self) -> ProcessState {
        *self.0.borrow()
    }

    /// Waits until it has exited and returns how; if the tracker lets go
    /// of it first (unregistered or stopped), returns its last state.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// let mut spawned = tracker.spawn_piped("quick", std::process::Command::new("true")).await?;
    /// assert!(spawned.exit.wait().await.has_exited());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn wait(&mut self) -> ProcessState {
        let exited = self
            .0
            .wait_for(ProcessState::has_exited)
            .await
            .map(|state| *state);
        exited.unwrap_or_else(|_| *self.0.borrow())
    }
}

#[derive(Default)]
struct Table {
    processes: HashMap<String, ProcessEntry>,
    /// Keys whose spawn is under way (the fork runs outside the lock).
    starting: HashSet<String>,
    tasks: HashMap<String, TaskEntry>,
    finished_tasks: VecDeque<(String, TaskStatus)>,
    /// Cells of stopped processes that could not be removed yet.
    lingering: Vec<Arc<dyn Cell>>,
}

/// The state shared by a tracker's handles, watchers and actor.
pub(crate) struct TrackerState {
    /// The tracker's number in this program: its cgroup's name.
    pub(crate) number: u64,
    /// `_STEWARD_TRACKED_<pid>_<number>`, set to the key in every process
    /// the tracker starts.
    pub(crate) marker_var: String,
    pub(crate) container: Box<dyn Container>,
    pub(crate) pids: Arc<Pids>,
    pub(crate) watchdog: Option<Watchdog>,
    /// The runtime of the tracker's arbiter, where watchers run: a spawn
    /// from a short-lived runtime (`block_on`) must not take its child's
    /// reaping down with it.
    runtime: OnceLock<Handle>,
    table: Mutex<Table>,
    /// The process groups the watchdog was told to kill at the program's
    /// death, and not yet told to forget.
    told: Mutex<HashSet<u32>>,
    sequence: AtomicU64,
    closed: AtomicBool,
    /// Processes stopped, by how they ended.
    pub(crate) stops: StopCounter,
}

impl std::fmt::Debug for TrackerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerState")
            .field("number", &self.number)
            .field("container", &self.container)
            .field("watchdog", &self.watchdog)
            .finish_non_exhaustive()
    }
}

impl TrackerState {
    pub(crate) fn new(
        number: u64,
        marker_var: String,
        container: Box<dyn Container>,
        pids: Arc<Pids>,
        watchdog: Option<Watchdog>,
    ) -> Self {
        Self {
            number,
            marker_var,
            container,
            pids,
            watchdog,
            runtime: OnceLock::new(),
            table: Mutex::new(Table::default()),
            told: Mutex::new(HashSet::new()),
            sequence: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            stops: StopCounter::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // No code that can panic runs under this lock: a poisoned one is
        // still consistent.
        crate::sync::lock(&self.table)
    }

    pub(crate) fn set_runtime(&self, handle: Handle) {
        let _ = self.runtime.set(handle);
    }

    pub(crate) fn runtime(&self) -> Option<Handle> {
        self.runtime.get().cloned()
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// No more spawns or registrations.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// A key is free for a process if nothing runs under it; an exited
    /// entry is replaced (its cell kept to be removed later).
    fn reserve(&self, key: &str) -> Result<(), TrackerError> {
        let mut table = self.table();
        let taken = table.starting.contains(key)
            || table
                .processes
                .get(key)
                .is_some_and(|entry| !entry.has_exited());
        if let Some(error) = refusal(self.is_closed(), taken, Kind::Process, key) {
            return Err(error);
        }
        if let Some(old) = table.processes.remove(key) {
            self.forget_group(old.cell.as_ref());
            if !old.cell.release() {
                table.lingering.push(old.cell);
            }
        }
        table.starting.insert(key.to_owned());
        Ok(())
    }

    fn told(&self) -> MutexGuard<'_, HashSet<u32>> {
        crate::sync::lock(&self.told)
    }

    /// Tells the watchdog a cell's group is gone (its id may be reused).
    pub(crate) fn forget_group(&self, cell: &dyn Cell) {
        if let Some(group) = cell.group() {
            self.forget(group);
        }
    }

    fn forget(&self, group: u32) {
        if self.told().remove(&group)
            && let Some(watchdog) = &self.watchdog
        {
            watchdog.forget_group(group);
        }
    }

    /// Has the watchdog forget the groups whose leader was reaped and that
    /// have no member left: their ids may be reused by any process.
    /// Blocking (reads `/proc`), and only when there are such groups.
    pub(crate) fn forget_empty_groups(&self) {
        let candidates: Vec<u32> = self
            .told()
            .iter()
            .copied()
            .filter(|&group| !self.pids.is_live(group))
            .collect();
        for group in candidates {
            if os::group_members(group).is_empty() {
                self.forget(group);
            }
        }
    }

    /// Takes the process under `key` out, to stop it.
    pub(crate) fn take_process(&self, key: &str) -> Result<ProcessEntry, TrackerError> {
        self.table()
            .processes
            .remove(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Process,
                key: key.to_owned(),
            })
    }

    /// Takes the process under `key` out to hand it back: no longer ours to
    /// kill (its leader leaves its cgroup), still tokio's to reap.
    pub(crate) fn hand_back_process(&self, key: &str) -> Result<ProcessEntry, TrackerError> {
        let entry = self.take_process(key)?;
        self.pids.handed_back(entry.pid);
        self.forget_group(entry.cell.as_ref());
        if !entry.has_exited() {
            entry.cell.let_go(entry.pid);
        }
        if !entry.cell.release() {
            self.linger(Arc::clone(&entry.cell));
        }
        Ok(entry)
    }

    /// Removes the process under `key` if it has exited and nothing of it
    /// is left (no stop needed); true if it did.
    pub(crate) fn remove_exited(&self, key: &str) -> bool {
        let mut table = self.table();
        let done = table
            .processes
            .get(key)
            .is_some_and(|entry| entry.has_exited() && entry.cell.is_released());
        if done && let Some(entry) = table.processes.remove(key) {
            drop(table);
            self.forget_group(entry.cell.as_ref());
        }
        done
    }

    /// Keeps a cell that could not be removed yet, to retry.
    pub(crate) fn linger(&self, cell: Arc<dyn Cell>) {
        self.table().lingering.push(cell);
    }

    /// Retries removing the cells of stopped or exited processes; blocking
    /// (kernfs reads). Returns how many are left.
    pub(crate) fn release_lingering(&self) -> usize {
        let exited: Vec<_> = self
            .table()
            .processes
            .values()
            .filter(|entry| entry.has_exited() && !entry.cell.is_released())
            .map(|entry| (Arc::clone(&entry.cell), Arc::clone(&entry.last_usage)))
            .collect();
        for (cell, usage) in exited {
            process::finish(&cell, &usage, false);
        }
        let mut table = self.table();
        table.lingering.retain(|cell| !cell.release());
        table.lingering.len()
    }

    /// The process groups the watchdog must know of.
    pub(crate) fn groups(&self) -> Vec<u32> {
        self.told().iter().copied().collect()
    }

    /// Everything for a status, without the lock held while reading the
    /// cells.
    pub(crate) fn process_statuses(&self, read_usage: bool) -> Vec<(String, ProcessStatus)> {
        let views: Vec<_> = self
            .table()
            .processes
            .iter()
            .map(|(key, entry)| (key.clone(), entry.view()))
            .collect();
        views
            .into_iter()
            .map(|(key, view)| {
                let usage = read_usage.then(|| process::record(&view.cell, &view.last_usage));
                (key, view.status(usage))
            })
            .collect()
    }

    /// Tasks, running and finished, for a status.
    pub(crate) fn task_statuses(&self) -> Vec<(String, TaskStatus)> {
        let table = self.table();
        table
            .finished_tasks
            .iter()
            .cloned()
            .chain(
                table
                    .tasks
                    .iter()
                    .map(|(key, entry)| (key.clone(), entry.status())),
            )
            .collect()
    }

    /// Every process and task, newest first, for `cleanup_all`.
    pub(crate) fn drain(&self) -> Entries {
        let mut table = self.table();
        let mut processes: Vec<_> = table.processes.drain().collect();
        processes.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.id));
        let mut tasks: Vec<_> = table.tasks.drain().collect();
        tasks.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.sequence));
        (processes, tasks)
    }

    /// Aborts every tracked task (no waiting).
    pub(crate) fn abort_tasks(&self) {
        for task in self.table().tasks.values() {
            task.abort.abort();
        }
    }

    /// SIGKILLs everything tracked now, without waiting: for a program
    /// about to go.
    pub(crate) fn kill_all_now(&self) {
        self.container.kill_all();
        self.pids.kill_live();
    }
}
