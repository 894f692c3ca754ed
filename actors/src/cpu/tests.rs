use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Duration;

use futures::FutureExt;

use super::*;
use crate::testing::eventually;

fn cpu(workers: usize, queue: Option<QueueBound>) -> Cpu {
    Cpu::start_in(&actix::Arbiter::current(), workers, queue).unwrap()
}

/// `cpu.run(job)` in a task of its own.
fn spawn_run<T: Send + 'static>(
    cpu: &Cpu,
    job: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<Result<T, CpuError>> {
    let cpu = cpu.clone();
    tokio::spawn(async move { cpu.run(job).await })
}

fn factorial(cpu: &Cpu, n: u128) -> u128 {
    if n <= 1 {
        return 1;
    }
    let rest = cpu.run_blocking(|| factorial(cpu, n - 1)).unwrap();
    n.wrapping_mul(rest)
}

#[actix_rt::test]
async fn recursion_through_run_blocking_completes_on_one_worker_at_depth_10_000() {
    let cpu = cpu(1, None);
    let expected = (1..=10_000_u128).fold(1_u128, u128::wrapping_mul);
    let handle = cpu.clone();
    let got = cpu.run(move || factorial(&handle, 10_000)).await.unwrap();
    assert_eq!(got, expected);
    assert_eq!(cpu.stats().completed, 10_000);
}

#[test]
fn recursion_from_sync_code_also_runs_inline() {
    let system = actix::System::new();
    let cpu = system.block_on(async { cpu(1, None) });
    assert_eq!(factorial(&cpu, 20), 2_432_902_008_176_640_000);
}

/// Waits until `expected` threads have arrived, or gives up after a bound
/// so a broken pool fails the test instead of hanging it.
struct Rendezvous {
    arrived: Mutex<HashSet<String>>,
    all_here: Condvar,
    expected: usize,
}

impl Rendezvous {
    fn arrive(&self) -> bool {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        let mut arrived = self.arrived.lock().unwrap();
        arrived.insert(name);
        self.all_here.notify_all();
        let (arrived, _) = self
            .all_here
            .wait_timeout_while(arrived, Duration::from_secs(30), |arrived| {
                arrived.len() < self.expected
            })
            .unwrap();
        arrived.len() >= self.expected
    }
}

#[actix_rt::test]
async fn panicking_jobs_are_errors_and_every_worker_survives() {
    const WORKERS: usize = 3;
    let cpu = cpu(WORKERS, None);
    for i in 0..100 {
        let err = cpu
            .run(move || -> u8 { panic!("job {i} failed") })
            .await
            .unwrap_err();
        assert_eq!(
            err,
            CpuError::Panicked {
                message: format!("job {i} failed")
            }
        );
    }
    assert_eq!(cpu.stats().panicked, 100);

    // WORKERS jobs that each wait for all the others: they finish only if
    // WORKERS distinct threads run them at once.
    let rendezvous = Arc::new(Rendezvous {
        arrived: Mutex::default(),
        all_here: Condvar::new(),
        expected: WORKERS,
    });
    let jobs: Vec<_> = (0..WORKERS)
        .map(|_| {
            let rendezvous = Arc::clone(&rendezvous);
            cpu.run(move || rendezvous.arrive())
        })
        .collect();
    for met in futures::future::join_all(jobs).await {
        assert!(met.unwrap(), "all workers ran at once");
    }
    assert_eq!(rendezvous.arrived.lock().unwrap().len(), WORKERS);
}

#[actix_rt::test]
async fn a_future_dropped_before_its_job_starts_skips_the_job() {
    let cpu = cpu(1, None);
    let (release, blocked) = mpsc::channel::<()>();
    let blocker = spawn_run(&cpu, move || {
        blocked.recv_timeout(Duration::from_secs(30)).is_ok()
    });
    eventually("a job running", || cpu.stats().running == 1).await;

    let ran = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ran);
    let dropped = cpu.run(move || counter.fetch_add(1, Ordering::SeqCst));
    assert!(
        dropped.now_or_never().is_none(),
        "polled once: queued behind the blocker, then dropped"
    );
    assert_eq!(cpu.stats().queued, 1);

    release.send(()).unwrap();
    assert!(blocker.await.unwrap().unwrap());
    // FIFO: once a later job has run, the dropped one has been picked up.
    cpu.run(|| ()).await.unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the dropped job never ran");
    assert_eq!(cpu.stats().skipped, 1);
}

#[actix_rt::test]
async fn a_rejecting_bound_fails_fast_and_a_waiting_bound_waits() {
    for when_full in [WhenFull::Reject, WhenFull::Wait] {
        let cpu = cpu(
            1,
            Some(QueueBound {
                max_queued: 1,
                when_full,
            }),
        );
        let (release, blocked) = mpsc::channel::<()>();
        let first = spawn_run(&cpu, move || {
            blocked.recv_timeout(Duration::from_secs(30)).is_ok()
        });
        eventually("a job running", || cpu.stats().running == 1).await;
        let second = cpu.run(|| 2_u8);
        match when_full {
            WhenFull::Reject => {
                assert_eq!(second.await, Err(CpuError::Saturated { max_queued: 1 }));
                release.send(()).unwrap();
            }
            WhenFull::Wait => {
                let mut second = Box::pin(second);
                assert!((&mut second).now_or_never().is_none(), "waits for the slot");
                release.send(()).unwrap();
                assert_eq!(second.await, Ok(2));
            }
        }
        assert!(first.await.unwrap().unwrap());
    }
}

#[actix_rt::test]
async fn after_shutdown_jobs_fail_with_closed() {
    let cpu = cpu(1, None);
    assert_eq!(cpu.run(|| 1).await, Ok(1));
    cpu.shutdown().await;
    assert_eq!(cpu.run(|| 1).await, Err(CpuError::Closed));
    assert_eq!(cpu.run_blocking(|| 1), Err(CpuError::Closed));
}

#[test]
fn a_pool_of_zero_workers_is_refused() {
    let system = actix::System::new();
    let err = system
        .block_on(async { Cpu::start_in(&actix::Arbiter::current(), 0, None) })
        .unwrap_err();
    assert!(matches!(err, CpuError::Build { workers: 0, .. }));
}

#[actix_rt::test]
async fn queued_counts_only_submitted_jobs_after_inline_ones() {
    let cpu = cpu(1, None);
    for _ in 0..5 {
        let handle = cpu.clone();
        std::thread::spawn(move || handle.run_blocking(|| ()).unwrap())
            .join()
            .unwrap();
    }
    let (release, blocked) = mpsc::channel::<()>();
    let blocker = spawn_run(&cpu, move || {
        blocked.recv_timeout(Duration::from_secs(30)).is_ok()
    });
    eventually("a job running", || cpu.stats().running == 1).await;
    let waiting: Vec<_> = (0..3).map(|_| spawn_run(&cpu, || ())).collect();
    eventually("three jobs queued", || cpu.stats().queued == 3).await;
    release.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    for job in waiting {
        job.await.unwrap().unwrap();
    }
    let stats = cpu.stats();
    assert_eq!(
        (stats.queued, stats.running, stats.completed),
        (0, 0, 9),
        "{stats:?}"
    );
}

#[actix_rt::test]
async fn the_scheduler_is_ready_from_the_start_and_closed_after_shutdown() {
    let cpu = cpu(1, None);
    assert_eq!(cpu.state(), State::Ready);
    let mut moves = cpu.subscribe();
    let view = cpu.view().clone();
    cpu.shutdown().await;
    assert_eq!(cpu.state(), State::Closed);
    assert_eq!(view.state(), State::Closed);
    let closing = moves.recv().await.unwrap();
    assert_eq!((closing.from, closing.to), (State::Ready, State::Closing));
    assert_eq!(moves.recv().await.unwrap().to, State::Closed);
    // The actor is gone: the stream ends.
    assert!(matches!(
        moves.recv().await,
        Err(broadcast::error::RecvError::Closed)
    ));
    assert!(matches!(cpu.run(|| 1).await, Err(CpuError::Closed)));
}

#[actix_rt::test]
async fn an_actor_subscribed_to_the_scheduler_sees_its_shutdown() {
    use actix::{Actor, Context, Handler};

    struct Seen(std::sync::mpsc::Sender<State>);
    impl Actor for Seen {
        type Context = Context<Self>;
    }
    impl Handler<StateChanged> for Seen {
        type Result = ();
        fn handle(&mut self, moved: StateChanged, _: &mut Context<Self>) {
            let _ = self.0.send(moved.to);
        }
    }

    let cpu = cpu(1, None);
    let (sender, seen) = std::sync::mpsc::channel();
    let watcher = Seen(sender).start();
    cpu.subscribe_recipient(watcher.recipient());
    cpu.shutdown().await;
    eventually("the scheduler closed", || cpu.state() == State::Closed).await;
    let mut moves = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while moves.len() < 2 {
            match seen.try_recv() {
                Ok(state) => moves.push(state),
                Err(_) => tokio::task::yield_now().await,
            }
        }
    })
    .await
    .expect("both moves delivered");
    assert_eq!(moves, [State::Closing, State::Closed]);
}
