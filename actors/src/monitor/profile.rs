//! Workload profiles: may a job that needs this much start now?

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::alert::{Level, MachineResource};
use super::availability::Availability;
use super::error::MonitorError;
use super::readings::{DiskReading, Reading};

/// Bytes in a gigabyte (decimal, as disk and cloud sizes are quoted).
const GB: f64 = 1e9;

/// What a job needs from the machine while it runs.
///
/// # Examples
///
/// ```
/// use steward_actors::monitor::WorkloadProfile;
///
/// // A model that needs 4 GB of memory, a quarter of the CPU and 10 GB of disk.
/// let model = WorkloadProfile::from_gb(4.0, 25.0, 10.0)?.on_disk("/");
/// assert_eq!(model.max_memory_bytes, 4_000_000_000);
/// # Ok::<(), steward_actors::monitor::MonitorError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadProfile {
    /// Memory it may use at most: must be available.
    pub max_memory_bytes: u64,
    /// CPU it may use at most, in percent of all cores: must be idle.
    pub max_cpu_percent: f64,
    /// Disk space that must stay free.
    pub min_free_disk_bytes: u64,
    /// The disk it writes to; `None` is the disk mounted at `/` (or, where
    /// none is, the one with the most space available).
    pub disk: Option<PathBuf>,
}

impl WorkloadProfile {
    /// A profile from bytes and percent, on the default disk.
    #[must_use]
    pub fn new(max_memory_bytes: u64, max_cpu_percent: f64, min_free_disk_bytes: u64) -> Self {
        Self {
            max_memory_bytes,
            max_cpu_percent,
            min_free_disk_bytes,
            disk: None,
        }
    }

    /// A profile for a model workload, as usually quoted: max memory in GB,
    /// max CPU in percent of all cores, min free disk in GB (1 GB = 10⁹
    /// bytes).
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidProfile`] for a negative, NaN or infinite
    /// figure.
    pub fn from_gb(
        max_memory_gb: f64,
        max_cpu_percent: f64,
        min_free_disk_gb: f64,
    ) -> Result<Self, MonitorError> {
        let check = |field, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(value)
            } else {
                Err(MonitorError::InvalidProfile { field, value })
            }
        };
        let memory = check("max_memory_gb", max_memory_gb)?;
        let cpu = check("max_cpu_percent", max_cpu_percent)?;
        let disk = check("min_free_disk_gb", min_free_disk_gb)?;
        Ok(Self::new(gb_to_bytes(memory), cpu, gb_to_bytes(disk)))
    }

    /// The same profile, writing to the disk mounted at `mount_point`.
    #[must_use]
    pub fn on_disk(mut self, mount_point: impl Into<PathBuf>) -> Self {
        self.disk = Some(mount_point.into());
        self
    }
}

fn gb_to_bytes(gb: f64) -> u64 {
    // Finite and non-negative (checked); saturates above u64::MAX.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let bytes = (gb * GB).round() as u64;
    bytes
}

/// The answer to [`Monitor::admits`](super::Monitor::admits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "admission", rename_all = "snake_case")]
pub enum Admission {
    /// There is room: start it.
    Admit,
    /// Not now: try again later.
    Defer {
        /// Why.
        reason: DeferReason,
    },
    /// Never on this machine: the job needs more than it has at all.
    Reject {
        /// What it has too little of.
        reason: RejectReason,
    },
}

impl Admission {
    /// Whether the job may start.
    #[must_use]
    pub fn is_admit(&self) -> bool {
        matches!(self, Admission::Admit)
    }

    /// Whether the job can never start here (waiting would not help).
    #[must_use]
    pub fn is_reject(&self) -> bool {
        matches!(self, Admission::Reject { .. })
    }
}

/// Why a job can never be admitted on this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// The job may use more memory than the machine has.
    Memory {
        /// The machine's memory.
        total_bytes: u64,
        /// The job's maximum.
        needed_bytes: u64,
    },
    /// The job may use more than all the cores (above 100 percent).
    Cpu {
        /// The job's maximum, in percent of all cores.
        needed_percent: f64,
    },
    /// The job needs more space free than the disk could ever have free
    /// for it (what is used plus what is available: the rest is reserved
    /// for root).
    Disk {
        /// The disk.
        mount_point: PathBuf,
        /// Used plus available.
        capacity_bytes: u64,
        /// What must stay free.
        needed_bytes: u64,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Memory {
                total_bytes,
                needed_bytes,
            } => write!(
                f,
                "{needed_bytes} bytes of memory needed, the machine has {total_bytes}"
            ),
            RejectReason::Cpu { needed_percent } => write!(
                f,
                "{needed_percent:.1}% of the CPU needed, more than all the cores"
            ),
            RejectReason::Disk {
                mount_point,
                capacity_bytes,
                needed_bytes,
            } => write!(
                f,
                "{needed_bytes} bytes must stay free on {}, which can hold {capacity_bytes} at most",
                mount_point.display()
            ),
        }
    }
}

/// Why a job was deferred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeferReason {
    /// The monitor has no reading yet.
    NoReading,
    /// A resource the job needs is at a critical level.
    Critical {
        /// The resource.
        resource: MachineResource,
    },
    /// Less memory available than the job may use.
    Memory {
        /// Available now.
        available_bytes: u64,
        /// The job's maximum.
        needed_bytes: u64,
    },
    /// Less CPU idle than the job may use.
    Cpu {
        /// Idle now, in percent of all cores.
        idle_percent: f64,
        /// The job's maximum.
        needed_percent: f64,
    },
    /// The disk would have less free space than the job needs.
    Disk {
        /// The disk.
        mount_point: PathBuf,
        /// Available now.
        available_bytes: u64,
        /// What must stay free.
        needed_bytes: u64,
    },
    /// The disk the job names is not mounted (or not sampled).
    UnknownDisk {
        /// The mount point named.
        mount_point: PathBuf,
    },
}

impl fmt::Display for DeferReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeferReason::NoReading => f.write_str("no reading of the system yet"),
            DeferReason::Critical { resource } => write!(f, "{resource} is critical"),
            DeferReason::Memory {
                available_bytes,
                needed_bytes,
            } => write!(
                f,
                "{available_bytes} bytes of memory available, {needed_bytes} needed"
            ),
            DeferReason::Cpu {
                idle_percent,
                needed_percent,
            } => write!(
                f,
                "{idle_percent:.1}% of the CPU idle, {needed_percent:.1}% needed"
            ),
            DeferReason::Disk {
                mount_point,
                available_bytes,
                needed_bytes,
            } => write!(
                f,
                "{available_bytes} bytes available on {}, {needed_bytes} must stay free",
                mount_point.display()
            ),
            DeferReason::UnknownDisk { mount_point } => {
                write!(f, "no disk is mounted at {}", mount_point.display())
            }
        }
    }
}

/// Whether `profile` fits the machine as `reading` and `availability`
/// show it: rejected if it could never fit, deferred if it does not fit
/// now.
pub(crate) fn admit(
    profile: &WorkloadProfile,
    reading: Option<&Reading>,
    availability: &Availability,
) -> Admission {
    let Some(reading) = reading else {
        return Admission::Defer {
            reason: DeferReason::NoReading,
        };
    };
    let disk = disk_of(profile, reading);
    if let Err(reason) = fits_at_all(profile, reading, disk.as_ref().ok().copied()) {
        return Admission::Reject { reason };
    }
    let disk = match disk {
        Ok(disk) => disk,
        Err(reason) => return Admission::Defer { reason },
    };
    match fits_now(profile, reading, disk, availability) {
        Ok(()) => Admission::Admit,
        Err(reason) => Admission::Defer { reason },
    }
}

/// The disk the job writes to.
fn disk_of<'a>(
    profile: &WorkloadProfile,
    reading: &'a Reading,
) -> Result<&'a DiskReading, DeferReason> {
    match &profile.disk {
        Some(mount_point) => reading
            .disk(mount_point)
            .ok_or_else(|| DeferReason::UnknownDisk {
                mount_point: mount_point.clone(),
            }),
        None => reading
            .disk("/")
            .or_else(|| reading.disks.iter().max_by_key(|d| d.available_bytes))
            .ok_or_else(|| DeferReason::UnknownDisk {
                mount_point: PathBuf::from("/"),
            }),
    }
}

/// Whether the job could fit the machine at all.
fn fits_at_all(
    profile: &WorkloadProfile,
    reading: &Reading,
    disk: Option<&DiskReading>,
) -> Result<(), RejectReason> {
    let total_bytes = reading.memory.total_bytes;
    if profile.max_memory_bytes > total_bytes {
        return Err(RejectReason::Memory {
            total_bytes,
            needed_bytes: profile.max_memory_bytes,
        });
    }
    if profile.max_cpu_percent > 100.0 {
        return Err(RejectReason::Cpu {
            needed_percent: profile.max_cpu_percent,
        });
    }
    if let Some(disk) = disk
        && profile.min_free_disk_bytes > disk.capacity_bytes()
    {
        return Err(RejectReason::Disk {
            mount_point: disk.mount_point.clone(),
            capacity_bytes: disk.capacity_bytes(),
            needed_bytes: profile.min_free_disk_bytes,
        });
    }
    Ok(())
}

/// Whether the job fits what is free now.
fn fits_now(
    profile: &WorkloadProfile,
    reading: &Reading,
    disk: &DiskReading,
    availability: &Availability,
) -> Result<(), DeferReason> {
    let needed = [
        MachineResource::Memory,
        MachineResource::Cpu,
        MachineResource::Disk(disk.mount_point.clone()),
    ];
    let pressure = availability
        .resources
        .iter()
        .filter(|r| matches!(r.resource, MachineResource::Pressure(_)))
        .map(|r| r.resource.clone());
    for resource in needed.into_iter().chain(pressure) {
        if availability.level_of(&resource) == Level::Critical {
            return Err(DeferReason::Critical { resource });
        }
    }
    if reading.memory.available_bytes < profile.max_memory_bytes {
        return Err(DeferReason::Memory {
            available_bytes: reading.memory.available_bytes,
            needed_bytes: profile.max_memory_bytes,
        });
    }
    let idle_percent = (100.0 - reading.cpu.usage_percent).max(0.0);
    if idle_percent < profile.max_cpu_percent {
        return Err(DeferReason::Cpu {
            idle_percent,
            needed_percent: profile.max_cpu_percent,
        });
    }
    if disk.available_bytes < profile.min_free_disk_bytes {
        return Err(DeferReason::Disk {
            mount_point: disk.mount_point.clone(),
            available_bytes: disk.available_bytes,
            needed_bytes: profile.min_free_disk_bytes,
        });
    }
    Ok(())
}
