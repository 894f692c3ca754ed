//! `Managed::operation` on a healthy resource beside calling the closure
//! directly: an operation that finishes at once (pure overhead), a real
//! TCP round trip to a line-echo server on loopback (a connection held
//! across an await, the workload users have), and 16 tasks at once.
//! `direct_with_tokio_timeout` shows what a plain `tokio::time::timeout`
//! around the call costs.
//!
//! `cargo bench --bench resource -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use steward::resource::{Managed, Resource, ResourceKeeper, RetryPolicy};
use steward::{Steward, UserError};

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/reconnect/echo.rs"]
mod echo;

use echo::{EchoClient, EchoServer};

/// Calls per iteration.
const ROUNDS: u64 = 64;
const TIMEOUT: Duration = Duration::from_secs(5);

/// A resource whose operation is an atomic read: done at its first poll.
#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Resource for Counter {
    async fn initialize(&self) -> Result<(), UserError> {
        Ok(())
    }
    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }
}

async fn read(counter: Arc<Counter>) -> Result<u64, UserError> {
    Ok(counter.0.load(Ordering::Relaxed))
}

/// The policy users write: retries, and a bound on each attempt.
fn users_policy() -> RetryPolicy {
    RetryPolicy::default().with_attempt_timeout(TIMEOUT)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn ready_operation(c: &mut Criterion) {
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = runtime();
    let managed = ResourceKeeper::builder("counter", Counter::default())
        .without_health_checks()
        .start_in(steward.arbiter())
        .expect("starts");
    runtime.block_on(managed.initialize()).expect("initializes");
    let counter = managed.resource().expect("ready");
    let policy = users_policy();

    let mut group = c.benchmark_group("operation_ready");
    group.throughput(Throughput::Elements(ROUNDS));
    group.bench_function("direct", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                black_box(read(Arc::clone(&counter)).await.expect("reads"));
            }
        });
    });
    group.bench_function("direct_with_tokio_timeout", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                let read = tokio::time::timeout(TIMEOUT, read(Arc::clone(&counter)));
                black_box(read.await.expect("in time").expect("reads"));
            }
        });
    });
    group.bench_function("operation", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                let value = managed.operation("read", TIMEOUT, read, &policy).await;
                black_box(value.expect("reads"));
            }
        });
    });
    group.finish();

    let mut group = c.benchmark_group("operation_ready_16_tasks");
    group.throughput(Throughput::Elements(16 * ROUNDS));
    group.bench_function("direct", |b| {
        b.to_async(&runtime).iter(|| {
            fan_out(&managed, |managed| async move {
                let counter = managed.resource().expect("ready");
                for _ in 0..ROUNDS {
                    black_box(read(Arc::clone(&counter)).await.expect("reads"));
                }
            })
        });
    });
    group.bench_function("operation", |b| {
        b.to_async(&runtime).iter(|| {
            fan_out(&managed, |managed| async move {
                let policy = users_policy();
                for _ in 0..ROUNDS {
                    let value = managed.operation("read", TIMEOUT, read, &policy).await;
                    black_box(value.expect("reads"));
                }
            })
        });
    });
    group.finish();
    runtime.block_on(managed.close(TIMEOUT)).expect("closes");
}

/// Runs `work` on 16 spawned tasks at once.
async fn fan_out<R, F, Fut>(managed: &Managed<R>, work: F)
where
    R: Resource,
    F: Fn(Managed<R>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let tasks: Vec<_> = (0..16)
        .map(|_| tokio::spawn(work(managed.clone())))
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
}

fn echo_operation(c: &mut Criterion) {
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = runtime();
    let server = runtime
        .block_on(EchoServer::start())
        .expect("server starts");
    let managed = ResourceKeeper::builder("echo", EchoClient::new(server.addr(), true))
        .without_health_checks()
        .start_in(steward.arbiter())
        .expect("starts");
    runtime.block_on(managed.initialize()).expect("connects");
    let client = managed.resource().expect("ready");
    let policy = users_policy();

    let mut group = c.benchmark_group("operation_tcp_echo");
    group.throughput(Throughput::Elements(ROUNDS));
    group.bench_function("direct", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                black_box(client.call("ping").await.expect("echoes"));
            }
        });
    });
    group.bench_function("direct_with_tokio_timeout", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                let call = tokio::time::timeout(TIMEOUT, client.call("ping"));
                black_box(call.await.expect("in time").expect("echoes"));
            }
        });
    });
    group.bench_function("operation", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..ROUNDS {
                let answer = managed
                    .operation(
                        "echo",
                        TIMEOUT,
                        |client| async move { client.call("ping").await },
                        &policy,
                    )
                    .await;
                black_box(answer.expect("echoes"));
            }
        });
    });
    group.finish();
    runtime.block_on(managed.close(TIMEOUT)).expect("closes");
}

criterion_group!(benches, ready_operation, echo_operation);
criterion_main!(benches);
