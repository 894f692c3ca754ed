//! The tracker's costs, each beside its peer in one run:
//!
//! - `spawn_wait`: spawn + wait of `true` through the tracker vs a bare
//!   `tokio::process::Command`, from 1 task and from 8 tasks at once
//!   (goal: tracker ≤ 1.1× tokio). The tracker's rows: a `CommandSpec` in
//!   its own cgroup (started with `clone3`), the same as a
//!   `std::process::Command` (std's `fork` + `pre_exec`), and a
//!   `CommandSpec` in its own process group (std's `posix_spawn`);
//! - `stop_tree`: stopping a 3-process tree (`sh` and two `sleep`s), cgroup
//!   vs process group, the stop alone timed.
//!
//! `cargo bench --bench tracker` (as root for the cgroup rows).

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use steward::Steward;
use steward::tracker::{ChildIo, CommandSpec, Containment, Tracker};

static KEYS: AtomicU64 = AtomicU64::new(0);

fn key() -> String {
    format!("bench-{}", KEYS.fetch_add(1, Ordering::Relaxed))
}

/// One spawn + wait of `true` through `tracker`, untracked after; as a
/// `std::process::Command` if `std`, else a `CommandSpec`.
async fn tracked_true(tracker: &Tracker, std: bool) {
    let key = key();
    let guard = tracker.process_guard(key.clone());
    let command = if std {
        CommandSpec::from(Command::new("true"))
    } else {
        CommandSpec::new("true")
    };
    let mut spawned = tracker.spawn_piped(key, command).await.expect("spawns");
    spawned.exit.wait().await;
    drop(guard);
}

async fn bare_true() {
    let mut child = tokio::process::Command::new("true")
        .spawn()
        .expect("spawns");
    child.wait().await.expect("waits");
}

/// The stewards to measure: the cgroup one only where cgroups can be made.
fn stewards() -> Vec<(&'static str, Steward)> {
    let mut stewards = Vec::new();
    for (name, containment) in [
        ("cgroup", Containment::Cgroup),
        ("process_group", Containment::ProcessGroup),
    ] {
        match Steward::builder().tracker_containment(containment).start() {
            Ok(steward) => stewards.push((name, steward)),
            Err(error) => eprintln!("{name}: not measured: {error}"),
        }
    }
    stewards
}

/// Runs `iters` of `one` split over `tasks` concurrent tasks; the total
/// time.
async fn concurrently<F, Fut>(iters: u64, tasks: u64, one: F) -> Duration
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let one = one.clone();
            let share = iters / tasks + u64::from(task < iters % tasks);
            tokio::spawn(async move {
                for _ in 0..share {
                    one().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.expect("a task panicked");
    }
    started.elapsed()
}

fn spawn_wait(c: &mut Criterion) {
    let stewards = stewards();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("spawn_wait");
    for tasks in [1_u64, 8] {
        group.bench_function(BenchmarkId::new("tokio_command", tasks), |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| concurrently(iters, tasks, bare_true));
        });
        for (name, steward) in &stewards {
            let tracker = steward.tracker().clone();
            let rows: &[(String, bool)] = if *name == "cgroup" {
                &[
                    (name.to_string(), false),
                    (format!("{name}_std_command"), true),
                ]
            } else {
                &[(name.to_string(), false)]
            };
            for (row, std) in rows {
                let std = *std;
                group.bench_function(
                    BenchmarkId::new(format!("steward_tracker_{row}"), tasks),
                    |b| {
                        b.to_async(&runtime).iter_custom(|iters| {
                            let tracker = tracker.clone();
                            concurrently(iters, tasks, move || {
                                let tracker = tracker.clone();
                                async move { tracked_true(&tracker, std).await }
                            })
                        });
                    },
                );
            }
        }
    }
    group.finish();
    for (_, steward) in stewards {
        let _ = steward.shutdown_blocking();
    }
}

fn stop_tree(c: &mut Criterion) {
    let stewards = stewards();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("stop_tree");
    group.sample_size(20);
    for (name, steward) in &stewards {
        let tracker = steward.tracker().clone();
        group.bench_function(*name, |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let tracker = tracker.clone();
                async move {
                    let mut stopping = Duration::ZERO;
                    for _ in 0..iters {
                        let key = key();
                        let mut tree = CommandSpec::new("sh");
                        tree.args(["-c", "sleep 300 & sleep 300 & echo ready; wait"])
                            .stdout(ChildIo::Piped);
                        let mut spawned = tracker
                            .spawn_piped(key.clone(), tree)
                            .await
                            .expect("spawns");
                        let mut ready = [0_u8; 6];
                        tokio::io::AsyncReadExt::read_exact(
                            spawned.stdout.as_mut().expect("piped"),
                            &mut ready,
                        )
                        .await
                        .expect("the tree runs");
                        let started = Instant::now();
                        tracker
                            .stop_process(&key, Duration::from_secs(5))
                            .await
                            .expect("stops");
                        stopping += started.elapsed();
                    }
                    stopping
                }
            });
        });
    }
    group.finish();
    for (_, steward) in stewards {
        let _ = steward.shutdown_blocking();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = spawn_wait, stop_tree
}
criterion_main!(benches);
