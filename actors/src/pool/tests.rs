//! The peers' hard cases, on a paused clock: time moves only when every
//! task waits, so timeouts are deterministic and nothing sleeps on hope.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::*;
use crate::UserError;
use crate::lifecycle::State;
use crate::retry::RetryPolicy;

/// What a manager callback does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Ok,
    Fail,
    Slow,
    Never,
    Panic,
}

const ACTS: [Act; 5] = [Act::Ok, Act::Fail, Act::Slow, Act::Never, Act::Panic];
/// Longer than the tasks' acquire timeouts, shorter than the callbacks'.
const SLOW: Duration = Duration::from_millis(300);

async fn act(what: &str, act: Act) -> Result<(), UserError> {
    match act {
        Act::Ok => Ok(()),
        Act::Fail => Err(UserError::msg(format!("{what} failed"))),
        Act::Slow => {
            sleep(SLOW).await;
            Ok(())
        }
        Act::Never => std::future::pending().await,
        Act::Panic => panic!("{what} panicked"),
    }
}

#[derive(Debug)]
struct TestManager {
    create: Mutex<Act>,
    recycle: Mutex<Act>,
    check: Mutex<Act>,
    /// The backend: while down, every create fails.
    up: AtomicBool,
    fail_next_creates: AtomicU32,
    next_id: AtomicU64,
    creates: AtomicU32,
    destroys: AtomicU32,
    checks: AtomicU32,
    recycles: AtomicU32,
}

impl TestManager {
    fn new() -> Self {
        Self {
            create: Mutex::new(Act::Ok),
            recycle: Mutex::new(Act::Ok),
            check: Mutex::new(Act::Ok),
            up: AtomicBool::new(true),
            fail_next_creates: AtomicU32::new(0),
            next_id: AtomicU64::new(1),
            creates: AtomicU32::new(0),
            destroys: AtomicU32::new(0),
            checks: AtomicU32::new(0),
            recycles: AtomicU32::new(0),
        }
    }

    fn set(&self, create: Act, recycle: Act, check: Act) {
        *self.create.lock().unwrap() = create;
        *self.recycle.lock().unwrap() = recycle;
        *self.check.lock().unwrap() = check;
    }

    fn creates(&self) -> u32 {
        self.creates.load(Ordering::SeqCst)
    }
}

impl Manager for TestManager {
    type Resource = u64;

    async fn create(&self) -> Result<u64, UserError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if !self.up.load(Ordering::SeqCst) {
            return Err(UserError::msg("backend down"));
        }
        let fail_now = self
            .fail_next_creates
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail_now {
            return Err(UserError::msg("create failed once"));
        }
        let behaviour = *self.create.lock().unwrap();
        act("create", behaviour).await?;
        Ok(self.next_id.fetch_add(1, Ordering::SeqCst))
    }

    async fn recycle(&self, _: &mut u64) -> Result<(), UserError> {
        self.recycles.fetch_add(1, Ordering::SeqCst);
        let behaviour = *self.recycle.lock().unwrap();
        act("recycle", behaviour).await
    }

    async fn check(&self, _: &mut u64) -> Result<(), UserError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let behaviour = *self.check.lock().unwrap();
        act("check", behaviour).await
    }

    async fn destroy(&self, _: u64) {
        self.destroys.fetch_add(1, Ordering::SeqCst);
    }
}

fn builder() -> PoolBuilder<TestManager> {
    Pool::builder(TestManager::new())
        .name("test")
        .retry(RetryPolicy::never())
        .create_timeout(Duration::from_secs(1))
        .recycle_timeout(Duration::from_secs(1))
        .wait_timeout(Some(Duration::from_secs(10)))
}

async fn start(builder: PoolBuilder<TestManager>) -> Pool<TestManager> {
    builder.start().await.expect("the pool starts")
}

pub(super) use crate::testing::eventually;

/// A full pool of 2 whose health check hangs (for 60 s) on one of its
/// two idle resources.
async fn with_a_hung_check() -> Pool<TestManager> {
    let pool = start(
        builder()
            .max_size(2)
            .min_size(2)
            .health_check_interval(Duration::from_secs(1))
            .recycle_timeout(Duration::from_secs(60)),
    )
    .await;
    pool.manager().set(Act::Ok, Act::Ok, Act::Never);
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(pool.manager().checks.load(Ordering::SeqCst), 1);
    assert_eq!(counts(&pool), (2, 1, 0), "one resource is being checked");
    pool
}

/// `count` acquires on their own tasks, each dropping what it gets.
fn spawn_acquires<M: Manager>(
    pool: &Pool<M>,
    count: usize,
) -> Vec<tokio::task::JoinHandle<Result<(), PoolError>>> {
    (0..count)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(drop) })
        })
        .collect()
}

fn counts(pool: &Pool<TestManager>) -> (usize, usize, usize) {
    let status = pool.status();
    (status.size, status.idle, status.in_use)
}

#[test]
fn handles_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    static_assertions::assert_impl_all!(Pool<TestManager>: Send, Sync, Clone);
    static_assertions::assert_impl_all!(PoolGuard<TestManager>: Send, Sync);
    static_assertions::assert_impl_all!(WeakPool<TestManager>: Send, Sync, Clone);
    static_assertions::assert_impl_all!(PoolError: Send, Sync, Clone);
    let _ = (send_sync::<()>, send::<()>);
    fn acquire_is_send(pool: &Pool<TestManager>) {
        send(&pool.acquire());
        send(&pool.try_acquire());
        send(&pool.close());
        send(&pool.drain(Duration::ZERO));
        send(&pool.resize(1));
    }
    let _ = acquire_is_send;
}

// 1
#[actix_rt::test]
async fn status_is_exact_after_each_acquire_and_drop() {
    tokio::time::pause();
    let pool = start(builder().max_size(3)).await;
    assert_eq!(counts(&pool), (0, 0, 0));
    assert_eq!(pool.state(), State::Ready);

    let first = pool.acquire().await.unwrap();
    assert_eq!(counts(&pool), (1, 0, 1));
    let second = pool.acquire().await.unwrap();
    assert_eq!(counts(&pool), (2, 0, 2));
    drop(first);
    assert_eq!(counts(&pool), (2, 1, 1));
    drop(second);
    assert_eq!(counts(&pool), (2, 2, 0));
    let again = pool.acquire().await.unwrap();
    assert_eq!(counts(&pool), (2, 1, 1));
    assert_eq!(again.uses(), 2, "FIFO: the resource idle longest");

    let status = pool.status();
    assert_eq!(
        (status.created, status.destroyed, status.waiting),
        (2, 0, 0)
    );
    assert_eq!(status.resources.len(), 2);
    assert_eq!(
        status.resources.iter().filter(|r| r.in_use).count(),
        1,
        "{status:?}"
    );
    assert_eq!(status.resources.iter().map(|r| r.uses).sum::<u64>(), 3);
    PoolGuard::discard(again);
    assert_eq!(counts(&pool), (1, 1, 0));
    assert_eq!(pool.status().destroyed, 1);
    let json = serde_json::to_value(pool.status()).unwrap();
    assert_eq!(json["state"], "ready");
    assert_eq!(json["size"], 1);
}

// 2
#[actix_rt::test]
async fn max_size_holds_with_100_tasks_on_a_pool_of_3() {
    tokio::time::pause();
    let pool = start(builder().max_size(3)).await;
    let holding = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (pool, holding, most) = (pool.clone(), holding.clone(), most.clone());
            tokio::spawn(async move {
                let guard = pool.acquire().await?;
                let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                sleep(Duration::from_millis(1)).await;
                holding.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
                Ok::<_, PoolError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 3);
    let status = pool.status();
    assert_eq!((status.size, status.in_use, status.created), (3, 0, 3));
    assert_eq!(status.resources.iter().map(|r| r.uses).sum::<u64>(), 100);
}

// 3
#[actix_rt::test]
async fn cancellation_matrix_leaves_every_slot_usable() {
    tokio::time::pause();
    for callback in ["create", "recycle", "check"] {
        for outcome in ACTS {
            let pool = start(builder().max_size(3).test_on_checkout(true)).await;
            // Resources to recycle and check.
            let warm: Vec<_> = [pool.acquire().await, pool.acquire().await].into();
            drop(warm);
            let manager = pool.manager();
            match callback {
                "create" => manager.set(outcome, Act::Ok, Act::Ok),
                "recycle" => manager.set(Act::Ok, outcome, Act::Ok),
                _ => manager.set(Act::Ok, Act::Ok, outcome),
            }
            let tasks: Vec<_> = (0..20_u64)
                .map(|n| {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        let wait = Duration::from_millis(10 + n * 7);
                        if let Ok(guard) = pool.acquire_timeout(wait).await {
                            sleep(Duration::from_millis(n)).await;
                            drop(guard);
                        }
                    })
                })
                .collect();
            sleep(Duration::from_millis(20)).await;
            for task in tasks.iter().step_by(2) {
                task.abort();
            }
            for task in tasks {
                // Aborted, finished, or panicked inside a callback that the
                // pool caught: the task itself never panics.
                if let Err(error) = task.await {
                    assert!(error.is_cancelled(), "{callback}/{outcome:?}: {error}");
                }
            }
            // Every callback is bounded: let the stragglers end.
            sleep(Duration::from_secs(5)).await;
            manager.set(Act::Ok, Act::Ok, Act::Ok);
            // A failing create may have opened the breaker: the probe
            // closes it within a probe interval.
            sleep(Duration::from_secs(2)).await;
            assert!(pool.state().is_usable(), "{callback}/{outcome:?}");
            let status = pool.status();
            assert!(status.size <= 3, "{callback}/{outcome:?}: {status:?}");
            assert_eq!(
                (status.in_use, status.waiting),
                (0, 0),
                "{callback}/{outcome:?}"
            );
            let all: Vec<_> = [
                pool.acquire_timeout(Duration::from_secs(1)).await,
                pool.acquire_timeout(Duration::from_secs(1)).await,
                pool.acquire_timeout(Duration::from_secs(1)).await,
            ]
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|error| panic!("{callback}/{outcome:?}: {error}"));
            assert_eq!(pool.status().size, 3, "{callback}/{outcome:?}");
            drop(all);
            pool.close().await;
        }
    }
}

// 4
#[actix_rt::test]
async fn a_dropped_acquire_does_not_hold_up_later_waiters() {
    tokio::time::pause();
    let pool = start(builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let mut first = Box::pin(pool.acquire());
    assert!(futures::poll!(first.as_mut()).is_pending(), "queued first");
    let later = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|guard| *guard) }
    });
    eventually("the later waiter queues", || pool.status().waiting == 2).await;
    drop(first);
    assert_eq!(pool.status().waiting, 1);
    let started = Instant::now();
    drop(held);
    assert_eq!(later.await.unwrap().unwrap(), 1);
    assert_eq!(started.elapsed(), Duration::ZERO, "served at once");
}

async fn abort_waiters(pool: &Pool<TestManager>, count: usize) {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { drop(pool.acquire().await) })
        })
        .collect();
    eventually("every task waits", || pool.status().waiting == count).await;
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        assert!(task.await.unwrap_err().is_cancelled());
    }
    assert_eq!(pool.status().waiting, 0);
}

// 5
#[actix_rt::test]
async fn four_times_50_000_aborted_waiters_leave_the_pool_serving() {
    tokio::time::pause();
    let pool = start(builder().max_size(3).min_size(3)).await;
    for _ in 0..4 {
        let held: Vec<_> = [
            pool.acquire().await,
            pool.acquire().await,
            pool.acquire().await,
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
        abort_waiters(&pool, 50_000).await;
        drop(held);
        let again: Vec<_> = [
            pool.try_acquire().await,
            pool.try_acquire().await,
            pool.try_acquire().await,
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
        drop(again);
    }
    let status = pool.status();
    assert_eq!((status.size, status.idle, status.created), (3, 3, 3));
}

// 6
#[actix_rt::test]
async fn waiters_25_000_all_succeed_in_fifo_order() {
    tokio::time::pause();
    const WAITERS: usize = 25_000;
    let pool = start(builder().max_size(3).min_size(3)).await;
    let held: Vec<_> = [
        pool.acquire().await,
        pool.acquire().await,
        pool.acquire().await,
    ]
    .into_iter()
    .collect::<Result<_, _>>()
    .unwrap();
    let order = Arc::new(Mutex::new(Vec::with_capacity(WAITERS)));
    let tasks: Vec<_> = (0..WAITERS)
        .map(|n| {
            let (pool, order) = (pool.clone(), order.clone());
            tokio::spawn(async move {
                let guard = pool.acquire().await?;
                order.lock().unwrap().push(n);
                drop(guard);
                Ok::<_, PoolError>(())
            })
        })
        .collect();
    eventually("every task waits", || pool.status().waiting == WAITERS).await;
    drop(held);
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), WAITERS);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "served in arrival order"
    );
    assert_eq!(pool.status().created, 3);
}

// 7
#[actix_rt::test]
async fn a_failed_create_passes_the_slot_to_the_next_waiter() {
    tokio::time::pause();
    let pool = start(builder().max_size(1)).await;
    pool.manager().fail_next_creates.store(1, Ordering::SeqCst);
    let first = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|guard| *guard) }
    });
    let second = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|guard| *guard) }
    });
    let first = first.await.unwrap();
    assert!(
        matches!(&first, Err(PoolError::Create { error, .. }) if error.to_string() == "create failed once"),
        "{first:?}"
    );
    assert_eq!(second.await.unwrap().unwrap(), 1);
    assert_eq!(pool.manager().creates(), 2);
    assert_eq!(pool.state(), State::Ready, "one success resets the breaker");
}

// 8
#[actix_rt::test]
async fn broken_resources_are_replaced_and_do_not_starve_waiters() {
    tokio::time::pause();
    let pool = start(builder().max_size(2).min_size(2)).await;
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let guard = pool.acquire().await?;
                sleep(Duration::from_millis(1)).await;
                if n % 2 == 0 {
                    // Found broken while in use.
                    PoolGuard::discard(guard);
                }
                Ok::<_, PoolError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let status = pool.status();
    assert_eq!(status.destroyed, 25);
    assert!(status.size <= 2, "{status:?}");
    eventually("min_size refilled", || pool.status().size == 2).await;
    assert_eq!(
        pool.status().created,
        27,
        "25 replacements after 2 at start"
    );
}

// 9
#[actix_rt::test]
async fn a_failed_recycle_discards_the_resource_and_a_new_one_is_created() {
    tokio::time::pause();
    let pool = start(builder().max_size(1)).await;
    drop(pool.acquire().await.unwrap());
    pool.manager().set(Act::Ok, Act::Fail, Act::Ok);
    let guard = pool.acquire().await.unwrap();
    assert_eq!(*guard, 2, "a new resource");
    let status = pool.status();
    assert_eq!((status.created, status.destroyed, status.size), (2, 1, 1));
    eventually("the manager destroyed it", || {
        pool.manager().destroys.load(Ordering::SeqCst) == 1
    })
    .await;
}

// 10
#[actix_rt::test]
async fn a_hung_create_times_out_and_does_not_use_up_capacity() {
    tokio::time::pause();
    // The breaker stays out of this one.
    let pool = start(builder().max_size(1).failure_threshold(100)).await;
    pool.manager().set(Act::Never, Act::Ok, Act::Ok);
    for _ in 0..3 {
        let error = pool.acquire().await.unwrap_err();
        assert_eq!(error.timeout_kind(), Some(TimeoutKind::Create), "{error}");
        assert_eq!(counts(&pool), (0, 0, 0), "the slot is free again");
    }
    pool.manager().set(Act::Ok, Act::Ok, Act::Ok);
    assert_eq!(*pool.acquire().await.unwrap(), 1);
}

#[actix_rt::test]
async fn a_hung_recycle_and_a_hung_check_time_out_under_their_own_kinds() {
    tokio::time::pause();
    let cases = [
        (Act::Never, Act::Ok, TimeoutKind::Recycle),
        (Act::Ok, Act::Never, TimeoutKind::Check),
    ];
    for (recycle, check, kind) in cases {
        let pool = start(builder().max_size(1).test_on_checkout(true)).await;
        // One idle resource, recycled and checked at its next checkout.
        drop(pool.acquire().await.unwrap());
        pool.manager().set(Act::Ok, recycle, check);
        let error = pool.acquire().await.unwrap_err();
        assert_eq!(error.timeout_kind(), Some(kind), "{error}");
    }
}

// 11
#[actix_rt::test]
async fn a_create_that_fails_once_is_retried_and_without_retries_fails_fast() {
    tokio::time::pause();
    let retrying = start(
        builder().retry(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_base_delay(Duration::from_millis(10))
                .with_seed(1),
        ),
    )
    .await;
    retrying
        .manager()
        .fail_next_creates
        .store(1, Ordering::SeqCst);
    assert_eq!(*retrying.acquire().await.unwrap(), 1);
    assert_eq!(retrying.manager().creates(), 2);

    let failing = start(builder()).await;
    failing
        .manager()
        .fail_next_creates
        .store(1, Ordering::SeqCst);
    let started = Instant::now();
    let error = failing.acquire().await.unwrap_err();
    assert!(matches!(error, PoolError::Create { .. }), "{error}");
    assert_eq!(started.elapsed(), Duration::ZERO, "no backoff");
    assert_eq!(failing.manager().creates(), 1);
}

// 12
#[actix_rt::test]
async fn a_startup_failure_returns_the_real_error() {
    tokio::time::pause();
    let manager = TestManager::new();
    manager.up.store(false, Ordering::SeqCst);
    let error = Pool::builder(manager)
        .name("db")
        .min_size(2)
        .retry(RetryPolicy::never())
        .start()
        .await
        .unwrap_err();
    match &error {
        PoolError::Create { pool, error } => {
            assert_eq!(pool, "db");
            assert_eq!(error.to_string(), "backend down");
        }
        other => panic!("not the real error: {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "pool \"db\": create failed: backend down"
    );

    let panicking = TestManager::new();
    panicking.set(Act::Panic, Act::Ok, Act::Ok);
    let error = Pool::builder(panicking)
        .min_size(1)
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, PoolError::Panicked { callback: "create", message, .. } if message == "create panicked"),
        "{error:?}"
    );
    let invalid = Pool::builder(TestManager::new())
        .min_size(3)
        .max_size(2)
        .start()
        .await;
    assert!(matches!(
        invalid,
        Err(PoolError::Invalid {
            field: "min_size",
            ..
        })
    ));
}

// 13
#[actix_rt::test]
async fn a_slow_health_check_never_blocks_acquire() {
    tokio::time::pause();
    let pool = with_a_hung_check().await;
    let started = Instant::now();
    let guard = pool.acquire().await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    drop(guard);
    // More rounds never take the last idle resource.
    sleep(Duration::from_secs(5)).await;
    assert_eq!(pool.manager().checks.load(Ordering::SeqCst), 1);
    let started = Instant::now();
    drop(pool.try_acquire().await.unwrap());
    assert_eq!(started.elapsed(), Duration::ZERO);
    // The hung check ends at its timeout: the resource is replaced.
    sleep(Duration::from_secs(60)).await;
    let status = pool.status();
    assert_eq!(
        (status.size, status.destroyed, status.created),
        (2, 1, 3),
        "{status:?}"
    );
}

// 14
#[actix_rt::test]
async fn idle_timeout_reaps_only_idle_and_max_lifetime_ends_a_returned_resource() {
    tokio::time::pause();
    let pool = start(
        builder()
            .max_size(3)
            .idle_timeout(Duration::from_secs(10))
            .maintenance_interval(Duration::from_secs(1)),
    )
    .await;
    let guards = [
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
    ];
    let [kept, a, b] = guards;
    drop((a, b));
    sleep(Duration::from_secs(12)).await;
    assert_eq!(counts(&pool), (1, 0, 1), "only the idle ones were reaped");
    drop(kept);
    assert_eq!(counts(&pool), (1, 1, 0));

    let pool = start(
        builder()
            .max_size(4)
            .max_lifetime(Duration::from_secs(10))
            .lifetime_jitter(0.5)
            .seed(7)
            .maintenance_interval(Duration::from_secs(1)),
    )
    .await;
    let held = pool.acquire().await.unwrap();
    let others = [
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
        pool.acquire().await.unwrap(),
    ];
    drop(others);
    let mut sizes = Vec::new();
    for _ in 0..11 {
        sleep(Duration::from_secs(1)).await;
        sizes.push(pool.status().size);
    }
    assert_eq!(
        counts(&pool),
        (1, 0, 1),
        "the expired held one stays while in use"
    );
    sizes.dedup();
    assert!(sizes.len() >= 3, "jittered lifetimes end apart: {sizes:?}");
    drop(held);
    assert_eq!(counts(&pool), (0, 0, 0), "expired, so destroyed on return");
}

// 15
#[actix_rt::test]
async fn min_size_is_filled_at_start_and_refilled() {
    tokio::time::pause();
    let pool = start(builder().max_size(5).min_size(3)).await;
    assert_eq!(counts(&pool), (3, 3, 0));
    let a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    PoolGuard::discard(a);
    let detached = PoolGuard::detach(b);
    assert_eq!(detached, 2);
    assert_eq!(pool.status().size, 1);
    eventually("refilled to min_size", || pool.status().size == 3).await;
    assert_eq!(counts(&pool), (3, 3, 0));
    assert_eq!(pool.status().created, 5);
}

// 16
#[actix_rt::test]
async fn drop_acquire_cycles_create_no_more_than_needed() {
    tokio::time::pause();
    let pool = start(builder().max_size(10)).await;
    for _ in 0..100 {
        drop(pool.acquire().await.unwrap());
    }
    assert_eq!(pool.status().created, 1);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    let guard = pool.acquire().await?;
                    tokio::task::yield_now().await;
                    drop(guard);
                }
                Ok::<_, PoolError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let status = pool.status();
    assert!(status.created <= 4, "{status:?}");
    assert_eq!(status.size as u64, status.created);
}

// 17
#[actix_rt::test]
async fn resize_down_up_both_ways_quickly_and_after_close() {
    tokio::time::pause();
    let pool = start(builder().max_size(4)).await;
    let held: Vec<_> = futures::future::try_join_all((0..4).map(|_| pool.acquire()))
        .await
        .unwrap();
    pool.resize(2).await.unwrap();
    assert_eq!(pool.status().max_size, 2);
    drop(held);
    assert_eq!(
        counts(&pool),
        (2, 2, 0),
        "the excess is destroyed as it comes back"
    );
    let two: Vec<_> = futures::future::try_join_all((0..2).map(|_| pool.acquire()))
        .await
        .unwrap();
    assert!(matches!(
        pool.try_acquire().await,
        Err(PoolError::Busy { max_size: 2, .. })
    ));

    // Up with waiters.
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.acquire().await.map(PoolGuard::detach) })
        })
        .collect();
    eventually("three wait", || pool.status().waiting == 3).await;
    pool.resize(5).await.unwrap();
    for waiter in waiters {
        waiter.await.unwrap().unwrap();
    }
    drop(two);

    // Quickly both ways, then the limit holds.
    for size in [1, 9, 2, 8, 3] {
        pool.resize(size).await.unwrap();
    }
    let three: Vec<_> = futures::future::try_join_all((0..3).map(|_| pool.acquire()))
        .await
        .unwrap();
    assert!(matches!(
        pool.try_acquire().await,
        Err(PoolError::Busy { .. })
    ));
    assert!(pool.status().size <= 3);
    drop(three);
    assert!(pool.resize(0).await.is_err());

    pool.close().await;
    assert!(pool.resize(4).await.unwrap_err().is_closed());
}

// 18
#[actix_rt::test]
async fn close_fails_waiters_destroys_late_returns_and_drain_waits_bounded() {
    tokio::time::pause();
    let pool = start(builder().max_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let waiters = spawn_acquires(&pool, 5);
    eventually("five wait", || pool.status().waiting == 5).await;
    let started = Instant::now();
    pool.close().await;
    for waiter in waiters {
        assert!(waiter.await.unwrap().unwrap_err().is_closed());
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "waiters fail at once");
    assert!(pool.acquire().await.unwrap_err().is_closed());
    assert_eq!(pool.state(), State::Closed);
    drop(held);
    assert_eq!(counts(&pool), (0, 0, 0));
    eventually("destroyed after close", || {
        pool.manager().destroys.load(Ordering::SeqCst) == 1
    })
    .await;

    let pool = start(builder().max_size(2).min_size(1)).await;
    let held = pool.acquire().await.unwrap();
    tokio::spawn(async move {
        sleep(Duration::from_secs(5)).await;
        drop(held);
    });
    let started = Instant::now();
    pool.drain(Duration::from_secs(30)).await.unwrap();
    // The timer wheel rounds up to the next millisecond.
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(6)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(pool.status().size, 0);
    assert_eq!(pool.manager().destroys.load(Ordering::SeqCst), 1);

    let pool = start(builder()).await;
    let stuck = pool.acquire().await.unwrap();
    let error = pool.drain(Duration::from_secs(1)).await.unwrap_err();
    assert!(
        matches!(error, PoolError::DrainTimeout { in_use: 1, .. }),
        "{error}"
    );
    drop(stuck);
    assert_eq!(pool.status().size, 0);
}

// 19
#[actix_rt::test]
async fn backend_down_then_back_fails_fast_and_recovers_without_a_herd() {
    tokio::time::pause();
    let pool = start(
        builder()
            .max_size(4)
            .failure_threshold(3)
            .probe_interval(Duration::from_secs(1))
            .retry(
                RetryPolicy::default()
                    .with_max_retries(1)
                    .with_base_delay(Duration::from_millis(100))
                    .with_jitter(0.0),
            ),
    )
    .await;
    let mut moves = pool.subscribe();
    let manager = pool.manager();
    manager.up.store(false, Ordering::SeqCst);
    // Attempts count: the first acquire's two attempts make the pool
    // `Degraded`; the second's first attempt is the third failure in a
    // row, which opens the breaker and ends its retry schedule.
    let error = pool.acquire().await.unwrap_err();
    assert!(matches!(error, PoolError::Create { .. }), "{error}");
    assert_eq!(pool.state(), State::Degraded);
    let error = pool.acquire().await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert_eq!(pool.state(), State::Error);
    assert_eq!(moves.recv().await.unwrap().to, State::Degraded);
    assert_eq!(moves.recv().await.unwrap().to, State::Error);
    let before = manager.creates();
    assert_eq!(before, 3, "2 attempts, then 1");
    assert_eq!(pool.status().failed_creates, 3);

    // 100 acquires while the breaker is open: all fail at once, and none
    // creates.
    let started = Instant::now();
    for task in spawn_acquires(&pool, 100) {
        let error = task.await.unwrap().unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        assert!(error.to_string().contains("backend down"), "{error}");
    }
    assert_eq!(started.elapsed(), Duration::ZERO, "failed fast");
    assert_eq!(
        manager.creates(),
        before,
        "no create before the first probe"
    );

    // Down for 10 s: one probe of one attempt every second.
    sleep(Duration::from_secs(10)).await;
    let during = manager.creates() - before;
    assert!((9..=11).contains(&during), "{during} probe creates in 10 s");
    assert_eq!(pool.state(), State::Error);

    manager.up.store(true, Ordering::SeqCst);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(pool.state(), State::Ready, "recovered by itself");
    let recovered = manager.creates();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let guard = pool.acquire().await?;
                sleep(Duration::from_millis(1)).await;
                drop(guard);
                Ok::<_, PoolError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert!(manager.creates() - recovered <= 4, "no herd after recovery");
}

#[actix_rt::test]
async fn a_leaked_guard_is_reported_with_where_it_was_acquired() {
    tokio::time::pause();
    let pool = start(builder().leak_threshold(Duration::from_secs(5))).await;
    let guard = pool.acquire().await.unwrap();
    let line = line!() - 1;
    sleep(Duration::from_secs(7)).await;
    let leaks = pool.shared().new_leaks(Duration::from_secs(5));
    assert!(leaks.is_empty(), "the keeper reported it already");
    let meta = pool.shared().status();
    assert_eq!(meta.in_use, 1);
    let lease = guard.pooled().meta.lease.lock().unwrap();
    let lease = lease.as_ref().unwrap();
    assert!(lease.reported);
    assert_eq!(lease.location.file(), file!());
    assert_eq!(lease.location.line(), line);
}

#[test]
fn the_state_machine_allows_every_move_the_pool_makes() {
    use State::*;
    for (from, to) in [
        (Uninitialized, Initializing),
        (Initializing, Ready),
        (Initializing, Error),
        (Ready, Degraded),
        (Degraded, Ready),
        (Degraded, Error),
        (Ready, Error),
        (Error, Initializing),
        (Ready, Closing),
        (Error, Closing),
        (Initializing, Closing),
        (Closing, Closed),
    ] {
        assert!(from.can_transition_to(to), "{from} → {to}");
    }
}

/// A manager whose create waits for a gate.
struct Gated {
    gate: tokio::sync::Semaphore,
}

impl Manager for Gated {
    type Resource = u32;
    async fn create(&self) -> Result<u32, UserError> {
        if let Ok(permit) = self.gate.acquire().await {
            permit.forget();
        }
        Ok(7)
    }
}

#[actix_rt::test]
async fn an_acquire_dropped_after_its_create_replied_loses_no_slot() {
    tokio::time::pause();
    let pool = Pool::builder(Gated {
        gate: tokio::sync::Semaphore::new(0),
    })
    .max_size(1)
    .retry(RetryPolicy::never())
    .start()
    .await
    .unwrap();
    let mut acquire = Box::pin(pool.acquire());
    assert!(futures::poll!(acquire.as_mut()).is_pending());
    pool.manager().gate.add_permits(1);
    // The keeper creates and replies; the acquire is never polled again.
    eventually("created", || pool.status().created == 1).await;
    drop(acquire);
    let again = pool.acquire_timeout(Duration::from_secs(1)).await;
    assert_eq!(
        again.map(|guard| *guard).ok(),
        Some(7),
        "{:?}",
        pool.status()
    );
}

#[actix_rt::test]
async fn forever_is_a_usable_wait_and_lifetime() {
    tokio::time::pause();
    let pool = start(
        builder()
            .max_size(1)
            .wait_timeout(Some(Duration::MAX))
            .max_lifetime(Duration::MAX),
    )
    .await;
    let held = pool.acquire().await.unwrap();
    let waiting = pool.clone();
    let waiter = tokio::spawn(async move { waiting.acquire().await.map(drop) });
    tokio::task::yield_now().await;
    drop(held);
    assert!(
        tokio::time::timeout(Duration::from_secs(600), waiter)
            .await
            .unwrap()
            .unwrap()
            .is_ok()
    );
    assert!(pool.drain(Duration::MAX).await.is_ok());
}

#[actix_rt::test]
async fn close_fails_an_acquire_waiting_on_a_create() {
    tokio::time::pause();
    let pool = start(
        builder()
            .max_size(1)
            .create_timeout(Duration::from_secs(10)),
    )
    .await;
    pool.manager().set(Act::Slow, Act::Ok, Act::Ok);
    let waiting = pool.clone();
    let waiter = tokio::spawn(async move { waiting.acquire().await.map(|guard| *guard) });
    eventually("creating", || pool.manager().creates() == 1).await;
    pool.close().await;
    let outcome = tokio::time::timeout(Duration::from_secs(600), waiter)
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.unwrap_err().is_closed());
}

mod breaker;
mod close;
mod contention;
mod outage;
mod upkeep;
