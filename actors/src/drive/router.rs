//! The router: from paths to drives, and from drives to their limiters.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use actix::{Actor, Addr, ArbiterHandle};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use nix::poll::PollFlags;

use super::limiter::DriveLimiter;
use super::location::{self, DriveKey, Location, Walked};
use super::mountinfo::{DeviceNumber, MountTable};
use super::paths::{Known, PathCache};
use super::state::{DriveState, DriveStats};
use super::{Drive, DriveError};
use crate::config::DriveId;
use crate::priority_watch::{self, PriorityWatch};

/// What every [`Drives`](super::Drives) handle shares.
pub(super) struct Router {
    arbiter: ArbiterHandle,
    default_limit: usize,
    limits: BTreeMap<DriveId, usize>,
    mounts: RwLock<Arc<MountTable>>,
    /// Limiters by drive: the source of truth.
    drives: DashMap<DriveKey, Drive>,
    /// Limiters by the device `stat` reports, each with the path cache's
    /// generation it was found in: a mount-table change makes it stale,
    /// for a device number may come back as another file system mounted
    /// elsewhere (an anonymous device of a new tmpfs, a loop device
    /// attached to another image).
    by_device: DashMap<DeviceNumber, (u64, Drive)>,
    /// Limiters replaced because their mount point went away: still shut
    /// down with the others.
    retired: Mutex<Vec<Addr<DriveLimiter>>>,
    /// Drives by path: the fast path of `drive` and `acquire`.
    paths: Arc<PathCache>,
    /// The thread that drops `paths` when the mount table changes; taken
    /// (ending it) at shutdown.
    mount_watch: Mutex<Option<PriorityWatch>>,
    /// Paths resolved with system calls (counted off the hot path only).
    resolutions: AtomicU64,
    closed: AtomicBool,
}

/// Starts the thread that drops `paths` whenever the mount table changes.
/// Without it (no `/proc/self/mountinfo`, no thread), nothing is cached.
fn watch_mounts(paths: &Arc<PathCache>) -> Option<PriorityWatch> {
    let file = match File::open("/proc/self/mountinfo") {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!(target: "steward::drive", %err, "cannot watch /proc/self/mountinfo; every path is resolved at every use");
            return None;
        }
    };
    let cache = Arc::clone(paths);
    let on_change = move |_: &(), revents: PollFlags, _| {
        if revents.contains(PollFlags::POLLPRI) {
            tracing::debug!(target: "steward::drive", "the mount table changed; paths are resolved afresh");
            cache.invalidate();
        }
        // POLLERR comes with every change; only POLLNVAL ends the watch.
        !revents.contains(PollFlags::POLLNVAL)
    };
    match priority_watch::spawn("steward-mounts", vec![((), file)], on_change) {
        Ok(watch) => {
            paths.watched_from_now();
            Some(watch)
        }
        Err(err) => {
            tracing::warn!(target: "steward::drive", %err, "cannot start the mount-table watch; every path is resolved at every use");
            None
        }
    }
}

impl Router {
    /// A router with no drive yet; limiters start on `arbiter`.
    pub(super) fn start(
        arbiter: &ArbiterHandle,
        default_limit: usize,
        limits: BTreeMap<DriveId, usize>,
    ) -> Self {
        let paths = Arc::new(PathCache::default());
        // Watched before the table is read: a change in between is seen.
        let mount_watch = watch_mounts(&paths);
        let mounts = MountTable::read().unwrap_or_else(|err| {
            tracing::warn!(target: "steward::drive", %err, "cannot read /proc/self/mountinfo; all paths share the default IO limit");
            MountTable::default()
        });
        Self {
            arbiter: arbiter.clone(),
            default_limit,
            limits,
            mounts: RwLock::new(Arc::new(mounts)),
            drives: DashMap::new(),
            by_device: DashMap::new(),
            retired: Mutex::new(Vec::new()),
            paths,
            mount_watch: Mutex::new(mount_watch),
            resolutions: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }
    }

    /// The drive `path` is on: from the cache, or resolved.
    pub(super) fn drive(&self, path: &Path) -> Result<Drive, DriveError> {
        match self.paths.with(path, Known::clone) {
            Some(Known::Plain { drive, .. }) => Ok(drive),
            Some(Known::Indirect) => {
                self.resolutions.fetch_add(1, Ordering::Relaxed);
                self.drive_by_stat(path)
            }
            None => self.resolve(path),
        }
    }

    /// `use_drive` on the cached drive of `path`, under the cache's lock
    /// (no clone, no system call); `None` unless `path` is cached plain.
    pub(super) fn with_cached<R>(
        &self,
        path: &Path,
        use_drive: impl FnOnce(&Drive) -> R,
    ) -> Option<Option<R>> {
        self.paths.with(path, |known| match known {
            Known::Plain { drive, .. } => Some(use_drive(drive)),
            Known::Indirect => None,
        })
    }

    pub(super) fn forget_paths(&self) {
        self.paths.forget();
    }

    pub(super) fn resolutions(&self) -> u64 {
        self.resolutions.load(Ordering::Relaxed)
    }

    /// Every drive's statistics, sorted by mount point.
    pub(super) fn stats(&self) -> Vec<DriveStats> {
        let mut stats: Vec<DriveStats> = self
            .drives
            .iter()
            .map(|drive| drive.state.stats())
            .collect();
        stats.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        stats
    }

    /// Admits no new drive from now on, ends the mount-table watch, and
    /// returns every limiter, to be shut down.
    pub(super) fn close(&self) -> Vec<Addr<DriveLimiter>> {
        self.closed.store(true, Ordering::SeqCst);
        drop(crate::sync::lock(&self.mount_watch).take());
        let mut limiters: Vec<Addr<DriveLimiter>> =
            self.drives.iter().map(|d| d.limiter.clone()).collect();
        limiters.append(&mut crate::sync::lock(&self.retired));
        limiters
    }

    /// Resolves a path not in the cache, component by component, and
    /// remembers what it learnt.
    fn resolve(&self, path: &Path) -> Result<Drive, DriveError> {
        self.resolutions.fetch_add(1, Ordering::Relaxed);
        let generation = self.paths.generation();
        let base = self.paths.plain_ancestor(path);
        match location::walk(path, base) {
            Walked::Plain {
                existing,
                device,
                directories,
            } => {
                let drive = self.drive_of_device(&existing, device, generation)?;
                let known = Known::Plain {
                    drive: drive.clone(),
                };
                let keys = std::iter::once(path.as_os_str())
                    .chain(directories.iter().map(|directory| directory.as_os_str()));
                self.paths.remember(keys, &known, generation);
                Ok(drive)
            }
            Walked::Indirect => {
                self.paths
                    .remember([path.as_os_str()], &Known::Indirect, generation);
                self.drive_by_stat(path)
            }
        }
    }

    /// The drive of a path that may go through a symlink: one `stat`
    /// (more for a path that does not exist yet).
    fn drive_by_stat(&self, path: &Path) -> Result<Drive, DriveError> {
        let failed = |err| DriveError::Path {
            path: path.to_path_buf(),
            source: Arc::new(err),
        };
        let generation = self.paths.generation();
        let (existing, device) = location::existing_ancestor(path).map_err(failed)?;
        if let Some(drive) = self.known_device(device, generation) {
            return Ok(drive);
        }
        let resolved = location::resolved(&existing).map_err(failed)?;
        self.drive_of_device(&resolved, device, generation)
    }

    /// The drive of `device` if it was found since the mount table last
    /// changed (`generation`: read before `device` was).
    fn known_device(&self, device: DeviceNumber, generation: u64) -> Option<Drive> {
        let known = self.by_device.get(&device)?;
        (known.0 == generation).then(|| known.1.clone())
    }

    /// The drive of `device`, which `stat` reported for `resolved` (an
    /// absolute path without symlinks) in the path cache's `generation`;
    /// its limiter is started if new.
    fn drive_of_device(
        &self,
        resolved: &Path,
        device: DeviceNumber,
        generation: u64,
    ) -> Result<Drive, DriveError> {
        if let Some(drive) = self.known_device(device, generation) {
            return Ok(drive);
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(DriveError::Closed {
                mount_point: resolved.to_path_buf(),
            });
        }
        let (location, table) = self.locate(resolved, device);
        let drive = self.drive_for(&location, &table);
        // A shutdown that ran since the check above may have missed this
        // limiter: close it here, so nothing is admitted after shutdown.
        if self.closed.load(Ordering::SeqCst) {
            drive.state.permits.semaphore().close();
            return Err(DriveError::Closed {
                mount_point: location.mount_point,
            });
        }
        // Of an older generation if the table changed meanwhile: then
        // never used.
        self.by_device.insert(device, (generation, drive.clone()));
        Ok(drive)
    }

    fn locate(&self, path: &Path, device: DeviceNumber) -> (Location, Arc<MountTable>) {
        let known = |table: &MountTable| table.mounts().iter().any(|mount| mount.device == device);
        let mut table = Arc::clone(&self.mounts.read().unwrap_or_else(PoisonError::into_inner));
        if self.paths.take_table_changed() || !known(&table) {
            // Changed, or a device never seen: perhaps mounted since.
            if let Ok(fresh) = MountTable::read() {
                table = Arc::new(fresh);
                *self.mounts.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&table);
            }
        }
        let location =
            location::locate(&table, path, device).unwrap_or_else(location::default_location);
        (location, table)
    }

    /// The drive of `location`: the one already started for its device,
    /// unless the mount point that named it is no longer a mount of that
    /// device (the device number now stands for another file system, or
    /// the disk was mounted elsewhere): then a new one, named and limited
    /// by where the device is mounted now.
    fn drive_for(&self, location: &Location, table: &MountTable) -> Drive {
        let start = || {
            let (name, limit) = self.settings_for(location, table);
            let state = Arc::new(DriveState::new(name.clone(), location.device, limit));
            let actor_state = Arc::clone(&state);
            let limiter = DriveLimiter::start_in_arbiter(&self.arbiter, move |_| {
                DriveLimiter::new(actor_state)
            });
            tracing::debug!(target: "steward::drive", mount_point = %name.display(), limit, "drive limiter started");
            Drive { state, limiter }
        };
        match self.drives.entry(location.key) {
            Entry::Vacant(vacant) => vacant.insert(start()).clone(),
            Entry::Occupied(mut occupied) => {
                if !still_mounted(occupied.get(), location.key, table) {
                    let fresh = start();
                    let old = occupied.insert(fresh.clone());
                    tracing::debug!(target: "steward::drive", old = %old.state.mount_point.display(), new = %fresh.state.mount_point.display(), "drive mounted elsewhere; a new limiter");
                    crate::sync::lock(&self.retired).push(old.limiter);
                    return fresh;
                }
                occupied.get().clone()
            }
        }
    }

    /// A drive's name and limit, the same whichever of its mounts is used
    /// first: for a disk with several partitions mounted, the shortest
    /// mount point names it and the lowest limit configured for any of
    /// them applies (with a warning when they differ).
    pub(super) fn settings_for(&self, location: &Location, table: &MountTable) -> (PathBuf, usize) {
        let DriveKey::Device(disk) = location.key else {
            return (location.mount_point.clone(), self.default_limit);
        };
        let mut mounts: Vec<&Path> = table
            .mounts()
            .iter()
            .filter(|mount| mount.device == disk || location::whole_disk(mount.device) == disk)
            .map(|mount| mount.mount_point.as_path())
            .collect();
        mounts.push(&location.mount_point);
        mounts.sort_by_key(|mount| (mount.as_os_str().len(), *mount));
        mounts.dedup();
        let configured: Vec<(&Path, usize)> = mounts
            .iter()
            .filter_map(|mount| {
                Some((*mount, *self.limits.get(&DriveId::from_mount_point(mount))?))
            })
            .collect();
        let limit = configured
            .iter()
            .map(|(_, limit)| *limit)
            .min()
            .unwrap_or(self.default_limit);
        if configured.iter().any(|(_, other)| *other != limit) {
            tracing::warn!(target: "steward::drive", ?configured, limit, "partitions of one disk have different IO limits; the lowest applies to the disk");
        }
        (mounts[0].to_path_buf(), limit)
    }
}

/// Whether the mount point that names `drive` is still a mount of its
/// disk in `table` (the default bucket always is).
fn still_mounted(drive: &Drive, key: DriveKey, table: &MountTable) -> bool {
    let DriveKey::Device(disk) = key else {
        return true;
    };
    table.mounts().iter().any(|mount| {
        mount.mount_point == drive.state.mount_point
            && (mount.device == disk || location::whole_disk(mount.device) == disk)
    })
}
