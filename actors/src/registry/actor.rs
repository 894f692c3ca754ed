//! The registry actor: the only writer of the service maps.

use std::sync::Arc;

use actix::{Actor, ActorContext, Context, Handler};

use super::entry::Entry;
use super::store::Store;
use super::{Register, RegistryError, Unregister};
use crate::Shutdown;

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

    fn register(&mut self, message: Register) -> Result<(), RegistryError> {
        let Register {
            key,
            provider,
            replace,
        } = message;
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

    fn unregister(&mut self, message: &Unregister) -> Result<(), RegistryError> {
        let removed = self.store.remove(&message.key)?;
        tracing::debug!(target: "steward::registry", service = %message.key.service_name(), "unregistered");
        // Dropped here, on the actor, after the map no longer holds it.
        drop(removed);
        Ok(())
    }

    fn shut_down(&mut self) {
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

impl Handler<Register> for ServiceRegistry {
    type Result = Result<(), RegistryError>;

    fn handle(&mut self, message: Register, _: &mut Context<Self>) -> Self::Result {
        self.register(message)
    }
}

impl Handler<Unregister> for ServiceRegistry {
    type Result = Result<(), RegistryError>;

    fn handle(&mut self, message: Unregister, _: &mut Context<Self>) -> Self::Result {
        self.unregister(&message)
    }
}

impl Handler<Shutdown> for ServiceRegistry {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.shut_down();
        ctx.stop();
    }
}
