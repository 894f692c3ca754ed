//! Contention: the default acquire waits like deadpool's, with no timer
//! and no clock read; a wait timeout is paid for only when set.

use std::pin::pin;
use std::time::Duration;

use tokio::time::sleep;

use super::{TestManager, builder, start};
use crate::pool::shared::CLOCK_READS;
use crate::pool::{Pool, PoolBuilder};

fn clock_reads() -> u64 {
    CLOCK_READS.with(std::cell::Cell::get)
}

/// 16 tasks on a pool of 4, each 200 times: acquire, yield while holding,
/// drop. Returns the acquires that had to wait and the clock reads.
async fn contend(pool: &Pool<TestManager>) -> (u64, u64) {
    let before = clock_reads();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut waited = 0;
                for _ in 0..200 {
                    let mut acquire = pin!(pool.acquire());
                    let guard = match futures::poll!(acquire.as_mut()) {
                        std::task::Poll::Ready(guard) => guard,
                        std::task::Poll::Pending => {
                            waited += 1;
                            acquire.await
                        }
                    }
                    .unwrap();
                    tokio::task::yield_now().await;
                    drop(guard);
                }
                waited
            })
        })
        .collect();
    let mut waited = 0;
    for task in tasks {
        waited += task.await.unwrap();
    }
    // Every task ran on this thread: the count is theirs.
    (waited, clock_reads() - before)
}

fn contended(builder: PoolBuilder<TestManager>) -> PoolBuilder<TestManager> {
    builder.max_size(4).min_size(4).wait_timeout(None)
}

/// The failure 3, through a counting hook: no clock read (so no
/// deadline, so no timer) on the default path, waits included.
#[actix_rt::test]
async fn the_default_acquire_reads_no_clock_even_when_it_waits() {
    tokio::time::pause();
    let pool = start(contended(builder())).await;
    let (waited, reads) = contend(&pool).await;
    assert!(waited > 100, "the tasks contended: {waited} waits");
    assert_eq!(reads, 0, "{reads} clock reads on the default path");
    assert_eq!(pool.status().created, 4);

    // The hook sees them when a wait timeout is set.
    let bounded = start(contended(builder()).wait_timeout(Some(Duration::from_secs(30)))).await;
    let (waited, reads) = contend(&bounded).await;
    assert!(waited > 100);
    assert!(reads > 0, "a deadline reads the clock");
    assert!(
        reads <= waited,
        "only waits read it: {reads} reads, {waited} waits"
    );
}

/// On a paused clock, a default acquire still waits after an hour: it
/// has no deadline to run into.
#[actix_rt::test]
async fn a_default_acquire_waits_past_any_timeout() {
    tokio::time::pause();
    let pool = start(contended(builder()).max_size(1).min_size(1)).await;
    let held = pool.acquire().await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.acquire().await.map(|guard| *guard) }
    });
    sleep(Duration::from_secs(3600)).await;
    assert!(!waiter.is_finished(), "{:?}", pool.status());
    assert_eq!(pool.status().waiting, 1);
    drop(held);
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
}
