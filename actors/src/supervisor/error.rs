//! What a supervisor of children can fail with.

use crate::UserError;

/// An error of a [`Supervisor`](super::Supervisor), naming it and the
/// child at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    /// A child failed to start while the supervisor was starting; the
    /// children already started were stopped again, newest first.
    #[error("supervisor {supervisor:?} could not start child {child:?}: {source}")]
    StartFailed {
        /// The supervisor.
        supervisor: String,
        /// The child.
        child: String,
        /// What its start returned.
        #[source]
        source: UserError,
    },
    /// Two children share an id.
    #[error("supervisor {supervisor:?} has two children with id {child:?}")]
    DuplicateChild {
        /// The supervisor.
        supervisor: String,
        /// The id.
        child: String,
    },
    /// A setting is unusable.
    #[error("supervisor {supervisor:?} has an invalid setting: {problem}")]
    InvalidSettings {
        /// The supervisor.
        supervisor: String,
        /// What is wrong.
        problem: String,
    },
    /// `start` was called outside an actix System.
    #[error("supervisor {supervisor:?} cannot start: no actix arbiter runs on this thread")]
    NoArbiter {
        /// The supervisor.
        supervisor: String,
    },
    /// The supervisor has stopped.
    #[error("supervisor {supervisor:?} has stopped")]
    Stopped {
        /// The supervisor.
        supervisor: String,
    },
}
