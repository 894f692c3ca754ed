//! From a path to the drive it is on.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

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

/// `path` cut back to its nearest existing ancestor (symlinks followed),
/// with that ancestor's device: one `stat` for an existing path. The path
/// returned is as given (relative if `path` was), not resolved.
///
/// # Errors
///
/// Only when not even the root (or the working directory) can be read.
pub(crate) fn existing_ancestor(path: &Path) -> io::Result<(PathBuf, DeviceNumber)> {
    let mut candidate = path;
    loop {
        let probe = if candidate.as_os_str().is_empty() {
            Path::new(".")
        } else {
            candidate
        };
        if let Ok(metadata) = std::fs::metadata(probe) {
            return Ok((
                probe.to_path_buf(),
                DeviceNumber::from_dev_t(metadata.dev()),
            ));
        }
        match candidate.parent() {
            Some(parent) => candidate = parent,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "no ancestor of the path exists",
                ));
            }
        }
    }
}

/// `path` made absolute with symlinks resolved, for the mount table:
/// `canonicalize` (one `lstat` and perhaps a `readlink` per component),
/// only when the device is new.
///
/// # Errors
///
/// When a relative path cannot be made absolute (the working directory is
/// gone).
pub(crate) fn resolved(existing: &Path) -> io::Result<PathBuf> {
    match std::fs::canonicalize(existing) {
        Ok(resolved) => Ok(resolved),
        Err(_) if existing.is_absolute() => Ok(existing.to_path_buf()),
        Err(_) => Ok(std::env::current_dir()?.join(existing)),
    }
}

/// How a path resolved, component by component.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Walked {
    /// No existing component is a symlink: `existing` (absolute, clean) is
    /// the deepest existing part, on `device`; `directories` are the
    /// directories on the way that are on that device too.
    Plain {
        existing: PathBuf,
        device: DeviceNumber,
        directories: Vec<PathBuf>,
    },
    /// Relative, with `..`, through a symlink, or not readable: to be
    /// resolved by `stat` at every use.
    Indirect,
}

/// Walks `path` with `lstat`, from `base` (a plain ancestor of it as
/// given) or from `/`: one `lstat` for the start and one per component
/// below it. The start is looked at afresh rather than trusted from the
/// cache, so a mount that appeared at or above it is seen even before the
/// mount-table watch has dropped the cache.
pub(crate) fn walk(path: &Path, base: Option<&Path>) -> Walked {
    let indirect = !path.is_absolute()
        || path
            .components()
            .any(|component| matches!(component, Component::ParentDir));
    if indirect {
        return Walked::Indirect;
    }
    let (start, rest) = match base.and_then(|base| Some((base, path.strip_prefix(base).ok()?))) {
        Some(start) => start,
        None => (Path::new("/"), path.strip_prefix("/").unwrap_or(path)),
    };
    let mut device = match std::fs::symlink_metadata(start) {
        Ok(metadata) if !metadata.file_type().is_symlink() => {
            DeviceNumber::from_dev_t(metadata.dev())
        }
        // Replaced since it was cached, or gone: walk it all.
        _ if base.is_some() => return walk(path, None),
        _ => return Walked::Indirect,
    };
    let mut existing = start.to_path_buf();
    let mut seen = Vec::new();
    for component in rest.components() {
        let next = existing.join(component);
        match std::fs::symlink_metadata(&next) {
            Ok(metadata) if metadata.file_type().is_symlink() => return Walked::Indirect,
            Ok(metadata) => {
                device = DeviceNumber::from_dev_t(metadata.dev());
                if metadata.is_dir() {
                    seen.push((next.clone(), device));
                }
                existing = next;
            }
            // The rest does not exist (yet): it will be made in `existing`.
            Err(err) if err.kind() == io::ErrorKind::NotFound => break,
            // Not searchable, not a directory, a loop: let `stat` judge.
            Err(_) => return Walked::Indirect,
        }
    }
    let directories = seen
        .into_iter()
        .filter(|(_, on)| *on == device)
        .map(|(directory, _)| directory)
        .collect();
    Walked::Plain {
        existing,
        device,
        directories,
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
