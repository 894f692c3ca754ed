//! Linux pressure stall information (PSI): the `/proc/pressure/*` format,
//! and triggers that wake a thread when a stall passes a threshold.
//!
//! A trigger is registered by writing `some <stall µs> <window µs>` (or
//! `full ...`) to the opened file; the kernel then flags the file with
//! `POLLPRI` at most once per window while tasks stalled at least that
//! long within the window. One thread waits on every trigger with
//! `poll(2)`: it sleeps until an event or until the monitor drops its end
//! of a pipe, so it costs nothing while nothing happens.
//!
//! Without `CAP_SYS_RESOURCE`, Linux 5.19+ accepts only windows that are
//! multiples of 2 s; a refused trigger is retried with its window rounded
//! up and its stall share kept ([`PsiStatus::active`] shows what was
//! armed). The monitor also judges every trigger, as configured, on the
//! sampled `total` counters (see `stalls`), so a coarse kernel window
//! does not delay detection beyond about one sample interval.

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};

use super::alert::Level;
use super::error::MonitorError;
use crate::priority_watch::{self, PriorityWatch};

/// The shortest trigger window the kernel accepts.
pub const MIN_WINDOW: Duration = Duration::from_millis(500);
/// The longest trigger window the kernel accepts.
pub const MAX_WINDOW: Duration = Duration::from_secs(10);

/// What tasks stalled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressureKind {
    /// Memory: reclaim, swap-in, refaults.
    Memory,
    /// CPU: runnable but not running.
    Cpu,
    /// IO: waiting on block devices.
    Io,
}

impl PressureKind {
    /// Every kind.
    pub const ALL: [PressureKind; 3] = [PressureKind::Memory, PressureKind::Cpu, PressureKind::Io];

    /// `/proc/pressure/<kind>`.
    #[must_use]
    pub fn path(self) -> PathBuf {
        PathBuf::from(format!("/proc/pressure/{self}"))
    }
}

impl fmt::Display for PressureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PressureKind::Memory => "memory",
            PressureKind::Cpu => "cpu",
            PressureKind::Io => "io",
        })
    }
}

/// Which tasks a line counts: `some` (at least one stalled) or `full`
/// (all non-idle tasks stalled at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StallLine {
    /// At least one task stalled.
    Some,
    /// Every non-idle task stalled at once.
    Full,
}

impl fmt::Display for StallLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StallLine::Some => "some",
            StallLine::Full => "full",
        })
    }
}

/// One line of a pressure file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StallAverages {
    /// Share of the last 10 s stalled.
    pub avg10_percent: f64,
    /// Share of the last 60 s stalled.
    pub avg60_percent: f64,
    /// Share of the last 300 s stalled.
    pub avg300_percent: f64,
    /// Stall time since boot.
    pub total_us: u64,
}

/// One `/proc/pressure/<kind>` file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    /// The `some` line.
    pub some: StallAverages,
    /// The `full` line (absent for CPU before Linux 5.13).
    pub full: Option<StallAverages>,
}

impl Pressure {
    /// Parses the content of a pressure file:
    ///
    /// ```text
    /// some avg10=0.00 avg60=0.00 avg300=0.00 total=0
    /// full avg10=0.00 avg60=0.00 avg300=0.00 total=0
    /// ```
    ///
    /// # Examples
    ///
    /// ```
    /// use steward_actors::monitor::Pressure;
    ///
    /// let pressure = Pressure::parse("some avg10=1.50 avg60=0.20 avg300=0.00 total=12345\n")?;
    /// assert_eq!(pressure.some.avg10_percent, 1.5);
    /// assert_eq!(pressure.some.total_us, 12345);
    /// assert!(pressure.full.is_none());
    /// # Ok::<(), steward_actors::monitor::MonitorError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`MonitorError::Parse`] with the offending line: no `some` line, an
    /// unknown line, a field missing or not a number.
    pub fn parse(text: &str) -> Result<Self, MonitorError> {
        let mut some = None;
        let mut full = None;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let bad = || MonitorError::Parse {
                what: "pressure line",
                text: line.to_owned(),
            };
            let mut words = line.split_ascii_whitespace();
            let slot = match words.next() {
                Some("some") => &mut some,
                Some("full") => &mut full,
                _ => return Err(bad()),
            };
            let mut averages = StallAverages::default();
            let mut seen = 0_u8;
            for word in words {
                let (key, value) = word.split_once('=').ok_or_else(bad)?;
                match key {
                    "avg10" => averages.avg10_percent = value.parse().map_err(|_| bad())?,
                    "avg60" => averages.avg60_percent = value.parse().map_err(|_| bad())?,
                    "avg300" => averages.avg300_percent = value.parse().map_err(|_| bad())?,
                    "total" => averages.total_us = value.parse().map_err(|_| bad())?,
                    // Fields a later kernel may add are not ours to refuse.
                    _ => continue,
                }
                seen += 1;
            }
            if seen != 4 {
                return Err(bad());
            }
            *slot = Some(averages);
        }
        let some = some.ok_or_else(|| MonitorError::Parse {
            what: "pressure file without a some line",
            text: text.to_owned(),
        })?;
        Ok(Self { some, full })
    }

    /// Reads and parses `/proc/pressure/<kind>`.
    ///
    /// # Errors
    ///
    /// [`MonitorError::Read`] naming the file (missing before Linux 4.20
    /// or without `CONFIG_PSI`); [`MonitorError::Parse`].
    pub fn read(kind: PressureKind) -> Result<Self, MonitorError> {
        let path = kind.path();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text),
            Err(source) => Err(MonitorError::Read {
                path,
                source: source.into(),
            }),
        }
    }
}

/// A PSI trigger: raise `level` for `kind` when tasks stalled `stall` or
/// longer within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PsiTrigger {
    /// The pressure file.
    pub kind: PressureKind,
    /// `some` or `full`.
    pub line: StallLine,
    /// Stall time within the window that fires the trigger.
    pub stall: Duration,
    /// The window, 500 ms to 10 s.
    pub window: Duration,
    /// The level an event raises.
    pub level: Level,
}

impl PsiTrigger {
    /// A trigger; see the fields.
    #[must_use]
    pub const fn new(
        kind: PressureKind,
        line: StallLine,
        stall: Duration,
        window: Duration,
        level: Level,
    ) -> Self {
        Self {
            kind,
            line,
            stall,
            window,
            level,
        }
    }

    /// steward's triggers, all over a 1 s window: memory `some` 150 ms
    /// (warning) and `full` 100 ms (critical); CPU `some` 500 ms
    /// (warning); IO `some` 500 ms (warning) and `full` 300 ms (critical).
    #[must_use]
    pub fn defaults() -> Vec<Self> {
        use PressureKind::{Cpu, Io, Memory};
        use StallLine::{Full, Some};
        let second = Duration::from_secs(1);
        let ms = Duration::from_millis;
        vec![
            Self::new(Memory, Some, ms(150), second, Level::Warning),
            Self::new(Memory, Full, ms(100), second, Level::Critical),
            Self::new(Cpu, Some, ms(500), second, Level::Warning),
            Self::new(Io, Some, ms(500), second, Level::Warning),
            Self::new(Io, Full, ms(300), second, Level::Critical),
        ]
    }

    /// The stall share that fires the trigger, in percent of the window.
    #[must_use]
    pub fn stall_percent(&self) -> f64 {
        self.stall.as_secs_f64() / self.window.as_secs_f64() * 100.0
    }

    /// What is written to the pressure file, `some 150000 1000000`.
    #[must_use]
    pub fn spec(&self) -> String {
        format!(
            "{} {} {}",
            self.line,
            self.stall.as_micros(),
            self.window.as_micros()
        )
    }

    /// Checks the trigger against the kernel's rules.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidTrigger`]: a window outside 500 ms ..= 10 s,
    /// a stall of zero or longer than the window, a healthy level.
    pub fn validate(&self) -> Result<(), MonitorError> {
        let problem = if !(MIN_WINDOW..=MAX_WINDOW).contains(&self.window) {
            "the window must be 500 ms to 10 s"
        } else if self.stall.is_zero() || self.stall > self.window {
            "the stall must be above zero and at most the window"
        } else if self.level == Level::Healthy {
            "a trigger must raise a warning or critical level"
        } else {
            return Ok(());
        };
        Err(MonitorError::InvalidTrigger {
            trigger: self.to_string(),
            problem,
        })
    }
}

impl fmt::Display for PsiTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.kind.path().display(),
            self.spec(),
            self.level
        )
    }
}

/// Which triggers are armed, and why the others are not.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PsiStatus {
    /// Triggers the kernel accepted; a thread waits on them.
    pub active: Vec<PsiTrigger>,
    /// Triggers that could not be registered, with why; their resources
    /// rely on polling.
    pub unavailable: Vec<(PsiTrigger, String)>,
}

/// The triggers that can be judged on the sampled stall counters: the
/// valid ones whose pressure file can be read.
pub(crate) fn sampleable(triggers: &[PsiTrigger]) -> Vec<PsiTrigger> {
    let readable: Vec<PressureKind> = PressureKind::ALL
        .into_iter()
        .filter(|kind| triggers.iter().any(|t| t.kind == *kind))
        .filter(|kind| Pressure::read(*kind).is_ok())
        .collect();
    triggers
        .iter()
        .filter(|trigger| trigger.validate().is_ok() && readable.contains(&trigger.kind))
        .copied()
        .collect()
}

/// Registered trigger files, waiting for a watcher.
#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) status: PsiStatus,
    files: Vec<(PsiTrigger, File)>,
}

/// Opens each trigger's pressure file and registers the trigger on it.
/// Where PSI is missing or not writable, says so once per process.
pub(crate) fn register(triggers: &[PsiTrigger]) -> Registered {
    let mut status = PsiStatus::default();
    let mut files = Vec::new();
    for trigger in triggers {
        match register_one(trigger).or_else(|err| register_unprivileged(trigger, err)) {
            Ok((armed, file)) => {
                status.active.push(armed);
                files.push((armed, file));
            }
            Err(err) => status.unavailable.push((*trigger, with_source(&err))),
        }
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    if !status.unavailable.is_empty() && !SAID.swap(true, Ordering::Relaxed) {
        let reasons: Vec<&str> = status
            .unavailable
            .iter()
            .map(|(_, why)| why.as_str())
            .collect();
        tracing::info!(target: "steward::monitor", ?reasons, "PSI triggers unavailable; relying on the sampled stall counters for those resources");
    }
    Registered { status, files }
}

/// The error and its causes, one line.
fn with_source(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Without `CAP_SYS_RESOURCE` the kernel (5.19+) accepts only windows that
/// are whole multiples of 2 s, and checks them on its 2 s averaging
/// clock, not every tenth of a window: retries a refused trigger with its
/// window rounded up to that and its stall share kept.
fn register_unprivileged(
    trigger: &PsiTrigger,
    refused: MonitorError,
) -> Result<(PsiTrigger, File), MonitorError> {
    const STEP_MS: u128 = 2_000;
    let invalid = matches!(&refused, MonitorError::RegisterTrigger { source, .. }
        if source.raw_os_error() == Some(Errno::EINVAL as i32));
    let window_ms = trigger.window.as_millis();
    if !invalid || window_ms.is_multiple_of(STEP_MS) {
        return Err(refused);
    }
    let rounded = window_ms.div_ceil(STEP_MS) * STEP_MS;
    let window = Duration::from_millis(u64::try_from(rounded).unwrap_or(u64::MAX));
    let adjusted = PsiTrigger {
        window,
        stall: trigger
            .stall
            .mul_f64(window.as_secs_f64() / trigger.window.as_secs_f64()),
        ..*trigger
    };
    if adjusted.validate().is_err() {
        return Err(refused);
    }
    let armed = register_one(&adjusted).map_err(|_| refused)?;
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::info!(target: "steward::monitor", "PSI triggers need CAP_SYS_RESOURCE for windows under 2 s; using 2 s windows, so pressure is seen within about 2 s");
    }
    Ok(armed)
}

fn register_one(trigger: &PsiTrigger) -> Result<(PsiTrigger, File), MonitorError> {
    trigger.validate()?;
    let path = trigger.kind.path();
    let failed = |source: std::io::Error| MonitorError::RegisterTrigger {
        trigger: trigger.spec(),
        path: path.clone(),
        source: source.into(),
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    // The kernel overwrites the last byte written with a NUL: send one.
    let mut spec = trigger.spec().into_bytes();
    spec.push(0);
    file.write_all(&spec).map_err(failed)?;
    Ok((*trigger, file))
}

/// Keeps the watcher thread alive; dropping it ends the thread.
pub(crate) type Watcher = PriorityWatch;

/// Starts the thread that waits on `registered`'s triggers and calls
/// `on_event` for each event. `None` when there is nothing to wait on or
/// the thread cannot start (said in a warning).
pub(crate) fn watch<F>(registered: Registered, on_event: F) -> Option<Watcher>
where
    F: Fn(PsiTrigger, Instant) + Send + 'static,
{
    if registered.files.is_empty() {
        return None;
    }
    let on_ready = move |trigger: &PsiTrigger, revents: PollFlags, at: Instant| {
        // A trigger the kernel dropped reports POLLERR (with POLLPRI).
        if revents.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            tracing::warn!(target: "steward::monitor", %trigger, "PSI trigger failed; relying on the sampled stall counters");
            return false;
        }
        if revents.contains(PollFlags::POLLPRI) {
            on_event(*trigger, at);
        }
        true
    };
    match priority_watch::spawn("steward-psi", registered.files, on_ready) {
        Ok(watch) => Some(watch),
        Err(err) => {
            tracing::warn!(target: "steward::monitor", %err, "cannot start the PSI thread; relying on the sampled stall counters");
            None
        }
    }
}
