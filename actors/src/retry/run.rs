//! Running an operation under a policy, and bounding a wait.

use std::future::Future;
use std::time::Duration;

use super::{AttemptFailure, Elapsed, Failure, RetryError, RetryPolicy};
use crate::sync::Ended;

/// Runs `operation` until it succeeds, fails fatally, or the policy's
/// retries are spent, sleeping the policy's backoff in between.
///
/// The operation receives the attempt number (from 1). Each attempt is
/// bounded by `policy.attempt_timeout` when set. A panic in an attempt is
/// caught and returned as [`RetryError::Panicked`].
///
/// # Examples
///
/// ```
/// use steward_actors::retry::{with_retry, Failure, RetryError, RetryPolicy};
/// use steward_actors::UserError;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let outcome: Result<(), _> = with_retry(
///     |_| async { Err(Failure::fatal(UserError::msg("bad password"))) },
///     &RetryPolicy::default(),
/// )
/// .await;
/// assert!(matches!(outcome, Err(RetryError::Fatal { attempt: 1, .. })));
/// # }
/// ```
///
/// # Errors
///
/// [`RetryError::Fatal`], [`RetryError::Exhausted`] (with the last
/// attempt's failure), [`RetryError::Panicked`], or
/// [`RetryError::InvalidPolicy`] before any attempt.
///
/// # Cancel safety
///
/// Dropping the future drops the running attempt and any pending sleep;
/// nothing runs afterwards.
pub async fn with_retry<T, F, Fut>(mut operation: F, policy: &RetryPolicy) -> Result<T, RetryError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    policy.validate()?;
    let mut backoff = policy.backoff();
    let mut attempt = 1;
    loop {
        let last = match crate::sync::call(policy.attempt_timeout, operation(attempt)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(failure)) if !failure.is_retryable() => {
                return Err(RetryError::Fatal {
                    attempt,
                    error: failure.into_error(),
                });
            }
            Ok(Err(failure)) => AttemptFailure::Error(failure.into_error()),
            Err(Ended::TimedOut(after)) => AttemptFailure::TimedOut(after),
            Err(Ended::Panicked(message)) => {
                return Err(RetryError::Panicked { attempt, message });
            }
        };
        let Some(delay) = backoff.next() else {
            return Err(RetryError::Exhausted {
                attempts: attempt,
                last,
            });
        };
        tracing::debug!(target: "steward::retry", attempt, ?delay, error = %last, "attempt failed; retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Waits for `future` for at most `duration`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steward_actors::retry::with_timeout;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slow = std::future::pending::<()>();
/// let err = with_timeout(slow, Duration::from_millis(5), "dataset fetch")
///     .await
///     .unwrap_err();
/// assert_eq!(err.message, "dataset fetch");
/// # }
/// ```
///
/// # Errors
///
/// [`Elapsed`] carrying `message` when the time runs out first.
///
/// # Cancel safety
///
/// Exactly as cancel-safe as `future`.
pub async fn with_timeout<F: Future>(
    future: F,
    duration: Duration,
    message: impl Into<String>,
) -> Result<F::Output, Elapsed> {
    tokio::time::timeout(duration, future)
        .await
        .map_err(|_| Elapsed {
            message: message.into(),
            after: duration,
        })
}
