//! The one table of settings: where each lives, what it is called in the
//! environment, and its range.

use super::{Config, ConfigError, FreeLevels, Levels, Problem};

/// Largest IO limit: far above any device's useful queue depth and well
/// inside what a tokio semaphore can hold.
const MAX_IO_LIMIT: u64 = 1 << 30;
/// Largest CPU pool: threads beyond this cost memory and buy nothing.
const MAX_CPU_WORKERS: u64 = 4096;
/// sysinfo skips CPU refreshes closer together than this on Linux.
const MIN_MONITOR_INTERVAL_MS: u64 = 200;
const HOUR_MS: u64 = 3_600_000;
/// Largest free-bytes threshold: an exbibyte, beyond any disk or memory.
const MAX_FREE_BYTES: u64 = 1 << 60;
/// Largest `clear_after_samples`: hours of samples at the fastest interval.
const MAX_CLEAR_AFTER_SAMPLES: u64 = 10_000;

/// The range of a free-bytes threshold.
const FREE_BYTES: WholeRange = WholeRange {
    min: 1,
    max: MAX_FREE_BYTES,
};

/// The range of a per-drive IO limit.
pub(super) const DRIVE_LIMIT: WholeRange = WholeRange {
    min: 1,
    max: MAX_IO_LIMIT,
};

/// The variables steward reads, for error messages.
pub(super) const KNOWN_VARIABLES: &str = "STEWARD_CPU_WORKERS, STEWARD_DEFAULT_IO_LIMIT, \
     STEWARD_DRIVE_<ID>_IO, STEWARD_MONITOR_INTERVAL_MS, STEWARD_SHUTDOWN_TIMEOUT_MS, \
     STEWARD_{MEMORY,CPU,DISK}_{WARNING,CRITICAL}_PERCENT, \
     STEWARD_{MEMORY,DISK}_{WARNING,CRITICAL}_FREE_BYTES, STEWARD_MONITOR_HYSTERESIS_PERCENT, \
     STEWARD_MONITOR_CLEAR_AFTER_SAMPLES";

/// An inclusive range of whole numbers.
#[derive(Debug, Clone, Copy)]
pub(super) struct WholeRange {
    pub(super) min: u64,
    pub(super) max: u64,
}

impl WholeRange {
    pub(super) fn check(self, value: u64) -> Result<(), Problem> {
        if value == 0 && self.min > 0 {
            Err(Problem::Zero)
        } else if value < self.min {
            Err(Problem::BelowMinimum { min: self.min })
        } else if value > self.max {
            Err(Problem::AboveMaximum { max: self.max })
        } else {
            Ok(())
        }
    }
}

/// How a setting is read, written and judged.
#[derive(Debug, Clone, Copy)]
pub(super) enum Access {
    Whole {
        get: fn(&Config) -> u64,
        set: fn(&mut Config, u64),
        range: WholeRange,
    },
    /// A whole number that may be unset (`None` is always valid).
    OptionalWhole {
        get: fn(&Config) -> Option<u64>,
        set: fn(&mut Config, u64),
        range: WholeRange,
    },
    Percent {
        get: fn(&Config) -> f64,
        set: fn(&mut Config, f64),
    },
}

/// One setting of [`Config`].
#[derive(Debug)]
pub(super) struct Setting {
    pub(super) var: &'static str,
    pub(super) field: &'static str,
    pub(super) access: Access,
}

fn count(value: u64) -> usize {
    // Ranges cap counts far below usize::MAX on every supported target; a
    // value out of range is reported by `check` before it is ever used.
    usize::try_from(value).unwrap_or(usize::MAX)
}

macro_rules! percent {
    ($var:literal, $field:literal, $resource:ident . $level:ident) => {
        Setting {
            var: $var,
            field: $field,
            access: Access::Percent {
                get: |c| c.thresholds.$resource.$level,
                set: |c, v| c.thresholds.$resource.$level = v,
            },
        }
    };
}

macro_rules! free_bytes {
    ($var:literal, $field:literal, $resource:ident . $level:ident) => {
        Setting {
            var: $var,
            field: $field,
            access: Access::OptionalWhole {
                get: |c| c.thresholds.$resource.$level,
                set: |c, v| c.thresholds.$resource.$level = Some(v),
                range: FREE_BYTES,
            },
        }
    };
}

pub(super) const SETTINGS: &[Setting] = &[
    Setting {
        var: "STEWARD_CPU_WORKERS",
        field: "cpu_workers",
        access: Access::Whole {
            get: |c| c.cpu_workers as u64,
            set: |c, v| c.cpu_workers = count(v),
            range: WholeRange {
                min: 1,
                max: MAX_CPU_WORKERS,
            },
        },
    },
    Setting {
        var: "STEWARD_DEFAULT_IO_LIMIT",
        field: "default_io_limit",
        access: Access::Whole {
            get: |c| c.default_io_limit as u64,
            set: |c, v| c.default_io_limit = count(v),
            range: DRIVE_LIMIT,
        },
    },
    Setting {
        var: "STEWARD_MONITOR_INTERVAL_MS",
        field: "monitor_interval_ms",
        access: Access::Whole {
            get: |c| c.monitor_interval_ms,
            set: |c, v| c.monitor_interval_ms = v,
            range: WholeRange {
                min: MIN_MONITOR_INTERVAL_MS,
                max: HOUR_MS,
            },
        },
    },
    Setting {
        var: "STEWARD_SHUTDOWN_TIMEOUT_MS",
        field: "shutdown_timeout_ms",
        access: Access::Whole {
            get: |c| c.shutdown_timeout_ms,
            set: |c, v| c.shutdown_timeout_ms = v,
            range: WholeRange {
                min: 1,
                max: HOUR_MS,
            },
        },
    },
    percent!(
        "STEWARD_MEMORY_WARNING_PERCENT",
        "thresholds.memory.warning_percent",
        memory.warning_percent
    ),
    percent!(
        "STEWARD_MEMORY_CRITICAL_PERCENT",
        "thresholds.memory.critical_percent",
        memory.critical_percent
    ),
    percent!(
        "STEWARD_CPU_WARNING_PERCENT",
        "thresholds.cpu.warning_percent",
        cpu.warning_percent
    ),
    percent!(
        "STEWARD_CPU_CRITICAL_PERCENT",
        "thresholds.cpu.critical_percent",
        cpu.critical_percent
    ),
    percent!(
        "STEWARD_DISK_WARNING_PERCENT",
        "thresholds.disk.warning_percent",
        disk.warning_percent
    ),
    percent!(
        "STEWARD_DISK_CRITICAL_PERCENT",
        "thresholds.disk.critical_percent",
        disk.critical_percent
    ),
    free_bytes!(
        "STEWARD_MEMORY_WARNING_FREE_BYTES",
        "thresholds.memory_free.warning_free_bytes",
        memory_free.warning_free_bytes
    ),
    free_bytes!(
        "STEWARD_MEMORY_CRITICAL_FREE_BYTES",
        "thresholds.memory_free.critical_free_bytes",
        memory_free.critical_free_bytes
    ),
    free_bytes!(
        "STEWARD_DISK_WARNING_FREE_BYTES",
        "thresholds.disk_free.warning_free_bytes",
        disk_free.warning_free_bytes
    ),
    free_bytes!(
        "STEWARD_DISK_CRITICAL_FREE_BYTES",
        "thresholds.disk_free.critical_free_bytes",
        disk_free.critical_free_bytes
    ),
    Setting {
        var: "STEWARD_MONITOR_HYSTERESIS_PERCENT",
        field: "thresholds.hysteresis_percent",
        access: Access::Percent {
            get: |c| c.thresholds.hysteresis_percent,
            set: |c, v| c.thresholds.hysteresis_percent = v,
        },
    },
    Setting {
        var: "STEWARD_MONITOR_CLEAR_AFTER_SAMPLES",
        field: "thresholds.clear_after_samples",
        access: Access::Whole {
            get: |c| c.thresholds.clear_after_samples,
            set: |c, v| c.thresholds.clear_after_samples = v,
            range: WholeRange {
                min: 1,
                max: MAX_CLEAR_AFTER_SAMPLES,
            },
        },
    },
];

/// Judges a percentage: above zero, at most 100.
pub(super) fn check_percent(value: f64) -> Result<(), Problem> {
    if value.is_nan() {
        Err(Problem::NotANumber {
            expected: "a percentage",
        })
    } else if value < 0.0 {
        Err(Problem::Negative)
    } else if value == 0.0 {
        Err(Problem::Zero)
    } else if value > 100.0 {
        Err(Problem::AboveMaximum { max: 100 })
    } else {
        Ok(())
    }
}

/// Every setting in range, every drive limit in range, thresholds in order.
pub(super) fn validate(config: &Config) -> Result<(), ConfigError> {
    for setting in SETTINGS {
        let (value, result) = match setting.access {
            Access::Whole { get, range, .. } => {
                let value = get(config);
                (value.to_string(), range.check(value))
            }
            Access::OptionalWhole { get, range, .. } => match get(config) {
                Some(value) => (value.to_string(), range.check(value)),
                None => continue,
            },
            Access::Percent { get, .. } => {
                let value = get(config);
                (value.to_string(), check_percent(value))
            }
        };
        result.map_err(|problem| ConfigError::InvalidValue {
            key: setting.field.to_owned(),
            value,
            problem,
        })?;
    }
    if let Some(bound) = config.cpu_queue {
        WholeRange {
            min: 1,
            max: u64::MAX,
        }
        .check(bound.max_queued as u64)
        .map_err(|problem| ConfigError::InvalidValue {
            key: "cpu_queue.max_queued".to_owned(),
            value: bound.max_queued.to_string(),
            problem,
        })?;
    }
    for (id, &limit) in &config.drive_io_limits {
        DRIVE_LIMIT
            .check(limit as u64)
            .map_err(|problem| ConfigError::InvalidValue {
                key: format!("drive_io_limits.{id}"),
                value: limit.to_string(),
                problem,
            })?;
    }
    check_threshold_order(config)?;
    check_disk_thresholds(config)
}

/// Each resource's warning level below its critical level.
pub(super) fn check_threshold_order(config: &Config) -> Result<(), ConfigError> {
    let thresholds = &config.thresholds;
    let resources: [(&'static str, &Levels, &'static str, &'static str); 3] = [
        (
            "memory",
            &thresholds.memory,
            "STEWARD_MEMORY_WARNING_PERCENT",
            "STEWARD_MEMORY_CRITICAL_PERCENT",
        ),
        (
            "cpu",
            &thresholds.cpu,
            "STEWARD_CPU_WARNING_PERCENT",
            "STEWARD_CPU_CRITICAL_PERCENT",
        ),
        (
            "disk",
            &thresholds.disk,
            "STEWARD_DISK_WARNING_PERCENT",
            "STEWARD_DISK_CRITICAL_PERCENT",
        ),
    ];
    for (resource, levels, warning_key, critical_key) in resources {
        if levels.warning_percent >= levels.critical_percent {
            return Err(ConfigError::ThresholdOrder {
                resource,
                warning_percent: levels.warning_percent,
                critical_percent: levels.critical_percent,
                warning_key,
                critical_key,
            });
        }
    }
    let free: [(&'static str, &FreeLevels, &'static str, &'static str); 2] = [
        (
            "memory",
            &thresholds.memory_free,
            "STEWARD_MEMORY_WARNING_FREE_BYTES",
            "STEWARD_MEMORY_CRITICAL_FREE_BYTES",
        ),
        (
            "disk",
            &thresholds.disk_free,
            "STEWARD_DISK_WARNING_FREE_BYTES",
            "STEWARD_DISK_CRITICAL_FREE_BYTES",
        ),
    ];
    for (resource, levels, warning_key, critical_key) in free {
        if let (Some(warning), Some(critical)) =
            (levels.warning_free_bytes, levels.critical_free_bytes)
            && warning <= critical
        {
            return Err(ConfigError::FreeThresholdOrder {
                resource,
                warning_free_bytes: warning,
                critical_free_bytes: critical,
                warning_key,
                critical_key,
            });
        }
    }
    Ok(())
}

/// Every per-disk threshold in range and in order.
fn check_disk_thresholds(config: &Config) -> Result<(), ConfigError> {
    for (mount_point, levels) in &config.thresholds.disks {
        let key = |field: &str| format!("thresholds.disks.{}.{field}", mount_point.display());
        let percent = &levels.percent;
        for (field, value) in [
            ("percent.warning_percent", percent.warning_percent),
            ("percent.critical_percent", percent.critical_percent),
        ] {
            check_percent(value).map_err(|problem| ConfigError::InvalidValue {
                key: key(field),
                value: value.to_string(),
                problem,
            })?;
        }
        if percent.warning_percent >= percent.critical_percent {
            return Err(ConfigError::DiskThresholdOrder {
                mount_point: mount_point.clone(),
                warning: format!("{}%", percent.warning_percent),
                critical: format!("{}%", percent.critical_percent),
                relation: "below",
            });
        }
        let free = &levels.free;
        for (field, value) in [
            ("free.warning_free_bytes", free.warning_free_bytes),
            ("free.critical_free_bytes", free.critical_free_bytes),
        ] {
            if let Some(value) = value {
                FREE_BYTES
                    .check(value)
                    .map_err(|problem| ConfigError::InvalidValue {
                        key: key(field),
                        value: value.to_string(),
                        problem,
                    })?;
            }
        }
        if let (Some(warning), Some(critical)) = (free.warning_free_bytes, free.critical_free_bytes)
            && warning <= critical
        {
            return Err(ConfigError::DiskThresholdOrder {
                mount_point: mount_point.clone(),
                warning: format!("{warning} free bytes"),
                critical: format!("{critical} free bytes"),
                relation: "above",
            });
        }
    }
    Ok(())
}
