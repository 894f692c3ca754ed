//! [`StewardBuilder`]: configuration in, a running [`Steward`] out.

use std::path::Path;
use std::time::Duration;

use steward_actors::config::{Config, Thresholds};
use steward_actors::cpu::QueueBound;
use steward_actors::tracker::Containment;

use crate::{Error, Steward};

/// Builds a [`Steward`]: every configuration field has a setter, and
/// [`from_env`](Self::from_env) lets `STEWARD_*` variables override them.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steward::Steward;
///
/// let steward = Steward::builder()
///     .cpu_workers(2)
///     .default_io_limit(4)
///     .drive_limit("/mnt/data", 8)
///     .shutdown_timeout(Duration::from_secs(2))
///     .start()?;
/// assert_eq!(steward.config().cpu_workers(), 2);
/// steward.shutdown_blocking()?;
/// # Ok::<(), steward::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct StewardBuilder {
    config: Config,
    from_env: bool,
    containment: Containment,
}

impl StewardBuilder {
    /// Replaces the whole configuration, e.g. one deserialized from a file.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Lets `STEWARD_*` environment variables override this builder's
    /// values when [`start`](Self::start) runs, whatever the order of calls:
    /// the environment is the operator's word and wins over code.
    #[allow(
        clippy::wrong_self_convention,
        reason = "the name the design gives this switch"
    )]
    pub fn from_env(mut self) -> Self {
        self.from_env = true;
        self
    }

    /// Worker threads of the CPU pool (default: available parallelism).
    pub fn cpu_workers(mut self, workers: usize) -> Self {
        self.config = self.config.with_cpu_workers(workers);
        self
    }

    /// Bounds the CPU jobs queued or running at once (default: unbounded).
    pub fn cpu_queue(mut self, bound: QueueBound) -> Self {
        self.config = self.config.with_cpu_queue(bound);
        self
    }

    /// IO limit of drives without a limit of their own (default 2).
    pub fn default_io_limit(mut self, limit: usize) -> Self {
        self.config = self.config.with_default_io_limit(limit);
        self
    }

    /// IO limit of the drive mounted at `mount_point`.
    pub fn drive_limit(mut self, mount_point: impl AsRef<Path>, limit: usize) -> Self {
        self.config = self.config.with_drive_limit(mount_point, limit);
        self
    }

    /// The monitor's sampling interval (default 5 s, at least 200 ms).
    pub fn monitor_interval(mut self, interval: Duration) -> Self {
        self.config = self.config.with_monitor_interval(interval);
        self
    }

    /// The bound on a whole shutdown (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config = self.config.with_shutdown_timeout(timeout);
        self
    }

    /// The monitor's warning and critical thresholds and hysteresis.
    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.config = self.config.with_thresholds(thresholds);
        self
    }

    /// How the tracker contains the processes it starts (default
    /// [`Containment::Auto`]: a cgroup v2 per process where the program can
    /// make them, process groups otherwise).
    pub fn tracker_containment(mut self, containment: Containment) -> Self {
        self.containment = containment;
        self
    }

    /// The configuration this builder would start with, environment applied
    /// and validated.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the bad variable or field and its value.
    pub fn build_config(&self) -> Result<Config, Error> {
        let config = if self.from_env {
            self.config.clone().apply_env(std::env::vars_os())?
        } else {
            self.config.clone()
        };
        config.validate()?;
        Ok(config)
    }

    /// Starts steward's actors.
    ///
    /// Inside an actix System (`#[actix_rt::main]`, actix-web) they join
    /// that System; anywhere else (`#[tokio::main]`, plain sync code) they
    /// run in a new System on a dedicated thread named `steward-system`,
    /// and this call blocks until that thread is ready (bounded by the
    /// shutdown timeout).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad configuration; [`Error::System`] when the
    /// system thread cannot be started; [`Error::Tracker`] when
    /// [`Containment::Cgroup`] was asked for and cannot be had.
    pub fn start(self) -> Result<Steward, Error> {
        Steward::launch(self.build_config()?, self.containment)
    }
}
