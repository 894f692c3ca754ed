//! [`StewardStatus`]: every actor's status in one serde value, and the
//! figures recorded as metrics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use actix::ArbiterHandle;
use serde::Serialize;
use steward_actors::cpu::CpuStats;
use steward_actors::drive::{DriveStats, MountTable};
use steward_actors::lifecycle::State;
use steward_actors::monitor::{Alert, Availability, PsiStatus, Reading};
use steward_actors::observe;
use steward_actors::pool::PoolStatus;
use steward_actors::registry::ServiceInfo;
use steward_actors::supervisor::{ChildStatus, SupervisorBuilder, SupervisorHandle};
use steward_actors::tracker::TrackerStatus;
use tokio::sync::broadcast::error::RecvError;

use super::Actors;
use crate::Steward;

/// How many of the latest alerts a status lists.
pub const RECENT_ALERTS: usize = 64;

/// How long a status waits for an actor that answers through its
/// mailbox (the tracker) before leaving its part out.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// Every actor's status, as `/status` serves it: the same serde types
/// the handles return.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StewardStatus {
    /// The monitor's latest reading (`None` before the first sample).
    pub reading: Option<Reading>,
    /// Each watched resource's level.
    pub availability: Availability,
    /// The latest alerts, oldest first, at most [`RECENT_ALERTS`].
    pub alerts: Vec<Alert>,
    /// Which PSI triggers are armed.
    pub psi: PsiStatus,
    /// The CPU pool's counters.
    pub cpu: CpuStats,
    /// Every drive with an IO limiter so far.
    pub drives: Vec<DriveStats>,
    /// The registry's services.
    pub services: Vec<ServiceInfo>,
    /// What the tracker holds (`None` if it did not answer within a
    /// second, or is shut down).
    pub tracker: Option<TrackerStatus>,
    /// Every pool started or registered through steward.
    pub pools: Vec<PoolStatus>,
    /// Every supervisor started through [`Steward::start_supervisor`].
    pub supervisors: Vec<SupervisorStatus>,
    /// Every managed resource started or added through
    /// [`Steward::start_resource`] and [`Steward::add_resource`].
    pub resources: Vec<super::ManagedStatus>,
    /// What the program published with [`Steward::publish_status`], by
    /// name (`jobs` for `steward run`).
    pub sections: BTreeMap<String, serde_json::Value>,
}

/// One supervisor in [`StewardStatus`]: its state and its children as
/// [`SupervisorHandle::children`] reports them.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SupervisorStatus {
    /// Its name.
    pub name: String,
    /// `Ready`, `Degraded` while restarts are recent, `Error` once it
    /// escalated, `Closed` once stopped.
    pub state: State,
    /// Its children in start order (empty once it has stopped, or if it
    /// did not answer within a second).
    pub children: Vec<ChildStatus>,
}

/// The supervisors steward started, stopped at shutdown.
#[derive(Debug, Clone, Default)]
pub(crate) struct Supervisors(Arc<Mutex<Vec<SupervisorHandle>>>);

impl Supervisors {
    fn handles(&self) -> Vec<SupervisorHandle> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Each supervisor's status, asked of all at once.
    async fn statuses(&self) -> Vec<SupervisorStatus> {
        let asks = self.handles().into_iter().map(|handle| async move {
            let children = tokio::time::timeout(ASK_TIMEOUT, handle.children())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            SupervisorStatus {
                name: handle.name().to_owned(),
                state: handle.state(),
                children,
            }
        });
        futures::future::join_all(asks).await
    }

    /// Stops every supervisor, newest first (each stops its children
    /// newest first).
    pub(crate) async fn stop_all(&self) {
        for handle in self.handles().iter().rev() {
            // `stop` never fails today; a stopped supervisor is stopped.
            handle.stop().await;
        }
    }
}

/// The latest alerts, kept by a task that follows the monitor.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertLog(Arc<Mutex<VecDeque<Alert>>>);

impl AlertLog {
    /// Follows `monitor`'s alerts on `arbiter` until it shuts down:
    /// counts each in `steward_alerts_total` and keeps the latest.
    pub(crate) fn follow(&self, monitor: &steward_actors::Monitor, arbiter: &ArbiterHandle) {
        let mut alerts = monitor.subscribe();
        let log = self.clone();
        arbiter.spawn(async move {
            loop {
                match alerts.recv().await {
                    Ok(alert) => {
                        observe::record_alert(&alert);
                        log.push(alert);
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(target: "steward", missed, "alerts missed by the alert log");
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }

    fn push(&self, alert: Alert) {
        let mut log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if log.len() == RECENT_ALERTS {
            log.pop_front();
        }
        log.push_back(alert);
    }

    fn recent(&self) -> Vec<Alert> {
        let log = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        log.iter().cloned().collect()
    }
}

#[cfg(feature = "observe")]
/// How many readings the dashboard's charts go back.
const HISTORY: usize = 120;

#[cfg(feature = "observe")]
/// One reading, as the dashboard's charts need it.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct HistoryPoint {
    sequence: u64,
    cpu_percent: f64,
    memory_used_percent: f64,
    load_one: f64,
    rss_bytes: u64,
}

#[cfg(feature = "observe")]
/// The latest readings in short, kept by a task that follows the
/// monitor, so that a freshly opened dashboard has charts at once.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReadingHistory(Arc<Mutex<VecDeque<HistoryPoint>>>);

#[cfg(feature = "observe")]
impl ReadingHistory {
    /// Follows `monitor`'s readings on `arbiter` until it shuts down.
    pub(crate) fn follow(&self, monitor: &steward_actors::Monitor, arbiter: &ArbiterHandle) {
        let mut readings = monitor.readings();
        let history = self.clone();
        arbiter.spawn(async move {
            // Ends when the monitor is gone and its sender with it.
            while readings.changed().await.is_ok() {
                let reading = readings.borrow_and_update().clone();
                if let Some(reading) = reading {
                    history.push(&reading);
                }
            }
        });
    }

    fn push(&self, reading: &Reading) {
        let point = HistoryPoint {
            sequence: reading.sequence,
            cpu_percent: reading.cpu.usage_percent,
            memory_used_percent: reading.memory.used_percent(),
            load_one: reading.load.one,
            rss_bytes: reading.process.rss_bytes,
        };
        let mut history = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(point);
    }

    /// The points kept, oldest first.
    pub(crate) fn points(&self) -> Vec<HistoryPoint> {
        let history = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        history.iter().copied().collect()
    }
}

/// Reads one published section.
type SectionReader = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What the program publishes beside the actors' statuses, by name.
#[derive(Clone, Default)]
pub(crate) struct Sections(Arc<RwLock<BTreeMap<String, SectionReader>>>);

impl std::fmt::Debug for Sections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sections = self.0.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_list().entries(sections.keys()).finish()
    }
}

impl Sections {
    fn read(&self) -> BTreeMap<String, serde_json::Value> {
        // Clone the readers out so that none runs under the lock.
        let readers: Vec<(String, SectionReader)> = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, read)| (name.clone(), Arc::clone(read)))
            .collect();
        readers
            .into_iter()
            .map(|(name, read)| (name, read()))
            .collect()
    }
}

impl Actors {
    /// The latest readings in short, for the dashboard's charts.
    #[cfg(feature = "observe")]
    pub(crate) fn history(&self) -> Vec<HistoryPoint> {
        self.history.points()
    }

    /// Every actor's status now.
    pub(crate) async fn status(&self) -> StewardStatus {
        let (tracker, supervisors, resources) = futures::join!(
            self.tracker_status(),
            self.supervisors.statuses(),
            self.resources.statuses()
        );
        StewardStatus {
            reading: self.monitor.snapshot().map(|reading| (*reading).clone()),
            availability: (*self.monitor.availability()).clone(),
            alerts: self.alerts.recent(),
            psi: self.monitor.psi().clone(),
            cpu: self.cpu.stats(),
            drives: self.drives.stats(),
            services: self.registry.services(),
            tracker,
            pools: self.pools.statuses(),
            supervisors,
            resources,
            sections: self.sections.read(),
        }
    }

    /// The tracker's status, unless it does not answer within a second.
    async fn tracker_status(&self) -> Option<TrackerStatus> {
        tokio::time::timeout(ASK_TIMEOUT, self.tracker.status())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// Records every figure read from a status into the installed
    /// `metrics` recorder.
    pub(crate) async fn record_metrics(&self) {
        observe::describe();
        if let Some(reading) = self.monitor.snapshot() {
            // Without the mount table, disks are recorded without their
            // device rather than not at all.
            let mounts = MountTable::read().ok();
            observe::record_reading(&reading, mounts.as_ref());
        }
        observe::record_availability(&self.monitor.availability());
        observe::record_cpu(&self.cpu.stats());
        observe::record_drives(&self.drives.stats());
        observe::record_services(&self.registry.services());
        observe::record_pools(&self.pools.statuses());
        let figures = self.resources.figures();
        observe::record_resources(figures.iter().map(|(state, stats)| (*state, stats)));
        // Counts, not the status: that reads every process's cgroup files.
        observe::record_tracker(&self.tracker.counts());
        let supervisors = self.supervisors.statuses().await;
        observe::record_supervisors(
            supervisors
                .iter()
                .map(|s| (s.name.as_str(), s.state, s.children.as_slice())),
        );
    }
}

impl Steward {
    /// Every actor's status now, as `/status` serves it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().cpu_workers(2).start()?;
    /// let status = steward.status().await;
    /// assert_eq!(status.cpu.workers, 2);
    /// assert!(status.tracker.is_some());
    /// # steward.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn status(&self) -> StewardStatus {
        self.inner.actors.status().await
    }

    /// Records steward's current figures (every metric read from a
    /// status: memory, CPU pool, drives, pools...) into the installed
    /// [`metrics`](https://docs.rs/metrics) recorder, with their help
    /// texts. The `/metrics` endpoint does this before each scrape; a
    /// program with an exporter of its own calls it on its own schedule.
    /// With no recorder installed it costs a few status reads.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// // With no recorder installed, the figures go nowhere.
    /// steward.record_metrics().await;
    /// # steward.shutdown().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped call has recorded some figures, not others.
    pub async fn record_metrics(&self) {
        self.inner.actors.record_metrics().await;
    }

    /// Starts a supervisor on steward's arbiter, shows it in the status,
    /// the metrics and the dashboard's supervision tree, and stops it at
    /// shutdown, before anything its children may use. Steward keeps a
    /// handle: the supervisor runs until shutdown or
    /// [`SupervisorHandle::stop`], even when the returned handle is
    /// dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use steward::supervisor::{ChildSpec, Supervisor};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// let app = steward
    ///     .start_supervisor(Supervisor::builder("app").child(ChildSpec::task(
    ///         "poller",
    ///         |mut stop| async move {
    ///             stop.requested().await;
    ///             Ok(())
    ///         },
    ///     )))
    ///     .await?;
    /// let status = steward.status().await;
    /// assert_eq!(status.supervisors[0].name, "app");
    /// assert_eq!(status.supervisors[0].children[0].id, "poller");
    /// steward.shutdown().await?;
    /// assert!(app.children().await.is_err()); // stopped
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Supervisor`](crate::Error::Supervisor) as
    /// [`SupervisorBuilder::start_in`].
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the supervisor started but not
    /// known to steward (not stopped at shutdown; it stops when its last
    /// handle is dropped).
    pub async fn start_supervisor(
        &self,
        builder: SupervisorBuilder,
    ) -> Result<SupervisorHandle, crate::Error> {
        let handle = builder.start_in(&self.inner.arbiter).await?;
        self.inner
            .actors
            .supervisors
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(handle.clone());
        Ok(handle)
    }

    /// Publishes a section of `/status` (and of the dashboard): `read`
    /// runs on each status read and its value appears under `name` in
    /// [`StewardStatus::sections`]. A later call with the same name
    /// replaces the section. `steward run` publishes `jobs`, which the
    /// dashboard shows as its jobs panel (`total`, `running`, `done`,
    /// `failed`, `eta_seconds`).
    ///
    /// `read` should be quick (it runs on each request) and must not call
    /// back into this status.
    pub fn publish_status<F>(&self, name: impl Into<String>, read: F)
    where
        F: Fn() -> serde_json::Value + Send + Sync + 'static,
    {
        self.inner
            .actors
            .sections
            .0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.into(), Arc::new(read));
    }
}
