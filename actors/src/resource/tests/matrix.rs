//! The failure matrix, in the style of deadpool's cancellation tests: each
//! of initialize, check_health and cleanup does each of ok, a retryable
//! error, a fatal error, slow, never returns, panics; for all 216
//! combinations the invariants hold.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::timeout;

use super::{BOUND, Behaviour, Scripted, fast_retries};
use crate::State;
use crate::resource::{ResourceError, ResourceKeeper};

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Lets dropped tasks finish dropping: yields, never sleeps.
async fn settle(expected: usize) -> usize {
    for _ in 0..1_000 {
        if alive_tasks() <= expected {
            break;
        }
        tokio::task::yield_now().await;
    }
    alive_tasks()
}

#[actix_rt::test]
async fn every_combination_keeps_the_invariants() {
    tokio::time::pause();
    for init in Behaviour::ALL {
        for check in Behaviour::ALL {
            for cleanup in Behaviour::ALL {
                run_case(init, check, cleanup).await;
            }
        }
    }
}

async fn run_case(init: Behaviour, check: Behaviour, cleanup: Behaviour) {
    let case = format!("init {init:?}, check {check:?}, cleanup {cleanup:?}");
    let baseline = alive_tasks();
    let resource = Scripted::new(init, check, cleanup);
    let managed = ResourceKeeper::builder_shared("matrix", resource.clone())
        .retry(fast_retries())
        .health_check_interval(Duration::from_millis(100))
        .health_check_timeout(Duration::from_millis(200))
        .failure_threshold(2)
        .start()
        .unwrap();
    let mut events = managed.subscribe();

    // Initialize: bounded, retried only when it might help.
    let initialized = timeout(BOUND, managed.initialize()).await.expect(&case);
    let usable = matches!(init, Behaviour::Ok | Behaviour::Slow);
    assert_eq!(initialized.is_ok(), usable, "{case}: {initialized:?}");
    let expected_inits = match init {
        Behaviour::Retryable | Behaviour::Never => 3,
        _ => 1,
    };
    assert_eq!(
        resource.inits.load(Ordering::SeqCst),
        expected_inits,
        "{case}"
    );

    if usable {
        // Checks on demand and in the background; failures recover
        // through a fresh (successful) initialization.
        for _ in 0..3 {
            let verdict = timeout(BOUND, managed.check_health()).await.expect(&case);
            assert!(
                verdict.is_ok() || matches!(verdict, Err(ResourceError::NotReady { .. })),
                "{case}: {verdict:?}"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let state = timeout(BOUND, managed.view().wait_for(State::is_usable))
            .await
            .expect(&case);
        assert!(state.is_usable(), "{case}");
        assert!(resource.checks.load(Ordering::SeqCst) >= 3, "{case}");
        // A healthy check leaves the resource alone; every other outcome
        // reaches Error (at once, or at the threshold of 2) and recovers
        // through a fresh initialization.
        let reinitialized = resource.inits.load(Ordering::SeqCst) > 1;
        assert_eq!(
            reinitialized,
            !matches!(check, Behaviour::Ok | Behaviour::Slow),
            "{case}"
        );
        let status = managed.status().await.unwrap();
        assert_eq!(
            status.last_error.is_some(),
            reinitialized,
            "{case}: {status:?}"
        );
    } else {
        assert_eq!(managed.state(), State::Error, "{case}");
        assert!(
            managed.status().await.unwrap().last_error.is_some(),
            "{case}"
        );
    }

    // Close: bounded, cleanup exactly once, the outcome typed.
    let closed = timeout(BOUND, managed.close(Duration::from_secs(1)))
        .await
        .expect(&case);
    match cleanup {
        Behaviour::Ok | Behaviour::Slow => assert!(closed.is_ok(), "{case}: {closed:?}"),
        Behaviour::Retryable | Behaviour::Fatal => {
            assert!(
                matches!(closed, Err(ResourceError::Cleanup { .. })),
                "{case}: {closed:?}"
            );
        }
        Behaviour::Never => assert!(
            matches!(closed, Err(ResourceError::CleanupTimedOut { .. })),
            "{case}: {closed:?}"
        ),
        Behaviour::Panic => assert!(
            matches!(closed, Err(ResourceError::CleanupPanicked { .. })),
            "{case}: {closed:?}"
        ),
    }
    assert_eq!(managed.state(), State::Closed, "{case}");
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 1, "{case}");
    assert!(
        resource.max_concurrent_checks.load(Ordering::SeqCst) <= 1,
        "{case}"
    );

    // Every event is a legal move from the one before.
    let mut at = State::Uninitialized;
    while let Ok(event) = events.try_recv() {
        assert_eq!(event.from, at, "{case}");
        assert!(event.from.can_transition_to(event.to), "{case}: {event:?}");
        at = event.to;
    }
    assert_eq!(at, State::Closed, "{case}");

    // Nothing left behind: the keeper, its checks and timers are gone.
    drop(managed);
    assert_eq!(
        settle(baseline).await,
        baseline,
        "{case}: a task outlived the close"
    );
}
