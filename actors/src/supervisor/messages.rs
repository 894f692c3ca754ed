//! The messages a [`Supervisor`] handles; its handlers only dispatch.
//!
//! `StopChildren`, `ReportChildren` and `SubscribeSupervisorState` are
//! public: an application's actor may send them to the address
//! (`SupervisorHandle::address`). `StartChildren` (sent once, by the
//! builder) and `ChildEnded` (sent by the children's watchers, and defined
//! beside the state that sends it) are the supervisor's own protocol: sent
//! by anyone else they would start the children twice or fake an exit.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::actor::ChildEnded;
use super::{ChildStatus, Supervisor, SupervisorError};

/// Starts the children in order; sent once by the builder.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), SupervisorError>")]
pub(super) struct StartChildren;

/// Stops every child in reverse start order, then the supervisor
/// ([`SupervisorHandle::stop`](super::SupervisorHandle::stop) sends it).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct StopChildren {
    /// Kill every child at once instead of each by its
    /// [`ChildShutdown`](super::ChildShutdown).
    pub brutal: bool,
    /// Told once every child has stopped.
    pub reply: Option<oneshot::Sender<()>>,
}

/// Asks for every child's [`ChildStatus`], in start order.
#[derive(Debug, Message)]
#[rtype(result = "Vec<ChildStatus>")]
pub struct ReportChildren;

/// Delivers the supervisor's later lifecycle moves to an actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubscribeSupervisorState(pub actix::Recipient<crate::lifecycle::StateChanged>);

impl Handler<StartChildren> for Supervisor {
    type Result = ResponseFuture<Result<(), SupervisorError>>;

    fn handle(&mut self, _: StartChildren, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, outcome) = oneshot::channel();
        self.boot(reply, ctx);
        let supervisor = self.name.clone();
        Box::pin(async move {
            outcome
                .await
                .unwrap_or(Err(SupervisorError::Stopped { supervisor }))
        })
    }
}

impl Handler<ChildEnded> for Supervisor {
    type Result = ();

    fn handle(&mut self, ended: ChildEnded, ctx: &mut Context<Self>) {
        self.child_ended(ended, ctx);
    }
}

impl Handler<StopChildren> for Supervisor {
    type Result = ();

    fn handle(&mut self, message: StopChildren, ctx: &mut Context<Self>) {
        self.stop(message.brutal, message.reply, ctx);
    }
}

impl Handler<SubscribeSupervisorState> for Supervisor {
    type Result = ();

    fn handle(&mut self, message: SubscribeSupervisorState, _: &mut Context<Self>) {
        self.lifecycle.subscribe_recipient(message.0);
    }
}

impl Handler<ReportChildren> for Supervisor {
    type Result = MessageResult<ReportChildren>;

    fn handle(&mut self, _: ReportChildren, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.children_status())
    }
}
