//! The `ResourceTracker` actor's state: custom resources, and the stops,
//! cleanups and housekeeping of what the shared table holds. Its logic is
//! in plain methods; the handlers in `messages.rs` only dispatch.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::command::CommandSpec;
use super::containment::group;
use super::custom::{CustomEntry, CustomResource};
use super::error::{Kind, Rejected, TrackerError, refusal};
use super::options::{Containment, SpawnOptions};
use super::os;
use super::process::ProcessEntry;
use super::status::{CleanupOutcome, CleanupReport, Ending, StopOutcome, TrackerStatus};
use super::stop::{self, KILL_WAIT};
use super::table::{SpawnedProcess, TrackerState};
use super::task::TaskEntry;

/// How often the housekeeping runs: the watchdog checked, cells of exited
/// processes removed, adopted orphans reaped.
pub(crate) const HOUSEKEEPING: Duration = Duration::from_secs(1);

/// The actor behind [`Tracker`](super::Tracker): custom resources, and
/// every stop and cleanup of processes and tasks.
pub struct ResourceTracker {
    pub(crate) shared: Arc<TrackerState>,
    next_custom: u64,
    custom: HashMap<String, CustomEntry>,
    /// Set while a housekeeping pass runs on a blocking thread.
    housekeeping: Arc<AtomicBool>,
}

impl std::fmt::Debug for ResourceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceTracker")
            .field("shared", &self.shared)
            .field("custom", &self.custom.len())
            .finish_non_exhaustive()
    }
}

impl ResourceTracker {
    pub(crate) fn new(shared: Arc<TrackerState>) -> Self {
        Self {
            shared,
            next_custom: 0,
            custom: HashMap::new(),
            housekeeping: Arc::new(AtomicBool::new(false)),
        }
    }

    pub(crate) fn register_custom(
        &mut self,
        key: String,
        resource: Box<dyn CustomResource>,
    ) -> Result<(), Rejected<dyn Any + Send>> {
        let taken = self.custom.contains_key(&key);
        if let Some(error) = refusal(self.shared.is_closed(), taken, Kind::Custom, &key) {
            return Err(Rejected {
                error,
                item: Some(resource.into_value()),
            });
        }
        self.next_custom += 1;
        self.custom.insert(
            key,
            CustomEntry {
                sequence: self.next_custom,
                registered: SystemTime::now(),
                resource,
            },
        );
        Ok(())
    }

    pub(crate) fn take_custom(&mut self, key: &str) -> Result<CustomEntry, TrackerError> {
        self.custom
            .remove(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Custom,
                key: key.to_owned(),
            })
    }

    /// Hands the resource under `key` back if it is a `T`; it stays
    /// otherwise.
    pub(crate) fn unregister_custom<T: Send + 'static>(
        &mut self,
        key: &str,
    ) -> Result<T, TrackerError> {
        let actual = self
            .custom
            .get(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Custom,
                key: key.to_owned(),
            })?
            .resource
            .value_type();
        let wrong = || TrackerError::WrongType {
            kind: Kind::Custom,
            key: key.to_owned(),
            expected: std::any::type_name::<T>(),
            actual: actual.1,
        };
        if actual.0 != TypeId::of::<T>() {
            return Err(wrong());
        }
        self.take_custom(key)?
            .resource
            .into_value()
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| wrong())
    }

    /// Spawns as the handle does, for a spawn that came through the
    /// mailbox: the fork and exec on a blocking thread, not the arbiter;
    /// the child still registered with the arbiter's runtime.
    pub(crate) fn spawn_off_arbiter(
        &self,
        key: String,
        command: CommandSpec,
        options: SpawnOptions,
    ) -> impl Future<Output = Result<SpawnedProcess, TrackerError>> + Send + 'static {
        let runtime = tokio::runtime::Handle::current();
        let shared = Arc::clone(&self.shared);
        let spawning =
            tokio::task::spawn_blocking(move || shared.spawn(&runtime, key, command, &options));
        async move { spawning.await.unwrap_or(Err(TrackerError::Closed)) }
    }

    /// The whole status; the cells' readings are done by the returned
    /// closure, meant for a blocking thread.
    pub(crate) fn status(&self) -> impl FnOnce() -> TrackerStatus + Send + 'static {
        let custom: Vec<_> = self
            .custom
            .iter()
            .map(|(key, entry)| (key.clone(), entry.status()))
            .collect();
        let shared = Arc::clone(&self.shared);
        move || TrackerStatus {
            containment: shared.container.kind(),
            watchdog: shared.watchdog.as_ref().and_then(|watchdog| watchdog.pid()),
            processes: shared.process_statuses(true).into_iter().collect(),
            tasks: shared.task_statuses().into_iter().collect(),
            custom: custom.into_iter().collect(),
            stops: shared.stops.counts(),
            cpu_usec: shared.container.cpu_usec(),
        }
    }

    /// Takes everything out, newest first, for `cleanup_all`.
    pub(crate) fn drain(&mut self) -> Drained {
        let (processes, tasks) = self.shared.drain();
        let mut custom: Vec<_> = self.custom.drain().collect();
        custom.sort_by_key(|(_, entry)| std::cmp::Reverse(entry.sequence));
        Drained {
            shared: Arc::clone(&self.shared),
            processes,
            tasks,
            custom,
        }
    }

    /// The housekeeping pass, for a blocking thread; `None` while the last
    /// one still runs.
    pub(crate) fn housekeeping(&self) -> Option<impl FnOnce() + Send + 'static> {
        if self.housekeeping.swap(true, Ordering::AcqRel) {
            return None;
        }
        let shared = Arc::clone(&self.shared);
        let running = Arc::clone(&self.housekeeping);
        Some(move || {
            housekeep(&shared);
            running.store(false, Ordering::Release);
        })
    }

    /// Everything the tracker does when it shuts down, for a blocking
    /// thread: no more spawns; whatever `cleanup_all` left is killed, cells
    /// removed, the watchdog stopped cleanly, the tracker's cgroup removed.
    pub(crate) fn shutdown(&mut self) -> impl FnOnce() + Send + 'static {
        self.shared.close();
        self.shared.abort_tasks();
        let shared = Arc::clone(&self.shared);
        let drained = self.shared.drain().0;
        move || {
            shared.kill_all_now();
            let deadline = Instant::now() + KILL_WAIT;
            for (_, entry) in &drained {
                shared.forget_group(entry.cell.as_ref());
                while !entry.cell.release() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            drop(drained);
            while shared.release_lingering() > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(watchdog) = &shared.watchdog {
                watchdog.stop();
            }
            shared.container.close();
            tracing::debug!(target: "steward::tracker", number = shared.number, "tracker shut down");
        }
    }
}

/// One housekeeping pass: see [`HOUSEKEEPING`].
fn housekeep(shared: &TrackerState) {
    if let Some(watchdog) = &shared.watchdog {
        watchdog.ensure_running(|| shared.groups());
    }
    shared.release_lingering();
    shared.container.housekeep();
    shared.forget_empty_groups();
    // Orphans come to the program only while it is a subreaper.
    if nix::sys::prctl::get_child_subreaper().unwrap_or(false) {
        let marker = os::Match::Any {
            var: shared.marker_var.clone(),
        };
        let reaped = shared
            .pids
            .reap_orphans(&marker, shared.container.proc_path());
        if reaped > 0 {
            tracing::debug!(target: "steward::tracker", reaped, "reaped adopted orphans");
        }
    }
}

/// Stops one process and, if its cell could not be removed yet, keeps it
/// to retry.
pub(crate) async fn stop_one(
    shared: Arc<TrackerState>,
    entry: ProcessEntry,
    timeout: Duration,
    kill_wait: Duration,
) -> StopOutcome {
    let cell = Arc::clone(&entry.cell);
    let (outcome, lingering) = stop::stop(entry, timeout, kill_wait).await;
    shared.stops.count(outcome.ending);
    // Stopped: its group id may be reused from now on.
    shared.forget_group(cell.as_ref());
    if let Some(cell) = lingering {
        shared.linger(cell);
    }
    outcome
}

/// What `cleanup_all` took out of the tracker.
pub(crate) struct Drained {
    shared: Arc<TrackerState>,
    processes: Vec<(String, ProcessEntry)>,
    tasks: Vec<(String, TaskEntry)>,
    custom: Vec<(String, CustomEntry)>,
}

impl Drained {
    /// The custom resources' keys, in cleanup order.
    #[cfg(test)]
    pub(crate) fn custom_keys(&self) -> Vec<&str> {
        self.custom.iter().map(|(key, _)| key.as_str()).collect()
    }

    /// Stops everything within `deadline`: processes and tasks at once,
    /// custom resources one by one, newest first (a later resource may be
    /// built on an earlier one); then marked descendants (process groups).
    pub(crate) async fn clean_up(self, deadline: Duration) -> CleanupReport {
        let started = Instant::now();
        let remaining = move || deadline.saturating_sub(started.elapsed());
        // SIGTERM grace, then SIGKILL wait, then the descendant sweep: all
        // three fit in the deadline.
        let grace = deadline / 2;
        let kill_wait = KILL_WAIT.min((deadline - grace) / 2);
        let shared = &self.shared;
        let processes =
            futures::future::join_all(self.processes.into_iter().map(|(key, entry)| async move {
                (
                    key,
                    stop_one(Arc::clone(shared), entry, grace, kill_wait).await,
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
        if shared.container.kind() == Containment::ProcessGroup {
            let marker = os::Match::Any {
                var: shared.marker_var.clone(),
            };
            report.descendants_killed += group::sweep(
                marker,
                shared.pids.owned(),
                remaining(),
                Some(Arc::clone(&shared.pids)),
            )
            .await;
        }
        tracing::info!(target: "steward::tracker", ?report, "cleanup_all done");
        report
    }
}
