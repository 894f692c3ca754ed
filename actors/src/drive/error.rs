//! The drive limiter's error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why a drive operation failed; every variant names the drive or path.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// `try_acquire` found no free permit.
    #[error("no free IO permit on {mount_point:?}")]
    Busy {
        /// The drive's mount point.
        mount_point: PathBuf,
    },
    /// No permit came free in time.
    #[error("no IO permit on {mount_point:?} within {timeout:?}")]
    Timeout {
        /// The drive's mount point.
        mount_point: PathBuf,
        /// How long the acquire waited.
        timeout: Duration,
    },
    /// The limiter was shut down.
    #[error("the IO limiter of {mount_point:?} is shut down")]
    Closed {
        /// The drive's mount point.
        mount_point: PathBuf,
    },
    /// A limit of zero would block every operation for ever.
    #[error("IO limit {limit} for {mount_point:?} is out of range 1..={max}")]
    InvalidLimit {
        /// The drive's mount point.
        mount_point: PathBuf,
        /// The limit asked for.
        limit: usize,
        /// The largest limit accepted.
        max: usize,
    },
    /// A relative path could not be made absolute.
    #[error("cannot locate {path:?}")]
    Path {
        /// The path given.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
}

/// Lets IO code that returns `std::io::Result` use `?` on a drive error.
impl From<DriveError> for std::io::Error {
    fn from(error: DriveError) -> Self {
        let kind = match &error {
            DriveError::Busy { .. } => std::io::ErrorKind::WouldBlock,
            DriveError::Timeout { .. } => std::io::ErrorKind::TimedOut,
            DriveError::InvalidLimit { .. } => std::io::ErrorKind::InvalidInput,
            DriveError::Path { source, .. } => source.kind(),
            DriveError::Closed { .. } => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, error)
    }
}
