//! The tracker's error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a tracked entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A child process (and its group).
    Process,
    /// A tokio task.
    Task,
    /// An application resource with a cleanup.
    Custom,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Process => "process",
            Kind::Task => "task",
            Kind::Custom => "custom resource",
        })
    }
}

/// Why a tracker operation failed; every variant names the key.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// The key is taken (by a live entry of that kind).
    #[error("a {kind} is already tracked under {key:?}")]
    DuplicateKey {
        /// What kind of entry.
        kind: Kind,
        /// The key.
        key: String,
    },
    /// Nothing of that kind is tracked under the key.
    #[error("no {kind} is tracked under {key:?}")]
    NotRegistered {
        /// What kind of entry.
        kind: Kind,
        /// The key.
        key: String,
    },
    /// The entry holds another type than the one asked for; it stays.
    #[error("{kind} {key:?} holds a {actual}, not a {expected}")]
    WrongType {
        /// What kind of entry.
        kind: Kind,
        /// The key.
        key: String,
        /// The type asked for.
        expected: &'static str,
        /// The type it holds.
        actual: &'static str,
    },
    /// The process could not be started.
    #[error("cannot spawn process {key:?}: {source}")]
    Spawn {
        /// The key.
        key: String,
        /// The OS error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The operation did not finish in time.
    #[error("{kind} {key:?} did not finish within {timeout:?}")]
    Timeout {
        /// What kind of entry was waited for.
        kind: Kind,
        /// The key.
        key: String,
        /// The bound.
        timeout: Duration,
    },
    /// A child given to be tracked had already exited and been reaped:
    /// there is nothing to track (nothing was started either).
    #[error("process {key:?} has already exited and been reaped")]
    AlreadyExited {
        /// The key.
        key: String,
    },
    /// The tracker was shut down.
    #[error("the resource tracker is shut down")]
    Closed,
    /// A limit was asked for that the kernel cannot enforce here: its
    /// controller is not delegated to the program's cgroups, or the tracker
    /// contains processes by process group. Nothing is started.
    #[error(
        "cannot limit process {key:?}: the {controller} controller is not available ({reason})"
    )]
    ControllerMissing {
        /// The key.
        key: String,
        /// The controller the limit needs: `memory`, `pids` or `cpu`.
        controller: &'static str,
        /// Why it is missing.
        reason: String,
    },
    /// The containment asked for cannot be had (cgroup v2 not writable).
    #[error("cannot contain processes in a {asked}: {reason}")]
    Containment {
        /// What was asked for.
        asked: super::options::Containment,
        /// Why it cannot be had.
        reason: String,
    },
}

/// Why a registration under `key` is refused, if it is: the tracker is
/// closed, or an entry of `kind` holds the key.
pub(crate) fn refusal(closed: bool, taken: bool, kind: Kind, key: &str) -> Option<TrackerError> {
    if closed {
        Some(TrackerError::Closed)
    } else if taken {
        Some(TrackerError::DuplicateKey {
            kind,
            key: key.to_owned(),
        })
    } else {
        None
    }
}

/// A registration refused, with what was offered handed back.
pub struct Rejected<T: ?Sized> {
    /// Why.
    pub error: TrackerError,
    /// What was offered, untouched. `None` only when the tracker shut down
    /// with the registration in its mailbox, which drops it.
    pub item: Option<Box<T>>,
}

impl<T: ?Sized> fmt::Debug for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("error", &self.error)
            .field("item", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: ?Sized> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<T: ?Sized> std::error::Error for Rejected<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T: ?Sized> From<Rejected<T>> for TrackerError {
    fn from(rejected: Rejected<T>) -> Self {
        rejected.error
    }
}
