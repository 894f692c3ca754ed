//! Per process: spawn + track + stop of `true` through the tracker, beside
//! a bare `tokio::process::Command` spawn + wait.
//!
//! `cargo bench --bench tracker`

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steward::Steward;

fn spawn_and_stop(c: &mut Criterion) {
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tracker = steward.tracker().clone();

    let mut group = c.benchmark_group("process");
    group.bench_function("steward_tracker_spawn_stop", |b| {
        b.to_async(&runtime).iter(|| async {
            tracker
                .spawn("bench", std::process::Command::new("true"))
                .await
                .expect("spawns");
            tracker
                .stop_process("bench", Duration::from_secs(5))
                .await
                .expect("stops")
        });
    });
    group.bench_function("tokio_command_spawn_wait", |b| {
        b.to_async(&runtime).iter(|| async {
            let mut child = tokio::process::Command::new("true")
                .spawn()
                .expect("spawns");
            child.wait().await.expect("waits")
        });
    });
    group.finish();
    drop(steward);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = spawn_and_stop
}
criterion_main!(benches);
