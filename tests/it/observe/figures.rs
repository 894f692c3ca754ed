//! The figures phase 2 added, through a served steward: drive waits,
//! the tracker's stops and CPU, managed resources.

use std::time::Duration;

use steward::resource::{Resource, ResourceKeeper, RetryPolicy};
use steward::tracker::Containment;
use steward::{State, Steward, UserError};

use super::{http, sample};
use crate::poll;

/// Waits, at most 10 s, until `check` holds; fails the test naming `what`.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    poll::until_async(
        what,
        Duration::from_secs(10),
        || std::future::ready(check()),
    )
    .await;
}

async fn metrics(addr: std::net::SocketAddr) -> String {
    let response = tokio::task::spawn_blocking(move || http::get(addr, "/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    response.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drive_wait_is_observed_in_its_histogram() {
    let steward = Steward::builder()
        .default_io_limit(1)
        .observe(([127, 0, 0, 1], 0))
        .start()
        .unwrap();
    let addr = steward.observed_addrs()[0];
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("drive-wait");
    let drive = steward.drives().drive(&file).unwrap();
    let series = format!(
        "steward_drive_wait_seconds_count{{drive=\"{}\"}}",
        drive.mount_point().display()
    );
    let before = sample(&metrics(addr).await, &series).unwrap_or(0.0);

    let held = drive.acquire().await.unwrap();
    // No wait, no observation: a free permit costs the histogram nothing.
    assert_eq!(sample(&metrics(addr).await, &series).unwrap_or(0.0), before);
    let waiter = {
        let drives = steward.drives().clone();
        let file = file.clone();
        tokio::spawn(async move { drives.acquire(&file).await })
    };
    until("a waiter", || drive.stats().waiting == 1).await;
    drop(held);
    drop(waiter.await.unwrap().unwrap());

    let text = metrics(addr).await;
    let after = sample(&text, &series).unwrap_or(0.0);
    assert!(after > before, "{series}: {before} then {after}\n{text}");
    assert!(text.contains("# TYPE steward_drive_wait_seconds histogram"));
    steward.shutdown().await.unwrap();
}

struct Unit;

impl steward::pool::Manager for Unit {
    type Resource = ();

    async fn create(&self) -> Result<(), UserError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_wait_is_observed_in_its_histogram() {
    let steward = Steward::builder()
        .observe(([127, 0, 0, 1], 0))
        .start()
        .unwrap();
    let addr = steward.observed_addrs()[0];
    let name = format!("waited-{}", std::process::id());
    let pool = steward
        .start_pool(steward::pool::Pool::builder(Unit).name(&name).max_size(1))
        .await
        .unwrap();
    let series = format!("steward_pool_wait_seconds_count{{pool=\"{name}\"}}");

    let held = pool.acquire().await.unwrap();
    // No wait, no observation: a free slot costs the histogram nothing.
    assert_eq!(sample(&metrics(addr).await, &series), None);
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await.map(drop) })
    };
    until("a waiter", || pool.status().waiting == 1).await;
    drop(held);
    waiter.await.unwrap().unwrap();

    let text = metrics(addr).await;
    assert_eq!(sample(&text, &series), Some(1.0), "{text}");
    assert!(text.contains("# TYPE steward_pool_wait_seconds histogram"));
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_counts_its_stops_by_ending() {
    let steward = Steward::builder().start().unwrap();
    let tracker = steward.tracker();
    let mut sleep = std::process::Command::new("sleep");
    sleep.arg("60");
    tracker.spawn("polite", sleep).await.unwrap();
    let mut stubborn = std::process::Command::new("sh");
    // Ignores SIGTERM; says it is ready first, so the trap is set.
    stubborn
        .args(["-c", "trap '' TERM; echo ready; exec sleep 60"])
        .stdout(std::process::Stdio::piped());
    let mut spawned = tracker.spawn_piped("stubborn", stubborn).await.unwrap();
    let mut ready = String::new();
    let stdout = spawned.stdout.take().unwrap();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut ready)
        .await
        .unwrap();
    assert_eq!(ready, "ready\n");

    let polite = tracker
        .stop_process("polite", Duration::from_secs(5))
        .await
        .unwrap();
    let stubborn = tracker
        .stop_process("stubborn", Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(polite.ending, steward::tracker::Ending::Terminated);
    assert_eq!(stubborn.ending, steward::tracker::Ending::Killed);
    let stops = steward.status().await.tracker.unwrap().stops;
    assert_eq!(
        (stops.exited_by_self, stops.terminated, stops.killed),
        (0, 1, 1)
    );
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_counts_the_cpu_of_processes_gone() {
    let steward = Steward::builder().start().unwrap();
    let tracker = steward.tracker();
    let mut busy = std::process::Command::new("sh");
    busy.args(["-c", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done"]);
    let mut spawned = tracker.spawn_piped("busy", busy).await.unwrap();
    assert!(spawned.exit.wait().await.has_exited());
    let status = steward.status().await.tracker.unwrap();
    match status.containment {
        Containment::Cgroup => {
            let own = status.processes.get("busy").and_then(|p| p.usage.cpu_usec);
            let total = status.cpu_usec.unwrap();
            assert!(own.is_some_and(|own| own > 0), "{status:?}");
            // Its cgroup is gone or going: the tracker's still counts it.
            tracker
                .stop_process("busy", Duration::from_secs(1))
                .await
                .unwrap();
            let after = steward.status().await.tracker.unwrap();
            assert!(!after.processes.contains_key("busy"));
            let total_after = after.cpu_usec.unwrap();
            assert!(
                total_after >= total && total_after >= own.unwrap_or(0),
                "{total} then {total_after}, the process's own {own:?}"
            );
        }
        _ => assert_eq!(status.cpu_usec, None, "only a cgroup counts it"),
    }
    steward.shutdown().await.unwrap();
}

struct Api;

impl Resource for Api {
    async fn initialize(&self) -> Result<(), UserError> {
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_resources_show_in_status_and_metrics_and_close_at_shutdown() {
    let (steward, addr) = super::serving();
    let name = format!("managed-{}", std::process::id());
    let api = steward
        .start_resource(ResourceKeeper::builder(&name, Api).without_health_checks())
        .unwrap();
    api.initialize().await.unwrap();
    let policy = RetryPolicy::never();
    for _ in 0..3 {
        api.operation(
            "fetch",
            Duration::from_secs(5),
            |_| async { Ok(1) },
            &policy,
        )
        .await
        .unwrap();
    }
    let failed = api
        .operation(
            "fetch",
            Duration::from_secs(5),
            |_| async { Err::<(), _>(UserError::msg("backend said no")) },
            &policy,
        )
        .await;
    assert!(failed.is_err());
    let watching = api.clone();
    // Steward keeps its own handle: dropping the program's closes nothing.
    drop(api);

    let status = steward.status().await;
    let shown = status.resources.iter().find(|r| r.name == name).unwrap();
    assert_eq!(shown.state, State::Ready);
    assert_eq!(shown.operations.operations["fetch"].operations, 4);
    assert_eq!(shown.status.as_ref().map(|s| s.initializations), Some(1));

    let text = metrics(addr).await;
    let series = |metric: &str, labels: &str| {
        sample(&text, &format!("{metric}{{resource=\"{name}\"{labels}}}"))
    };
    assert_eq!(
        series("steward_resource_state", ",state=\"ready\""),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        series("steward_resource_state", ",state=\"closed\""),
        Some(0.0)
    );
    assert_eq!(
        series("steward_resource_operations_total", ",operation=\"fetch\""),
        Some(4.0)
    );
    assert_eq!(
        series(
            "steward_resource_operation_failures_total",
            ",operation=\"fetch\""
        ),
        Some(1.0)
    );
    assert!(
        series(
            "steward_resource_operation_duration_seconds",
            ",operation=\"fetch\",percentile=\"50\""
        )
        .is_some()
    );

    steward.shutdown().await.unwrap();
    assert_eq!(watching.state(), State::Closed);
}

/// Makes every kind of series appear: a drive wait, a managed resource's
/// operation, a tracked process and a stop.
pub(super) async fn exercise(steward: &Steward, name: &str) {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("exercise");
    let drive = steward.drives().drive(&file).unwrap();
    steward.drives().set_limit(&file, 1).await.unwrap();
    let held = drive.acquire().await.unwrap();
    let waiter = {
        let drive = drive.clone();
        tokio::spawn(async move { drive.acquire().await })
    };
    until("a waiter", || drive.stats().waiting == 1).await;
    drop(held);
    drop(waiter.await.unwrap().unwrap());

    let api = steward
        .start_resource(ResourceKeeper::builder(name, Api).without_health_checks())
        .unwrap();
    api.initialize().await.unwrap();
    api.operation(
        "fetch",
        Duration::from_secs(5),
        |_| async { Ok(()) },
        &RetryPolicy::never(),
    )
    .await
    .unwrap();

    let tracker = steward.tracker();
    for key in ["exercised", "stopped"] {
        let mut sleep = std::process::Command::new("sleep");
        sleep.arg("60");
        tracker.spawn(key, sleep).await.unwrap();
    }
    tracker
        .stop_process("stopped", Duration::from_secs(5))
        .await
        .unwrap();
}
