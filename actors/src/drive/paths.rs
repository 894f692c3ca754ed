//! The path cache: from paths as given to their drives, so that a path
//! seen before costs no system call.
//!
//! What may be cached, and why it stays right:
//!
//! - Only absolute paths without `..` whose every existing component was
//!   seen by `lstat` to be a directory or a file, not a symlink ("plain"
//!   paths), keyed by the path exactly as given (no normalization: `..`
//!   after a symlink is not lexical). Such a path's drive can only change
//!   when a mount appears or goes anywhere on it (the cache is then
//!   dropped: `/proc/self/mountinfo` signals every change of the mount
//!   table with `POLLPRI`, and a watch thread bumps the generation), or
//!   when one of its components is replaced by a symlink or created as
//!   one (not noticed until the next mount change: the one case the cache
//!   gets wrong, and [`Drives::forget_paths`](super::Drives::forget_paths)
//!   is for programs that do that).
//! - Paths that are relative (the working directory may change), contain
//!   `..`, or go through a symlink (which may be re-pointed at any time)
//!   are remembered only as "indirect": each use resolves them with one
//!   `stat`, so a symlink that crosses to another drive, or is re-pointed
//!   to one, always lands on the right drive.
//! - Directories met on the way are cached too, so a new file in a known
//!   directory costs two `lstat`s (the directory, looked at afresh, and
//!   the file), not one per component.
//! - Lookups go by whole components (`Path::ancestors`), so `/mnt/a` is
//!   never taken for a prefix of `/mnt/ab`.
//!
//! The cache holds at most [`CAPACITY`] paths; past that it starts over.
//! Without a watch on the mount table it caches nothing.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;

use super::Drive;

/// The most paths kept; past it the cache starts over.
pub(crate) const CAPACITY: usize = 1 << 16;

/// What is known of a path.
#[derive(Debug, Clone)]
pub(crate) enum Known {
    /// A plain path on `drive`.
    Plain { drive: Drive },
    /// Resolve with `stat` at every use.
    Indirect,
}

#[derive(Debug)]
struct Entry {
    generation: u64,
    known: Known,
}

/// The cache, shared by the router and the mount-table watch.
#[derive(Debug, Default)]
pub(crate) struct PathCache {
    /// Bumped at every mount-table change; entries of an older generation
    /// are stale.
    generation: AtomicU64,
    entries: DashMap<OsString, Entry, foldhash::fast::RandomState>,
    /// Whether the mount table is watched: without it, nothing is cached.
    watched: AtomicBool,
    /// The mount table changed since the router last read it.
    table_changed: AtomicBool,
}

impl PathCache {
    /// Starts caching: the mount table is watched from now on.
    pub(crate) fn watched_from_now(&self) {
        self.watched.store(true, Ordering::Release);
    }

    /// The current generation: read it before resolving a path, and hand
    /// it to [`remember`](Self::remember), so a resolution that raced a
    /// mount change is not kept.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The mount table changed: every entry is stale.
    pub(crate) fn invalidate(&self) {
        // Flagged before the generation moves: whoever sees the new
        // generation re-reads the table.
        self.table_changed.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// Forgets every path, and has the mount table read again: for a
    /// program that changed it itself and cannot wait for the watch.
    pub(crate) fn forget(&self) {
        self.table_changed.store(true, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }

    /// Whether the mount table changed since the last call.
    pub(crate) fn take_table_changed(&self) -> bool {
        self.table_changed.swap(false, Ordering::AcqRel)
    }

    /// Runs `use_known` on what is known of `path`, if anything current:
    /// no system call, no allocation.
    pub(crate) fn with<R>(&self, path: &Path, use_known: impl FnOnce(&Known) -> R) -> Option<R> {
        let entry = self.entries.get(path.as_os_str())?;
        (entry.generation == self.generation()).then(|| use_known(&entry.known))
    }

    /// The longest proper ancestor of `path` known to be plain: where a
    /// walk of the components may start.
    pub(crate) fn plain_ancestor<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        let generation = self.generation();
        path.ancestors().skip(1).find(|ancestor| {
            self.entries.get(ancestor.as_os_str()).is_some_and(|entry| {
                entry.generation == generation && matches!(entry.known, Known::Plain { .. })
            })
        })
    }

    /// Remembers `known` for each of `paths`, unless the mount table
    /// changed since `generation` was read.
    pub(crate) fn remember<'a>(
        &self,
        paths: impl IntoIterator<Item = &'a OsStr>,
        known: &Known,
        generation: u64,
    ) {
        if !self.watched.load(Ordering::Acquire) || self.generation() != generation {
            return;
        }
        // An entry inserted after a change it raced is of the older
        // generation: never used.
        for path in paths {
            if self.entries.len() >= CAPACITY {
                self.entries.clear();
            }
            self.entries.insert(
                path.to_owned(),
                Entry {
                    generation,
                    known: known.clone(),
                },
            );
        }
    }

    /// How many paths are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
