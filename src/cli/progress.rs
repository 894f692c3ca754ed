//! A one-line progress display on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Files and bytes done, redrawn in place.
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    started: Instant,
    total_files: usize,
    files: usize,
    bytes: u64,
}

impl Progress {
    /// A display for `total_files`; silent unless stderr is a terminal and
    /// `wanted`.
    pub(crate) fn new(total_files: usize, wanted: bool) -> Self {
        Self {
            enabled: wanted && std::io::stderr().is_terminal(),
            started: Instant::now(),
            total_files,
            files: 0,
            bytes: 0,
        }
    }

    pub(crate) fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }

    pub(crate) fn files(&self) -> usize {
        self.files
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn draw(&self) {
        if !self.enabled {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let mib = self.bytes as f64 / (1024.0 * 1024.0);
        let mut stderr = std::io::stderr().lock();
        // A failed progress write is not worth failing the job for.
        let _ = write!(
            stderr,
            "\r\x1b[K{}/{} files, {mib:.1} MiB, {:.1} MiB/s",
            self.files,
            self.total_files,
            mib / seconds
        );
        let _ = stderr.flush();
    }

    pub(crate) fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}
