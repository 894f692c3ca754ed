//! IO permits beside `tokio::sync::Semaphore`, the peer, in one run:
//!
//! - `io_permit`: acquire + release with a free permit, through a kept
//!   [`Drive`](steward::drive::Drive) and (the common case, what
//!   `#[io_bound]` does) by path through `Drives`, whose path cache makes a
//!   known path cost no system call. Goal: by path ≤ 3× the semaphore.
//! - `io_permit_held`: the workload users have: acquire by path, hold the
//!   permit across an await (a yield), release.
//! - `io_permit_contended`: 8 tasks, 2 permits, each task 100 times
//!   acquire by path, yield, release: most acquires wait, so each wait is
//!   observed into `steward_drive_wait_seconds` once a recorder is in.
//!
//! Every group runs twice: first with no `metrics` recorder, then (the
//! same groups, `…_with_recorder`) with steward's Prometheus recorder installed
//! by a served `/metrics`, as in a program that is scraped. Goal: ≤ 2× the
//! semaphore, with the recorder as without.
//!
//! `cargo bench --bench drive`

#[cfg(feature = "observe")]
#[path = "common/recorder.rs"]
mod recorder;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::join_all;
use steward::Steward;
use tokio::sync::Semaphore;

/// Tasks sharing the permits in the contended group, and each one's
/// operations.
const TASKS: usize = 8;
const OPERATIONS: usize = 100;

fn steward() -> Steward {
    Steward::builder()
        .default_io_limit(2)
        .start()
        .expect("steward starts")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A file as a program names it: an absolute path a few levels deep.
fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/drive.rs")
}

/// Every group, each name with `suffix`.
fn groups(c: &mut Criterion, steward: &Steward, runtime: &tokio::runtime::Runtime, suffix: &str) {
    let drives = steward.drives().clone();
    let file = file();
    let drive = drives.drive(&file).expect("a drive");
    let semaphore = Arc::new(Semaphore::new(2));

    let mut group = c.benchmark_group(format!("io_permit{suffix}"));
    group.bench_function("tokio_semaphore_acquire", |b| {
        b.to_async(runtime)
            .iter(|| async { drop(black_box(semaphore.acquire().await.expect("open"))) });
    });
    group.bench_function("steward_drive_acquire", |b| {
        b.to_async(runtime)
            .iter(|| async { drop(black_box(drive.acquire().await.expect("free"))) });
    });
    group.bench_function("steward_drives_acquire_by_path", |b| {
        b.to_async(runtime)
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

    let mut group = c.benchmark_group(format!("io_permit_held{suffix}"));
    group.bench_function("tokio_semaphore_acquire_yield_release", |b| {
        b.to_async(runtime).iter(|| async {
            let permit = semaphore.acquire().await.expect("open");
            tokio::task::yield_now().await;
            drop(black_box(permit));
        });
    });
    group.bench_function("steward_drives_acquire_by_path_yield_release", |b| {
        b.to_async(runtime).iter(|| async {
            let permit = drives.acquire(&file).await.expect("free");
            tokio::task::yield_now().await;
            drop(black_box(permit));
        });
    });
    group.finish();

    let mut group = c.benchmark_group(format!("io_permit_contended{suffix}"));
    group.bench_function("tokio_semaphore_8_tasks_2_permits", |b| {
        b.to_async(runtime).iter(|| async {
            let tasks = (0..TASKS).map(|_| {
                let semaphore = Arc::clone(&semaphore);
                tokio::spawn(async move {
                    for _ in 0..OPERATIONS {
                        let permit = semaphore.acquire().await.expect("open");
                        tokio::task::yield_now().await;
                        drop(black_box(permit));
                    }
                })
            });
            black_box(join_all(tasks).await.len())
        });
    });
    group.bench_function("steward_drives_by_path_8_tasks_2_permits", |b| {
        b.to_async(runtime).iter(|| async {
            let tasks = (0..TASKS).map(|_| {
                let (drives, file) = (drives.clone(), file.clone());
                tokio::spawn(async move {
                    for _ in 0..OPERATIONS {
                        let permit = drives.acquire(&file).await.expect("open");
                        tokio::task::yield_now().await;
                        drop(black_box(permit));
                    }
                })
            });
            black_box(join_all(tasks).await.len())
        });
    });
    group.finish();
}

fn without_recorder(c: &mut Criterion) {
    let steward = steward();
    let runtime = runtime();
    groups(c, &steward, &runtime, "");
    drop(steward);
}

#[cfg(feature = "observe")]
fn with_recorder(c: &mut Criterion) {
    let steward = steward();
    let runtime = runtime();
    let addr = recorder::install(&steward, &runtime);
    groups(c, &steward, &runtime, "_with_recorder");
    let text = recorder::scrape(addr);
    let drive = steward.drives().drive(file()).expect("a drive");
    let series = format!(
        "steward_drive_wait_seconds_count{{drive=\"{}\"}}",
        drive.mount_point().display()
    );
    let waits = recorder::sample(&text, &series);
    eprintln!("{series} {waits:?}");
    assert!(waits.is_some_and(|waits| waits > 0.0), "no wait observed");
    drop(steward);
}

#[cfg(not(feature = "observe"))]
fn with_recorder(_: &mut Criterion) {}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = without_recorder, with_recorder
}
criterion_main!(benches);
