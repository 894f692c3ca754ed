//! The actors of steward, one module per concern, plus what they share.
//!
//! | module | what it is for |
//! |---|---|
//! | [`registry`] | type-based dependency injection: instances, lazy singletons, transients, actor addresses |
//! | [`lifecycle`] | the state machine every supervised resource walks through, and its `StateChanged` events |
//! | [`config`] | the serde [`Config`] with its environment overrides and typed [`ConfigError`] |
//! | [`drive`] | per-drive IO limits: one `DriveLimiter` per storage device, RAII permits |
//! | [`cpu`] | a bounded, recursion-safe CPU pool for blocking work |
//! | [`tracker`] | child processes, tasks and custom resources, stopped gracefully and never leaked |
//! | [`monitor`] | CPU, memory, disk and load readings; thresholds with hysteresis, alerts, availability, workload admission; PSI pressure triggers |
//! | [`resource`] | one resource under its own `ResourceKeeper`: initialize with retries, health checks, recovery, cleanup once |
//! | [`supervisor`] | OTP-style supervision of tasks, actors, resources and nested supervisors: strategies, restart types, intensity, escalation |
//! | [`group`] | named resources with dependencies: initialized in order (independent ones concurrently), cleaned up in reverse |
//! | [`pool`] | supervised pools of expensive resources: no mailbox hop for an idle one, a circuit breaker while the backend is down |
//! | [`subprocess_pool`] | bounded concurrent subprocess runs, each child tracked |
//! | [`observe`] | the actors' figures recorded through the `metrics` facade; the table of every metric |
//! | [`retry`] | `RetryPolicy` (exponential backoff, seeded jitter, attempt timeout), `with_retry`, `with_timeout` |
//!
//! Use the registry to share services across an application; take an IO
//! permit from [`drive::Drives`] before touching a disk, and hand hashing
//! or parsing to [`cpu::Cpu`]; ask [`monitor::Monitor`] whether a job fits
//! before starting it and subscribe to its alerts to shed load; implement
//! [`resource::Resource`] for a resource with a lifecycle and let a
//! `ResourceKeeper` walk it; put long-lived tasks and actors under a
//! [`supervisor::Supervisor`]; pool connections or sessions with
//! [`pool::Pool`] and bound subprocess runs with
//! [`subprocess_pool::SubprocessPool`]; build a [`Config`] once and hand it to
//! `steward::Steward`.
//!
//! # Layout
//!
//! Each module is one concept; an actor's module holds its handle,
//! messages, actor and error, with its unit tests in `<module>/tests.rs`.
//! [`UserError`] is what application callbacks return; [`Shutdown`] is the
//! message every actor handles to stop.

mod budget;
mod metric;
mod panic_message;
mod priority_watch;
mod shutdown;
mod sync;
#[cfg(test)]
mod testing;
mod user_error;

pub mod config;
pub mod cpu;
pub mod drive;
pub mod group;
pub mod lifecycle;
pub mod monitor;
pub mod observe;
pub mod pool;
pub mod registry;
pub mod resource;
pub mod retry;
pub mod subprocess_pool;
pub mod supervisor;
pub mod tracker;

pub use config::{Config, ConfigError};
pub use cpu::{Cpu, CpuError};
pub use drive::{DriveError, Drives, IoPermit};
pub use lifecycle::{IllegalTransition, Lifecycle, State, StateChanged, StateView};
pub use monitor::{Monitor, MonitorError};
pub use registry::{Registry, RegistryError};
pub use shutdown::Shutdown;
pub use user_error::UserError;

/// The names most programs need, in one `use`.
pub mod prelude {
    pub use crate::config::Config;
    pub use crate::cpu::{Cpu, CpuError};
    pub use crate::drive::{DriveError, Drives, IoPermit};
    pub use crate::lifecycle::State;
    pub use crate::monitor::{Admission, Alert, Level, Monitor, MonitorError, WorkloadProfile};
    pub use crate::registry::{Register, Registry, RegistryError};
    pub use crate::user_error::UserError;
}
