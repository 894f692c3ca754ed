//! Asking an actor: a request whose gone mailbox becomes the caller's own
//! error.

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, Message};

/// Sends `message` to `address` and waits for the reply. A mailbox that
/// is closed (the actor stopped) or full past actix's own timeout becomes
/// `closed()`: the error each handle names its actor's end with.
///
/// # Cancel safety
///
/// Dropping the future may or may not deliver the message; the reply is
/// then dropped.
pub(crate) async fn ask<A, M, E>(
    address: &Addr<A>,
    message: M,
    closed: impl FnOnce() -> E,
) -> Result<M::Result, E>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    address.send(message).await.map_err(|_| closed())
}

/// [`ask`] for a message whose reply is itself a `Result` with the same
/// error: one `Result`, whichever side failed.
///
/// # Cancel safety
///
/// As [`ask`].
pub(crate) async fn try_ask<A, M, T, E>(
    address: &Addr<A>,
    message: M,
    closed: impl FnOnce() -> E,
) -> Result<T, E>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message<Result = Result<T, E>> + Send + 'static,
    T: Send,
    E: Send,
{
    ask(address, message, closed).await?
}
