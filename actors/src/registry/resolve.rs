//! Resolving a service: a shared-map read on the hot path, factories with
//! cycle detection and panic capture on the slow one.

use std::sync::Arc;

use super::entry::{Factory, Provider, Service, Singleton};
use super::init_graph::GRAPH;
use super::store::Lookup;
use super::{Registry, RegistryError, stack};

/// What a read of the map found: a value to return, or a factory to run
/// after the map's lock is released.
enum Found {
    Value(Service),
    Create(Arc<Singleton>),
    Call(Arc<Factory>),
}

impl Registry {
    /// Resolves `lookup` with its type erased; `Ok(None)` when nothing is
    /// registered under it.
    #[inline]
    pub(crate) fn resolve_erased(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<Service>, RegistryError> {
        let found = self.store.read(lookup, |entry| match &entry.provider {
            Provider::Instance(value) => Found::Value(Arc::clone(value)),
            Provider::Singleton(singleton) => match singleton.value.get() {
                Some(value) => Found::Value(Arc::clone(value)),
                None => Found::Create(Arc::clone(singleton)),
            },
            Provider::Transient(factory) => Found::Call(Arc::clone(factory)),
        });
        // The map's lock is released here: factories may resolve other
        // services, and the actor may be waiting to write.
        match found {
            Some(Found::Value(value)) => Ok(Some(value)),
            Some(Found::Create(singleton)) => self.create_singleton(lookup, &singleton).map(Some),
            Some(Found::Call(factory)) => {
                let _creating = stack::enter(self.id(), lookup)?;
                self.call(lookup, &*factory).map(Some)
            }
            None if self.store.is_closed() => Err(RegistryError::Closed),
            None => Ok(None),
        }
    }

    /// Runs a singleton's factory once, however many threads ask at once;
    /// the others wait for its value, or get its error if it fails. The
    /// next resolve after a failure tries again.
    fn create_singleton(
        &self,
        lookup: Lookup<'_>,
        singleton: &Arc<Singleton>,
    ) -> Result<Service, RegistryError> {
        let _creating = stack::enter(self.id(), lookup)?;
        let slot = Arc::as_ptr(singleton).cast::<()>() as usize;
        let me = std::thread::current().id();
        let mut waits = GRAPH.lock();
        loop {
            if let Some(value) = singleton.value.get() {
                return Ok(Arc::clone(value));
            }
            match waits.owner(slot) {
                None => {
                    let mut claim = waits.claim(slot, me, lookup.service_name());
                    drop(waits);
                    let result = self.call(lookup, &*singleton.factory);
                    match &result {
                        // Set before the claim ends and wakes the waiters.
                        Ok(value) => {
                            let _ = singleton.value.set(Arc::clone(value));
                            tracing::debug!(target: "steward::registry", service = %lookup.service_name(), "singleton created");
                        }
                        Err(error) => claim.failed(error),
                    }
                    return result;
                }
                // This thread's own creation stack would have caught it
                // already; kept so a waiter can never wait on itself.
                Some((owner, _)) if owner == me => {
                    let mut chain = stack::chain(self.id());
                    chain.push(lookup.service_name());
                    return Err(RegistryError::Cycle { chain });
                }
                Some((owner, attempt)) => {
                    if let Some(rest) = waits.loop_through(me, owner) {
                        let mut chain = stack::chain(self.id());
                        chain.extend(rest);
                        return Err(RegistryError::Cycle { chain });
                    }
                    waits = GRAPH.wait(waits, me, slot, attempt);
                    if let Some(error) = waits.failure(slot, attempt) {
                        return Err(error);
                    }
                }
            }
        }
    }

    /// Runs a factory, turning its error or panic into a `RegistryError`.
    fn call(&self, lookup: Lookup<'_>, factory: &Factory) -> Result<Service, RegistryError> {
        let error = match crate::sync::catch(|| factory(self)) {
            Ok(Ok(value)) => return Ok(value),
            // A service this factory depends on failed: that is the cause to
            // report, not a failure of this factory.
            Ok(Err(error)) => match error.downcast_ref::<RegistryError>() {
                Some(inner) => inner.clone(),
                None => RegistryError::FactoryFailed {
                    service: lookup.service_name(),
                    source: error,
                },
            },
            Err(message) => RegistryError::FactoryPanicked {
                service: lookup.service_name(),
                message,
            },
        };
        tracing::warn!(target: "steward::registry", service = %lookup.service_name(), %error, "factory failed");
        Err(error)
    }

    /// Tells registries apart in the thread's creation stack.
    fn id(&self) -> usize {
        Arc::as_ptr(&self.store).cast::<()>() as usize
    }
}
