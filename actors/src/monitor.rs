//! The machine's health: periodic readings of CPU, memory, disks, load and
//! this process; warning and critical thresholds with hysteresis; alerts
//! when a level changes; availability and workload admission; on Linux,
//! pressure-stall (PSI) levels from the sampled stall counters and from
//! kernel triggers.
//!
//! - The [`MachineMonitor`] samples every `STEWARD_MONITOR_INTERVAL_MS`
//!   (default 5 s, at least 200 ms: sysinfo silently skips CPU refreshes
//!   closer together) on a thread of its own (`steward-monitor`), never on
//!   its arbiter. Every CPU figure is measured over a real interval: the
//!   first sample waits 200 ms for one.
//! - [`Monitor::snapshot`] reads the latest [`Reading`] from a shared
//!   cache: no mailbox hop. [`Monitor::refresh`] takes a fresh one.
//! - Disks are read as `df` reads them: one [`DiskReading`] per device
//!   (bind mounts folded, named by the shortest mount point), the used
//!   share `used / (used + available)`, the byte figures kept.
//! - Thresholds ([`Thresholds`]: percent used, or absolute free bytes, per
//!   disk where wanted) raise a level at once and clear it only a margin
//!   below (default 5 points) or after N consecutive samples below (default
//!   3): a value hovering at the line does not flap.
//!   [`Monitor::set_thresholds`] changes them on a running monitor.
//! - An [`Alert`] goes out only when a resource's level changes: to
//!   [`Monitor::subscribe`] receivers (tokio broadcast) and to actors
//!   through [`Monitor::subscribe_recipient`]. A disk that is unmounted
//!   while not healthy sends its clearing alert; one whose name changes
//!   (a shorter bind mount comes, or the one that named it goes) keeps
//!   its level under the new name, with no alert.
//! - Pressure: each [`PsiTrigger`] ("tasks stalled `stall` within
//!   `window`") is judged on the change of the `total` stall counters of
//!   `/proc/pressure/*` between samples, so a stall is seen within about
//!   one sample interval wherever those files can be read. Where they are
//!   writable too, the triggers are also registered with the kernel and
//!   one thread waits on them with `poll(2)`: with `CAP_SYS_RESOURCE` the
//!   kernel checks a trigger every tenth of its window (100 ms for the
//!   default 1 s windows); without it, it accepts only 2 s windows,
//!   checked every 2 s (the monitor rounds the windows up, keeping each
//!   stall share, and says so once). Whichever sees a stall first raises
//!   the level: one alert.
//! - The monitor stops when its last handle is dropped (or at
//!   [`Monitor::shutdown`]): its sampling and PSI threads end.
//!
//! # Examples
//!
//! ```
//! use steward_actors::monitor::{Monitor, WorkloadProfile};
//! use steward_actors::Config;
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::monitor::MonitorError> {
//! let monitor = Monitor::start_in(&actix::Arbiter::current(), &Config::default())?;
//! let mut alerts = monitor.subscribe();
//!
//! let reading = monitor.refresh().await?;
//! assert!(reading.memory.total_bytes > 0);
//! println!("memory {:.1}% used, cpu {:.1}%", reading.memory.used_percent(), reading.cpu.usage_percent);
//! assert!(monitor.snapshot().is_some()); // no mailbox hop
//!
//! let tiny = WorkloadProfile::new(1, 0.0, 0);
//! println!("{:?} {:?}", monitor.availability().overall, monitor.admits(&tiny));
//! while let Ok(alert) = alerts.try_recv() {
//!     println!("{alert}");
//! }
//! monitor.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! [`Thresholds`]: crate::config::Thresholds

mod actor;
mod alert;
mod availability;
mod disks;
mod error;
mod evaluator;
mod messages;
mod pressure;
mod profile;
mod psi;
mod readings;
mod sampler;
mod sampling;
mod stalls;
mod thresholds;
mod trigger;

use std::sync::Arc;
use std::time::SystemTime;

use actix::{Actor, Addr, ArbiterHandle, AsyncContext, Recipient};
use tokio::sync::{broadcast, watch};

pub use actor::MachineMonitor;
pub use alert::{Alert, Level, MachineResource, Measure};
pub use availability::{Availability, ResourceLevel};
pub use error::MonitorError;
pub use messages::{PressureStall, Refresh, SetThresholds, SubscribeAlerts};
pub use pressure::{Pressure, PressureKind, StallAverages, StallLine};
pub use profile::{Admission, DeferReason, RejectReason, WorkloadProfile};
pub use readings::{
    CpuReading, DiskReading, LoadAverage, MemoryReading, PressureReadings, ProcessReading, Reading,
    SwapReading,
};
pub use sampler::Sampler;
pub use trigger::{MAX_WINDOW, MIN_WINDOW, PsiStatus, PsiTrigger};

use crate::config::Thresholds;
use crate::{Config, Shutdown};
use actor::Outlets;
use evaluator::Evaluator;
use sampling::SamplingThread;

/// Alerts a slow [`subscribe`](Monitor::subscribe) receiver may fall
/// behind by before it misses some (it then gets `Lagged`).
pub const ALERT_CAPACITY: usize = 64;

/// What the monitor watches besides the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorOptions {
    /// The PSI triggers to register (default [`PsiTrigger::defaults`]);
    /// empty for none.
    pub psi_triggers: Vec<PsiTrigger>,
}

impl Default for MonitorOptions {
    fn default() -> Self {
        Self {
            psi_triggers: PsiTrigger::defaults(),
        }
    }
}

/// The monitor's handle: `Clone + Send + Sync`, cheap to clone. When the
/// last clone is dropped, the monitor stops (as at
/// [`shutdown`](Self::shutdown)).
#[derive(Clone)]
pub struct Monitor {
    address: Addr<MachineMonitor>,
    readings: watch::Receiver<Option<Arc<Reading>>>,
    availability: watch::Receiver<Arc<Availability>>,
    alerts: broadcast::WeakSender<Alert>,
    psi: Arc<PsiStatus>,
    /// The sampling thread's id, for tests that watch it end.
    #[cfg_attr(not(test), allow(dead_code))]
    sampling_thread: Arc<std::sync::atomic::AtomicI32>,
    _stopper: Arc<StopOnDrop>,
}

/// Stops the monitor when the last handle goes.
struct StopOnDrop(Addr<MachineMonitor>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Lost only when the monitor is already gone: nothing to stop then.
        self.0.do_send(Shutdown);
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("psi_triggers", &self.psi.active.len())
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Starts the monitor on `arbiter` with [`MonitorOptions::default`].
    /// The first reading is taken at once, on the monitor's thread, and is
    /// in about 200 ms (one CPU interval).
    ///
    /// # Errors
    ///
    /// [`MonitorError::Config`] when `config` does not validate (an
    /// interval below 200 ms, thresholds out of order);
    /// [`MonitorError::Sample`] when the sampling thread cannot start.
    pub fn start_in(arbiter: &ArbiterHandle, config: &Config) -> Result<Self, MonitorError> {
        Self::start_with(arbiter, config, MonitorOptions::default())
    }

    /// Starts the monitor on `arbiter` with `options`.
    ///
    /// # Errors
    ///
    /// As [`start_in`](Self::start_in).
    pub fn start_with(
        arbiter: &ArbiterHandle,
        config: &Config,
        options: MonitorOptions,
    ) -> Result<Self, MonitorError> {
        config.validate()?;
        let sampler = SamplingThread::spawn()?;
        let sampling_thread = Arc::clone(&sampler.tid);
        // Registering is a few small writes to /proc: done here, so the
        // handle knows at once which triggers are armed.
        let registered = psi::register(&options.psi_triggers);
        let psi = Arc::new(registered.status.clone());
        let interval = config.monitor_interval();
        let mut evaluator = Evaluator::new(config.thresholds().clone(), interval);
        evaluator.watch_pressure(psi.active.iter().map(|trigger| trigger.kind));
        evaluator.sample_pressure(trigger::sampleable(&options.psi_triggers));
        let (readings, readings_rx) = watch::channel(None);
        let (availability, availability_rx) = watch::channel(Arc::new(evaluator.availability()));
        let (alerts, _) = broadcast::channel(ALERT_CAPACITY);
        let weak_alerts = alerts.downgrade();
        let outlets = Outlets {
            readings,
            availability,
            alerts,
        };
        let address = MachineMonitor::start_in_arbiter(arbiter, move |ctx| {
            let address = ctx.address();
            let watcher = psi::watch_triggers(registered, move |trigger, at| {
                address.do_send(PressureStall {
                    trigger,
                    at,
                    taken_at: SystemTime::now(),
                });
            });
            MachineMonitor::new(sampler, evaluator, outlets, interval, watcher)
        });
        Ok(Self {
            _stopper: Arc::new(StopOnDrop(address.clone())),
            address,
            readings: readings_rx,
            availability: availability_rx,
            alerts: weak_alerts,
            psi,
            sampling_thread,
        })
    }

    /// The actor's address, for sending its messages directly.
    #[must_use]
    pub fn address(&self) -> &Addr<MachineMonitor> {
        &self.address
    }

    /// The latest reading, from the shared cache: no mailbox hop. `None`
    /// only until the first sample (taken at start, in about 200 ms) is in.
    #[must_use]
    pub fn snapshot(&self) -> Option<Arc<Reading>> {
        self.readings.borrow().clone()
    }

    /// A receiver of every published reading, for awaiting the next one
    /// (`changed().await`).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{monitor::Monitor, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let monitor = Monitor::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let mut readings = monitor.readings();
    /// let first = readings.wait_for(Option::is_some).await?.clone();
    /// assert_eq!(first.map(|r| r.sequence), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn readings(&self) -> watch::Receiver<Option<Arc<Reading>>> {
        self.readings.clone()
    }

    /// Takes a fresh reading now and returns it once it is published.
    ///
    /// CPU figures come from the interval since the previous sample, and
    /// that interval is at least 200 ms (sysinfo skips CPU refreshes
    /// closer together): a refresh sooner than 200 ms after the previous
    /// sample waits out the rest of those 200 ms, so its figures are
    /// measured, never a repeat. A refresh while a sample is in flight
    /// joins that sample if it started after the last reading published,
    /// so concurrent refreshes share one sample.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{monitor::Monitor, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::monitor::MonitorError> {
    /// # let monitor = Monitor::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let reading = monitor.refresh().await?;
    /// assert!(reading.disks.iter().all(|disk| disk.available_bytes <= disk.total_bytes));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] after shutdown; [`MonitorError::Sample`]
    /// if sampling panicked or no reading came within 10 s (or twice the
    /// interval, if longer): a `statvfs` stuck on a dead file system.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future only stops waiting (including the wait for the
    /// rest of the 200 ms): the sample is still taken and published.
    pub async fn refresh(&self) -> Result<Arc<Reading>, MonitorError> {
        crate::sync::try_ask(&self.address, Refresh, || MonitorError::Closed).await
    }

    /// A receiver of every later alert. It sees `Closed` once the monitor
    /// is shut down, and `Lagged` if it falls more than
    /// [`ALERT_CAPACITY`] alerts behind.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Alert> {
        match self.alerts.upgrade() {
            Some(alerts) => alerts.subscribe(),
            // Shut down: a receiver that reports `Closed` at once.
            None => broadcast::channel(1).1,
        }
    }

    /// Changes the thresholds of the running monitor. They are validated
    /// as the configuration's are, and applied from the next sample: each
    /// resource keeps its level and is judged against the new thresholds
    /// with the same hysteresis, so a level changes (and alerts, once)
    /// only when the readings cross them; a mere re-evaluation alerts
    /// nothing. Per-disk thresholds go by any of the disk's mount points.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{monitor::Monitor, Config};
    /// use steward_actors::config::{Levels, Thresholds};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::monitor::MonitorError> {
    /// # let monitor = Monitor::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let strict = Thresholds { memory: Levels::new(60.0, 75.0), ..Thresholds::default() };
    /// monitor.set_thresholds(strict).await?;
    ///
    /// let backwards = Thresholds { cpu: Levels::new(90.0, 80.0), ..Thresholds::default() };
    /// assert!(monitor.set_thresholds(backwards).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MonitorError::Config`] naming the threshold that is out of range
    /// or out of order (nothing changes then); [`MonitorError::Closed`]
    /// after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not change the thresholds.
    pub async fn set_thresholds(&self, thresholds: Thresholds) -> Result<(), MonitorError> {
        Config::default()
            .with_thresholds(thresholds.clone())
            .validate()?;
        crate::sync::ask(&self.address, SetThresholds(thresholds), || {
            MonitorError::Closed
        })
        .await
    }

    /// Sends every later alert to `recipient` (an actor's address), until
    /// it disconnects.
    ///
    /// # Examples
    ///
    /// ```
    /// use actix::prelude::*;
    /// use steward_actors::monitor::{Alert, Monitor};
    ///
    /// struct Pager;
    /// impl Actor for Pager { type Context = Context<Self>; }
    /// impl Handler<Alert> for Pager {
    ///     type Result = ();
    ///     fn handle(&mut self, alert: Alert, _: &mut Context<Self>) { println!("page: {alert}"); }
    /// }
    ///
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::monitor::MonitorError> {
    /// # let monitor = Monitor::start_in(&Arbiter::current(), &steward_actors::Config::default())?;
    /// monitor.subscribe_recipient(Pager.start().recipient()).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`MonitorError::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not subscribe the recipient.
    pub async fn subscribe_recipient(
        &self,
        recipient: Recipient<Alert>,
    ) -> Result<(), MonitorError> {
        crate::sync::ask(&self.address, SubscribeAlerts(recipient), || {
            MonitorError::Closed
        })
        .await
    }

    /// Each resource's level and the worst of them, from the shared
    /// cache: no mailbox hop.
    #[must_use]
    pub fn availability(&self) -> Arc<Availability> {
        Arc::clone(&self.availability.borrow())
    }

    /// Whether a job with `profile` may start now, judged on the cached
    /// reading and levels: no mailbox hop. Rejected when it could never
    /// fit (more memory than the machine has, more than all the cores,
    /// more free space than the disk holds); deferred when there is no
    /// reading yet, a resource it needs (or any pressure) is critical, or
    /// the memory available, CPU idle or disk space left is short now.
    #[must_use]
    pub fn admits(&self, profile: &WorkloadProfile) -> Admission {
        let reading = self.snapshot();
        profile::admit(profile, reading.as_deref(), &self.availability())
    }

    /// Which PSI triggers are armed, and why the others are not.
    #[must_use]
    pub fn psi(&self) -> &PsiStatus {
        &self.psi
    }

    /// Stops the monitor: no more samples; alert receivers see `Closed`;
    /// the sampling and PSI threads end. [`snapshot`](Self::snapshot)
    /// keeps returning the last reading. Dropping the last handle does the
    /// same.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::monitor::{Monitor, MonitorError};
    /// # use steward_actors::Config;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), MonitorError> {
    /// let monitor = Monitor::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// monitor.refresh().await?;
    /// monitor.shutdown().await;
    /// assert!(matches!(monitor.refresh().await, Err(MonitorError::Closed)));
    /// assert!(monitor.snapshot().is_some(), "the last reading stays");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not stop the monitor; calling again
    /// finishes the job.
    pub async fn shutdown(&self) {
        // A monitor already gone has stopped.
        let _ = self.address.send(Shutdown).await;
    }
}

#[cfg(test)]
mod tests;
