//! Finding the files under the paths given, sorted by name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What the walk found: the files, sorted by path bytes, and the paths
/// it could not look at.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) files: Vec<PathBuf>,
    pub(crate) errors: Vec<(PathBuf, io::Error)>,
}

/// Walks `roots`. A root or an entry that is a symlink to a file counts as
/// a file; symlinked directories are not entered (no loops), and sockets,
/// FIFOs and devices are skipped (reading a FIFO would block). A broken
/// symlink is an error.
pub(crate) fn walk(roots: &[PathBuf]) -> Walk {
    let mut walk = Walk::default();
    for root in roots {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk.directory(root),
            Ok(meta) if meta.is_file() => walk.files.push(root.clone()),
            Ok(_) => {}
            Err(error) => walk.errors.push((root.clone(), error)),
        }
    }
    walk.files
        .sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    walk.files.dedup();
    walk
}

impl Walk {
    fn directory(&mut self, dir: &Path) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.errors.push((dir.to_path_buf(), error));
                return;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => self.entry(&entry.path(), entry.file_type()),
                Err(error) => self.errors.push((dir.to_path_buf(), error)),
            }
        }
    }

    fn entry(&mut self, path: &Path, file_type: io::Result<fs::FileType>) {
        match file_type {
            Ok(kind) if kind.is_dir() => self.directory(path),
            Ok(kind) if kind.is_file() => self.files.push(path.to_path_buf()),
            Ok(kind) if kind.is_symlink() => match fs::metadata(path) {
                Ok(target) if target.is_file() => self.files.push(path.to_path_buf()),
                Ok(_) => {}
                Err(error) => self.errors.push((path.to_path_buf(), error)),
            },
            Ok(_) => {}
            Err(error) => self.errors.push((path.to_path_buf(), error)),
        }
    }
}
