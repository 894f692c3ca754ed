//! The monitor against the real machine: readings, the cache, alerts,
//! PSI files and triggers; and (ignored) its overhead over a minute.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use steward::config::{Levels, Thresholds};
use steward::monitor::{
    Alert, Level, MachineResource, Monitor, MonitorOptions, Pressure, PressureKind, PsiTrigger,
    Reading, StallLine, WorkloadProfile,
};
use steward::{Config, Steward};
use tokio::sync::mpsc;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

async fn first_reading(monitor: &Monitor) -> Arc<Reading> {
    let mut readings = monitor.readings();
    let reading = tokio::time::timeout(BOUND, readings.wait_for(Option::is_some))
        .await
        .expect("a first reading in time")
        .expect("the monitor runs")
        .clone();
    reading.expect("waited for Some")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_has_non_zero_totals() {
    let steward = Steward::builder().start().unwrap();
    let monitor = steward.monitor();
    let reading = first_reading(monitor).await;
    assert!(reading.memory.total_bytes > 0);
    assert!(reading.memory.available_bytes <= reading.memory.total_bytes);
    assert!(!reading.cpu.per_core_percent.is_empty());
    assert!((0.0..=100.0).contains(&reading.cpu.usage_percent));
    assert!(!reading.disks.is_empty(), "at least one file system");
    assert!(reading.disks.iter().any(|disk| disk.total_bytes > 0));
    assert_eq!(reading.process.pid, std::process::id());
    assert!(reading.process.rss_bytes > 0);
    // The cached snapshot is that reading (or a newer one): no mailbox hop.
    let cached = monitor.snapshot().unwrap();
    assert!(cached.sequence >= reading.sequence);
    assert!(
        monitor.admits(&WorkloadProfile::new(1, 0.0, 0)).is_admit()
            || !monitor.availability().is_healthy()
    );
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_snapshot_changes_after_an_interval() {
    let steward = Steward::builder()
        .monitor_interval(Duration::from_millis(200))
        .start()
        .unwrap();
    let monitor = steward.monitor();
    let first = first_reading(monitor).await;
    let mut readings = monitor.readings();
    let later = tokio::time::timeout(
        BOUND,
        readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence > first.sequence)),
    )
    .await
    .expect("a later reading in time")
    .expect("the monitor runs")
    .clone()
    .unwrap();
    assert!(later.taken_at >= first.taken_at);
    assert!(monitor.snapshot().unwrap().sequence >= later.sequence);
    // A forced refresh is newer still, and is what the cache holds after.
    let fresh = monitor.refresh().await.unwrap();
    assert!(fresh.sequence > later.sequence);
    assert!(monitor.snapshot().unwrap().sequence >= fresh.sequence);
    steward.shutdown().await.unwrap();
}

/// Collects alerts sent to an actor.
struct Collector(mpsc::UnboundedSender<Alert>);

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Alert> for Collector {
    type Result = ();
    fn handle(&mut self, alert: Alert, _: &mut Context<Self>) {
        let _ = self.0.send(alert);
    }
}

#[actix_rt::test]
async fn a_crossed_threshold_alerts_stream_and_actor_subscribers_once() {
    // Memory in use is surely above 0.002% of the total: critical at once.
    let thresholds = Thresholds {
        memory: Levels::new(0.001, 0.002),
        ..Thresholds::default()
    };
    let config = Config::default()
        .with_thresholds(thresholds)
        .with_monitor_interval(Duration::from_millis(200));
    let options = MonitorOptions {
        psi_triggers: Vec::new(),
    };
    let monitor = Monitor::start_with(&Arbiter::current(), &config, options).unwrap();
    // Subscribed before the first sample is applied: the actor handles
    // messages in order, and the first sample runs on a blocking thread.
    let mut stream = monitor.subscribe();
    let (sender, mut from_actor) = mpsc::unbounded_channel();
    monitor
        .subscribe_recipient(Collector(sender).start().recipient())
        .await
        .unwrap();
    let alert = tokio::time::timeout(BOUND, async {
        loop {
            let alert = stream.recv().await.expect("alerts flow");
            if alert.resource == MachineResource::Memory {
                return alert;
            }
        }
    })
    .await
    .expect("a memory alert in time");
    assert_eq!(
        (alert.previous, alert.level),
        (Level::Healthy, Level::Critical)
    );
    let mirrored = tokio::time::timeout(BOUND, from_actor.recv())
        .await
        .expect("the actor's copy in time")
        .unwrap();
    assert_eq!(mirrored.resource, alert.resource);
    assert_eq!(
        monitor.availability().level_of(&MachineResource::Memory),
        Level::Critical
    );
    assert!(!monitor.admits(&WorkloadProfile::new(1, 0.0, 0)).is_admit());

    // More samples, no repeat: the level holds.
    let seen = monitor.snapshot().map_or(0, |r| r.sequence);
    let mut readings = monitor.readings();
    tokio::time::timeout(
        BOUND,
        readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence >= seen + 2)),
    )
    .await
    .expect("two more samples in time")
    .unwrap();
    while let Ok(other) = stream.try_recv() {
        assert_ne!(other.resource, MachineResource::Memory, "repeated: {other}");
    }

    monitor.shutdown().await;
    let closed = tokio::time::timeout(BOUND, async {
        loop {
            if let Err(tokio::sync::broadcast::error::RecvError::Closed) = stream.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "receivers see Closed after shutdown");
    assert!(matches!(
        monitor.refresh().await,
        Err(steward::MonitorError::Closed)
    ));
}

#[test]
#[ignore = "needs PSI: /proc/pressure (a kernel with CONFIG_PSI, not booted with psi=0)"]
fn pressure_files_of_this_machine_parse() {
    for kind in PressureKind::ALL {
        let path = kind.path();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let pressure = Pressure::parse(&text).unwrap_or_else(|err| panic!("{err}"));
        for line in std::iter::once(pressure.some).chain(pressure.full) {
            for share in [line.avg10_percent, line.avg60_percent, line.avg300_percent] {
                assert!((0.0..=100.0).contains(&share), "{text}");
            }
        }
        assert!(Pressure::read(kind).unwrap().some.total_us >= pressure.some.total_us);
    }
}

#[actix_rt::test]
async fn every_psi_trigger_is_either_armed_or_said_unavailable() {
    let monitor = Monitor::start_in(&Arbiter::current(), &Config::default()).unwrap();
    let status = monitor.psi();
    assert_eq!(
        status.active.len() + status.unavailable.len(),
        PsiTrigger::defaults().len()
    );
    monitor.shutdown().await;
}

#[actix_rt::test]
#[ignore = "needs PSI triggers: /proc/pressure writable (root, a kernel with CONFIG_PSI)"]
async fn armed_psi_triggers_are_watched() {
    let monitor = Monitor::start_in(&Arbiter::current(), &Config::default()).unwrap();
    let status = monitor.psi();
    assert!(
        !status.active.is_empty(),
        "no PSI trigger could be registered: {:?}",
        status.unavailable
    );
    let watched = monitor.availability();
    for trigger in &status.active {
        let resource = MachineResource::Pressure(trigger.kind);
        assert!(
            watched.resources.iter().any(|r| r.resource == resource),
            "{resource} is watched"
        );
    }
    monitor.shutdown().await;
}

/// Spins `threads` threads until the returned flag is set.
fn spin(threads: usize) -> (Arc<AtomicBool>, Vec<std::thread::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handles = (0..threads)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    (stop, handles)
}

#[actix_rt::test]
#[ignore = "needs PSI triggers (root) and every core for about a second"]
async fn a_cpu_pressure_trigger_fires_while_more_threads_than_cores_spin() {
    let trigger = PsiTrigger::new(
        PressureKind::Cpu,
        StallLine::Some,
        Duration::from_millis(100),
        Duration::from_millis(500),
        Level::Warning,
    );
    let options = MonitorOptions {
        psi_triggers: vec![trigger],
    };
    let monitor = Monitor::start_with(&Arbiter::current(), &Config::default(), options).unwrap();
    if monitor.psi().active.is_empty() {
        println!(
            "skipped: cpu PSI trigger unavailable: {:?}",
            monitor.psi().unavailable
        );
        return;
    }
    let mut alerts = monitor.subscribe();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let (stop, spinners) = spin(cores * 2 + 1);
    let started = Instant::now();
    let fired = tokio::time::timeout(BOUND, async {
        loop {
            let alert = alerts.recv().await.expect("alerts flow");
            if alert.resource == MachineResource::Pressure(PressureKind::Cpu)
                && alert.level == Level::Warning
            {
                return alert;
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    let alert = fired.expect("a cpu pressure alert while every core is oversubscribed");
    println!("cpu pressure alert after {elapsed:?} of spinning: {alert}");
    monitor.shutdown().await;
}

/// This process's CPU time (user + system) from `/proc/self/stat`, whose
/// clock ticks are USER_HZ, 100 per second on Linux.
fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// Resident memory from `/proc/self/status`.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[test]
#[ignore = "a one-minute measurement; run with --ignored --nocapture"]
fn overhead_at_a_one_second_interval() {
    let seconds: u64 = std::env::var("MONITOR_OVERHEAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    actix_rt::System::new().block_on(async move {
        let config = Config::default().with_monitor_interval(Duration::from_secs(1));
        let monitor = Monitor::start_in(&Arbiter::current(), &config).unwrap();
        // Warm up: the first samples read /proc/cpuinfo and size buffers.
        let mut readings = monitor.readings();
        tokio::time::timeout(
            BOUND,
            readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence >= 3)),
        )
        .await
        .unwrap()
        .unwrap();
        let (cpu_before, rss_before, wall) = (process_cpu_time(), rss_bytes(), Instant::now());
        let first = monitor.snapshot().unwrap().sequence;
        // A measurement over wall time, not a synchronization.
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (cpu_after, rss_after, elapsed) = (process_cpu_time(), rss_bytes(), wall.elapsed());
        let samples = monitor.snapshot().unwrap().sequence - first;
        let share = (cpu_after - cpu_before).as_secs_f64() / elapsed.as_secs_f64() * 100.0;
        #[allow(clippy::cast_precision_loss)]
        let growth_mib = (rss_after as f64 - rss_before as f64) / (1024.0 * 1024.0);
        println!(
            "monitor at 1 s for {elapsed:.1?}: {samples} samples, CPU {:?} = {share:.3}% of one core, \
             RSS {:.1} MiB -> {:.1} MiB ({growth_mib:+.2} MiB)",
            cpu_after - cpu_before,
            rss_before as f64 / 1048576.0,
            rss_after as f64 / 1048576.0,
        );
        monitor.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_share_one_fresh_sample() {
    let steward = Steward::builder().start().unwrap();
    let monitor = steward.monitor().clone();
    let before = first_reading(&monitor).await.sequence;
    let (a, b, c) = tokio::time::timeout(
        BOUND,
        futures::future::join3(monitor.refresh(), monitor.refresh(), monitor.refresh()),
    )
    .await
    .expect("refreshes are bounded");
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    // All newer than what was there before the calls, and taken by one
    // sample rather than three queued ones.
    assert!(a.sequence > before);
    assert_eq!((a.sequence, b.sequence), (c.sequence, c.sequence));
    steward.shutdown().await.unwrap();
}

/// The busy share of all cores between two reads of `/proc/stat`'s `cpu`
/// line, as sysinfo counts it (idle and iowait are idle).
fn busy_percent(before: &[u64], after: &[u64]) -> f64 {
    let delta: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total: u64 = delta.iter().take(8).sum();
    let idle = delta[3] + delta[4];
    (total - idle) as f64 / total as f64 * 100.0
}

fn proc_stat_cpu() -> Vec<u64> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let line = stat.lines().next().unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap())
        .collect()
}

fn steward_cli() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_steward"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STEWARD_") {
            command.env_remove(name);
        }
    }
    command
}

#[test]
fn monitor_once_reports_the_cpu_busy_over_a_real_interval() {
    // Every core busy while it runs: a figure averaged since boot (what
    // the first reading used to be) is far from this.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let (stop, spinners) = spin(cores);
    let before = proc_stat_cpu();
    let output = steward_cli()
        .args(["monitor", "--once", "--json"])
        .output()
        .unwrap();
    let after = proc_stat_cpu();
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        spinner.join().unwrap();
    }
    assert!(output.status.success());
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let cpu = &line["reading"]["cpu"];
    let reported = cpu["usage_percent"].as_f64().unwrap();
    let measured = busy_percent(&before, &after);
    println!("steward monitor --once: cpu {reported:.1}%; /proc/stat over its run: {measured:.1}%");
    assert!(
        (reported - measured).abs() <= 15.0,
        "steward says {reported:.1}% busy, /proc/stat {measured:.1}% over the same run"
    );
    let cores: Vec<f64> = cpu["per_core_percent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|core| core.as_f64().unwrap())
        .collect();
    assert!(cores.iter().all(|&core| core > 0.0), "per core: {cores:?}");
}

#[test]
fn monitor_prints_each_reading_once() {
    let output = steward_cli()
        .args(["monitor", "--json", "--interval", "200", "--count", "3"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let sequences: Vec<u64> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line["reading"]["sequence"].as_u64())
        .collect();
    assert_eq!(sequences.len(), 3, "{sequences:?}");
    assert!(
        sequences.windows(2).all(|pair| pair[0] < pair[1]),
        "a reading printed twice: {sequences:?}"
    );
}

/// `df -P /`'s Use% and its Used and Available bytes.
fn df_root() -> (f64, u64, u64) {
    let output = std::process::Command::new("df")
        .args(["-P", "-B1", "/"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    // Filesystem 1-blocks Used Available Capacity Mounted-on
    let fields: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    let percent = fields[4].trim_end_matches('%').parse().unwrap();
    (
        percent,
        fields[2].parse().unwrap(),
        fields[3].parse().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_disk_s_used_share_is_df_s() {
    let steward = Steward::builder().start().unwrap();
    let reading = first_reading(steward.monitor()).await;
    let (df_percent, df_used, df_available) = df_root();
    let root = reading.disk("/").expect("the root disk is read");
    println!(
        "/: steward {:.2}% ({} used, {} available), df {df_percent}% ({df_used}, {df_available})",
        root.used_percent(),
        root.used_bytes,
        root.available_bytes
    );
    // df rounds up; files change a little between the two reads.
    assert!(
        (root.used_percent() - df_percent).abs() <= 1.0,
        "steward {:.2}% vs df {df_percent}%",
        root.used_percent()
    );
    let near = |a: u64, b: u64| a.abs_diff(b) <= 256 << 20;
    assert!(near(root.used_bytes, df_used) && near(root.available_bytes, df_available));
    assert!(root.total_bytes >= root.used_bytes + root.available_bytes);
    steward.shutdown().await.unwrap();
}

/// The alerts about `resource` that arrive on `alerts` until `monitor`
/// has published `samples` more readings.
async fn alerts_over_samples(
    monitor: &Monitor,
    alerts: &mut tokio::sync::broadcast::Receiver<Alert>,
    resource: &MachineResource,
    samples: u64,
) -> Vec<Alert> {
    let mut readings = monitor.readings();
    let from = readings
        .borrow_and_update()
        .as_ref()
        .map_or(0, |reading| reading.sequence);
    tokio::time::timeout(
        BOUND,
        readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence >= from + samples)),
    )
    .await
    .expect("the readings in time")
    .unwrap();
    let mut seen = Vec::new();
    while let Ok(alert) = alerts.try_recv() {
        if &alert.resource == resource {
            seen.push(alert);
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_thresholds_on_a_running_monitor_raise_and_clear_one_alert_each() {
    use steward::config::{DiskLevels, FreeLevels};
    let steward = Steward::builder()
        .monitor_interval(Duration::from_millis(200))
        .start()
        .unwrap();
    let monitor = steward.monitor();
    let mut alerts = monitor.subscribe();
    first_reading(monitor).await;
    let root = MachineResource::Disk("/".into());
    let root_at = |warning, critical| {
        Thresholds::default().with_disk(
            "/",
            DiskLevels {
                percent: Levels::new(warning, critical),
                free: FreeLevels::default(),
            },
        )
    };
    let backwards = root_at(50.0, 40.0);
    assert!(matches!(
        monitor.set_thresholds(backwards).await,
        Err(steward::MonitorError::Config(_))
    ));

    // Any use at all is a warning now.
    monitor.set_thresholds(root_at(0.01, 100.0)).await.unwrap();
    let raised = alerts_over_samples(monitor, &mut alerts, &root, 4).await;
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(
        (raised[0].previous, raised[0].level),
        (Level::Healthy, Level::Warning)
    );
    assert_eq!(monitor.availability().level_of(&root), Level::Warning);

    monitor.set_thresholds(root_at(99.9, 100.0)).await.unwrap();
    let cleared = alerts_over_samples(monitor, &mut alerts, &root, 6).await;
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(
        (cleared[0].previous, cleared[0].level),
        (Level::Warning, Level::Healthy)
    );
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_needing_ten_times_the_memory_is_rejected_not_deferred() {
    let steward = Steward::builder().start().unwrap();
    let monitor = steward.monitor();
    let total = first_reading(monitor).await.memory.total_bytes;
    let answer = monitor.admits(&WorkloadProfile::new(10 * total, 1.0, 0));
    match answer {
        steward::monitor::Admission::Reject {
            reason:
                steward::monitor::RejectReason::Memory {
                    total_bytes,
                    needed_bytes,
                },
        } => {
            assert_eq!((total_bytes, needed_bytes), (total, 10 * total));
        }
        other => panic!("not rejected for memory: {other:?}"),
    }
    steward.shutdown().await.unwrap();
}

#[test]
#[ignore = "needs root and setpriv (util-linux); spins every core for about a second"]
fn cpu_pressure_is_seen_in_the_samples_without_cap_sys_resource() {
    use std::io::BufRead;
    // Without CAP_SYS_RESOURCE the kernel takes 2 s trigger windows only.
    let mut child = std::process::Command::new("setpriv")
        .args([
            "--bounding-set=-sys_resource",
            "--inh-caps=-sys_resource",
            "--",
            env!("CARGO_BIN_EXE_steward"),
            "monitor",
            "--json",
            "--interval",
            "200",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("setpriv runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            let started = Instant::now();
            if sender.send((line, started)).is_err() {
                break;
            }
        }
    });
    let next = |what: &str, predicate: &dyn Fn(&serde_json::Value) -> bool| loop {
        let (line, at) = receiver
            .recv_timeout(BOUND)
            .unwrap_or_else(|_| panic!("no {what} in time"));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        if predicate(&value) {
            return (value, at);
        }
    };
    next("first reading", &|line| line.get("reading").is_some());
    // Start from calm: the stall left by whatever ran before (a build, other
    // tests, an earlier attempt) must have left the kernel's 2 s trigger
    // window, or a trigger fires on it with the spinners' first
    // milliseconds. Calm is 3 s of readings whose CPU stall grew by under
    // 10 % of the time between them, and no CPU pressure level raised.
    let is_cpu_alert = |line: &serde_json::Value| line["alert"]["resource"]["pressure"] == "cpu";
    let stalled_us = |line: &serde_json::Value| {
        line["reading"]["pressure"]["cpu"]["some"]["total_us"]
            .as_u64()
            .expect("the CPU pressure total is read (PSI is on)")
    };
    let mut raised = false;
    let wait_for_calm = |raised: &mut bool| {
        let calming = Instant::now();
        let mut previous: Option<(u64, u64)> = None;
        let mut calm_since: Option<u64> = None;
        loop {
            assert!(calming.elapsed() < 2 * BOUND, "CPU pressure never calmed");
            let (line, _) = next("a line", &|_| true);
            if is_cpu_alert(&line) {
                *raised = line["alert"]["level"] != "healthy";
                continue;
            }
            if line.get("reading").is_none() {
                continue;
            }
            let (stalled, taken) = (
                stalled_us(&line),
                line["reading"]["taken_at_unix_ms"].as_u64().unwrap(),
            );
            if let Some((stalled_before, taken_before)) = previous {
                let span_us = taken.saturating_sub(taken_before).max(1) * 1000;
                if stalled.saturating_sub(stalled_before) * 10 < span_us {
                    let since = *calm_since.get_or_insert(taken_before);
                    if taken - since >= 3000 && !*raised {
                        return;
                    }
                } else {
                    calm_since = None;
                }
            }
            previous = Some((stalled, taken));
        }
    };
    // The kernel's coarse trigger and the samples race to raise the level;
    // the one raising it first names the value (a trigger reports only
    // its threshold). The samples must win on their own at least once in
    // three tries: a trigger of a 2 s window that wins now and then is
    // fine, one that always wins means the samples raise nothing.
    let mut sampled = None;
    for _ in 0..3 {
        wait_for_calm(&mut raised);
        let (stop, spinners) = spin(4);
        let started = Instant::now();
        let (alert, seen_at) = next("cpu pressure alert", &|line| {
            assert!(started.elapsed() < BOUND, "no CPU pressure alert in time");
            is_cpu_alert(line) && line["alert"]["level"] != "healthy"
        });
        stop.store(true, Ordering::Relaxed);
        for spinner in spinners {
            spinner.join().unwrap();
        }
        raised = true;
        println!(
            "cpu pressure reported {:?} after 4 threads began spinning, without CAP_SYS_RESOURCE: {}",
            seen_at.duration_since(started),
            alert["alert"]
        );
        if alert["alert"]["value"] != alert["alert"]["threshold"] {
            sampled = Some(alert);
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    assert!(
        sampled.is_some(),
        "a kernel trigger raised it first every time: the sampled share raised nothing"
    );
}

/// A small ext4 image mounted (loop) at a directory, and bind-mounted at a
/// second one; unmounted when dropped (if not already).
struct LoopDisk {
    points: Vec<std::path::PathBuf>,
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        for point in self.points.iter().rev() {
            let _ = std::process::Command::new("umount").arg(point).status();
        }
    }
}

fn run(command: &str, args: &[&std::ffi::OsStr]) {
    let status = std::process::Command::new(command)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|err| panic!("{command}: {err}"));
    assert!(status.success(), "{command} {args:?}: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, mkfs.ext4 and a loop device: mounts a disk image"]
async fn a_bind_mounted_disk_is_one_disk_and_its_unmounting_clears_its_alert() {
    use std::ffi::OsStr;
    use steward::config::{DiskLevels, FreeLevels};
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("loop-disk-{}", std::process::id()));
    let (image, point, bound) = (dir.join("image"), dir.join("d"), dir.join("bound/deeper"));
    std::fs::create_dir_all(&point).unwrap();
    std::fs::create_dir_all(&bound).unwrap();
    std::fs::File::create(&image)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    run("mkfs.ext4", &[OsStr::new("-q"), image.as_os_str()]);
    run(
        "mount",
        &[
            OsStr::new("-o"),
            OsStr::new("loop"),
            image.as_os_str(),
            point.as_os_str(),
        ],
    );
    let mut disk = LoopDisk {
        points: vec![point.clone()],
    };
    run(
        "mount",
        &[OsStr::new("--bind"), point.as_os_str(), bound.as_os_str()],
    );
    disk.points.push(bound.clone());

    // Any use of that disk at all is a warning.
    let thresholds = Thresholds::default().with_disk(
        &point,
        DiskLevels {
            percent: Levels::new(0.001, 100.0),
            free: FreeLevels::default(),
        },
    );
    let steward = Steward::builder()
        .monitor_interval(Duration::from_millis(200))
        .thresholds(thresholds)
        .start()
        .unwrap();
    let monitor = steward.monitor();
    let mut alerts = monitor.subscribe();
    let reading = first_reading(monitor).await;
    let ours: Vec<_> = reading
        .disks
        .iter()
        .filter(|d| d.is_mounted_at(&point) || d.is_mounted_at(&bound))
        .collect();
    assert_eq!(ours.len(), 1, "one reading for the device: {ours:?}");
    assert_eq!(
        ours[0].mount_point, point,
        "named by its shortest mount point"
    );
    assert_eq!(ours[0].mount_points, [point.clone(), bound.clone()]);
    let resource = MachineResource::Disk(point.clone());
    let raised = alerts_over_samples(monitor, &mut alerts, &resource, 3).await;
    assert_eq!(
        raised.len(),
        1,
        "one alert, not one per mount point: {raised:?}"
    );

    drop(disk); // unmounts both
    let cleared = alerts_over_samples(monitor, &mut alerts, &resource, 3).await;
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert_eq!(
        (cleared[0].previous, cleared[0].level, cleared[0].value),
        (
            Level::Warning,
            Level::Healthy,
            steward::monitor::Measure::Unmounted
        )
    );
    steward.shutdown().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
