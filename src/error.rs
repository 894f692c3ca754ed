//! The crate's error: every concern's error, gathered.

use std::sync::Arc;
use std::time::Duration;

use steward_actors::group::GroupError;
use steward_actors::pool::PoolError;
use steward_actors::resource::ResourceError;
use steward_actors::retry::RetryError;
use steward_actors::subprocess_pool::SubprocessError;
use steward_actors::supervisor::SupervisorError;
use steward_actors::tracker::TrackerError;

use steward_actors::{
    ConfigError, CpuError, DriveError, IllegalTransition, MonitorError, RegistryError, UserError,
};

/// Any error steward returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A registry operation failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// An IO limit operation failed.
    #[error(transparent)]
    Drive(#[from] DriveError),
    /// A CPU job failed.
    #[error(transparent)]
    Cpu(#[from] CpuError),
    /// A tracker operation failed.
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    /// A managed resource failed.
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// A supervisor of children failed.
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    /// A resource group failed.
    #[error(transparent)]
    Group(#[from] GroupError),
    /// A retried operation failed.
    #[error(transparent)]
    Retry(#[from] RetryError),
    /// A monitor operation failed.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    /// A pool operation failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// A subprocess pool run failed.
    #[error(transparent)]
    Subprocess(#[from] SubprocessError),
    /// Application code run by steward failed (a task in `try_parallel!`).
    #[error(transparent)]
    User(UserError),
    /// A lifecycle move the state machine does not allow.
    #[error(transparent)]
    Lifecycle(#[from] IllegalTransition),
    /// Starting or stopping steward's actor system failed.
    #[error(transparent)]
    System(#[from] SystemError),
    /// The observation endpoint could not start.
    #[cfg(feature = "observe")]
    #[error(transparent)]
    Observe(#[from] crate::observe::ObserveError),
}

/// Why starting or stopping steward's actor system failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SystemError {
    /// The OS refused to start the `steward-system` thread.
    #[error("could not start the steward-system thread")]
    Spawn(#[source] Arc<std::io::Error>),
    /// A tokio runtime could not be built.
    #[error("could not build a tokio runtime")]
    Runtime(#[source] Arc<std::io::Error>),
    /// The `steward-system` thread ended before it was ready.
    #[error("the steward-system thread ended while starting")]
    StartFailed,
    /// The `steward-system` thread did not report ready in time.
    #[error("the steward-system thread was not ready within {timeout:?}")]
    StartTimedOut {
        /// How long start waited.
        timeout: Duration,
    },
    /// Shutdown did not finish within the configured timeout; what was
    /// left is dropped with the system.
    #[error("shutdown did not finish within {timeout:?}")]
    ShutdownTimedOut {
        /// The configured shutdown timeout.
        timeout: Duration,
    },
    /// SIGINT/SIGTERM handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] Arc<std::io::Error>),
    /// A blocking call was made on a thread that runs an async runtime,
    /// where it would stall every task; `.await` the async form instead.
    #[error("{operation} blocks, and was called from inside an async runtime: use the async form")]
    BlockingInsideRuntime {
        /// The blocking call.
        operation: &'static str,
    },
}

impl From<UserError> for Error {
    fn from(error: UserError) -> Self {
        Error::User(error)
    }
}

/// Lets functions that return `std::io::Result` use `?` on steward's
/// errors (as `#[io_bound]` functions do).
impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Drive(drive) => drive.into(),
            other => std::io::Error::other(other),
        }
    }
}
