#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! | part | what it holds |
//! |---|---|
//! | [`Steward`], [`StewardBuilder`] | configuration in, running actors out; start in any context, bounded shutdown |
//! | [`registry`] | type-based dependency injection (re-exported from `steward-actors`) |
//! | [`drive`] | per-drive IO limits |
//! | [`cpu`] | the recursion-safe CPU pool |
//! | [`tracker`] | child processes, tasks and custom resources, never leaked; [`Steward::handle_signals`] |
//! | [`monitor`] | system readings, thresholds with hysteresis, alerts, availability, workload admission, PSI triggers |
//! | [`pool`] | supervised pools of expensive resources, with a circuit breaker; [`Steward::start_pool`] |
//! | [`lifecycle`] | the state machine of supervised resources |
//! | [`config`] | [`Config`] and its environment variables |
//! | [`parallel!`], [`try_parallel!`] | mixed async + CPU fan-out |
//! | [`io_bound`], [`cpu_bound`], [`global`] | annotations running a function under its path's drive limit or on the CPU pool of the process-wide `Steward` |
//! | [`observe`] | `/metrics`, `/status` and a live dashboard over HTTP (feature `observe`); [`Steward::status`], [`Steward::record_metrics`] |
//! | [`Error`] | every concern's error, gathered |
//! | [`prelude`] | the names most programs need |

mod block_on;
mod builder;
mod error;
mod global;
#[cfg(feature = "observe")]
pub mod observe;
mod parallel;
mod signals;
mod steward;
mod system_thread;

pub use builder::StewardBuilder;
pub use error::{Error, SystemError};
pub use global::{global, set_global};
pub use steward::ManagedStatus;
pub use steward::{RECENT_ALERTS, RuntimeContext, Steward, StewardStatus, SupervisorStatus};
pub use steward_actors::{
    Config, ConfigError, Cpu, CpuError, DriveError, Drives, IllegalTransition, IoPermit, Monitor,
    MonitorError, Registry, RegistryError, State, StateChanged, UserError, config, cpu, drive,
    group, lifecycle, monitor, pool, registry, resource, retry, subprocess_pool, supervisor,
    tracker,
};
pub use steward_macros::{cpu_bound, io_bound};

/// The message every steward actor handles to stop: an actor child of a
/// [`supervisor::Supervisor`] implements `Handler<Shutdown>`.
pub use steward_actors::Shutdown;

/// actix, as steward uses it: for actors of the application's own
/// (`Actor`, `Context`, `Handler`, `Message`), the addresses and
/// recipients steward's handles take and give (`Addr`, `Recipient`), and
/// the arbiters they start on. With it, `steward` alone in `Cargo.toml` is
/// enough; actix's derives name `::actix`, so without actix as a
/// dependency of its own a program implements `Message` by hand.
pub use actix;

/// tokio, as steward uses it: the receivers steward's handles return
/// (`sync::broadcast`, `sync::watch`) and the runtime, with its macros
/// (`#[steward::tokio::main(crate = "steward::tokio")]`).
pub use tokio;

#[doc(hidden)]
pub mod __private {
    pub use tokio;
}

/// The names most programs need, in one `use`.
pub mod prelude {
    pub use crate::{Error, Steward};
    pub use steward_actors::prelude::*;
}
