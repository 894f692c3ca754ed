//! The `ResourceTracker` actor and its messages.

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, ResponseFuture};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::custom::{CustomEntry, Resource};
use super::process::{self, KILL_WAIT, ProcessEntry, Stopping};
use super::status::{
    CleanupOutcome, CleanupReport, Ending, ProcessState, StopOutcome, TaskState, TaskStatus,
    TrackerStatus,
};
use super::task::{self, TaskEntry};
use super::{Kind, Rejected, TrackerError, os};
use crate::Shutdown;

/// Finished tasks kept in the status.
const TASK_HISTORY: usize = 256;
/// How often adopted orphans are looked for and reaped.
const ADOPTION_SCAN: Duration = Duration::from_secs(1);

/// What the watchers, the panic hook and the adoption scan share with the
/// actor.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// This tracker's marker variable: `_STEWARD_TRACKED_<pid>_<n>`.
    pub(crate) marker_var: String,
    /// Tracked children not yet exited: pid, and whether it leads its own
    /// process group. The watcher removes a pid when it reaps it.
    live: Mutex<HashMap<u32, bool>>,
    /// Children whose exit status tokio owns (tracked, or handed back and
    /// not yet gone): never reaped here, never swept.
    owned: Mutex<HashSet<u32>>,
    /// Orphaned descendants reparented to us, seen alive.
    adopted: Mutex<HashSet<u32>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while these locks are held: a poisoned one is still
    // consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new() -> Self {
        static TRACKERS: AtomicU64 = AtomicU64::new(0);
        let n = TRACKERS.fetch_add(1, Ordering::Relaxed);
        Self {
            marker_var: format!("{}{}_{n}", os::MARKER_PREFIX, std::process::id()),
            ..Self::default()
        }
    }

    pub(crate) fn all(&self) -> os::Match {
        os::Match::Any {
            var: self.marker_var.clone(),
        }
    }

    pub(crate) fn key(&self, key: &str) -> os::Match {
        os::Match::Exact {
            var: self.marker_var.clone(),
            key: key.to_owned(),
        }
    }

    fn track(&self, pid: u32, own_group: bool) {
        lock(&self.live).insert(pid, own_group);
        lock(&self.owned).insert(pid);
    }

    /// The watcher reaped `pid`.
    pub(crate) fn exited(&self, pid: u32) {
        lock(&self.live).remove(&pid);
        lock(&self.owned).remove(&pid);
    }

    /// `pid` was handed back: no longer ours to kill, still tokio's to reap.
    fn handed_back(&self, pid: u32) {
        lock(&self.live).remove(&pid);
    }

    pub(crate) fn owned(&self) -> Vec<u32> {
        lock(&self.owned).iter().copied().collect()
    }

    /// Records marked children of ours that tokio does not own (orphans
    /// reparented to us), and reaps those of them that have exited.
    /// Blocking (reads `/proc`, our children only).
    fn reap_adopted(&self) {
        let owned = self.owned();
        let mut adopted = lock(&self.adopted);
        for pid in os::marked_children(&self.all()).unwrap_or_default() {
            if !owned.contains(&pid) {
                adopted.insert(pid);
            }
        }
        adopted.retain(|&pid| !os::reap_if_zombie_child(pid));
        // Handed-back children that are gone no longer need sparing.
        lock(&self.owned).retain(|&pid| os::stat(pid).is_some());
    }

    /// SIGKILLs every live tracked child (its group, if it leads one) and,
    /// with `scan`, every marked process: for a process about to die (the
    /// panic hook, an async drop).
    pub(crate) fn kill_all_now(&self, scan: bool) {
        for (&pid, &own_group) in lock(&self.live).iter() {
            if own_group {
                os::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
            } else {
                os::signal_process(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
        if scan {
            for pid in os::marked(&self.all()) {
                os::signal_process(pid, nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

/// The actor behind [`Tracker`](super::Tracker): owns every tracked
/// process, task and custom resource, and their stopping.
pub struct ResourceTracker {
    shared: Arc<Shared>,
    next_sequence: u64,
    processes: HashMap<String, ProcessEntry>,
    tasks: HashMap<String, TaskEntry>,
    finished_tasks: VecDeque<(String, TaskStatus)>,
    custom: HashMap<String, CustomEntry>,
}

impl std::fmt::Debug for ResourceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTracker")
            .field("processes", &self.processes.len())
            .field("tasks", &self.tasks.len())
            .field("custom", &self.custom.len())
            .finish_non_exhaustive()
    }
}

impl ResourceTracker {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            next_sequence: 0,
            processes: HashMap::new(),
            tasks: HashMap::new(),
            finished_tasks: VecDeque::new(),
            custom: HashMap::new(),
        }
    }

    fn sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence
    }

    /// A key is free for a process if nothing runs under it (an exited
    /// one is replaced).
    fn free_process_key(&self, key: &str) -> Result<(), TrackerError> {
        match self.processes.get(key) {
            Some(entry) if !entry.state.borrow().has_exited() => Err(TrackerError::DuplicateKey {
                kind: Kind::Process,
                key: key.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    fn spawn_process(
        &mut self,
        key: String,
        command: std::process::Command,
    ) -> Result<u32, TrackerError> {
        self.spawn_piped(key, command).map(|spawned| spawned.pid)
    }

    fn spawn_piped(
        &mut self,
        key: String,
        command: std::process::Command,
    ) -> Result<SpawnedProcess, TrackerError> {
        self.free_process_key(&key)?;

        let mut command = tokio::process::Command::from(command);
        command
            .process_group(0)
            .env(&self.shared.marker_var, &key)
            .kill_on_drop(false);
        let spawn_error = |source: std::io::Error| TrackerError::Spawn {
            key: key.clone(),
            source: Arc::new(source),
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let pid = child
            .id()
            .ok_or_else(|| spawn_error(std::io::Error::other("exited before its pid was read")))?;
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let exit = self.track_child(key, child, pid, Some(pid), true);
        Ok(SpawnedProcess {
            pid,
            stdin,
            stdout,
            stderr,
            exit,
        })
    }

    fn register_process(&mut self, key: String, child: Child) -> Result<u32, Rejected<Child>> {
        if let Err(error) = self.free_process_key(&key) {
            return Err(Rejected {
                error,
                item: Some(Box::new(child)),
            });
        }
        let Some(pid) = child.id() else {
            let error = TrackerError::Spawn {
                key,
                source: Arc::new(std::io::Error::other("already exited and reaped")),
            };
            return Err(Rejected {
                error,
                item: Some(Box::new(child)),
            });
        };
        // Its group is its own only if it was started as a group leader.
        let group = os::stat(pid).filter(|stat| stat.pgrp == pid).map(|_| pid);
        self.track_child(key, child, pid, group, false);
        Ok(pid)
    }

    fn track_child(
        &mut self,
        key: String,
        child: Child,
        pid: u32,
        group: Option<u32>,
        marked: bool,
    ) -> ProcessExit {
        let (state, hand_back) = process::watch(child, Arc::clone(&self.shared), pid);
        let exit = ProcessExit(state.clone());
        let sequence = self.sequence();
        self.shared.track(pid, group.is_some());
        tracing::debug!(target: "steward::tracker", %key, pid, "process tracked");
        let marker = marked.then(|| self.shared.key(&key));
        let entry = ProcessEntry {
            sequence,
            pid,
            group,
            marker,
            started: SystemTime::now(),
            state,
            hand_back,
        };
        self.processes.insert(key, entry);
        exit
    }

    fn take_process(&mut self, key: &str) -> Result<ProcessEntry, TrackerError> {
        let entry = self
            .processes
            .remove(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Process,
                key: key.to_owned(),
            })?;
        Ok(entry)
    }

    fn take_task(&mut self, key: &str) -> Result<TaskEntry, TrackerError> {
        self.tasks
            .remove(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Task,
                key: key.to_owned(),
            })
    }

    fn status(&self) -> TrackerStatus {
        let mut status = TrackerStatus::default();
        for (key, task) in &self.finished_tasks {
            status.tasks.insert(key.clone(), task.clone());
        }
        status.processes = self
            .processes
            .iter()
            .map(|(key, entry)| (key.clone(), entry.status()))
            .collect();
        status.tasks.extend(
            self.tasks
                .iter()
                .map(|(key, entry)| (key.clone(), entry.status())),
        );
        status.custom = self
            .custom
            .iter()
            .map(|(key, entry)| (key.clone(), entry.status()))
            .collect();
        status
    }

    /// Takes every entry out, newest first, for `cleanup_all`.
    fn drain(&mut self) -> Drained {
        fn newest_first<E>(
            map: &mut HashMap<String, E>,
            sequence: fn(&E) -> u64,
        ) -> Vec<(String, E)> {
            let mut entries: Vec<(String, E)> = map.drain().collect();
            entries.sort_by_key(|(_, entry)| std::cmp::Reverse(sequence(entry)));
            entries
        }
        Drained {
            processes: newest_first(&mut self.processes, |e| e.sequence),
            tasks: newest_first(&mut self.tasks, |e| e.sequence),
            custom: newest_first(&mut self.custom, |e| e.sequence),
        }
    }
}

struct Drained {
    processes: Vec<(String, ProcessEntry)>,
    tasks: Vec<(String, TaskEntry)>,
    custom: Vec<(String, CustomEntry)>,
}

impl Drained {
    /// Stops everything within `deadline`: processes and tasks at once,
    /// custom resources one by one, newest first (a later resource may be
    /// built on an earlier one); then marked descendants.
    async fn clean_up(self, shared: Arc<Shared>, deadline: Duration) -> CleanupReport {
        let started = Instant::now();
        let remaining = move || deadline.saturating_sub(started.elapsed());
        // SIGTERM grace, then SIGKILL wait, then the descendant sweep: all
        // three fit in the deadline.
        let grace = deadline / 2;
        let kill_wait = KILL_WAIT.min((deadline - grace) / 2);
        let stopping = &shared;
        let processes =
            futures::future::join_all(self.processes.into_iter().map(|(key, entry)| async move {
                (
                    key,
                    Stopping::new(entry, stopping).stop(grace, kill_wait).await,
                )
            }));
        let tasks = futures::future::join_all(
            self.tasks
                .into_iter()
                .map(|(key, entry)| async move { (key, entry.cancel(grace).await) }),
        );
        let custom = async move {
            let mut outcomes = Vec::new();
            for (key, entry) in self.custom {
                outcomes.push((key, entry.resource.clean_up(remaining()).await));
            }
            outcomes
        };
        let (processes, tasks, custom) = tokio::join!(processes, tasks, custom);
        let mut report = CleanupReport::default();
        for (key, outcome) in processes {
            report.descendants_killed += outcome.descendants_killed;
            match outcome.ending {
                Ending::Killed if !outcome.state.has_exited() => {
                    report
                        .failed
                        .push((key, "still running after SIGKILL".into()));
                }
                Ending::Killed => report.killed.push(key),
                Ending::ExitedBySelf | Ending::Terminated => report.stopped_gracefully.push(key),
            }
        }
        for (key, state) in tasks {
            match state {
                Some(_) => report.stopped_gracefully.push(key),
                None => report
                    .failed
                    .push((key, "task did not end after abort".into())),
            }
        }
        for (key, outcome) in custom {
            match outcome {
                CleanupOutcome::Done => report.stopped_gracefully.push(key),
                other => report.failed.push((key, format!("{other:?}"))),
            }
        }
        report.descendants_killed +=
            process::sweep(shared.all(), shared.owned(), remaining()).await;
        tracing::info!(target: "steward::tracker", ?report, "cleanup_all done");
        report
    }
}

impl Actor for ResourceTracker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(ADOPTION_SCAN, |tracker, _| {
            if tracker.processes.is_empty() {
                return;
            }
            let shared = Arc::clone(&tracker.shared);
            // Reads /proc: off the arbiter.
            drop(tokio::task::spawn_blocking(move || shared.reap_adopted()));
        });
    }
}

/// Starts `command` in a process group of its own and tracks it; replies
/// with its pid.
#[derive(Debug, Message)]
#[rtype(result = "Result<u32, TrackerError>")]
pub struct SpawnProcess {
    /// The key to track it under.
    pub key: String,
    /// What to run.
    pub command: std::process::Command,
}

/// Starts `command` as [`SpawnProcess`] does, and hands back the pipes
/// the command asked for (`Stdio::piped()`) and a way to wait for its exit.
#[derive(Debug, Message)]
#[rtype(result = "Result<SpawnedProcess, TrackerError>")]
pub struct SpawnPiped {
    /// The key to track it under.
    pub key: String,
    /// What to run.
    pub command: std::process::Command,
}

/// A process started by [`SpawnPiped`]: tracked, with its pipes.
#[derive(Debug)]
pub struct SpawnedProcess {
    /// Its pid.
    pub pid: u32,
    /// Its stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// Its stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// Its stderr, if piped.
    pub stderr: Option<ChildStderr>,
    /// Resolves when it has exited (and been reaped).
    pub exit: ProcessExit,
}

/// Waits for a tracked process to exit; the tracker reaps it.
#[derive(Debug, Clone)]
pub struct ProcessExit(watch::Receiver<ProcessState>);

impl ProcessExit {
    /// Its state now.
    #[must_use]
    pub fn state(&self) -> ProcessState {
        *self.0.borrow()
    }

    /// Waits until it has exited and returns how; if the tracker lets go
    /// of it first (unregistered or stopped), returns its last state.
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

/// Tracks a child the application started; replies with its pid.
#[derive(Debug, Message)]
#[rtype(result = "Result<u32, Rejected<Child>>")]
pub struct RegisterProcess {
    /// The key to track it under.
    pub key: String,
    /// The child.
    pub child: Child,
}

/// SIGTERM to the group, up to `timeout`, then SIGKILL; then reaped and
/// untracked.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StopOutcome, TrackerError>")]
pub struct StopProcess {
    /// The process's key.
    pub key: String,
    /// How long it may take to exit after SIGTERM.
    pub timeout: Duration,
}

/// Hands a tracked child back without stopping it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Child, TrackerError>")]
pub struct UnregisterProcess {
    /// The process's key.
    pub key: String,
}

/// Tracks a task.
#[derive(Debug)]
pub struct RegisterTask<T> {
    /// The key to track it under.
    pub key: String,
    /// The task.
    pub handle: JoinHandle<T>,
}

impl<T: Send + 'static> Message for RegisterTask<T> {
    type Result = Result<(), Rejected<JoinHandle<T>>>;
}

/// Aborts a task and waits, at most `timeout`, for it to end.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<TaskState, TrackerError>")]
pub struct CancelTask {
    /// The task's key.
    pub key: String,
    /// The bound on the wait.
    pub timeout: Duration,
}

/// Hands a task's `JoinHandle<T>` back without cancelling it.
#[derive(Debug)]
pub struct UnregisterTask<T> {
    /// The task's key.
    pub key: String,
    output: PhantomData<fn() -> T>,
}

impl<T> UnregisterTask<T> {
    /// Asks for the task under `key`.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            output: PhantomData,
        }
    }
}

impl<T: Send + 'static> Message for UnregisterTask<T> {
    type Result = Result<JoinHandle<T>, TrackerError>;
}

/// Tracks a custom resource with its cleanup. Build it with
/// [`Tracker::register_custom`](super::Tracker::register_custom) or
/// [`register_custom_async`](super::Tracker::register_custom_async).
pub struct RegisterCustom {
    pub(crate) key: String,
    pub(crate) resource: Box<dyn Resource>,
}

impl std::fmt::Debug for RegisterCustom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterCustom")
            .field("key", &self.key)
            .field("type", &self.resource.value_type().1)
            .finish()
    }
}

impl Message for RegisterCustom {
    type Result = Result<(), Rejected<dyn Any + Send>>;
}

/// Runs a custom resource's cleanup (bounded by `timeout`) and untracks it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<CleanupOutcome, TrackerError>")]
pub struct CleanupCustom {
    /// The resource's key.
    pub key: String,
    /// The bound on the cleanup.
    pub timeout: Duration,
}

/// Hands a custom resource back (typed) without cleaning it up.
#[derive(Debug)]
pub struct UnregisterCustom<T> {
    /// The resource's key.
    pub key: String,
    value: PhantomData<fn() -> T>,
}

impl<T> UnregisterCustom<T> {
    /// Asks for the resource under `key`.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: PhantomData,
        }
    }
}

impl<T: Send + 'static> Message for UnregisterCustom<T> {
    type Result = Result<T, TrackerError>;
}

/// Stops and cleans up everything within `deadline`.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "CleanupReport")]
pub struct CleanupAll {
    /// The bound on the whole cleanup.
    pub deadline: Duration,
}

/// Asks for the tracker's status.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "TrackerStatus")]
pub struct ReportStatus;

/// A task's monitor saw it end.
#[derive(Message)]
#[rtype(result = "()")]
struct TaskEnded {
    key: String,
    sequence: u64,
}

impl Handler<SpawnProcess> for ResourceTracker {
    type Result = Result<u32, TrackerError>;

    fn handle(&mut self, message: SpawnProcess, _: &mut Context<Self>) -> Self::Result {
        self.spawn_process(message.key, message.command)
    }
}

impl Handler<SpawnPiped> for ResourceTracker {
    type Result = Result<SpawnedProcess, TrackerError>;

    fn handle(&mut self, message: SpawnPiped, _: &mut Context<Self>) -> Self::Result {
        self.spawn_piped(message.key, message.command)
    }
}

impl Handler<RegisterProcess> for ResourceTracker {
    type Result = Result<u32, Rejected<Child>>;

    fn handle(&mut self, message: RegisterProcess, _: &mut Context<Self>) -> Self::Result {
        self.register_process(message.key, message.child)
    }
}

impl Handler<StopProcess> for ResourceTracker {
    type Result = ResponseFuture<Result<StopOutcome, TrackerError>>;

    fn handle(&mut self, message: StopProcess, _: &mut Context<Self>) -> Self::Result {
        let entry = self.take_process(&message.key);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            Ok(Stopping::new(entry?, &shared)
                .stop(message.timeout, KILL_WAIT)
                .await)
        })
    }
}

impl Handler<UnregisterProcess> for ResourceTracker {
    type Result = ResponseFuture<Result<Child, TrackerError>>;

    fn handle(&mut self, message: UnregisterProcess, _: &mut Context<Self>) -> Self::Result {
        let entry = self.take_process(&message.key);
        if let Ok(entry) = &entry {
            self.shared.handed_back(entry.pid);
        }
        Box::pin(async move {
            let entry = entry?;
            let (reply, child) = oneshot::channel();
            let gone = || TrackerError::NotRegistered {
                kind: Kind::Process,
                key: message.key.clone(),
            };
            entry.hand_back.send(reply).map_err(|_| gone())?;
            child.await.map_err(|_| gone())
        })
    }
}

impl<T: Send + 'static> Handler<RegisterTask<T>> for ResourceTracker {
    type Result = Result<(), Rejected<JoinHandle<T>>>;

    fn handle(&mut self, message: RegisterTask<T>, ctx: &mut Context<Self>) -> Self::Result {
        let RegisterTask { key, handle } = message;
        if self.tasks.contains_key(&key) {
            return Err(Rejected {
                error: TrackerError::DuplicateKey {
                    kind: Kind::Task,
                    key,
                },
                item: Some(Box::new(handle)),
            });
        }
        let sequence = self.sequence();
        let (me, ended_key) = (ctx.address(), key.clone());
        let (state, abort, hand_back) = task::watch(handle, move || {
            me.do_send(TaskEnded {
                key: ended_key,
                sequence,
            })
        });
        let output = (TypeId::of::<T>(), std::any::type_name::<T>());
        let entry = TaskEntry {
            sequence,
            started: SystemTime::now(),
            state,
            abort,
            hand_back,
            output,
        };
        self.tasks.insert(key, entry);
        Ok(())
    }
}

impl Handler<TaskEnded> for ResourceTracker {
    type Result = ();

    fn handle(&mut self, message: TaskEnded, _: &mut Context<Self>) {
        if self
            .tasks
            .get(&message.key)
            .is_some_and(|entry| entry.sequence == message.sequence)
            && let Some(entry) = self.tasks.remove(&message.key)
        {
            if self.finished_tasks.len() == TASK_HISTORY {
                self.finished_tasks.pop_front();
            }
            self.finished_tasks.push_back((message.key, entry.status()));
        }
    }
}

impl Handler<CancelTask> for ResourceTracker {
    type Result = ResponseFuture<Result<TaskState, TrackerError>>;

    fn handle(&mut self, message: CancelTask, _: &mut Context<Self>) -> Self::Result {
        let entry = self.take_task(&message.key);
        Box::pin(async move {
            let CancelTask { key, timeout } = message;
            entry?.cancel(timeout).await.ok_or(TrackerError::Timeout {
                what: "task",
                key,
                timeout,
            })
        })
    }
}

impl<T: Send + 'static> Handler<UnregisterTask<T>> for ResourceTracker {
    type Result = ResponseFuture<Result<JoinHandle<T>, TrackerError>>;

    fn handle(&mut self, message: UnregisterTask<T>, _: &mut Context<Self>) -> Self::Result {
        let key = message.key;
        let checked = match self.tasks.get(&key) {
            Some(entry) if entry.output.0 != TypeId::of::<T>() => Err(TrackerError::WrongType {
                kind: Kind::Task,
                key: key.clone(),
                expected: std::any::type_name::<T>(),
                actual: entry.output.1,
            }),
            _ => self.take_task(&key),
        };
        Box::pin(async move {
            let entry = checked?;
            let gone = || TrackerError::NotRegistered {
                kind: Kind::Task,
                key: key.clone(),
            };
            let (reply, handle) = oneshot::channel();
            entry.hand_back.send(reply).map_err(|_| gone())?;
            let handle = handle.await.map_err(|_| gone())?;
            handle
                .downcast::<JoinHandle<T>>()
                .map(|handle| *handle)
                .map_err(|_| gone())
        })
    }
}

impl Handler<RegisterCustom> for ResourceTracker {
    type Result = Result<(), Rejected<dyn Any + Send>>;

    fn handle(&mut self, message: RegisterCustom, _: &mut Context<Self>) -> Self::Result {
        let RegisterCustom { key, resource } = message;
        if self.custom.contains_key(&key) {
            let error = TrackerError::DuplicateKey {
                kind: Kind::Custom,
                key,
            };
            return Err(Rejected {
                error,
                item: Some(resource.into_value()),
            });
        }
        let sequence = self.sequence();
        self.custom.insert(
            key,
            CustomEntry {
                sequence,
                registered: SystemTime::now(),
                resource,
            },
        );
        Ok(())
    }
}

impl Handler<CleanupCustom> for ResourceTracker {
    type Result = ResponseFuture<Result<CleanupOutcome, TrackerError>>;

    fn handle(&mut self, message: CleanupCustom, _: &mut Context<Self>) -> Self::Result {
        let entry = self
            .custom
            .remove(&message.key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Custom,
                key: message.key.clone(),
            });
        Box::pin(async move { Ok(entry?.resource.clean_up(message.timeout).await) })
    }
}

impl<T: Send + 'static> Handler<UnregisterCustom<T>> for ResourceTracker {
    type Result = Result<T, TrackerError>;

    fn handle(&mut self, message: UnregisterCustom<T>, _: &mut Context<Self>) -> Self::Result {
        let key = message.key;
        let Some(entry) = self.custom.get(&key) else {
            return Err(TrackerError::NotRegistered {
                kind: Kind::Custom,
                key,
            });
        };
        let (type_id, actual) = entry.resource.value_type();
        if type_id != TypeId::of::<T>() {
            let expected = std::any::type_name::<T>();
            return Err(TrackerError::WrongType {
                kind: Kind::Custom,
                key,
                expected,
                actual,
            });
        }
        let entry = self
            .custom
            .remove(&key)
            .ok_or(TrackerError::NotRegistered {
                kind: Kind::Custom,
                key: key.clone(),
            })?;
        entry
            .resource
            .into_value()
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| TrackerError::WrongType {
                kind: Kind::Custom,
                key,
                expected: std::any::type_name::<T>(),
                actual,
            })
    }
}

impl Handler<CleanupAll> for ResourceTracker {
    type Result = ResponseFuture<CleanupReport>;

    fn handle(&mut self, message: CleanupAll, _: &mut Context<Self>) -> Self::Result {
        let drained = self.drain();
        Box::pin(drained.clean_up(Arc::clone(&self.shared), message.deadline))
    }
}

impl Handler<ReportStatus> for ResourceTracker {
    type Result = actix::MessageResult<ReportStatus>;

    fn handle(&mut self, _: ReportStatus, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(self.status())
    }
}

impl Handler<Shutdown> for ResourceTracker {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        // `Steward::shutdown` runs `CleanupAll` first; whatever is left is
        // killed now rather than leaked (no /proc scan on the arbiter).
        self.shared.kill_all_now(false);
        for task in self.tasks.values() {
            task.abort.abort();
        }
        ctx.stop();
    }
}
