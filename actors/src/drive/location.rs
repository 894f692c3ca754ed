//! From a path to the drive it is on.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::mountinfo::{DeviceNumber, MountTable};

/// Which limiter a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum DriveKey {
    /// A storage device (a whole disk for a partition).
    Device(DeviceNumber),
    /// Paths on no known mount.
    Default,
}

/// Where a path lives.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    pub(crate) key: DriveKey,
    pub(crate) mount_point: PathBuf,
    /// The mounted device itself (the partition, for a partition).
    pub(crate) device: Option<DeviceNumber>,
}

/// The mount point the default bucket reports.
pub(crate) const DEFAULT_BUCKET: &str = "(no mount)";

/// `path`, absolute, symlinks resolved, cut back to its nearest existing
/// ancestor, with that ancestor's device.
///
/// # Errors
///
/// Only when a relative path cannot be made absolute (the working
/// directory is gone).
pub(crate) fn existing_ancestor(path: &Path) -> io::Result<(PathBuf, DeviceNumber)> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut candidate = absolute.as_path();
    loop {
        if let Ok(metadata) = std::fs::metadata(candidate) {
            let resolved =
                std::fs::canonicalize(candidate).unwrap_or_else(|_| candidate.to_path_buf());
            return Ok((resolved, DeviceNumber::from_dev_t(metadata.dev())));
        }
        match candidate.parent() {
            Some(parent) => candidate = parent,
            // Even `/` could not be read: nothing to go on.
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no ancestor of the path exists",
                ));
            }
        }
    }
}

/// The drive `path` is on, by `table`.
pub(crate) fn locate(table: &MountTable, path: &Path, device: DeviceNumber) -> Option<Location> {
    let mount = table.locate(path, device)?;
    Some(Location {
        key: DriveKey::Device(whole_disk(mount.device)),
        mount_point: mount.mount_point.clone(),
        device: Some(mount.device),
    })
}

/// The default bucket's location.
pub(crate) fn default_location() -> Location {
    Location {
        key: DriveKey::Default,
        mount_point: PathBuf::from(DEFAULT_BUCKET),
        device: None,
    }
}

/// The disk a partition is on (`sda1` → `sda`), from sysfs; any other
/// device is its own.
pub(crate) fn whole_disk(device: DeviceNumber) -> DeviceNumber {
    let node = PathBuf::from(format!("/sys/dev/block/{device}"));
    if !node.join("partition").exists() {
        return device;
    }
    std::fs::canonicalize(&node)
        .ok()
        .and_then(|partition| std::fs::read_to_string(partition.parent()?.join("dev")).ok())
        .and_then(|text| {
            let (major, minor) = text.trim().split_once(':')?;
            Some(DeviceNumber {
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
            })
        })
        .unwrap_or(device)
}
