//! The pool through the facade: started by steward, closed at shutdown,
//! on real threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use steward::Steward;
use steward::pool::{Manager, Pool, PoolError};
use steward::{State, UserError};

struct Counting(AtomicU32);

impl Manager for Counting {
    type Resource = u32;

    async fn create(&self) -> Result<u32, UserError> {
        Ok(self.0.fetch_add(1, Ordering::SeqCst))
    }
}

#[test]
fn a_pool_started_by_steward_serves_many_threads_and_closes_at_shutdown() {
    let steward = Steward::builder().start().unwrap();
    let pool = steward
        .block_on(
            steward.start_pool(
                Pool::builder(Counting(AtomicU32::new(0)))
                    .name("facade")
                    .max_size(3)
                    .min_size(1)
                    .wait_timeout(Some(Duration::from_secs(30))),
            ),
        )
        .unwrap()
        .unwrap();
    assert_eq!(pool.state(), State::Ready);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    for _ in 0..200 {
                        let guard = pool.acquire().await?;
                        tokio::task::yield_now().await;
                        drop(guard);
                    }
                    Ok::<_, PoolError>(())
                })
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    let status = pool.status();
    assert!(status.size <= 3 && status.created <= 3, "{status:?}");
    assert_eq!(status.in_use, 0);
    steward.shutdown_blocking().unwrap();
    assert!(pool.is_closed());
    assert_eq!(pool.state(), State::Closed);
    let error = steward.block_on(pool.acquire()).unwrap().unwrap_err();
    assert!(error.is_closed());
    assert_eq!(error.to_string(), "pool \"facade\" is closed");
    let error: steward::Error = error.into();
    assert!(matches!(error, steward::Error::Pool(_)));
}

/// Knows when it is dropped, with the pool that owns it.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Manager for Dropped {
    type Resource = u32;

    async fn create(&self) -> Result<u32, UserError> {
        Ok(1)
    }
}

#[test]
fn steward_does_not_keep_a_dropped_pool_alive_and_still_closes_a_kept_one() {
    let steward = Steward::builder().start().unwrap();
    let gone = Arc::new(AtomicBool::new(false));
    let dropped = steward
        .block_on(steward.start_pool(Pool::builder(Dropped(gone.clone())).min_size(1)))
        .unwrap()
        .unwrap();
    let kept = steward
        .block_on(steward.start_pool(Pool::builder(Counting(AtomicU32::new(0))).min_size(1)))
        .unwrap()
        .unwrap();
    drop(dropped);
    assert!(
        gone.load(Ordering::SeqCst),
        "the last handle dropped the pool and its manager"
    );
    steward.shutdown_blocking().unwrap();
    assert!(kept.is_closed());
    assert_eq!(kept.state(), State::Closed);
    assert_eq!(kept.status().size, 0);
}
