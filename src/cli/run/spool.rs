//! The output spooler: what each job writes is kept until it may be
//! printed, in memory while small, in an unnamed temporary file beyond
//! that (as GNU parallel spools to `$TMPDIR`), so 300 jobs printing 1 MB
//! each cost disk, not memory.
//!
//! - [`Mode::Group`] (the default): a job's output is printed whole when
//!   it ends, stdout then stderr, never mixed with another job's.
//! - [`Mode::LineBuffer`] (`--line-buffer`): whole lines are printed as
//!   they come; lines of different jobs may alternate, never mix. A job
//!   that may not print yet (`-k`: not the oldest) keeps its lines until
//!   it may.
//!
//! `--tag` puts a tag before each line (after each `\n` or `\r` that more
//! output follows), as GNU parallel does.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// One of a job's two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout = 0,
    Stderr = 1,
}

/// How the jobs' output comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Each job's output whole, when it ends.
    Group,
    /// Whole lines as they come.
    LineBuffer,
}

/// How much output one job keeps in memory before it goes to a file.
const JOB_MEMORY: usize = 64 * 1024;
/// How much output all jobs keep in memory together.
const TOTAL_MEMORY: usize = 4 * 1024 * 1024;
/// How much is copied out of a spool file at a time.
const COPY_CHUNK: usize = 64 * 1024;

/// Output kept for later: in memory, or in an unnamed temporary file.
#[derive(Debug)]
enum Kept {
    Memory(Vec<u8>),
    File { file: File, length: u64 },
}

impl Default for Kept {
    fn default() -> Self {
        Self::Memory(Vec::new())
    }
}

impl Kept {
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        match self {
            Self::Memory(bytes) => bytes.is_empty(),
            Self::File { length, .. } => *length == 0,
        }
    }

    fn memory(&self) -> usize {
        match self {
            Self::Memory(bytes) => bytes.len(),
            Self::File { .. } => 0,
        }
    }
}

/// Puts the tag at the start of each line.
#[derive(Debug)]
struct Tagger {
    /// Whether the next byte starts a line.
    line_start: bool,
}

impl Default for Tagger {
    fn default() -> Self {
        Self { line_start: true }
    }
}

impl Tagger {
    /// `bytes`, with `tag` before each line start, written to `out`.
    fn write(&mut self, tag: &[u8], bytes: &[u8], out: &mut impl Write) -> io::Result<()> {
        if tag.is_empty() {
            return out.write_all(bytes);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.line_start {
                out.write_all(tag)?;
            }
            let end = rest
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
                .map_or(rest.len(), |at| at + 1);
            out.write_all(&rest[..end])?;
            self.line_start = matches!(rest[end - 1], b'\n' | b'\r');
            rest = &rest[end..];
        }
        Ok(())
    }
}

/// One job's output on its way out.
#[derive(Debug, Default)]
pub(crate) struct JobOutput {
    /// Before each line: `--tag`'s or `--tagstring`'s tag and a tab.
    tag: Vec<u8>,
    kept: [Kept; 2],
    taggers: [Tagger; 2],
    /// Line-buffer: the start of a line not complete yet.
    partial: [Vec<u8>; 2],
    /// Bytes received on stdout (the joblog's `Receive`; on both streams
    /// in line-buffer mode, as in GNU parallel).
    received: u64,
    /// `--results`: the output goes to these files, not to the screen.
    to_files: bool,
}

impl JobOutput {
    /// Output printed with `tag` (empty: no tag) before each line.
    pub(crate) fn new(tag: Vec<u8>) -> Self {
        Self {
            tag,
            ..Self::default()
        }
    }

    /// Output written straight into `stdout` and `stderr` (`--results`),
    /// never printed.
    pub(crate) fn into_files(stdout: File, stderr: File) -> Self {
        Self {
            kept: [
                Kept::File {
                    file: stdout,
                    length: 0,
                },
                Kept::File {
                    file: stderr,
                    length: 0,
                },
            ],
            to_files: true,
            ..Self::default()
        }
    }

    /// The joblog's `Receive`.
    pub(crate) fn received(&self) -> u64 {
        self.received
    }
}

/// Prints the jobs' output to the program's stdout and stderr.
#[derive(Debug)]
pub(crate) struct Printer<O, E> {
    stdout: O,
    stderr: E,
    mode: Mode,
    /// Where spool files go (`--tmpdir`; `None`: `$TMPDIR`).
    tmpdir: Option<PathBuf>,
    /// Output kept in memory, all jobs together.
    in_memory: usize,
}

impl<O: Write, E: Write> Printer<O, E> {
    /// A printer to `stdout` and `stderr`.
    pub(crate) fn new(stdout: O, stderr: E, mode: Mode, tmpdir: Option<PathBuf>) -> Self {
        Self {
            stdout,
            stderr,
            mode,
            tmpdir,
            in_memory: 0,
        }
    }

    /// The program's stdout, for what is not a job's output (`--dry-run`).
    pub(crate) fn stdout(&mut self) -> &mut O {
        &mut self.stdout
    }

    /// `bytes` a job wrote on `stream`; `live`: the job may print now
    /// (line-buffer mode only).
    ///
    /// # Errors
    ///
    /// Writing stdout (or a spool file) failed.
    pub(crate) fn take(
        &mut self,
        job: &mut JobOutput,
        stream: Stream,
        bytes: &[u8],
        live: bool,
    ) -> io::Result<()> {
        if stream == Stream::Stdout || self.mode == Mode::LineBuffer {
            job.received += bytes.len() as u64;
        }
        if job.to_files || self.mode == Mode::Group || !live {
            return self.keep(job, stream, bytes);
        }
        self.lines(job, stream, bytes)
    }

    /// Line-buffer: whole lines out (after the line start that waited),
    /// the rest waits.
    fn lines(&mut self, job: &mut JobOutput, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let index = stream as usize;
        let complete = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .or_else(|| bytes.iter().rposition(|&b| b == b'\r'))
            .map_or(0, |at| at + 1);
        if complete == 0 {
            job.partial[index].extend_from_slice(bytes);
            return Ok(());
        }
        let partial = std::mem::take(&mut job.partial[index]);
        self.write(job, stream, &partial)?;
        self.write(job, stream, &bytes[..complete])?;
        job.partial[index] = bytes[complete..].to_vec();
        Ok(())
    }

    /// The job may print now (its turn came under `-k`): what it kept
    /// goes out, whole lines only in line-buffer mode.
    ///
    /// # Errors
    ///
    /// Writing stdout or reading a spool file failed.
    pub(crate) fn release(&mut self, job: &mut JobOutput) -> io::Result<()> {
        if job.to_files || self.mode != Mode::LineBuffer {
            return Ok(());
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            let kept = std::mem::take(&mut job.kept[stream as usize]);
            self.in_memory -= kept.memory();
            self.copy_out(job, stream, kept, true)?;
        }
        Ok(())
    }

    /// The job ended and its turn has come: everything left goes out,
    /// stdout then stderr.
    ///
    /// # Errors
    ///
    /// Writing stdout or reading a spool file failed.
    pub(crate) fn finish(&mut self, mut job: JobOutput) -> io::Result<()> {
        if job.to_files {
            for kept in &mut job.kept {
                if let Kept::File { file, .. } = kept {
                    file.flush()?;
                }
            }
            return Ok(());
        }
        for stream in [Stream::Stdout, Stream::Stderr] {
            let index = stream as usize;
            let kept = std::mem::take(&mut job.kept[index]);
            self.in_memory -= kept.memory();
            self.copy_out(&mut job, stream, kept, false)?;
            let partial = std::mem::take(&mut job.partial[index]);
            self.write(&mut job, stream, &partial)?;
        }
        Ok(())
    }

    /// Kept output out, through the tagger; `lines`: only whole lines
    /// (the rest waits in `partial`).
    fn copy_out(
        &mut self,
        job: &mut JobOutput,
        stream: Stream,
        kept: Kept,
        lines: bool,
    ) -> io::Result<()> {
        match kept {
            Kept::Memory(bytes) => self.pass(job, stream, &bytes, lines),
            Kept::File { mut file, .. } => {
                file.seek(SeekFrom::Start(0))?;
                let mut chunk = vec![0; COPY_CHUNK];
                loop {
                    let read = match file.read(&mut chunk) {
                        Ok(0) => return Ok(()),
                        Ok(read) => read,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(error) => return Err(error),
                    };
                    self.pass(job, stream, &chunk[..read], lines)?;
                }
            }
        }
    }

    fn pass(
        &mut self,
        job: &mut JobOutput,
        stream: Stream,
        bytes: &[u8],
        lines: bool,
    ) -> io::Result<()> {
        if lines {
            self.lines(job, stream, bytes)
        } else {
            self.write(job, stream, bytes)
        }
    }

    /// Out now, tagged.
    fn write(&mut self, job: &mut JobOutput, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let tagger = &mut job.taggers[stream as usize];
        match stream {
            Stream::Stdout => tagger.write(&job.tag, bytes, &mut self.stdout),
            // Stdout is buffered, stderr is not: what went to stdout goes
            // out first, or a job's stderr would come before its stdout
            // (and before earlier jobs' stdout) when both are one file
            // (`> log 2>&1`). Stderr is written even when stdout failed;
            // a job's stderr that cannot be written has nowhere to go.
            Stream::Stderr => {
                let flushed = self.stdout.flush();
                let _ = tagger.write(&job.tag, bytes, &mut self.stderr);
                flushed
            }
        }
    }

    /// Kept for later: in memory while this job's and everyone's share
    /// allow, then in a temporary file.
    fn keep(&mut self, job: &mut JobOutput, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        let kept = &mut job.kept[stream as usize];
        if let Kept::Memory(memory) = kept {
            let fits = memory.len() + bytes.len() <= JOB_MEMORY
                && self.in_memory + bytes.len() <= TOTAL_MEMORY;
            if fits {
                memory.extend_from_slice(bytes);
                self.in_memory += bytes.len();
                return Ok(());
            }
            let mut file = match &self.tmpdir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            };
            file.write_all(memory)?;
            self.in_memory -= memory.len();
            let length = memory.len() as u64;
            *kept = Kept::File { file, length };
        }
        if let Kept::File { file, length } = kept {
            file.write_all(bytes)?;
            *length += bytes.len() as u64;
        }
        Ok(())
    }

    /// Output kept in memory, all jobs together.
    #[cfg(test)]
    pub(crate) fn in_memory(&self) -> usize {
        self.in_memory
    }
}

impl JobOutput {
    /// Whether nothing is kept.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.kept.iter().all(Kept::is_empty) && self.partial.iter().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests;
