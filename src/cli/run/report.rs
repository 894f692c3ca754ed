//! What the run shows: the jobs' output (printed when a job ends, or in
//! input order with `-k`), the joblog, the progress display; and how
//! stdout failed, if it did.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use super::joblog::{self, Entry, Joblog};
use super::progress::{Counts, Display, Kind};
use super::spool::{JobOutput, Mode, Printer, Stream};
use crate::cli::output::{Output, OutputError, stderr};

/// Stdout through the shared writer, as [`io::Write`] for the printer;
/// keeps how it failed.
struct ToStdout {
    out: Output,
    failure: Option<OutputError>,
    dirty: bool,
}

impl Write for ToStdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self.out.write(bytes) {
            Ok(()) => {
                self.dirty = true;
                Ok(bytes.len())
            }
            Err(error) => {
                self.failure = Some(error);
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.dirty = false;
        self.out.flush().map_err(|error| {
            self.failure = Some(error);
            io::ErrorKind::BrokenPipe.into()
        })
    }
}

/// How the run shows what it does.
#[derive(Debug)]
pub(crate) struct Showing {
    pub(crate) mode: Mode,
    pub(crate) keep_order: bool,
    pub(crate) joblog: Option<Joblog>,
    pub(crate) progress: Option<Kind>,
    /// `--tmpdir`.
    pub(crate) tmpdir: Option<std::path::PathBuf>,
}

/// The run's output.
pub(crate) struct Report {
    printer: Printer<ToStdout, io::Stderr>,
    keep_order: bool,
    /// Ended jobs waiting for their turn (`-k`), by seq, with their
    /// joblog lines.
    held: BTreeMap<u64, (JobOutput, Option<Vec<u8>>)>,
    next_print: u64,
    joblog: Option<Joblog>,
    progress: Option<Display>,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("held", &self.held.len())
            .field("next_print", &self.next_print)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// A report to stdout and stderr; the progress header (for `cpus` and
    /// `slots`) and the joblog's header on stdout (`--joblog -`) go out
    /// now.
    pub(crate) fn new(showing: Showing, cpus: usize, slots: usize) -> Self {
        let stdout = ToStdout {
            out: Output::new(),
            failure: None,
            dirty: false,
        };
        let mut printer = Printer::new(stdout, io::stderr(), showing.mode, showing.tmpdir);
        if matches!(showing.joblog, Some(Joblog::Stdout)) {
            // A failure shows at the first flush.
            let _ = printer.stdout().write_all(joblog::HEADER.as_bytes());
        }
        let progress = showing.progress.map(|kind| {
            let terminal = io::stderr().is_terminal();
            let width = std::env::var("COLUMNS")
                .ok()
                .and_then(|columns| columns.parse().ok())
                .unwrap_or(80);
            let display = Display::new(kind, terminal, width, Instant::now());
            let _ = io::stderr().write_all(display.header(cpus, slots).as_bytes());
            display
        });
        Self {
            printer,
            keep_order: showing.keep_order,
            held: BTreeMap::new(),
            next_print: 1,
            joblog: showing.joblog,
            progress,
        }
    }

    /// Whether job `seq` prints as it goes (line-buffer): always, but
    /// under `-k` only the oldest.
    pub(crate) fn live(&self, seq: u64) -> bool {
        !self.keep_order || seq == self.next_print
    }

    /// `bytes` a running job wrote.
    ///
    /// # Errors
    ///
    /// Stdout (or a spool file) failed.
    pub(crate) fn output(
        &mut self,
        job: &mut JobOutput,
        stream: Stream,
        bytes: &[u8],
        live: bool,
    ) -> Result<(), OutputError> {
        if stream == Stream::Stderr {
            self.clear_progress();
        }
        let taken = self.printer.take(job, stream, bytes, live);
        self.check(taken)
    }

    /// A line of the run itself on stdout (`--dry-run`).
    ///
    /// # Errors
    ///
    /// Stdout failed.
    pub(crate) fn line(&mut self, mut line: Vec<u8>) -> Result<(), OutputError> {
        line.push(b'\n');
        let written = self.printer.stdout().write_all(&line);
        self.check(written)
    }

    /// A joblog line, written when its job's output is printed (as GNU
    /// parallel writes it: under `-k`, in input order).
    ///
    /// # Errors
    ///
    /// Stdout failed (`--joblog -`); a joblog file that fails is said
    /// once and closed.
    fn log(&mut self, line: &[u8]) -> Result<(), OutputError> {
        match &mut self.joblog {
            None => Ok(()),
            Some(Joblog::Stdout) => {
                let written = self.printer.stdout().write_all(line);
                self.check(written)
            }
            Some(Joblog::File(file)) => {
                if let Err(error) = file.write_all(line) {
                    stderr!("steward run: --joblog: {error}");
                    self.joblog = None;
                }
                Ok(())
            }
        }
    }

    /// An ended job's output, then its joblog line (`None`: a job the
    /// run stopped, which is not logged): printed now, or held for its
    /// turn (`-k`). Returns the seq whose turn came (its output may print
    /// as it goes from now on: [`release`](Self::release) it).
    ///
    /// # Errors
    ///
    /// Stdout (or a spool file) failed.
    pub(crate) fn ended(
        &mut self,
        seq: u64,
        output: JobOutput,
        entry: Option<&Entry<'_>>,
    ) -> Result<Option<u64>, OutputError> {
        let line = entry.filter(|_| self.joblog.is_some()).map(Entry::line);
        if !self.keep_order {
            self.print(output, line)?;
            return Ok(None);
        }
        self.held.insert(seq, (output, line));
        let before = self.next_print;
        while let Some((output, line)) = self.held.remove(&self.next_print) {
            self.print(output, line)?;
            self.next_print += 1;
        }
        Ok((self.next_print != before).then_some(self.next_print))
    }

    /// The running job whose turn came prints what it kept, and from now
    /// on as it goes.
    ///
    /// # Errors
    ///
    /// Stdout (or a spool file) failed.
    pub(crate) fn release(&mut self, output: &mut JobOutput) -> Result<(), OutputError> {
        let released = self.printer.release(output);
        self.check(released)
    }

    /// Ended jobs waiting for their turn.
    pub(crate) fn held(&self) -> usize {
        self.held.len()
    }

    /// The newest job started with these arguments (`--bar`).
    pub(crate) fn started_job(&mut self, args: &[Vec<u8>]) {
        if let Some(progress) = &mut self.progress {
            progress.started_job(&args.join(&b' '));
        }
    }

    /// Out with buffered stdout, and the progress line.
    ///
    /// # Errors
    ///
    /// Stdout failed.
    pub(crate) fn flush(&mut self, counts: Counts) -> Result<(), OutputError> {
        if self.printer.stdout().dirty {
            let flushed = self.printer.stdout().flush();
            self.check(flushed)?;
        }
        self.draw(counts, false);
        Ok(())
    }

    /// The end of the run: jobs held for a turn that never came are
    /// printed as they are, then the last progress line.
    ///
    /// # Errors
    ///
    /// Stdout failed.
    pub(crate) fn finish(&mut self, counts: Counts) -> Result<(), OutputError> {
        let mut result = Ok(());
        for (_, (output, line)) in std::mem::take(&mut self.held) {
            // Logged even when stdout has failed: the joblog keeps them.
            let printed = self.print(output, line);
            result = result.and(printed);
        }
        if result.is_ok() {
            result = self.flush(counts);
        }
        self.draw(counts, true);
        if self
            .progress
            .as_ref()
            .is_some_and(|p| !p.clear().is_empty())
        {
            let _ = io::stderr().write_all(b"\n");
        }
        result
    }

    /// A job's output, then its joblog line (written even when the
    /// output could not be).
    fn print(&mut self, output: JobOutput, line: Option<Vec<u8>>) -> Result<(), OutputError> {
        self.clear_progress();
        let printed = self.printer.finish(output);
        let printed = self.check(printed);
        let logged = line.map_or(Ok(()), |line| self.log(&line));
        printed.and(logged)
    }

    fn draw(&mut self, counts: Counts, last: bool) {
        if let Some(progress) = &mut self.progress
            && let Some(line) = progress.update(counts, Instant::now(), last)
        {
            let _ = io::stderr().write_all(line.as_bytes());
        }
    }

    fn clear_progress(&self) {
        if let Some(progress) = &self.progress {
            let _ = io::stderr().write_all(progress.clear().as_bytes());
        }
    }

    /// An I/O error of the printer as stdout's failure; one that is not
    /// stdout's (a spool file's) is said here.
    fn check(&mut self, result: io::Result<()>) -> Result<(), OutputError> {
        let Err(error) = result else {
            return Ok(());
        };
        if let Some(failure) = self.printer.stdout().failure {
            return Err(failure);
        }
        stderr!(
            "steward run: keeping the jobs' output: {}",
            crate::cli::output::os_error(&error)
        );
        Err(OutputError::Failed)
    }
}
