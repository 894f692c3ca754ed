//! Per-drive IO limits on real mount points, with real files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use steward::drive::{DriveError, Drives};
use steward::{Config, Steward};
use tokio::sync::Barrier;

use super::poll;

/// A directory on `/dev/shm`, a tmpfs of its own on every Linux this
/// crate runs on (a device apart from the build's).
fn shm_dir(name: &str) -> PathBuf {
    let dir = Path::new("/dev/shm").join(format!("steward-it-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("{}: {error} (/dev/shm is needed)", dir.display()));
    dir
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
    let shm = shm_dir("limits");
    let disk = disk_dir("limits");
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let (on_disk, on_shm) = (drives.drive(&disk).unwrap(), drives.drive(&shm).unwrap());
    assert_ne!(
        on_disk.mount_point(),
        on_shm.mount_point(),
        "{} and /dev/shm are on one drive here",
        disk.display()
    );
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
    let shm = shm_dir("saturated");
    let disk = disk_dir("saturated");
    let config = Config::default().with_default_io_limit(2);
    let steward = Steward::builder().config(config).start().unwrap();
    let drives = steward.drives();
    assert_ne!(
        drives.drive(&disk).unwrap().mount_point(),
        drives.drive(&shm).unwrap().mount_point(),
        "{} and /dev/shm are on one drive here",
        disk.display()
    );
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

/// Waits, bounded, until `path`'s drive is mounted at `mount_point`: a
/// mount made by another process is seen once the watch thread has woken.
async fn until_on(drives: &Drives, path: &Path, mount_point: &Path) {
    let what = format!("{} on {}", path.display(), mount_point.display());
    poll::until_async(&what, Duration::from_secs(10), || {
        std::future::ready(drives.drive(path).unwrap().mount_point() == mount_point)
    })
    .await;
}

#[actix_rt::test]
#[ignore = "needs root: mounts a tmpfs"]
async fn a_mount_below_cached_paths_sends_them_to_its_own_drive() {
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let disk = disk_dir("tmpfs");
    let point = disk.join("mnt data");
    std::fs::create_dir_all(&point).unwrap();
    // Cached before the mount: the mount point, a path below it, and a
    // sibling whose name extends the mount point's.
    let below = point.join("file");
    let sibling = disk.join("mnt data2");
    std::fs::create_dir_all(&sibling).unwrap();
    let before = drives.drive(&below).unwrap();
    for path in [&point, &below, &sibling] {
        assert_eq!(
            drives.drive(path).unwrap().mount_point(),
            before.mount_point()
        );
    }

    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&point)
        .status()
        .unwrap();
    assert!(status.success(), "mount -t tmpfs: {status}");
    let mounted = TmpfsMount(point.clone());
    // A path never seen is right at once (its walk looks at the cached
    // directory afresh); the cached ones once the watch has seen the
    // change.
    let fresh = drives.drive(point.join("never seen")).unwrap();
    assert_eq!(
        fresh.mount_point(),
        point,
        "the new mount (with a space in its name)"
    );
    until_on(drives, &below, &point).await;
    until_on(drives, &point, &point).await;
    assert_eq!(
        drives.drive(&sibling).unwrap().mount_point(),
        before.mount_point()
    );
    let permit = drives.acquire(&below).await.unwrap();
    assert_eq!(permit.mount_point(), point);
    assert_eq!(
        before.stats().in_flight,
        0,
        "the permit is the tmpfs drive's"
    );
    drop(permit);

    drop(mounted);
    until_on(drives, &below, before.mount_point()).await;
    steward.shutdown().await.unwrap();
}

/// Runs `command` with `args`, which must succeed; its stdout.
fn run(command: &str, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(command)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("{command}: {err}"));
    assert!(
        output.status.success(),
        "{command} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A loop device mounted at a directory; unmounted and detached when
/// dropped.
struct LoopMount {
    device: String,
    point: PathBuf,
}

impl LoopMount {
    /// Attaches `image` to `device` (a free one if `None`) and mounts it
    /// at `point`.
    fn new(image: &Path, device: Option<&str>, point: &Path) -> Self {
        let device = match device {
            Some(device) => {
                run("losetup", &[device.as_ref(), image.as_os_str()]);
                device.to_owned()
            }
            None => run(
                "losetup",
                &["--find".as_ref(), "--show".as_ref(), image.as_os_str()],
            ),
        };
        let mounted = Self {
            device,
            point: point.to_path_buf(),
        };
        run("mount", &[mounted.device.as_ref(), point.as_os_str()]);
        mounted
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.point).status();
        let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
    }
}

#[actix_rt::test]
#[ignore = "needs root, mkfs.ext4 and a loop device: mounts two disk images"]
async fn a_device_mounted_again_elsewhere_is_named_and_limited_by_its_new_mount_point() {
    let dir = disk_dir("reused-device");
    let (first, second) = (dir.join("first"), dir.join("second"));
    let images = [dir.join("first.img"), dir.join("second.img")];
    for point in [&first, &second] {
        std::fs::create_dir_all(point).unwrap();
    }
    for image in &images {
        std::fs::File::create(image)
            .unwrap()
            .set_len(16 << 20)
            .unwrap();
        run("mkfs.ext4", &["-q".as_ref(), image.as_os_str()]);
    }
    let config = Config::default().with_drive_limit(&second, 1);
    let steward = Steward::builder().config(config).start().unwrap();
    let drives = steward.drives();
    let on_disk = drives.drive(&dir).unwrap().mount_point().to_path_buf();

    let mounted = LoopMount::new(&images[0], None, &first);
    until_on(drives, &first.join("file"), &first).await;
    let device = mounted.device.clone();
    drop(mounted);
    until_on(drives, &first.join("file"), &on_disk).await;
    // The same device node (the same device number), another file
    // system, mounted at another place with a limit of its own.
    let _mounted = LoopMount::new(&images[1], Some(&device), &second);
    until_on(drives, &second.join("file"), &second).await;
    let drive = drives.drive(second.join("file")).unwrap();
    assert_eq!(
        drive.stats().limit,
        1,
        "the limit set for {}",
        second.display()
    );
    let permit = drives.acquire(second.join("file")).await.unwrap();
    assert_eq!(permit.mount_point(), second);
    drop(permit);
    steward.shutdown().await.unwrap();
}

/// `/dev/shm` (tmpfs) and a directory on the disk the build is on: two
/// drives, or the test cannot say anything.
fn shm_and_disk(name: &str, drives: &Drives) -> (PathBuf, PathBuf) {
    let shm = shm_dir(name);
    let disk = disk_dir(name);
    assert_ne!(
        drives.drive(&shm).unwrap().mount_point(),
        drives.drive(&disk).unwrap().mount_point(),
        "{} and /dev/shm are on one drive here",
        disk.display()
    );
    (shm, disk)
}

#[actix_rt::test]
async fn paths_through_a_symlink_land_on_the_drive_it_points_to_even_once_re_pointed() {
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let (shm, disk) = shm_and_disk("symlink", drives);
    let on_disk = drives.drive(&disk).unwrap().mount_point().to_path_buf();
    let shm_drive = Path::new("/dev/shm");
    std::fs::create_dir_all(disk.join("plain")).unwrap();
    std::fs::write(shm.join("data"), b"on tmpfs").unwrap();
    let link = disk.join("to-shm");
    std::os::unix::fs::symlink(&shm, &link).unwrap();
    let file_link = disk.join("plain/shm-file");
    std::os::unix::fs::symlink(shm.join("data"), &file_link).unwrap();

    // Twice each: the second answer comes from the cache.
    for _ in 0..2 {
        assert_eq!(
            drives.drive(disk.join("plain/new")).unwrap().mount_point(),
            on_disk
        );
        assert_eq!(
            drives.drive(link.join("data")).unwrap().mount_point(),
            shm_drive
        );
        assert_eq!(
            drives.drive(link.join("new")).unwrap().mount_point(),
            shm_drive
        );
        // A symlink in a cached directory is not taken for the directory.
        assert_eq!(drives.drive(&file_link).unwrap().mount_point(), shm_drive);
        let permit = drives.acquire(link.join("data")).await.unwrap();
        assert_eq!(permit.mount_point(), shm_drive);
    }
    // `..` after a symlink goes up from where it points, not lexically.
    let up = link.join("../plain/new");
    assert_eq!(drives.drive(&up).unwrap().mount_point(), shm_drive);

    // Re-pointed to the disk, with no mount change: seen at once.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(disk.join("plain"), &link).unwrap();
    assert_eq!(
        drives.drive(link.join("data")).unwrap().mount_point(),
        on_disk
    );
    let permit = drives.acquire(link.join("data")).await.unwrap();
    assert_eq!(permit.mount_point(), on_disk);
    drop(permit);
    steward.shutdown().await.unwrap();
    // The links too: left pointing into a removed directory, they would
    // be broken symlinks in the build tree.
    std::fs::remove_dir_all(disk).unwrap();
    std::fs::remove_dir_all(shm).unwrap();
}

/// Whether the mount table changed since `watch` (`/proc/self/mountinfo`)
/// was opened or last asked: a mount anywhere, by any process, drops the
/// path cache, and with it any count of resolutions.
fn mount_table_changed(watch: &std::fs::File) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(watch.as_fd(), PollFlags::POLLPRI)];
    let ready = poll(&mut fds, PollTimeout::ZERO).expect("poll /proc/self/mountinfo");
    ready > 0
        && fds[0]
            .revents()
            .is_some_and(|events| events.contains(PollFlags::POLLPRI))
}

#[actix_rt::test]
async fn a_known_path_keeps_its_drive_and_relative_paths_follow_the_working_directory() {
    let steward = Steward::builder().start().unwrap();
    let drives = steward.drives();
    let (shm, disk) = shm_and_disk("known", drives);
    let file = shm.join("file");
    std::fs::write(&file, b"x").unwrap();
    let link = disk.join("shm-file");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&file, &link).unwrap();
    // Counted again when another process's mount dropped the cache
    // meanwhile (the suite shares the machine's mount table).
    let mut tries = 0;
    let counted = loop {
        tries += 1;
        assert!(tries <= 20, "the mount table changed during every try");
        let watch = std::fs::File::open("/proc/self/mountinfo").unwrap();
        let first = drives.acquire(&file).await.unwrap();
        assert_eq!(first.mount_point(), Path::new("/dev/shm"));
        drop(first);
        let completed = drives.drive(&file).unwrap().stats().completed;
        let resolved = drives.path_resolutions();
        for _ in 0..100 {
            let permit = drives.acquire(&file).await.unwrap();
            assert_eq!(permit.mount_point(), Path::new("/dev/shm"));
        }
        assert_eq!(
            drives.drive(&file).unwrap().stats().completed,
            completed + 100
        );
        let known = drives.path_resolutions() - resolved;
        // A new file in a known directory: one (short) walk.
        drop(
            drives
                .acquire(shm.join(format!("new-{tries}")))
                .await
                .unwrap(),
        );
        let new = drives.path_resolutions() - resolved;
        // Through a symlink: resolved at every use.
        for _ in 0..3 {
            assert_eq!(
                drives.acquire(&link).await.unwrap().mount_point(),
                Path::new("/dev/shm")
            );
        }
        let linked = drives.path_resolutions() - resolved;
        if !mount_table_changed(&watch) {
            break (known, new, linked);
        }
    };
    assert_eq!(
        counted,
        (0, 1, 4),
        "a known path is found in the cache, with no system call; a new \
         file in a known directory costs one walk; a symlink one resolution \
         per use"
    );
    // The working directory is the package's, on the disk.
    let relative = drives.drive("Cargo.toml").unwrap();
    assert_eq!(
        relative.mount_point(),
        drives.drive(&disk).unwrap().mount_point()
    );
    // Forgetting costs the next use a walk, and changes no answer.
    drives.forget_paths();
    assert_eq!(
        drives.drive(&file).unwrap().mount_point(),
        Path::new("/dev/shm")
    );
    steward.shutdown().await.unwrap();
    std::fs::remove_dir_all(disk).unwrap();
    std::fs::remove_dir_all(shm).unwrap();
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
