//! [`IoPermit`]: the right to one IO operation on a drive.

use std::sync::Arc;

use super::state::DriveState;

/// The right to one IO operation on a drive; released when dropped.
///
/// Holds no borrow: move it into a task, keep it across awaits.
#[must_use = "the permit is released as soon as it is dropped"]
#[derive(Debug)]
pub struct IoPermit {
    state: Arc<DriveState>,
}

impl IoPermit {
    /// Wraps a permit already taken from `state`'s semaphore and forgotten
    /// there; `Drop` gives it back.
    pub(crate) fn new(state: Arc<DriveState>) -> Self {
        Self { state }
    }

    /// The mount point of the drive this permit is for.
    #[must_use]
    pub fn mount_point(&self) -> &std::path::Path {
        &self.state.mount_point
    }
}

impl Drop for IoPermit {
    fn drop(&mut self) {
        self.state.release();
    }
}
