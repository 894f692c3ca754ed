//! A member of a group, with its resource type erased.

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::ArbiterHandle;
use futures::FutureExt;
use futures::future::BoxFuture;

use super::GroupError;
use crate::lifecycle::State;
use crate::resource::{Managed, Resource, ResourceError, ResourceKeeperBuilder};

/// A started member: a [`Managed`] of some resource type.
pub(super) trait Member: Send + Sync {
    fn initialize(&self) -> BoxFuture<'static, Result<(), ResourceError>>;
    fn close(&self, timeout: Duration) -> BoxFuture<'static, Result<(), ResourceError>>;
    /// Closes without `cleanup`: its start failed.
    fn discard(&self) -> BoxFuture<'static, ()>;
    fn state(&self) -> State;
    fn as_any(&self) -> &dyn Any;
}

impl<R: Resource> Member for Managed<R> {
    fn initialize(&self) -> BoxFuture<'static, Result<(), ResourceError>> {
        let managed = self.clone();
        async move { managed.initialize().await }.boxed()
    }

    fn close(&self, timeout: Duration) -> BoxFuture<'static, Result<(), ResourceError>> {
        let managed = self.clone();
        async move { managed.close(timeout).await }.boxed()
    }

    fn discard(&self) -> BoxFuture<'static, ()> {
        let managed = self.clone();
        async move { managed.discard().await }.boxed()
    }

    fn state(&self) -> State {
        Managed::state(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How to start a member afresh (each group initialization does).
/// It runs on the given arbiter, or on the calling thread's.
pub(super) type StartMember =
    Box<dyn FnMut(Option<&ArbiterHandle>) -> Result<Arc<dyn Member>, ResourceError> + Send>;

pub(super) fn starter<R, F>(mut make: F) -> StartMember
where
    R: Resource,
    F: FnMut() -> ResourceKeeperBuilder<R> + Send + 'static,
{
    Box::new(move |arbiter| {
        let managed = match arbiter {
            Some(arbiter) => make().start_in(arbiter)?,
            None => make().start()?,
        };
        Ok(Arc::new(managed) as Arc<dyn Member>)
    })
}

/// One named member: its dependencies, how to start it, the running one.
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) deps: Vec<usize>,
    pub(super) start: Mutex<StartMember>,
    pub(super) arbiter: Option<ArbiterHandle>,
    pub(super) current: Mutex<Option<Arc<dyn Member>>>,
}

impl Slot {
    pub(super) fn current(&self) -> Option<Arc<dyn Member>> {
        self.current.lock().ok().and_then(|current| current.clone())
    }

    /// Starts a fresh keeper for this member and records it. A panic
    /// in the application's builder closure is caught and reported.
    pub(super) fn start(&self) -> Result<Arc<dyn Member>, GroupError> {
        let mut start = crate::sync::lock(&self.start);
        let started = crate::sync::catch(|| start(self.arbiter.as_ref()));
        drop(start);
        let member = match started {
            Ok(Ok(member)) => member,
            Ok(Err(source)) => {
                return Err(GroupError::Initialize {
                    resource: self.name.clone(),
                    source,
                });
            }
            Err(message) => {
                return Err(GroupError::StartPanicked {
                    resource: self.name.clone(),
                    message,
                });
            }
        };
        if let Ok(mut current) = self.current.lock() {
            *current = Some(Arc::clone(&member));
        }
        Ok(member)
    }
}
