use metrics_exporter_prometheus::PrometheusBuilder;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::{record_cpu, record_pools, record_resources, record_tracker};
use crate::cpu::CpuStats;
use crate::lifecycle::State;
use crate::metric::{self, WaitHistogram};
use crate::pool::PoolStatus;
use crate::resource::{LatencySummary, OperationCounts, OperationStats};
use crate::tracker::{
    Contained, ProcessState, ProcessStatus, StopCounts, TaskState, TaskStatus, TrackerCounts, Usage,
};

/// What `record` renders, recorded into a recorder of its own.
fn rendered(record: impl FnOnce()) -> String {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".to_owned()),
            &[0.001, 0.005, 0.01, 0.1],
        )
        .unwrap()
        .build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, record);
    handle.render()
}

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn pool(name: String, waiting: usize, state: State) -> PoolStatus {
    PoolStatus {
        name,
        state,
        max_size: 4,
        min_size: 0,
        size: 3,
        idle: 1,
        in_use: 1,
        waiting,
        created: 5,
        destroyed: 2,
        failed_creates: 1,
        timeouts: 0,
        resources: Vec::new(),
    }
}

#[test]
fn pools_past_the_cap_are_summed_under_other() {
    // The only test of this binary that records pools (the cap is the
    // process's): the first 128 names pass, the three after are `other`.
    let pools: Vec<PoolStatus> = (0..131)
        .map(|i| {
            let state = if i == 1 {
                State::Degraded
            } else {
                State::Ready
            };
            pool(format!("tenant-{i:03}"), i, state)
        })
        .collect();
    let text = rendered(|| record_pools(&pools));
    assert_eq!(
        value(&text, "steward_pool_waiters{pool=\"tenant-127\"}"),
        Some(127.0)
    );
    assert_eq!(
        value(&text, "steward_pool_waiters{pool=\"tenant-128\"}"),
        None
    );
    assert_eq!(
        value(&text, "steward_pool_waiters{pool=\"other\"}"),
        Some(128.0 + 129.0 + 130.0)
    );
    assert_eq!(
        value(
            &text,
            "steward_pool_creates_total{pool=\"other\",result=\"ok\"}"
        ),
        Some(15.0)
    );
    assert_eq!(
        value(
            &text,
            "steward_pool_resources{pool=\"tenant-000\",state=\"creating\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "steward_pool_state{pool=\"tenant-000\",state=\"ready\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "steward_pool_state{pool=\"tenant-000\",state=\"degraded\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "steward_pool_breaker_open{pool=\"tenant-001\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "steward_pool_breaker_open{pool=\"tenant-002\"}"),
        Some(0.0)
    );
    let series = text
        .lines()
        .filter(|line| line.starts_with("steward_pool_waiters{"))
        .count();
    assert_eq!(series, 129, "128 names and `other`");
}

#[test]
fn cpu_counters_are_recorded_as_their_counts() {
    let stats = CpuStats {
        workers: 3,
        queued: 4,
        running: 2,
        completed: 10,
        panicked: 1,
        skipped: 0,
    };
    let text = rendered(|| {
        super::describe();
        record_cpu(&stats);
    });
    assert_eq!(value(&text, "steward_cpu_queue_depth"), Some(4.0));
    assert_eq!(
        value(&text, "steward_cpu_jobs_total{outcome=\"completed\"}"),
        Some(10.0)
    );
    assert!(text.contains("# TYPE steward_cpu_jobs_total counter"));
    assert!(text.contains("# HELP steward_cpu_queue_depth CPU jobs submitted"));
}

fn process(pid: u32, containment: Contained, state: ProcessState) -> ProcessStatus {
    ProcessStatus {
        pid,
        state,
        started: SystemTime::now(),
        containment,
        usage: Usage::default(),
    }
}

#[test]
fn tracked_processes_are_counted_by_containment_and_never_named() {
    let exited = ProcessState::Exited {
        code: Some(0),
        signal: None,
    };
    let processes = [
        process(
            10,
            Contained::Cgroup("/sys/fs/cgroup/x/1".into()),
            ProcessState::Running,
        ),
        process(
            11,
            Contained::Cgroup("/sys/fs/cgroup/x/2".into()),
            ProcessState::Running,
        ),
        process(12, Contained::ProcessGroup(12), exited),
        process(13, Contained::Process(13), ProcessState::Running),
    ];
    let task = |state| TaskStatus {
        state,
        started: SystemTime::now(),
    };
    let tasks = [task(TaskState::Running), task(TaskState::Finished)];
    let counts = TrackerCounts {
        stops: StopCounts {
            exited_by_self: 4,
            terminated: 2,
            killed: 1,
        },
        cpu_usec: Some(2_750_000),
        ..TrackerCounts::count(&processes, &tasks)
    };
    let text = rendered(|| record_tracker(&counts));
    let tracked = |containment: &str| {
        value(
            &text,
            &format!("steward_tracked_processes{{containment=\"{containment}\"}}"),
        )
    };
    assert_eq!(tracked("cgroup"), Some(2.0));
    assert_eq!(tracked("process_group"), Some(0.0), "it exited");
    assert_eq!(tracked("process"), Some(1.0));
    assert_eq!(value(&text, "steward_tracked_tasks"), Some(1.0));
    assert_eq!(
        value(&text, "steward_process_stops_total{ending=\"terminated\"}"),
        Some(2.0)
    );
    assert_eq!(
        value(&text, "steward_process_stops_total{ending=\"killed\"}"),
        Some(1.0)
    );
    assert_eq!(
        value(&text, "steward_tracked_cpu_seconds_total"),
        Some(2.0),
        "whole seconds"
    );
}

#[test]
fn without_a_cgroup_the_tracker_has_no_cpu_series() {
    let text = rendered(|| record_tracker(&TrackerCounts::default()));
    assert!(
        !text.contains("steward_tracked_cpu_seconds_total"),
        "{text}"
    );
    assert_eq!(
        value(&text, "steward_tracked_processes{containment=\"cgroup\"}"),
        Some(0.0)
    );
}

fn counts(operations: u64, failures: u64, p99_seconds: f64) -> OperationCounts {
    OperationCounts {
        operations,
        failures,
        timeouts: 1,
        retries: 3,
        disconnects: 2,
        reconnects: 1,
        latency: Some(LatencySummary {
            samples: 10,
            p50_seconds: 0.01,
            p95_seconds: 0.05,
            p99_seconds,
            max_seconds: 0.5,
        }),
    }
}

#[test]
fn resources_are_recorded_with_their_state_counters_and_latencies() {
    let api = OperationStats {
        resource: "api".to_owned(),
        reconnects: 2,
        operations: BTreeMap::from([
            ("get".to_owned(), counts(40, 3, 0.1)),
            ("put".to_owned(), counts(5, 0, 0.2)),
        ]),
        other: counts(7, 1, 0.3),
    };
    let idle = OperationStats {
        resource: "idle-db".to_owned(),
        reconnects: 0,
        operations: BTreeMap::new(),
        other: OperationCounts::default(),
    };
    let text = rendered(|| {
        record_resources([(State::Degraded, &api), (State::Ready, &idle)]);
    });
    let series = |name: &str, labels: &str| value(&text, &format!("{name}{{{labels}}}"));
    assert_eq!(
        series(
            "steward_resource_state",
            "resource=\"api\",state=\"degraded\""
        ),
        Some(1.0)
    );
    assert_eq!(
        series("steward_resource_state", "resource=\"api\",state=\"ready\""),
        Some(0.0)
    );
    assert_eq!(
        series(
            "steward_resource_state",
            "resource=\"idle-db\",state=\"ready\""
        ),
        Some(1.0)
    );
    assert_eq!(
        series("steward_resource_reconnects_total", "resource=\"api\""),
        Some(2.0)
    );
    assert_eq!(
        series(
            "steward_resource_operations_total",
            "resource=\"api\",operation=\"get\""
        ),
        Some(40.0)
    );
    assert_eq!(
        series(
            "steward_resource_operation_failures_total",
            "resource=\"api\",operation=\"get\""
        ),
        Some(3.0)
    );
    // Names past the resource's own cap come as `other`.
    assert_eq!(
        series(
            "steward_resource_operations_total",
            "resource=\"api\",operation=\"other\""
        ),
        Some(7.0)
    );
    assert_eq!(
        series(
            "steward_resource_operation_duration_seconds",
            "resource=\"api\",operation=\"put\",percentile=\"99\""
        ),
        Some(0.2)
    );
    assert_eq!(
        series(
            "steward_resource_operation_duration_seconds",
            "resource=\"api\",operation=\"get\",percentile=\"100\""
        ),
        Some(0.5)
    );
    // A resource that ran nothing has no operation series.
    assert!(!text.contains("resource=\"idle-db\",operation="), "{text}");
}

#[test]
fn waits_are_observed_into_a_histogram_once_a_recorder_is_announced() {
    metric::wait::start();
    let waits = WaitHistogram::new(&metric::DRIVE_WAIT);
    let text = rendered(|| {
        super::describe();
        waits.observe(Duration::from_millis(3), || "/wait-test".to_owned());
        waits.observe(Duration::from_millis(40), || unreachable!("named once"));
    });
    assert!(
        text.contains("# TYPE steward_drive_wait_seconds histogram"),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "steward_drive_wait_seconds_count{drive=\"/wait-test\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "steward_drive_wait_seconds_bucket{drive=\"/wait-test\",le=\"0.005\"}"
        ),
        Some(1.0),
        "{text}"
    );
}
