//! Acquire, hold across an await, return: steward's pool beside deadpool
//! and bb8 with the same no-op manager, in one process, the peers of each
//! shape measured back to back; and the subprocess pool: 100 runs of
//! `true`, pooled vs a fresh runner each time.
//!
//! Each task loops: get → `tokio::task::yield_now()` while holding →
//! drop, the workload of an application that holds a connection across an
//! await. Shapes (tasks / pool size): 1/8, 16/4, 64/8, on a 2-worker
//! runtime. Peers per shape: `steward` and `deadpool` without a wait
//! timeout (neither arms a timer), `steward_wait_30s` and
//! `deadpool_wait_30s` with one (`wait_timeout(Some(30 s))` for both), and
//! `bb8` (whose `get` always runs under its 30 s `connection_timeout`).
//!
//! Every shape is measured twice: in wall time (`pool_…` groups) and in
//! the process's CPU time (`pool_cpu_…`: every thread's time on a CPU,
//! from `/proc/self/task/*/schedstat`), which the other processes of a
//! shared machine do not inflate.
//!
//! The wall-time shapes run a third time (`pool_with_recorder_…`) with
//! steward's Prometheus recorder installed, which observes every wait for
//! a slot (goal: steward ≤ 1.0× deadpool with the recorder as without).
//!
//! `cargo bench --bench pool -- pool_ --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use steward::Steward;
use steward::pool::{Manager, Pool};
use steward::subprocess_pool::SubprocessPool;

#[cfg(feature = "observe")]
#[path = "common/recorder.rs"]
mod recorder;

/// Checkouts each task makes per iteration.
const ROUNDS: usize = 64;

/// The wait timeout of the `_wait_30s` peers.
const WAIT: Duration = Duration::from_secs(30);

struct Noop;

impl Manager for Noop {
    type Resource = ();

    async fn create(&self) -> Result<(), steward::UserError> {
        Ok(())
    }
}

struct DeadpoolNoop;

impl deadpool::managed::Manager for DeadpoolNoop {
    type Type = ();
    type Error = Infallible;

    async fn create(&self) -> Result<(), Infallible> {
        Ok(())
    }

    async fn recycle(
        &self,
        _: &mut (),
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

struct Bb8Noop;

impl bb8::ManageConnection for Bb8Noop {
    type Connection = ();
    type Error = Infallible;

    async fn connect(&self) -> Result<(), Infallible> {
        Ok(())
    }

    async fn is_valid(&self, _: &mut ()) -> Result<(), Infallible> {
        Ok(())
    }

    fn has_broken(&self, _: &mut ()) -> bool {
        false
    }
}

/// Runs `work` on `tasks` tasks at once: inline for one, else spawned on
/// the multi-thread runtime, so checkouts really contend.
async fn fan_out<P, F, Fut>(tasks: usize, pool: &P, work: F)
where
    P: Clone + Send + 'static,
    F: Fn(P) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if tasks == 1 {
        work(pool.clone()).await;
        return;
    }
    let spawned: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(work(pool.clone())))
        .collect();
    for task in spawned {
        task.await.expect("task");
    }
}

/// One task's loop: get, yield while holding, drop.
macro_rules! hold_and_yield {
    ($get:expr) => {
        for _ in 0..ROUNDS {
            let held = $get.await.expect("get");
            tokio::task::yield_now().await;
            black_box(&*held);
            drop(held);
        }
    };
}

fn deadpool_pool(size: usize, wait: Option<Duration>) -> deadpool::managed::Pool<DeadpoolNoop> {
    deadpool::managed::Pool::builder(DeadpoolNoop)
        .max_size(size)
        .wait_timeout(wait)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .expect("deadpool builds")
}

/// The process's CPU time, in nanoseconds: every thread's time on a CPU.
///
/// The kernel brings a thread's figure up to date when the thread leaves
/// the CPU: this thread yields first; the runtime's workers are parked
/// between iterations.
fn process_cpu_ns() -> u64 {
    std::thread::yield_now();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Criterion measurement: the process's CPU time over the iterations.
struct ProcessCpu;

/// Formats CPU time as criterion formats wall time.
static DURATIONS: WallTime = WallTime;

impl Measurement for ProcessCpu {
    type Intermediate = u64;
    type Value = Duration;

    fn start(&self) -> u64 {
        process_cpu_ns()
    }

    fn end(&self, start: u64) -> Duration {
        Duration::from_nanos(process_cpu_ns().saturating_sub(start))
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        DURATIONS.formatter()
    }
}

fn acquire_return_wall(c: &mut Criterion) {
    acquire_return(c, "pool", false);
}

fn acquire_return_cpu(c: &mut Criterion<ProcessCpu>) {
    acquire_return(c, "pool_cpu", false);
}

/// The wall-time shapes again, with steward's Prometheus recorder
/// installed (so every wait for a slot is observed into
/// `steward_pool_wait_seconds`): last, since it stays for the process.
#[cfg(feature = "observe")]
fn acquire_return_with_recorder(c: &mut Criterion) {
    acquire_return(c, "pool_with_recorder", true);
}

#[cfg(not(feature = "observe"))]
fn acquire_return_with_recorder(_: &mut Criterion) {}

fn acquire_return<T: Measurement + 'static>(c: &mut Criterion<T>, prefix: &str, record: bool) {
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    #[cfg(feature = "observe")]
    let recorder = record.then(|| recorder::install(&steward, &runtime));
    #[cfg(not(feature = "observe"))]
    let _ = record;
    for (tasks, size) in [(1_usize, 8_usize), (16, 4), (64, 8)] {
        let start = |wait: Option<Duration>| {
            runtime
                .block_on(
                    Pool::builder(Noop)
                        .max_size(size)
                        .min_size(size)
                        .wait_timeout(wait)
                        .start_in(steward.arbiter()),
                )
                .expect("pool starts")
        };
        let ours = start(None);
        let ours_bounded = start(Some(WAIT));
        let deadpool = deadpool_pool(size, None);
        let deadpool_bounded = deadpool_pool(size, Some(WAIT));
        let bb8 = runtime.block_on(async {
            bb8::Pool::builder()
                .max_size(u32::try_from(size).expect("small"))
                .connection_timeout(WAIT)
                .test_on_check_out(false)
                .build_unchecked(Bb8Noop)
        });
        // Warm every pool to its full size.
        runtime.block_on(async {
            drop(join_all((0..size).map(|_| ours.acquire())).await);
            drop(join_all((0..size).map(|_| ours_bounded.acquire())).await);
            drop(join_all((0..size).map(|_| deadpool.get())).await);
            drop(join_all((0..size).map(|_| deadpool_bounded.get())).await);
            drop(join_all((0..size).map(|_| bb8.get())).await);
        });

        let mut group = c.benchmark_group(format!("{prefix}_{tasks}_tasks_size_{size}"));
        group.throughput(Throughput::Elements((tasks * ROUNDS) as u64));
        // Each steward peer right beside its deadpool peer.
        for (wait, ours, theirs) in [
            ("", &ours, &deadpool),
            ("_wait_30s", &ours_bounded, &deadpool_bounded),
        ] {
            group.bench_function(format!("steward{wait}"), |b| {
                b.to_async(&runtime).iter(|| {
                    fan_out(tasks, ours, |pool| async move {
                        hold_and_yield!(pool.acquire());
                    })
                });
            });
            group.bench_function(format!("deadpool{wait}"), |b| {
                b.to_async(&runtime).iter(|| {
                    fan_out(tasks, theirs, |pool| async move {
                        hold_and_yield!(pool.get());
                    })
                });
            });
        }
        group.bench_function("bb8", |b| {
            b.to_async(&runtime).iter(|| {
                fan_out(tasks, &bb8, |pool| async move {
                    hold_and_yield!(pool.get());
                })
            });
        });
        group.finish();
        runtime.block_on(ours.close());
        runtime.block_on(ours_bounded.close());
    }
    #[cfg(feature = "observe")]
    if let Some(addr) = recorder {
        let text = recorder::scrape(addr);
        let waits = text
            .lines()
            .filter(|line| line.starts_with("steward_pool_wait_seconds_count"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
        eprintln!("pool waits observed with the recorder: {waits}");
        assert!(waits > 0.0, "the contended shapes waited");
    }
    drop(steward);
}

/// 100 runs of `true`, one after another: through one started pool, and
/// through a fresh pool (a new runner) for each run: what starting a pool
/// costs against reusing one.
fn subprocess_runs(c: &mut Criterion) {
    const RUNS: usize = 100;
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pooled = runtime
        .block_on(steward.start_subprocess_pool("bench", 4))
        .expect("pool starts");
    let mut group = c.benchmark_group("subprocess_100_runs_of_true");
    group.sample_size(10);
    group.bench_function("pooled", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..RUNS {
                let output = pooled
                    .run(std::process::Command::new("true"))
                    .await
                    .expect("runs");
                black_box(output.status);
            }
        });
    });
    group.bench_function("fresh_runner_each_time", |b| {
        b.to_async(&runtime).iter(|| async {
            for _ in 0..RUNS {
                let fresh = SubprocessPool::new("fresh", 4);
                fresh
                    .start(steward.tracker(), steward.arbiter())
                    .await
                    .expect("starts");
                let output = fresh
                    .run(std::process::Command::new("true"))
                    .await
                    .expect("runs");
                black_box(output.status);
                fresh.close().await;
            }
        });
    });
    group.finish();
    drop(steward);
}

criterion_group! {
    name = wall;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = acquire_return_wall, subprocess_runs
}
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ProcessCpu).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = acquire_return_cpu
}
criterion_group! {
    name = recorded;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = acquire_return_with_recorder
}
criterion_main!(wall, cpu, recorded);
