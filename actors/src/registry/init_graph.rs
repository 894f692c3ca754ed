//! Who is creating which singleton, and who waits for whom: a wait-for
//! graph, so two threads that create the two ends of a dependency cycle at
//! the same time get a `Cycle` error instead of waiting on each other
//! forever.
//!
//! Only the slow path takes this lock: a singleton's first resolve, and
//! resolves that arrive while it is being created.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use super::ServiceName;

/// A singleton, by the address of its shared state.
pub(crate) type Slot = usize;

#[derive(Debug, Default)]
pub(crate) struct InitGraph {
    state: Mutex<Waits>,
    finished: Condvar,
}

#[derive(Debug, Default)]
pub(crate) struct Waits {
    /// Which thread is running which singleton's factory.
    owners: HashMap<Slot, (ThreadId, ServiceName)>,
    /// Which singleton each blocked thread waits for.
    waiting: HashMap<ThreadId, Slot>,
}

impl InitGraph {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Waits> {
        // Nothing panics while the lock is held (factories run outside it),
        // so a poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Blocks until nobody is creating `slot`.
    pub(crate) fn wait<'a>(
        &self,
        mut waits: MutexGuard<'a, Waits>,
        me: ThreadId,
        slot: Slot,
    ) -> MutexGuard<'a, Waits> {
        waits.waiting.insert(me, slot);
        let mut waits = self
            .finished
            .wait_while(waits, |waits| waits.owners.contains_key(&slot))
            .unwrap_or_else(PoisonError::into_inner);
        waits.waiting.remove(&me);
        waits
    }

    /// Ends `slot`'s creation and wakes its waiters.
    pub(crate) fn finish(&self, mut waits: MutexGuard<'_, Waits>, slot: Slot) {
        waits.owners.remove(&slot);
        drop(waits);
        self.finished.notify_all();
    }
}

impl Waits {
    /// The thread creating `slot`, if any.
    pub(crate) fn owner(&self, slot: Slot) -> Option<ThreadId> {
        self.owners.get(&slot).map(|(owner, _)| *owner)
    }

    pub(crate) fn claim(&mut self, slot: Slot, me: ThreadId, service: ServiceName) {
        self.owners.insert(slot, (me, service));
    }

    /// If `me` waiting for `owner` would close a loop of waits, the services
    /// along it, starting with the one `owner` waits for.
    ///
    /// The graph never holds a loop (every wait that would close one is
    /// refused), so the walk ends; it is bounded by the graph's size anyway.
    pub(crate) fn loop_through(
        &self,
        me: ThreadId,
        mut owner: ThreadId,
    ) -> Option<Vec<ServiceName>> {
        let mut path = Vec::new();
        for _ in 0..=self.owners.len() {
            let slot = self.waiting.get(&owner)?;
            let (next, service) = self.owners.get(slot)?;
            path.push(service.clone());
            if *next == me {
                return Some(path);
            }
            owner = *next;
        }
        None
    }
}
