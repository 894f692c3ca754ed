//! What the supervisor publishes about the resource's connection, for its
//! handles to read without a message: which connection is current and
//! whether a reconnect is running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The connection's generation and reconnect flag, written by the
/// supervisor only.
#[derive(Debug, Default)]
pub(super) struct Link {
    /// Successful initializations so far: the connection an operation
    /// started on, so that a late report about a connection already
    /// replaced starts no second reconnect.
    generation: AtomicU64,
    /// Set while a reconnect the supervisor started after a disconnect is
    /// running (the state is `Initializing` all that time).
    reconnecting: AtomicBool,
    /// Reconnects started so far.
    reconnects: AtomicU64,
}

impl Link {
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
