//! The messages a [`PoolSupervisor`](super::PoolSupervisor) handles (its
//! handlers, beside its state, only dispatch).

use std::sync::Weak;

use actix::prelude::*;
use tokio::sync::{broadcast, oneshot};

use super::capacity::Reservation;
use super::error::PoolError;
use super::pooled::Pooled;
use crate::lifecycle::StateChanged;

/// Where a created resource (or why there is none) goes.
pub(crate) type Reply<R> = oneshot::Sender<Result<Pooled<R>, PoolError>>;

/// Fills `min_size` and makes the pool `Ready`; the reply carries the
/// first create's error if it cannot.
pub(crate) struct Start<S> {
    /// The pool's shared state, which the supervisor never keeps alive.
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

/// Destroys a discarded resource (bounded by `recycle_timeout`): the one
/// message the shared state sends.
pub(crate) struct Destroy<R>(pub(crate) R);

impl<R: Send + 'static> Message for Destroy<R> {
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
