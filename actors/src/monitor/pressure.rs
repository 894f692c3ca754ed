//! Linux pressure stall information (PSI) as read: the
//! `/proc/pressure/*` format, its kinds and lines.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::MonitorError;

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
