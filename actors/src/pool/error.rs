//! [`PoolError`]: what acquiring from, resizing or closing a pool can fail with.

use std::time::Duration;

use crate::UserError;

/// Which bound an acquire ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Waiting for a free slot or a resource being created for the acquire
    /// (`wait_timeout`, or `acquire_timeout`'s own).
    Wait,
    /// Creating a resource (`create_timeout`, per attempt).
    Create,
    /// Recycling a resource before its next checkout (`recycle_timeout`).
    Recycle,
    /// Checking a resource: on checkout with `test_on_checkout`, or in a
    /// background health check (`recycle_timeout`).
    Check,
    /// Destroying a resource (`recycle_timeout`).
    Destroy,
}

impl std::fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutKind::Wait => "waiting for a resource",
            TimeoutKind::Create => "creating a resource",
            TimeoutKind::Recycle => "recycling a resource",
            TimeoutKind::Check => "checking a resource",
            TimeoutKind::Destroy => "destroying a resource",
        })
    }
}

/// An error of a pool operation.
///
/// Every variant names the pool; cheap to clone, so one failure can be
/// reported to several waiters.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A bound ran out; the pool is unchanged.
    #[error("pool {pool:?}: timed out {kind}")]
    Timeout {
        /// The pool's name.
        pool: String,
        /// Which bound.
        kind: TimeoutKind,
    },
    /// The pool is closed (or was closed while waiting).
    #[error("pool {pool:?} is closed")]
    Closed {
        /// The pool's name.
        pool: String,
    },
    /// The pool's circuit breaker is open: `failure_threshold` create
    /// attempts in a row failed, so an acquire that would need a new
    /// resource fails at once while one probe at a time checks whether the
    /// backend is back.
    #[error("pool {pool:?} is unavailable after repeated create failures: {last_error}")]
    Unavailable {
        /// The pool's name.
        pool: String,
        /// What the last failed create returned.
        last_error: UserError,
    },
    /// The manager's `create` failed (after the retries the policy allows,
    /// unless the circuit breaker opened first: then `Unavailable`).
    #[error("pool {pool:?}: create failed: {error}")]
    Create {
        /// The pool's name.
        pool: String,
        /// The manager's error.
        error: UserError,
    },
    /// A manager callback panicked; the slot it held is released.
    #[error("pool {pool:?}: manager callback {callback} panicked: {message}")]
    Panicked {
        /// The pool's name.
        pool: String,
        /// `create`, `recycle`, `check` or `destroy`.
        callback: &'static str,
        /// The panic's message.
        message: String,
    },
    /// `try_acquire` found no free slot.
    #[error("pool {pool:?} has no free slot (max_size {max_size})")]
    Busy {
        /// The pool's name.
        pool: String,
        /// The pool's size limit at the time.
        max_size: usize,
    },
    /// A builder or resize value was refused.
    #[error("pool {pool:?}: invalid {field} = {value}: {problem}")]
    Invalid {
        /// The pool's name.
        pool: String,
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// Why it was refused.
        problem: &'static str,
    },
    /// `drain` gave up waiting for checked-out resources; they are
    /// destroyed when they come back.
    #[error("pool {pool:?}: {in_use} resources still checked out after {waited:?}")]
    DrainTimeout {
        /// The pool's name.
        pool: String,
        /// How many were still out.
        in_use: usize,
        /// How long drain waited.
        waited: Duration,
    },
}

impl PoolError {
    /// The timeout kind, if this is a timeout.
    #[must_use]
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        match self {
            PoolError::Timeout { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether this is [`PoolError::Closed`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        matches!(self, PoolError::Closed { .. })
    }

    /// Whether this is [`PoolError::Unavailable`].
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        matches!(self, PoolError::Unavailable { .. })
    }
}
