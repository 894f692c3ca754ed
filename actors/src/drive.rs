//! Per-drive IO limits: at most N concurrent IO operations per storage
//! device, so parallel work does not thrash a disk.
//!
//! A path maps to its device by `stat` (`st_dev`) against the mount table
//! (`/proc/self/mountinfo`, longest mount-point prefix; a path that does
//! not exist yet maps through its nearest existing ancestor). Partitions of
//! one disk share a limiter (`sda1`, `sda2` → `sda`); a path on no known
//! mount goes to a default bucket. One [`DriveLimiter`] actor per device is
//! spawned on first use, with the limit configured for its mount point
//! (`STEWARD_DRIVE_<ID>_IO`, [`Config::with_drive_limit`]) or the default
//! (`STEWARD_DEFAULT_IO_LIMIT`, 2).
//!
//! Taking a free permit touches only the drive's semaphore: no mailbox
//! hop. Waiters queue in that semaphore, first come first served. The
//! actor owns the limit (changeable at run time) and the shutdown.
//!
//! # Examples
//!
//! ```
//! use steward_actors::drive::Drives;
//! use steward_actors::Config;
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), steward_actors::drive::DriveError> {
//! let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default().with_drive_limit("/", 4))?;
//! let permit = drives.acquire("/etc/hostname").await?;
//! assert_eq!(permit.mount_point(), std::path::Path::new("/"));
//! drop(permit);
//!
//! let bytes = drives.run("/etc/hostname", tokio::fs::read("/etc/hostname")).await?;
//! # let _ = bytes;
//! let root = drives.stats().into_iter().find(|s| s.mount_point.as_os_str() == "/").unwrap();
//! assert_eq!((root.limit, root.in_flight, root.completed), (4, 0, 2));
//! # Ok(())
//! # }
//! ```
//!
//! [`Config::with_drive_limit`]: crate::Config::with_drive_limit

mod error;
mod limiter;
mod location;
mod mountinfo;
mod permit;
mod state;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix::{Actor, Addr, ArbiterHandle};
use dashmap::DashMap;
use tokio::sync::TryAcquireError;

pub use error::DriveError;
pub use limiter::{DriveLimiter, SetLimit};
pub use mountinfo::{DeviceNumber, Mount, MountTable};
pub use permit::IoPermit;
pub use state::DriveStats;

use crate::config::DriveId;
use crate::{Config, Shutdown};
use location::{DriveKey, Location};
use state::{DriveState, Waiting};

/// The router of IO limits: maps paths to drives and drives to limiters.
/// `Clone + Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Drives {
    router: Arc<Router>,
}

struct Router {
    arbiter: ArbiterHandle,
    default_limit: usize,
    limits: BTreeMap<DriveId, usize>,
    mounts: RwLock<Arc<MountTable>>,
    /// Limiters by drive: the source of truth.
    drives: DashMap<DriveKey, Drive>,
    /// Limiters by the device `stat` reports: the fast path of `drive`.
    by_device: DashMap<DeviceNumber, Drive>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Drives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drives")
            .field("drives", &self.router.drives.len())
            .finish_non_exhaustive()
    }
}

impl Drives {
    /// Starts the router; limiters are spawned on `arbiter` as drives are
    /// first used. An unreadable mount table leaves every path in the
    /// default bucket (and says so in a warning).
    ///
    /// # Errors
    ///
    /// [`DriveError::InvalidLimit`] naming the drive (or the default
    /// bucket) whose configured limit is 0 or above 2³⁰.
    pub fn start_in(arbiter: &ArbiterHandle, config: &Config) -> Result<Self, DriveError> {
        let default_limit = checked_limit(location::DEFAULT_BUCKET, config.default_io_limit())?;
        for (id, &limit) in config.drive_limits() {
            checked_limit(id.as_str(), limit)?;
        }
        let mounts = MountTable::read().unwrap_or_else(|err| {
            tracing::warn!(target: "steward::drive", %err, "cannot read /proc/self/mountinfo; all paths share the default IO limit");
            MountTable::default()
        });
        Ok(Self {
            router: Arc::new(Router {
                arbiter: arbiter.clone(),
                default_limit,
                limits: config.drive_limits().clone(),
                mounts: RwLock::new(Arc::new(mounts)),
                drives: DashMap::new(),
                by_device: DashMap::new(),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The drive `path` is on; its limiter is started on first use.
    ///
    /// Costs one `stat` once the device is known; keep the [`Drive`] for
    /// hot loops.
    ///
    /// # Errors
    ///
    /// [`DriveError::Path`] if a relative path cannot be made absolute;
    /// [`DriveError::Closed`] after shutdown.
    pub fn drive(&self, path: impl AsRef<Path>) -> Result<Drive, DriveError> {
        let path = path.as_ref();
        let (resolved, device) =
            location::existing_ancestor(path).map_err(|err| DriveError::Path {
                path: path.to_path_buf(),
                source: Arc::new(err),
            })?;
        if let Some(drive) = self.router.by_device.get(&device) {
            return Ok(drive.clone());
        }
        if self.router.closed.load(Ordering::SeqCst) {
            return Err(DriveError::Closed {
                mount_point: resolved,
            });
        }
        let (location, table) = self.router.locate(&resolved, device);
        let drive = self.router.drive_for(&location, &table);
        // A shutdown that ran since the check above may have missed this
        // limiter: close it here, so nothing is admitted after shutdown.
        if self.router.closed.load(Ordering::SeqCst) {
            drive.state.semaphore.close();
            return Err(DriveError::Closed {
                mount_point: location.mount_point,
            });
        }
        self.router.by_device.insert(device, drive.clone());
        Ok(drive)
    }

    /// Waits for a permit on `path`'s drive.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let permit = drives.acquire("/tmp/not-created-yet.txt").await?;
    /// // ... write the file ...
    /// drop(permit);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`drive`](Self::drive), and [`DriveError::Closed`] if the limiter
    /// shuts down while waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped acquire holds no permit and leaves the queue.
    pub async fn acquire(&self, path: impl AsRef<Path>) -> Result<IoPermit, DriveError> {
        self.drive(path)?.acquire().await
    }

    /// A permit on `path`'s drive if one is free now.
    ///
    /// # Errors
    ///
    /// [`DriveError::Busy`] when none is free, else as [`drive`](Self::drive).
    pub fn try_acquire(&self, path: impl AsRef<Path>) -> Result<IoPermit, DriveError> {
        self.drive(path)?.try_acquire()
    }

    /// Waits at most `timeout` for a permit on `path`'s drive.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default().with_default_io_limit(1).with_drive_limit("/", 1))?;
    /// let held = drives.acquire("/").await?;
    /// let late = drives.acquire_timeout("/", Duration::from_millis(10)).await;
    /// assert!(late.is_err(), "the only permit is held");
    /// # drop(held);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DriveError::Timeout`], else as [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_timeout(
        &self,
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<IoPermit, DriveError> {
        self.drive(path)?.acquire_timeout(timeout).await
    }

    /// Runs `operation` holding a permit on `path`'s drive.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let text = drives.run("/etc/hostname", tokio::fs::read_to_string("/etc/hostname")).await??;
    /// # let _ = text;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire); `operation`'s own result is returned
    /// inside `Ok`.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `operation` and releases the permit.
    pub async fn run<F: Future>(
        &self,
        path: impl AsRef<Path>,
        operation: F,
    ) -> Result<F::Output, DriveError> {
        self.drive(path)?.run(operation).await
    }

    /// Sets the limit of `path`'s drive.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// drives.set_limit("/", 8).await?;
    /// assert_eq!(drives.drive("/")?.stats().limit, 8);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DriveError::InvalidLimit`] for 0 or above 2³⁰, else as
    /// [`drive`](Self::drive).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not change the limit.
    pub async fn set_limit(&self, path: impl AsRef<Path>, limit: usize) -> Result<(), DriveError> {
        self.drive(path)?.set_limit(limit).await
    }

    /// Every drive used so far, sorted by mount point.
    #[must_use]
    pub fn stats(&self) -> Vec<DriveStats> {
        let mut stats: Vec<DriveStats> = self
            .router
            .drives
            .iter()
            .map(|drive| drive.state.stats())
            .collect();
        stats.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
        stats
    }

    /// Stops every limiter: waiters fail with `Closed`, held permits stay
    /// valid until dropped, later acquires fail.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves later limiters running; calling again
    /// finishes the job.
    pub async fn shutdown(&self) {
        self.router.closed.store(true, Ordering::SeqCst);
        let limiters: Vec<Addr<DriveLimiter>> = self
            .router
            .drives
            .iter()
            .map(|d| d.limiter.clone())
            .collect();
        for limiter in limiters {
            // A limiter already gone has closed its semaphore.
            let _ = limiter.send(Shutdown).await;
        }
    }
}

impl Router {
    fn locate(&self, path: &Path, device: DeviceNumber) -> (Location, Arc<MountTable>) {
        let known = |table: &MountTable| table.mounts().iter().any(|mount| mount.device == device);
        let mut table = Arc::clone(&self.mounts.read().unwrap_or_else(PoisonError::into_inner));
        if !known(&table) {
            // A device never seen: perhaps mounted since the table was read.
            if let Ok(fresh) = MountTable::read() {
                table = Arc::new(fresh);
                *self.mounts.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&table);
            }
        }
        let location =
            location::locate(&table, path, device).unwrap_or_else(location::default_location);
        (location, table)
    }

    fn drive_for(&self, location: &Location, table: &MountTable) -> Drive {
        self.drives
            .entry(location.key)
            .or_insert_with(|| {
                let (name, limit) = self.settings_for(location, table);
                let state = Arc::new(DriveState::new(name.clone(), location.device, limit));
                let actor_state = Arc::clone(&state);
                let limiter = DriveLimiter::start_in_arbiter(&self.arbiter, move |_| DriveLimiter::new(actor_state));
                tracing::debug!(target: "steward::drive", mount_point = %name.display(), limit, "drive limiter started");
                Drive { state, limiter }
            })
            .clone()
    }

    /// A drive's name and limit, the same whichever of its mounts is used
    /// first: for a disk with several partitions mounted, the shortest
    /// mount point names it and the lowest limit configured for any of
    /// them applies (with a warning when they differ).
    fn settings_for(&self, location: &Location, table: &MountTable) -> (PathBuf, usize) {
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

fn checked_limit(drive: &str, limit: usize) -> Result<usize, DriveError> {
    if (1..=limiter::MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(DriveError::InvalidLimit {
            mount_point: PathBuf::from(drive),
            limit,
            max: limiter::MAX_LIMIT,
        })
    }
}

/// One drive's limiter, resolved from a path once: the hot-loop handle.
#[derive(Clone)]
pub struct Drive {
    state: Arc<DriveState>,
    limiter: Addr<DriveLimiter>,
}

impl std::fmt::Debug for Drive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drive")
            .field("mount_point", &self.state.mount_point)
            .finish_non_exhaustive()
    }
}

impl Drive {
    /// Where the drive is mounted.
    #[must_use]
    pub fn mount_point(&self) -> &Path {
        &self.state.mount_point
    }

    /// Waits for a permit. A free permit takes no mailbox hop.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let drive = drives.drive("/")?;
    /// for _ in 0..3 {
    ///     let _permit = drive.acquire().await?;
    /// }
    /// assert_eq!(drive.stats().completed, 3);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`DriveError::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped acquire holds no permit and leaves the queue.
    pub async fn acquire(&self) -> Result<IoPermit, DriveError> {
        match self.try_acquire() {
            Err(DriveError::Busy { .. }) => {}
            taken => return taken,
        }
        let started = Instant::now();
        let waiting = Waiting::new(&self.state);
        let permit = self
            .state
            .semaphore
            .acquire()
            .await
            .map_err(|_| self.closed())?;
        // From here to the return nothing awaits: the permit cannot leak.
        permit.forget();
        drop(waiting);
        self.state.record_wait(started.elapsed());
        Ok(IoPermit::new(Arc::clone(&self.state)))
    }

    /// A permit if one is free now.
    ///
    /// # Errors
    ///
    /// [`DriveError::Busy`] when none is free, [`DriveError::Closed`] after
    /// shutdown.
    pub fn try_acquire(&self) -> Result<IoPermit, DriveError> {
        match self.state.semaphore.try_acquire() {
            Ok(permit) => {
                // The permit's return is `IoPermit`'s job, so it can
                // honour a shrink that is still owed permits.
                permit.forget();
                Ok(IoPermit::new(Arc::clone(&self.state)))
            }
            Err(TryAcquireError::NoPermits) => Err(DriveError::Busy {
                mount_point: self.state.mount_point.clone(),
            }),
            Err(TryAcquireError::Closed) => Err(self.closed()),
        }
    }

    /// Waits at most `timeout` for a permit.
    ///
    /// # Errors
    ///
    /// [`DriveError::Timeout`], else as [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    ///
    /// As [`acquire`](Self::acquire).
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<IoPermit, DriveError> {
        tokio::time::timeout(timeout, self.acquire())
            .await
            .map_err(|_| DriveError::Timeout {
                mount_point: self.state.mount_point.clone(),
                timeout,
            })?
    }

    /// Runs `operation` holding a permit.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops `operation` and releases the permit.
    pub async fn run<F: Future>(&self, operation: F) -> Result<F::Output, DriveError> {
        let _permit = self.acquire().await?;
        Ok(operation.await)
    }

    /// Changes the limit through the drive's actor.
    ///
    /// # Errors
    ///
    /// [`DriveError::InvalidLimit`] for 0 or above 2³⁰;
    /// [`DriveError::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not change the limit.
    pub async fn set_limit(&self, limit: usize) -> Result<(), DriveError> {
        self.limiter
            .send(SetLimit(limit))
            .await
            .map_err(|_| self.closed())?
    }

    /// The drive's statistics now.
    #[must_use]
    pub fn stats(&self) -> DriveStats {
        self.state.stats()
    }

    fn closed(&self) -> DriveError {
        DriveError::Closed {
            mount_point: self.state.mount_point.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
