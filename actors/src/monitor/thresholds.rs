//! Thresholds with hysteresis, as pure logic on figures: no clock, no
//! system.
//!
//! A [`Gauge`] judges one rule (percent used, or bytes free) of one
//! resource. Its level rises as soon as a threshold is reached. It falls
//! only when the figure leaves the hysteresis band below the threshold
//! (`margin` points for percent; `margin` percent of the total for bytes),
//! or after `clear_after_samples` consecutive samples below the threshold:
//! a figure hovering at the line does not flap.

use crate::config::{FreeLevels, Levels};

use super::alert::{Level, Measure};

/// The levels above healthy, highest first.
const RAISED: [Level; 2] = [Level::Critical, Level::Warning];

/// What a gauge judges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rule {
    /// Percent used (or busy) at or above a threshold.
    UsedPercent(Levels),
    /// Bytes free at or below a threshold.
    FreeBytes(FreeLevels),
}

/// The figures of one resource in one sample.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Figures {
    pub(crate) used_percent: f64,
    pub(crate) free_bytes: u64,
    pub(crate) total_bytes: u64,
}

/// How a raised level clears.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hysteresis {
    /// Points below a percent threshold (percent of the total above a
    /// bytes threshold) that clear its level at once.
    pub(crate) margin_percent: f64,
    /// Consecutive samples below the threshold that clear it anyway.
    pub(crate) clear_after_samples: u64,
}

impl Rule {
    /// The threshold of `level`, if the rule has one.
    pub(crate) fn threshold(&self, level: Level) -> Option<Measure> {
        match (self, level) {
            (_, Level::Healthy) => None,
            (Rule::UsedPercent(levels), Level::Warning) => {
                Some(Measure::UsedPercent(levels.warning_percent))
            }
            (Rule::UsedPercent(levels), Level::Critical) => {
                Some(Measure::UsedPercent(levels.critical_percent))
            }
            (Rule::FreeBytes(levels), Level::Warning) => {
                levels.warning_free_bytes.map(Measure::FreeBytes)
            }
            (Rule::FreeBytes(levels), Level::Critical) => {
                levels.critical_free_bytes.map(Measure::FreeBytes)
            }
        }
    }

    /// The lowest threshold the rule has: what a return to healthy clears.
    pub(crate) fn lowest_threshold(&self) -> Option<Measure> {
        self.threshold(Level::Warning)
            .or_else(|| self.threshold(Level::Critical))
    }

    /// The figure the rule judges.
    pub(crate) fn value(&self, figures: &Figures) -> Measure {
        match self {
            Rule::UsedPercent(_) => Measure::UsedPercent(figures.used_percent),
            Rule::FreeBytes(_) => Measure::FreeBytes(figures.free_bytes),
        }
    }

    /// Whether `figures` reach `level`'s threshold.
    fn reaches(&self, figures: &Figures, level: Level) -> bool {
        match self.threshold(level) {
            Some(Measure::UsedPercent(threshold)) => figures.used_percent >= threshold,
            Some(Measure::FreeBytes(threshold)) => figures.free_bytes <= threshold,
            _ => false,
        }
    }

    /// Whether `figures` are still inside `level`'s hysteresis band.
    fn holds(&self, figures: &Figures, level: Level, margin_percent: f64) -> bool {
        match self.threshold(level) {
            Some(Measure::UsedPercent(threshold)) => {
                figures.used_percent > threshold - margin_percent
            }
            Some(Measure::FreeBytes(threshold)) => {
                // Precision beyond 2⁵³ bytes does not matter for a band.
                #[allow(clippy::cast_precision_loss)]
                let (free, threshold, total) = (
                    figures.free_bytes as f64,
                    threshold as f64,
                    figures.total_bytes as f64,
                );
                free < threshold + total * margin_percent / 100.0
            }
            _ => false,
        }
    }

    /// The level `figures` reach, without hysteresis.
    pub(crate) fn raw_level(&self, figures: &Figures) -> Level {
        RAISED
            .into_iter()
            .find(|&level| self.reaches(figures, level))
            .unwrap_or(Level::Healthy)
    }
}

/// One rule's level over successive samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gauge {
    rule: Rule,
    level: Level,
    /// Consecutive samples below the current level's threshold.
    below: u64,
}

impl Gauge {
    #[cfg(test)]
    pub(crate) fn new(rule: Rule) -> Self {
        Self::starting_at(rule, Level::Healthy)
    }

    /// A gauge at `level` already: a resource's new thresholds start from
    /// the level it has, so that they change it only as readings cross
    /// them, with the same hysteresis.
    pub(crate) fn starting_at(rule: Rule, level: Level) -> Self {
        Self {
            rule,
            level,
            below: 0,
        }
    }

    pub(crate) fn rule(&self) -> &Rule {
        &self.rule
    }

    #[cfg(test)]
    pub(crate) fn level(&self) -> Level {
        self.level
    }

    /// Takes one sample's figures and returns the level after it.
    pub(crate) fn observe(&mut self, figures: &Figures, hysteresis: &Hysteresis) -> Level {
        let raw = self.rule.raw_level(figures);
        if raw >= self.level {
            self.level = raw;
            self.below = 0;
            return self.level;
        }
        self.below += 1;
        let next = if self.below >= hysteresis.clear_after_samples {
            raw
        } else {
            RAISED
                .into_iter()
                .filter(|&level| level <= self.level)
                .find(|&level| self.rule.holds(figures, level, hysteresis.margin_percent))
                .unwrap_or(Level::Healthy)
        };
        if next != self.level {
            self.level = next;
            self.below = 0;
        }
        self.level
    }
}
