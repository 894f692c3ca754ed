//! Changing thresholds on the way, and pressure from the sampled stall
//! counters beside the kernel's triggers.

use std::time::{Duration, Instant, SystemTime};

use super::super::evaluator::Evaluator;
use super::super::stalls::StallHistory;
use super::super::*;
use super::{See, changes, epoch, evaluator, reading};
use crate::config::{DiskLevels, FreeLevels, Levels, Thresholds};

use Level::{Critical as C, Healthy as H, Warning as W};

fn with_cpu(warning: f64, critical: f64) -> Thresholds {
    Thresholds {
        cpu: Levels::new(warning, critical),
        ..Thresholds::default()
    }
}

#[test]
fn new_thresholds_raise_and_clear_with_one_alert_each() {
    let mut evaluator = evaluator(Thresholds::default());
    // CPU at 50%: healthy under the default 85/95.
    assert!(evaluator.see(&reading(1, 10.0, 50.0)).is_empty());
    evaluator.set_thresholds(with_cpu(40.0, 90.0));
    let raised = evaluator.see(&reading(2, 10.0, 50.0));
    assert_eq!(changes(&raised), [(MachineResource::Cpu, H, W)]);
    assert_eq!(raised[0].threshold, Measure::UsedPercent(40.0));
    for sequence in 3..10 {
        assert!(evaluator.see(&reading(sequence, 10.0, 50.0)).is_empty());
    }
    evaluator.set_thresholds(Thresholds::default());
    let cleared = evaluator.see(&reading(10, 10.0, 50.0));
    assert_eq!(changes(&cleared), [(MachineResource::Cpu, W, H)]);
    for sequence in 11..20 {
        assert!(evaluator.see(&reading(sequence, 10.0, 50.0)).is_empty());
    }
}

#[test]
fn a_re_evaluation_that_changes_no_level_alerts_nothing() {
    let mut evaluator = evaluator(with_cpu(40.0, 90.0));
    let raised = evaluator.see(&reading(1, 10.0, 50.0));
    assert_eq!(changes(&raised), [(MachineResource::Cpu, H, W)]);
    // Other thresholds, same level for every resource.
    evaluator.set_thresholds(Thresholds {
        memory: Levels::new(70.0, 80.0),
        ..with_cpu(45.0, 95.0)
    });
    assert!(evaluator.see(&reading(2, 10.0, 50.0)).is_empty());
    // The same thresholds again: nothing either.
    evaluator.set_thresholds(Thresholds {
        memory: Levels::new(70.0, 80.0),
        ..with_cpu(45.0, 95.0)
    });
    assert!(evaluator.see(&reading(3, 10.0, 50.0)).is_empty());
}

#[test]
fn a_level_under_new_thresholds_clears_with_the_same_hysteresis() {
    let mut evaluator = evaluator(with_cpu(40.0, 90.0));
    assert_eq!(
        changes(&evaluator.see(&reading(1, 10.0, 50.0))),
        [(MachineResource::Cpu, H, W)]
    );
    // The warning moves to 52: 50 is below it but inside the 5-point band,
    // so the level holds until three samples below have passed.
    evaluator.set_thresholds(with_cpu(52.0, 90.0));
    assert!(evaluator.see(&reading(2, 10.0, 50.0)).is_empty());
    assert!(evaluator.see(&reading(3, 10.0, 50.0)).is_empty());
    assert_eq!(
        changes(&evaluator.see(&reading(4, 10.0, 50.0))),
        [(MachineResource::Cpu, W, H)]
    );
}

#[test]
fn per_disk_thresholds_apply_by_any_of_the_disk_s_mount_points() {
    let thresholds = Thresholds::default().with_disk(
        "/work/bound",
        DiskLevels {
            percent: Levels::new(40.0, 60.0),
            free: FreeLevels::default(),
        },
    );
    let mut evaluator = evaluator(thresholds);
    let mut sample = reading(1, 10.0, 10.0);
    // / is 50% used, and bind-mounted at /work/bound too.
    sample.disks[0]
        .mount_points
        .push(std::path::PathBuf::from("/work/bound"));
    assert_eq!(
        changes(&evaluator.see(&sample)),
        [(MachineResource::Disk("/".into()), H, W)]
    );
}

fn cpu_trigger(stall_ms: u64, window_ms: u64) -> PsiTrigger {
    PsiTrigger::new(
        PressureKind::Cpu,
        StallLine::Some,
        Duration::from_millis(stall_ms),
        Duration::from_millis(window_ms),
        W,
    )
}

/// Pressure counters with `cpu_stalled_us` of CPU `some` stall so far.
fn counters(cpu_stalled_us: u64) -> PressureReadings {
    PressureReadings {
        cpu: Some(Pressure {
            some: StallAverages {
                total_us: cpu_stalled_us,
                ..StallAverages::default()
            },
            full: None,
        }),
        ..PressureReadings::default()
    }
}

#[test]
fn a_trigger_is_reached_by_the_stall_since_a_sample_within_its_window() {
    let trigger = cpu_trigger(500, 1000);
    let start = Instant::now();
    let ms = Duration::from_millis;
    let mut history = StallHistory::default();
    history.push(start, counters(0));
    assert_eq!(history.reached(&trigger), None, "one sample shows nothing");
    // Every 200 ms, 200 ms of stall (more runnable tasks than cores).
    history.push(start + ms(200), counters(200_000));
    assert_eq!(history.reached(&trigger), None, "200 ms of 500");
    history.push(start + ms(400), counters(400_000));
    assert_eq!(history.reached(&trigger), None, "400 ms of 500");
    history.push(start + ms(600), counters(600_000));
    assert_eq!(
        history.reached(&trigger),
        Some(100.0),
        "600 ms stalled in 600 ms"
    );
    // Stall stops: the window (1 s back) still holds 600 ms of it...
    history.push(start + ms(1000), counters(600_000));
    assert_eq!(history.reached(&trigger), Some(60.0));
    // ...then the samples within it show only 200 ms: a lower bound of
    // the stall in the window, so no event (the kernel's trigger, or the
    // hold of the last one, covers the rest).
    history.push(start + ms(1300), counters(600_000));
    assert_eq!(history.reached(&trigger), None);
}

#[test]
fn with_samples_further_apart_than_the_window_the_share_decides() {
    let trigger = cpu_trigger(500, 1000);
    let start = Instant::now();
    let mut history = StallHistory::default();
    history.push(start, counters(0));
    // 5 s apart: 2 s of stall is 40%, under the trigger's 50%...
    history.push(start + Duration::from_secs(5), counters(2_000_000));
    assert_eq!(history.reached(&trigger), None);
    // ...3 s in the next 5 s is 60%.
    history.push(start + Duration::from_secs(10), counters(5_000_000));
    assert_eq!(history.reached(&trigger), Some(60.0));
}

#[test]
fn the_history_keeps_only_what_the_longest_window_needs() {
    let start = Instant::now();
    let mut history = StallHistory::default();
    for step in 0..1000_u64 {
        history.push(start + Duration::from_millis(step * 200), counters(0));
    }
    let trigger = PsiTrigger {
        window: MAX_WINDOW,
        ..cpu_trigger(1, 1000)
    };
    assert_eq!(history.reached(&trigger), None);
    assert!(history.len() <= 52, "{} samples kept", history.len());
}

/// A reading `sequence` seconds in, with the given CPU stall so far.
fn stalled(sequence: u64, cpu_stalled_us: u64) -> Reading {
    let mut sample = reading(sequence, 10.0, 10.0);
    sample.pressure = counters(cpu_stalled_us);
    sample
}

fn sampling(triggers: Vec<PsiTrigger>) -> Evaluator {
    let mut evaluator = evaluator(Thresholds::default());
    evaluator.sample_pressure(triggers);
    evaluator
}

const CPU: MachineResource = MachineResource::Pressure(PressureKind::Cpu);

#[test]
fn a_stall_in_the_samples_raises_the_level_once_and_it_lapses_when_quiet() {
    let trigger = cpu_trigger(500, 1000);
    let mut evaluator = sampling(vec![trigger]);
    assert!(evaluator.see(&stalled(1, 0)).is_empty());
    // A second apart (the interval): 900 ms of the last second stalled.
    let raised = evaluator.see(&stalled(2, 900_000));
    assert_eq!(changes(&raised), [(CPU, H, W)]);
    assert_eq!(raised[0].value, Measure::StallPercent(90.0));
    assert_eq!(raised[0].threshold, Measure::StallPercent(50.0));
    assert!(evaluator.see(&stalled(3, 1_800_000)).is_empty(), "held");
    // Quiet from here: the hold (two windows) runs out two seconds after
    // the last stalled sample.
    assert!(evaluator.see(&stalled(4, 1_800_000)).is_empty());
    let at = SystemTime::UNIX_EPOCH;
    let last_stall = epoch() + Duration::from_secs(3);
    assert!(
        evaluator
            .expire_pressure(last_stall + Duration::from_millis(1999), at)
            .is_empty()
    );
    let lapsed = evaluator.expire_pressure(last_stall + Duration::from_secs(2), at);
    assert_eq!(changes(&lapsed), [(CPU, W, H)]);
}

#[test]
fn a_kernel_event_and_a_sampled_stall_of_one_episode_alert_once() {
    let trigger = cpu_trigger(500, 1000);
    let at = SystemTime::UNIX_EPOCH;
    // The kernel first, then the samples.
    let mut evaluator = sampling(vec![trigger]);
    assert!(evaluator.see(&stalled(1, 0)).is_empty());
    let kernel = evaluator.stall(&trigger, epoch() + Duration::from_millis(1500), at);
    assert_eq!(
        changes(&kernel.into_iter().collect::<Vec<_>>()),
        [(CPU, H, W)]
    );
    assert!(evaluator.see(&stalled(2, 900_000)).is_empty());
    // The samples first, then the kernel (whose 2 s window came later).
    let mut evaluator = sampling(vec![trigger]);
    assert!(evaluator.see(&stalled(1, 0)).is_empty());
    assert_eq!(changes(&evaluator.see(&stalled(2, 900_000))), [(CPU, H, W)]);
    let armed = PsiTrigger {
        window: Duration::from_secs(2),
        stall: Duration::from_secs(1),
        ..trigger
    };
    assert!(
        evaluator
            .stall(&armed, epoch() + Duration::from_millis(2500), at)
            .is_none()
    );
    assert_eq!(evaluator.availability().level_of(&CPU), W);
}

#[test]
fn critical_pressure_from_the_samples_goes_up_a_level_at_a_time_only_as_reached() {
    let warning = cpu_trigger(300, 1000);
    let critical = PsiTrigger {
        level: C,
        ..cpu_trigger(800, 1000)
    };
    let mut evaluator = sampling(vec![warning, critical]);
    assert!(evaluator.see(&stalled(1, 0)).is_empty());
    assert_eq!(changes(&evaluator.see(&stalled(2, 500_000))), [(CPU, H, W)]);
    assert_eq!(
        changes(&evaluator.see(&stalled(3, 1_400_000))),
        [(CPU, W, C)]
    );
}
