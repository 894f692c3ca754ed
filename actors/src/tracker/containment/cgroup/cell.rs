//! [`CgroupCell`]: one tracked process's cgroup, and how it is signalled,
//! waited for, read, stopped and removed or kept for reuse.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{CgroupTree, Spares, cpu_usec, kill_tree, procs};
use crate::monitor::Pressure;
use crate::tracker::containment::{BoxFuture, Cell, events};
use crate::tracker::os;
use crate::tracker::status::{CellPressure, Contained, Usage};

/// How long a freeze before a SIGTERM may take; past it the signal goes
/// out unfrozen (a process in uninterruptible sleep delays a freeze).
const FREEZE_WAIT: Duration = Duration::from_millis(100);

/// One tracked process's cgroup.
#[derive(Debug)]
pub(crate) struct CgroupCell {
    pub(super) path: PathBuf,
    has_kill: bool,
    /// Whether the memory controller is enabled for it (`memory.peak`).
    memory: bool,
    /// Where it goes once empty after its process exited by itself, if it
    /// may be reused (no limits written to it).
    spares: Option<Arc<Spares>>,
    /// `usage_usec` when it was taken for this process (a reused cgroup
    /// counts its earlier processes too).
    cpu_base: u64,
    /// Set when a stop begins: a stopped process's cgroup is removed,
    /// never reused.
    stopping: AtomicBool,
    released: AtomicBool,
}

impl CgroupCell {
    pub(super) fn new(path: PathBuf, tree: &CgroupTree, reusable: bool) -> Self {
        Self {
            path,
            has_kill: tree.has_kill,
            memory: tree.controllers.iter().any(|c| c == "memory"),
            spares: tree.spares.clone().filter(|_| reusable),
            cpu_base: 0,
            stopping: AtomicBool::new(false),
            released: AtomicBool::new(false),
        }
    }

    pub(super) fn reused(path: PathBuf, tree: &CgroupTree) -> Self {
        let mut cell = Self::new(path, tree, true);
        cell.cpu_base = cell
            .read("cpu.stat")
            .and_then(|stat| cpu_usec(&stat))
            .unwrap_or(0);
        cell
    }

    fn read(&self, file: &str) -> Option<String> {
        fs::read_to_string(self.path.join(file)).ok()
    }
}

impl Cell for CgroupCell {
    fn contained(&self) -> Contained {
        Contained::Cgroup(self.path.clone())
    }

    fn signal(&self, signal: Signal, _: bool) -> BoxFuture<'_, usize> {
        self.stopping.store(true, Ordering::Release);
        Box::pin(async move {
            if self.is_released() {
                return 0;
            }
            // Frozen, no process of the cgroup can exit, so no pid read
            // below can be reaped and reused before it is signalled.
            let freeze = self.path.join("cgroup.freeze");
            let froze = fs::write(&freeze, "1").is_ok();
            if froze {
                events::wait_for(&self.path, "frozen", true, FREEZE_WAIT).await;
            }
            let signalled = procs(&self.path)
                .into_iter()
                .filter(|&pid| os::signal_process(pid, signal))
                .count();
            if froze {
                let _ = fs::write(&freeze, "0");
            }
            signalled
        })
    }

    fn kill(&self, leader: u32, _: bool) -> usize {
        self.stopping.store(true, Ordering::Release);
        if self.is_released() {
            return 0;
        }
        let others = procs(&self.path)
            .into_iter()
            .filter(|&pid| pid != leader)
            .count();
        kill_tree(&self.path, self.has_kill);
        others
    }

    fn until_empty(&self, within: Duration) -> BoxFuture<'_, bool> {
        if self.is_released() {
            // Gone, or handed to another process: nothing of ours is in it.
            return Box::pin(std::future::ready(true));
        }
        Box::pin(events::wait_for(&self.path, "populated", false, within))
    }

    fn sweep(&self, _: Duration) -> BoxFuture<'_, usize> {
        // Nothing leaves a cgroup by itself.
        Box::pin(std::future::ready(0))
    }

    fn usage(&self) -> Usage {
        if self.is_released() {
            return Usage::default();
        }
        let pressure = |file: &str| self.read(file).and_then(|text| Pressure::parse(&text).ok());
        Usage {
            pressure: Some(CellPressure {
                cpu: pressure("cpu.pressure"),
                memory: pressure("memory.pressure"),
                io: pressure("io.pressure"),
            }),
            ..self.final_usage()
        }
    }

    fn final_usage(&self) -> Usage {
        if self.is_released() {
            return Usage::default();
        }
        Usage {
            cpu_usec: self
                .read("cpu.stat")
                .and_then(|stat| cpu_usec(&stat))
                .map(|usec| usec.saturating_sub(self.cpu_base)),
            memory_peak_bytes: self
                .memory
                .then(|| self.read("memory.peak"))
                .flatten()
                .and_then(|peak| peak.trim().parse().ok()),
            pressure: None,
        }
    }

    fn release(&self) -> bool {
        if self.is_released() {
            return true;
        }
        let removed = match fs::remove_dir(&self.path) {
            Ok(()) => true,
            Err(error) => error.kind() == io::ErrorKind::NotFound,
        };
        if removed {
            self.released.store(true, Ordering::Release);
        }
        removed
    }

    fn recycle(&self) -> bool {
        if self.is_released() {
            return true;
        }
        let kept = !self.stopping.load(Ordering::Acquire)
            && self.spares.as_ref().is_some_and(|spares| {
                events::is(&self.path, "populated", false) && spares.put(&self.path)
            });
        if kept {
            self.released.store(true, Ordering::Release);
            return true;
        }
        self.release()
    }

    fn is_released(&self) -> bool {
        self.released.load(Ordering::Acquire)
    }

    fn group(&self) -> Option<u32> {
        None
    }

    fn let_go(&self, pid: u32) {
        // Back to the program's own cgroup: <own>/steward-<pid>/<tracker>/<id>.
        if let Some(own) = self.path.ancestors().nth(3) {
            let _ = fs::write(own.join("cgroup.procs"), pid.to_string());
        }
    }
}
