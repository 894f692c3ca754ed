//! From readings and pressure events to levels and alerts: pure logic,
//! driven by the actor, tested on sequences of readings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::config::Thresholds;
use crate::drive::DeviceNumber;

use super::alert::{Alert, Level, MachineResource, Measure};
use super::availability::Availability;
use super::pressure::PressureKind;
use super::readings::{DiskReading, PressureReadings, Reading};
use super::stalls::StallHistory;
use super::thresholds::{Figures, Gauge, Hysteresis, Rule};
use super::trigger::PsiTrigger;

/// How long a pressure level holds after its trigger's last event, in
/// windows (or sample intervals, for a stall seen in samples, when those
/// are longer): the kernel signals at most once per window while the
/// stall lasts, so two quiet windows mean it has passed.
const QUIET_WINDOWS: u32 = 2;

/// Every resource's level, from the readings and pressure events so far.
#[derive(Debug)]
pub(crate) struct Evaluator {
    thresholds: Thresholds,
    hysteresis: Hysteresis,
    /// The thresholds changed: each resource's gauges are rebuilt at the
    /// next reading, starting from its level.
    rules_changed: bool,
    polled: BTreeMap<MachineResource, Polled>,
    pressure: BTreeMap<PressureKind, Pressured>,
    last_pressure: PressureReadings,
    /// The triggers judged on the sampled stall counters too.
    sampled_triggers: Vec<PsiTrigger>,
    stalls: StallHistory,
    interval: Duration,
}

/// A resource judged on samples by one or more gauges.
#[derive(Debug)]
struct Polled {
    gauges: Vec<Gauge>,
    level: Level,
    /// The gauge that set the level: its figures go in the alert.
    governing: usize,
    /// A disk's device: the disk, whatever mount point names it.
    device: Option<DeviceNumber>,
}

/// A resource judged on PSI events and sampled stalls.
#[derive(Debug, Default)]
struct Pressured {
    level: Level,
    /// Per raised level: until when it holds, and what raised it.
    holds: BTreeMap<Level, Hold>,
}

/// A raised pressure level's hold.
#[derive(Debug, Clone, Copy)]
struct Hold {
    until: Instant,
    /// The stall share seen (a trigger event reports only its own).
    value: f64,
    /// The trigger's share.
    threshold: f64,
}

impl Evaluator {
    /// An evaluator of readings taken every `interval`.
    pub(crate) fn new(thresholds: Thresholds, interval: Duration) -> Self {
        Self {
            hysteresis: hysteresis_of(&thresholds),
            thresholds,
            rules_changed: false,
            polled: BTreeMap::new(),
            pressure: BTreeMap::new(),
            last_pressure: PressureReadings::default(),
            sampled_triggers: Vec::new(),
            stalls: StallHistory::default(),
            interval,
        }
    }

    /// Watches `kinds` for pressure (healthy until an event).
    pub(crate) fn watch_pressure(&mut self, kinds: impl IntoIterator<Item = PressureKind>) {
        for kind in kinds {
            self.pressure.entry(kind).or_default();
        }
    }

    /// Judges `triggers` on the stall counters of every reading too, and
    /// watches their kinds.
    pub(crate) fn sample_pressure(&mut self, triggers: Vec<PsiTrigger>) {
        self.watch_pressure(triggers.iter().map(|trigger| trigger.kind));
        self.sampled_triggers = triggers;
    }

    /// New thresholds, judged from the next reading on. Each resource
    /// keeps its level, and the new gauges start from it, so a level
    /// changes (and alerts) only when the next readings cross the new
    /// thresholds, with the usual hysteresis.
    pub(crate) fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.hysteresis = hysteresis_of(&thresholds);
        self.thresholds = thresholds;
        self.rules_changed = true;
    }

    /// Judges one reading, whose pressure counters were read at `now`;
    /// returns the alerts of the levels it changed.
    pub(crate) fn observe(&mut self, reading: &Reading, now: Instant) -> Vec<Alert> {
        let mut alerts = self.observe_polled(reading);
        alerts.extend(self.observe_stalls(reading, now));
        alerts
    }

    fn observe_polled(&mut self, reading: &Reading) -> Vec<Alert> {
        self.last_pressure = reading.pressure;
        let memory = &reading.memory;
        let observed: Vec<(MachineResource, Figures)> = vec![
            (
                MachineResource::Memory,
                Figures {
                    used_percent: memory.used_percent(),
                    free_bytes: memory.available_bytes,
                    total_bytes: memory.total_bytes,
                },
            ),
            (
                MachineResource::Cpu,
                Figures {
                    used_percent: reading.cpu.usage_percent,
                    ..Figures::default()
                },
            ),
        ];
        let mut disks: Vec<(MachineResource, Figures, &DiskReading)> = Vec::new();
        for disk in &reading.disks {
            disks.push((
                MachineResource::Disk(disk.mount_point.clone()),
                Figures {
                    used_percent: disk.used_percent(),
                    free_bytes: disk.available_bytes,
                    total_bytes: disk.total_bytes,
                },
                disk,
            ));
        }
        let (mut alerts, renamed) = self.forget_vanished_disks(&disks, reading.taken_at);
        let rebuild = std::mem::take(&mut self.rules_changed);
        let observed = observed
            .into_iter()
            .map(|(resource, figures)| (resource, figures, None))
            .chain(
                disks
                    .into_iter()
                    .map(|(resource, figures, disk)| (resource, figures, Some(disk))),
            );
        for (resource, figures, disk) in observed {
            // A renamed disk's thresholds may go by its new name.
            let rules = match (
                rebuild || renamed.contains(&resource),
                self.polled.contains_key(&resource),
            ) {
                (false, true) => None,
                _ => Some(self.rules_for(&resource, disk)),
            };
            let polled = self.polled.entry(resource.clone()).or_insert(Polled {
                gauges: Vec::new(),
                level: Level::Healthy,
                governing: 0,
                device: disk.map(|disk| disk.device),
            });
            if let Some(rules) = rules {
                polled.gauges = rules
                    .into_iter()
                    .map(|rule| Gauge::starting_at(rule, polled.level))
                    .collect();
            }
            if let Some(alert) =
                polled.observe(&resource, &figures, &self.hysteresis, reading.taken_at)
            {
                alerts.push(alert);
            }
        }
        alerts
    }

    /// Stops watching the disks no longer mounted; one that was not
    /// healthy sends its clearing alert. A disk whose name changed (a
    /// shorter bind mount came, or the one that named it went) is still
    /// mounted: it keeps its level under its new name, with no alert.
    /// Returns the alerts and the new names.
    fn forget_vanished_disks(
        &mut self,
        mounted: &[(MachineResource, Figures, &DiskReading)],
        at: SystemTime,
    ) -> (Vec<Alert>, Vec<MachineResource>) {
        let vanished: Vec<MachineResource> = self
            .polled
            .keys()
            .filter(|resource| matches!(resource, MachineResource::Disk(_)))
            .filter(|resource| !mounted.iter().any(|(r, _, _)| r == *resource))
            .cloned()
            .collect();
        let mut alerts = Vec::new();
        let mut renamed = Vec::new();
        for resource in vanished {
            let Some(polled) = self.polled.remove(&resource) else {
                continue;
            };
            let same_disk = mounted.iter().find(|(name, _, disk)| {
                polled.device == Some(disk.device) && !self.polled.contains_key(name)
            });
            if let Some((name, _, _)) = same_disk {
                self.polled.insert(name.clone(), polled);
                renamed.push(name.clone());
                continue;
            }
            if polled.level == Level::Healthy {
                continue;
            }
            let threshold = polled
                .gauges
                .get(polled.governing)
                .and_then(|gauge| gauge.rule().lowest_threshold())
                .unwrap_or(Measure::Unmounted);
            alerts.push(Alert {
                resource,
                level: Level::Healthy,
                previous: polled.level,
                value: Measure::Unmounted,
                threshold,
                at,
            });
        }
        (alerts, renamed)
    }

    fn rules_for(&self, resource: &MachineResource, disk: Option<&DiskReading>) -> Vec<Rule> {
        let thresholds = &self.thresholds;
        let (percent, free) = match resource {
            MachineResource::Memory => (thresholds.memory, thresholds.memory_free),
            MachineResource::Cpu => return vec![Rule::UsedPercent(thresholds.cpu)],
            MachineResource::Disk(mount_point) => disk_levels(thresholds, mount_point, disk),
            MachineResource::Pressure(_) => return Vec::new(),
        };
        let mut rules = vec![Rule::UsedPercent(percent)];
        if !free.is_unset() {
            rules.push(Rule::FreeBytes(free));
        }
        rules
    }

    /// Judges the sampled stall counters against every sampled trigger.
    fn observe_stalls(&mut self, reading: &Reading, now: Instant) -> Vec<Alert> {
        self.stalls.push(now, reading.pressure);
        let reached: Vec<(PsiTrigger, f64)> = self
            .sampled_triggers
            .iter()
            .filter_map(|trigger| Some((*trigger, self.stalls.reached(trigger)?)))
            .collect();
        let mut alerts = Vec::new();
        for (trigger, share) in reached {
            let quiet = trigger.window.max(self.interval) * QUIET_WINDOWS;
            alerts.extend(self.raise(&trigger, share, now + quiet, now, reading.taken_at));
        }
        alerts
    }

    /// A PSI trigger fired at `now` (`at` on the wall clock).
    pub(crate) fn stall(
        &mut self,
        trigger: &PsiTrigger,
        now: Instant,
        at: SystemTime,
    ) -> Option<Alert> {
        let until = now + trigger.window * QUIET_WINDOWS;
        self.raise(trigger, trigger.stall_percent(), until, now, at)
    }

    /// Holds `trigger`'s level until `until`; alerts if that raises the
    /// kind's level. A kernel event and a sampled stall of one episode
    /// share the hold: whichever comes first raises the level, once.
    fn raise(
        &mut self,
        trigger: &PsiTrigger,
        value: f64,
        until: Instant,
        now: Instant,
        at: SystemTime,
    ) -> Option<Alert> {
        let pressured = self.pressure.entry(trigger.kind).or_default();
        let fresh = Hold {
            until,
            value,
            threshold: trigger.stall_percent(),
        };
        let hold = pressured.holds.entry(trigger.level).or_insert(fresh);
        *hold = Hold {
            until: hold.until.max(until),
            ..fresh
        };
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
            .flat_map(|p| p.holds.values().map(|hold| hold.until))
            .min()
    }

    fn settle(&mut self, kind: PressureKind, now: Instant, at: SystemTime) -> Option<Alert> {
        let pressured = self.pressure.get_mut(&kind)?;
        pressured.holds.retain(|_, hold| hold.until > now);
        let (level, hold) = pressured
            .holds
            .iter()
            .next_back()
            .map_or((Level::Healthy, None), |(level, hold)| {
                (*level, Some(*hold))
            });
        let previous = pressured.level;
        if level == previous {
            return None;
        }
        pressured.level = level;
        let (value, threshold) = match hold {
            Some(hold) => (hold.value, hold.threshold),
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
            resource: MachineResource::Pressure(kind),
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
            .map(|(kind, p)| (MachineResource::Pressure(*kind), p.level));
        Availability::from_levels(polled.chain(pressured))
    }
}

fn hysteresis_of(thresholds: &Thresholds) -> Hysteresis {
    Hysteresis {
        margin_percent: thresholds.hysteresis_percent,
        clear_after_samples: thresholds.clear_after_samples,
    }
}

/// A disk's own thresholds (set for any of its mount points, its name
/// first), or the common ones.
fn disk_levels(
    thresholds: &Thresholds,
    name: &Path,
    disk: Option<&DiskReading>,
) -> (crate::config::Levels, crate::config::FreeLevels) {
    let aliases = disk
        .into_iter()
        .flat_map(|disk| disk.mount_points.iter().map(PathBuf::as_path));
    std::iter::once(name)
        .chain(aliases)
        .find_map(|point| thresholds.disks.get(point))
        .map_or((thresholds.disk, thresholds.disk_free), |disk| {
            (disk.percent, disk.free)
        })
}

impl Polled {
    fn observe(
        &mut self,
        resource: &MachineResource,
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
