//! The path cache and the component walk behind it.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::super::location::{Walked, walk};
use super::super::mountinfo::DeviceNumber;
use super::super::paths::{CAPACITY, Known, PathCache};

/// A scratch directory for one test, on the disk the build is on.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("steward-paths-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn device_of(path: &Path) -> DeviceNumber {
    DeviceNumber::from_dev_t(std::fs::metadata(path).unwrap().dev())
}

#[test]
fn a_plain_path_walks_to_its_deepest_existing_part_and_collects_its_directories() {
    let dir = scratch("plain");
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    let target = dir.join("a/b/new/file");
    let Walked::Plain {
        existing,
        device,
        directories,
    } = walk(&target, None)
    else {
        panic!("a path without symlinks is plain");
    };
    assert_eq!(existing, dir.join("a/b"), "the rest does not exist yet");
    assert_eq!(device, device_of(&dir));
    assert!(directories.contains(&dir.join("a")) && directories.contains(&dir.join("a/b")));
    // From a known ancestor, only the components below it are walked.
    let from_base = walk(&target, Some(&dir));
    assert_eq!(
        from_base,
        Walked::Plain {
            existing: dir.join("a/b"),
            device,
            directories: vec![dir.join("a"), dir.join("a/b")],
        }
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn symlinks_dot_dots_and_relative_paths_are_indirect() {
    let dir = scratch("indirect");
    std::fs::create_dir_all(dir.join("real")).unwrap();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
    std::os::unix::fs::symlink(dir.join("real/f"), dir.join("real/file-link")).unwrap();
    for path in [
        dir.join("link/file"),
        dir.join("real/file-link"),
        dir.join("real/../real/file"),
        PathBuf::from("relative/file"),
    ] {
        assert_eq!(walk(&path, None), Walked::Indirect, "{}", path.display());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[actix_rt::test]
async fn ancestors_are_matched_by_whole_components() {
    let drives =
        crate::drive::Drives::start_in(&actix::Arbiter::current(), &crate::Config::default())
            .unwrap();
    let plain = Known::Plain {
        drive: drives.drive("/").unwrap(),
    };
    let cache = PathCache::default();
    cache.watched_from_now();
    cache.remember([OsStr::new("/mnt/a")], &plain, cache.generation());
    assert_eq!(
        cache.plain_ancestor(Path::new("/mnt/a/x/y")),
        Some(Path::new("/mnt/a"))
    );
    // `/mnt/a` is no ancestor of `/mnt/ab/x`, nor the same path as `/mnt/ab`.
    assert!(cache.plain_ancestor(Path::new("/mnt/ab/x")).is_none());
    assert!(cache.with(Path::new("/mnt/ab"), |_| ()).is_none());
    // An indirect entry (a symlink) is no base for a walk.
    cache.remember(
        [OsStr::new("/mnt/link")],
        &Known::Indirect,
        cache.generation(),
    );
    assert!(cache.plain_ancestor(Path::new("/mnt/link/x")).is_none());
}

#[test]
fn a_mount_table_change_makes_every_entry_stale_even_one_resolved_before_it() {
    let cache = PathCache::default();
    cache.watched_from_now();
    let before = cache.generation();
    cache.remember([OsStr::new("/data/file")], &Known::Indirect, before);
    assert!(cache.with(Path::new("/data/file"), |_| ()).is_some());
    // A resolution that started before a change and finished after it.
    let racing = cache.generation();
    cache.invalidate();
    cache.remember([OsStr::new("/data/other")], &Known::Indirect, racing);
    assert!(cache.with(Path::new("/data/file"), |_| ()).is_none());
    assert!(cache.with(Path::new("/data/other"), |_| ()).is_none());
    assert!(cache.take_table_changed());
    assert!(!cache.take_table_changed());
}

#[test]
fn forgetting_the_paths_has_the_mount_table_read_again() {
    let cache = PathCache::default();
    cache.watched_from_now();
    let before = cache.generation();
    cache.remember([OsStr::new("/data/file")], &Known::Indirect, before);
    // A program that mounted something itself need not wait for the
    // watch thread: the table it changed is read afresh too.
    cache.forget();
    assert!(cache.with(Path::new("/data/file"), |_| ()).is_none());
    assert_ne!(cache.generation(), before);
    assert!(cache.take_table_changed());
}

#[test]
fn without_a_watch_on_the_mount_table_nothing_is_cached() {
    let cache = PathCache::default();
    cache.remember(
        [OsStr::new("/data/file")],
        &Known::Indirect,
        cache.generation(),
    );
    assert!(cache.with(Path::new("/data/file"), |_| ()).is_none());
}

#[test]
fn the_cache_stays_bounded() {
    let cache = PathCache::default();
    cache.watched_from_now();
    let generation = cache.generation();
    let paths: Vec<String> = (0..CAPACITY + 10).map(|i| format!("/f/{i}")).collect();
    cache.remember(paths.iter().map(OsStr::new), &Known::Indirect, generation);
    assert!(cache.len() <= CAPACITY, "{} entries", cache.len());
    assert!(
        cache
            .with(Path::new(&paths[CAPACITY + 9]), |_| ())
            .is_some()
    );
}
