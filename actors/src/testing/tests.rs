use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use super::{eventually, poll_until};

#[tokio::test(start_paused = true)]
async fn sees_another_task_make_the_condition_true_without_moving_a_paused_clock() {
    let done = Arc::new(AtomicBool::new(false));
    let setter = Arc::clone(&done);
    tokio::spawn(async move {
        for _ in 0..2_000 {
            tokio::task::yield_now().await;
        }
        setter.store(true, Ordering::SeqCst);
    });
    let start = tokio::time::Instant::now();
    eventually("the task sets the flag", || done.load(Ordering::SeqCst)).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test]
async fn sees_a_thread_make_the_condition_true() {
    let polls = Arc::new(AtomicU32::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let setter = Arc::clone(&done);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        setter.store(true, Ordering::SeqCst);
    });
    eventually("the thread sets the flag", || {
        polls.fetch_add(1, Ordering::SeqCst);
        done.load(Ordering::SeqCst)
    })
    .await;
    assert!(polls.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
#[should_panic(expected = "never happened within 50ms: a flag nobody sets")]
async fn a_condition_that_never_holds_fails_at_the_bound() {
    poll_until(Duration::from_millis(50), "a flag nobody sets", || false).await;
}
