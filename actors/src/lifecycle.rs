//! The lifecycle state machine shared by pools, managed resources and groups.
//!
//! ```text
//! Uninitialized → Initializing → Ready ⇄ Degraded → Error → Closing → Closed
//!                      │           └──────────────→ Error
//!                      └─────────────────────────→ Error → Initializing (recovery)
//! ```
//!
//! Every state but `Closing` and `Closed` may also go straight to `Closing`;
//! `Closed` is final. The legal moves are the one table in
//! [`State::can_transition_to`]; [`transition`] checks a move against it and
//! [`Lifecycle`] holds a current state, emits a `tracing` event for every
//! move and delivers a [`StateChanged`] to its subscribers.
//!
//! # Examples
//!
//! ```
//! use steward_actors::lifecycle::{Lifecycle, State};
//!
//! let mut lifecycle = Lifecycle::new("db");
//! let mut events = lifecycle.subscribe();
//! lifecycle.advance(State::Initializing, "starting")?;
//! lifecycle.advance(State::Ready, "connected")?;
//! assert!(lifecycle.advance(State::Uninitialized, "rewind").is_err());
//!
//! assert_eq!(events.try_recv()?.to, State::Initializing);
//! assert_eq!(events.try_recv()?.to, State::Ready);
//! assert_eq!(lifecycle.state(), State::Ready);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::SystemTime;

use actix::{Message, Recipient};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

/// How many undelivered [`StateChanged`] events a slow broadcast subscriber
/// may fall behind before it starts missing the oldest ones.
const EVENT_BUFFER: usize = 64;

/// A lifecycle state of a pool, a managed resource or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Created, not started yet.
    Uninitialized,
    /// Being created or recovered.
    Initializing,
    /// Fully usable.
    Ready,
    /// Usable, but health checks fail or restarts are happening.
    Degraded,
    /// Not usable; may recover through `Initializing`.
    Error,
    /// Cleaning up; nothing new is admitted.
    Closing,
    /// Cleaned up. Final.
    Closed,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 7] = [
        State::Uninitialized,
        State::Initializing,
        State::Ready,
        State::Degraded,
        State::Error,
        State::Closing,
        State::Closed,
    ];

    /// Whether the state machine allows a move from `self` to `to`.
    ///
    /// This match is the transition table: every legal move is one arm.
    #[must_use]
    pub const fn can_transition_to(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (Uninitialized, Initializing | Closing)
                | (Initializing, Ready | Error | Closing)
                | (Ready, Degraded | Error | Closing)
                | (Degraded, Ready | Error | Closing)
                | (Error, Initializing | Closing)
                | (Closing, Closed)
        )
    }

    /// Whether this state admits work (`Ready` or `Degraded`).
    #[must_use]
    pub const fn is_usable(self) -> bool {
        matches!(self, State::Ready | State::Degraded)
    }

    /// Whether no further move is possible.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(self, State::Closed)
    }

    /// The state's name in `snake_case`, as it is serialized.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Uninitialized => "uninitialized",
            State::Initializing => "initializing",
            State::Ready => "ready",
            State::Degraded => "degraded",
            State::Error => "error",
            State::Closing => "closing",
            State::Closed => "closed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a move against the transition table.
///
/// # Examples
///
/// ```
/// use steward_actors::lifecycle::{transition, State};
///
/// assert_eq!(transition(State::Ready, State::Degraded), Ok(State::Degraded));
/// assert!(transition(State::Closed, State::Ready).is_err());
/// ```
///
/// # Errors
///
/// [`IllegalTransition`] when the table has no such move.
pub const fn transition(from: State, to: State) -> Result<State, IllegalTransition> {
    if from.can_transition_to(to) {
        Ok(to)
    } else {
        Err(IllegalTransition { from, to })
    }
}

/// A move the state machine does not allow; always a bug in the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal lifecycle transition from {from} to {to}")]
pub struct IllegalTransition {
    /// The state the move started from.
    pub from: State,
    /// The state the move asked for.
    pub to: State,
}

/// One move of the state machine, as delivered to subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Message)]
#[rtype(result = "()")]
pub struct StateChanged {
    /// Which resource moved (its id or name).
    pub resource: String,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// When it moved (wall clock).
    pub at: SystemTime,
    /// Why it moved, in a few words.
    pub reason: String,
}

/// A current state plus the subscribers to its moves.
///
/// Not an actor itself: the actor that owns a resource owns its `Lifecycle`
/// and is the only one that moves it, so moves are serialized by the
/// actor's mailbox.
#[derive(Debug)]
pub struct Lifecycle {
    resource: String,
    state: State,
    events: broadcast::Sender<StateChanged>,
    current: watch::Sender<State>,
    recipients: Vec<Recipient<StateChanged>>,
}

impl Lifecycle {
    /// A lifecycle in `Uninitialized` for the resource named `resource`.
    #[must_use]
    pub fn new(resource: impl Into<String>) -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            resource: resource.into(),
            state: State::Uninitialized,
            events,
            current: watch::Sender::new(State::Uninitialized),
            recipients: Vec::new(),
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// The resource's name, as it appears in events.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// A stream of every later move, for plain async code.
    ///
    /// A receiver that falls more than 64 events behind misses the oldest
    /// (`RecvError::Lagged`); the current state is always [`state`](Self::state).
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        self.events.subscribe()
    }

    /// A cheap, cloneable view of the current state and the event stream,
    /// for a handle that must answer without asking the owner.
    #[must_use]
    pub fn view(&self) -> StateView {
        StateView {
            current: self.current.subscribe(),
            events: self.events.downgrade(),
        }
    }

    /// Delivers every later move to an actor.
    ///
    /// Delivery never blocks the owner: a recipient whose mailbox is full or
    /// closed misses the event, and a closed one is dropped from the list.
    pub fn subscribe_recipient(&mut self, recipient: Recipient<StateChanged>) {
        self.recipients.push(recipient);
    }

    /// Moves to `to` where the caller's own logic makes the move legal (an
    /// actor walking its resource through the table): an illegal one is a
    /// bug in that logic, not an outcome to handle, so it fails a debug
    /// assertion and, in a release build, is logged as an error while the
    /// state stays. Returns whether it moved.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::lifecycle::{Lifecycle, State};
    /// let mut lifecycle = Lifecycle::new("db");
    /// assert!(lifecycle.advance_expected(State::Initializing, "connecting"));
    /// assert!(lifecycle.advance_expected(State::Ready, "connected"));
    /// assert_eq!(lifecycle.state(), State::Ready);
    /// ```
    pub fn advance_expected(&mut self, to: State, reason: impl Into<String>) -> bool {
        match self.advance(to, reason) {
            Ok(_) => true,
            Err(illegal) => {
                debug_assert!(false, "{illegal}");
                tracing::error!(target: "steward::lifecycle", resource = %self.resource, %illegal, "a move its owner believed legal was refused");
                false
            }
        }
    }

    /// Moves to `to`, emits a `tracing` event and notifies subscribers.
    ///
    /// # Errors
    ///
    /// [`IllegalTransition`] when the table has no such move; the state is
    /// then unchanged and nobody is notified.
    pub fn advance(
        &mut self,
        to: State,
        reason: impl Into<String>,
    ) -> Result<StateChanged, IllegalTransition> {
        let from = self.state;
        self.state = transition(from, to)?;
        let event = StateChanged {
            resource: self.resource.clone(),
            from,
            to,
            at: SystemTime::now(),
            reason: reason.into(),
        };
        tracing::info!(
            target: "steward::lifecycle",
            resource = %event.resource,
            from = %from,
            to = %to,
            reason = %event.reason,
            "state changed"
        );
        self.current.send_replace(to);
        // No receivers is normal: nobody subscribed yet.
        let _ = self.events.send(event.clone());
        self.recipients
            .retain(|recipient| match recipient.try_send(event.clone()) {
                Ok(()) | Err(actix::dev::SendError::Full(_)) => true,
                Err(actix::dev::SendError::Closed(_)) => false,
            });
        Ok(event)
    }
}

/// A read-only view of a [`Lifecycle`] that any task may hold.
///
/// Reading the state is a `watch` borrow: no message to the owner.
#[derive(Debug, Clone)]
pub struct StateView {
    current: watch::Receiver<State>,
    /// Weak, so that subscribers see the stream end once the owner is
    /// gone, however many views are left.
    events: broadcast::WeakSender<StateChanged>,
}

impl StateView {
    /// The current state.
    #[must_use]
    pub fn state(&self) -> State {
        *self.current.borrow()
    }

    /// A stream of every later move (see [`Lifecycle::subscribe`]); it
    /// ends (`RecvError::Closed`) once the owner is gone.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        match self.events.upgrade() {
            Some(events) => events.subscribe(),
            // The owner is gone: a receiver of a channel already closed.
            None => broadcast::channel(1).1,
        }
    }

    /// Waits until the state satisfies `done`, and returns that state.
    ///
    /// Returns at once when it already does. When the owner is gone, the
    /// last state it published is judged instead.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::lifecycle::{Lifecycle, State};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), steward_actors::lifecycle::IllegalTransition> {
    /// let mut lifecycle = Lifecycle::new("db");
    /// let view = lifecycle.view();
    /// let waiter = tokio::spawn(async move { view.wait_for(State::is_usable).await });
    /// lifecycle.advance(State::Initializing, "connecting")?;
    /// lifecycle.advance(State::Ready, "connected")?;
    /// assert_eq!(waiter.await.unwrap(), State::Ready);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only reads.
    pub async fn wait_for(&self, mut done: impl FnMut(State) -> bool) -> State {
        let mut current = self.current.clone();
        let reached = current
            .wait_for(|state| done(*state))
            .await
            .map(|state| *state);
        reached.unwrap_or_else(|_| *current.borrow())
    }
}

#[cfg(test)]
mod tests;
