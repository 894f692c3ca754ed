//! A scoped use of a resource: initialize, use, always clean up.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::{Resource, ResourceError, ResourceKeeperBuilder};

/// Starts a keeper from `builder`, initializes the resource, runs
/// `body` with it, and closes it (cleanup bounded by `close_timeout`)
/// whatever `body` did: the Rust form of
/// `async with AsyncResourceContext(r) as r`.
///
/// A panic in `body` is resumed after the cleanup. If the returned future
/// is dropped midway, the keeper still closes the resource (its last
/// handle is gone).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steward_actors::resource::{scoped, Resource, ResourceKeeper};
/// use steward_actors::UserError;
///
/// #[derive(Debug)]
/// struct Session;
///
/// impl Resource for Session {
///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
/// }
///
/// # #[actix_rt::main]
/// # async fn main() -> Result<(), steward_actors::resource::ResourceError> {
/// let builder = ResourceKeeper::builder("session", Session);
/// let answer = scoped(builder, Duration::from_secs(5), |_session| async { 42 }).await?;
/// assert_eq!(answer, 42);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// What starting or initializing returned (the resource is closed
/// before returning), or a failed cleanup. `body`'s own result is
/// returned as `Ok`.
///
/// # Cancel safety
///
/// Dropping the future closes the resource in the background.
pub async fn scoped<R, T, F, Fut>(
    builder: ResourceKeeperBuilder<R>,
    close_timeout: Duration,
    body: F,
) -> Result<T, ResourceError>
where
    R: Resource,
    F: FnOnce(Arc<R>) -> Fut,
    Fut: Future<Output = T>,
{
    let managed = builder.start()?;
    if let Err(error) = managed.initialize().await {
        // The initialization error is the one worth reporting.
        let _ = managed.close(close_timeout).await;
        return Err(error);
    }
    let outcome = match managed.resource() {
        Ok(resource) => AssertUnwindSafe(body(resource)).catch_unwind().await,
        Err(error) => {
            let _ = managed.close(close_timeout).await;
            return Err(error);
        }
    };
    let closed = managed.close(close_timeout).await;
    match outcome {
        Ok(value) => closed.map(|()| value),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}
