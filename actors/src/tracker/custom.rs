//! Custom resources: a value and the cleanup that releases it.

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use super::status::{CleanupOutcome, CustomStatus};
use crate::UserError;
use crate::panic_message::panic_message;

type CleanupFuture = Pin<Box<dyn Future<Output = CleanupOutcome> + Send>>;

/// A resource with its cleanup, its type erased.
pub(crate) trait CustomResource: Send {
    /// Runs the cleanup (on a blocking thread for a synchronous one),
    /// bounded by `timeout`, a failure or panic reported, never raised.
    fn clean_up(self: Box<Self>, timeout: Duration) -> CleanupFuture;
    /// The resource itself, for handing back.
    fn into_value(self: Box<Self>) -> Box<dyn Any + Send>;
    /// The resource's type.
    fn value_type(&self) -> (TypeId, &'static str);
}

pub(crate) struct SyncResource<T, F> {
    pub(crate) value: T,
    pub(crate) cleanup: F,
}

pub(crate) struct AsyncResource<T, F> {
    pub(crate) value: T,
    pub(crate) cleanup: F,
}

impl<T, F> CustomResource for SyncResource<T, F>
where
    T: Send + 'static,
    F: FnOnce(T) -> Result<(), UserError> + Send + 'static,
{
    fn clean_up(self: Box<Self>, timeout: Duration) -> CleanupFuture {
        let Self { value, cleanup } = *self;
        finish(tokio::task::spawn_blocking(move || cleanup(value)), timeout)
    }

    fn into_value(self: Box<Self>) -> Box<dyn Any + Send> {
        Box::new(self.value)
    }

    fn value_type(&self) -> (TypeId, &'static str) {
        (TypeId::of::<T>(), std::any::type_name::<T>())
    }
}

impl<T, F, Fut> CustomResource for AsyncResource<T, F>
where
    T: Send + 'static,
    F: FnOnce(T) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), UserError>> + Send + 'static,
{
    fn clean_up(self: Box<Self>, timeout: Duration) -> CleanupFuture {
        let Self { value, cleanup } = *self;
        finish(tokio::spawn(async move { cleanup(value).await }), timeout)
    }

    fn into_value(self: Box<Self>) -> Box<dyn Any + Send> {
        Box::new(self.value)
    }

    fn value_type(&self) -> (TypeId, &'static str) {
        (TypeId::of::<T>(), std::any::type_name::<T>())
    }
}

/// Awaits a cleanup run in a task of its own, so its panic is a
/// `JoinError`, not an unwinding tracker.
fn finish(
    cleanup: tokio::task::JoinHandle<Result<(), UserError>>,
    timeout: Duration,
) -> CleanupFuture {
    Box::pin(async move {
        let abort = cleanup.abort_handle();
        match tokio::time::timeout(timeout, cleanup).await {
            Ok(Ok(Ok(()))) => CleanupOutcome::Done,
            Ok(Ok(Err(err))) => CleanupOutcome::Failed {
                message: err.to_string(),
            },
            Ok(Err(err)) if err.is_panic() => CleanupOutcome::Panicked {
                message: panic_message(&*err.into_panic()),
            },
            Ok(Err(_)) => CleanupOutcome::Failed {
                message: "cleanup task cancelled".into(),
            },
            Err(_) => {
                abort.abort(); // an async cleanup stops; a blocking one cannot
                CleanupOutcome::TimedOut
            }
        }
    })
}

pub(crate) struct CustomEntry {
    pub(crate) sequence: u64,
    pub(crate) registered: SystemTime,
    pub(crate) resource: Box<dyn CustomResource>,
}

impl CustomEntry {
    pub(crate) fn status(&self) -> CustomStatus {
        CustomStatus {
            type_name: self.resource.value_type().1,
            registered: self.registered,
        }
    }
}
