//! The configuration error and what was wrong with a value.

use std::fmt;

/// A configuration value that steward refuses, naming where it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable or field holds a value outside its rule.
    #[error("{key}={value:?}: {problem}")]
    InvalidValue {
        /// The environment variable (`STEWARD_CPU_WORKERS`) or field
        /// (`cpu_workers`) that holds the value.
        key: String,
        /// The value as given (non-UTF-8 bytes shown lossily).
        value: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// A `STEWARD_*` variable steward does not know, most likely a typo.
    #[error("unknown variable {var}: steward reads {known}")]
    UnknownVariable {
        /// The variable's name (non-UTF-8 bytes shown lossily).
        var: String,
        /// The variables steward reads, for the message.
        known: &'static str,
    },
    /// A `STEWARD_DRIVE_<ID>_IO` variable whose `<ID>` is not a drive id.
    #[error("{var}: {problem}")]
    InvalidDriveId {
        /// The variable's name.
        var: String,
        /// What is wrong with the id.
        problem: &'static str,
    },
    /// A warning threshold at or above its critical threshold.
    #[error(
        "{resource} warning threshold {warning_percent}% must be below its critical threshold \
         {critical_percent}% (see {warning_key} and {critical_key})"
    )]
    ThresholdOrder {
        /// `memory`, `cpu` or `disk`.
        resource: &'static str,
        /// The warning level.
        warning_percent: f64,
        /// The critical level.
        critical_percent: f64,
        /// Where the warning level is set.
        warning_key: &'static str,
        /// Where the critical level is set.
        critical_key: &'static str,
    },
    /// A free-bytes warning threshold at or below its critical threshold
    /// (a warning must come first, with more bytes free).
    #[error(
        "{resource} warning threshold {warning_free_bytes} free bytes must be above its critical \
         threshold {critical_free_bytes} free bytes (see {warning_key} and {critical_key})"
    )]
    FreeThresholdOrder {
        /// `memory` or `disk`.
        resource: &'static str,
        /// The warning level.
        warning_free_bytes: u64,
        /// The critical level.
        critical_free_bytes: u64,
        /// Where the warning level is set.
        warning_key: &'static str,
        /// Where the critical level is set.
        critical_key: &'static str,
    },
    /// A per-disk threshold out of order (`thresholds.disks`).
    #[error(
        "disk {mount_point} warning threshold {warning} must be {relation} its critical threshold \
         {critical} (see thresholds.disks)"
    )]
    DiskThresholdOrder {
        /// The disk's mount point.
        mount_point: std::path::PathBuf,
        /// The warning level, with its unit.
        warning: String,
        /// The critical level, with its unit.
        critical: String,
        /// `below` for percent used, `above` for free bytes.
        relation: &'static str,
    },
}

/// What is wrong with a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The variable is set but empty.
    Empty,
    /// The value is not valid UTF-8.
    NotUnicode,
    /// The value is not a number of the expected kind.
    NotANumber {
        /// What was expected, e.g. "a whole number".
        expected: &'static str,
    },
    /// The value is negative.
    Negative,
    /// The value is zero where zero means nothing.
    Zero,
    /// The value is below the setting's minimum.
    BelowMinimum {
        /// The smallest accepted value.
        min: u64,
    },
    /// The value is above the setting's maximum (or overflows).
    AboveMaximum {
        /// The largest accepted value.
        max: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => f.write_str("must not be empty"),
            Problem::NotUnicode => f.write_str("must be valid UTF-8"),
            Problem::NotANumber { expected } => write!(f, "must be {expected}"),
            Problem::Negative => f.write_str("must not be negative"),
            Problem::Zero => f.write_str("must not be zero"),
            Problem::BelowMinimum { min } => write!(f, "must be at least {min}"),
            Problem::AboveMaximum { max } => write!(f, "must be at most {max}"),
        }
    }
}
