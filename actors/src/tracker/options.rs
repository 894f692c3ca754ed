//! What a tracker is asked for: its containment, and a process's limits.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a tracker contains the processes it starts: a builder option
/// ([`TrackerBuilder::containment`](super::TrackerBuilder::containment)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Containment {
    /// A cgroup v2 per process when the program can create cgroups (root,
    /// or a delegated subtree), else process groups. The default.
    #[default]
    Auto,
    /// A cgroup v2 per process, or the tracker does not start
    /// ([`TrackerError::Containment`](super::TrackerError::Containment)).
    Cgroup,
    /// A process group per process, an environment marker its descendants
    /// inherit, and the program as their child subreaper: the fallback,
    /// with the limits the module doc lists.
    ProcessGroup,
}

impl fmt::Display for Containment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Containment::Auto => "auto",
            Containment::Cgroup => "cgroup",
            Containment::ProcessGroup => "process group",
        })
    }
}

/// Resource limits for one process and its descendants, enforced by the
/// kernel through its cgroup; each needs its controller delegated to the
/// program (see the module doc).
///
/// # Examples
///
/// ```
/// use steward_actors::tracker::{CpuMax, SpawnOptions};
///
/// let options = SpawnOptions::default()
///     .memory_max(256 << 20)
///     .pids_max(64)
///     .cpu_max(CpuMax::new(50_000, 100_000));
/// assert_eq!(options.memory_max, Some(256 << 20));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpawnOptions {
    /// `memory.max`: bytes of memory (the OOM killer acts inside the
    /// cgroup beyond it). Needs the `memory` controller.
    pub memory_max: Option<u64>,
    /// `pids.max`: processes and threads at once. Needs `pids`.
    pub pids_max: Option<u64>,
    /// `cpu.max`: CPU time per period. Needs `cpu`.
    pub cpu_max: Option<CpuMax>,
}

impl SpawnOptions {
    /// Sets [`memory_max`](Self::memory_max).
    #[must_use]
    pub fn memory_max(mut self, bytes: u64) -> Self {
        self.memory_max = Some(bytes);
        self
    }

    /// Sets [`pids_max`](Self::pids_max).
    #[must_use]
    pub fn pids_max(mut self, count: u64) -> Self {
        self.pids_max = Some(count);
        self
    }

    /// Sets [`cpu_max`](Self::cpu_max).
    #[must_use]
    pub fn cpu_max(mut self, max: CpuMax) -> Self {
        self.cpu_max = Some(max);
        self
    }

    /// The controller each limit asked for needs, with the file and value
    /// to write.
    pub(crate) fn writes(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut writes = Vec::new();
        if let Some(bytes) = self.memory_max {
            writes.push(("memory", "memory.max", bytes.to_string()));
        }
        if let Some(count) = self.pids_max {
            writes.push(("pids", "pids.max", count.to_string()));
        }
        if let Some(max) = self.cpu_max {
            writes.push((
                "cpu",
                "cpu.max",
                format!("{} {}", max.quota_usec, max.period_usec),
            ));
        }
        writes
    }
}

/// `cpu.max`: at most `quota_usec` of CPU time every `period_usec`
/// (50_000 of 100_000 is half a CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMax {
    /// CPU time allowed per period, in microseconds.
    pub quota_usec: u64,
    /// The period, in microseconds.
    pub period_usec: u64,
}

impl CpuMax {
    /// `quota_usec` of CPU time every `period_usec`.
    #[must_use]
    pub fn new(quota_usec: u64, period_usec: u64) -> Self {
        Self {
            quota_usec,
            period_usec,
        }
    }
}
