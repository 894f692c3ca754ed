//! The CPU pool beside its peers, all with two workers:
//! - a round trip of a trivial job from async code: `cpu.run` vs rayon
//!   `spawn` + oneshot vs `tokio::task::spawn_blocking`;
//! - 100,000 small jobs in flight at once: `cpu.run` vs rayon `spawn` +
//!   oneshot (the same work, bare) and vs a rayon `scope` (no replies).
//!
//! Both run twice: first with no `metrics` recorder, then (`…_with_recorder`)
//! with steward's Prometheus recorder installed by a served `/metrics`.
//! Goal: `cpu.run` ≤ 1.2× rayon, with the recorder as without.
//!
//! `cargo bench --bench cpu`

#[cfg(feature = "observe")]
#[path = "common/recorder.rs"]
mod recorder;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use steward::Steward;
use tokio::sync::oneshot;

const WORKERS: usize = 2;
const JOBS: u64 = 100_000;

/// A small job: enough arithmetic not to be optimised away.
fn small_job(seed: u64) -> u64 {
    (0..64).fold(seed, |acc, i| {
        acc.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i)
    })
}

async fn rayon_run(pool: &rayon::ThreadPool, seed: u64) -> u64 {
    let (tx, rx) = oneshot::channel();
    pool.spawn(move || {
        let _ = tx.send(small_job(seed));
    });
    rx.await.expect("the job replies")
}

fn without_recorder(c: &mut Criterion) {
    let (steward, runtime) = started();
    groups(c, &steward, &runtime, "");
    drop(steward);
}

#[cfg(feature = "observe")]
fn with_recorder(c: &mut Criterion) {
    let (steward, runtime) = started();
    let addr = recorder::install(&steward, &runtime);
    groups(c, &steward, &runtime, "_with_recorder");
    let jobs = recorder::sample(
        &recorder::scrape(addr),
        "steward_cpu_jobs_total{outcome=\"completed\"}",
    );
    eprintln!("steward_cpu_jobs_total{{outcome=\"completed\"}} {jobs:?}");
    assert!(jobs.is_some_and(|jobs| jobs > 0.0));
    drop(steward);
}

#[cfg(not(feature = "observe"))]
fn with_recorder(_: &mut Criterion) {}

fn started() -> (Steward, tokio::runtime::Runtime) {
    let steward = Steward::builder()
        .cpu_workers(WORKERS)
        .start()
        .expect("steward starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(WORKERS)
        .enable_all()
        .build()
        .expect("runtime");
    (steward, runtime)
}

/// Every group, each name with `suffix`.
fn groups(c: &mut Criterion, steward: &Steward, runtime: &tokio::runtime::Runtime, suffix: &str) {
    let cpu = steward.cpu().clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool");

    let mut group = c.benchmark_group(format!("cpu_round_trip{suffix}"));
    group.bench_function("steward_cpu_run", |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(cpu.run(|| small_job(1)).await.expect("runs")) });
    });
    group.bench_function("rayon_spawn_oneshot", |b| {
        b.to_async(runtime)
            .iter(|| async { black_box(rayon_run(&pool, 1).await) });
    });
    group.bench_function("tokio_spawn_blocking", |b| {
        b.to_async(runtime).iter(|| async {
            black_box(
                tokio::task::spawn_blocking(|| small_job(1))
                    .await
                    .expect("runs"),
            )
        });
    });
    group.finish();

    let mut group = c.benchmark_group(format!("cpu_throughput_100k{suffix}"));
    group.throughput(Throughput::Elements(JOBS));
    group.sample_size(10);
    group.bench_function("steward_cpu_run", |b| {
        b.to_async(runtime).iter(|| async {
            let jobs = (0..JOBS).map(|seed| cpu.run(move || small_job(seed)));
            black_box(join_all(jobs).await.len())
        });
    });
    group.bench_function("rayon_spawn_oneshot", |b| {
        b.to_async(runtime).iter(|| async {
            let jobs = (0..JOBS).map(|seed| rayon_run(&pool, seed));
            black_box(join_all(jobs).await.len())
        });
    });
    group.bench_function("rayon_scope", |b| {
        b.iter(|| {
            pool.scope(|scope| {
                for seed in 0..JOBS {
                    scope.spawn(move |_| {
                        black_box(small_job(seed));
                    });
                }
            });
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = without_recorder, with_recorder
}
criterion_main!(benches);
