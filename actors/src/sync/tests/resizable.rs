use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sync::ResizableSemaphore;

/// Takes a permit as holders do: from the semaphore, forgotten there.
fn take(permits: &ResizableSemaphore) -> bool {
    permits
        .semaphore()
        .try_acquire()
        .map(tokio::sync::SemaphorePermit::forget)
        .is_ok()
}

#[test]
fn a_shrink_below_what_is_held_destroys_permits_as_they_come_back() {
    let permits = ResizableSemaphore::new(3);
    assert!((0..3).all(|_| take(&permits)));
    assert_eq!(permits.resize(1), 3);
    assert_eq!((permits.limit(), permits.held()), (1, 3));
    permits.release();
    permits.release();
    assert_eq!(permits.semaphore().available_permits(), 0, "two destroyed");
    assert_eq!(permits.held(), 1);
    permits.release();
    assert_eq!(permits.semaphore().available_permits(), 1);
    assert_eq!(permits.held(), 0);
}

#[test]
fn growth_cancels_what_a_shrink_still_owes_first() {
    let permits = ResizableSemaphore::new(4);
    assert!((0..4).all(|_| take(&permits)));
    permits.resize(1); // owes 3
    permits.resize(3); // owes 1
    assert_eq!(permits.semaphore().available_permits(), 0);
    (0..4).for_each(|_| permits.release());
    assert_eq!(permits.semaphore().available_permits(), 3);
    permits.resize(5);
    assert_eq!(permits.semaphore().available_permits(), 5);
    permits.resize(2);
    assert_eq!(
        permits.semaphore().available_permits(),
        2,
        "free permits are removed at once"
    );
}

#[test]
fn a_closed_semaphore_stays_closed_when_it_grows() {
    let permits = ResizableSemaphore::new(1);
    permits.semaphore().close();
    permits.resize(3);
    assert!(permits.semaphore().is_closed());
    assert!(!take(&permits), "a closed semaphore gives no permit");
}

/// Holders take and release permits on four threads while a fifth
/// resizes the limit at random; once everything is back, the free permits
/// are exactly the limit and nothing is owed. A release and a shrink that
/// race leave one permit too many (or too few) without the two second
/// looks of `resize` and `release`.
#[test]
fn once_everything_is_back_the_free_permits_are_the_limit() {
    for round in 0..20_u64 {
        let permits = Arc::new(ResizableSemaphore::new(4));
        let stop = Arc::new(AtomicBool::new(false));
        let holders: Vec<_> = (0..4)
            .map(|_| {
                let permits = Arc::clone(&permits);
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if take(&permits) {
                            std::hint::spin_loop();
                            permits.release();
                        }
                    }
                })
            })
            .collect();
        let mut seed = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            permits.resize(1 + usize::try_from(seed % 8).unwrap());
        }
        stop.store(true, Ordering::Relaxed);
        holders
            .into_iter()
            .for_each(|holder| holder.join().unwrap());
        assert_eq!(permits.held(), 0, "round {round}");
        assert_eq!(
            permits.semaphore().available_permits(),
            permits.limit(),
            "round {round}: the free permits are the limit"
        );
    }
}
