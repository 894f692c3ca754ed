//! Close and drain with creates in flight: every waiter fails at once,
//! the creates are cancelled, a result that arrives anyway is destroyed
//! once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep};

use super::{eventually, spawn_acquires};
use crate::UserError;
use crate::pool::{Manager, Pool, PoolError};
use crate::retry::RetryPolicy;

/// Creates wait for the gate (or 3 s without one); counts what started,
/// finished, was cancelled and destroyed.
struct Slow {
    gate: Option<Semaphore>,
    started: AtomicU32,
    finished: AtomicU32,
    cancelled: AtomicU32,
    destroyed: AtomicU32,
}

impl Slow {
    fn new(gated: bool) -> Arc<Self> {
        Arc::new(Self {
            gate: gated.then(|| Semaphore::new(0)),
            started: AtomicU32::new(0),
            finished: AtomicU32::new(0),
            cancelled: AtomicU32::new(0),
            destroyed: AtomicU32::new(0),
        })
    }
}

struct Running<'a>(&'a Slow, bool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Manager for Arc<Slow> {
    type Resource = u32;

    async fn create(&self) -> Result<u32, UserError> {
        let n = self.started.fetch_add(1, Ordering::SeqCst);
        let mut running = Running(self, false);
        match &self.gate {
            Some(gate) => gate.acquire().await.map_err(UserError::msg)?.forget(),
            None => sleep(Duration::from_secs(3)).await,
        }
        running.1 = true;
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(n)
    }

    async fn destroy(&self, _: u32) {
        self.destroyed.fetch_add(1, Ordering::SeqCst);
    }
}

async fn waiting_pool(
    slow: &Arc<Slow>,
) -> (
    Pool<Arc<Slow>>,
    Vec<tokio::task::JoinHandle<Result<(), PoolError>>>,
) {
    let pool = Pool::builder(Arc::clone(slow))
        .name("slow")
        .max_size(4)
        .retry(RetryPolicy::never())
        .create_timeout(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let waiters = spawn_acquires(&pool, 100);
    eventually("4 create, 96 wait for a slot", || {
        slow.started.load(Ordering::SeqCst) == 4 && pool.status().waiting == 96
    })
    .await;
    (pool, waiters)
}

async fn all_closed_at_once(
    waiters: Vec<tokio::task::JoinHandle<Result<(), PoolError>>>,
    since: Instant,
) {
    for waiter in waiters {
        let error = waiter.await.unwrap().unwrap_err();
        assert!(error.is_closed(), "{error}");
    }
    let took = since.elapsed();
    assert!(
        took < Duration::from_millis(50),
        "the last waiter failed after {took:?}"
    );
}

/// The failure 2: pool of 4, creates that take 3 s, 100 acquires,
/// then `close()`.
#[actix_rt::test]
async fn close_fails_all_100_waiters_at_once_and_cancels_the_creates() {
    tokio::time::pause();
    let slow = Slow::new(false);
    let (pool, waiters) = waiting_pool(&slow).await;
    let closing = Instant::now();
    pool.close().await;
    all_closed_at_once(waiters, closing).await;
    eventually("the creates are dropped", || {
        slow.cancelled.load(Ordering::SeqCst) == 4
    })
    .await;
    sleep(Duration::from_secs(10)).await;
    assert_eq!(slow.finished.load(Ordering::SeqCst), 0);
    assert_eq!(
        slow.started.load(Ordering::SeqCst),
        4,
        "nothing else created"
    );
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.waiting),
        (0, 0, 0),
        "{status:?}"
    );
}

#[actix_rt::test]
async fn drain_fails_all_100_waiters_at_once_and_cancels_the_creates() {
    tokio::time::pause();
    let slow = Slow::new(false);
    let (pool, waiters) = waiting_pool(&slow).await;
    let draining = Instant::now();
    pool.drain(Duration::from_secs(30)).await.unwrap();
    assert!(draining.elapsed() < Duration::from_millis(50));
    all_closed_at_once(waiters, draining).await;
    eventually("the creates are dropped", || {
        slow.cancelled.load(Ordering::SeqCst) == 4
    })
    .await;
    assert_eq!(slow.finished.load(Ordering::SeqCst), 0);
}

/// Creates that finished before the close, whose acquires had not taken
/// the resource yet: those acquires fail with `Closed` all the same (or
/// are dropped), and each resource is destroyed once.
#[actix_rt::test]
async fn late_results_are_destroyed_once_each() {
    tokio::time::pause();
    let slow = Slow::new(true);
    let pool = Pool::builder(Arc::clone(&slow))
        .max_size(4)
        .retry(RetryPolicy::never())
        .start()
        .await
        .unwrap();
    let mut acquires: Vec<_> = (0..4).map(|_| Box::pin(pool.acquire())).collect();
    for acquire in &mut acquires {
        assert!(futures::poll!(acquire.as_mut()).is_pending());
    }
    if let Some(gate) = &slow.gate {
        gate.add_permits(4);
    }
    // The creates finish and reply; the acquires are not polled again.
    eventually("created", || slow.finished.load(Ordering::SeqCst) == 4).await;
    pool.close().await;
    let dropped = acquires.split_off(2);
    drop(dropped);
    for acquire in acquires {
        let error = acquire.await.unwrap_err();
        assert!(error.is_closed(), "{error}");
    }
    eventually("every late resource destroyed", || {
        slow.destroyed.load(Ordering::SeqCst) >= 4
    })
    .await;
    sleep(Duration::from_secs(10)).await;
    assert_eq!(slow.destroyed.load(Ordering::SeqCst), 4, "each once");
    assert_eq!(slow.cancelled.load(Ordering::SeqCst), 0);
    let status = pool.status();
    assert_eq!(
        (status.size, status.created, status.destroyed),
        (0, 4, 4),
        "{status:?}"
    );
}
