//! Pressure from the sampled stall counters: the `total` of each
//! `/proc/pressure/*` line grows by the time tasks stalled, so its change
//! between samples says whether a trigger's stall was reached, without
//! the kernel's trigger machinery (which without `CAP_SYS_RESOURCE` only
//! takes 2 s windows).
//!
//! A trigger fires when tasks stalled at least `stall` within `window`.
//! From samples: if an earlier sample lies within the window, the stall
//! since that sample is a lower bound of the stall within the window, and
//! reaching `stall` with it is exact. If the previous sample is older than
//! the window (an interval longer than the window), the stall share since
//! it is compared with the trigger's share instead.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::pressure::{Pressure, PressureKind, StallLine};
use super::readings::PressureReadings;
use super::trigger::{MAX_WINDOW, PsiTrigger};

/// The stall counters of recent samples, oldest first, spanning at least
/// the longest trigger window.
#[derive(Debug, Default)]
pub(crate) struct StallHistory {
    samples: VecDeque<(Instant, PressureReadings)>,
}

impl StallHistory {
    /// Records a sample's counters, read at `at`. Samples older than any
    /// window needs are dropped: the history holds at most about
    /// `MAX_WINDOW / interval` samples.
    pub(crate) fn push(&mut self, at: Instant, pressure: PressureReadings) {
        if self.samples.back().is_some_and(|(last, _)| *last >= at) {
            return; // not newer: nothing to learn from it
        }
        self.samples.push_back((at, pressure));
        while self
            .samples
            .get(1)
            .is_some_and(|(second, _)| at.duration_since(*second) >= MAX_WINDOW)
        {
            self.samples.pop_front();
        }
    }

    /// How many samples are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the samples show `trigger`'s stall reached as of the latest
    /// sample: the stall share they measured, in percent of the time they
    /// span, or `None`.
    pub(crate) fn reached(&self, trigger: &PsiTrigger) -> Option<f64> {
        let (latest_at, latest) = self.samples.back()?;
        let now_total = total(latest, trigger.kind, trigger.line)?;
        let earlier = self.samples.iter().rev().skip(1);
        // The oldest sample still inside the window, else the previous one.
        let within = earlier
            .clone()
            .take_while(|(at, _)| latest_at.duration_since(*at) <= trigger.window)
            .last();
        let (reference_at, reference, inside) = match within {
            Some((at, pressure)) => (*at, pressure, true),
            None => {
                let (at, pressure) = earlier.clone().next()?;
                (*at, pressure, false)
            }
        };
        let span = latest_at.duration_since(reference_at);
        let stalled = Duration::from_micros(now_total.saturating_sub(total(
            reference,
            trigger.kind,
            trigger.line,
        )?));
        let share = stalled.as_secs_f64() / span.as_secs_f64() * 100.0;
        let reached = if inside {
            stalled >= trigger.stall
        } else {
            share >= trigger.stall_percent()
        };
        reached.then_some(share.min(100.0))
    }
}

/// The `total` of `line` in `kind`'s pressure file, if it was read.
fn total(pressure: &PressureReadings, kind: PressureKind, line: StallLine) -> Option<u64> {
    let file: &Pressure = match kind {
        PressureKind::Memory => pressure.memory.as_ref(),
        PressureKind::Cpu => pressure.cpu.as_ref(),
        PressureKind::Io => pressure.io.as_ref(),
    }?;
    match line {
        StallLine::Some => Some(file.some.total_us),
        StallLine::Full => file.full.map(|full| full.total_us),
    }
}
