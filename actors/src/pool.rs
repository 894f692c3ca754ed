//! A supervised pool of expensive resources (connections, sessions,
//! workers), with a circuit breaker none of the peers has.
//!
//! - A [`Manager`] says how to create, recycle, check and destroy a
//!   resource; [`Pool::builder`] sets sizes, timeouts, lifetimes and
//!   checks.
//! - [`Pool::acquire`] returns a [`PoolGuard`] that derefs to the resource
//!   and gives it back when dropped. Taking an idle resource touches only a
//!   semaphore and the idle queue: no mailbox hop. Waiters are served
//!   first come, first served; unless a wait timeout is set
//!   ([`PoolBuilder::wait_timeout`], [`Pool::acquire_timeout`]) no timer is
//!   armed and no clock read.
//! - The [`PoolKeeper`] actor owns everything else: creation (each
//!   attempt bounded, retried under the pool's
//!   [`RetryPolicy`](crate::retry::RetryPolicy)), replacement, reaping of
//!   idle and expired resources (lifetimes are jittered), background health
//!   checks of idle resources, `min_size` refill, resize, close.
//! - A circuit breaker guards the backend. A failed create attempt makes
//!   the pool `Degraded`: from then on one attempt runs at a time, and the
//!   acquires that need a new resource wait for it. After
//!   `failure_threshold` failed attempts in a row it is `Error` (the
//!   [`lifecycle`](crate::lifecycle) states): every retry schedule ends, an
//!   acquire that would need a new resource fails at once with
//!   [`PoolError::Unavailable`], and one probe create every
//!   `probe_interval` checks the backend; the first that succeeds makes the
//!   pool `Ready` again.
//! - [`Pool::close`] wakes every waiter at once, those waiting for a create
//!   included, and cancels the creates in flight.
//! - Every manager callback is bounded and run under `catch_unwind`; a
//!   failure or a panic costs the resource, never the slot. A dropped
//!   acquire future leaks nothing.
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//! use steward_actors::pool::{Manager, Pool};
//! use steward_actors::UserError;
//!
//! struct Connections {
//!     opened: AtomicU32,
//! }
//!
//! impl Manager for Connections {
//!     type Resource = String;
//!
//!     async fn create(&self) -> Result<String, UserError> {
//!         let n = self.opened.fetch_add(1, Ordering::SeqCst);
//!         Ok(format!("connection {n}"))
//!     }
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::pool::PoolError> {
//! let pool = Pool::builder(Connections { opened: AtomicU32::new(0) })
//!     .name("db")
//!     .max_size(4)
//!     .min_size(1)
//!     .wait_timeout(Some(Duration::from_secs(5)))
//!     .start()
//!     .await?;
//!
//! {
//!     let connection = pool.acquire().await?;
//!     assert_eq!(*connection, "connection 0");
//!     assert_eq!(pool.status().in_use, 1);
//! } // back in the pool here
//!
//! assert_eq!((pool.status().idle, pool.status().in_use), (1, 0));
//! pool.close().await;
//! assert!(pool.acquire().await.unwrap_err().is_closed());
//! # Ok(())
//! # }
//! ```

mod breaker;
mod builder;
mod capacity;
mod config;
mod error;
mod guard;
mod handle;
mod jobs;
mod keeper;
mod manager;
mod messages;
mod pooled;
mod requests;
mod shared;
mod status;

pub use builder::PoolBuilder;
pub use config::{MAX_SIZE, QueueMode, RecycleOn};
pub use error::{PoolError, TimeoutKind};
pub use guard::PoolGuard;
pub use handle::{Pool, WeakPool};
pub use keeper::PoolKeeper;
pub use manager::Manager;
pub use messages::{ClosePool, Resize, SubscribeState, SubscribeStateRecipient};
pub use status::{PoolStatus, PooledStatus};

#[cfg(test)]
mod tests;
