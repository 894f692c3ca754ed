//! The resource keeper: pure check logic, the lifecycle on a paused
//! clock, and the failure matrix (in `tests/matrix.rs`).

mod matrix;
mod operations;
mod scripted;
mod stats;

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::timeout;

use super::outcome::{CheckCounter, CheckOutcome, Verdict};
use super::*;
use crate::State;
use scripted::{Behaviour, Scripted};

const BOUND: Duration = Duration::from_secs(600);

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(2)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
        .with_attempt_timeout(Duration::from_secs(1))
}

/// A keeper of `resource` with fast retries and the default checks.
fn started(name: &str, resource: &std::sync::Arc<Scripted>) -> Managed<Scripted> {
    ResourceKeeper::builder_shared(name, std::sync::Arc::clone(resource))
        .retry(fast_retries())
        .start()
        .unwrap()
}

#[test]
fn failed_checks_degrade_then_fail_at_the_threshold() {
    let mut counter = CheckCounter::new(3);
    let unhealthy = CheckOutcome::Verdict(Health::Unhealthy);
    assert!(matches!(
        counter.judge(State::Ready, &unhealthy),
        Verdict::Move(State::Degraded, _)
    ));
    assert_eq!(
        counter.judge(State::Degraded, &CheckOutcome::TimedOut),
        Verdict::Stay
    );
    assert!(matches!(
        counter.judge(State::Degraded, &CheckOutcome::Failed("refused".into())),
        Verdict::Fail(reason) if reason.contains("3 consecutive")
    ));
}

#[test]
fn a_passing_check_resets_the_count_and_restores_ready() {
    let mut counter = CheckCounter::new(2);
    let _ = counter.judge(State::Ready, &CheckOutcome::TimedOut);
    assert_eq!(counter.consecutive_failures(), 1);
    assert!(matches!(
        counter.judge(State::Degraded, &CheckOutcome::Verdict(Health::Healthy)),
        Verdict::Move(State::Ready, _)
    ));
    assert_eq!(counter.consecutive_failures(), 0);
    // One more failure is again only a degradation.
    assert!(matches!(
        counter.judge(State::Ready, &CheckOutcome::TimedOut),
        Verdict::Move(State::Degraded, _)
    ));
    assert_eq!(
        counter.judge(State::Ready, &CheckOutcome::Verdict(Health::Healthy)),
        Verdict::Stay
    );
}

#[test]
fn fatal_errors_and_panics_fail_at_once() {
    let mut counter = CheckCounter::new(10);
    assert!(matches!(
        counter.judge(State::Ready, &CheckOutcome::Fatal("gone".into())),
        Verdict::Fail(_)
    ));
    assert!(
        matches!(counter.judge(State::Ready, &CheckOutcome::Panicked("bug".into())), Verdict::Fail(r) if r.contains("bug"))
    );
}

#[test]
fn a_degraded_verdict_degrades_without_counting() {
    let mut counter = CheckCounter::new(1);
    let degraded = CheckOutcome::Verdict(Health::Degraded);
    assert!(matches!(
        counter.judge(State::Ready, &degraded),
        Verdict::Move(State::Degraded, _)
    ));
    assert_eq!(counter.judge(State::Degraded, &degraded), Verdict::Stay);
    assert_eq!(counter.consecutive_failures(), 0);
}

#[actix_rt::test]
async fn walks_through_the_lifecycle_and_cleans_up_once() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = started("db", &resource);
    let mut events = managed.subscribe();
    assert_eq!(managed.state(), State::Uninitialized);
    assert!(matches!(
        managed.resource(),
        Err(ResourceError::NotReady {
            state: State::Uninitialized,
            ..
        })
    ));

    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    assert_eq!(managed.state(), State::Ready);
    assert_eq!(
        timeout(BOUND, managed.check_health())
            .await
            .unwrap()
            .unwrap(),
        Health::Healthy
    );
    timeout(BOUND, managed.close(Duration::from_secs(1)))
        .await
        .unwrap()
        .unwrap();
    timeout(BOUND, managed.close(Duration::from_secs(1)))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(managed.state(), State::Closed);
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 1);
    let moves: Vec<State> = std::iter::from_fn(|| events.try_recv().ok())
        .map(|e| e.to)
        .collect();
    assert_eq!(
        moves,
        [
            State::Initializing,
            State::Ready,
            State::Closing,
            State::Closed
        ]
    );
}

#[actix_rt::test]
async fn retries_initialization_then_succeeds() {
    tokio::time::pause();
    let resource =
        Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok).failing_first_inits(2);
    let managed = started("flaky", &resource);
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    assert_eq!(resource.inits.load(Ordering::SeqCst), 3);
    assert_eq!(managed.status().await.unwrap().initializations, 3);
}

#[actix_rt::test]
async fn background_checks_degrade_fail_and_recover() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("cache", resource.clone())
        .retry(fast_retries())
        .health_check_interval(Duration::from_secs(1))
        .failure_threshold(2)
        .start()
        .unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    let mut events = managed.subscribe();

    resource.set_check(Behaviour::Retryable);
    // The first failed check degrades; the second reaches the threshold:
    // Error, then recovery through a fresh (successful) initialization.
    let mut moves = Vec::new();
    while moves.len() < 4 {
        moves.push(timeout(BOUND, events.recv()).await.unwrap().unwrap().to);
    }
    assert_eq!(
        moves,
        [
            State::Degraded,
            State::Error,
            State::Initializing,
            State::Ready
        ]
    );
    assert_eq!(resource.inits.load(Ordering::SeqCst), 2);
    let status = managed.status().await.unwrap();
    assert!(
        status
            .last_error
            .unwrap()
            .contains("2 consecutive failures")
    );
    resource.set_check(Behaviour::Ok);
    managed.close(Duration::from_secs(1)).await.unwrap();
}

#[actix_rt::test]
async fn a_hung_check_counts_as_failed_and_checks_never_overlap() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Never, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("hung", resource.clone())
        .retry(fast_retries())
        .health_check_interval(Duration::from_millis(100))
        .health_check_timeout(Duration::from_secs(2))
        .failure_threshold(100)
        .start()
        .unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    timeout(BOUND, managed.view().wait_for(|s| s == State::Degraded))
        .await
        .unwrap();
    // Twenty intervals pass while each check hangs for two seconds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(resource.max_concurrent_checks.load(Ordering::SeqCst) == 1);
    assert_eq!(managed.check_health().await.unwrap(), Health::Unhealthy);
    managed.close(Duration::from_secs(1)).await.unwrap();
}

#[actix_rt::test]
async fn a_fatal_initialization_error_is_not_retried() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Fatal, Behaviour::Ok, Behaviour::Ok);
    let managed = started("fatal", &resource);
    let err = timeout(BOUND, managed.initialize())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, ResourceError::Initialize { name, .. } if name == "fatal"),
        "{err}"
    );
    assert_eq!(resource.inits.load(Ordering::SeqCst), 1);
    assert_eq!(managed.state(), State::Error);
    // A later call tries again from Error.
    resource.set_init(Behaviour::Ok);
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    assert_eq!(managed.state(), State::Ready);
}

#[actix_rt::test]
async fn with_retry_waits_out_a_recovery() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = started("api", &resource);
    // Not initialized: every attempt finds it not ready.
    let err = managed
        .with_retry(|_| async { Ok(()) }, &fast_retries())
        .await
        .unwrap_err();
    assert!(matches!(err, ResourceError::Operation { .. }), "{err}");

    managed.initialize().await.unwrap();
    let mut failures_left = 2;
    let value = managed
        .with_retry(
            |r| {
                let fail = failures_left > 0;
                failures_left -= 1;
                async move {
                    if fail {
                        Err(crate::UserError::msg("busy"))
                    } else {
                        Ok(r.inits.load(Ordering::SeqCst))
                    }
                }
            },
            &fast_retries(),
        )
        .await
        .unwrap();
    assert_eq!(value, 1);
}

#[actix_rt::test]
async fn dropping_every_handle_closes_the_resource() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("dropped", resource.clone())
        .retry(fast_retries())
        .health_check_interval(Duration::from_millis(10))
        .start()
        .unwrap();
    managed.initialize().await.unwrap();
    let view = managed.view().clone();
    drop(managed);
    assert_eq!(
        timeout(BOUND, view.wait_for(State::is_final))
            .await
            .unwrap(),
        State::Closed
    );
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 1);
}

#[actix_rt::test]
async fn scoped_cleans_up_after_success_error_and_panic() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let builder =
        || ResourceKeeper::builder_shared("scoped", resource.clone()).retry(fast_retries());
    let value = scoped(builder(), Duration::from_secs(1), |r| async move {
        r.inits.load(Ordering::SeqCst)
    })
    .await
    .unwrap();
    assert_eq!(value, 1);
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 1);

    let panicked = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(scoped(
        builder(),
        Duration::from_secs(1),
        |_| async { panic!("body bug") },
    )))
    .await;
    assert!(panicked.is_err());
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 2);

    resource.set_init(Behaviour::Fatal);
    let err = scoped(builder(), Duration::from_secs(1), |_| async {})
        .await
        .unwrap_err();
    assert!(matches!(err, ResourceError::Initialize { .. }));
    assert_eq!(
        resource.cleanups.load(Ordering::SeqCst),
        3,
        "a failed init is cleaned up too"
    );
}

#[actix_rt::test]
async fn bad_settings_are_rejected_with_the_name() {
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let err = ResourceKeeper::builder_shared("bad", resource.clone())
        .failure_threshold(0)
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("failure_threshold"), "{err}");
    let err = ResourceKeeper::builder_shared("bad", resource)
        .retry(RetryPolicy::default().with_multiplier(0.0))
        .start()
        .unwrap_err();
    assert!(err.to_string().contains("multiplier"), "{err}");
}

#[test]
fn starting_outside_a_system_is_an_error() {
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let err = ResourceKeeper::builder_shared("nowhere", resource)
        .start()
        .unwrap_err();
    assert!(matches!(err, ResourceError::NoArbiter { .. }));
}

/// A resource whose `is_retryable` panics: application code the
/// keeper must still survive.
#[derive(Debug)]
struct PanickyClassifier;

impl Resource for PanickyClassifier {
    async fn initialize(&self) -> Result<(), crate::UserError> {
        Ok(())
    }
    async fn cleanup(&self) -> Result<(), crate::UserError> {
        Ok(())
    }
    async fn check_health(&self) -> Result<Health, crate::UserError> {
        Err(crate::UserError::msg("check failed"))
    }
    fn is_retryable(&self, _: &crate::UserError) -> bool {
        panic!("classifier bug")
    }
}

#[actix_rt::test]
async fn a_panicking_is_retryable_is_caught_and_the_keeper_lives() {
    tokio::time::pause();
    let managed = ResourceKeeper::builder("classifier", PanickyClassifier)
        .without_health_checks()
        .start()
        .unwrap();
    managed.initialize().await.unwrap();
    assert_eq!(managed.check_health().await.unwrap(), Health::Unhealthy);
    // The panic sent it to Error and into recovery; the actor answers.
    let status = timeout(BOUND, managed.status()).await.unwrap().unwrap();
    assert!(status.last_error.unwrap().contains("classifier bug"));
    assert_eq!(status.initializations, 2);
    managed.close(Duration::from_secs(1)).await.unwrap();
}

#[actix_rt::test]
async fn subscribers_see_the_stream_end_after_close() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("ending", resource)
        .start()
        .unwrap();
    let mut events = managed.subscribe();
    managed.initialize().await.unwrap();
    managed.close(Duration::from_secs(1)).await.unwrap();
    let drained = timeout(BOUND, async {
        let mut moves = 0;
        while events.recv().await.is_ok() {
            moves += 1;
        }
        moves
    })
    .await
    .expect("the event stream never ended");
    assert_eq!(drained, 4);
    // A late subscriber gets an ended stream at once.
    assert!(managed.subscribe().recv().await.is_err());
}

#[actix_rt::test]
async fn with_retry_on_a_closed_resource_fails_at_once() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Ok, Behaviour::Ok, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("closed", resource)
        .start()
        .unwrap();
    managed.initialize().await.unwrap();
    managed.close(Duration::from_secs(1)).await.unwrap();
    let mut attempts = 0;
    let err = managed
        .with_retry(
            |_| {
                attempts += 1;
                async { Ok(()) }
            },
            &fast_retries(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ResourceError::Operation {
                source: crate::retry::RetryError::Fatal { attempt: 1, .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(attempts, 0, "the operation never ran");
}

#[actix_rt::test]
async fn a_policy_without_attempt_timeout_still_bounds_initialize() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Never, Behaviour::Ok, Behaviour::Ok);
    let managed = ResourceKeeper::builder_shared("hang", resource.clone())
        .retry(RetryPolicy::never())
        .start()
        .unwrap();
    let err = timeout(BOUND, managed.initialize())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(managed.state(), State::Error);
}

#[actix_rt::test]
async fn closing_during_initialize_cancels_it_and_cleans_up_once() {
    tokio::time::pause();
    let resource = Scripted::new(Behaviour::Never, Behaviour::Ok, Behaviour::Ok);
    let managed = started("cancelled", &resource);
    let waiting = managed.clone();
    let initializing = tokio::spawn(async move { waiting.initialize().await });
    timeout(BOUND, managed.view().wait_for(|s| s == State::Initializing))
        .await
        .unwrap();
    managed.close(Duration::from_secs(1)).await.unwrap();
    let outcome = timeout(BOUND, initializing).await.unwrap().unwrap();
    assert!(
        matches!(outcome, Err(ResourceError::Closed { .. })),
        "{outcome:?}"
    );
    assert_eq!(resource.cleanups.load(Ordering::SeqCst), 1);
    assert_eq!(managed.state(), State::Closed);
}
