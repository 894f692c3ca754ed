//! [`PoolStatus`]: a pool's state and counters, serializable.

use std::time::Duration;

use serde::Serialize;

use crate::lifecycle::State;

/// A snapshot of a pool, read without a mailbox hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PoolStatus {
    /// The pool's name.
    pub name: String,
    /// Its lifecycle state.
    pub state: State,
    /// Its size limit now.
    pub max_size: usize,
    /// The size it is refilled to.
    pub min_size: usize,
    /// Resources alive or being created.
    pub size: usize,
    /// Resources ready to be checked out.
    pub idle: usize,
    /// Resources checked out.
    pub in_use: usize,
    /// Acquires waiting for a free slot.
    pub waiting: usize,
    /// Resources created since start.
    pub created: u64,
    /// Resources destroyed since start.
    pub destroyed: u64,
    /// Create attempts that failed (each retry is one).
    pub failed_creates: u64,
    /// Acquires, creates and recycles that timed out.
    pub timeouts: u64,
    /// Every live resource, oldest first.
    pub resources: Vec<PooledStatus>,
}

/// One resource in a [`PoolStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PooledStatus {
    /// Its id in the pool (1, 2, …, in order of creation).
    pub id: u64,
    /// How long since it was created.
    pub age: Duration,
    /// How often it was checked out.
    pub uses: u64,
    /// Whether it is checked out now.
    pub in_use: bool,
}
