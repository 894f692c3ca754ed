//! The messages a [`ResourceKeeper`] handles. Handlers only dispatch.

use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::{Health, Resource, ResourceError, ResourceKeeper, ResourceStatus};
use crate::StateChanged;

/// Brings the resource to `Ready` (retrying under the policy), or reports
/// why it could not. Already usable: answers at once.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "Result<(), ResourceError>")]
pub struct Initialize;

/// Runs a health check now (or joins the one running) and returns its
/// verdict; the state follows the verdict as for a background check.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "Result<Health, ResourceError>")]
pub struct CheckHealth;

/// Closes the resource: `Closing`, `cleanup` once (bounded by `timeout`),
/// `Closed`. The keeper stops afterwards.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Result<(), ResourceError>")]
pub struct Close {
    /// How long `cleanup` may take.
    pub timeout: Duration,
}

/// Closes the resource without running `cleanup`: `Closing`, `Closed`.
/// For a resource whose start failed, whose `initialize` is expected to
/// have released what it took (OTP does not terminate a child whose start
/// failed); a [`ResourceGroup`](crate::group::ResourceGroup) sends it.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub(crate) struct Discard;

/// Asks for a [`ResourceStatus`].
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "ResourceStatus")]
pub struct ReportResourceStatus;

/// Delivers every later state change to an actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct Subscribe(pub(super) Recipient<StateChanged>);

/// An operation found the connection of `generation` gone
/// ([`Resource::is_disconnect`]): reconnect, or join the reconnect already
/// running.
#[derive(Debug, Message)]
#[rtype(result = "ReconnectReply")]
pub(super) struct Reconnect {
    pub(super) generation: u64,
    pub(super) reason: String,
}

/// The answer to a [`Reconnect`], given at once.
#[derive(Debug)]
pub(super) struct ReconnectReply {
    /// Whether this report started the reconnect.
    pub(super) started: bool,
    /// The reconnect's outcome, when it is over.
    pub(super) outcome: oneshot::Receiver<Result<(), ResourceError>>,
}

/// A reply that arrives once the keeper has finished the work.
fn reply_later<T: Send + 'static>(
    receiver: oneshot::Receiver<Result<T, ResourceError>>,
    name: String,
) -> ResponseFuture<Result<T, ResourceError>> {
    Box::pin(async move {
        receiver
            .await
            .unwrap_or(Err(ResourceError::Closed { name }))
    })
}

impl<R: Resource> Handler<Initialize> for ResourceKeeper<R> {
    type Result = ResponseFuture<Result<(), ResourceError>>;

    fn handle(&mut self, _: Initialize, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, receiver) = oneshot::channel();
        self.initialize(reply, ctx);
        reply_later(receiver, self.status().name)
    }
}

impl<R: Resource> Handler<CheckHealth> for ResourceKeeper<R> {
    type Result = ResponseFuture<Result<Health, ResourceError>>;

    fn handle(&mut self, _: CheckHealth, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, receiver) = oneshot::channel();
        self.check_now(reply, ctx);
        reply_later(receiver, self.status().name)
    }
}

impl<R: Resource> Handler<Close> for ResourceKeeper<R> {
    type Result = ResponseFuture<Result<(), ResourceError>>;

    fn handle(&mut self, message: Close, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, receiver) = oneshot::channel();
        self.close(message.timeout, Some(reply), ctx);
        reply_later(receiver, self.status().name)
    }
}

impl<R: Resource> Handler<Discard> for ResourceKeeper<R> {
    type Result = ();

    fn handle(&mut self, _: Discard, ctx: &mut Context<Self>) {
        self.discard(ctx);
    }
}

impl<R: Resource> Handler<Reconnect> for ResourceKeeper<R> {
    type Result = MessageResult<Reconnect>;

    fn handle(&mut self, message: Reconnect, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, outcome) = oneshot::channel();
        let started = self.reconnect(message.generation, &message.reason, reply, ctx);
        MessageResult(ReconnectReply { started, outcome })
    }
}

impl<R: Resource> Handler<ReportResourceStatus> for ResourceKeeper<R> {
    type Result = MessageResult<ReportResourceStatus>;

    fn handle(&mut self, _: ReportResourceStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

impl<R: Resource> Handler<Subscribe> for ResourceKeeper<R> {
    type Result = ();

    fn handle(&mut self, Subscribe(recipient): Subscribe, _: &mut Context<Self>) {
        self.lifecycle_mut().subscribe_recipient(recipient);
    }
}
