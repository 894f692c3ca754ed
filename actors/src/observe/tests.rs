use metrics_exporter_prometheus::PrometheusBuilder;

use super::{record_cpu, record_pools};
use crate::cpu::CpuStats;
use crate::lifecycle::State;
use crate::pool::PoolStatus;

/// What `record` renders, recorded into a recorder of its own.
fn rendered(record: impl FnOnce()) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
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
