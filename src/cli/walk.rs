//! What `steward checksum` hashes: the operands in the order given, each
//! directory's files sorted by path bytes.

use std::fs::{self, FileType};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::digest::Source;

/// One thing the walk came to, in output order.
#[derive(Debug)]
pub(crate) enum Found {
    /// To hash.
    File(Source),
    /// Could not be looked at.
    Error(PathBuf, io::Error),
    /// Met while walking a directory and left out: not a regular file.
    Skipped(PathBuf, &'static str),
}

impl Found {
    fn path(&self) -> &Path {
        match self {
            Found::File(Source::Path(path)) | Found::Error(path, _) | Found::Skipped(path, _) => {
                path
            }
            Found::File(Source::Stdin) => Path::new("-"),
        }
    }
}

/// How to walk.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    /// Enter no directory on another file system than its operand's
    /// (`-x`, as `find -xdev` and `du -x`).
    pub(crate) one_file_system: bool,
}

/// Walks `operands` as `sha256sum` takes its operands, directories
/// expanded: `-` is standard input; a file named here is hashed whatever
/// it is (a FIFO, a device, `/dev/stdin`), as `sha256sum` does. Inside a
/// directory, a symlink to a file counts as a file, symlinked directories
/// are not entered (no loops), and FIFOs, sockets and devices are skipped
/// (reading a FIFO could block forever, a device never end), each skip a
/// [`Found::Skipped`]. A broken symlink is an error.
pub(crate) fn walk(operands: &[PathBuf], options: Options) -> Vec<Found> {
    let mut found = Vec::new();
    for operand in operands {
        if operand.as_os_str() == "-" {
            found.push(Found::File(Source::Stdin));
            continue;
        }
        match fs::metadata(operand) {
            Ok(meta) if meta.is_dir() => {
                let mut walker = Walker {
                    found: Vec::new(),
                    device: options.one_file_system.then_some(meta.dev()),
                };
                walker.directory(operand);
                walker
                    .found
                    .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()));
                found.append(&mut walker.found);
            }
            Ok(_) => found.push(Found::File(Source::Path(operand.clone()))),
            Err(error) => found.push(Found::Error(operand.clone(), error)),
        }
    }
    found
}

struct Walker {
    found: Vec<Found>,
    /// With `-x`: the operand's device.
    device: Option<u64>,
}

impl Walker {
    fn directory(&mut self, dir: &Path) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) => {
                self.found.push(Found::Error(dir.to_path_buf(), error));
                return;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => self.entry(&entry.path(), entry.file_type()),
                Err(error) => self.found.push(Found::Error(dir.to_path_buf(), error)),
            }
        }
    }

    fn entry(&mut self, path: &Path, file_type: io::Result<FileType>) {
        let kind = match file_type {
            Ok(kind) => kind,
            Err(error) => return self.found.push(Found::Error(path.to_path_buf(), error)),
        };
        if kind.is_dir() {
            if self.on_our_device(path) {
                self.directory(path);
            }
        } else if kind.is_file() {
            self.found
                .push(Found::File(Source::Path(path.to_path_buf())));
        } else if kind.is_symlink() {
            match fs::metadata(path) {
                Ok(target) if target.is_file() => {
                    self.found
                        .push(Found::File(Source::Path(path.to_path_buf())));
                }
                Ok(target) if target.is_dir() => {}
                Ok(target) => self.skip(path, target.file_type()),
                Err(error) => self.found.push(Found::Error(path.to_path_buf(), error)),
            }
        } else {
            self.skip(path, kind);
        }
    }

    fn skip(&mut self, path: &Path, kind: FileType) {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else {
            "not a regular file"
        };
        self.found.push(Found::Skipped(path.to_path_buf(), what));
    }

    /// Whether `dir` may be entered under `-x`.
    fn on_our_device(&mut self, dir: &Path) -> bool {
        let Some(device) = self.device else {
            return true;
        };
        match fs::symlink_metadata(dir) {
            Ok(meta) => meta.dev() == device,
            Err(error) => {
                self.found.push(Found::Error(dir.to_path_buf(), error));
                false
            }
        }
    }
}
