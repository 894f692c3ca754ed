//! Steward's figures as metrics, through the [`metrics`] facade.
//!
//! The actors keep their figures where the hot paths already touch them
//! (a semaphore's free permits, a pool's idle queue, per-worker job
//! counters); the functions here read a status and record it, so a permit,
//! a checkout or a CPU job pays nothing for being observed. A program (or
//! `steward`'s `/metrics` endpoint, before each scrape) calls them when it
//! wants the figures current. Whatever recorder the program installed
//! receives them; with none installed, each call ends at the facade's no-op
//! recorder.
//!
//! # Examples
//!
//! ```
//! use steward_actors::observe;
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::cpu::CpuError> {
//! let cpu = steward_actors::Cpu::start_in(&actix::Arbiter::current(), 2, None)?;
//! observe::describe();
//! observe::record_cpu(&cpu.stats());
//! # Ok(())
//! # }
//! ```
//!
//! # Metrics
//!
#![doc = include_str!("observe/METRICS.md")]

use crate::cpu::CpuStats;
use crate::drive::{DeviceNumber, DriveStats, MountTable};
use crate::lifecycle::State;
use crate::metric::{self, Batch};
use crate::monitor::{Alert, Availability, Level, MachineResource, Reading};
use crate::pool::PoolStatus;
use crate::registry::{ServiceInfo, ServiceKind};
use crate::resource::{OperationCounts, OperationStats};
use crate::supervisor::ChildStatus;
use crate::tracker::TrackerCounts;

/// Tells the installed recorder the help text of every steward metric,
/// and starts observing waits into it (`steward_drive_wait_seconds`,
/// `steward_pool_wait_seconds`):
/// call it once the recorder is installed. Calling it again is harmless.
///
/// Waits are the one figure recorded where it happens rather than read
/// from a status (a status holds how many wait, not how long each did):
/// until this call, a wait that ends costs one relaxed load, and an
/// acquire that waits not at all costs nothing, before or after.
pub fn describe() {
    metric::describe_all();
    metric::wait::start();
}

/// Records a monitor reading: memory, swap, CPU, load, disks, pressure and
/// this process. `mounts` names each disk's device by its mount source
/// (`/dev/sda1`); without it (or for a device it lacks) the device is its
/// number (`8:1`).
pub fn record_reading(reading: &Reading, mounts: Option<&MountTable>) {
    let mut batch = Batch::default();
    let memory = &reading.memory;
    batch.add(&metric::MEMORY_USED, &[], as_f64(memory.used_bytes));
    batch.add(&metric::MEMORY_TOTAL, &[], as_f64(memory.total_bytes));
    batch.add(&metric::SWAP_USED, &[], as_f64(reading.swap.used_bytes));
    batch.add(&metric::CPU_BUSY, &[], reading.cpu.usage_percent / 100.0);
    for (window, value) in [
        ("1m", reading.load.one),
        ("5m", reading.load.five),
        ("15m", reading.load.fifteen),
    ] {
        batch.add(&metric::LOAD_AVERAGE, &[window], value);
    }
    for disk in &reading.disks {
        let mount = disk.mount_point.to_string_lossy();
        let device = mounts
            .and_then(|table| source_of(table, disk.device))
            .unwrap_or_else(|| disk.device.to_string());
        let labels = [device.as_str(), mount.as_ref()];
        batch.add(&metric::DISK_USED, &labels, as_f64(disk.used_bytes));
        batch.add(&metric::DISK_TOTAL, &labels, as_f64(disk.total_bytes));
    }
    let pressure = &reading.pressure;
    for (resource, stalls) in [
        ("cpu", pressure.cpu),
        ("memory", pressure.memory),
        ("io", pressure.io),
    ] {
        let Some(stalls) = stalls else { continue };
        batch.add(
            &metric::PRESSURE_STALL,
            &[resource, "some"],
            stalls.some.avg10_percent / 100.0,
        );
        if let Some(full) = stalls.full {
            batch.add(
                &metric::PRESSURE_STALL,
                &[resource, "full"],
                full.avg10_percent / 100.0,
            );
        }
    }
    let process = &reading.process;
    batch.add(&metric::PROCESS_RESIDENT, &[], as_f64(process.rss_bytes));
    batch.add(&metric::PROCESS_CPU, &[], process.cpu_percent / 100.0);
    batch.add(&metric::MONITOR_SAMPLES, &[], as_f64(reading.sequence));
    batch.record();
}

/// The mount source (`/dev/sda1`) of `device`'s mounts.
fn source_of(mounts: &MountTable, device: DeviceNumber) -> Option<String> {
    mounts
        .mounts()
        .iter()
        .find(|mount| mount.device == device)
        .map(|mount| mount.source.clone())
}

/// Records each watched resource's level (disks: the worst).
pub fn record_availability(availability: &Availability) {
    let mut worst: Vec<(&'static str, Level)> = Vec::new();
    for entry in &availability.resources {
        let name = resource_label(&entry.resource);
        match worst.iter_mut().find(|(seen, _)| *seen == name) {
            Some((_, level)) => *level = (*level).max(entry.level),
            None => worst.push((name, entry.level)),
        }
    }
    for (resource, level) in worst {
        let value = match level {
            Level::Healthy => 0.0,
            Level::Warning => 1.0,
            Level::Critical => 2.0,
        };
        metric::MONITOR_LEVEL.set(&[resource], value);
    }
}

/// Counts an alert the monitor sent.
pub fn record_alert(alert: &Alert) {
    let level = match alert.level {
        Level::Healthy => "healthy",
        Level::Warning => "warning",
        Level::Critical => "critical",
    };
    metric::ALERTS.increment(&[resource_label(&alert.resource), level], 1);
}

fn resource_label(resource: &MachineResource) -> &'static str {
    use crate::monitor::PressureKind;
    match resource {
        MachineResource::Memory => "memory",
        MachineResource::Cpu => "cpu",
        MachineResource::Disk(_) => "disk",
        MachineResource::Pressure(PressureKind::Memory) => "memory_pressure",
        MachineResource::Pressure(PressureKind::Cpu) => "cpu_pressure",
        MachineResource::Pressure(PressureKind::Io) => "io_pressure",
    }
}

/// Records the CPU pool's counters.
pub fn record_cpu(stats: &CpuStats) {
    let mut batch = Batch::default();
    batch.add(&metric::CPU_WORKERS, &[], as_f64(stats.workers));
    batch.add(&metric::CPU_QUEUE_DEPTH, &[], as_f64(stats.queued));
    batch.add(&metric::CPU_RUNNING, &[], as_f64(stats.running));
    for (outcome, count) in [
        ("completed", stats.completed),
        ("panicked", stats.panicked),
        ("skipped", stats.skipped),
    ] {
        batch.add(&metric::CPU_JOBS, &[outcome], as_f64(count));
    }
    batch.record();
}

/// Records each drive's permits, waiters and completed operations.
pub fn record_drives(drives: &[DriveStats]) {
    let mut batch = Batch::default();
    for drive in drives {
        let name = drive.mount_point.to_string_lossy();
        let labels = [name.as_ref()];
        batch.add(&metric::DRIVE_IN_USE, &labels, as_f64(drive.in_flight));
        batch.add(&metric::DRIVE_LIMIT, &labels, as_f64(drive.limit));
        batch.add(&metric::DRIVE_WAITERS, &labels, as_f64(drive.waiting));
        batch.add(&metric::DRIVE_RELEASED, &labels, as_f64(drive.completed));
    }
    batch.record();
}

/// Records how many services the registry holds, by kind.
pub fn record_services(services: &[ServiceInfo]) {
    let mut batch = Batch::default();
    for kind in ["instance", "singleton", "transient"] {
        batch.add(&metric::REGISTRY_SERVICES, &[kind], 0.0);
    }
    for service in services {
        let kind = match service.kind {
            ServiceKind::Instance => "instance",
            ServiceKind::Singleton => "singleton",
            ServiceKind::Transient => "transient",
        };
        batch.add(&metric::REGISTRY_SERVICES, &[kind], 1.0);
    }
    batch.record();
}

/// Records every pool's resources, waiters, counters and state. Pools past
/// the pool-name cap are summed under `pool="other"`, so give this every
/// pool at once.
pub fn record_pools(pools: &[PoolStatus]) {
    let mut batch = Batch::default();
    for pool in pools {
        let name = pool.name.as_str();
        let creating = pool.size.saturating_sub(pool.idle + pool.in_use);
        for (state, count) in [
            ("idle", pool.idle),
            ("in_use", pool.in_use),
            ("creating", creating),
        ] {
            batch.add(&metric::POOL_RESOURCES, &[name, state], as_f64(count));
        }
        batch.add(&metric::POOL_MAX, &[name], as_f64(pool.max_size));
        batch.add(&metric::POOL_WAITERS, &[name], as_f64(pool.waiting));
        batch.add(&metric::POOL_CREATES, &[name, "ok"], as_f64(pool.created));
        batch.add(
            &metric::POOL_CREATES,
            &[name, "error"],
            as_f64(pool.failed_creates),
        );
        batch.add(&metric::POOL_DESTROYS, &[name], as_f64(pool.destroyed));
        batch.add(&metric::POOL_TIMEOUTS, &[name], as_f64(pool.timeouts));
        for state in State::ALL {
            let current = f64::from(u8::from(state == pool.state));
            batch.add(&metric::POOL_STATE, &[name, state.as_str()], current);
        }
        let open = matches!(pool.state, State::Degraded | State::Error);
        batch.add(
            &metric::POOL_BREAKER_OPEN,
            &[name],
            f64::from(u8::from(open)),
        );
    }
    batch.record();
}

/// Records every supervisor's state, running children and each child's
/// restarts: `(name, state, children)` for each, all at once (names past
/// the caps are summed under `other`).
pub fn record_supervisors<'a>(
    supervisors: impl IntoIterator<Item = (&'a str, State, &'a [ChildStatus])>,
) {
    let mut batch = Batch::default();
    for (name, state, children) in supervisors {
        for each in State::ALL {
            let current = f64::from(u8::from(each == state));
            batch.add(&metric::SUPERVISOR_STATE, &[name, each.as_str()], current);
        }
        let running = children.iter().filter(|child| child.running).count();
        batch.add(
            &metric::SUPERVISOR_CHILDREN_RUNNING,
            &[name],
            as_f64(running),
        );
        for child in children {
            batch.add(
                &metric::SUPERVISOR_RESTARTS,
                &[name, child.id.as_str()],
                f64::from(child.restarts),
            );
        }
    }
    batch.record();
}

/// Records what the tracker holds, from [`Tracker::counts`]: running
/// processes by containment, running tasks, the stops by ending, and the
/// CPU time of its cgroups. No label takes a key: a process is counted,
/// never named.
///
/// [`Tracker::counts`]: crate::tracker::Tracker::counts
pub fn record_tracker(counts: &TrackerCounts) {
    let mut batch = Batch::default();
    for (containment, count) in [
        ("cgroup", counts.in_cgroups),
        ("process_group", counts.in_process_groups),
        ("process", counts.alone),
    ] {
        batch.add(&metric::TRACKED_PROCESSES, &[containment], as_f64(count));
    }
    batch.add(&metric::TRACKED_TASKS, &[], as_f64(counts.tasks));
    let stops = counts.stops;
    for (ending, count) in [
        ("exited_by_self", stops.exited_by_self),
        ("terminated", stops.terminated),
        ("killed", stops.killed),
    ] {
        batch.add(&metric::PROCESS_STOPS, &[ending], as_f64(count));
    }
    if let Some(usec) = counts.cpu_usec {
        // The facade's counters are whole numbers: whole seconds, which
        // a rate over a minute or more reads to within a few hundredths
        // of a core.
        batch.add(&metric::TRACKED_CPU, &[], as_f64(usec / 1_000_000));
    }
    batch.record();
}

/// Records every managed resource's state and its operations: counters
/// per operation name, and latency percentiles over the recent calls. Give
/// every resource at once (names past the caps are recorded together
/// under `other`: counters summed, latencies the highest).
pub fn record_resources<'a>(resources: impl IntoIterator<Item = (State, &'a OperationStats)>) {
    let mut batch = Batch::default();
    for (state, stats) in resources {
        let name = stats.resource.as_str();
        for each in State::ALL {
            let current = f64::from(u8::from(each == state));
            batch.add(&metric::RESOURCE_STATE, &[name, each.as_str()], current);
        }
        batch.add(
            &metric::RESOURCE_RECONNECTS,
            &[name],
            as_f64(stats.reconnects),
        );
        let other = (metric::label::OTHER, &stats.other);
        let operations = stats
            .operations
            .iter()
            .map(|(operation, counts)| (operation.as_str(), counts))
            .chain((stats.other.operations > 0).then_some(other));
        for (operation, counts) in operations {
            record_operation(&mut batch, [name, operation], counts);
        }
    }
    batch.record();
}

fn record_operation(batch: &mut Batch, labels: [&str; 2], counts: &OperationCounts) {
    for (metric, count) in [
        (&metric::RESOURCE_OPERATIONS, counts.operations),
        (&metric::RESOURCE_FAILURES, counts.failures),
        (&metric::RESOURCE_TIMEOUTS, counts.timeouts),
        (&metric::RESOURCE_RETRIES, counts.retries),
        (&metric::RESOURCE_DISCONNECTS, counts.disconnects),
    ] {
        batch.add(metric, &labels, as_f64(count));
    }
    let Some(latency) = counts.latency else {
        return;
    };
    let [resource, operation] = labels;
    for (percentile, seconds) in [
        ("50", latency.p50_seconds),
        ("95", latency.p95_seconds),
        ("99", latency.p99_seconds),
        ("100", latency.max_seconds),
    ] {
        batch.max(
            &metric::RESOURCE_LATENCY,
            &[resource, operation, percentile],
            seconds,
        );
    }
}

/// A count as a metric value (exact below 2⁵³).
#[allow(clippy::cast_precision_loss)]
fn as_f64(count: impl TryInto<u64>) -> f64 {
    count.try_into().unwrap_or(u64::MAX) as f64
}

#[cfg(test)]
mod tests;
