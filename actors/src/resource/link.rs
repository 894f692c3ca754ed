//! What the keeper publishes about the resource's connection, for its
//! handles' operations to read without a message or a lock: the state,
//! which connection is current and whether a reconnect is running.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use crate::State;

/// The state, the connection's generation and the reconnect flag,
/// written by the keeper only.
#[derive(Debug, Default)]
pub(super) struct Link {
    /// The lifecycle state as an index into [`State::ALL`]: the same as
    /// the `StateView`, read with one load instead of a lock, which
    /// operations on many threads would all write to.
    state: AtomicU8,
    /// Successful initializations so far: the connection an operation
    /// started on, so that a late report about a connection already
    /// replaced starts no second reconnect.
    generation: AtomicU64,
    /// Set while a reconnect the keeper started after a disconnect is
    /// running (the state is `Initializing` all that time).
    reconnecting: AtomicBool,
    /// Reconnects started so far.
    reconnects: AtomicU64,
}

impl Link {
    pub(super) fn state(&self) -> State {
        let index = usize::from(self.state.load(Ordering::Acquire));
        State::ALL.get(index).copied().unwrap_or(State::Closed)
    }

    pub(super) fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(super) fn is_reconnecting(&self) -> bool {
        self.reconnecting.load(Ordering::Acquire)
    }

    pub(super) fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }

    /// A new connection is up; called before the state says `Ready`.
    pub(super) fn connected(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A reconnect started; called once the state is `Initializing`.
    pub(super) fn reconnect_started(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        self.reconnecting.store(true, Ordering::Release);
    }

    /// Whatever initialization was running has ended; called once the
    /// state has left `Initializing`.
    pub(super) fn initialization_ended(&self) {
        self.reconnecting.store(false, Ordering::Release);
    }
}
