//! Disks as `df` shows them: one per device, bind mounts folded, hidden
//! and pseudo mounts left out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::super::disks::{Space, fold};
use crate::drive::{DeviceNumber, MountTable};

const GIB: u64 = 1 << 30;

/// Root on vda, bind-mounted twice (a longer path first), a data disk,
/// a tmpfs, a read-only image, /proc, and a disk hidden under another.
const MOUNTINFO: &[u8] = b"\
22 27 0:21 / /proc rw - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
28 27 254:0 /srv/work /work/bound rw - ext4 /dev/vda rw
29 27 254:0 /home /home rw - ext4 /dev/vda rw
30 27 8:17 / /data rw - ext4 /dev/sdb1 rw
31 27 0:27 / /dev/shm rw - tmpfs tmpfs rw
32 27 7:0 / /snap/core ro - squashfs /dev/loop0 ro
33 27 8:33 / /old rw - ext4 /dev/sdc1 rw
34 27 8:49 / /old rw - xfs /dev/sdd1 rw
";

fn device(major: u32, minor: u32) -> DeviceNumber {
    DeviceNumber { major, minor }
}

/// What `stat` and `statvfs` would say at each mount point: /old shows
/// the disk mounted on top (sdd1), hiding sdc1.
fn machine() -> HashMap<PathBuf, Space> {
    let space = |device, total: u64, free: u64, available: u64, read_only| Space {
        device,
        total_bytes: total,
        free_bytes: free,
        available_bytes: available,
        read_only,
    };
    let vda = space(device(254, 0), 100 * GIB, 60 * GIB, 10 * GIB, false);
    [
        ("/", vda),
        ("/home", vda),
        ("/work/bound", vda),
        (
            "/data",
            space(device(8, 17), 10 * GIB, 5 * GIB, 5 * GIB, false),
        ),
        ("/snap/core", space(device(7, 0), GIB, 0, 0, true)),
        (
            "/old",
            space(device(8, 49), 20 * GIB, 20 * GIB, 19 * GIB, false),
        ),
    ]
    .into_iter()
    .map(|(point, space)| (PathBuf::from(point), space))
    .collect()
}

#[test]
fn one_reading_per_device_named_by_its_shortest_mount_point() {
    let machine = machine();
    let disks = fold(MountTable::parse(MOUNTINFO).mounts(), |point| {
        machine.get(point).copied()
    });
    let names: Vec<&Path> = disks.iter().map(|d| d.mount_point.as_path()).collect();
    // No /proc, no tmpfs, no read-only squashfs; vda once; /old once, as
    // the disk on top (sdc1 is hidden, and cannot be read at /old).
    assert_eq!(
        names,
        [Path::new("/"), Path::new("/data"), Path::new("/old")]
    );
    let root = &disks[0];
    assert_eq!(root.device, device(254, 0));
    assert_eq!(
        root.mount_points,
        [
            PathBuf::from("/"),
            PathBuf::from("/home"),
            PathBuf::from("/work/bound")
        ]
    );
    let old = &disks[2];
    assert_eq!(old.device, device(8, 49), "the visible disk at /old");
}

#[test]
fn the_used_share_is_df_s_and_the_byte_figures_are_kept() {
    let machine = machine();
    let disks = fold(MountTable::parse(MOUNTINFO).mounts(), |point| {
        machine.get(point).copied()
    });
    let root = &disks[0];
    // 100 GiB, 60 free, 10 available to users (50 reserved for root):
    // used 40, and df's Use% is 40 / (40 + 10) = 80%, not 90%.
    assert_eq!(
        (root.total_bytes, root.used_bytes, root.available_bytes),
        (100 * GIB, 40 * GIB, 10 * GIB)
    );
    assert!((root.used_percent() - 80.0).abs() < 1e-9);
    assert_eq!(root.capacity_bytes(), 50 * GIB);
}

#[test]
fn a_device_that_stat_shows_nowhere_is_read_at_its_shortest_readable_point() {
    // A btrfs subvolume: stat reports a device of its own at every point.
    let table = MountTable::parse(b"40 1 0:45 / /pool rw - btrfs /dev/sde rw\n41 1 0:45 /sub /mnt/sub rw - btrfs /dev/sde rw\n");
    let disks = fold(table.mounts(), |point| {
        (point == Path::new("/mnt/sub")).then_some(Space {
            device: device(0, 46),
            total_bytes: GIB,
            free_bytes: GIB / 2,
            available_bytes: GIB / 2,
            read_only: false,
        })
    });
    assert_eq!(disks.len(), 1);
    assert_eq!(disks[0].mount_point, Path::new("/mnt/sub"));
    assert_eq!(disks[0].device, device(0, 45));
}
