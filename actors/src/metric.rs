//! Every metric steward records: its name, type, labels and help text,
//! in one table, and the one way to record it.
//!
//! Names follow Prometheus's conventions: a `steward_` prefix, base units
//! in the name (`_bytes`, `_seconds`, `_ratio` for a share between 0 and
//! 1), `_total` on counters and nowhere else. A label whose values come
//! from a fixed list says so; a label whose values are names (of pools,
//! drives, mount points...) is bounded by [`label::Cap`]: the first values
//! seen pass through, each cut to [`label::MAX_VALUE_LEN`] bytes, and every
//! later one is recorded as `other`. The documentation table,
//! `observe/METRICS.md`, is checked against [`ALL`] by a test.
//!
//! Recording goes through the `metrics` facade, so whatever recorder the
//! program installed receives it; with none installed each call returns
//! at the facade's no-op recorder.

pub(crate) mod label;
pub(crate) mod wait;

use std::collections::BTreeMap;

pub(crate) use label::Cap;
pub(crate) use wait::WaitHistogram;

/// A metric's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Only goes up (a restart of the process starts it again at 0).
    Counter,
    /// A value now.
    Gauge,
    /// Observations counted into buckets (`_bucket`, `_sum`, `_count`).
    Histogram,
}

/// Where a label's values come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Values {
    /// One of a fixed list.
    Fixed(&'static [&'static str]),
    /// Names from the machine or the program, bounded by a cap.
    Named(&'static Cap),
}

/// One label of a metric.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label {
    pub(crate) name: &'static str,
    pub(crate) values: Values,
}

/// One metric.
#[derive(Debug)]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) labels: &'static [Label],
    pub(crate) help: &'static str,
}

/// Pool names.
pub(crate) static POOL_NAMES: Cap = Cap::new(128);
/// Supervisor names.
pub(crate) static SUPERVISOR_NAMES: Cap = Cap::new(64);
/// Child ids of supervisors.
pub(crate) static CHILD_NAMES: Cap = Cap::new(256);
/// Mount points of drives with an IO limit.
pub(crate) static DRIVE_NAMES: Cap = Cap::new(64);
/// Mount points of disks the monitor samples.
pub(crate) static MOUNT_NAMES: Cap = Cap::new(64);
/// Mount sources (`/dev/sda1`, `tmpfs`) or device numbers of those disks.
pub(crate) static DEVICE_NAMES: Cap = Cap::new(64);
/// Names of managed resources.
pub(crate) static RESOURCE_NAMES: Cap = Cap::new(128);
/// Operation names of managed resources (each resource keeps at most 64).
pub(crate) static OPERATION_NAMES: Cap = Cap::new(256);

const POOL: Label = named("pool", &POOL_NAMES);
const DRIVE: Label = named("drive", &DRIVE_NAMES);
const SUPERVISOR: Label = named("supervisor", &SUPERVISOR_NAMES);
const CHILD: Label = named("child", &CHILD_NAMES);
const MOUNT: Label = named("mount", &MOUNT_NAMES);
const DEVICE: Label = named("device", &DEVICE_NAMES);
const RESOURCE: Label = named("resource", &RESOURCE_NAMES);
const OPERATION: Label = named("operation", &OPERATION_NAMES);
const fn named(name: &'static str, cap: &'static Cap) -> Label {
    Label {
        name,
        values: Values::Named(cap),
    }
}
const fn fixed(name: &'static str, values: &'static [&'static str]) -> Label {
    Label {
        name,
        values: Values::Fixed(values),
    }
}
/// The monitor's resources, as alerts and levels name them.
const MONITORED: Label = fixed(
    "resource",
    &[
        "memory",
        "cpu",
        "disk",
        "memory_pressure",
        "cpu_pressure",
        "io_pressure",
    ],
);
const LIFECYCLE: Label = fixed(
    "state",
    &[
        "uninitialized",
        "initializing",
        "ready",
        "degraded",
        "error",
        "closing",
        "closed",
    ],
);

macro_rules! metrics {
    ($($id:ident: $kind:ident $name:literal [$($label:expr),*] $help:literal;)*) => {
        $(
            #[doc = $help]
            pub(crate) static $id: Metric = Metric {
                name: $name,
                kind: Kind::$kind,
                labels: &[$($label),*],
                help: $help,
            };
        )*
        /// Every metric, in documentation order.
        pub(crate) static ALL: &[&Metric] = &[$(&$id),*];
    };
}

metrics! {
    MEMORY_USED: Gauge "steward_memory_used_bytes" []
        "Memory of the machine in use: total less available.";
    MEMORY_TOTAL: Gauge "steward_memory_total_bytes" []
        "Memory of the machine.";
    SWAP_USED: Gauge "steward_swap_used_bytes" []
        "Swap of the machine in use.";
    CPU_BUSY: Gauge "steward_cpu_busy_ratio" []
        "Busy share of all cores since the previous sample, 0 to 1.";
    LOAD_AVERAGE: Gauge "steward_load_average" [fixed("window", &["1m", "5m", "15m"])]
        "Runnable and uninterruptible tasks, averaged over the window.";
    DISK_USED: Gauge "steward_disk_used_bytes" [DEVICE, MOUNT]
        "Space in use on a mounted disk (df's Used).";
    DISK_TOTAL: Gauge "steward_disk_total_bytes" [DEVICE, MOUNT]
        "Size of a mounted disk.";
    PRESSURE_STALL: Gauge "steward_pressure_stall_ratio"
        [fixed("resource", &["cpu", "memory", "io"]), fixed("kind", &["some", "full"])]
        "Share of the last 10 s that some (or all) tasks stalled on the resource (Linux PSI), 0 to 1.";
    PROCESS_RESIDENT: Gauge "steward_process_resident_memory_bytes" []
        "Resident memory of this process.";
    PROCESS_CPU: Gauge "steward_process_cpu_ratio" []
        "CPU time of this process since the previous sample, in cores (above 1 when several worked).";
    MONITOR_SAMPLES: Counter "steward_monitor_samples_total" []
        "Samples the monitor took.";
    MONITOR_LEVEL: Gauge "steward_monitor_level" [MONITORED]
        "A resource's level: 0 healthy, 1 warning, 2 critical (for disks, the worst disk).";
    ALERTS: Counter "steward_alerts_total" [MONITORED, fixed("level", &["healthy", "warning", "critical"])]
        "Alerts the monitor sent, by resource and the level entered.";
    CPU_WORKERS: Gauge "steward_cpu_workers" []
        "Worker threads of the CPU pool.";
    CPU_QUEUE_DEPTH: Gauge "steward_cpu_queue_depth" []
        "CPU jobs submitted and not yet picked up by a worker.";
    CPU_RUNNING: Gauge "steward_cpu_jobs_running" []
        "CPU jobs running now.";
    CPU_JOBS: Counter "steward_cpu_jobs_total" [fixed("outcome", &["completed", "panicked", "skipped"])]
        "CPU jobs finished, by outcome (skipped: the caller was gone or the pool shut down).";
    DRIVE_IN_USE: Gauge "steward_drive_permits_in_use" [DRIVE]
        "IO permits of a drive held now.";
    DRIVE_LIMIT: Gauge "steward_drive_permit_limit" [DRIVE]
        "IO permits a drive allows at once.";
    DRIVE_WAITERS: Gauge "steward_drive_waiters" [DRIVE]
        "Tasks waiting for an IO permit of a drive.";
    DRIVE_RELEASED: Counter "steward_drive_permits_released_total" [DRIVE]
        "IO permits of a drive released: operations done.";
    DRIVE_WAIT: Histogram "steward_drive_wait_seconds" [DRIVE]
        "Time an acquire of a drive's IO permit waited, for acquires that found none free (an acquire that found one free waits 0 s and is not observed).";
    REGISTRY_SERVICES: Gauge "steward_registry_services" [fixed("kind", &["instance", "singleton", "transient"])]
        "Services in the registry, by how they are provided.";
    POOL_RESOURCES: Gauge "steward_pool_resources" [POOL, fixed("state", &["idle", "in_use", "creating"])]
        "Resources of a pool, by what they are doing.";
    POOL_MAX: Gauge "steward_pool_max_resources" [POOL]
        "A pool's size limit.";
    POOL_WAITERS: Gauge "steward_pool_waiters" [POOL]
        "Acquires waiting for a resource of a pool.";
    POOL_WAIT: Histogram "steward_pool_wait_seconds" [POOL]
        "Time an acquire of a pool waited for a free slot, for acquires that found none free (an acquire that found one free waits 0 s and is not observed; one that timed out or found the pool closed is not observed either).";
    POOL_CREATES: Counter "steward_pool_creates_total" [POOL, fixed("result", &["ok", "error"])]
        "Resources a pool created, and creates that failed after their retries.";
    POOL_DESTROYS: Counter "steward_pool_destroys_total" [POOL]
        "Resources a pool destroyed.";
    POOL_TIMEOUTS: Counter "steward_pool_timeouts_total" [POOL]
        "Acquires, creates and recycles of a pool that timed out.";
    POOL_STATE: Gauge "steward_pool_state" [POOL, LIFECYCLE]
        "1 for a pool's lifecycle state, 0 for the others.";
    POOL_BREAKER_OPEN: Gauge "steward_pool_breaker_open" [POOL]
        "1 while a pool's circuit breaker is open (degraded or in error: acquires fail fast), else 0.";
    SUPERVISOR_RESTARTS: Counter "steward_supervisor_restarts_total" [SUPERVISOR, CHILD]
        "Restarts of a supervisor's child.";
    SUPERVISOR_CHILDREN_RUNNING: Gauge "steward_supervisor_children_running" [SUPERVISOR]
        "Children of a supervisor running now.";
    SUPERVISOR_STATE: Gauge "steward_supervisor_state" [SUPERVISOR, LIFECYCLE]
        "1 for a supervisor's state, 0 for the others: degraded while restarts are recent, error once it escalated.";
    TRACKED_PROCESSES: Gauge "steward_tracked_processes"
        [fixed("containment", &["cgroup", "process_group", "process"])]
        "Tracked processes running now, by what holds them and their descendants: a cgroup of their own, a process group, only the process itself.";
    TRACKED_TASKS: Gauge "steward_tracked_tasks" []
        "Tracked tasks running now.";
    PROCESS_STOPS: Counter "steward_process_stops_total"
        [fixed("ending", &["exited_by_self", "terminated", "killed"])]
        "Tracked processes the tracker stopped, by how they ended: exited before the stop, after SIGTERM, or killed after the timeout.";
    TRACKED_CPU: Counter "steward_tracked_cpu_seconds_total" []
        "CPU time of every process the tracker held in a cgroup, descendants included, since the tracker started (cgroup containment only).";
    RESOURCE_STATE: Gauge "steward_resource_state" [RESOURCE, LIFECYCLE]
        "1 for a managed resource's lifecycle state, 0 for the others.";
    RESOURCE_RECONNECTS: Counter "steward_resource_reconnects_total" [RESOURCE]
        "Reconnects of a managed resource after an operation found its connection gone.";
    RESOURCE_OPERATIONS: Counter "steward_resource_operations_total" [RESOURCE, OPERATION]
        "Operations of a managed resource that ended, successfully or not, by operation name.";
    RESOURCE_FAILURES: Counter "steward_resource_operation_failures_total" [RESOURCE, OPERATION]
        "Operations of a managed resource that ended in an error, timeouts included.";
    RESOURCE_TIMEOUTS: Counter "steward_resource_operation_timeouts_total" [RESOURCE, OPERATION]
        "Operations of a managed resource that ran out of their timeout.";
    RESOURCE_RETRIES: Counter "steward_resource_operation_retries_total" [RESOURCE, OPERATION]
        "Attempts of a managed resource's operations after their first.";
    RESOURCE_DISCONNECTS: Counter "steward_resource_operation_disconnects_total" [RESOURCE, OPERATION]
        "Attempts of a managed resource's operations that found the connection gone.";
    RESOURCE_LATENCY: Gauge "steward_resource_operation_duration_seconds"
        [RESOURCE, OPERATION, fixed("percentile", &["50", "95", "99", "100"])]
        "Duration of a managed resource's recent operations (the last 1024 calls, retries included) at a percentile; 100 is the slowest.";
}

impl Metric {
    /// Label pairs for `values`, given in the order of [`Metric::labels`],
    /// each bounded.
    fn key_labels(&self, values: &[&str]) -> Vec<::metrics::Label> {
        debug_assert_eq!(
            values.len(),
            self.labels.len(),
            "{}: label count",
            self.name
        );
        self.labels
            .iter()
            .zip(values)
            .map(|(label, value)| ::metrics::Label::new(label.name, label.bound(value)))
            .collect()
    }

    /// Sets a gauge.
    pub(crate) fn set(&self, values: &[&str], value: f64) {
        self.write(self.key_labels(values), Write::Set(value));
    }

    /// Adds to a counter.
    pub(crate) fn increment(&self, values: &[&str], by: u64) {
        self.write(self.key_labels(values), Write::Add(by));
    }

    /// The installed recorder's handle of a histogram, to observe into.
    pub(crate) fn histogram(&self, values: &[&str]) -> ::metrics::Histogram {
        debug_assert_eq!(self.kind, Kind::Histogram, "{}", self.name);
        ::metrics::histogram!(self.name, self.key_labels(values))
    }

    fn write(&self, labels: Vec<::metrics::Label>, write: Write) {
        match (self.kind, write) {
            (Kind::Gauge, Write::Set(value)) => ::metrics::gauge!(self.name, labels).set(value),
            (Kind::Counter, Write::Add(by)) => ::metrics::counter!(self.name, labels).increment(by),
            (Kind::Counter, Write::Count(count)) => {
                ::metrics::counter!(self.name, labels).absolute(count);
            }
            (kind, write) => debug_assert!(false, "{}: {write:?} on a {kind:?}", self.name),
        }
    }

    /// Tells the recorder this metric's help text.
    fn describe(&self) {
        let help = self.help;
        match self.kind {
            Kind::Counter => ::metrics::describe_counter!(self.name, help),
            Kind::Gauge => ::metrics::describe_gauge!(self.name, help),
            Kind::Histogram => ::metrics::describe_histogram!(self.name, help),
        }
    }
}

/// What a record does to a series.
#[derive(Debug, Clone, Copy)]
enum Write {
    /// A gauge's value.
    Set(f64),
    /// A counter's increase.
    Add(u64),
    /// A counter's count, kept elsewhere.
    Count(u64),
}

impl Label {
    /// `value` as recorded: as it is for a fixed list (a value outside
    /// the list is a bug, caught in debug builds), bounded for names.
    fn bound(&self, value: &str) -> String {
        match self.values {
            Values::Fixed(list) => {
                debug_assert!(list.contains(&value), "label {}={value}", self.name);
                value.to_owned()
            }
            Values::Named(cap) => cap.bound(value),
        }
    }
}

/// Tells the installed recorder every metric's help text.
pub(crate) fn describe_all() {
    for metric in ALL {
        metric.describe();
    }
}

/// Snapshot values to record together: values whose bounded labels
/// coincide (several names past a cap, all `other`) are summed, not
/// overwritten by the last.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    values: BTreeMap<(&'static str, Vec<String>), (&'static Metric, f64)>,
}

impl Batch {
    /// Adds `value` to the series of `metric` with these label values.
    pub(crate) fn add(&mut self, metric: &'static Metric, values: &[&str], value: f64) {
        self.series(metric, values, 0.0).1 += value;
    }

    /// Sets the series of `metric` with these label values to `value` if
    /// it is above the value already there: for figures that do not add
    /// up, such as latencies.
    pub(crate) fn max(&mut self, metric: &'static Metric, values: &[&str], value: f64) {
        let series = self.series(metric, values, value);
        series.1 = series.1.max(value);
    }

    fn series(
        &mut self,
        metric: &'static Metric,
        values: &[&str],
        first: f64,
    ) -> &mut (&'static Metric, f64) {
        let bounded = metric
            .labels
            .iter()
            .zip(values)
            .map(|(label, value)| label.bound(value))
            .collect();
        self.values
            .entry((metric.name, bounded))
            .or_insert((metric, first))
    }

    /// Records every value: gauges set, counters set to their count.
    pub(crate) fn record(self) {
        for ((_, labels), (metric, value)) in self.values {
            let labels = metric
                .labels
                .iter()
                .zip(labels)
                .map(|(label, value)| ::metrics::Label::new(label.name, value))
                .collect();
            let write = match metric.kind {
                // Counts are whole numbers the actors keep as u64; their
                // f64 sum is exact below 2⁵³.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Kind::Counter => Write::Count(value as u64),
                Kind::Gauge => Write::Set(value),
                Kind::Histogram => {
                    debug_assert!(false, "{}: histograms are observed, not read", metric.name);
                    continue;
                }
            };
            metric.write(labels, write);
        }
    }
}

#[cfg(test)]
mod tests;
