//! Child processes, tasks and custom resources, stopped gracefully and
//! never leaked: not when the program stops them, not when it exits, not
//! when it is killed outright.
//!
//! # Containment
//!
//! Where the program can create cgroups v2 (root, or a delegated subtree),
//! every process [`Tracker::spawn`] starts lives in a cgroup of its own,
//! `<the program's cgroup>/steward-<pid>/<tracker>/<process>` (numbers,
//! never keys), as systemd, runc, crun, youki and Nomad do. The child
//! enters it before it execs, so nothing it starts is ever outside: a
//! descendant that calls `setsid`, clears its environment (`env -i`) or
//! double-forks is still in it. A stop freezes the cgroup, sends SIGTERM
//! to every process in it, thaws it, waits up to the timeout for
//! `populated 0` in `cgroup.events`, then writes `cgroup.kill` (the kernel
//! kills the whole subtree, racing no fork) and removes the directory.
//! The status carries each process's cgroup, its CPU time (`cpu.stat`),
//! its memory peak where the memory controller is enabled, and its
//! pressure (`cpu.pressure`, `memory.pressure`, `io.pressure`).
//!
//! Where no cgroup can be made (a user without delegation, a v1-only host),
//! or when [`Containment::ProcessGroup`] is asked for, the fallback is a
//! process group per process, an environment marker its descendants
//! inherit, and the program as their child subreaper. Its limits: a
//! descendant that leaves the group *and* clears its environment escapes
//! every stop; limits and accounting are not available.
//!
//! ## How the child enters its cgroup
//!
//! The tracker creates the cgroup, opens its `cgroup.procs`, and gives the
//! `Command` a `pre_exec` hook in which the forked child writes `0`
//! (itself) to that open file: one `write(2)`, async-signal-safe, no
//! allocation. It is the workspace's only `unsafe` (its soundness argument
//! is beside it, in `containment/cgroup.rs`). The alternatives weighed:
//! `clone3(CLONE_INTO_CGROUP)`, as systemd and crun use, is faster (no
//! migration after the fork, and a `vfork`-like spawn) but means replacing
//! std's whole spawn (pipes, environment, working directory) with unsafe
//! code of our own, since `std::process::Command` exposes no spawn
//! attribute; a trampoline (`sh -c 'echo 0 > …; exec …'`) needs no unsafe
//! but costs an extra exec per spawn, doubling its cost.
//!
//! The price, measured (`cargo bench --bench tracker`, 2 cores shared with
//! other work, load average 5 to 10, several runs): spawn + wait of
//! `true` takes 1.2 to 1.4× a bare `tokio::process::Command` from one task
//! and 2.8 to 3× from eight, against 0.75 to 0.9× and 1.07 to 1.13× with
//! process groups. The kernel work per process is the cost: the migration
//! (75 to 120 µs measured here, under the global cgroup lock), and a
//! `fork` instead of `posix_spawn` (the program's page tables copied, and
//! each page it writes afterwards faulting once). The `mkdir` + `rmdir` of
//! a cgroup (150 to 190 µs) is mostly saved by reusing the empty cgroups
//! of processes that exited by themselves. `clone3(CLONE_INTO_CGROUP)`
//! would remove the rest; where spawn rate matters more than containment,
//! [`Containment::ProcessGroup`] is the choice. Stopping a tree is faster
//! with cgroups: 4.3 ms against 14 ms for `sh` and two `sleep`s (the
//! fallback scans `/proc` for what left the group).
//!
//! ## Limits
//!
//! [`SpawnOptions`] `memory_max`, `pids_max`, `cpu_max` are written to the
//! process's cgroup. A limit whose controller is not delegated is refused
//! with [`TrackerError::ControllerMissing`] naming it; nothing starts. To
//! delegate, run the program as root in a cgroup whose parent enables the
//! controllers, or as a user under systemd with
//! `systemd-run --user --scope -p Delegate=yes PROGRAM`, the controllers
//! then enabled for the program's cgroup's children
//! (`cgroup.subtree_control`).
//!
//! # No zombies, no false kills
//!
//! Every tracked leader is a `tokio::process::Child`: tokio reaps it by its
//! own pid (`waitpid(pid)` or a pidfd), never `waitpid(-1)`, so no child
//! the application owns is ever reaped by steward. With cgroups the
//! program is not a subreaper: orphans of tracked trees and of the
//! application's own children go to init, as in any program. With process
//! groups, orphans of tracked trees come to the program, and the tracker
//! reaps those it can prove are of its trees (see `pids.rs`: seen alive
//! with its marker, or in a tracked process group); what it cannot prove
//! (an orphan of the application's own child, or a tracked descendant that
//! left both its group and its marker and died unseen) it leaves alone.
//!
//! Nothing is killed because some thread panicked: a caught panic (a tokio
//! task, `catch_unwind`) stops nothing. What stops the trees when the
//! program dies is the watchdog.
//!
//! # The watchdog
//!
//! Each tracker starts a small `/bin/sh` process that holds the read end of
//! a pipe whose write end only the program has (close-on-exec, so no child
//! inherits it). When the program dies however it dies (SIGKILL, `abort`,
//! the OOM killer, a panic, a return from `main` without shutdown), the
//! kernel closes the write end; the watchdog reads EOF and kills the
//! tracker's cgroup subtree (or, with process groups, the groups it was
//! told of and the marked processes), then exits. On a clean shutdown the
//! program tells it to exit without killing anything, and reaps it. It
//! leads its own process group and ignores terminal signals, so a Ctrl-C
//! does not take it first; if it dies, the tracker starts another.
//!
//! # Spawning off the actor
//!
//! A spawn runs the fork and exec in the calling task and writes the entry
//! into the tracker's shared table before it returns; the child's reaper
//! runs on the tracker's runtime, so a spawn from a short-lived runtime
//! (`block_on`) is still reaped. A spawn or registration is done or not
//! started at every await point: a dropped future leaves no child
//! untracked. The actor only stops, cleans up and keeps house (on blocking
//! threads: the watchdog checked, cells removed, orphans reaped).
//!
//! - Tasks are aborted; custom resources are cleaned up by their own sync
//!   or async cleanup, whose failure or panic is reported, never raised.
//! - [`Tracker::cleanup_all`] stops everything within a deadline: processes
//!   and tasks at once, custom resources newest first.
//! - Guards ([`Tracker::track_process`], [`Tracker::track_task`]) stop what
//!   they hold when dropped: the Rust form of a context manager.
//!
//! # Examples
//!
//! ```
//! use std::process::Command;
//! use std::time::Duration;
//! use steward_actors::tracker::{Ending, Tracker};
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
//! let tracker = Tracker::start_in(&actix::Arbiter::current());
//! let mut sleeper = Command::new("sleep");
//! sleeper.arg("300");
//! tracker.spawn("sleeper", sleeper).await?;
//!
//! let outcome = tracker.stop_process("sleeper", Duration::from_secs(5)).await?;
//! assert_eq!(outcome.ending, Ending::Terminated);
//! # Ok(())
//! # }
//! ```

mod actor;
mod builder;
mod child;
mod command;
mod containment;
mod custom;
mod error;
mod handle;
mod messages;
mod options;
mod os;
mod pids;
mod process;
mod spawn;
mod status;
mod stop;
mod table;
mod task;
mod watchdog;

use std::time::Duration;

pub use actor::ResourceTracker;
pub use builder::TrackerBuilder;
pub use child::ChildProcess;
pub use command::{ChildIo, CommandSpec};
pub use error::{Kind, Rejected, TrackerError};
pub use handle::{ProcessGuard, TaskGuard, Tracker};
pub use messages::{
    CancelTask, CleanupAll, CleanupCustom, RegisterCustom, RegisterProcess, RegisterTask,
    ReportTrackerStatus, SpawnPiped, SpawnProcess, StopProcess, UnregisterCustom,
    UnregisterProcess,
};
pub use options::{Containment, CpuMax, SpawnOptions};
pub use status::{
    CellPressure, CleanupOutcome, CleanupReport, Contained, CustomStatus, Ending, ProcessState,
    ProcessStatus, StopCounts, StopOutcome, TaskState, TaskStatus, TrackerCounts, TrackerStatus,
    Usage,
};
pub use table::{ProcessExit, SpawnedProcess};

/// How long a guard gives what it tracks to stop after SIGTERM or abort.
pub const GUARD_TIMEOUT: Duration = crate::budget::GRACE;

#[cfg(test)]
mod tests;
