//! The registry actor: the only writer of the service maps.

use std::sync::Arc;

use actix::{Actor, Context};

use super::RegistryError;
use super::entry::{Entry, Key, Provider};
use super::store::Store;

/// The actor behind [`Registry`](super::Registry): it applies registrations
/// and removals one at a time and owns shutdown. Resolving never reaches it.
pub struct ServiceRegistry {
    store: Arc<Store>,
    next_sequence: u64,
}

impl std::fmt::Debug for ServiceRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceRegistry")
            .field("registered", &self.next_sequence)
            .finish_non_exhaustive()
    }
}

impl ServiceRegistry {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            next_sequence: 0,
        }
    }

    /// Enters `provider` under `key` (replacing what is there if `replace`).
    pub(super) fn register(
        &mut self,
        key: Key,
        provider: Provider,
        replace: bool,
    ) -> Result<(), RegistryError> {
        let service = key.service_name();
        let kind = provider.kind();
        let entry = Entry {
            type_name: key.type_name,
            provider,
            sequence: self.next_sequence,
        };
        let replaced = self.store.insert(key, entry, replace)?;
        // Dropped after the map lock is released: its `Drop` may resolve.
        drop(replaced);
        self.next_sequence += 1;
        tracing::debug!(target: "steward::registry", %service, ?kind, replace, "registered");
        Ok(())
    }

    /// Removes the service under `key`.
    pub(super) fn unregister(&mut self, key: &Key) -> Result<(), RegistryError> {
        let removed = self.store.remove(key)?;
        tracing::debug!(target: "steward::registry", service = %key.service_name(), "unregistered");
        // Dropped here, on the actor, after the map no longer holds it.
        drop(removed);
        Ok(())
    }

    /// Drops every service, newest first.
    pub(super) fn shut_down(&mut self) {
        let entries = self.store.close();
        let count = entries.len();
        // Newest first: a service is dropped before those it was built on.
        for entry in entries {
            drop(entry);
        }
        tracing::debug!(target: "steward::registry", services = count, "shut down");
    }
}

impl Actor for ServiceRegistry {
    type Context = Context<Self>;
}
