//! Per-drive IO limits: at most N concurrent IO operations per storage
//! device, so parallel work does not thrash a disk.
//!
//! A path maps to its device by `stat` (`st_dev`) against the mount table
//! (`/proc/self/mountinfo`, longest mount-point prefix; a path that does
//! not exist yet maps through its nearest existing ancestor; symlinks are
//! followed, so a path through a symlink to another mount is on that
//! mount's drive). Partitions of one disk share a limiter (`sda1`, `sda2`
//! → `sda`); a path on no known mount goes to a default bucket. One
//! [`DriveLimiter`] actor per device is spawned on first use, with the
//! limit configured for its mount point (`STEWARD_DRIVE_<ID>_IO`,
//! [`Config::with_drive_limit`]) or the default
//! (`STEWARD_DEFAULT_IO_LIMIT`, 2).
//!
//! # What a path costs
//!
//! A path seen before costs no system call: the router keeps a cache from
//! paths as given to drives, dropped whenever the mount table changes (a
//! thread waits for `/proc/self/mountinfo` to signal `POLLPRI`). A new
//! path in a known directory costs two `lstat`s; a path through a symlink,
//! a relative path or one with `..` costs one `stat` at every use, since
//! a symlink may be re-pointed and the working directory may change. The
//! one change the cache does not see is a component of a cached path
//! replaced by a symlink (or created as one) with no mount change:
//! [`Drives::forget_paths`] is for programs that do that. A mount change
//! is seen once that thread has woken, normally within microseconds;
//! until then a path used before keeps its old drive, so a program that
//! mounts something itself and at once uses a path it used before below
//! it calls [`Drives::forget_paths`] after mounting. A device mounted
//! again elsewhere (or its number reused by another file system, as a
//! new tmpfs or a loop device attached to another image) gets a new
//! limiter, named and limited by its new mount point. The details are in
//! the `paths` module's notes.
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
mod handle;
mod limiter;
mod location;
mod mountinfo;
mod paths;
mod permit;
mod router;
mod state;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::ArbiterHandle;

pub use error::DriveError;
pub use handle::Drive;
pub use limiter::{DriveLimiter, SetLimit};
pub use mountinfo::{DeviceNumber, Mount, MountTable};
pub use permit::IoPermit;
pub use state::DriveStats;

use crate::{Config, Shutdown};
use router::Router;

/// The router of IO limits: maps paths to drives and drives to limiters.
/// `Clone + Send + Sync`, cheap to clone.
#[derive(Clone)]
pub struct Drives {
    router: Arc<Router>,
}

impl std::fmt::Debug for Drives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drives")
            .field("drives", &self.router.stats().len())
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
        Ok(Self {
            router: Arc::new(Router::start(
                arbiter,
                default_limit,
                config.drive_limits().clone(),
            )),
        })
    }

    /// The drive `path` is on; its limiter is started on first use.
    ///
    /// A path seen before costs no system call (see [what a path
    /// costs](self#what-a-path-costs)); a [`Drive`] kept for a hot loop
    /// costs not even the lookup, but stays the drive it was when the
    /// mount table changes.
    ///
    /// # Errors
    ///
    /// [`DriveError::Path`] if a relative path cannot be made absolute;
    /// [`DriveError::Closed`] after shutdown.
    pub fn drive(&self, path: impl AsRef<Path>) -> Result<Drive, DriveError> {
        self.router.drive(path.as_ref())
    }

    /// Forgets every path's drive, so that each is resolved again (and
    /// the mount table read again) at its next use. The cache already
    /// forgets at every mount-table change, once its watch thread has
    /// woken; this is for a program that mounts something itself and uses
    /// paths below it at once, or that replaces a directory on a cached
    /// path by a symlink to another drive (or creates a symlink where a
    /// cached path did not exist yet), which no mount change announces.
    pub fn forget_paths(&self) {
        self.router.forget_paths();
    }

    /// How many times a path was resolved with system calls (a walk of
    /// its components, or a `stat`) instead of being found in the cache:
    /// with the number of calls, the cache's hit rate.
    #[must_use]
    pub fn path_resolutions(&self) -> u64 {
        self.router.resolutions()
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
        let path = path.as_ref();
        // The hot path: a known path with a free permit takes neither a
        // system call nor a clone of the drive.
        if let Some(Some(taken)) = self.router.with_cached(path, Drive::try_acquire)
            && !matches!(taken, Err(DriveError::Busy { .. }))
        {
            return taken;
        }
        self.drive(path)?.acquire().await
    }

    /// Waits for a permit on `path`'s drive, blocking the thread: for
    /// synchronous code on threads of its own (a CPU-pool job, a
    /// `spawn_blocking` closure, a plain thread). Never call it from an
    /// async task: the wait would block the executor's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let reader = std::thread::spawn(move || -> Result<usize, steward_actors::DriveError> {
    ///     let _permit = drives.acquire_blocking("/etc/hostname")?;
    ///     Ok(std::fs::read("/etc/hostname").map_or(0, |bytes| bytes.len()))
    /// });
    /// # let _ = reader.join().expect("the thread ran")?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn acquire_blocking(&self, path: impl AsRef<Path>) -> Result<IoPermit, DriveError> {
        futures::executor::block_on(self.acquire(path))
    }

    /// A permit on `path`'s drive if one is free now.
    ///
    /// # Errors
    ///
    /// [`DriveError::Busy`] when none is free, else as [`drive`](Self::drive).
    pub fn try_acquire(&self, path: impl AsRef<Path>) -> Result<IoPermit, DriveError> {
        let path = path.as_ref();
        match self.router.with_cached(path, Drive::try_acquire) {
            Some(Some(taken)) => taken,
            _ => self.drive(path)?.try_acquire(),
        }
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
        self.router.stats()
    }

    /// Stops every limiter: waiters fail with `Closed`, held permits stay
    /// valid until dropped, later acquires fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let held = drives.acquire("/").await?;
    /// drives.shutdown().await;
    /// assert!(matches!(
    ///     drives.acquire("/").await,
    ///     Err(steward_actors::drive::DriveError::Closed { .. })
    /// ));
    /// drop(held); // still valid until now
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves later limiters running; calling again
    /// finishes the job.
    pub async fn shutdown(&self) {
        for limiter in self.router.close() {
            // A limiter already gone has closed its semaphore.
            let _ = limiter.send(Shutdown).await;
        }
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

#[cfg(test)]
mod tests;
