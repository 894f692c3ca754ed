//! One full refresh of the monitor's readings (goal < 5 ms), CPU figures
//! included (each timed run 200 ms after the last), beside sysinfo's own
//! `refresh_all` (every process too) as the peer; and a cached snapshot
//! read.
//!
//! `cargo bench --bench monitor`

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use steward::Steward;
use steward::monitor::Sampler;

/// Times `work` once per iteration, each run at least sysinfo's minimum
/// CPU interval after the previous one (the wait is not timed): a sample
/// taken sooner would skip the CPU refresh, or (steward's) wait for it.
fn spaced(iters: u64, mut work: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let start = Instant::now();
        work();
        total += start.elapsed();
    }
    total
}

fn refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("full_refresh");
    // Every timed run sleeps 200 ms first: few, short samples.
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_millis(20));
    let mut sampler = Sampler::new();
    sampler.sample();
    group.bench_function("steward_sampler_sample", |b| {
        b.iter_custom(|iters| spaced(iters, || drop(sampler.sample())));
    });
    let mut system = sysinfo::System::new_all();
    let mut disks = sysinfo::Disks::new_with_refreshed_list();
    group.bench_function("sysinfo_refresh_all_and_disks", |b| {
        b.iter_custom(|iters| {
            spaced(iters, || {
                system.refresh_all();
                disks.refresh(true);
            })
        });
    });
    group.finish();

    let steward = Steward::builder().start().expect("steward starts");
    let monitor = steward.monitor().clone();
    let mut group = c.benchmark_group("snapshot");
    group.bench_function("steward_monitor_snapshot", |b| {
        b.iter(|| monitor.snapshot())
    });
    group.finish();
    drop(steward);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = refresh
}
criterion_main!(benches);
