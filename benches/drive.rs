//! `IoPermit` acquire + release beside `tokio::sync::Semaphore` acquire +
//! release: the cost of a per-drive limit with a free permit.
//!
//! `cargo bench --bench drive`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steward::Steward;
use tokio::sync::Semaphore;

fn acquire_release(c: &mut Criterion) {
    let steward = Steward::builder()
        .default_io_limit(2)
        .start()
        .expect("steward starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let drive = steward
        .drives()
        .drive(env!("CARGO_MANIFEST_DIR"))
        .expect("a drive");
    let semaphore = Semaphore::new(2);

    let mut group = c.benchmark_group("io_permit");
    group.bench_function("steward_drive_acquire", |b| {
        b.to_async(&runtime)
            .iter(|| async { drop(black_box(drive.acquire().await.expect("free"))) });
    });
    group.bench_function("tokio_semaphore_acquire", |b| {
        b.to_async(&runtime)
            .iter(|| async { drop(black_box(semaphore.acquire().await.expect("open"))) });
    });
    group.bench_function("steward_drive_try_acquire", |b| {
        b.iter(|| drop(black_box(drive.try_acquire().expect("free"))));
    });
    group.bench_function("tokio_semaphore_try_acquire", |b| {
        b.iter(|| drop(black_box(semaphore.try_acquire().expect("free"))));
    });
    group.finish();
    drop(steward);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = acquire_release
}
criterion_main!(benches);
