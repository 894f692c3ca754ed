//! What managing a resource can fail with.

use std::time::Duration;

use crate::State;
use crate::retry::{InvalidPolicy, RetryError};

/// An error of a managed resource, naming it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// Initialization failed after the retries the policy allows, or
    /// fatally.
    #[error("resource {name:?} failed to initialize: {source}")]
    Initialize {
        /// The resource.
        name: String,
        /// What the last attempt came to.
        source: RetryError,
    },
    /// The resource is not usable in its current state.
    #[error("resource {name:?} is not usable: it is {state}")]
    NotReady {
        /// The resource.
        name: String,
        /// Its state when asked.
        state: State,
    },
    /// An operation run through [`Managed::operation`](super::Managed::operation)
    /// or [`Managed::with_retry`](super::Managed::with_retry) failed.
    #[error("operation {operation:?} on resource {name:?} failed: {source}")]
    Operation {
        /// The resource.
        name: String,
        /// The operation's name (`with_retry` for an unnamed one).
        operation: Box<str>,
        /// What the last attempt came to.
        source: RetryError,
    },
    /// An operation run through [`Managed::operation`](super::Managed::operation)
    /// outlived its timeout and was dropped.
    #[error("operation {operation:?} on resource {name:?} timed out after {timeout:?}")]
    OperationTimedOut {
        /// The resource.
        name: String,
        /// The operation's name.
        operation: Box<str>,
        /// The timeout it was given.
        timeout: Duration,
    },
    /// `cleanup` returned an error; the resource is closed regardless.
    #[error("resource {name:?} failed to clean up: {message}")]
    Cleanup {
        /// The resource.
        name: String,
        /// The error's message.
        message: String,
    },
    /// `cleanup` panicked; the resource is closed regardless.
    #[error("resource {name:?} panicked in cleanup: {message}")]
    CleanupPanicked {
        /// The resource.
        name: String,
        /// The panic's message.
        message: String,
    },
    /// `cleanup` outlived the close timeout and was dropped.
    #[error("resource {name:?} did not clean up within {timeout:?}")]
    CleanupTimedOut {
        /// The resource.
        name: String,
        /// The timeout it was given.
        timeout: Duration,
    },
    /// The resource was closed (or closed while this call waited).
    #[error("resource {name:?} is closed")]
    Closed {
        /// The resource.
        name: String,
    },
    /// `start` was called outside an actix System; use `start_in` with an
    /// arbiter, or start inside a System.
    #[error("resource {name:?} cannot start: no actix arbiter runs on this thread")]
    NoArbiter {
        /// The resource.
        name: String,
    },
    /// A setting of the keeper is unusable.
    #[error("resource {name:?} has an invalid setting: {problem}")]
    InvalidSettings {
        /// The resource.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

impl ResourceError {
    pub(crate) fn invalid_policy(name: &str, error: &InvalidPolicy) -> Self {
        ResourceError::InvalidSettings {
            name: name.to_owned(),
            problem: error.to_string(),
        }
    }
}
