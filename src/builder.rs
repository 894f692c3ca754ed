//! [`StewardBuilder`]: configuration in, a running [`Steward`] out.

use std::path::Path;
use std::time::Duration;

use steward_actors::config::{Config, Thresholds};
use steward_actors::cpu::QueueBound;
use steward_actors::monitor::MonitorOptions;
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
    monitor: MonitorOptions,
    #[cfg(feature = "observe")]
    observe: Option<(std::net::SocketAddr, bool)>,
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

    /// What the monitor watches besides the configuration (default: the
    /// default PSI triggers). A short-lived program that does not use
    /// pressure alerts can register none: each trigger costs the kernel
    /// about 10 ms to take down when the program exits.
    pub fn monitor_options(mut self, options: MonitorOptions) -> Self {
        self.monitor = options;
        self
    }

    /// The monitor's warning and critical thresholds and hysteresis.
    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.config = self.config.with_thresholds(thresholds);
        self
    }

    /// Serves `/metrics`, `/status` and the dashboard on `addr`, a loopback
    /// address, once started (see [`observe`](crate::observe));
    /// [`Steward::observed_addrs`] tells the address bound (port 0 picks
    /// one).
    #[cfg(feature = "observe")]
    pub fn observe(mut self, addr: impl Into<std::net::SocketAddr>) -> Self {
        self.observe = Some((addr.into(), false));
        self
    }

    /// [`observe`](Self::observe) on any address, loopback or not. The
    /// endpoint has no authentication: serve beyond this host only where
    /// the network is trusted or a firewall keeps others out.
    #[cfg(feature = "observe")]
    pub fn observe_public(mut self, addr: impl Into<std::net::SocketAddr>) -> Self {
        self.observe = Some((addr.into(), true));
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
    /// With [`observe`](Self::observe), the endpoint is listening when
    /// this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a bad configuration; [`Error::System`] when the
    /// system thread cannot be started; [`Error::Observe`] when the
    /// endpoint cannot start (steward is shut down again first);
    /// [`Error::Tracker`] when [`Containment::Cgroup`] was asked for and
    /// cannot be had.
    pub fn start(self) -> Result<Steward, Error> {
        #[cfg(feature = "observe")]
        if let Some((addr, public)) = self.observe {
            // Refuse a public address before starting anything.
            crate::observe::check_exposure(addr, public)?;
        }
        let steward = Steward::launch(self.build_config()?, self.monitor, self.containment)?;
        #[cfg(feature = "observe")]
        if let Some((addr, public)) = self.observe
            && let Err(err) = steward.start_endpoint(addr, public)
        {
            // The only handle: dropping it shuts steward down.
            drop(steward);
            return Err(err);
        }
        Ok(steward)
    }
}
