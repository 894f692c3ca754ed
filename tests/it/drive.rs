//! Per-drive IO limits on real mount points, with real files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steward::drive::{DriveError, Drives};
use steward::{Config, Steward};
use tokio::sync::Barrier;

/// A directory on `/dev/shm` (tmpfs), if it is a device of its own here.
fn shm_dir(name: &str) -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        println!("skipped: /dev/shm does not exist here");
        return None;
    }
    let dir = shm.join(format!("steward-it-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// A directory on the drive the build lives on.
fn disk_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_files(dir: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("file-{i}"));
            std::fs::write(&path, vec![i as u8; 4096]).unwrap();
            path
        })
        .collect()
}

/// Reads every file through `drives.run`, recording how many reads were in
/// flight at once. The first `limit` readers wait for each other, so the
/// limit is reached for certain (and a limiter that admitted fewer would
/// hang, which the caller's timeout turns into a failure).
async fn read_all(drives: &Drives, files: Vec<PathBuf>, limit: usize) -> usize {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let high_water = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let first_wave = Arc::new(Barrier::new(limit));
    let tasks: Vec<_> = files
        .into_iter()
        .map(|path| {
            let (drives, in_flight, high_water) = (
                drives.clone(),
                Arc::clone(&in_flight),
                Arc::clone(&high_water),
            );
            let (entered, first_wave) = (Arc::clone(&entered), Arc::clone(&first_wave));
            tokio::spawn(async move {
                drives
                    .run(&path, async {
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        high_water.fetch_max(now, Ordering::SeqCst);
                        if entered.fetch_add(1, Ordering::SeqCst) < limit {
                            first_wave.wait().await;
                        }
                        let bytes = tokio::fs::read(&path).await.unwrap();
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        bytes.len()
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 4096);
    }
    high_water.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_drives_keep_their_own_limits_under_load() {
    let Some(shm) = shm_dir("limits") else { return };
    let disk = disk_dir("limits");
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let (on_disk, on_shm) = (drives.drive(&disk).unwrap(), drives.drive(&shm).unwrap());
    if on_disk.mount_point() == on_shm.mount_point() {
        println!(
            "skipped: {} and /dev/shm are on one drive here",
            disk.display()
        );
        return;
    }
    drives.set_limit(&disk, 2).await.unwrap();
    drives.set_limit(&shm, 3).await.unwrap();

    let (disk_files, shm_files) = (write_files(&disk, 50), write_files(&shm, 50));
    let both = async {
        tokio::join!(
            read_all(drives, disk_files, 2),
            read_all(drives, shm_files, 3)
        )
    };
    let (disk_peak, shm_peak) = tokio::time::timeout(Duration::from_secs(60), both)
        .await
        .expect("no limiter hangs");
    assert_eq!(
        disk_peak, 2,
        "the disk's limit is reached and never exceeded"
    );
    assert_eq!(shm_peak, 3, "tmpfs's limit is reached and never exceeded");
    for drive in [&on_disk, &on_shm] {
        let stats = drive.stats();
        assert_eq!(
            (stats.in_flight, stats.waiting, stats.completed),
            (0, 0, 50),
            "{stats:?}"
        );
    }
    steward.shutdown().await.unwrap();
    std::fs::remove_dir_all(shm).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_drive_does_not_delay_another() {
    let Some(shm) = shm_dir("saturated") else {
        return;
    };
    let disk = disk_dir("saturated");
    let config = Config::default().with_default_io_limit(2);
    let steward = Steward::builder().config(config).start().unwrap();
    let drives = steward.drives();
    if drives.drive(&disk).unwrap().mount_point() == drives.drive(&shm).unwrap().mount_point() {
        println!(
            "skipped: {} and /dev/shm are on one drive here",
            disk.display()
        );
        return;
    }
    let held = [
        drives.acquire(&disk).await.unwrap(),
        drives.acquire(&disk).await.unwrap(),
    ];
    assert!(matches!(
        drives.try_acquire(&disk),
        Err(DriveError::Busy { .. })
    ));
    let other = drives
        .try_acquire(&shm)
        .expect("the other drive has free permits");
    drop((held, other));
    steward.shutdown().await.unwrap();
    std::fs::remove_dir_all(shm).unwrap();
}

#[actix_rt::test]
async fn the_drive_env_variable_sets_dev_shm_s_limit() {
    if !Path::new("/dev/shm").is_dir() {
        println!("skipped: /dev/shm does not exist here");
        return;
    }
    let config = Config::default()
        .apply_env([("STEWARD_DRIVE_DEV_SHM_IO", "1")])
        .unwrap();
    let steward = Steward::builder().config(config).start().unwrap();
    let shm = steward.drives().drive("/dev/shm/some/new/file").unwrap();
    assert_eq!(shm.mount_point(), Path::new("/dev/shm"));
    assert_eq!(shm.stats().limit, 1);

    for bad in ["0", "-1", "one", ""] {
        let err = Config::default()
            .apply_env([("STEWARD_DRIVE_DEV_SHM_IO", bad)])
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("STEWARD_DRIVE_DEV_SHM_IO=\"{bad}\"")),
            "{err}"
        );
    }
    steward.shutdown().await.unwrap();
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct TmpfsMount(PathBuf);

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[actix_rt::test]
async fn a_tmpfs_mounted_after_start_gets_a_limiter_of_its_own() {
    if !is_root() {
        println!("skipped: mounting a tmpfs needs root");
        return;
    }
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let disk = disk_dir("tmpfs");
    let point = disk.join("mnt data");
    std::fs::create_dir_all(&point).unwrap();
    let before = drives.drive(&point).unwrap();

    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&point)
        .status()
        .unwrap();
    if !status.success() {
        println!("skipped: mount -t tmpfs failed here ({status})");
        return;
    }
    let _mounted = TmpfsMount(point.clone());
    let after = drives.drive(point.join("file")).unwrap();
    assert_eq!(
        after.mount_point(),
        point,
        "the new mount (with a space in its name) is found"
    );
    assert_ne!(after.mount_point(), before.mount_point());
    let permit = drives.acquire(point.join("file")).await.unwrap();
    assert_eq!(
        before.stats().in_flight,
        0,
        "the permit is the tmpfs drive's"
    );
    drop(permit);
    steward.shutdown().await.unwrap();
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uid = status.lines().find(|line| line.starts_with("Uid:"))?;
            uid.split_whitespace().nth(1).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// A small deterministic generator, so a failure can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_acquires_cancelled_at_random_points_leave_every_permit_free() {
    let steward = Steward::builder().start().unwrap();
    let drive = steward.drives().drive(disk_dir("cancel")).unwrap();
    drive.set_limit(3).await.unwrap();
    let mut random = XorShift(0x5eed_cafe);
    for _ in 0..100 {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (drive, hold) = (drive.clone(), random.next(3));
                tokio::spawn(async move {
                    let permit = drive.acquire().await;
                    for _ in 0..hold {
                        tokio::task::yield_now().await;
                    }
                    drop(permit);
                })
            })
            .collect();
        for task in &tasks {
            for _ in 0..random.next(3) {
                tokio::task::yield_now().await;
            }
            task.abort();
        }
        for task in tasks {
            let _ = task.await; // finished or cancelled, either is fine
        }
    }
    let stats = drive.stats();
    assert_eq!((stats.in_flight, stats.waiting), (0, 0), "{stats:?}");
    let all: Vec<_> = (0..3)
        .map(|_| drive.try_acquire().expect("every permit is free"))
        .collect();
    assert!(
        drive.try_acquire().is_err(),
        "and no more than the limit exist"
    );
    drop(all);
    steward.shutdown().await.unwrap();
}
