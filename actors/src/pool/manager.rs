//! [`Manager`]: how a pool creates, recycles, checks and destroys its
//! resources; and the guarded calls that run them.

use std::future::Future;
use std::time::Duration;

use super::error::{PoolError, TimeoutKind};
use crate::UserError;
use crate::sync::Ended;

/// What a pool needs to know about its resources.
///
/// Implement it with `async fn`s. Every callback is bounded by the pool's
/// timeouts and run under `catch_unwind`: an error, a timeout or a panic
/// costs the resource (it is destroyed), never the pool's slot.
///
/// # Examples
///
/// ```
/// use steward_actors::pool::Manager;
/// use steward_actors::UserError;
///
/// struct Connections;
///
/// impl Manager for Connections {
///     type Resource = String;
///
///     async fn create(&self) -> Result<String, UserError> {
///         Ok("connection".to_owned())
///     }
///
///     async fn check(&self, connection: &mut String) -> Result<(), UserError> {
///         if connection.is_empty() { Err(UserError::msg("closed by peer")) } else { Ok(()) }
///     }
/// }
/// ```
pub trait Manager: Send + Sync + 'static {
    /// What the pool holds.
    type Resource: Send + 'static;

    /// Makes a new resource.
    fn create(&self) -> impl Future<Output = Result<Self::Resource, UserError>> + Send;

    /// Makes a resource ready for its next user (on checkout, or on return
    /// with [`RecycleOn::Return`](super::RecycleOn::Return)). An error
    /// discards the resource. The default does nothing.
    fn recycle(
        &self,
        resource: &mut Self::Resource,
    ) -> impl Future<Output = Result<(), UserError>> + Send {
        let _ = resource;
        async { Ok(()) }
    }

    /// Tells whether a resource still works: run on idle resources every
    /// `health_check_interval`, and on checkout with `test_on_checkout`.
    /// An error discards the resource. The default says it works.
    fn check(
        &self,
        resource: &mut Self::Resource,
    ) -> impl Future<Output = Result<(), UserError>> + Send {
        let _ = resource;
        async { Ok(()) }
    }

    /// Releases a resource the pool discards. The default drops it.
    fn destroy(&self, resource: Self::Resource) -> impl Future<Output = ()> + Send {
        async move { drop(resource) }
    }

    /// Whether a failed `create` is worth another attempt under the pool's
    /// retry policy. The default says yes.
    fn is_retryable(&self, error: &UserError) -> bool {
        let _ = error;
        true
    }
}

/// Runs one manager callback bounded by `timeout`, turning a panic into
/// [`PoolError::Panicked`] and a timeout into [`PoolError::Timeout`].
pub(crate) async fn guarded<T>(
    pool: &str,
    callback: &'static str,
    kind: TimeoutKind,
    timeout: Duration,
    call: impl Future<Output = Result<T, UserError>>,
) -> Result<T, CallError> {
    // Most recycles finish at once: only a pending one gets a timer.
    match crate::sync::call(Some(timeout), call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(CallError::Failed(error)),
        Err(Ended::Panicked(message)) => Err(CallError::Pool(PoolError::Panicked {
            pool: pool.to_owned(),
            callback,
            message,
        })),
        Err(Ended::TimedOut(_)) => Err(CallError::Pool(PoolError::Timeout {
            pool: pool.to_owned(),
            kind,
        })),
    }
}

/// Why a guarded callback did not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The callback returned an error.
    Failed(UserError),
    /// It timed out or panicked.
    Pool(PoolError),
}

impl CallError {
    /// The error a failed create leaves for `Unavailable`.
    pub(crate) fn user_error(&self) -> UserError {
        match self {
            CallError::Failed(error) => error.clone(),
            CallError::Pool(error) => UserError::msg(error),
        }
    }

    /// A short description for logs.
    pub(crate) fn describe(&self) -> String {
        match self {
            CallError::Failed(error) => error.to_string(),
            CallError::Pool(error) => error.to_string(),
        }
    }
}
