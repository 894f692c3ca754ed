//! The primitives every actor module builds on, each written once.
//!
//! | primitive | what it is for |
//! |---|---|
//! | [`DropGuard`] | undo what a future began when it is dropped at an await; disarm once done |
//! | [`lock`] | a `std::sync::Mutex` lock that a panic elsewhere does not poison for good |
//! | [`deadline_after`] | `now + wait` that saturates instead of overflowing for "wait forever" |
//! | [`within`] | a timeout that arms no timer for a future that finishes at once |
//! | [`call`], [`catch`] | a user callback (factory, check, cleanup) run bounded and with its panic caught |
//! | [`ResizableSemaphore`] | a limit that changes at run time, shrinking below what is held as permits come back |
//! | [`ask`], [`try_ask`] | a request to an actor whose gone mailbox becomes the caller's own `Closed` error |
//! | [`budget`] | how long each kind of stop may take: the one table of stop durations |
//!
//! Crate-private: applications see only what the actors build from them.
//! The stop budgets are in `crate::budget`.

mod call;
mod deadline;
mod guard;
mod lock;
mod mailbox;
mod resizable;

pub(crate) use call::{Ended, call, catch};
pub(crate) use deadline::{deadline_after, within};
pub(crate) use guard::DropGuard;
pub(crate) use lock::lock;
pub(crate) use mailbox::{ask, try_ask};
pub(crate) use resizable::ResizableSemaphore;

#[cfg(test)]
mod tests;
