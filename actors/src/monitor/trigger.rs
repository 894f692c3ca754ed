//! PSI triggers as configured: raise a level for a kind of pressure when
//! tasks stalled a while within a window. `psi` registers them with the
//! kernel; `stalls` judges them on the sampled counters too.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alert::Level;
use super::error::MonitorError;
use super::pressure::{Pressure, PressureKind, StallLine};

/// The shortest trigger window the kernel accepts.
pub const MIN_WINDOW: Duration = Duration::from_millis(500);
/// The longest trigger window the kernel accepts.
pub const MAX_WINDOW: Duration = Duration::from_secs(10);

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
