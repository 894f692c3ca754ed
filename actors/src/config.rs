//! Configuration: a serde [`Config`] with builder setters and environment
//! overrides.
//!
//! Every setting has one rule (its range), used both when an environment
//! variable is parsed and when a whole `Config` is validated, so a value is
//! judged the same wherever it comes from. Nothing falls back silently: a
//! bad value is a [`ConfigError`] naming the variable (or field) and the
//! value.
//!
//! | variable | field | default | range |
//! |---|---|---|---|
//! | `STEWARD_CPU_WORKERS` | `cpu_workers` | available parallelism | 1 ..= 4096 |
//! | `STEWARD_DEFAULT_IO_LIMIT` | `default_io_limit` | 2 | 1 ..= 2³⁰ |
//! | `STEWARD_DRIVE_<ID>_IO` | `drive_io_limits.<ID>` | — | 1 ..= 2³⁰ |
//! | `STEWARD_MONITOR_INTERVAL_MS` | `monitor_interval_ms` | 5000 | 200 ..= 3 600 000 |
//! | `STEWARD_SHUTDOWN_TIMEOUT_MS` | `shutdown_timeout_ms` | 10 000 | 1 ..= 3 600 000 |
//! | `STEWARD_{MEMORY,CPU,DISK}_{WARNING,CRITICAL}_PERCENT` | `thresholds.*` | 80/90, 85/95, 85/95 | 0 < p ≤ 100, warning < critical |
//! | `STEWARD_{MEMORY,DISK}_{WARNING,CRITICAL}_FREE_BYTES` | `thresholds.{memory,disk}_free.*` | unset | 1 ..= 2⁶⁰, warning > critical |
//! | `STEWARD_MONITOR_HYSTERESIS_PERCENT` | `thresholds.hysteresis_percent` | 5 | 0 < p ≤ 100 |
//! | `STEWARD_MONITOR_CLEAR_AFTER_SAMPLES` | `thresholds.clear_after_samples` | 3 | 1 ..= 10 000 |
//!
//! Per-disk thresholds (`thresholds.disks`, [`Thresholds::with_disk`]) are
//! set in code or in a deserialized `Config`, not in the environment.
//!
//! `<ID>` is derived from a mount point by [`DriveId::from_mount_point`]:
//! `/` is `ROOT`, `/mnt/data` is `MNT_DATA`. The monitor's 200 ms floor is
//! sysinfo's: on Linux it silently skips CPU refreshes closer together.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use steward_actors::config::Config;
//!
//! let config = Config::default()
//!     .with_cpu_workers(4)
//!     .with_drive_limit("/mnt/data", 8)
//!     .apply_env([("STEWARD_DEFAULT_IO_LIMIT", "3")])?;
//! assert_eq!(config.cpu_workers(), 4);
//! assert_eq!(config.default_io_limit(), 3);
//! assert_eq!(config.drive_limit("/mnt/data"), Some(8));
//!
//! let err = Config::default().apply_env([("STEWARD_CPU_WORKERS", "-2")]).unwrap_err();
//! assert_eq!(err.to_string(), r#"STEWARD_CPU_WORKERS="-2": must not be negative"#);
//! # Ok::<(), steward_actors::config::ConfigError>(())
//! ```

mod drive_id;
mod env;
mod error;
mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cpu::QueueBound;

pub use drive_id::DriveId;
pub use error::{ConfigError, Problem};

/// Warning and critical levels for one resource, in percent used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// Percent used at which a warning is raised.
    pub warning_percent: f64,
    /// Percent used at which the level becomes critical.
    pub critical_percent: f64,
}

impl Levels {
    /// Levels at `warning_percent` and `critical_percent`.
    #[must_use]
    pub const fn new(warning_percent: f64, critical_percent: f64) -> Self {
        Self {
            warning_percent,
            critical_percent,
        }
    }
}

/// Warning and critical levels for one resource in absolute free bytes: a
/// level is reached when the free bytes fall to or below it. Either may be
/// unset; when both are set, warning is above critical.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FreeLevels {
    /// Free bytes at or below which a warning is raised.
    pub warning_free_bytes: Option<u64>,
    /// Free bytes at or below which the level becomes critical.
    pub critical_free_bytes: Option<u64>,
}

impl FreeLevels {
    /// Levels at `warning_free_bytes` and `critical_free_bytes`.
    #[must_use]
    pub const fn new(warning_free_bytes: u64, critical_free_bytes: u64) -> Self {
        Self {
            warning_free_bytes: Some(warning_free_bytes),
            critical_free_bytes: Some(critical_free_bytes),
        }
    }

    /// Whether neither level is set.
    #[must_use]
    pub const fn is_unset(&self) -> bool {
        self.warning_free_bytes.is_none() && self.critical_free_bytes.is_none()
    }
}

/// The thresholds of one disk, replacing the `disk` and `disk_free` ones
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskLevels {
    /// Percent of the disk used.
    pub percent: Levels,
    /// Bytes left free on the disk.
    #[serde(default)]
    pub free: FreeLevels,
}

/// Warning and critical thresholds for memory, CPU and disk, and how a
/// level clears (hysteresis).
///
/// A level rises as soon as a reading crosses its threshold. It clears
/// when the reading falls `hysteresis_percent` points below the threshold
/// (for free bytes: that many percent of the total above it), or after
/// `clear_after_samples` consecutive samples below the threshold, so a
/// value hovering at the line does not flap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Memory used, of total.
    pub memory: Levels,
    /// CPU busy, of all cores.
    pub cpu: Levels,
    /// Disk space used, per disk.
    pub disk: Levels,
    /// Memory available, in bytes (unset by default).
    pub memory_free: FreeLevels,
    /// Disk space available, in bytes, per disk (unset by default).
    pub disk_free: FreeLevels,
    /// Thresholds of particular disks, by mount point (configured in code).
    pub disks: BTreeMap<PathBuf, DiskLevels>,
    /// How far below a threshold a reading must fall to clear its level at
    /// once, in percentage points (default 5).
    pub hysteresis_percent: f64,
    /// Consecutive samples below a threshold after which its level clears
    /// anyway (default 3).
    pub clear_after_samples: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            memory: Levels::new(80.0, 90.0),
            cpu: Levels::new(85.0, 95.0),
            disk: Levels::new(85.0, 95.0),
            memory_free: FreeLevels::default(),
            disk_free: FreeLevels::default(),
            disks: BTreeMap::new(),
            hysteresis_percent: 5.0,
            clear_after_samples: 3,
        }
    }
}

impl Thresholds {
    /// Sets the thresholds of the disk mounted at `mount_point`.
    ///
    /// # Examples
    ///
    /// ```
    /// use steward_actors::config::{DiskLevels, FreeLevels, Levels, Thresholds};
    ///
    /// let thresholds = Thresholds::default().with_disk(
    ///     "/data",
    ///     DiskLevels { percent: Levels::new(70.0, 90.0), free: FreeLevels::new(20 << 30, 5 << 30) },
    /// );
    /// assert!(thresholds.disks.contains_key(std::path::Path::new("/data")));
    /// ```
    #[must_use]
    pub fn with_disk(mut self, mount_point: impl Into<PathBuf>, levels: DiskLevels) -> Self {
        self.disks.insert(mount_point.into(), levels);
        self
    }
}

/// steward's configuration.
///
/// Build it with the `with_*` setters, deserialize it, and/or override it
/// from the environment with [`from_env`](Self::from_env). Setters take
/// plain values and never fail; [`validate`](Self::validate) (run by
/// `Steward::start`) judges the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    cpu_workers: usize,
    cpu_queue: Option<QueueBound>,
    default_io_limit: usize,
    drive_io_limits: BTreeMap<DriveId, usize>,
    monitor_interval_ms: u64,
    shutdown_timeout_ms: u64,
    thresholds: Thresholds,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cpu_workers: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_queue: None,
            default_io_limit: 2,
            drive_io_limits: BTreeMap::new(),
            monitor_interval_ms: 5_000,
            shutdown_timeout_ms: 10_000,
            thresholds: Thresholds::default(),
        }
    }
}

impl Config {
    /// The defaults overridden by the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first bad variable (in name order) and its
    /// value, an unknown `STEWARD_*` variable, or thresholds out of order.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::default().apply_env(std::env::vars_os())
    }

    /// Overrides this configuration with `STEWARD_*` variables taken from
    /// `vars`; other variables are ignored.
    ///
    /// This is [`from_env`](Self::from_env) without the process environment,
    /// for tests and for configuration read from elsewhere.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn apply_env<K, V>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ConfigError>
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        env::apply(self, vars)
    }

    /// Checks every setting against its range and the thresholds' order.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidValue`] naming the field, or
    /// [`ConfigError::ThresholdOrder`], [`ConfigError::FreeThresholdOrder`],
    /// [`ConfigError::DiskThresholdOrder`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        settings::validate(self)
    }

    /// Worker threads of the CPU pool.
    #[must_use]
    pub fn cpu_workers(&self) -> usize {
        self.cpu_workers
    }

    /// The bound on queued CPU jobs, if any.
    #[must_use]
    pub fn cpu_queue(&self) -> Option<QueueBound> {
        self.cpu_queue
    }

    /// Concurrent IO operations per drive without a limit of its own.
    #[must_use]
    pub fn default_io_limit(&self) -> usize {
        self.default_io_limit
    }

    /// The limit set for the drive mounted at `mount_point`, if any.
    #[must_use]
    pub fn drive_limit(&self, mount_point: impl AsRef<Path>) -> Option<usize> {
        let id = DriveId::from_mount_point(mount_point.as_ref());
        self.drive_io_limits.get(&id).copied()
    }

    /// Every per-drive limit, by drive id.
    #[must_use]
    pub fn drive_limits(&self) -> &BTreeMap<DriveId, usize> {
        &self.drive_io_limits
    }

    /// How often the monitor samples the system.
    #[must_use]
    pub fn monitor_interval(&self) -> Duration {
        Duration::from_millis(self.monitor_interval_ms)
    }

    /// How long a shutdown may take in all.
    #[must_use]
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }

    /// The monitor's warning and critical thresholds.
    #[must_use]
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Sets the CPU pool's worker threads.
    #[must_use]
    pub fn with_cpu_workers(mut self, workers: usize) -> Self {
        self.cpu_workers = workers;
        self
    }

    /// Bounds the CPU jobs queued or running at once (unbounded by default).
    #[must_use]
    pub fn with_cpu_queue(mut self, bound: QueueBound) -> Self {
        self.cpu_queue = Some(bound);
        self
    }

    /// Sets the IO limit of drives without a limit of their own.
    #[must_use]
    pub fn with_default_io_limit(mut self, limit: usize) -> Self {
        self.default_io_limit = limit;
        self
    }

    /// Sets the IO limit of the drive mounted at `mount_point`.
    #[must_use]
    pub fn with_drive_limit(mut self, mount_point: impl AsRef<Path>, limit: usize) -> Self {
        let id = DriveId::from_mount_point(mount_point.as_ref());
        self.drive_io_limits.insert(id, limit);
        self
    }

    /// Sets the monitor's sampling interval (whole milliseconds).
    #[must_use]
    pub fn with_monitor_interval(mut self, interval: Duration) -> Self {
        self.monitor_interval_ms = saturating_millis(interval);
        self
    }

    /// Sets the bound on a whole shutdown (whole milliseconds).
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout_ms = saturating_millis(timeout);
        self
    }

    /// Sets the monitor's thresholds and hysteresis.
    #[must_use]
    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }
}

fn saturating_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
