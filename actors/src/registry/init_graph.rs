//! Who is creating which singleton, and who waits for whom: a wait-for
//! graph, so two threads that create the two ends of a dependency cycle at
//! the same time get a `Cycle` error instead of waiting on each other
//! forever.
//!
//! One graph for the whole process: a cycle may run through singletons of
//! several registries. Only the slow path takes its lock: a singleton's
//! first resolve, and resolves that arrive while it is being created.

use std::collections::HashMap;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use super::{RegistryError, ServiceName};

/// A singleton, by the address of its shared state.
pub(crate) type Slot = usize;

/// The process's graph.
pub(crate) static GRAPH: LazyLock<InitGraph> = LazyLock::new(InitGraph::default);

#[derive(Debug, Default)]
pub(crate) struct InitGraph {
    state: Mutex<Waits>,
    finished: Condvar,
}

/// One run of a singleton's factory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempt(u64);

#[derive(Debug, Default)]
pub(crate) struct Waits {
    /// Which thread is running which singleton's factory, in which attempt.
    owners: HashMap<Slot, (ThreadId, ServiceName, Attempt)>,
    /// Which singleton each blocked thread waits for.
    waiting: HashMap<ThreadId, Slot>,
    /// The last failed attempt per singleton, so its waiters get its error
    /// instead of each running the factory again in turn.
    failures: HashMap<Slot, (Attempt, RegistryError)>,
    next_attempt: u64,
}

impl InitGraph {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Waits> {
        // Nothing that can panic runs while the lock is held (factories run
        // outside it), so a poisoned lock still guards consistent state.
        crate::sync::lock(&self.state)
    }

    /// Blocks until the attempt on `slot` that `me` found has finished.
    pub(crate) fn wait<'a>(
        &self,
        mut waits: MutexGuard<'a, Waits>,
        me: ThreadId,
        slot: Slot,
        attempt: Attempt,
    ) -> MutexGuard<'a, Waits> {
        waits.waiting.insert(me, slot);
        let mut waits = self
            .finished
            .wait_while(waits, |waits| {
                waits
                    .owners
                    .get(&slot)
                    .is_some_and(|(_, _, a)| *a == attempt)
            })
            .unwrap_or_else(PoisonError::into_inner);
        waits.waiting.remove(&me);
        waits
    }
}

impl Waits {
    /// The thread creating `slot` and its attempt, if any.
    pub(crate) fn owner(&self, slot: Slot) -> Option<(ThreadId, Attempt)> {
        self.owners
            .get(&slot)
            .map(|(owner, _, attempt)| (*owner, *attempt))
    }

    /// The error of `attempt`, if it failed.
    pub(crate) fn failure(&self, slot: Slot, attempt: Attempt) -> Option<RegistryError> {
        self.failures
            .get(&slot)
            .filter(|(failed, _)| *failed == attempt)
            .map(|(_, error)| error.clone())
    }

    /// Makes `me` the creator of `slot`; the claim ends when the returned
    /// guard is dropped, however the factory ends.
    pub(crate) fn claim(&mut self, slot: Slot, me: ThreadId, service: ServiceName) -> Claim {
        self.next_attempt += 1;
        let attempt = Attempt(self.next_attempt);
        self.owners.insert(slot, (me, service, attempt));
        Claim {
            slot,
            attempt,
            failure: None,
        }
    }

    /// How many threads wait on the singleton of type `type_name`.
    #[cfg(test)]
    pub(crate) fn waiting_on(&self, type_name: &str) -> usize {
        self.waiting
            .values()
            .filter(|slot| {
                self.owners
                    .get(slot)
                    .is_some_and(|(_, service, _)| service.type_name == type_name)
            })
            .count()
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
            let (next, service, _) = self.owners.get(slot)?;
            path.push(service.clone());
            if *next == me {
                return Some(path);
            }
            owner = *next;
        }
        None
    }
}

/// A running creation. Dropping it ends the claim, records a failure for
/// the attempt's waiters, and wakes them: also on unwinding.
#[derive(Debug)]
#[must_use]
pub(crate) struct Claim {
    slot: Slot,
    attempt: Attempt,
    failure: Option<RegistryError>,
}

impl Claim {
    pub(crate) fn failed(&mut self, error: &RegistryError) {
        self.failure = Some(error.clone());
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut waits = GRAPH.lock();
        waits.owners.remove(&self.slot);
        match self.failure.take() {
            Some(error) => drop(waits.failures.insert(self.slot, (self.attempt, error))),
            None => drop(waits.failures.remove(&self.slot)),
        }
        drop(waits);
        GRAPH.finished.notify_all();
    }
}
