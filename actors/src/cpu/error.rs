//! The CPU scheduler's error.

/// Why a CPU job did not produce its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CpuError {
    /// The job panicked; the panic was caught and the worker lives on.
    #[error("CPU job panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The queue bound was reached and the scheduler rejects rather than
    /// waits.
    #[error("CPU pool saturated: {max_queued} jobs already queued")]
    Saturated {
        /// The configured bound.
        max_queued: usize,
    },
    /// The scheduler was shut down.
    #[error("the CPU scheduler is shut down")]
    Closed,
    /// The worker pool could not be built.
    #[error("cannot build the CPU pool of {workers} workers: {reason}")]
    Build {
        /// The workers asked for.
        workers: usize,
        /// What the thread pool builder said.
        reason: String,
    },
}

/// Lets IO code that returns `std::io::Result` use `?` on a CPU job's
/// error, as tokio does for `JoinError`.
impl From<CpuError> for std::io::Error {
    fn from(error: CpuError) -> Self {
        std::io::Error::other(error)
    }
}
