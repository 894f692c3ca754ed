//! The program's output: a stdout that a closed reader ends quietly, a
//! failed write said once, stderr lines that never panic, and the exit
//! codes.
//!
//! `println!` and `eprintln!` panic when the write fails (`| head -1`,
//! `> /dev/full`); nothing in the program uses them (the crate denies
//! `clippy::print_stdout` and `clippy::print_stderr`). Stdout goes through
//! [`Output`], stderr through [`stderr!`].
//!
//! A closed pipe (EPIPE) ends a subcommand as SIGPIPE ends `sha256sum` or
//! `cat`: nothing is said, the exit status is [`EXIT_BROKEN_PIPE`] (141,
//! what a shell reports for a program killed by SIGPIPE, so `set -o
//! pipefail` scripts see what coreutils give them). It is an exit, not
//! death by the signal: Rust ignores SIGPIPE, and the signal would skip the
//! shutdown that stops `steward run`'s jobs and reaps them (restoring its
//! default action would also take the `unsafe` the workspace forbids).
//!
//! Any other write error is said once on stderr, as coreutils say it
//! (`steward: write error: No space left on device`), and the exit status
//! is [`EXIT_FAILED`]. Stdout is one per process, so which of the two it
//! came to is kept process-wide: once stdout has failed, every later write
//! returns the same [`OutputError`] without writing or saying anything.

use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

/// A run that finished with errors (a file unreadable, a checksum that
/// did not match, a job that failed, a write error on stdout).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Bad configuration or usage.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Stopped by SIGINT (128 + 2).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
/// Stdout's reader went away (128 + SIGPIPE's 13).
pub(crate) const EXIT_BROKEN_PIPE: u8 = 141;
/// Stopped by SIGTERM (128 + 15).
pub(crate) const EXIT_TERMINATED: u8 = 143;

/// Writes one line to stderr, formatted as `eprintln!` would, without
/// panicking when stderr cannot be written (there is nowhere left to say
/// so).
macro_rules! stderr {
    ($($arg:tt)*) => {
        $crate::cli::output::stderr_line(::std::format_args!($($arg)*))
    };
}
pub(crate) use stderr;

/// What [`stderr!`] calls: one write of the whole line, so lines from
/// several threads never interleave.
pub(crate) fn stderr_line(args: fmt::Arguments<'_>) {
    let mut line = args.to_string();
    line.push('\n');
    let _ = io::stderr().lock().write_all(line.as_bytes());
}

/// Stdout can take no more output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputError {
    /// Its reader has gone (EPIPE): end quietly with [`EXIT_BROKEN_PIPE`].
    BrokenPipe,
    /// A write failed otherwise; it has been said on stderr. End with
    /// [`EXIT_FAILED`].
    Failed,
}

impl OutputError {
    /// The status the program ends with because of this error.
    pub(crate) fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            Self::BrokenPipe => EXIT_BROKEN_PIPE,
            Self::Failed => EXIT_FAILED,
        })
    }
}

/// How stdout failed, decided by its first failure.
static FAILURE: OnceLock<OutputError> = OnceLock::new();

/// Records `error` as stdout's failure, saying it on stderr the first time
/// unless it is a closed pipe.
fn fail(error: &io::Error) -> OutputError {
    let kind = if error.kind() == io::ErrorKind::BrokenPipe {
        OutputError::BrokenPipe
    } else {
        OutputError::Failed
    };
    if FAILURE.set(kind).is_ok() && kind == OutputError::Failed {
        stderr!("steward: write error: {}", os_error(error));
    }
    FAILURE.get().copied().unwrap_or(kind)
}

/// An error as the C library words it (`No such file or directory`),
/// without Rust's ` (os error 2)` suffix, as coreutils print errors.
pub(crate) fn os_error(error: &io::Error) -> String {
    let text = error.to_string();
    match error.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map_or_else(|| text.clone(), str::to_owned),
        None => text,
    }
}

/// Stdout, buffered. Write with [`write`](Self::write) or
/// [`line`](Self::line); call [`flush`](Self::flush) before the program
/// ends (and whenever the output should be seen now): what is still
/// buffered when an `Output` is dropped is written with its error ignored.
#[derive(Debug)]
pub(crate) struct Output {
    out: BufWriter<io::Stdout>,
    terminal: bool,
}

impl Output {
    /// The process's stdout.
    pub(crate) fn new() -> Self {
        let stdout = io::stdout();
        Self {
            terminal: stdout.is_terminal(),
            out: BufWriter::with_capacity(64 * 1024, stdout),
        }
    }

    /// Whether stdout is a terminal.
    pub(crate) fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Writes `bytes` (into the buffer: see [`flush`](Self::flush)).
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        if let Some(failure) = FAILURE.get() {
            return Err(*failure);
        }
        self.out.write_all(bytes).map_err(|error| fail(&error))
    }

    /// Writes `text` and a newline (into the buffer).
    pub(crate) fn line(&mut self, text: impl fmt::Display) -> Result<(), OutputError> {
        let mut line = text.to_string();
        line.push('\n');
        self.write(line.as_bytes())
    }

    /// Writes out everything buffered.
    pub(crate) fn flush(&mut self) -> Result<(), OutputError> {
        if let Some(failure) = FAILURE.get() {
            return Err(*failure);
        }
        self.out.flush().map_err(|error| fail(&error))
    }
}

/// Writes `text` to stdout and flushes it: the whole output of a command
/// that prints once (`config`, `--help`).
pub(crate) fn print(text: impl fmt::Display) -> Result<(), OutputError> {
    let mut out = Output::new();
    out.write(text.to_string().as_bytes())?;
    out.flush()
}

/// Resolves when stdout is a pipe or socket whose reader has gone, so a
/// command that writes only now and then (`monitor`, long jobs) can end
/// as soon as nobody reads, as `tail -f` does, not at its next write.
/// Never resolves when stdout is anything else (a file, a terminal) or
/// cannot be watched.
///
/// # Cancel safety
///
/// Cancel-safe: one thread per process watches stdout, started by the
/// first call; dropping the future only stops listening to it.
pub(crate) async fn reader_gone() {
    static GONE: OnceLock<Option<tokio::sync::watch::Receiver<bool>>> = OnceLock::new();
    let Some(mut gone) = GONE.get_or_init(watch_stdout).clone() else {
        return std::future::pending().await;
    };
    if gone.wait_for(|gone| *gone).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Starts the thread that waits in poll(2) for stdout's reader to go
/// (POLLERR on a pipe's write end, POLLHUP on a socket). Only pipes and
/// sockets are watched: poll would wait forever on a file.
fn watch_stdout() -> Option<tokio::sync::watch::Receiver<bool>> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;

    let stdout = io::stdout().as_fd().try_clone_to_owned().ok()?;
    let kind = std::fs::File::from(stdout.try_clone().ok()?)
        .metadata()
        .ok()?
        .file_type();
    if !(kind.is_fifo() || kind.is_socket()) {
        return None;
    }
    let (tell, gone) = tokio::sync::watch::channel(false);
    std::thread::Builder::new()
        .name("steward-stdout".to_owned())
        .spawn(move || {
            loop {
                let mut fds = [PollFd::new(stdout.as_fd(), PollFlags::empty())];
                match poll(&mut fds, PollTimeout::NONE) {
                    Err(nix::errno::Errno::EINTR) => {}
                    Ok(_) => {
                        let hung_up = PollFlags::POLLERR | PollFlags::POLLHUP;
                        let seen = fds[0].revents().unwrap_or(PollFlags::POLLNVAL);
                        if seen.intersects(hung_up) {
                            let _ = tell.send(true);
                            return;
                        }
                        if seen.contains(PollFlags::POLLNVAL) {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        })
        .ok()?;
    Some(gone)
}

#[cfg(test)]
mod tests {
    use super::os_error;
    use std::io;

    #[test]
    fn os_errors_read_like_the_c_library_says_them() {
        let missing = io::Error::from_raw_os_error(2);
        assert_eq!(os_error(&missing), "No such file or directory");
        let custom = io::Error::other("no digits");
        assert_eq!(os_error(&custom), "no digits");
    }
}
