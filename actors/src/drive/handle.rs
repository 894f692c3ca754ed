//! [`Drive`]: the handle of one drive's limiter, resolved from a path
//! once, for hot loops.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Addr;
use tokio::sync::TryAcquireError;

use super::error::DriveError;
use super::limiter::{DriveLimiter, SetLimit};
use super::permit::IoPermit;
use super::state::{DriveState, DriveStats};

/// One drive's limiter, resolved from a path once: the hot-loop handle.
#[derive(Clone)]
pub struct Drive {
    pub(super) state: Arc<DriveState>,
    pub(super) limiter: Addr<DriveLimiter>,
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

    /// The drive's limiter actor, for an application's actors (its
    /// message: [`SetLimit`]).
    #[must_use]
    pub fn address(&self) -> &Addr<DriveLimiter> {
        &self.limiter
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
        let waiting = self.state.waiting();
        let permit = self
            .state
            .permits
            .semaphore()
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
        match self.state.permits.semaphore().try_acquire() {
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
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// # use std::time::Duration;
    /// let drive = drives.drive("/")?;
    /// drive.set_limit(1).await?;
    /// let held = drive.acquire_timeout(Duration::from_secs(1)).await?;
    /// assert!(matches!(
    ///     drive.acquire_timeout(Duration::from_millis(10)).await,
    ///     Err(steward_actors::drive::DriveError::Timeout { .. })
    /// ));
    /// drop(held);
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
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let drive = drives.drive("/")?;
    /// let length = drive.run(async { "read under the limit".len() }).await?;
    /// assert_eq!(length, 20);
    /// assert_eq!(drive.stats().completed, 1);
    /// # Ok(())
    /// # }
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::{drive::Drives, Config};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::drive::DriveError> {
    /// # let drives = Drives::start_in(&actix::Arbiter::current(), &Config::default())?;
    /// let drive = drives.drive("/")?;
    /// drive.set_limit(3).await?;
    /// assert_eq!(drive.stats().limit, 3);
    /// assert!(drive.set_limit(0).await.is_err());
    /// # Ok(())
    /// # }
    /// ```
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
        crate::sync::try_ask(&self.limiter, SetLimit(limit), || self.closed()).await
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
