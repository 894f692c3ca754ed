//! [`SubprocessError`]: what a subprocess pool run can fail with.

use std::sync::Arc;

use crate::pool::PoolError;
use crate::tracker::TrackerError;

/// An error of a [`SubprocessPool`](super::SubprocessPool).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SubprocessError {
    /// Used before [`start`](super::SubprocessPool::start).
    #[error("subprocess pool {pool:?} is not started")]
    NotStarted {
        /// The pool's name.
        pool: String,
    },
    /// `start` was called twice.
    #[error("subprocess pool {pool:?} is already started")]
    AlreadyStarted {
        /// The pool's name.
        pool: String,
    },
    /// Used after [`close`](super::SubprocessPool::close).
    #[error("subprocess pool {pool:?} has been closed")]
    Closed {
        /// The pool's name.
        pool: String,
    },
    /// Waiting for a free run slot failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The tracker refused to start or track the child.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    /// Reading the child's output failed.
    #[error("subprocess pool {pool:?}: reading the output of {key:?} failed")]
    Io {
        /// The pool's name.
        pool: String,
        /// The run's tracker key.
        key: String,
        /// The IO error.
        #[source]
        source: Arc<std::io::Error>,
    },
}
