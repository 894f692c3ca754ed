//! The tracker handle's methods for custom resources.

use std::future::Future;
use std::time::Duration;

use super::Tracker;
use crate::UserError;
use crate::tracker::custom::{AsyncResource, SyncResource};
use crate::tracker::error::{Rejected, TrackerError};
use crate::tracker::messages::{CleanupCustom, RegisterCustom, UnregisterCustom};
use crate::tracker::status::CleanupOutcome;

impl Tracker {
    /// Tracks `resource` with a synchronous cleanup (run on a blocking
    /// thread).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::tracker::{CleanupOutcome, Tracker};
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_custom("file", 3_u32, |_| Ok(())).await.unwrap();
    /// let outcome = tracker.cleanup_custom("file", Duration::from_secs(1)).await.unwrap();
    /// assert_eq!(outcome, CleanupOutcome::Done);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the resource, for a duplicate key.
    pub async fn register_custom<T, F>(
        &self,
        key: impl Into<String>,
        resource: T,
        cleanup: F,
    ) -> Result<(), Rejected<T>>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Result<(), UserError> + Send + 'static,
    {
        let message = RegisterCustom {
            key: key.into(),
            resource: Box::new(SyncResource {
                value: resource,
                cleanup,
            }),
        };
        self.register(message).await
    }

    /// Tracks `resource` with an async cleanup.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker
    ///     .register_custom_async("socket", 9_u16, |_| async { Ok(()) })
    ///     .await
    ///     .unwrap();
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the resource, for a duplicate key.
    pub async fn register_custom_async<T, F, Fut>(
        &self,
        key: impl Into<String>,
        resource: T,
        cleanup: F,
    ) -> Result<(), Rejected<T>>
    where
        T: Send + 'static,
        F: FnOnce(T) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), UserError>> + Send + 'static,
    {
        let message = RegisterCustom {
            key: key.into(),
            resource: Box::new(AsyncResource {
                value: resource,
                cleanup,
            }),
        };
        self.register(message).await
    }

    async fn register<T: Send + 'static>(
        &self,
        message: RegisterCustom,
    ) -> Result<(), Rejected<T>> {
        match self.address.send(message).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Rejected { error, item })) => {
                let item = item.and_then(|item| item.downcast::<T>().ok());
                Err(Rejected { error, item })
            }
            Err(_) => Err(Rejected {
                error: TrackerError::Closed,
                item: None,
            }),
        }
    }

    /// Runs the cleanup of the resource under `key` (bounded by `timeout`)
    /// and untracks it; a failed or panicking cleanup is in the outcome.
    ///
    /// # Examples
    ///
    /// See [`register_custom`](Self::register_custom).
    ///
    /// # Errors
    ///
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn cleanup_custom(
        &self,
        key: &str,
        timeout: Duration,
    ) -> Result<CleanupOutcome, TrackerError> {
        self.ask(CleanupCustom {
            key: key.to_owned(),
            timeout,
        })
        .await?
    }

    /// Hands the resource under `key` back, typed, without cleaning it up.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::Tracker;
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// let tracker = Tracker::start_in(&actix::Arbiter::current());
    /// tracker.register_custom("n", 7_u8, |_| Ok(())).await.unwrap();
    /// assert_eq!(tracker.unregister_custom::<u8>("n").await.unwrap(), 7);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`TrackerError::WrongType`] (the resource stays tracked);
    /// [`TrackerError::NotRegistered`]; [`TrackerError::Closed`].
    pub async fn unregister_custom<T: Send + 'static>(&self, key: &str) -> Result<T, TrackerError> {
        self.ask(UnregisterCustom::<T>::new(key)).await?
    }
}
