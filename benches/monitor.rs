//! One full refresh of the monitor's readings (goal < 5 ms), beside
//! sysinfo's own `refresh_all` (every process too) as the peer; and a
//! cached snapshot read.
//!
//! `cargo bench --bench monitor`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steward::Steward;
use steward::monitor::Sampler;

fn refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("refresh");
    let mut sampler = Sampler::new();
    sampler.sample();
    group.bench_function("steward_sampler_sample", |b| b.iter(|| sampler.sample()));

    let steward = Steward::builder().start().expect("steward starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let monitor = steward.monitor().clone();
    group.bench_function("steward_monitor_refresh", |b| {
        b.to_async(&runtime)
            .iter(|| async { monitor.refresh().await.expect("refreshes") });
    });

    let mut system = sysinfo::System::new_all();
    let mut disks = sysinfo::Disks::new_with_refreshed_list();
    group.bench_function("sysinfo_refresh_all_and_disks", |b| {
        b.iter(|| {
            system.refresh_all();
            disks.refresh(true);
        });
    });
    group.finish();

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
