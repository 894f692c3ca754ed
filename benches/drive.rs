//! IO permits beside `tokio::sync::Semaphore`, the peer, in one run:
//!
//! - `io_permit`: acquire + release with a free permit, through a kept
//!   [`Drive`](steward::drive::Drive) and (the common case, what
//!   `#[io_bound]` does) by path through `Drives`, whose path cache makes a
//!   known path cost no system call. Goal: by path ≤ 3× the semaphore.
//! - `io_permit_held`: the workload users have: acquire by path, hold the
//!   permit across an await (a yield), release.
//!
//! `cargo bench --bench drive`

use std::hint::black_box;
use std::path::PathBuf;
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
    let drives = steward.drives().clone();
    // A file as a program names it: an absolute path a few levels deep.
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/drive.rs");
    let drive = drives.drive(&file).expect("a drive");
    let semaphore = Semaphore::new(2);

    let mut group = c.benchmark_group("io_permit");
    group.bench_function("tokio_semaphore_acquire", |b| {
        b.to_async(&runtime)
            .iter(|| async { drop(black_box(semaphore.acquire().await.expect("open"))) });
    });
    group.bench_function("steward_drive_acquire", |b| {
        b.to_async(&runtime)
            .iter(|| async { drop(black_box(drive.acquire().await.expect("free"))) });
    });
    group.bench_function("steward_drives_acquire_by_path", |b| {
        b.to_async(&runtime)
            .iter(|| async { drop(black_box(drives.acquire(&file).await.expect("free"))) });
    });
    group.bench_function("tokio_semaphore_try_acquire", |b| {
        b.iter(|| drop(black_box(semaphore.try_acquire().expect("free"))));
    });
    group.bench_function("steward_drive_try_acquire", |b| {
        b.iter(|| drop(black_box(drive.try_acquire().expect("free"))));
    });
    group.bench_function("steward_drives_try_acquire_by_path", |b| {
        b.iter(|| drop(black_box(drives.try_acquire(&file).expect("free"))));
    });
    group.finish();

    let mut group = c.benchmark_group("io_permit_held");
    group.bench_function("tokio_semaphore_acquire_yield_release", |b| {
        b.to_async(&runtime).iter(|| async {
            let permit = semaphore.acquire().await.expect("open");
            tokio::task::yield_now().await;
            drop(black_box(permit));
        });
    });
    group.bench_function("steward_drives_acquire_by_path_yield_release", |b| {
        b.to_async(&runtime).iter(|| async {
            let permit = drives.acquire(&file).await.expect("free");
            tokio::task::yield_now().await;
            drop(black_box(permit));
        });
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
