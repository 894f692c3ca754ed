//! Containment: where a tracked process and its descendants are held, so
//! that a stop reaches all of them. One small interface, [`Cell`], with two
//! implementations: a cgroup v2 per process ([`cgroup`]) and, where none can
//! be made, a process group plus an environment marker ([`group`]).

pub(crate) mod cgroup;
mod events;
pub(crate) mod group;

use std::fmt;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::error::TrackerError;
use super::options::{Containment, SpawnOptions};
use super::status::{Contained, Usage};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// A new cell and its cgroup's directory, open for `clone3`.
pub(crate) type Direct = (Box<dyn Cell>, OwnedFd);

/// What a tracker contains its processes in: makes one [`Cell`] per process.
pub(crate) trait Container: Send + Sync + fmt::Debug {
    /// Which containment this is.
    fn kind(&self) -> Containment;
    /// Sets `command` up to start inside a new cell numbered `id`, with
    /// `options`' limits. Blocking, but only a few writes to kernfs.
    fn prepare(
        &self,
        id: u64,
        key: &str,
        command: &mut Command,
        options: &SpawnOptions,
    ) -> Result<Box<dyn Cell>, TrackerError>;
    /// Makes a cell numbered `id` with `options`' limits for a process the
    /// tracker starts itself, and opens its cgroup's directory for
    /// `clone3(CLONE_INTO_CGROUP)`; `None` where there is no cgroup (the
    /// process is then started by std, through [`prepare`](Self::prepare)).
    fn prepare_direct(
        &self,
        _id: u64,
        _key: &str,
        _options: &SpawnOptions,
    ) -> Result<Option<Direct>, TrackerError> {
        Ok(None)
    }
    /// A cell for a child the application started itself, running as `pid`
    /// (and unreaped: its pid is stable).
    fn adopt(&self, id: u64, pid: u32) -> Box<dyn Cell>;
    /// SIGKILLs everything this tracker contains, at once, without waiting:
    /// for a program about to go.
    fn kill_all(&self);
    /// Removes what the tracker made; after every cell is released.
    fn close(&self);
    /// Periodic upkeep on a blocking thread (cgroups kept for reuse that
    /// were not reused in time are removed).
    fn housekeep(&self) {}
    /// The tracker's cgroup as `/proc/<pid>/cgroup` names it (cgroup only).
    fn proc_path(&self) -> Option<&str> {
        None
    }
    /// The directory the watchdog kills at the program's death (cgroup), or
    /// none (process groups: the watchdog is told of each group).
    fn watchdog_target(&self) -> Option<(PathBuf, PathBuf)>;
    /// CPU time of every cell this container made, those removed
    /// included, in microseconds, where the kernel counts it (cgroup).
    /// Blocking (one small kernfs read).
    fn cpu_usec(&self) -> Option<u64> {
        None
    }
}

/// Where one tracked process and its descendants are held.
pub(crate) trait Cell: Send + Sync + fmt::Debug {
    /// What the status shows.
    fn contained(&self) -> Contained;
    /// Sends `signal` to every process in the cell; returns how many.
    /// `leader_reaped` says whether the leader's pid may have been reused.
    fn signal(&self, signal: Signal, leader_reaped: bool) -> BoxFuture<'_, usize>;
    /// Kills every process in the cell, race-free where the kernel allows;
    /// returns how many there were besides the leader.
    fn kill(&self, leader: u32, leader_reaped: bool) -> usize;
    /// Waits, at most `within`, until no process of the cell runs.
    fn until_empty(&self, within: Duration) -> BoxFuture<'_, bool>;
    /// Kills whatever escaped the cell (marked processes that left their
    /// group), within `budget`; returns how many.
    fn sweep(&self, budget: Duration) -> BoxFuture<'_, usize>;
    /// CPU, memory and pressure, where the kernel counts them. Blocking
    /// (small kernfs reads).
    fn usage(&self) -> Usage;
    /// The reading kept once nothing runs: CPU and memory, no pressure
    /// (fewer reads, on the path of every exit).
    fn final_usage(&self) -> Usage {
        self.usage()
    }
    /// Removes the cell (the cgroup directory); false while it still holds
    /// a process.
    fn release(&self) -> bool;
    /// As [`release`](Self::release), but an empty cgroup without limits
    /// may be kept a moment for the next spawn instead (a process that
    /// exited by itself; never one that was stopped).
    fn recycle(&self) -> bool {
        self.release()
    }
    /// Whether [`release`](Self::release) has succeeded.
    fn is_released(&self) -> bool;
    /// The process group the watchdog must know of (process groups only).
    fn group(&self) -> Option<u32>;
    /// The process was started as `pid`.
    fn started(&mut self, _pid: u32) {}
    /// The leader `pid` is handed back to the application: it leaves the
    /// cell (its descendants stay, to be stopped with the tracker).
    fn let_go(&self, _pid: u32) {}
}
