//! What the keeper does when an operation reports that the connection
//! is gone.
//!
//! Pure logic: [`decide`] turns the state and the two connection
//! generations into one move, so every case is tested without an actor.

use crate::State;

/// The keeper's answer to a disconnect report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The broken connection is the current one: reconnect
    /// (`Ready → Degraded →`, `Error → Initializing`).
    Start,
    /// An initialization is already running: wait for it.
    Join,
    /// The connection was replaced since the operation started: the next
    /// attempt gets the new one.
    Replaced,
    /// Not usable and nothing running (`Uninitialized`, or `Error` after
    /// a reconnect or recovery gave up): no reconnect until
    /// `initialize()`.
    NotReady(State),
    /// Closing or closed: nothing will reconnect.
    Closed,
}

/// Judges a report that the connection of generation `reported` broke,
/// while the resource is in `state` with connection `current`.
pub(crate) fn decide(state: State, reported: u64, current: u64) -> Decision {
    match state {
        State::Ready | State::Degraded if reported < current => Decision::Replaced,
        State::Ready | State::Degraded => Decision::Start,
        State::Initializing => Decision::Join,
        State::Uninitialized | State::Error => Decision::NotReady(state),
        State::Closing | State::Closed => Decision::Closed,
    }
}
