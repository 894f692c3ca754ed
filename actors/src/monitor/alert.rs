//! Alerts: a resource's level changed.

use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::pressure::PressureKind;
use super::readings::unix_ms;

/// How a resource is doing. Ordered: `Healthy < Warning < Critical`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below every threshold.
    #[default]
    Healthy,
    /// At or past the warning threshold.
    Warning,
    /// At or past the critical threshold.
    Critical,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Healthy => "healthy",
            Level::Warning => "warning",
            Level::Critical => "critical",
        })
    }
}

/// What a level is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineResource {
    /// Memory of the machine.
    Memory,
    /// CPU time of all cores.
    Cpu,
    /// The disk mounted at this path.
    Disk(PathBuf),
    /// Pressure stalls (Linux PSI) of one kind.
    Pressure(PressureKind),
}

impl fmt::Display for MachineResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineResource::Memory => f.write_str("memory"),
            MachineResource::Cpu => f.write_str("cpu"),
            MachineResource::Disk(mount_point) => write!(f, "disk {}", mount_point.display()),
            MachineResource::Pressure(kind) => write!(f, "{kind} pressure"),
        }
    }
}

/// A value or threshold, with its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Percent used (memory, disk) or busy (CPU).
    UsedPercent(f64),
    /// Bytes free.
    FreeBytes(u64),
    /// Percent of wall time some (or all) tasks stalled on the resource.
    StallPercent(f64),
    /// The disk is no longer mounted: the value of the alert that clears a
    /// vanished disk's level.
    Unmounted,
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::UsedPercent(percent) => write!(f, "{percent:.1}% used"),
            Measure::FreeBytes(bytes) => write!(f, "{bytes} bytes free"),
            Measure::StallPercent(percent) => write!(f, "{percent:.1}% stalled"),
            Measure::Unmounted => f.write_str("unmounted"),
        }
    }
}

/// A resource changed level. Sent only on a change, never repeated while
/// the level holds.
///
/// `threshold` is the one of the new level, or for a return to
/// [`Level::Healthy`] the warning threshold now cleared. A disk that is no
/// longer mounted clears its level with the value [`Measure::Unmounted`].
/// For pressure, the value of a rise seen in the sampled stall counters is
/// the share they measured; a kernel trigger reports only that its share
/// was reached, so the value of a rise it raised is that share; the value
/// of a clear is the latest sampled `some avg10`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, actix::Message)]
#[rtype(result = "()")]
pub struct Alert {
    /// What changed level.
    pub resource: MachineResource,
    /// The new level.
    pub level: Level,
    /// The level before.
    pub previous: Level,
    /// The reading that changed it.
    pub value: Measure,
    /// The threshold crossed.
    pub threshold: Measure,
    /// When the reading was taken (serialized as `at_unix_ms`).
    #[serde(rename = "at_unix_ms", with = "unix_ms")]
    pub at: SystemTime,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {}: {} (threshold {})",
            self.resource, self.previous, self.level, self.value, self.threshold
        )
    }
}
