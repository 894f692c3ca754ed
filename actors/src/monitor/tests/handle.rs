//! The handle's lifetime: the monitor stops with its last handle.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::super::*;
use crate::Config;

/// Every wait here is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

fn task_dir(tid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/self/task/{tid}"))
}

#[actix_rt::test]
async fn a_monitor_whose_last_handle_is_dropped_stops_and_its_thread_ends() {
    let config = Config::default().with_monitor_interval(Duration::from_millis(200));
    let options = MonitorOptions {
        psi_triggers: Vec::new(),
    };
    let monitor = Monitor::start_with(&actix::Arbiter::current(), &config, options).unwrap();
    let mut readings = monitor.readings();
    tokio::time::timeout(BOUND, readings.wait_for(Option::is_some))
        .await
        .expect("a first reading in time")
        .unwrap();
    let tid = monitor.sampling_thread.load(Ordering::Acquire);
    let comm = std::fs::read_to_string(task_dir(tid).join("comm")).unwrap();
    assert_eq!(comm.trim_end(), "steward-monitor");

    let clone = monitor.clone();
    drop(monitor);
    // One handle left: still sampling.
    let seen = readings
        .borrow_and_update()
        .as_ref()
        .map_or(0, |r| r.sequence);
    tokio::time::timeout(
        BOUND,
        readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence > seen)),
    )
    .await
    .expect("another reading in time")
    .unwrap();
    drop(clone);

    // The last one gone: the actor stops (its reading channel closes) and
    // the thread ends, within 2 s.
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(2), async {
        while readings.changed().await.is_ok() {}
    })
    .await;
    assert!(closed.is_ok(), "the monitor still publishes readings");
    while task_dir(tid).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the sampling thread {tid} is still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
