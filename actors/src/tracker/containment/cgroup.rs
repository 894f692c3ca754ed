//! Containment in cgroup v2: one cgroup per tracked process.
//!
//! Layout: `<the program's cgroup>/steward-<pid>/<tracker>/<process>`,
//! every component a number (never a user's key). `steward-<pid>` is shared
//! by the program's trackers and removed with the last of them.
//!
//! A child enters its cgroup between `fork` and `exec`: the tracker opens
//! the new cgroup's `cgroup.procs` beforehand, and the child writes `0`
//! (itself) to it before it execs, so nothing it starts can be outside.
//! Stopping one is what systemd, crun and youki do: freeze the cgroup, send
//! SIGTERM to every pid in it (frozen, none can exit and have its pid
//! reused under our feet), thaw, wait for `populated 0` in
//! `cgroup.events`, then write `1` to `cgroup.kill` (the kernel kills
//! every process of the cgroup and its descendants, racing no fork), and
//! remove the directory.
//!
//! The cgroup of a process that exited by itself, without limits, is kept
//! a moment (at most eight, at most a second) and given to the next spawn:
//! `mkdir` and `rmdir` each take the kernel's global cgroup lock, and a
//! spawn that finds one skips both. Its CPU time is counted from when it
//! was taken; its pressure averages may still show the last seconds of the
//! process before. A stopped process's cgroup is always removed.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::group::ProcessCell;
use super::{Cell, Container, Direct};
use crate::tracker::error::TrackerError;
use crate::tracker::options::{Containment, SpawnOptions};
use crate::tracker::os;

mod cell;

use cell::CgroupCell;

/// The controllers a limit may need, enabled for the tracker's subtree
/// when the program's cgroup delegates them.
const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// At most this many empty cgroups are kept for reuse, each at most
/// [`SPARE_FOR`]: a spawn that takes one skips a `mkdir` and an `rmdir`,
/// each of which takes the kernel's global cgroup lock.
const SPARES: usize = 8;
const SPARE_FOR: Duration = Duration::from_secs(1);

/// Empty, limit-free cgroups of processes that exited by themselves, kept
/// a moment for the next spawn.
#[derive(Debug, Default)]
struct Spares(Mutex<Vec<(PathBuf, Instant)>>);

impl Spares {
    fn cells(&self) -> MutexGuard<'_, Vec<(PathBuf, Instant)>> {
        crate::sync::lock(&self.0)
    }

    fn take(&self) -> Option<PathBuf> {
        self.cells().pop().map(|(path, _)| path)
    }

    /// Keeps `path` if there is room; false if not.
    fn put(&self, path: &Path) -> bool {
        let mut cells = self.cells();
        if cells.len() >= SPARES {
            return false;
        }
        cells.push((path.to_owned(), Instant::now()));
        true
    }

    /// Removes those kept longer than `older_than` (all, with zero).
    fn expire(&self, older_than: Duration) {
        let expired: Vec<PathBuf> = {
            let mut cells = self.cells();
            let (old, fresh): (Vec<_>, Vec<_>) = cells
                .drain(..)
                .partition(|(_, kept)| kept.elapsed() >= older_than);
            *cells = fresh;
            old.into_iter().map(|(path, _)| path).collect()
        };
        for path in expired {
            let _ = fs::remove_dir(path);
        }
    }
}

/// How many trackers of this program use `steward-<pid>`: the last one out
/// removes it. The lock also orders its creation and removal.
static PROGRAM_USERS: Mutex<usize> = Mutex::new(0);

/// One tracker's cgroup: `steward-<pid>/<tracker>`.
#[derive(Debug)]
pub(crate) struct CgroupTree {
    program: PathBuf,
    dir: PathBuf,
    /// `dir` as `/proc/<pid>/cgroup` names it.
    proc_path: String,
    /// Controllers enabled for the process cgroups.
    controllers: Vec<String>,
    /// Whether `cgroup.kill` exists (Linux 5.14+).
    has_kill: bool,
    /// Empty cgroups kept for reuse; only where the memory controller is
    /// off (`memory.peak` cannot be reset for a new process).
    spares: Option<Arc<Spares>>,
    /// Whether `steward-<pid>`'s user count was given back.
    closed: AtomicBool,
}

impl CgroupTree {
    /// Creates the tracker's cgroup under the program's own cgroup v2.
    ///
    /// # Errors
    ///
    /// Why it cannot: no cgroup v2 mounted, the program's cgroup not found
    /// or not writable.
    pub(crate) fn create(tracker: u64) -> Result<Self, String> {
        let (base, own) = own_cgroup()?;
        let program = base.join(format!("steward-{}", std::process::id()));
        let proc_path = format!(
            "{}/steward-{}/{tracker}",
            own.trim_end_matches('/'),
            std::process::id()
        );
        let mut users = crate::sync::lock(&PROGRAM_USERS);
        match fs::create_dir(&program) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(format!("cannot create {}: {error}", program.display())),
        }
        enable_controllers(&program);
        let dir = program.join(tracker.to_string());
        if let Err(error) = fs::create_dir(&dir) {
            if *users == 0 {
                let _ = fs::remove_dir(&program);
            }
            return Err(format!("cannot create {}: {error}", dir.display()));
        }
        *users += 1;
        drop(users);
        let controllers = enable_controllers(&dir);
        let has_kill = dir.join("cgroup.kill").exists();
        let spares = (!controllers.iter().any(|c| c == "memory")).then(Arc::default);
        tracing::debug!(target: "steward::tracker", dir = %dir.display(), ?controllers, has_kill, "cgroup containment");
        Ok(Self {
            program,
            dir,
            proc_path,
            controllers,
            has_kill,
            spares,
            closed: AtomicBool::new(false),
        })
    }

    fn missing(&self, key: &str, controller: &'static str) -> TrackerError {
        let enabled = if self.controllers.is_empty() {
            "none".to_owned()
        } else {
            self.controllers.join(" ")
        };
        TrackerError::ControllerMissing {
            key: key.to_owned(),
            controller,
            reason: format!(
                "not delegated to {} (enabled: {enabled})",
                self.dir.display()
            ),
        }
    }
}

impl CgroupTree {
    /// A cgroup for process `id`: an empty one kept for reuse if it needs
    /// no limits, else a new one with `options`' limits written.
    fn new_cell(
        &self,
        id: u64,
        key: &str,
        options: &SpawnOptions,
    ) -> Result<CgroupCell, TrackerError> {
        let writes = options.writes();
        if let Some((controller, ..)) = writes
            .iter()
            .find(|(controller, ..)| !self.controllers.iter().any(|c| c == controller))
        {
            return Err(self.missing(key, controller));
        }
        let spare = self
            .spares
            .as_ref()
            .filter(|_| writes.is_empty())
            .and_then(|spares| spares.take());
        let cell = match spare {
            Some(path) => CgroupCell::reused(path, self),
            None => {
                let path = self.dir.join(id.to_string());
                fs::create_dir(&path).map_err(|error| spawn_failed(key, error))?;
                CgroupCell::new(path, self, writes.is_empty())
            }
        };
        let limited = writes
            .into_iter()
            .try_for_each(|(_, file, value)| fs::write(cell.path.join(file), value));
        match limited {
            Ok(()) => Ok(cell),
            Err(error) => {
                cell.release();
                Err(spawn_failed(key, error))
            }
        }
    }
}

fn spawn_failed(key: &str, source: io::Error) -> TrackerError {
    TrackerError::Spawn {
        key: key.to_owned(),
        source: source.into(),
    }
}

impl Container for CgroupTree {
    fn kind(&self) -> Containment {
        Containment::Cgroup
    }

    fn prepare(
        &self,
        id: u64,
        key: &str,
        command: &mut Command,
        options: &SpawnOptions,
    ) -> Result<Box<dyn Cell>, TrackerError> {
        let cell = self.new_cell(id, key, options)?;
        let procs = fs::OpenOptions::new()
            .write(true)
            .open(cell.path.join("cgroup.procs"));
        match procs {
            Ok(procs) => {
                enter_before_exec(command, procs.into());
                Ok(Box::new(cell))
            }
            Err(error) => {
                // Nothing was started in it: it goes now.
                cell.release();
                Err(spawn_failed(key, error))
            }
        }
    }

    fn prepare_direct(
        &self,
        id: u64,
        key: &str,
        options: &SpawnOptions,
    ) -> Result<Option<Direct>, TrackerError> {
        let cell = self.new_cell(id, key, options)?;
        match fs::File::open(&cell.path) {
            Ok(dir) => Ok(Some((Box::new(cell), dir.into()))),
            Err(error) => {
                cell.release();
                Err(spawn_failed(key, error))
            }
        }
    }

    fn adopt(&self, id: u64, pid: u32) -> Box<dyn Cell> {
        let path = self.dir.join(id.to_string());
        let moved = fs::create_dir(&path)
            .and_then(|()| fs::write(path.join("cgroup.procs"), pid.to_string()));
        match moved {
            Ok(()) => Box::new(CgroupCell::new(path, self, false)),
            Err(error) => {
                let _ = fs::remove_dir(&path);
                tracing::warn!(target: "steward::tracker", pid, %error, "cannot move a registered child into a cgroup; it is contained by its process group only");
                Box::new(ProcessCell::of_running(pid))
            }
        }
    }

    fn kill_all(&self) {
        kill_tree(&self.dir, self.has_kill);
    }

    fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(spares) = &self.spares {
            spares.expire(Duration::ZERO);
        }
        let _ = fs::remove_dir(&self.dir);
        let mut users = crate::sync::lock(&PROGRAM_USERS);
        *users = users.saturating_sub(1);
        if *users == 0 {
            let _ = fs::remove_dir(&self.program);
        }
    }

    fn watchdog_target(&self) -> Option<(PathBuf, PathBuf)> {
        Some((self.dir.clone(), self.program.clone()))
    }

    fn proc_path(&self) -> Option<&str> {
        Some(&self.proc_path)
    }

    fn cpu_usec(&self) -> Option<u64> {
        // A parent's `cpu.stat` keeps what its removed children used.
        fs::read_to_string(self.dir.join("cpu.stat"))
            .ok()
            .and_then(|stat| cpu_usec(&stat))
    }

    fn housekeep(&self) {
        if let Some(spares) = &self.spares {
            spares.expire(SPARE_FOR);
        }
    }
}

impl Drop for CgroupTree {
    /// A tracker dropped without a shutdown still gives back its use of
    /// `steward-<pid>`; what its cgroup holds, its watchdog kills and
    /// removes (it reads EOF as the tracker's state is dropped).
    fn drop(&mut self) {
        self.close();
    }
}

/// Makes the forked child write `0` (itself) to its cgroup's
/// `cgroup.procs` before it execs.
///
/// `CommandExt::pre_exec` is `unsafe` because the closure runs in the child
/// between `fork` and `exec`, where the child is a copy of a possibly
/// multi-threaded process of which only the forking thread survives: it may
/// only do what is async-signal-safe, and must not allocate or take a lock
/// that another thread could have held at the fork.
#[allow(unsafe_code)]
fn enter_before_exec(command: &mut Command, procs: OwnedFd) {
    let enter = move || -> io::Result<()> {
        nix::unistd::write(&procs, b"0")
            .map(drop)
            .map_err(io::Error::from)
    };
    // SAFETY: the closure makes exactly one call, `write(2)`, which POSIX
    // lists as async-signal-safe, on a descriptor it owns (opened before
    // the fork, inherited by the child, closed at exec by O_CLOEXEC, which
    // `std::fs::OpenOptions` always sets). `nix::unistd::write` is a direct
    // call to `libc::write` that neither allocates nor locks, and an
    // `Errno` becomes an `io::Error` without allocating
    // (`io::Error::from_raw_os_error`). Nothing else is touched: no
    // environment, no heap, no Rust-level lock, so no state another thread
    // held at the fork can be observed. The closure is `Send + Sync`
    // (`OwnedFd` is) and `'static` (it owns the descriptor), as `pre_exec`
    // requires; in the parent it is dropped with the command after the
    // spawn, closing the parent's copy.
    unsafe {
        command.pre_exec(enter);
    }
}

/// SIGKILLs every process of `cgroup` and its descendants: one write to
/// `cgroup.kill`, or (before Linux 5.14) SIGKILL to each pid until none
/// is left.
fn kill_tree(cgroup: &Path, has_kill: bool) {
    if has_kill && fs::write(cgroup.join("cgroup.kill"), "1").is_ok() {
        return;
    }
    for _ in 0..10 {
        let pids = all_procs(cgroup);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            os::signal_process(pid, Signal::SIGKILL);
        }
    }
}

/// The pids in `cgroup` itself.
fn procs(cgroup: &Path) -> Vec<u32> {
    fs::read_to_string(cgroup.join("cgroup.procs"))
        .map(|text| text.lines().filter_map(|pid| pid.parse().ok()).collect())
        .unwrap_or_default()
}

/// The pids in `cgroup` and every cgroup below it.
fn all_procs(cgroup: &Path) -> Vec<u32> {
    let mut pids = procs(cgroup);
    if let Ok(entries) = fs::read_dir(cgroup) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                pids.extend(all_procs(&entry.path()));
            }
        }
    }
    pids
}

/// `usage_usec` from a `cpu.stat` text.
pub(crate) fn cpu_usec(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|line| line.strip_prefix("usage_usec "))
        .and_then(|value| value.trim().parse().ok())
}

/// Enables in `cgroup`'s subtree every controller of [`CONTROLLERS`] it
/// has; returns those its children get.
fn enable_controllers(cgroup: &Path) -> Vec<String> {
    let available = fs::read_to_string(cgroup.join("cgroup.controllers")).unwrap_or_default();
    let control = cgroup.join("cgroup.subtree_control");
    for controller in CONTROLLERS {
        if available.split_whitespace().any(|c| c == controller)
            && let Err(error) = fs::write(&control, format!("+{controller}"))
        {
            tracing::debug!(target: "steward::tracker", controller, %error, cgroup = %cgroup.display(), "cannot enable controller");
        }
    }
    fs::read_to_string(&control)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The program's own cgroup v2 directory: its `0::` line in
/// `/proc/self/cgroup`, under the cgroup2 mount from
/// `/proc/self/mountinfo` (`/sys/fs/cgroup` on a pure v2 host,
/// `/sys/fs/cgroup/unified` on a hybrid one); and that line's path.
fn own_cgroup() -> Result<(PathBuf, String), String> {
    let cgroups = fs::read_to_string("/proc/self/cgroup")
        .map_err(|error| format!("cannot read /proc/self/cgroup: {error}"))?;
    let own = cgroups
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or("no cgroup v2 in /proc/self/cgroup")?;
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|error| format!("cannot read /proc/self/mountinfo: {error}"))?;
    let (root, mount) = cgroup2_mount(&mountinfo).ok_or("no cgroup2 file system is mounted")?;
    let relative = Path::new(own)
        .strip_prefix(&root)
        .map_err(|_| format!("the program's cgroup {own} is outside the mounted {root}"))?;
    Ok((Path::new(&mount).join(relative), own.to_owned()))
}

/// The root and mount point of the first cgroup2 mount in a mountinfo text.
pub(crate) fn cgroup2_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (mount, filesystem) = line.split_once(" - ")?;
        if filesystem.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = mount.split_whitespace().skip(3);
        let root = fields.next()?.to_owned();
        let point = fields.next()?.replace("\\040", " ");
        Some((root, point))
    })
}

#[cfg(test)]
mod tests;
