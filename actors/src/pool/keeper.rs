//! The `PoolKeeper` actor: owns a pool's creation (under the circuit
//! breaker, in `creates`), replacement, idle reaping, lifetimes, health
//! checks, resize and close (in `upkeep`). Its messages and their
//! handlers are in `messages`; the work it spawns in `jobs`.

use std::sync::{Arc, Weak};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::breaker::{Breaker, Verdict};
use super::error::PoolError;
use super::jobs::{create_with_retry, last_error};
use super::manager::Manager;
use super::requests::Creates;
use super::shared::PoolState;
use crate::lifecycle::{Lifecycle, State};

mod creates;
mod upkeep;

/// The actor behind a [`Pool`](super::Pool). Checkouts of idle resources
/// never reach it; it owns every other change of the pool.
pub struct PoolKeeper<M: Manager> {
    shared: Weak<PoolState<M>>,
    pub(super) lifecycle: Lifecycle,
    breaker: Breaker,
    creates: Creates<M::Resource>,
    probe: Option<SpawnHandle>,
    maintenance: Option<SpawnHandle>,
    health: Option<SpawnHandle>,
    /// The health check running, if any.
    checking: Option<SpawnHandle>,
}

impl<M: Manager> std::fmt::Debug for PoolKeeper<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolKeeper")
            .field("pool", &self.lifecycle.resource())
            .field("state", &self.lifecycle.state())
            .finish_non_exhaustive()
    }
}

impl<M: Manager> PoolKeeper<M> {
    /// A keeper that knows its pool once [`Start`] arrives.
    pub(crate) fn new(lifecycle: Lifecycle, breaker: Breaker) -> Self {
        Self {
            shared: Weak::new(),
            lifecycle,
            breaker,
            creates: Creates::default(),
            probe: None,
            maintenance: None,
            health: None,
            checking: None,
        }
    }

    fn state(&self) -> State {
        self.lifecycle.state()
    }

    fn advance(&mut self, to: State, reason: &str) {
        if self.state() == to {
            return;
        }
        self.lifecycle.advance_expected(to, reason);
    }

    /// Applies the breaker's verdict; the state moved to, if any.
    fn apply(&mut self, verdict: Verdict) -> Option<State> {
        match verdict {
            Verdict::Stay => None,
            Verdict::Move(to, reason) => {
                self.advance(to, &reason);
                Some(to)
            }
        }
    }

    fn is_closing(&self) -> bool {
        matches!(self.state(), State::Closing | State::Closed)
    }

    // ---- start --------------------------------------------------------

    /// Fills `min_size` (each create under the retry policy), then
    /// `Ready`.
    pub(super) fn start(
        &mut self,
        shared: Weak<PoolState<M>>,
        reply: oneshot::Sender<Result<(), PoolError>>,
        ctx: &mut Context<Self>,
    ) {
        self.shared = shared;
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        self.advance(State::Initializing, "starting");
        let fills: Vec<_> = (0..shared.config.min_size)
            .filter_map(|_| shared.capacity.reserve())
            .map(|reservation| {
                let shared = Arc::clone(&shared);
                async move { (reservation, create_with_retry(&shared).await) }
            })
            .collect();
        let filling = futures::future::join_all(fills);
        ctx.spawn(filling.into_actor(self).map(move |results, actor, ctx| {
            let mut first_error = None;
            for (reservation, result) in results {
                match result {
                    Ok(resource) => shared.give_back(shared.admit(reservation, resource), false),
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
            if actor.is_closing() {
                let _ = reply.send(Err(shared.closed_error()));
                return;
            }
            match first_error {
                Some(error) => {
                    shared.record_failed_create(last_error(&error));
                    actor.advance(State::Error, "min_size could not be filled");
                    let _ = reply.send(Err(error));
                }
                None => {
                    actor.advance(State::Ready, "started");
                    actor.start_timers(&shared, ctx);
                    let _ = reply.send(Ok(()));
                }
            }
        }));
    }

    fn start_timers(&mut self, shared: &PoolState<M>, ctx: &mut Context<Self>) {
        let every = shared.config.maintenance_interval;
        self.maintenance = Some(ctx.run_interval(every, |actor, ctx| actor.maintain(ctx)));
        if let Some(every) = shared.config.health_check_interval {
            self.health = Some(ctx.run_interval(every, |actor, ctx| actor.health_check(ctx)));
        }
    }
}

impl<M: Manager> Actor for PoolKeeper<M> {
    // Creates and destroys come with `do_send`, which a full mailbox
    // never refuses.
    type Context = Context<Self>;
}
