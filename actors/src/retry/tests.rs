use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::UserError;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn delays_grow_by_the_multiplier_and_stop_at_max_delay() {
    let policy = RetryPolicy::default()
        .with_max_retries(6)
        .with_base_delay(ms(100))
        .with_max_delay(ms(1_000))
        .with_multiplier(3.0)
        .with_jitter(0.0);
    let delays: Vec<_> = policy.backoff().collect();
    assert_eq!(delays, [100, 300, 900, 1_000, 1_000, 1_000].map(ms));
}

#[test]
fn jitter_stays_in_its_band_and_replays_from_a_seed() {
    let policy = RetryPolicy::default()
        .with_max_retries(50)
        .with_base_delay(ms(1_000))
        .with_max_delay(ms(1_000))
        .with_jitter(0.25)
        .with_seed(7);
    let first: Vec<_> = policy.backoff().collect();
    let again: Vec<_> = policy.backoff().collect();
    assert_eq!(first, again, "one seed, one sequence");
    assert!(
        first.iter().all(|d| *d >= ms(750) && *d <= ms(1_000)),
        "{first:?}"
    );
    assert!(
        first.iter().any(|d| *d != first[0]),
        "jitter spreads the delays"
    );
    let other: Vec<_> = policy.clone().with_seed(8).backoff().collect();
    assert_ne!(first, other);
}

#[test]
fn huge_retry_counts_do_not_overflow() {
    let policy = RetryPolicy::default()
        .with_max_delay(Duration::from_secs(60))
        .with_jitter(0.0);
    assert_eq!(policy.nominal_delay(u32::MAX), Duration::from_secs(60));
    assert_eq!(policy.nominal_delay(10_000), Duration::from_secs(60));
}

#[test]
fn validation_names_the_field() {
    let cases = [
        (RetryPolicy::default().with_multiplier(0.5), "multiplier"),
        (
            RetryPolicy::default().with_multiplier(f64::NAN),
            "multiplier",
        ),
        (
            RetryPolicy::default().with_multiplier(f64::INFINITY),
            "multiplier",
        ),
        (RetryPolicy::default().with_jitter(1.5), "jitter"),
        (RetryPolicy::default().with_jitter(-0.1), "jitter"),
        (
            RetryPolicy::default().with_base_delay(Duration::from_secs(60)),
            "base_delay",
        ),
        (
            RetryPolicy::default().with_attempt_timeout(Duration::ZERO),
            "attempt_timeout",
        ),
    ];
    for (policy, field) in cases {
        let err = policy.validate().unwrap_err();
        assert_eq!(err.field, field);
        assert!(err.to_string().contains(field), "{err}");
    }
    assert!(RetryPolicy::default().validate().is_ok());
}

/// An operation that fails `failures` times with a retryable error, then
/// returns its attempt number.
fn flaky(
    failures: u32,
    calls: &Arc<AtomicU32>,
) -> impl FnMut(u32) -> futures::future::Ready<Result<u32, Failure>> {
    let calls = Arc::clone(calls);
    move |attempt| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        futures::future::ready(if n < failures {
            Err(Failure::from(UserError::msg(format!("failure {n}"))))
        } else {
            Ok(attempt)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn sleeps_follow_the_policy_on_a_paused_clock() {
    let policy = RetryPolicy::default()
        .with_max_retries(5)
        .with_base_delay(ms(100))
        .with_max_delay(ms(10_000))
        .with_jitter(0.3)
        .with_seed(42);
    let expected: Vec<Duration> = policy.backoff().take(4).collect();
    let calls = Arc::new(AtomicU32::new(0));
    let mut fail = flaky(4, &calls);
    let mut starts = Vec::new();
    let attempt = with_retry(
        |n| {
            starts.push(Instant::now());
            fail(n)
        },
        &policy,
    )
    .await
    .unwrap();
    assert_eq!(attempt, 5);
    // The paused clock moves only by the sleeps, and tokio's timer rounds
    // a deadline up to its next millisecond tick.
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), expected.len());
    for (gap, delay) in gaps.iter().zip(&expected) {
        assert!(
            *gap >= *delay && *gap < *delay + ms(1),
            "gap {gap:?} for delay {delay:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_report_the_last_error() {
    let calls = Arc::new(AtomicU32::new(0));
    let policy = RetryPolicy::default().with_max_retries(2);
    let err = with_retry(flaky(10, &calls), &policy).await.unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    match err {
        RetryError::Exhausted {
            attempts: 3,
            last: AttemptFailure::Error(error),
        } => assert_eq!(error.to_string(), "failure 2"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_is_not_retried() {
    let calls = AtomicU32::new(0);
    let err = with_retry(
        |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(Failure::fatal(UserError::msg("bad credentials"))) }
        },
        &RetryPolicy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(matches!(err, RetryError::Fatal { attempt: 1, .. }));
    assert_eq!(
        err.last_error().map(ToString::to_string).as_deref(),
        Some("bad credentials")
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_attempt_times_out_and_is_retried() {
    let calls = AtomicU32::new(0);
    let policy = RetryPolicy::default()
        .with_max_retries(1)
        .with_attempt_timeout(ms(50));
    let err = with_retry(
        |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::pending::<Result<(), Failure>>()
        },
        &policy,
    )
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(matches!(
        err,
        RetryError::Exhausted {
            attempts: 2,
            last: AttemptFailure::TimedOut(d)
        } if d == ms(50)
    ));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_attempt_is_caught_and_not_retried() {
    let calls = AtomicU32::new(0);
    let err = with_retry(
        |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { panic!("driver bug") as Result<(), Failure> }
        },
        &RetryPolicy::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        matches!(err, RetryError::Panicked { attempt: 1, ref message } if message == "driver bug")
    );
}

#[tokio::test(start_paused = true)]
async fn an_invalid_policy_runs_nothing() {
    let calls = AtomicU32::new(0);
    let err = with_retry(
        |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        },
        &RetryPolicy::default().with_jitter(2.0),
    )
    .await
    .unwrap_err();
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(matches!(err, RetryError::InvalidPolicy(_)));
}

#[tokio::test(start_paused = true)]
async fn with_timeout_passes_a_fast_future_through() {
    assert_eq!(with_timeout(async { 5 }, ms(10), "five").await, Ok(5));
    let err = with_timeout(std::future::pending::<()>(), ms(10), "never")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "never (timed out after 10ms)");
}

#[test]
fn an_uncapped_max_delay_never_panics() {
    let policy = RetryPolicy::default()
        .with_max_delay(Duration::MAX)
        .with_max_retries(200)
        .with_seed(1);
    let delays: Vec<_> = policy.backoff().collect();
    assert_eq!(delays.len(), 200);
    assert!(
        delays.windows(2).all(|w| w[1] >= w[0] / 2),
        "delays keep growing"
    );
    assert_eq!(policy.nominal_delay(u32::MAX), Duration::MAX);
}
