//! From readings and pressure events to levels and alerts: pure logic,
//! driven by the actor, tested on sequences of readings.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::config::Thresholds;

use super::alert::{Alert, Level, Measure, Resource};
use super::availability::Availability;
use super::psi::{PressureKind, PsiTrigger};
use super::readings::{PressureReadings, Reading};
use super::thresholds::{Figures, Gauge, Hysteresis, Rule};

/// How long a pressure level holds after its trigger's last event, in
/// windows: the kernel signals at most once per window while the stall
/// lasts, so two quiet windows mean it has passed.
const QUIET_WINDOWS: u32 = 2;

/// Every resource's level, from the readings and pressure events so far.
#[derive(Debug)]
pub(crate) struct Evaluator {
    thresholds: Thresholds,
    hysteresis: Hysteresis,
    polled: BTreeMap<Resource, Polled>,
    pressure: BTreeMap<PressureKind, Pressured>,
    last_pressure: PressureReadings,
}

/// A resource judged on samples by one or more gauges.
#[derive(Debug)]
struct Polled {
    gauges: Vec<Gauge>,
    level: Level,
    /// The gauge that set the level: its figures go in the alert.
    governing: usize,
}

/// A resource judged on PSI events.
#[derive(Debug, Default)]
struct Pressured {
    level: Level,
    /// Per raised level: until when it holds, and its trigger's share.
    holds: BTreeMap<Level, (Instant, f64)>,
}

impl Evaluator {
    pub(crate) fn new(thresholds: Thresholds) -> Self {
        let hysteresis = Hysteresis {
            margin_percent: thresholds.hysteresis_percent,
            clear_after_samples: thresholds.clear_after_samples,
        };
        Self {
            thresholds,
            hysteresis,
            polled: BTreeMap::new(),
            pressure: BTreeMap::new(),
            last_pressure: PressureReadings::default(),
        }
    }

    /// Watches `kinds` for pressure (healthy until an event).
    pub(crate) fn watch_pressure(&mut self, kinds: impl IntoIterator<Item = PressureKind>) {
        for kind in kinds {
            self.pressure.entry(kind).or_default();
        }
    }

    /// Judges one reading; returns the alerts of the levels it changed.
    pub(crate) fn observe(&mut self, reading: &Reading) -> Vec<Alert> {
        self.last_pressure = reading.pressure;
        let memory = &reading.memory;
        let mut observed: Vec<(Resource, Figures)> = vec![
            (
                Resource::Memory,
                Figures {
                    used_percent: memory.used_percent(),
                    free_bytes: memory.available_bytes,
                    total_bytes: memory.total_bytes,
                },
            ),
            (
                Resource::Cpu,
                Figures {
                    used_percent: reading.cpu.usage_percent,
                    ..Figures::default()
                },
            ),
        ];
        for disk in &reading.disks {
            observed.push((
                Resource::Disk(disk.mount_point.clone()),
                Figures {
                    used_percent: disk.used_percent(),
                    free_bytes: disk.available_bytes,
                    total_bytes: disk.total_bytes,
                },
            ));
        }
        // A disk no longer mounted is no longer watched.
        self.polled.retain(|resource, _| {
            !matches!(resource, Resource::Disk(_)) || observed.iter().any(|(r, _)| r == resource)
        });
        let mut alerts = Vec::new();
        for (resource, figures) in observed {
            let polled = match self.polled.get_mut(&resource) {
                Some(polled) => polled,
                None => {
                    let gauges = self
                        .rules_for(&resource)
                        .into_iter()
                        .map(Gauge::new)
                        .collect();
                    self.polled.entry(resource.clone()).or_insert(Polled {
                        gauges,
                        level: Level::Healthy,
                        governing: 0,
                    })
                }
            };
            if let Some(alert) =
                polled.observe(&resource, &figures, &self.hysteresis, reading.taken_at)
            {
                alerts.push(alert);
            }
        }
        alerts
    }

    fn rules_for(&self, resource: &Resource) -> Vec<Rule> {
        let thresholds = &self.thresholds;
        let (percent, free) = match resource {
            Resource::Memory => (thresholds.memory, thresholds.memory_free),
            Resource::Cpu => return vec![Rule::UsedPercent(thresholds.cpu)],
            Resource::Disk(mount_point) => disk_levels(thresholds, mount_point),
            Resource::Pressure(_) => return Vec::new(),
        };
        let mut rules = vec![Rule::UsedPercent(percent)];
        if !free.is_unset() {
            rules.push(Rule::FreeBytes(free));
        }
        rules
    }

    /// A PSI trigger fired at `now` (`at` on the wall clock).
    pub(crate) fn stall(
        &mut self,
        trigger: &PsiTrigger,
        now: Instant,
        at: SystemTime,
    ) -> Option<Alert> {
        let share = trigger.stall_percent();
        let until = now + trigger.window * QUIET_WINDOWS;
        let pressured = self.pressure.entry(trigger.kind).or_default();
        let hold = pressured
            .holds
            .entry(trigger.level)
            .or_insert((until, share));
        *hold = (hold.0.max(until), share);
        self.settle(trigger.kind, now, at)
    }

    /// Lowers the pressure levels whose triggers have been quiet.
    pub(crate) fn expire_pressure(&mut self, now: Instant, at: SystemTime) -> Vec<Alert> {
        let kinds: Vec<PressureKind> = self.pressure.keys().copied().collect();
        kinds
            .into_iter()
            .filter_map(|kind| self.settle(kind, now, at))
            .collect()
    }

    /// When the next pressure level may lapse, if any is raised.
    pub(crate) fn next_pressure_expiry(&self) -> Option<Instant> {
        self.pressure
            .values()
            .flat_map(|p| p.holds.values().map(|(until, _)| *until))
            .min()
    }

    fn settle(&mut self, kind: PressureKind, now: Instant, at: SystemTime) -> Option<Alert> {
        let pressured = self.pressure.get_mut(&kind)?;
        pressured.holds.retain(|_, (until, _)| *until > now);
        let (level, share) = pressured
            .holds
            .iter()
            .next_back()
            .map_or((Level::Healthy, None), |(level, (_, share))| {
                (*level, Some(*share))
            });
        let previous = pressured.level;
        if level == previous {
            return None;
        }
        pressured.level = level;
        let (value, threshold) = match share {
            Some(share) => (share, share),
            None => {
                let sampled = match kind {
                    PressureKind::Memory => self.last_pressure.memory,
                    PressureKind::Cpu => self.last_pressure.cpu,
                    PressureKind::Io => self.last_pressure.io,
                };
                let avg10 = sampled.map_or(0.0, |p| p.some.avg10_percent);
                (avg10, avg10)
            }
        };
        Some(Alert {
            resource: Resource::Pressure(kind),
            level,
            previous,
            value: Measure::StallPercent(value),
            threshold: Measure::StallPercent(threshold),
            at,
        })
    }

    /// Every watched resource's level.
    pub(crate) fn availability(&self) -> Availability {
        let polled = self.polled.iter().map(|(r, p)| (r.clone(), p.level));
        let pressured = self
            .pressure
            .iter()
            .map(|(kind, p)| (Resource::Pressure(*kind), p.level));
        Availability::from_levels(polled.chain(pressured))
    }
}

/// A disk's own thresholds, or the common ones.
fn disk_levels(
    thresholds: &Thresholds,
    mount_point: &Path,
) -> (crate::config::Levels, crate::config::FreeLevels) {
    thresholds
        .disks
        .get(mount_point)
        .map_or((thresholds.disk, thresholds.disk_free), |disk| {
            (disk.percent, disk.free)
        })
}

impl Polled {
    fn observe(
        &mut self,
        resource: &Resource,
        figures: &Figures,
        hysteresis: &Hysteresis,
        at: SystemTime,
    ) -> Option<Alert> {
        let levels: Vec<Level> = self
            .gauges
            .iter_mut()
            .map(|gauge| gauge.observe(figures, hysteresis))
            .collect();
        let level = levels.iter().copied().max().unwrap_or_default();
        let previous = self.level;
        if level == previous {
            return None;
        }
        self.level = level;
        if level != Level::Healthy {
            self.governing = levels.iter().position(|&l| l == level).unwrap_or(0);
        }
        let rule = self.gauges.get(self.governing)?.rule();
        let value = rule.value(figures);
        let threshold = match level {
            Level::Healthy => rule.lowest_threshold(),
            raised => rule.threshold(raised),
        }
        .unwrap_or(value);
        Some(Alert {
            resource: resource.clone(),
            level,
            previous,
            value,
            threshold,
            at,
        })
    }
}

/// How long `trigger`'s level holds after its last event.
#[cfg(test)]
pub(crate) fn quiet_period(trigger: &PsiTrigger) -> std::time::Duration {
    trigger.window * QUIET_WINDOWS
}
