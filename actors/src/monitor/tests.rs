mod disks;
mod handle;
mod running;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::evaluator::{Evaluator, quiet_period};
use super::thresholds::{Figures, Gauge, Hysteresis, Rule};
use super::*;
use crate::config::{DiskLevels, FreeLevels, Levels, Thresholds};
use crate::drive::DeviceNumber;

const GIB: u64 = 1 << 30;

const HYSTERESIS: Hysteresis = Hysteresis {
    margin_percent: 5.0,
    clear_after_samples: 3,
};

fn percent(used_percent: f64) -> Figures {
    Figures {
        used_percent,
        ..Figures::default()
    }
}

/// The levels a gauge goes through on `values` (percent used, 80/90).
fn levels_of(values: &[f64]) -> Vec<Level> {
    let mut gauge = Gauge::new(Rule::UsedPercent(Levels::new(80.0, 90.0)));
    values
        .iter()
        .map(|&v| gauge.observe(&percent(v), &HYSTERESIS))
        .collect()
}

use Level::{Critical as C, Healthy as H, Warning as W};

#[test]
fn a_level_rises_at_once_at_its_threshold() {
    assert_eq!(levels_of(&[10.0, 79.9, 80.0, 89.9, 90.0]), [H, H, W, W, C]);
    assert_eq!(levels_of(&[95.0]), [C], "straight to critical");
}

#[test]
fn a_value_hovering_at_the_line_does_not_flap() {
    let hovering = [80.1, 79.9, 80.1, 79.9, 80.1, 79.9, 80.1, 79.9];
    assert_eq!(levels_of(&hovering), [W; 8]);
    let at_critical = [90.2, 89.8, 90.2, 89.8, 90.2, 89.8];
    assert_eq!(levels_of(&at_critical), [C; 6]);
}

#[test]
fn a_level_clears_a_margin_below_its_threshold() {
    // 75 is exactly 5 points below 80: out of the band.
    assert_eq!(levels_of(&[85.0, 75.0]), [W, H]);
    assert_eq!(levels_of(&[85.0, 75.1]), [W, W]);
    // From critical, 84 leaves the critical band but not the warning one.
    assert_eq!(levels_of(&[95.0, 84.0, 70.0]), [C, W, H]);
}

#[test]
fn a_level_clears_after_consecutive_samples_below_its_threshold() {
    assert_eq!(levels_of(&[81.0, 78.0, 78.0, 78.0]), [W, W, W, H]);
    // A sample back at the threshold restarts the count.
    assert_eq!(
        levels_of(&[81.0, 78.0, 78.0, 80.0, 78.0, 78.0, 78.0]),
        [W, W, W, W, W, W, H]
    );
    // From critical, the count clears to the raw level.
    assert_eq!(levels_of(&[91.0, 88.0, 88.0, 88.0]), [C, C, C, W]);
}

#[test]
fn free_bytes_levels_are_reached_at_or_below_and_clear_a_share_of_the_total_above() {
    let mut gauge = Gauge::new(Rule::FreeBytes(FreeLevels::new(10 * GIB, 5 * GIB)));
    let total = 100 * GIB;
    let mut free = |bytes: u64| {
        gauge.observe(
            &Figures {
                used_percent: 0.0,
                free_bytes: bytes,
                total_bytes: total,
            },
            &HYSTERESIS,
        )
    };
    assert_eq!(free(11 * GIB), H);
    assert_eq!(free(10 * GIB), W);
    assert_eq!(free(5 * GIB), C);
    // The band is 5% of 100 GiB = 5 GiB above each threshold.
    assert_eq!(free(9 * GIB), C, "inside the critical band");
    assert_eq!(free(10 * GIB), W, "out of the critical band");
    assert_eq!(free(15 * GIB), H, "out of the warning band");
    assert_eq!(gauge.level(), H);
}

fn reading(sequence: u64, memory_percent: f64, cpu_percent: f64) -> Reading {
    let total = 16 * GIB;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let used = (total as f64 * memory_percent / 100.0) as u64;
    Reading {
        sequence,
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(sequence),
        cpu: CpuReading {
            usage_percent: cpu_percent,
            per_core_percent: vec![cpu_percent; 2],
        },
        load: LoadAverage::default(),
        memory: MemoryReading {
            total_bytes: total,
            used_bytes: used,
            available_bytes: total - used,
        },
        swap: SwapReading::default(),
        disks: vec![disk("/", 100 * GIB, 50 * GIB)],
        process: ProcessReading::default(),
        pressure: PressureReadings::default(),
    }
}

/// A disk with nothing reserved for root: used + available = total.
fn disk(mount_point: &str, total_bytes: u64, available_bytes: u64) -> DiskReading {
    DiskReading {
        mount_point: PathBuf::from(mount_point),
        mount_points: vec![PathBuf::from(mount_point)],
        device: DeviceNumber {
            major: 8,
            minor: u32::try_from(mount_point.len()).unwrap(),
        },
        total_bytes,
        used_bytes: total_bytes - available_bytes,
        available_bytes,
    }
}

/// An evaluator of readings a second apart.
fn evaluator(thresholds: Thresholds) -> Evaluator {
    Evaluator::new(thresholds, Duration::from_secs(1))
}

/// The monotonic time of the start of these tests: readings are judged
/// `sequence` seconds after it.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

trait See {
    /// Judges `reading` as read `sequence` seconds after [`epoch`].
    fn see(&mut self, reading: &Reading) -> Vec<Alert>;
}

impl See for Evaluator {
    fn see(&mut self, reading: &Reading) -> Vec<Alert> {
        self.observe(reading, epoch() + Duration::from_secs(reading.sequence))
    }
}

/// (resource, previous, level) of each alert.
fn changes(alerts: &[Alert]) -> Vec<(MachineResource, Level, Level)> {
    alerts
        .iter()
        .map(|a| (a.resource.clone(), a.previous, a.level))
        .collect()
}

#[test]
fn alerts_go_out_only_when_a_level_changes() {
    let mut evaluator = evaluator(Thresholds::default());
    let cpu = [
        10.0, 86.0, 87.0, 88.0, 96.0, 97.0, 84.0, 85.5, 84.0, 50.0, 40.0,
    ];
    let mut all = Vec::new();
    for (i, &value) in cpu.iter().enumerate() {
        all.extend(evaluator.see(&reading(i as u64 + 1, 50.0, value)));
    }
    assert_eq!(
        changes(&all),
        [
            (MachineResource::Cpu, H, W),
            (MachineResource::Cpu, W, C),
            (MachineResource::Cpu, C, W),
            (MachineResource::Cpu, W, H),
        ]
    );
    let rise = &all[0];
    assert_eq!(rise.value, Measure::UsedPercent(86.0));
    assert_eq!(rise.threshold, Measure::UsedPercent(85.0));
    assert_eq!(rise.at, SystemTime::UNIX_EPOCH + Duration::from_secs(2));
    let clear = &all[3];
    assert_eq!(clear.value, Measure::UsedPercent(50.0));
    assert_eq!(
        clear.threshold,
        Measure::UsedPercent(85.0),
        "a clear names the warning threshold it cleared"
    );
}

#[test]
fn a_hovering_value_sends_one_alert() {
    let mut evaluator = evaluator(Thresholds::default());
    let mut alerts = Vec::new();
    for i in 0..50 {
        let memory = if i % 2 == 0 { 80.05 } else { 79.95 };
        alerts.extend(evaluator.see(&reading(i + 1, memory, 10.0)));
    }
    assert_eq!(changes(&alerts), [(MachineResource::Memory, H, W)]);
}

#[test]
fn memory_takes_the_worst_of_percent_and_free_bytes() {
    let thresholds = Thresholds {
        memory_free: FreeLevels::new(4 * GIB, GIB),
        ..Thresholds::default()
    };
    let mut evaluator = evaluator(thresholds);
    // 16 GiB total: 70% used leaves 4.8 GiB (healthy both ways); 75% used
    // leaves 4 GiB (free-bytes warning); 85% used is a percent warning too.
    let alerts = evaluator.see(&reading(1, 70.0, 0.0));
    assert!(alerts.is_empty());
    let alerts = evaluator.see(&reading(2, 75.0, 0.0));
    assert_eq!(changes(&alerts), [(MachineResource::Memory, H, W)]);
    assert_eq!(alerts[0].threshold, Measure::FreeBytes(4 * GIB));
    assert!(
        evaluator.see(&reading(3, 85.0, 0.0)).is_empty(),
        "still warning"
    );
    let alerts = evaluator.see(&reading(4, 95.0, 0.0));
    assert_eq!(changes(&alerts), [(MachineResource::Memory, W, C)]);
    assert_eq!(alerts[0].threshold, Measure::UsedPercent(90.0));
    assert_eq!(
        evaluator.availability().level_of(&MachineResource::Memory),
        C
    );
    assert_eq!(evaluator.availability().overall, C);
}

#[test]
fn disks_use_their_own_thresholds_and_clear_their_level_when_unmounted() {
    let thresholds = Thresholds::default().with_disk(
        "/data",
        DiskLevels {
            percent: Levels::new(40.0, 60.0),
            free: FreeLevels::default(),
        },
    );
    let mut evaluator = evaluator(thresholds);
    let mut sample = reading(1, 10.0, 10.0);
    // Both disks 50% used: a warning on /data only.
    sample.disks.push(disk("/data", 10 * GIB, 5 * GIB));
    let alerts = evaluator.see(&sample);
    assert_eq!(
        changes(&alerts),
        [(MachineResource::Disk("/data".into()), H, W)]
    );
    assert_eq!(
        alerts[0].to_string(),
        "disk /data healthy -> warning: 50.0% used (threshold 40.0% used)"
    );
    let mut unmounted = reading(2, 10.0, 10.0);
    unmounted
        .disks
        .retain(|d| d.mount_point != std::path::Path::new("/data"));
    // A vanished disk clears its level: subscribers are not left with a
    // warning that nothing will ever clear.
    let cleared = evaluator.see(&unmounted);
    assert_eq!(
        changes(&cleared),
        [(MachineResource::Disk("/data".into()), W, H)]
    );
    assert_eq!(cleared[0].value, Measure::Unmounted);
    assert_eq!(cleared[0].threshold, Measure::UsedPercent(40.0));
    assert_eq!(
        cleared[0].to_string(),
        "disk /data warning -> healthy: unmounted (threshold 40.0% used)"
    );
    assert!(evaluator.see(&reading(3, 10.0, 10.0)).is_empty(), "once");
    let availability = evaluator.availability();
    assert!(availability.is_healthy());
    assert!(
        availability
            .resources
            .iter()
            .all(|r| r.resource != MachineResource::Disk("/data".into()))
    );
}

#[test]
fn a_disk_renamed_by_a_bind_mount_keeps_its_level_and_alerts_nothing() {
    let mut evaluator = evaluator(Thresholds::default());
    // 96% used, mounted at /srv/data: critical.
    let full = |sequence, points: &[&str]| {
        let mut sample = reading(sequence, 10.0, 10.0);
        let mut data = disk("/srv/data", 100 * GIB, 4 * GIB);
        data.mount_point = PathBuf::from(points[0]);
        data.mount_points = points.iter().map(PathBuf::from).collect();
        sample.disks.push(data);
        sample
    };
    let raised = evaluator.see(&full(1, &["/srv/data"]));
    assert_eq!(
        changes(&raised),
        [(MachineResource::Disk("/srv/data".into()), H, C)]
    );
    // Bind-mounted at a shorter path, which now names it; then that bind
    // mount goes again. Still the same disk, still full: no alert, not
    // an "unmounted" clear followed by a new raise.
    let renamed = evaluator.see(&full(2, &["/d", "/srv/data"]));
    assert!(renamed.is_empty(), "{renamed:?}");
    assert_eq!(
        evaluator
            .availability()
            .level_of(&MachineResource::Disk("/d".into())),
        C
    );
    let back = evaluator.see(&full(3, &["/srv/data"]));
    assert!(back.is_empty(), "{back:?}");
    // Emptied: it clears once, under its name now.
    let mut emptied = full(4, &["/srv/data"]);
    emptied.disks[1].used_bytes = 10 * GIB;
    emptied.disks[1].available_bytes = 90 * GIB;
    assert_eq!(
        changes(&evaluator.see(&emptied)),
        [(MachineResource::Disk("/srv/data".into()), C, H)]
    );
}

fn trigger(level: Level) -> PsiTrigger {
    PsiTrigger::new(
        PressureKind::Memory,
        if level == C {
            StallLine::Full
        } else {
            StallLine::Some
        },
        Duration::from_millis(100),
        Duration::from_secs(1),
        level,
    )
}

#[test]
fn pressure_events_raise_a_level_once_and_it_lapses_after_quiet_windows() {
    let mut evaluator = evaluator(Thresholds::default());
    evaluator.watch_pressure([PressureKind::Memory]);
    let start = Instant::now();
    let at = SystemTime::UNIX_EPOCH;
    let warning = trigger(W);
    let quiet = quiet_period(&warning);
    let memory = MachineResource::Pressure(PressureKind::Memory);

    let alert = evaluator.stall(&warning, start, at).unwrap();
    assert_eq!(
        (alert.resource.clone(), alert.previous, alert.level),
        (memory.clone(), H, W)
    );
    assert_eq!(alert.threshold, Measure::StallPercent(10.0));
    // The kernel signals once per window while the stall lasts: no repeats.
    let second = start + Duration::from_secs(1);
    assert!(evaluator.stall(&warning, second, at).is_none());
    let critical = evaluator.stall(&trigger(C), second, at).unwrap();
    assert_eq!((critical.previous, critical.level), (W, C));
    assert_eq!(evaluator.availability().level_of(&memory), C);
    assert!(evaluator.expire_pressure(second + quiet / 2, at).is_empty());
    assert!(evaluator.stall(&warning, second + quiet / 2, at).is_none());

    // Quiet: critical lapses first, then warning.
    let lapsed = evaluator.expire_pressure(second + quiet, at);
    assert_eq!(changes(&lapsed), [(memory.clone(), C, W)]);
    assert!(
        evaluator
            .expire_pressure(second + quiet * 3 / 2 - Duration::from_millis(1), at)
            .is_empty()
    );
    let lapsed = evaluator.expire_pressure(second + quiet * 3 / 2, at);
    assert_eq!(changes(&lapsed), [(memory.clone(), W, H)]);
    assert!(evaluator.next_pressure_expiry().is_none());
    assert!(evaluator.expire_pressure(second + quiet * 3, at).is_empty());
}

const REAL_MEMORY: &str = "some avg10=0.00 avg60=0.03 avg300=0.18 total=22532387\n\
                           full avg10=1.25 avg60=0.00 avg300=0.00 total=18073754\n";

#[test]
fn pressure_files_parse_in_the_kernel_format() {
    let memory = Pressure::parse(REAL_MEMORY).unwrap();
    assert_eq!(memory.some.avg60_percent, 0.03);
    assert_eq!(memory.some.total_us, 22_532_387);
    let full = memory.full.unwrap();
    assert_eq!((full.avg10_percent, full.total_us), (1.25, 18_073_754));
    // Before Linux 5.13 the cpu file has no full line.
    let cpu = Pressure::parse("some avg10=2.04 avg60=0.75 avg300=0.40 total=157656722\n").unwrap();
    assert!(cpu.full.is_none());
    // A field a later kernel adds is ignored.
    let later =
        Pressure::parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=0 avg1=0.00").unwrap();
    assert_eq!(later.some, StallAverages::default());
}

#[test]
fn malformed_pressure_files_are_refused_with_the_line() {
    for text in [
        "",
        "full avg10=0.00 avg60=0.00 avg300=0.00 total=0",
        "some avg10=0.00 avg60=0.00 total=0",
        "some avg10=x avg60=0.00 avg300=0.00 total=0",
        "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1",
        "half avg10=0.00 avg60=0.00 avg300=0.00 total=0",
        "some avg10 avg60=0.00 avg300=0.00 total=0",
    ] {
        let err = Pressure::parse(text).unwrap_err();
        assert!(
            matches!(err, MonitorError::Parse { .. }),
            "{text:?}: {err:?}"
        );
        assert!(err.to_string().starts_with("cannot parse "), "{err}");
    }
}

#[test]
fn triggers_are_written_in_microseconds_and_checked_like_the_kernel() {
    let trigger = trigger(W);
    assert_eq!(trigger.spec(), "some 100000 1000000");
    assert_eq!(
        trigger.to_string(),
        "/proc/pressure/memory: some 100000 1000000 (warning)"
    );
    trigger.validate().unwrap();
    for bad in [
        PsiTrigger {
            window: Duration::from_millis(499),
            ..trigger
        },
        PsiTrigger {
            window: Duration::from_secs(11),
            ..trigger
        },
        PsiTrigger {
            stall: Duration::ZERO,
            ..trigger
        },
        PsiTrigger {
            stall: Duration::from_secs(2),
            ..trigger
        },
        PsiTrigger {
            level: H,
            ..trigger
        },
    ] {
        assert!(
            matches!(bad.validate(), Err(MonitorError::InvalidTrigger { .. })),
            "{bad}"
        );
    }
    for default in PsiTrigger::defaults() {
        default.validate().unwrap();
    }
}

#[test]
fn profiles_admit_only_what_fits() {
    let healthy = Availability::default();
    let profile = WorkloadProfile::from_gb(4.0, 25.0, 10.0).unwrap();
    assert_eq!(profile.max_memory_bytes, 4_000_000_000);
    assert_eq!(profile.min_free_disk_bytes, 10_000_000_000);
    let defer = |admission: Admission| match admission {
        Admission::Defer { reason } => reason,
        other => panic!("not deferred: {other:?}"),
    };

    assert_eq!(
        defer(profile::admit(&profile, None, &healthy)),
        DeferReason::NoReading
    );
    // 16 GiB, 50% used: 8 GiB available; CPU 50% busy; / has 50 GiB free.
    let sample = reading(1, 50.0, 50.0);
    assert!(profile::admit(&profile, Some(&sample), &healthy).is_admit());

    let big = WorkloadProfile::from_gb(9.0, 25.0, 10.0).unwrap();
    assert!(matches!(
        defer(profile::admit(&big, Some(&sample), &healthy)),
        DeferReason::Memory { .. }
    ));
    let busy = WorkloadProfile::from_gb(1.0, 60.0, 1.0).unwrap();
    assert_eq!(
        defer(profile::admit(&busy, Some(&sample), &healthy)).to_string(),
        "50.0% of the CPU idle, 60.0% needed"
    );
    let disk_hungry = WorkloadProfile::from_gb(1.0, 1.0, 60.0).unwrap();
    assert!(matches!(
        defer(profile::admit(&disk_hungry, Some(&sample), &healthy)),
        DeferReason::Disk { .. }
    ));
    let elsewhere = profile.clone().on_disk("/nowhere");
    assert!(matches!(
        defer(profile::admit(&elsewhere, Some(&sample), &healthy)),
        DeferReason::UnknownDisk { .. }
    ));
    let reject = |admission: Admission| match admission {
        Admission::Reject { reason } => reason,
        other => panic!("not rejected: {other:?}"),
    };
    // 16 GiB of memory: ten times that can never fit, however idle.
    let huge = WorkloadProfile::new(160 * GIB, 1.0, 0);
    let why = reject(profile::admit(&huge, Some(&sample), &healthy));
    assert_eq!(
        why,
        RejectReason::Memory {
            total_bytes: 16 * GIB,
            needed_bytes: 160 * GIB
        }
    );
    assert_eq!(
        why.to_string(),
        format!(
            "{} bytes of memory needed, the machine has {}",
            160 * GIB,
            16 * GIB
        )
    );
    assert!(matches!(
        reject(profile::admit(
            &WorkloadProfile::new(1, 150.0, 0),
            Some(&sample),
            &healthy
        )),
        RejectReason::Cpu { .. }
    ));
    // / holds 100 GiB: 200 must-stay-free can never be.
    assert!(matches!(
        reject(profile::admit(
            &WorkloadProfile::new(1, 1.0, 200 * GIB),
            Some(&sample),
            &healthy
        )),
        RejectReason::Disk { .. }
    ));
    // Never fitting is said even where a disk is unknown or pressure is
    // critical now: waiting would not help.
    let critical = Availability::from_levels([(MachineResource::Pressure(PressureKind::Io), C)]);
    assert!(
        profile::admit(&huge.clone().on_disk("/nowhere"), Some(&sample), &critical).is_reject()
    );

    assert_eq!(
        defer(profile::admit(&profile, Some(&sample), &critical)),
        DeferReason::Critical {
            resource: MachineResource::Pressure(PressureKind::Io)
        }
    );
    for (memory, cpu, disk) in [
        (-1.0, 1.0, 1.0),
        (1.0, f64::NAN, 1.0),
        (1.0, 1.0, f64::INFINITY),
    ] {
        assert!(matches!(
            WorkloadProfile::from_gb(memory, cpu, disk),
            Err(MonitorError::InvalidProfile { .. })
        ));
    }
}

#[test]
fn readings_and_alerts_serialize_with_units_in_field_names() {
    let sample = reading(3, 50.0, 12.5);
    let json = serde_json::to_value(&sample).unwrap();
    assert_eq!(json["taken_at_unix_ms"], 3000);
    assert_eq!(json["memory"]["total_bytes"], 16 * GIB);
    assert_eq!(json["cpu"]["usage_percent"], 12.5);
    assert_eq!(json["disks"][0]["available_bytes"], 50 * GIB);
    let back: Reading = serde_json::from_value(json).unwrap();
    assert_eq!(back, sample);

    let alert = Alert {
        resource: MachineResource::Disk("/".into()),
        level: W,
        previous: H,
        value: Measure::FreeBytes(5),
        threshold: Measure::FreeBytes(10),
        at: SystemTime::UNIX_EPOCH + Duration::from_millis(1500),
    };
    let json = serde_json::to_string(&alert).unwrap();
    assert_eq!(
        json,
        r#"{"resource":{"disk":"/"},"level":"warning","previous":"healthy","value":{"free_bytes":5},"threshold":{"free_bytes":10},"at_unix_ms":1500}"#
    );
}
