//! OTP-style supervision of children: tasks, actix actors, steward
//! resources and nested supervisors.
//!
//! A [`Supervisor`] starts its children in order, watches each end, and
//! restarts by its [`Strategy`] (`OneForOne`, `OneForAll`, `RestForOne`)
//! and each child's [`Restart`] type (`Permanent`, `Transient`,
//! `Temporary`); each child stops by its [`ChildShutdown`] (ask, wait,
//! kill; or kill at once). More than `max_restarts` restarts within
//! `window` (default 3 in 5 s) stop every child, newest first, and
//! escalate to the parent. See [`Supervisor`] for an example.

mod actor;
mod builder;
mod child;
mod error;
mod handle;
mod intensity;
mod messages;
mod spec;

pub use actor::Supervisor;
pub use builder::SupervisorBuilder;
pub use child::{Exit, StopSignal};
pub use error::SupervisorError;
pub use handle::{ChildStatus, SupervisorExit, SupervisorHandle};
pub use messages::{ReportChildren, StopChildren, SubscribeSupervisorState};
pub use spec::{ChildShutdown, ChildSpec, Restart, Strategy};

#[cfg(test)]
mod tests;
