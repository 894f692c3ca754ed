//! What the tracker asks of the OS: signals to live processes and groups,
//! the child-subreaper flag, and `/proc`.

use std::path::Path;

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The start of the environment variable that marks every process a
/// tracker starts, inherited by their descendants:
/// `_STEWARD_TRACKED_<our pid>_<tracker>=<key>`. One variable per tracker,
/// so a steward program started by steward adds its own mark instead of
/// overwriting ours. (Not `STEWARD_…`: that would be read as configuration.)
pub(crate) const MARKER_PREFIX: &str = "_STEWARD_TRACKED_";

fn pid(raw: u32) -> Option<Pid> {
    // Never 0 (our own group), 1 (init) or ourselves.
    let raw = i32::try_from(raw)
        .ok()
        .filter(|&p| p > 1 && p != std::process::id() as i32)?;
    Some(Pid::from_raw(raw))
}

/// Signals the process group `pgid`; false if there is none (or it is not
/// one we may signal).
pub(crate) fn signal_group(pgid: u32, signal: Signal) -> bool {
    pid(pgid).is_some_and(|pgid| killpg(pgid, signal).is_ok())
}

/// Signals process `pid`; false if it is gone.
pub(crate) fn signal_process(raw: u32, signal: Signal) -> bool {
    pid(raw).is_some_and(|pid| kill(pid, signal).is_ok())
}

/// Makes this process the reaper of orphaned descendants (or stops it
/// being one), so a grandchild that calls `setsid` is still ours to reap.
/// Process-wide.
pub(crate) fn set_subreaper(on: bool) {
    if let Err(err) = nix::sys::prctl::set_child_subreaper(on) {
        tracing::warn!(target: "steward::tracker", %err, on, "cannot change the child subreaper flag");
    }
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) state: char,
    pub(crate) ppid: u32,
    pub(crate) pgrp: u32,
    /// When it started, in clock ticks since boot: with the pid, it names
    /// one process (a pid alone may be reused).
    pub(crate) start: u64,
}

pub(crate) fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    // session .. itrealvalue, then starttime.
    let start = fields.nth(16)?.parse().ok()?;
    Some(ProcStat {
        state,
        ppid,
        pgrp,
        start,
    })
}

/// Which marks a scan looks for.
#[derive(Debug, Clone)]
pub(crate) enum Match {
    /// One tracked process's descendants: `var=key`.
    Exact {
        /// The tracker's marker variable.
        var: String,
        /// The key.
        key: String,
    },
    /// Every process of one tracker: any value of `var`.
    Any {
        /// The tracker's marker variable.
        var: String,
    },
}

impl Match {
    fn matches(&self, entry: &[u8]) -> bool {
        match self {
            Match::Exact { var, key } => {
                entry
                    .strip_prefix(var.as_bytes())
                    .and_then(|rest| rest.strip_prefix(b"="))
                    == Some(key.as_bytes())
            }
            Match::Any { var } => entry
                .strip_prefix(var.as_bytes())
                .is_some_and(|rest| rest.starts_with(b"=")),
        }
    }
}

/// Every live (non-zombie: a zombie's environment is gone) process whose
/// mark matches. Reads every process's environment: the slow, thorough
/// scan.
pub(crate) fn marked(matching: &Match) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && has_mark(pid, matching))
        .collect()
}

fn environ(pid: u32) -> Option<Vec<u8>> {
    std::fs::read(Path::new("/proc").join(pid.to_string()).join("environ")).ok()
}

fn environ_has_mark(environ: &[u8], matching: &Match) -> bool {
    environ
        .split(|&b| b == 0)
        .any(|entry| matching.matches(entry))
}

/// Whether process `pid` carries a matching mark (false if unreadable).
pub(crate) fn has_mark(pid: u32, matching: &Match) -> bool {
    environ(pid).is_some_and(|environ| environ_has_mark(&environ, matching))
}

/// Whether process `pid` (a zombie too) is in the cgroup v2 `dir` (a path
/// relative to the cgroup2 mount, as `/proc/<pid>/cgroup` gives it) or
/// below it.
pub(crate) fn in_cgroup(pid: u32, dir: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|text| {
        text.lines()
            .filter_map(|line| line.strip_prefix("0::"))
            .any(|path| {
                path == dir
                    || path
                        .strip_prefix(dir)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    })
}

/// Our direct children, from `/proc/self/task/*/children`.
pub(crate) fn children() -> Option<Vec<u32>> {
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let list = std::fs::read_to_string(task.path().join("children")).ok()?;
        children.extend(
            list.split_whitespace()
                .filter_map(|pid| pid.parse::<u32>().ok()),
        );
    }
    Some(children)
}

/// Members of process group `pgid`, from `/proc/*/stat`.
pub(crate) fn group_members(pgid: u32) -> Vec<u32> {
    group_member_stats(pgid)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect()
}

/// Live members of process group `pgid`, each with its start time.
pub(crate) fn group_member_stats(pgid: u32) -> Vec<(u32, ProcStat)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, stat)| stat.pgrp == pgid && stat.state != 'Z')
        .collect()
}

/// Reaps `pid` if it is our zombie child; true once it is gone or not ours.
pub(crate) fn reap_if_zombie_child(pid: u32) -> bool {
    match stat(pid) {
        None => true,
        Some(stat) if stat.ppid != std::process::id() => stat.state == 'Z',
        Some(stat) if stat.state == 'Z' => match self::pid(pid) {
            Some(child) => !matches!(
                waitpid(child, Some(WaitPidFlag::WNOHANG)),
                Ok(WaitStatus::StillAlive)
            ),
            None => true,
        },
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests;
