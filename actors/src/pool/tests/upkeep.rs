//! What the last round left out: a health check that holds a resource an
//! acquire wants, a `RecycleOn::Return` guard dropped outside a runtime,
//! a shrink while resources are being recycled.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::{Act, builder, counts, eventually, start, with_a_hung_check};
use crate::pool::RecycleOn;

#[actix_rt::test]
async fn a_hung_health_check_gives_its_resource_up_when_an_acquire_needs_room() {
    tokio::time::pause();
    let pool = with_a_hung_check().await;
    let first = pool.acquire().await.unwrap();
    // Full: the only other resource is under its check.
    let started = Instant::now();
    let second = pool.acquire().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "served without waiting for the check"
    );
    assert_eq!(*second, 3, "a new resource");
    let status = pool.status();
    assert_eq!(
        (status.size, status.in_use, status.created),
        (2, 2, 3),
        "{status:?}"
    );
    eventually("the checked one destroyed", || {
        pool.manager().destroys.load(Ordering::SeqCst) == 1
    })
    .await;
    drop((first, second));
}

#[actix_rt::test]
async fn a_return_guard_dropped_outside_a_runtime_is_recycled_on_the_next_checkout() {
    tokio::time::pause();
    let pool = start(builder().max_size(1).recycle_on(RecycleOn::Return)).await;
    let recycles = || pool.manager().recycles.load(Ordering::SeqCst);
    drop(pool.acquire().await.unwrap());
    eventually("recycled on return", || recycles() == 1).await;
    let guard = pool.acquire().await.unwrap();
    assert_eq!(recycles(), 1, "not on checkout");
    std::thread::spawn(move || drop(guard)).join().unwrap();
    assert_eq!(counts(&pool), (1, 1, 0), "back, not lost");
    assert_eq!(recycles(), 1);
    let again = pool.acquire().await.unwrap();
    assert_eq!(recycles(), 2, "the owed recycle ran on checkout");
    assert_eq!(*again, 1, "the same resource");
    drop(again);
    eventually("recycled on return", || recycles() == 3).await;
}

#[actix_rt::test]
async fn a_shrink_while_resources_are_recycled_leaves_no_excess() {
    tokio::time::pause();
    let pool = start(builder().max_size(4).recycle_on(RecycleOn::Return)).await;
    let held: Vec<_> = futures::future::try_join_all((0..4).map(|_| pool.acquire()))
        .await
        .unwrap();
    pool.manager().set(Act::Ok, Act::Slow, Act::Ok);
    drop(held);
    // All four are being recycled now.
    pool.resize(2).await.unwrap();
    sleep(Duration::from_secs(1)).await;
    let status = pool.status();
    assert_eq!(
        (status.size, status.idle, status.max_size),
        (2, 2, 2),
        "{status:?}"
    );
    assert_eq!(status.destroyed, 2);
    pool.manager().set(Act::Ok, Act::Ok, Act::Ok);
    let two: Vec<_> = futures::future::try_join_all((0..2).map(|_| pool.acquire()))
        .await
        .unwrap();
    assert!(pool.try_acquire().await.is_err());
    assert_eq!(pool.status().size, 2);
    drop(two);
}
