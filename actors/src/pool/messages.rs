//! The messages a [`PoolKeeper`](super::PoolKeeper) handles (its
//! handlers, which only dispatch). [`Destroy`], the one message the
//! shared state sends, is defined beside it.

use std::sync::Weak;

use actix::prelude::*;
use tokio::sync::{broadcast, oneshot};

use super::capacity::Reservation;
use super::error::PoolError;
use super::keeper::PoolKeeper;
use super::manager::Manager;
use super::requests::Reply;
use super::shared::{Destroy, PoolState};
use crate::Shutdown;
use crate::lifecycle::StateChanged;

/// Fills `min_size` and makes the pool `Ready`; the reply carries the
/// first create's error if it cannot.
pub(crate) struct Start<S> {
    /// The pool's shared state, which the keeper never keeps alive.
    pub(crate) shared: Weak<S>,
    pub(crate) reply: oneshot::Sender<Result<(), PoolError>>,
}

impl<S: 'static> Message for Start<S> {
    type Result = ();
}

/// Creates one resource for an acquire, into the room it reserved; a
/// resource whose acquire has gone becomes idle.
pub(crate) struct Create<R> {
    pub(crate) reservation: Reservation,
    pub(crate) reply: Reply<R>,
}

impl<R: Send + 'static> Message for Create<R> {
    type Result = ();
}

/// Changes a pool's `max_size` (and lowers `min_size` to it if above).
///
/// Growing frees slots at once and wakes waiters; shrinking destroys idle
/// resources above the new size now and the others as they come back.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), PoolError>")]
pub struct Resize(pub usize);

/// Closes a pool: every waiter, those waiting for a create included, and
/// every later acquire fail with `Closed`; creates in flight are
/// cancelled; idle resources are destroyed now, checked-out ones when they
/// come back.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "()")]
pub struct ClosePool;

/// Asks for a stream of the pool's lifecycle moves (what
/// [`Pool::subscribe`](super::Pool::subscribe) returns without a message).
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "broadcast::Receiver<StateChanged>")]
pub struct SubscribeState;

/// Delivers the pool's lifecycle moves to an actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubscribeStateRecipient(pub Recipient<StateChanged>);

impl<M: Manager> Handler<Start<PoolState<M>>> for PoolKeeper<M> {
    type Result = ();

    fn handle(&mut self, message: Start<PoolState<M>>, ctx: &mut Context<Self>) {
        self.start(message.shared, message.reply, ctx);
    }
}

impl<M: Manager> Handler<Create<M::Resource>> for PoolKeeper<M> {
    type Result = ();

    fn handle(&mut self, message: Create<M::Resource>, ctx: &mut Context<Self>) {
        self.create_for(message.reservation, message.reply, ctx);
    }
}

impl<M: Manager> Handler<Destroy<M::Resource>> for PoolKeeper<M> {
    type Result = ();

    fn handle(&mut self, Destroy(resource): Destroy<M::Resource>, ctx: &mut Context<Self>) {
        self.destroy_discarded(resource, ctx);
    }
}

impl<M: Manager> Handler<Resize> for PoolKeeper<M> {
    type Result = Result<(), PoolError>;

    fn handle(&mut self, Resize(size): Resize, ctx: &mut Context<Self>) -> Self::Result {
        self.resize(size, ctx)
    }
}

impl<M: Manager> Handler<ClosePool> for PoolKeeper<M> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: ClosePool, ctx: &mut Context<Self>) -> Self::Result {
        self.close(ctx)
    }
}

impl<M: Manager> Handler<Shutdown> for PoolKeeper<M> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        self.close(ctx)
    }
}

impl<M: Manager> Handler<SubscribeState> for PoolKeeper<M> {
    type Result = MessageResult<SubscribeState>;

    fn handle(&mut self, _: SubscribeState, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.lifecycle.subscribe())
    }
}

impl<M: Manager> Handler<SubscribeStateRecipient> for PoolKeeper<M> {
    type Result = ();

    fn handle(&mut self, message: SubscribeStateRecipient, _: &mut Context<Self>) {
        self.lifecycle.subscribe_recipient(message.0);
    }
}
