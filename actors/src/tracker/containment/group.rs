//! The fallback containment: a process group per tracked process, a marker
//! in its environment that its descendants inherit, and the program as
//! their child subreaper.
//!
//! Its limits, which cgroups do not have: a descendant that calls `setsid`
//! leaves the group but keeps the marker, and is found by a scan of
//! `/proc`; one that also clears its environment (`env -i setsid ...`)
//! escapes every stop. Signals go to a group only while its leader is
//! unreaped, so its id cannot have been reused. No limits, no accounting.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::{BoxFuture, Cell, Container};
use crate::tracker::error::TrackerError;
use crate::tracker::options::{Containment, SpawnOptions};
use crate::tracker::os;
use crate::tracker::pids::Pids;
use crate::tracker::status::{Contained, Usage};

/// Trackers of this program that contain by process group: the program is
/// a child subreaper while there is one.
static SUBREAPING: AtomicUsize = AtomicUsize::new(0);

/// Process-group containment for one tracker.
#[derive(Debug)]
pub(crate) struct GroupContainer {
    marker: os::Match,
    pids: Arc<Pids>,
    closed: AtomicBool,
}

impl GroupContainer {
    /// Starts containing by process group: makes the program a subreaper.
    pub(crate) fn new(marker_var: &str, pids: Arc<Pids>) -> Self {
        if SUBREAPING.fetch_add(1, Ordering::AcqRel) == 0 {
            os::set_subreaper(true);
        }
        Self {
            marker: os::Match::Any {
                var: marker_var.to_owned(),
            },
            pids,
            closed: AtomicBool::new(false),
        }
    }

    fn var(&self) -> &str {
        match &self.marker {
            os::Match::Any { var } | os::Match::Exact { var, .. } => var,
        }
    }
}

impl Container for GroupContainer {
    fn kind(&self) -> Containment {
        Containment::ProcessGroup
    }

    fn prepare(
        &self,
        _: u64,
        key: &str,
        _: &mut Command,
        options: &SpawnOptions,
    ) -> Result<Box<dyn Cell>, TrackerError> {
        if let Some((controller, ..)) = options.writes().first() {
            return Err(TrackerError::ControllerMissing {
                key: key.to_owned(),
                controller,
                reason: "this tracker contains processes by process group, not cgroup".into(),
            });
        }
        let marker = os::Match::Exact {
            var: self.var().to_owned(),
            key: key.to_owned(),
        };
        Ok(Box::new(ProcessCell {
            pid: 0,
            group: None,
            marker: Some(marker),
            pids: Some(Arc::clone(&self.pids)),
        }))
    }

    fn adopt(&self, _: u64, pid: u32) -> Box<dyn Cell> {
        let mut cell = ProcessCell::of_running(pid);
        cell.pids = Some(Arc::clone(&self.pids));
        Box::new(cell)
    }

    fn kill_all(&self) {
        self.pids.kill_live();
    }

    fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel)
            && SUBREAPING.fetch_sub(1, Ordering::AcqRel) == 1
        {
            os::set_subreaper(false);
        }
    }

    fn watchdog_target(&self) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
        None
    }
}

impl Drop for GroupContainer {
    fn drop(&mut self) {
        self.close();
    }
}

/// One process contained by its process group (if it leads one) and its
/// marker (if the tracker started it).
#[derive(Debug)]
pub(crate) struct ProcessCell {
    pid: u32,
    group: Option<u32>,
    marker: Option<os::Match>,
    pids: Option<Arc<Pids>>,
}

impl ProcessCell {
    /// A child already running as `pid`: its group is its own only if it
    /// leads one.
    pub(crate) fn of_running(pid: u32) -> Self {
        let group = os::stat(pid).filter(|stat| stat.pgrp == pid).map(|_| pid);
        Self {
            pid,
            group,
            marker: None,
            pids: None,
        }
    }

    /// The tracker started it as `pid`, leading its own group.
    pub(crate) fn started(&mut self, pid: u32) {
        self.pid = pid;
        self.group = Some(pid);
    }

    fn spare(&self) -> Vec<u32> {
        let mut spare = self
            .pids
            .as_ref()
            .map(|pids| pids.owned())
            .unwrap_or_default();
        spare.push(self.pid);
        spare
    }
}

impl Cell for ProcessCell {
    fn contained(&self) -> Contained {
        match self.group {
            Some(group) => Contained::ProcessGroup(group),
            None => Contained::Process(self.pid),
        }
    }

    fn signal(&self, signal: Signal, leader_reaped: bool) -> BoxFuture<'_, usize> {
        Box::pin(async move {
            // Only while the leader is unreaped: its pid (the group's id)
            // cannot have been reused.
            if leader_reaped {
                return 0;
            }
            let Some(group) = self.group else {
                return usize::from(os::signal_process(self.pid, signal));
            };
            // Every member now is of the tree, even one that calls setsid
            // before the signal lands and dies outside the group: adopted
            // (pid and start time), so its zombie is reaped once ours.
            if let Some(pids) = self.pids.clone() {
                let adopting = tokio::task::spawn_blocking(move || {
                    for (pid, stat) in os::group_member_stats(group) {
                        if pid != group {
                            pids.adopt(pid, stat.start);
                        }
                    }
                });
                let _ = tokio::time::timeout(Duration::from_secs(1), adopting).await;
            }
            usize::from(os::signal_group(group, signal))
        })
    }

    fn kill(&self, _: u32, leader_reaped: bool) -> usize {
        if !leader_reaped {
            match self.group {
                Some(group) => os::signal_group(group, Signal::SIGKILL),
                None => os::signal_process(self.pid, Signal::SIGKILL),
            };
        }
        0
    }

    fn until_empty(&self, _: Duration) -> BoxFuture<'_, bool> {
        // What is left of the group is found by the sweep.
        Box::pin(std::future::ready(true))
    }

    fn sweep(&self, budget: Duration) -> BoxFuture<'_, usize> {
        let spare = self.spare();
        Box::pin(async move {
            match (self.marker.clone(), self.group) {
                (Some(marker), _) => sweep(marker, spare, budget, self.pids.clone()).await,
                (None, Some(group)) => kill_group_members(group, spare, budget).await,
                (None, None) => 0,
            }
        })
    }

    fn usage(&self) -> Usage {
        Usage::default()
    }

    fn release(&self) -> bool {
        true
    }

    fn is_released(&self) -> bool {
        true
    }

    fn group(&self) -> Option<u32> {
        self.group
    }

    fn started(&mut self, pid: u32) {
        ProcessCell::started(self, pid);
    }
}

/// SIGKILLs what is left of process group `group` (but `spare`).
async fn kill_group_members(group: u32, spare: Vec<u32>, budget: Duration) -> usize {
    let killing = tokio::task::spawn_blocking(move || {
        os::group_members(group)
            .into_iter()
            .filter(|pid| !spare.contains(pid) && os::signal_process(*pid, Signal::SIGKILL))
            .count()
    });
    bounded(killing, budget).await
}

/// Awaits a blocking `/proc` job for at most `budget` (plus a second): a
/// read of `/proc` can hang on a process holding its memory lock.
async fn bounded(job: tokio::task::JoinHandle<usize>, budget: Duration) -> usize {
    let bound = budget.saturating_add(Duration::from_secs(1));
    match tokio::time::timeout(bound, job).await {
        Ok(Ok(killed)) => killed,
        _ => 0,
    }
}

/// SIGKILLs every live process whose marker matches (but `spare`) until
/// none is left or `budget` runs out, and reaps those that became our
/// zombies; one killed while still another's child is handed to `pids`,
/// to be reaped once it is ours. Returns how many were killed.
///
/// Always a full scan of `/proc`: `/proc/self/task/*/children` is not
/// reliable while children exit and threads come and go, so "no child of
/// ours is marked" cannot be trusted to mean "nothing is left".
pub(crate) async fn sweep(
    matching: os::Match,
    spare: Vec<u32>,
    budget: Duration,
    pids: Option<Arc<Pids>>,
) -> usize {
    let sweeping = tokio::task::spawn_blocking(move || {
        let now = Instant::now();
        let deadline = crate::sync::deadline_after(now, budget);
        // Killed pids with their start time (a pid alone may be reused).
        let mut killed = HashMap::new();
        // A process in the middle of an exec shows no environment for a
        // moment: only two clean scans in a row end the sweep.
        let mut clean_scans = 0;
        loop {
            let mut found = false;
            for pid in os::marked(&matching) {
                if !spare.contains(&pid) {
                    found = true;
                    let start = os::stat(pid).map(|stat| stat.start);
                    if let Some(start) = start
                        && os::signal_process(pid, Signal::SIGKILL)
                    {
                        killed.insert(pid, start);
                    }
                }
            }
            // Killed ones linger until their parent reaps them; we are the
            // parent of those that were orphaned (we are a subreaper).
            let lingering = killed
                .keys()
                .filter(|&&pid| os::stat(pid).is_some_and(|stat| stat.state != 'Z'))
                .count();
            clean_scans = if found || lingering > 0 {
                0
            } else {
                clean_scans + 1
            };
            if clean_scans == 2 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for (&pid, &start) in &killed {
            let same = os::stat(pid).filter(|stat| stat.start == start);
            let ours = same.is_some_and(|stat| stat.ppid == std::process::id());
            if same.is_some() && !(ours && os::reap_if_zombie_child(pid)) {
                // Still alive, or a zombie of another parent (which may
                // die and leave it to us): the housekeeping reaps it.
                if let Some(pids) = &pids {
                    pids.adopt(pid, start);
                }
            }
        }
        killed.len()
    });
    bounded(sweeping, budget).await
}
