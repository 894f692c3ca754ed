//! The message every steward actor handles to stop.

use actix::Message;

/// Asks an actor to stop admitting work, release what it holds and stop.
///
/// The reply comes once the release is done; the actor stops right after.
/// `Steward::shutdown` sends it to every actor in the order DESIGN.md gives.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "()")]
pub struct Shutdown;
