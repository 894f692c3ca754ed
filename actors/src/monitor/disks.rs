//! Disks as `df` shows them: one reading per device, from the mount table
//! and `statvfs`.
//!
//! A device mounted at several places (bind mounts, a subvolume mounted
//! twice) is one disk: one reading, one level, one alert, named by its
//! shortest mount point. `used` is `df`'s Used (`f_blocks - f_bfree`);
//! the used share is `used / (used + available)`, as `df` computes Use%, so
//! the blocks reserved for root count neither as used nor as available.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sys::statvfs::{FsFlags, statvfs};

use super::readings::DiskReading;
use crate::drive::{DeviceNumber, Mount, MountTable};

/// File system types that are not disks to watch: pseudo file systems
/// (always empty), memory-backed ones (their use is memory's), read-only
/// images, and network file systems, whose `statvfs` can hang for as long
/// as the server is away.
const SKIPPED_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "ceph",
    "cgroup",
    "cgroup2",
    "cifs",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse.sshfs",
    "fusectl",
    "glusterfs",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nfs",
    "nfs4",
    "nsfs",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "smb3",
    "smbfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// What `statvfs` (and `stat`, for the device) says about one mount point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Space {
    /// The device `stat` reports for the mount point: another than the
    /// mount's when a later mount hides it.
    pub(crate) device: DeviceNumber,
    pub(crate) total_bytes: u64,
    pub(crate) free_bytes: u64,
    pub(crate) available_bytes: u64,
    pub(crate) read_only: bool,
}

/// Reads this process's mount table and each disk's space. Blocking: one
/// `stat` and one `statvfs` per disk.
pub(crate) fn read() -> Vec<DiskReading> {
    match MountTable::read() {
        Ok(table) => fold(table.mounts(), probe),
        Err(err) => {
            tracing::debug!(target: "steward::monitor", %err, "cannot read the mount table; no disk readings");
            Vec::new()
        }
    }
}

/// `stat` and `statvfs` of `path`.
// The block counts and sizes are 32 bits wide on some 32-bit targets.
#[allow(clippy::useless_conversion)]
fn probe(path: &Path) -> Option<Space> {
    let device = DeviceNumber::from_dev_t(std::fs::metadata(path).ok()?.dev());
    let stat = statvfs(path).ok()?;
    let unit = u64::from(stat.fragment_size());
    let bytes = |blocks: u64| blocks.saturating_mul(unit);
    Some(Space {
        device,
        total_bytes: bytes(u64::from(stat.blocks())),
        free_bytes: bytes(u64::from(stat.blocks_free())),
        available_bytes: bytes(u64::from(stat.blocks_available())),
        read_only: stat.flags().contains(FsFlags::ST_RDONLY),
    })
}

/// Whether a mount may hold a disk worth watching.
fn watched(mount: &Mount) -> bool {
    let point = &mount.mount_point;
    !SKIPPED_TYPES.contains(&mount.fs_type.as_str())
        && !point.starts_with("/proc")
        && !point.starts_with("/sys")
}

/// One reading per device among `mounts`, sorted by the name each gets.
/// `probe` reads a mount point's space. A device is read at, and named
/// by, the shortest of its mount points that `stat` shows on it. A later
/// mount may hide one: what `stat` shows there is another device of the
/// table, not this one, and a device hidden everywhere is left out. A
/// btrfs subvolume shows a device of its own, found nowhere in the table:
/// then the shortest readable mount point is used. Read-only and empty
/// file systems are left out: they are always "full" and say nothing
/// about room to write.
pub(crate) fn fold(
    mounts: &[Mount],
    mut probe: impl FnMut(&Path) -> Option<Space>,
) -> Vec<DiskReading> {
    let mut by_device: BTreeMap<DeviceNumber, Vec<PathBuf>> = BTreeMap::new();
    for mount in mounts.iter().filter(|mount| watched(mount)) {
        by_device
            .entry(mount.device)
            .or_default()
            .push(mount.mount_point.clone());
    }
    let known: Vec<DeviceNumber> = mounts.iter().map(|mount| mount.device).collect();
    let mut disks: Vec<DiskReading> = by_device
        .into_iter()
        .filter_map(|(device, mut points)| {
            points.sort_by(|a, b| shortest_first(a, b));
            points.dedup();
            // The first mount point `stat` shows on the device names it.
            let mut fallback = None;
            let mut chosen = None;
            for point in &points {
                let Some(space) = probe(point) else { continue };
                if space.device == device {
                    chosen = Some((point.clone(), space));
                    break;
                }
                // Another device the table shows is a mount on top of
                // this one: not this device's figures.
                if !known.contains(&space.device) {
                    fallback.get_or_insert((point.clone(), space));
                }
            }
            let (mount_point, space) = chosen.or(fallback)?;
            if space.read_only || space.total_bytes == 0 {
                return None;
            }
            Some(DiskReading {
                mount_point,
                mount_points: points,
                device,
                total_bytes: space.total_bytes,
                used_bytes: space.total_bytes.saturating_sub(space.free_bytes),
                available_bytes: space.available_bytes,
            })
        })
        .collect();
    disks.sort_by(|a, b| a.mount_point.cmp(&b.mount_point));
    disks
}

fn shortest_first(a: &Path, b: &Path) -> std::cmp::Ordering {
    (a.as_os_str().len(), a).cmp(&(b.as_os_str().len(), b))
}
