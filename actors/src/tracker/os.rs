//! What the tracker asks of the OS: signals to live processes and groups,
//! the child-subreaper flag, and `/proc`.

use std::path::Path;

use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The environment variable that marks every process the tracker starts,
/// inherited by their descendants: `<our pid>.<tracker>.<key>`. (Not
/// `STEWARD_…`: a steward program started by steward must not read it as
/// configuration.)
pub(crate) const MARKER_VAR: &str = "_STEWARD_TRACKED";

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

/// Makes this process the reaper of orphaned descendants, so a grandchild
/// that calls `setsid` is still ours to reap. Process-wide, and harmless
/// to set twice.
pub(crate) fn become_subreaper() {
    if let Err(err) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(target: "steward::tracker", %err, "cannot become child subreaper; orphaned grandchildren go to init");
    }
}

/// What `/proc/<pid>/stat` says of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) state: char,
    pub(crate) ppid: u32,
    pub(crate) pgrp: u32,
}

pub(crate) fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: split after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(ProcStat { state, ppid, pgrp })
}

/// Which marker values a scan looks for.
#[derive(Debug, Clone)]
pub(crate) enum Match {
    /// One tracked process's descendants.
    Exact(String),
    /// Every process of one tracker.
    Prefix(String),
}

/// Every live (non-zombie: a zombie's environment is gone) process whose
/// marker matches.
pub(crate) fn marked(matching: &Match) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && has_marker(&Path::new("/proc").join(pid.to_string()), matching))
        .collect()
}

fn has_marker(dir: &Path, matching: &Match) -> bool {
    let Ok(environ) = std::fs::read(dir.join("environ")) else {
        return false;
    };
    let prefix = format!("{MARKER_VAR}=");
    environ
        .split(|&b| b == 0)
        .filter_map(|var| var.strip_prefix(prefix.as_bytes()))
        .any(|value| match matching {
            Match::Exact(marker) => value == marker.as_bytes(),
            Match::Prefix(prefix) => value.starts_with(prefix.as_bytes()),
        })
}

/// Whether any direct child of ours carries a matching marker.
///
/// Once a tracked leader has exited, every descendant of its tree that is
/// still alive hangs below one of our children: orphans are reparented to
/// us, the subreaper. So when no child of ours is marked, nothing of the
/// tree is left, and the full scan of `/proc` can be skipped. Without the
/// subreaper flag (or `/proc/<pid>/task/<tid>/children`) the answer is
/// always yes.
pub(crate) fn any_marked_child(matching: &Match) -> bool {
    if !nix::sys::prctl::get_child_subreaper().unwrap_or(false) {
        return true;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return true;
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            return true;
        };
        children.extend(
            list.split_whitespace()
                .filter_map(|pid| pid.parse::<u32>().ok()),
        );
    }
    children
        .into_iter()
        .any(|pid| has_marker(&Path::new("/proc").join(pid.to_string()), matching))
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
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_stat_and_refuses_dangerous_pids() {
        let me = stat(std::process::id()).unwrap();
        assert!(matches!(me.state, 'R' | 'S'));
        assert!(!signal_process(0, Signal::SIGTERM));
        assert!(!signal_process(1, Signal::SIGTERM));
        assert!(!signal_process(std::process::id(), Signal::SIGTERM));
        assert!(!signal_group(0, Signal::SIGTERM));
    }
}
