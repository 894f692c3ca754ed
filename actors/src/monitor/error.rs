//! The monitor's error.

use std::path::PathBuf;
use std::sync::Arc;

use crate::ConfigError;

/// Why a monitor operation failed; each variant names what failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The monitor was shut down.
    #[error("the monitor is shut down")]
    Closed,
    /// Sampling the system panicked (inside sysinfo); the next sample
    /// tries again.
    #[error("sampling the system failed: {message}")]
    Sample {
        /// The panic's message.
        message: String,
    },
    /// A system file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A system file's content is not in the expected format.
    #[error("cannot parse {what}: {text:?}")]
    Parse {
        /// What was parsed.
        what: &'static str,
        /// The text refused.
        text: String,
    },
    /// A PSI trigger the kernel would refuse.
    #[error("invalid PSI trigger {trigger}: {problem}")]
    InvalidTrigger {
        /// The trigger.
        trigger: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The kernel refused a PSI trigger (or the file is missing or read-only).
    #[error("cannot register PSI trigger {trigger:?} on {path}")]
    RegisterTrigger {
        /// The trigger, as written to the file.
        trigger: String,
        /// The pressure file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A workload profile with a negative or non-finite figure.
    #[error("invalid workload profile: {field} = {value} must be a finite number, at least 0")]
    InvalidProfile {
        /// The figure.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// The configuration given to the monitor is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
