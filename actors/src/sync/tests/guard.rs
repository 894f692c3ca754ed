use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sync::DropGuard;

fn counter() -> (Arc<AtomicUsize>, impl Fn() -> usize) {
    let count = Arc::new(AtomicUsize::new(0));
    let read = Arc::clone(&count);
    (count, move || read.load(Ordering::SeqCst))
}

#[test]
fn runs_its_closure_once_when_dropped() {
    let (count, runs) = counter();
    let guard = DropGuard::new(move || {
        count.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(runs(), 0, "not before the drop");
    drop(guard);
    assert_eq!(runs(), 1);
}

#[test]
fn a_disarmed_guard_runs_nothing_and_releases_its_captures() {
    let (count, runs) = counter();
    let captured = Arc::new(());
    let held = Arc::clone(&captured);
    let guard = DropGuard::new(move || {
        drop(held);
        count.fetch_add(1, Ordering::SeqCst);
    });
    guard.disarm();
    assert_eq!(runs(), 0);
    assert_eq!(Arc::strong_count(&captured), 1, "the closure was dropped");
}

#[test]
fn runs_while_unwinding() {
    let (count, runs) = counter();
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = DropGuard::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        });
        panic!("the work failed");
    }));
    assert!(unwound.is_err());
    assert_eq!(runs(), 1);
}

#[tokio::test]
async fn runs_when_the_future_holding_it_is_cancelled_at_an_await() {
    let (count, runs) = counter();
    let work = async move {
        let guard = DropGuard::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
        });
        std::future::pending::<()>().await;
        guard.disarm();
    };
    let mut work = Box::pin(work);
    assert!(futures::poll!(work.as_mut()).is_pending());
    assert_eq!(runs(), 0);
    drop(work);
    assert_eq!(runs(), 1);
}

#[test]
fn a_boxed_guard_is_send_and_sync_and_says_whether_it_is_armed() {
    static_assertions::assert_impl_all!(
        DropGuard<Box<dyn FnOnce() + Send + Sync>>: Send, Sync
    );
    let guard = DropGuard::boxed(|| {});
    assert_eq!(format!("{guard:?}"), "DropGuard { armed: true }");
}
