//! What one sample of the system holds. Serde types; every unit is in its
//! field's name.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::pressure::Pressure;
use crate::drive::DeviceNumber;

/// One sample of the system and of this process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The sample's number: 1 for the first, in the order sampled.
    pub sequence: u64,
    /// When it was taken (serialized as `taken_at_unix_ms`).
    #[serde(rename = "taken_at_unix_ms", with = "unix_ms")]
    pub taken_at: SystemTime,
    /// CPU busy time, in all and per core.
    pub cpu: CpuReading,
    /// The load average.
    pub load: LoadAverage,
    /// Memory of the machine.
    pub memory: MemoryReading,
    /// Swap of the machine.
    pub swap: SwapReading,
    /// Each disk (a device, mounted once or more), by mount point.
    pub disks: Vec<DiskReading>,
    /// This process.
    pub process: ProcessReading,
    /// Pressure stall information, where the kernel has it (Linux 4.20+).
    pub pressure: PressureReadings,
}

impl Reading {
    /// The disk mounted at `mount_point` (any of its mount points), if it
    /// was sampled.
    #[must_use]
    pub fn disk(&self, mount_point: impl AsRef<std::path::Path>) -> Option<&DiskReading> {
        let mount_point = mount_point.as_ref();
        self.disks.iter().find(|d| d.is_mounted_at(mount_point))
    }
}

/// CPU busy time since the previous sample.
///
/// Always measured over a real interval of at least 200 ms: the first
/// sample waits one such interval, and a sample sooner than 200 ms after
/// the previous one waits out the rest (sysinfo skips CPU refreshes closer
/// together).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuReading {
    /// Busy share of all cores together, 0 to 100.
    pub usage_percent: f64,
    /// Busy share of each core, 0 to 100.
    pub per_core_percent: Vec<f64>,
}

/// The load average: runnable (and, on Linux, uninterruptible) tasks,
/// averaged over 1, 5 and 15 minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    /// Over one minute.
    pub one: f64,
    /// Over five minutes.
    pub five: f64,
    /// Over fifteen minutes.
    pub fifteen: f64,
}

/// Memory of the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// All of it.
    pub total_bytes: u64,
    /// In use: total less available.
    pub used_bytes: u64,
    /// Available for new allocations without swapping (`MemAvailable`).
    pub available_bytes: u64,
}

impl MemoryReading {
    /// The share in use, 0 to 100 (0 when the total is unknown).
    #[must_use]
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes, self.total_bytes)
    }
}

/// Swap of the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SwapReading {
    /// All of it (0 without swap).
    pub total_bytes: u64,
    /// In use.
    pub used_bytes: u64,
    /// Free.
    pub free_bytes: u64,
}

/// One disk: a device, however many places it is mounted at.
///
/// The figures are `df`'s: [`used_percent`](Self::used_percent) is
/// `used / (used + available)`, so the blocks reserved for root count
/// neither as used nor as available.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskReading {
    /// Where it is mounted: the shortest of its mount points (that is not
    /// hidden by a later mount). Its alerts and thresholds go by this name.
    pub mount_point: PathBuf,
    /// Every place the device is mounted (bind mounts), shortest first.
    pub mount_points: Vec<PathBuf>,
    /// The device.
    pub device: DeviceNumber,
    /// Its size (`f_blocks`).
    pub total_bytes: u64,
    /// In use (`f_blocks - f_bfree`): `df`'s Used.
    pub used_bytes: u64,
    /// Space an unprivileged process could still use (`f_bavail`): `df`'s
    /// Available.
    pub available_bytes: u64,
}

impl DiskReading {
    /// The share in use, 0 to 100, as `df` computes Use%:
    /// `used / (used + available)` (0 for an empty file system).
    #[must_use]
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes, self.capacity_bytes())
    }

    /// The most this process could ever have free on it: what is used and
    /// what is available (the rest is reserved for root).
    #[must_use]
    pub fn capacity_bytes(&self) -> u64 {
        self.used_bytes.saturating_add(self.available_bytes)
    }

    /// Whether the disk is mounted at `path` (any of its mount points).
    #[must_use]
    pub fn is_mounted_at(&self, path: &std::path::Path) -> bool {
        self.mount_point == path || self.mount_points.iter().any(|point| point == path)
    }
}

/// This process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessReading {
    /// Its id.
    pub pid: u32,
    /// Resident memory.
    pub rss_bytes: u64,
    /// CPU time since the previous sample, in percent of one core (above
    /// 100 when several cores worked).
    pub cpu_percent: f64,
}

/// Pressure stall information of each kind; `None` where the kernel has
/// none (or it could not be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PressureReadings {
    /// `/proc/pressure/memory`.
    pub memory: Option<Pressure>,
    /// `/proc/pressure/cpu`.
    pub cpu: Option<Pressure>,
    /// `/proc/pressure/io`.
    pub io: Option<Pressure>,
}

/// `part` of `whole` in percent; 0 for an empty whole.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        // Precision beyond 2⁵³ bytes does not matter for a percentage.
        #[allow(clippy::cast_precision_loss)]
        let share = part as f64 / whole as f64;
        share * 100.0
    }
}

/// A wall-clock time as whole milliseconds since the Unix epoch.
pub(crate) mod unix_ms {
    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        time: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let millis = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        serializer.serialize_u64(u64::try_from(millis).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SystemTime, D::Error> {
        let millis = u64::deserialize(deserializer)?;
        Ok(SystemTime::UNIX_EPOCH + Duration::from_millis(millis))
    }
}
