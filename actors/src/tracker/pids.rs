//! Which pids are whose: the bookkeeping that lets the tracker reap every
//! zombie it is the parent of without ever reaping a child that tokio or
//! the application still owns.
//!
//! The program is the parent of three kinds of process: children tokio
//! owns (every tracked leader: its `tokio::process::Child` reaps it with
//! `waitpid(pid)`, or with a pidfd, never `waitpid(-1)`), children the
//! application owns (it waits for them itself), and, while the program is
//! a child subreaper (process-group containment only), orphans of tracked
//! trees reparented to it. The tracker reaps only the third kind, and only
//! those it can prove are of a tracked tree:
//!
//! - it saw them alive carrying its marker (a tracked process's
//!   environment, inherited by its descendants),
//! - or they are in the process group of a tracked process (a group id
//!   stays taken while any member lives, so no other process can be in
//!   it; the application's children are in its own group),
//! - or their cgroup is under the tracker's (an orphan of a cgroup-
//!   contained tree adopted while another tracker of the program made it
//!   a subreaper).
//!
//! Every other child is left alone: tokio's and the application's are
//! theirs to reap, and an orphan of the application's own children, or a
//! tracked descendant that left its group and its marker (`env -i setsid`)
//! and died before a scan saw it, cannot be told apart from them. That is
//! the process-group fallback's documented limit; with cgroups no orphan
//! comes to the program at all.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use nix::sys::signal::Signal;

use super::os;

use crate::sync::lock;

/// One tracker's pids.
#[derive(Debug, Default)]
pub(crate) struct Pids {
    /// Tracked leaders not yet reaped, and whether each leads its group.
    live: Mutex<HashMap<u32, bool>>,
    /// Children whose exit status tokio owns (tracked, or handed back and
    /// not yet gone): never reaped here, never swept.
    owned: Mutex<HashSet<u32>>,
    /// Process groups of tracked trees: zombies in them are ours. With each,
    /// how many passes in a row found its leader gone and no child of ours
    /// in it (forgotten at two).
    groups: Mutex<HashMap<u32, u8>>,
    /// Processes of tracked trees, by pid with their start time (a pid
    /// alone may be reused): orphans seen alive with our marker, and those
    /// a sweep killed. Reaped once they are zombies of ours.
    adopted: Mutex<HashMap<u32, u64>>,
}

impl Pids {
    /// `pid` is tracked (tokio owns it); `group` if it leads its own.
    pub(crate) fn track(&self, pid: u32, own_group: bool) {
        lock(&self.live).insert(pid, own_group);
        lock(&self.owned).insert(pid);
        if own_group {
            lock(&self.groups).insert(pid, 0);
        }
    }

    /// The leader `pid` was reaped (by tokio).
    pub(crate) fn exited(&self, pid: u32) {
        lock(&self.live).remove(&pid);
        lock(&self.owned).remove(&pid);
    }

    /// `pid` was handed back: no longer ours to kill, still tokio's to reap.
    pub(crate) fn handed_back(&self, pid: u32) {
        lock(&self.live).remove(&pid);
    }

    /// Whether `pid` is a tracked leader not yet reaped.
    pub(crate) fn is_live(&self, pid: u32) -> bool {
        lock(&self.live).contains_key(&pid)
    }

    /// `pid` is of a tracked tree (a sweep killed it): reaped once it is a
    /// zombie of ours.
    pub(crate) fn adopt(&self, pid: u32, start: u64) {
        lock(&self.adopted).insert(pid, start);
    }

    /// Pids a sweep must spare.
    pub(crate) fn owned(&self) -> Vec<u32> {
        lock(&self.owned).iter().copied().collect()
    }

    /// SIGKILLs every live tracked leader (its group, if it leads one).
    pub(crate) fn kill_live(&self) {
        for (&pid, &own_group) in lock(&self.live).iter() {
            if own_group {
                os::signal_group(pid, Signal::SIGKILL);
            } else {
                os::signal_process(pid, Signal::SIGKILL);
            }
        }
    }

    /// Reaps the zombies among our children that are provably of a tracked
    /// tree (see the module doc), and records marked live orphans. Blocking
    /// (reads `/proc` for our children only). Returns how many it reaped.
    pub(crate) fn reap_orphans(&self, marker: &os::Match, cgroup: Option<&str>) -> usize {
        // Groups whose leader was already reaped before our children are
        // read: every orphan their leader left is among those children.
        let leaderless: HashSet<u32> = {
            let live = lock(&self.live);
            lock(&self.groups)
                .keys()
                .copied()
                .filter(|group| !live.contains_key(group))
                .collect()
        };
        let Some(children) = os::children() else {
            return 0;
        };
        let owned = self.owned();
        let mut adopted = lock(&self.adopted);
        let groups: HashSet<u32> = lock(&self.groups).keys().copied().collect();
        let mut seen_groups = HashSet::new();
        let mut reaped = 0;
        for pid in children.into_iter().filter(|pid| !owned.contains(pid)) {
            let Some(stat) = os::stat(pid) else {
                continue;
            };
            seen_groups.insert(stat.pgrp);
            if stat.state != 'Z' {
                if os::has_mark(pid, marker) {
                    adopted.insert(pid, stat.start);
                }
                continue;
            }
            let ours =
                groups.contains(&stat.pgrp) || cgroup.is_some_and(|dir| os::in_cgroup(pid, dir));
            if ours && os::reap_if_zombie_child(pid) {
                adopted.remove(&pid);
                reaped += 1;
            }
        }
        // Those adopted, once zombies of ours, and still the same process.
        // (Also the ones the children listing missed: it is not reliable
        // while threads come and go.)
        adopted.retain(|&pid, &mut start| match os::stat(pid) {
            Some(stat) if stat.start != start => false,
            Some(stat) if stat.ppid == std::process::id() && stat.state == 'Z' => {
                let done = os::reap_if_zombie_child(pid);
                reaped += usize::from(done);
                !done
            }
            Some(_) => true,
            None => false,
        });
        // Handed-back children that are gone no longer need sparing.
        lock(&self.owned).retain(|&pid| os::stat(pid).is_some());
        // A group whose leader is gone and of which no child of ours is
        // left, two passes in a row, needs no more remembering.
        lock(&self.groups).retain(|group, empty_passes| {
            if leaderless.contains(group) && !seen_groups.contains(group) {
                *empty_passes += 1;
            } else {
                *empty_passes = 0;
            }
            *empty_passes < 2
        });
        reaped
    }
}
