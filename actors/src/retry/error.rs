//! What a retried operation and its policy can fail with.

use std::fmt;
use std::time::Duration;

use crate::UserError;

/// A failed attempt, as the operation reports it: the error plus whether
/// another attempt might succeed.
///
/// Every error converts into a *retryable* failure, so `?` works inside an
/// operation; wrap it with [`Failure::fatal`] to stop retrying.
#[derive(Debug, Clone)]
pub struct Failure {
    error: UserError,
    retryable: bool,
}

impl Failure {
    /// A failure worth another attempt (a timeout, a refused connection).
    #[must_use]
    pub fn retryable(error: impl Into<UserError>) -> Self {
        Self {
            error: error.into(),
            retryable: true,
        }
    }

    /// A failure no retry can fix (bad credentials, a missing file).
    #[must_use]
    pub fn fatal(error: impl Into<UserError>) -> Self {
        Self {
            error: error.into(),
            retryable: false,
        }
    }

    /// Whether another attempt might succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The error itself.
    #[must_use]
    pub fn error(&self) -> &UserError {
        &self.error
    }

    /// Takes the error out.
    #[must_use]
    pub fn into_error(self) -> UserError {
        self.error
    }
}

impl<E: Into<UserError>> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::retryable(error)
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// The operation returned an error.
    #[error("{0}")]
    Error(UserError),
    /// The attempt ran out of its `attempt_timeout`.
    #[error("attempt timed out after {0:?}")]
    TimedOut(Duration),
}

/// A retried operation that did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RetryError {
    /// An attempt failed with an error marked fatal; no retry was made.
    #[error("attempt {attempt} failed with a fatal error: {error}")]
    Fatal {
        /// Which attempt (from 1) failed.
        attempt: u32,
        /// The error it returned.
        error: UserError,
    },
    /// Every attempt the policy allows failed.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted {
        /// How many attempts were made.
        attempts: u32,
        /// Why the last one failed.
        last: AttemptFailure,
    },
    /// An attempt panicked; a panic is a bug, so no retry was made.
    #[error("attempt {attempt} panicked: {message}")]
    Panicked {
        /// Which attempt (from 1) panicked.
        attempt: u32,
        /// The panic's message.
        message: String,
    },
    /// The policy itself is unusable.
    #[error(transparent)]
    InvalidPolicy(#[from] InvalidPolicy),
}

impl RetryError {
    /// The error the operation returned last, if it returned one.
    #[must_use]
    pub fn last_error(&self) -> Option<&UserError> {
        match self {
            RetryError::Fatal { error, .. }
            | RetryError::Exhausted {
                last: AttemptFailure::Error(error),
                ..
            } => Some(error),
            _ => None,
        }
    }
}

/// A [`RetryPolicy`](super::RetryPolicy) whose numbers do not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retry policy: {field} = {value} {problem}")]
pub struct InvalidPolicy {
    /// The field at fault.
    pub field: &'static str,
    /// Its value, as text.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl InvalidPolicy {
    pub(super) fn new(
        field: &'static str,
        value: impl fmt::Display,
        problem: &'static str,
    ) -> Self {
        Self {
            field,
            value: value.to_string(),
            problem,
        }
    }
}

/// A future that [`with_timeout`](super::with_timeout) gave up on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (timed out after {after:?})")]
pub struct Elapsed {
    /// What was being waited for, as the caller described it.
    pub message: String,
    /// How long it was given.
    pub after: Duration,
}
