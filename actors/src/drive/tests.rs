mod paths;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::mountinfo::{DeviceNumber, MountTable};
use super::state::DriveState;
use super::*;
use crate::testing::eventually;

/// Lines as this machine's kernel wrote them, plus an escaped mount point.
const MOUNTINFO: &[u8] = b"\
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12331664k,nr_inodes=3082916,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24682416k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24682416k
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 master:2 - cgroup2 cgroup2 rw
50 27 8:17 /data /mnt/my\\040disk\\011tab\\134x rw - ext4 /dev/sdb1 rw
garbage line without the separator
";

fn table() -> MountTable {
    MountTable::parse(MOUNTINFO)
}

#[test]
fn parses_fields_and_skips_malformed_lines() {
    let table = table();
    assert_eq!(table.mounts().len(), 6);
    let root = &table.mounts()[2];
    assert_eq!(root.mount_point, Path::new("/"));
    assert_eq!(
        root.device,
        DeviceNumber {
            major: 254,
            minor: 0
        }
    );
    assert_eq!(
        (root.fs_type.as_str(), root.source.as_str()),
        ("ext4", "/dev/vda")
    );
    let cgroup = &table.mounts()[4];
    assert_eq!(
        cgroup.fs_type, "cgroup2",
        "optional fields before the separator are skipped"
    );
}

#[test]
fn unescapes_octal_sequences_in_mount_points() {
    let table = table();
    let disk = &table.mounts()[5];
    assert_eq!(disk.mount_point, PathBuf::from("/mnt/my disk\ttab\\x"));
    assert_eq!(disk.source, "/dev/sdb1");
}

#[test]
fn locates_by_device_then_longest_prefix() {
    let table = table();
    let shm_top = DeviceNumber {
        major: 0,
        minor: 27,
    };
    let vda = DeviceNumber {
        major: 254,
        minor: 0,
    };
    // Stacked mounts at /dev/shm: the device stat reports picks the right one.
    assert_eq!(
        table
            .locate(Path::new("/dev/shm/x"), shm_top)
            .unwrap()
            .device,
        shm_top
    );
    assert_eq!(
        table
            .locate(Path::new("/home/me/file"), vda)
            .unwrap()
            .mount_point,
        Path::new("/")
    );
    assert_eq!(
        table
            .locate(
                Path::new("/mnt/my disk\ttab\\x/a"),
                DeviceNumber {
                    major: 8,
                    minor: 17
                }
            )
            .unwrap()
            .source,
        "/dev/sdb1"
    );
    // A device no mount shows (a btrfs subvolume): longest prefix of all.
    let unknown = DeviceNumber {
        major: 0,
        minor: 99,
    };
    assert_eq!(
        table
            .locate(Path::new("/dev/shm/y"), unknown)
            .unwrap()
            .mount_point,
        Path::new("/dev/shm")
    );
    assert!(
        MountTable::default()
            .locate(Path::new("/x"), unknown)
            .is_none()
    );
}

#[test]
fn splits_device_numbers_as_the_kernel_does() {
    // /dev/null is character device 1:3 on every Linux.
    let rdev = std::fs::metadata("/dev/null").unwrap().rdev();
    assert_eq!(
        DeviceNumber::from_dev_t(rdev),
        DeviceNumber { major: 1, minor: 3 }
    );
    // glibc's makedev, to check large numbers that use the high bits.
    let makedev = |major: u64, minor: u64| {
        ((major & 0xfff) << 8) | ((major & !0xfff) << 32) | (minor & 0xff) | ((minor & !0xff) << 12)
    };
    for (major, minor) in [
        (8, 17),
        (259, 3),
        (0x1234, 0xabcde),
        (0xffff_ffff, 0xffff_ffff),
    ] {
        let split = DeviceNumber::from_dev_t(makedev(major, minor));
        assert_eq!(
            (u64::from(split.major), u64::from(split.minor)),
            (major, minor)
        );
    }
}

#[test]
fn the_real_root_is_found_in_the_real_mount_table() {
    let table = MountTable::read().unwrap();
    let (path, device) = location::existing_ancestor(Path::new("/etc/hostname")).unwrap();
    let mount = table.locate(&path, device).unwrap();
    assert!(path.starts_with(&mount.mount_point));
    let (missing, missing_device) =
        location::existing_ancestor(Path::new("/etc/no/such/dir/file")).unwrap();
    assert_eq!(
        missing,
        Path::new("/etc"),
        "a missing path maps through its nearest existing ancestor"
    );
    assert_eq!(missing_device, device);
}

fn drives(config: Config) -> Drives {
    Drives::start_in(&actix::Arbiter::current(), &config).unwrap()
}

fn state(limit: usize) -> Arc<DriveState> {
    Arc::new(DriveState::new(PathBuf::from("/test"), None, limit))
}

fn take(state: &Arc<DriveState>) -> Option<IoPermit> {
    let permit = state.permits.semaphore().try_acquire().ok()?;
    permit.forget();
    Some(IoPermit::new(Arc::clone(state)))
}

#[test]
fn shrinking_with_permits_out_takes_effect_as_they_return() {
    let drive = state(3);
    let held: Vec<IoPermit> = (0..3).filter_map(|_| take(&drive)).collect();
    assert_eq!(held.len(), 3);
    drive.set_limit(1);
    let stats = drive.stats();
    assert_eq!((stats.limit, stats.in_flight), (1, 3));
    drop(held);
    assert_eq!(
        drive.permits.semaphore().available_permits(),
        1,
        "two returned permits were destroyed"
    );
    assert_eq!(drive.stats().in_flight, 0);
    assert_eq!(drive.stats().completed, 3);
}

#[actix_rt::test]
async fn growing_wakes_a_waiter_at_once() {
    let drives = drives(Config::default().with_drive_limit("/", 1));
    let drive = drives.drive("/").unwrap();
    let held = drive.acquire().await.unwrap();
    let waiter = {
        let drive = drive.clone();
        tokio::spawn(async move { drive.acquire().await })
    };
    eventually("a waiter queued", || drive.stats().waiting == 1).await;
    drive.set_limit(2).await.unwrap();
    let second = waiter.await.unwrap().unwrap();
    assert_eq!(drive.stats().in_flight, 2);
    drop((held, second));
}

#[actix_rt::test]
async fn limits_come_from_the_config_by_mount_point() {
    let config = Config::default()
        .with_default_io_limit(5)
        .with_drive_limit("/dev/shm", 1);
    let drives = drives(config);
    assert_eq!(drives.drive("/etc").unwrap().stats().limit, 5);
    // /dev/shm is a tmpfs of its own on every Linux this crate runs on.
    assert_eq!(drives.drive("/dev/shm").unwrap().stats().limit, 1);
}

#[actix_rt::test]
async fn bad_limits_are_refused_and_shutdown_fails_waiters() {
    let drives = drives(Config::default().with_drive_limit("/", 1));
    let err = drives.set_limit("/", 0).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "IO limit 0 for \"/\" is out of range 1..=1073741824"
    );

    let held = drives.acquire("/").await.unwrap();
    let waiter = {
        let drives = drives.clone();
        tokio::spawn(async move { drives.acquire("/").await })
    };
    eventually("a waiter queued", || {
        drives.drive("/").unwrap().stats().waiting == 1
    })
    .await;
    drives.shutdown().await;
    assert!(matches!(
        waiter.await.unwrap(),
        Err(DriveError::Closed { .. })
    ));
    assert!(matches!(
        drives.try_acquire("/"),
        Err(DriveError::Closed { .. })
    ));
    drop(held); // a held permit stays valid and returns cleanly
}

#[actix_rt::test]
async fn limits_out_of_range_are_refused_at_start() {
    for config in [
        Config::default().with_default_io_limit(0),
        Config::default().with_drive_limit("/mnt/x", 0),
    ] {
        let err = Drives::start_in(&actix::Arbiter::current(), &config).unwrap_err();
        assert!(
            matches!(err, DriveError::InvalidLimit { limit: 0, .. }),
            "{err:?}"
        );
    }
}

#[actix_rt::test]
async fn a_device_mounted_twice_gets_one_name_and_the_lowest_limit_whatever_is_used_first() {
    // One device at / and (bind-mounted) at /data, limits 8 and 3.
    let table = MountTable::parse(
        b"1 0 8:0 / / rw - ext4 /dev/sda rw\n2 1 8:0 /srv /data rw - ext4 /dev/sda rw\n",
    );
    let config = Config::default()
        .with_drive_limit("/", 8)
        .with_drive_limit("/data", 3);
    let drives = drives(config);
    let disk = DeviceNumber { major: 8, minor: 0 };
    for first in ["/data/file", "/file"] {
        let location = location::locate(&table, Path::new(first), disk).unwrap();
        let (name, limit) = drives.router.settings_for(&location, &table);
        assert_eq!(
            (name.as_path(), limit),
            (Path::new("/"), 3),
            "first used: {first}"
        );
    }
}

#[actix_rt::test]
async fn no_limiter_admits_work_after_shutdown() {
    let drives = drives(Config::default());
    drives.shutdown().await;
    assert!(matches!(
        drives.drive("/etc"),
        Err(DriveError::Closed { .. })
    ));
}
