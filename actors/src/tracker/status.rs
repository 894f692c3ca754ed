//! What the tracker reports: status, stop outcomes, cleanup reports.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::SystemTime;

use serde::Serialize;

use super::options::Containment;
use crate::monitor::Pressure;

/// A tracked process's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProcessState {
    /// Not exited yet.
    Running,
    /// Exited and reaped.
    Exited {
        /// Its exit code, if it exited normally.
        code: Option<i32>,
        /// The signal that ended it, if one did.
        signal: Option<i32>,
    },
}

impl ProcessState {
    pub(crate) fn from_exit(status: ExitStatus) -> Self {
        ProcessState::Exited {
            code: status.code(),
            signal: status.signal(),
        }
    }

    /// Whether the process has exited.
    #[must_use]
    pub fn has_exited(&self) -> bool {
        matches!(self, ProcessState::Exited { .. })
    }
}

/// How a stopped process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It had exited before it was asked to stop.
    ExitedBySelf,
    /// It exited after SIGTERM.
    Terminated,
    /// It outlived its timeout and was killed with SIGKILL.
    Killed,
}

/// How many processes a tracker stopped, by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StopCounts {
    /// Those that had exited before they were asked to stop.
    pub exited_by_self: u64,
    /// Those that exited after SIGTERM.
    pub terminated: u64,
    /// Those killed with SIGKILL after their timeout.
    pub killed: u64,
}

/// The result of stopping a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StopOutcome {
    /// How it ended.
    pub ending: Ending,
    /// Its final state (exit code or signal).
    pub state: ProcessState,
    /// Descendants killed with it: those still in its cgroup at the
    /// SIGKILL, or marked ones that had left its process group.
    pub descendants_killed: usize,
}

/// A tracked task's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    /// Still running.
    Running,
    /// Returned.
    Finished,
    /// Panicked.
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// Aborted.
    Cancelled,
}

/// How a custom resource's cleanup went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CleanupOutcome {
    /// It returned `Ok`.
    Done,
    /// It returned an error.
    Failed {
        /// The error's message.
        message: String,
    },
    /// It panicked (caught).
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// It did not finish in time (a blocking cleanup runs on, detached).
    TimedOut,
}

/// Where a tracked process and its descendants are held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Contained {
    /// In a cgroup v2 of its own: the cgroup's directory.
    Cgroup(PathBuf),
    /// Leading a process group of its own, its descendants marked.
    ProcessGroup(u32),
    /// Only itself: a child the application started without a group of
    /// its own and that could not be moved into a cgroup.
    Process(u32),
}

/// What the kernel counted for one cell, where it counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Usage {
    /// CPU time of the whole cell (`cpu.stat` `usage_usec`), in
    /// microseconds; cgroup only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usec: Option<u64>,
    /// Peak memory of the whole cell (`memory.peak`); only where the
    /// memory controller is enabled for the subtree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_peak_bytes: Option<u64>,
    /// Pressure stall information of the cell; cgroup only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pressure: Option<CellPressure>,
}

/// A cell's `cpu.pressure`, `memory.pressure` and `io.pressure`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CellPressure {
    /// Tasks of the cell waiting for a CPU.
    pub cpu: Option<Pressure>,
    /// Tasks of the cell stalled on memory (reclaim, swap-in).
    pub memory: Option<Pressure>,
    /// Tasks of the cell stalled on IO.
    pub io: Option<Pressure>,
}

/// One process in [`TrackerStatus`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessStatus {
    /// Its pid.
    pub pid: u32,
    /// Running or exited, with the exit code.
    #[serde(flatten)]
    pub state: ProcessState,
    /// When it was tracked (serialized as `started_unix_ms`).
    #[serde(rename = "started_unix_ms", serialize_with = "unix_ms")]
    pub started: SystemTime,
    /// Where it is held.
    pub containment: Contained,
    /// CPU, memory and pressure of it and its descendants (the last
    /// reading once its cell is gone).
    #[serde(flatten)]
    pub usage: Usage,
}

/// One task in [`TrackerStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskStatus {
    /// Running, finished, panicked or cancelled.
    #[serde(flatten)]
    pub state: TaskState,
    /// When it was tracked (serialized as `started_unix_ms`).
    #[serde(rename = "started_unix_ms", serialize_with = "unix_ms")]
    pub started: SystemTime,
}

/// One custom resource in [`TrackerStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomStatus {
    /// The resource's type.
    pub type_name: &'static str,
    /// When it was registered (serialized as `registered_unix_ms`).
    #[serde(rename = "registered_unix_ms", serialize_with = "unix_ms")]
    pub registered: SystemTime,
}

/// Everything tracked, per kind, per key. Finished tasks stay listed (the
/// latest 256) after they leave the tracker.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrackerStatus {
    /// How this tracker contains its processes.
    pub containment: Containment,
    /// The watchdog's pid, while it runs.
    pub watchdog: Option<u32>,
    /// Processes by key.
    pub processes: BTreeMap<String, ProcessStatus>,
    /// Tasks by key.
    pub tasks: BTreeMap<String, TaskStatus>,
    /// Custom resources by key.
    pub custom: BTreeMap<String, CustomStatus>,
    /// Processes stopped so far (`stop_process`, `cleanup_all`), by how
    /// they ended.
    pub stops: StopCounts,
    /// CPU time, in microseconds, of every process this tracker held in a
    /// cgroup since it started, with their descendants, those gone
    /// included: its cgroup's `cpu.stat` `usage_usec`. Cgroup containment
    /// only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usec: Option<u64>,
}

/// What a tracker holds, counted, for metrics: read without a message and
/// without reading any process's cgroup files, so it stays cheap with
/// thousands of processes (a [`TrackerStatus`] reads each one's CPU,
/// memory and pressure).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TrackerCounts {
    /// Running processes held in a cgroup of their own.
    pub in_cgroups: usize,
    /// Running processes leading a process group of their own.
    pub in_process_groups: usize,
    /// Running processes held by nothing but themselves.
    pub alone: usize,
    /// Running tasks.
    pub tasks: usize,
    /// Processes stopped so far, by how they ended.
    pub stops: StopCounts,
    /// As [`TrackerStatus::cpu_usec`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_usec: Option<u64>,
}

impl TrackerCounts {
    /// Counts the running processes and tasks of these statuses.
    pub(crate) fn count<'a>(
        processes: impl IntoIterator<Item = &'a ProcessStatus>,
        tasks: impl IntoIterator<Item = &'a TaskStatus>,
    ) -> Self {
        let mut counts = Self::default();
        for process in processes {
            if process.state.has_exited() {
                continue;
            }
            match process.containment {
                Contained::Cgroup(_) => counts.in_cgroups += 1,
                Contained::ProcessGroup(_) => counts.in_process_groups += 1,
                Contained::Process(_) => counts.alone += 1,
            }
        }
        counts.tasks = tasks
            .into_iter()
            .filter(|task| task.state == TaskState::Running)
            .count();
        counts
    }
}

/// What `cleanup_all` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Processes that exited (by themselves or on SIGTERM), tasks cancelled
    /// and custom resources cleaned up.
    pub stopped_gracefully: Vec<String>,
    /// Processes killed with SIGKILL.
    pub killed: Vec<String>,
    /// What failed, with why.
    pub failed: Vec<(String, String)>,
    /// Descendants killed after their tracked ancestors stopped.
    pub descendants_killed: usize,
}

/// A wall-clock time as milliseconds since the Unix epoch (0 before it).
fn unix_ms<S: serde::Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let millis = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    serializer.serialize_u64(u64::try_from(millis).unwrap_or(u64::MAX))
}
