//! Managed resources steward was given: shown in the status, the metrics
//! and the dashboard, closed at shutdown with the pools.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use steward_actors::lifecycle::State;
use steward_actors::resource::{
    Managed, OperationStats, Resource, ResourceKeeperBuilder, ResourceStatus,
};

use crate::{Error, Steward};

/// How long a status waits for a resource's keeper to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One managed resource in [`StewardStatus`](crate::StewardStatus).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ManagedStatus {
    /// Its name.
    pub name: String,
    /// Its lifecycle state, read without a message.
    pub state: State,
    /// Its keeper's status: the last error, checks, initializations
    /// (`None` if the supervisor did not answer within a second, or has
    /// stopped).
    pub status: Option<ResourceStatus>,
    /// Its operations' counters and latencies.
    pub operations: OperationStats,
}

/// What steward reads of a [`Managed`] of any resource type.
trait Watched: Send + Sync {
    fn state(&self) -> State;
    fn operations(&self) -> OperationStats;
    fn status(&self) -> BoxFuture<'_, Option<ResourceStatus>>;
    fn close(&self, timeout: Duration) -> BoxFuture<'_, ()>;
}

impl<R: Resource> Watched for Managed<R> {
    fn state(&self) -> State {
        Managed::state(self)
    }

    fn operations(&self) -> OperationStats {
        self.stats()
    }

    fn status(&self) -> BoxFuture<'_, Option<ResourceStatus>> {
        Box::pin(async move {
            tokio::time::timeout(ASK_TIMEOUT, Managed::status(self))
                .await
                .ok()
                .and_then(Result::ok)
        })
    }

    fn close(&self, timeout: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(err) = Managed::close(self, timeout).await {
                tracing::warn!(target: "steward", resource = self.name(), %err, "a managed resource did not close cleanly");
            }
        })
    }
}

/// The managed resources steward was given, in the order given.
#[derive(Clone, Default)]
pub(crate) struct Resources(Arc<Mutex<Vec<Arc<dyn Watched>>>>);

impl std::fmt::Debug for Resources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resources")
            .field("count", &self.all().len())
            .finish()
    }
}

impl Resources {
    fn all(&self) -> Vec<Arc<dyn Watched>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add(&self, resource: Arc<dyn Watched>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(resource);
    }

    /// Each resource's state and operations, read without a message: what
    /// the metrics need.
    pub(crate) fn figures(&self) -> Vec<(State, OperationStats)> {
        self.all()
            .iter()
            .map(|resource| (resource.state(), resource.operations()))
            .collect()
    }

    /// Each resource's status, its keeper asked for its own, all at
    /// once.
    pub(crate) async fn statuses(&self) -> Vec<ManagedStatus> {
        let all = self.all();
        let asks = all.iter().map(|resource| async move {
            let operations = resource.operations();
            ManagedStatus {
                name: operations.resource.clone(),
                state: resource.state(),
                status: resource.status().await,
                operations,
            }
        });
        futures::future::join_all(asks).await
    }

    /// Closes every resource at once, each cleanup bounded by `timeout`.
    pub(crate) async fn close_all(&self, timeout: Duration) {
        let all = self.all();
        futures::future::join_all(all.iter().map(|resource| resource.close(timeout))).await;
    }
}

impl Steward {
    /// Starts a managed resource's keeper on steward's arbiter, shows
    /// it in the status, the metrics (`steward_resource_state`, its
    /// operations' counters and latencies) and the dashboard, and closes
    /// it at shutdown with the pools. Steward keeps a handle: the
    /// resource lives until shutdown or [`Managed::close`], even when the
    /// returned handle is dropped. It stays `Uninitialized` until
    /// [`Managed::initialize`].
    ///
    /// # Examples
    ///
    /// ```
    /// use steward::resource::{Resource, ResourceKeeper};
    /// use steward::{State, UserError};
    ///
    /// struct Api;
    /// impl Resource for Api {
    ///     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    ///     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    /// }
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// let api = steward.start_resource(ResourceKeeper::builder("api", Api))?;
    /// api.initialize().await?;
    /// let status = steward.status().await;
    /// assert_eq!(status.resources[0].name, "api");
    /// assert_eq!(status.resources[0].state, State::Ready);
    /// steward.shutdown().await?;
    /// assert_eq!(api.state(), State::Closed);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Resource`] as [`ResourceKeeperBuilder::start_in`].
    pub fn start_resource<R: Resource>(
        &self,
        builder: ResourceKeeperBuilder<R>,
    ) -> Result<Managed<R>, Error> {
        let managed = builder.start_in(self.arbiter())?;
        self.add_resource(&managed);
        Ok(managed)
    }

    /// Shows a managed resource started elsewhere (a group's member, say)
    /// in the status, the metrics and the dashboard, and closes it at
    /// shutdown with the pools. Steward keeps a handle, so the resource is
    /// not closed when the program drops its own.
    pub fn add_resource<R: Resource>(&self, resource: &Managed<R>) {
        self.inner.actors.resources.add(Arc::new(resource.clone()));
    }
}
