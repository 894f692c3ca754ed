//! One managed resource, walked through the lifecycle by its own
//! keeper actor.
//!
//! Implement [`Resource`] for the thing to manage (a connection, a
//! session, a client): how to initialize it, clean it up, check its health
//! and tell a retryable error from a fatal one. A [`ResourceKeeper`]
//! then owns it:
//!
//! - `Uninitialized → Initializing → Ready`, initialization retried under a
//!   [`RetryPolicy`] (a fatal error is not retried);
//! - health checks in the background, one at a time, each bounded by a
//!   timeout (a hung check counts as failed): a failed check makes the
//!   resource `Degraded` (still usable), `failure_threshold` consecutive
//!   failures or a fatal error make it `Error`, from which it recovers
//!   through `Initializing` under the retry policy; when that recovery
//!   fails too, it stays in `Error` until [`Managed::initialize`] is
//!   called (a parent [`Supervisor`](crate::supervisor::Supervisor)
//!   replaces it then);
//! - [`Managed::close`] goes `Closing → Closed` and runs `cleanup` once;
//! - a panic in any callback is caught: the resource goes to `Error` with
//!   the panic's message, and the keeper keeps running.
//!
//! [`Managed`] is the handle: it reads the state without a message, hands
//! out the resource while it is usable, runs operations on it with
//! retries ([`Managed::with_retry`]) and reports every
//! [`StateChanged`](crate::StateChanged). [`scoped`] is the Rust form of an
//! `async with`: initialize, use, always clean up.
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use steward_actors::resource::{Health, Resource, ResourceKeeper};
//! use steward_actors::{State, UserError};
//!
//! #[derive(Debug, Default)]
//! struct Database {
//!     connected: AtomicBool,
//! }
//!
//! impl Resource for Database {
//!     async fn initialize(&self) -> Result<(), UserError> {
//!         self.connected.store(true, Ordering::SeqCst);
//!         Ok(())
//!     }
//!     async fn cleanup(&self) -> Result<(), UserError> {
//!         self.connected.store(false, Ordering::SeqCst);
//!         Ok(())
//!     }
//!     async fn check_health(&self) -> Result<Health, UserError> {
//!         Ok(Health::Healthy)
//!     }
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::resource::ResourceError> {
//! let db = ResourceKeeper::builder("db", Database::default()).start()?;
//! db.initialize().await?;
//! assert_eq!(db.state(), State::Ready);
//! assert!(db.resource()?.connected.load(Ordering::SeqCst));
//!
//! db.close(std::time::Duration::from_secs(5)).await?;
//! assert_eq!(db.state(), State::Closed);
//! # Ok(())
//! # }
//! ```

mod builder;
mod error;
mod handle;
mod health;
mod keeper;
mod link;
mod messages;
mod operation;
mod outcome;
mod reconnect;
mod scope;
mod settings;
mod stats;
mod status;
mod window;

use std::future::Future;

pub use builder::ResourceKeeperBuilder;
pub use error::ResourceError;
pub use handle::Managed;
pub use health::Health;
pub use keeper::ResourceKeeper;
pub use messages::{CheckHealth, Close, Initialize, ReportResourceStatus};
pub use scope::scoped;
pub use stats::{OperationCounts, OperationStats};
pub use status::ResourceStatus;
pub use window::LatencySummary;

use crate::UserError;
#[doc(no_inline)]
pub use crate::retry::RetryPolicy;

/// Something with a lifecycle: initialized, checked, cleaned up.
///
/// Methods take `&self`: the keeper and every user of the resource
/// share it (`Arc<Self>`), so keep mutable parts behind a lock or an
/// atomic. `initialize` may be called again after an error (recovery), so
/// it should replace what a failed or broken previous run left behind.
///
/// Implementations may write `async fn` for each method.
pub trait Resource: Send + Sync + 'static {
    /// Brings the resource up (connects, opens, authenticates).
    fn initialize(&self) -> impl Future<Output = Result<(), UserError>> + Send;

    /// Releases what the resource holds. Runs at most once, on close.
    fn cleanup(&self) -> impl Future<Output = Result<(), UserError>> + Send;

    /// Reports how the resource is doing. An `Err` counts as a failed
    /// check, or, when [`is_retryable`](Self::is_retryable) says it is
    /// fatal, sends the resource to `Error` at once.
    ///
    /// The default reports [`Health::Healthy`].
    fn check_health(&self) -> impl Future<Output = Result<Health, UserError>> + Send {
        async { Ok(Health::Healthy) }
    }

    /// Whether another attempt might fix `error`. The default says yes.
    fn is_retryable(&self, error: &UserError) -> bool {
        let _ = error;
        true
    }

    /// Whether `error`, returned by an operation run through
    /// [`Managed::operation`] or [`Managed::with_retry`], means the
    /// connection is gone: the keeper then reconnects (once, however
    /// many operations report it) and the next attempt runs on the new
    /// connection. The default says no: such errors are retried on the
    /// same connection, as [`is_retryable`](Self::is_retryable) says.
    fn is_disconnect(&self, error: &UserError) -> bool {
        let _ = error;
        false
    }
}

#[cfg(test)]
mod tests;
