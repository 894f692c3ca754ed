//! The screen of a long run: output lines on stdout, messages on stderr,
//! and, when stderr is a terminal, a progress line under them.
//!
//! The progress line is drawn with `\r` and no newline, so anything else
//! written to the terminal would run into it: it is cleared first, before
//! every message on stderr and, when stdout is the terminal too, before
//! every output line (which is then flushed at once, as a terminal's
//! output is line-buffered anyway). It comes back at the next tick.
//!
//! [`Console::run`] is the loop both `checksum` modes run their results
//! through: ticks, Ctrl-C, and a reader that left.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::pin::pin;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use tokio::signal::unix::Signal;

use super::output::{EXIT_INTERRUPTED, Output, OutputError, reader_gone, stderr};

/// Clears the line the cursor is on (carriage return, erase to the end).
const CLEAR_LINE: &str = "\r\x1b[K";

/// stdout, stderr and the progress line of one run.
#[derive(Debug)]
pub(crate) struct Console {
    out: Output,
    progress: bool,
    /// The progress line is on the screen now.
    drawn: bool,
    started: Instant,
    total_files: Option<usize>,
    files: usize,
    bytes: u64,
}

impl Console {
    /// A console counting towards `total_files` (`None`: not known in
    /// advance); the progress line is drawn only if `progress` is wanted
    /// and stderr is a terminal.
    pub(crate) fn new(total_files: Option<usize>, progress: bool) -> Self {
        Self {
            out: Output::new(),
            progress: progress && std::io::stderr().is_terminal(),
            drawn: false,
            started: Instant::now(),
            total_files,
            files: 0,
            bytes: 0,
        }
    }

    /// Writes an output line (or several) to stdout.
    pub(crate) fn out(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        if self.out.is_terminal() {
            self.clear();
            self.out.write(bytes)?;
            self.out.flush()
        } else {
            self.out.write(bytes)
        }
    }

    /// Writes a message line to stderr.
    pub(crate) fn say(&mut self, message: fmt::Arguments<'_>) {
        self.clear();
        stderr!("{message}");
    }

    /// Counts a file of `bytes` done.
    pub(crate) fn add(&mut self, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
    }

    /// Files counted.
    pub(crate) fn files(&self) -> usize {
        self.files
    }

    /// Bytes counted.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Draws the progress line (a tick).
    pub(crate) fn draw(&mut self) {
        if !self.progress {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        let mib = self.bytes as f64 / (1024.0 * 1024.0);
        let files = match self.total_files {
            Some(total) => format!("{}/{total}", self.files),
            None => self.files.to_string(),
        };
        let line = format!(
            "{CLEAR_LINE}{files} files, {mib:.1} MiB, {:.1} MiB/s",
            mib / seconds
        );
        let mut stderr = std::io::stderr().lock();
        // A progress line that cannot be drawn is not worth failing for.
        let _ = stderr.write_all(line.as_bytes());
        let _ = stderr.flush();
        self.drawn = true;
    }

    /// Takes the progress line off the screen, if it is on it.
    pub(crate) fn clear(&mut self) {
        if self.drawn {
            let _ = std::io::stderr().lock().write_all(CLEAR_LINE.as_bytes());
            self.drawn = false;
        }
    }

    /// Writes out what stdout holds.
    pub(crate) fn flush(&mut self) -> Result<(), OutputError> {
        self.out.flush()
    }

    /// Hands each of `results` to `record`, in order, while the progress
    /// line ticks; Ctrl-C (`interrupt`) ends the run with 130, stdout's
    /// failure with its own status. `Err` holds the status of a run that
    /// ended early.
    pub(crate) async fn run<T>(
        &mut self,
        results: impl Stream<Item = T>,
        interrupt: &mut Signal,
        mut record: impl FnMut(&mut Self, T) -> Result<(), OutputError>,
    ) -> Result<(), ExitCode> {
        let mut results = pin!(results);
        let mut ticker = tokio::time::interval(Duration::from_millis(250));
        let mut watch_reader = true;
        let failed = loop {
            tokio::select! {
                biased;
                _ = interrupt.recv() => {
                    self.say(format_args!("steward: interrupted"));
                    let _ = self.finish();
                    return Err(ExitCode::from(EXIT_INTERRUPTED));
                }
                next = results.next() => {
                    let Some(result) = next else { return Ok(()) };
                    if let Err(error) = record(self, result) {
                        break error;
                    }
                }
                // Output is buffered: a reader that left is noticed now,
                // not at the next flush; with nothing to write
                // (`--quiet`), the run goes on, as sha256sum's would.
                () = reader_gone(), if watch_reader => {
                    watch_reader = false;
                    if let Err(error) = self.flush() {
                        break error;
                    }
                }
                _ = ticker.tick() => self.draw(),
            }
        };
        self.clear();
        Err(failed.exit_code())
    }

    /// Clears the progress line and writes out what stdout holds.
    pub(crate) fn finish(&mut self) -> Result<(), OutputError> {
        self.clear();
        self.out.flush()
    }
}
