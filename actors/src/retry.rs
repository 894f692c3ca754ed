//! Retries with exponential backoff and jitter, and bounded waits.
//!
//! - [`RetryPolicy`] says how often and how patiently: `max_retries`, a
//!   delay that starts at `base_delay` and grows by `multiplier` up to
//!   `max_delay`, a `jitter` fraction so that many clients do not retry in
//!   step, and an optional per-attempt timeout.
//! - [`with_retry`] runs an operation under a policy. The operation says
//!   whether a failure is worth another attempt: any error converts into a
//!   retryable [`Failure`]; [`Failure::fatal`] stops at once.
//! - [`with_timeout`] bounds any future and names what timed out.
//!
//! A panic inside an attempt is caught and ends the retries
//! ([`RetryError::Panicked`]): a panic is a bug, not a transient fault.
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use steward_actors::retry::{with_retry, Failure, RetryPolicy};
//! use steward_actors::UserError;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), steward_actors::retry::RetryError> {
//! let calls = AtomicU32::new(0);
//! let policy = RetryPolicy::default()
//!     .with_max_retries(3)
//!     .with_base_delay(Duration::from_millis(1));
//! let answer = with_retry(
//!     |_attempt| async {
//!         // Fails twice, then succeeds.
//!         if calls.fetch_add(1, Ordering::SeqCst) < 2 {
//!             return Err(Failure::from(UserError::msg("connection refused")));
//!         }
//!         Ok(42)
//!     },
//!     &policy,
//! )
//! .await?;
//! assert_eq!(answer, 42);
//! assert_eq!(calls.load(Ordering::SeqCst), 3);
//! # Ok(())
//! # }
//! ```

mod backoff;
mod error;
mod policy;
mod run;

pub use backoff::Backoff;
pub use error::{AttemptFailure, Elapsed, Failure, InvalidPolicy, RetryError};
pub use policy::RetryPolicy;
pub use run::{with_retry, with_timeout};

#[cfg(test)]
mod tests;
