//! `steward checksum --check`: verifies checksum lists as `sha256sum -c`
//! does, with the same output, messages and exit status, but reading the
//! listed files in parallel, each under its drive's IO limit.
//!
//! One thread reads the lists line by line (a list may be a slow pipe) and
//! hands the lines over in order; each file is hashed as soon as a slot is
//! free, and the verdicts are printed in list order, so the output is
//! `sha256sum -c`'s byte for byte.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use futures::StreamExt;
use steward::Steward;
use tokio::sync::mpsc;

use super::checklist::{Line, Reader};
use super::digest::{Digest, DigestError, Hasher, Source};
use super::escape::verdict_line;
use super::interrupts;
use super::output::{EXIT_FAILED, OutputError, os_error};
use super::progress::Console;
use super::quote::{quote, quote_bytes};

/// What `sha256sum -c` prints, as its options set it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Verbosity {
    /// No `OK` lines.
    pub(crate) quiet: bool,
    /// Nothing on stdout and no summary: the exit status tells.
    pub(crate) status: bool,
    /// Each malformed line said on stderr.
    pub(crate) warn: bool,
    /// Malformed lines fail the run.
    pub(crate) strict: bool,
    /// A listed file that does not exist is neither a failure nor said.
    pub(crate) ignore_missing: bool,
}

/// One line (or the end) of one list, as the reading thread hands it over.
#[derive(Debug)]
enum Listed {
    Entry {
        hex: String,
        name: Vec<u8>,
    },
    Malformed {
        list: usize,
        line: u64,
    },
    /// The list could not be opened.
    Unopened {
        list: usize,
        error: io::Error,
    },
    /// The list is done; `failed`: reading it failed part way.
    End {
        list: usize,
        failed: bool,
    },
}

/// A listed line, with the digest of its file when it names one.
type Checked = (Listed, Option<Result<Digest, DigestError>>);

/// How one list went.
#[derive(Debug, Default)]
struct Tally {
    malformed: u64,
    unreadable: u64,
    mismatched: u64,
    formatted: bool,
    matched: bool,
}

/// Verifies `lists` (`-` is standard input).
pub(crate) async fn verify(
    steward: &Steward,
    lists: Vec<PathBuf>,
    verbosity: Verbosity,
) -> ExitCode {
    let names: Vec<String> = lists
        .iter()
        .map(|list| {
            if list.as_os_str() == "-" {
                quote_bytes(b"standard input")
            } else {
                quote(list)
            }
        })
        .collect();
    let mut interrupt = match interrupts() {
        Ok(interrupt) => interrupt,
        Err(code) => return code,
    };
    let (send, receive) = mpsc::channel(1024);
    if let Err(error) = std::thread::Builder::new()
        .name("steward-lists".to_owned())
        .spawn(move || read_lists(&lists, &send))
    {
        super::stderr!("steward: cannot start reading the lists: {error}");
        return ExitCode::from(EXIT_FAILED);
    }
    let hasher = Hasher::new(steward);
    let in_flight = steward.config().cpu_workers().saturating_mul(4).max(16);
    let listed = futures::stream::unfold(receive, |mut receive| async {
        receive.recv().await.map(|listed| (listed, receive))
    });
    let checked = listed
        .map(|listed| check(&hasher, listed))
        .buffered(in_flight);
    let mut console = Console::new(None, !verbosity.status);
    let mut verifier = Verifier {
        verbosity,
        names,
        tally: Tally::default(),
        ok: true,
    };
    let ran = console
        .run(checked, &mut interrupt, |console, checked| {
            verifier.record(console, checked)
        })
        .await;
    if let Err(code) = ran {
        return code;
    }
    if let Err(error) = console.finish() {
        return error.exit_code();
    }
    if verifier.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// The digest of the file `listed` names, if it names one. The digest is
/// asked for now, not when the future first runs, so streams are read in
/// list order.
fn check<'h, 'a>(
    hasher: &'h Hasher<'a>,
    listed: Listed,
) -> impl Future<Output = Checked> + use<'h, 'a> {
    let digest = match &listed {
        Listed::Entry { name, .. } if name == b"-" => Some(hasher.digest(&Source::Stdin)),
        Listed::Entry { name, .. } => {
            Some(hasher.digest(&Source::Path(PathBuf::from(OsStr::from_bytes(name)))))
        }
        _ => None,
    };
    async move {
        match digest {
            Some(digest) => (listed, Some(digest.await)),
            None => (listed, None),
        }
    }
}

/// Reads every list in turn, on its own thread; stops early when the
/// receiving side has gone.
fn read_lists(lists: &[PathBuf], send: &mpsc::Sender<Listed>) {
    // One reader for the whole run: the reversed BSD form, once seen,
    // holds for every later list, as in coreutils.
    let mut reader = Reader::default();
    for (list, path) in lists.iter().enumerate() {
        let from_stdin = path.as_os_str() == "-";
        let input: Box<dyn BufRead> = if from_stdin {
            Box::new(BufReader::new(io::stdin()))
        } else {
            match File::open(path) {
                Ok(file) => Box::new(BufReader::with_capacity(64 * 1024, file)),
                Err(error) => {
                    if send
                        .blocking_send(Listed::Unopened { list, error })
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
            }
        };
        let Some(failed) = read_list(list, input, from_stdin, &mut reader, send) else {
            return;
        };
        if send.blocking_send(Listed::End { list, failed }).is_err() {
            return;
        }
    }
}

/// Sends one list's lines; whether reading it failed, or `None` if the
/// receiving side has gone.
fn read_list(
    list: usize,
    mut input: Box<dyn BufRead>,
    from_stdin: bool,
    reader: &mut Reader,
    send: &mpsc::Sender<Listed>,
) -> Option<bool> {
    let mut line = Vec::new();
    let mut number = 0_u64;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Some(false),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Some(true),
        }
        number += 1;
        let listed = match reader.read(&line, from_stdin) {
            Line::Skip => continue,
            Line::Entry { hex, name } => Listed::Entry { hex, name },
            Line::Malformed => Listed::Malformed { list, line: number },
        };
        send.blocking_send(listed).ok()?;
    }
}

/// Prints the verdicts and keeps the tallies.
struct Verifier {
    verbosity: Verbosity,
    /// Each list's name as messages quote it.
    names: Vec<String>,
    /// The list being read now.
    tally: Tally,
    /// No list has failed so far.
    ok: bool,
}

impl Verifier {
    fn record(
        &mut self,
        console: &mut Console,
        (listed, digest): Checked,
    ) -> Result<(), OutputError> {
        match (listed, digest) {
            (Listed::Entry { hex, name, .. }, Some(digest)) => {
                self.verdict(console, &hex, &name, digest)
            }
            (Listed::Malformed { list, line }, _) => {
                self.tally.malformed += 1;
                if self.verbosity.warn {
                    let name = &self.names[list];
                    console.say(format_args!(
                        "steward: {name}: {line}: improperly formatted SHA256 checksum line"
                    ));
                }
                Ok(())
            }
            (Listed::Unopened { list, error }, _) => {
                let name = &self.names[list];
                console.say(format_args!("steward: {name}: {}", os_error(&error)));
                self.ok = false;
                Ok(())
            }
            (Listed::End { list, failed }, _) => {
                self.summary(console, list, failed);
                Ok(())
            }
            (Listed::Entry { .. }, None) => Ok(()),
        }
    }

    fn verdict(
        &mut self,
        console: &mut Console,
        hex: &str,
        name: &[u8],
        digest: Result<Digest, DigestError>,
    ) -> Result<(), OutputError> {
        self.tally.formatted = true;
        let verdict = match digest {
            Err(error) if self.verbosity.ignore_missing && error.is_missing() => return Ok(()),
            Err(error) => {
                console.say(format_args!("steward: {}: {error}", quote_bytes(name)));
                self.tally.unreadable += 1;
                "FAILED open or read"
            }
            Ok(digest) => {
                console.add(digest.bytes);
                if digest.hex == hex {
                    self.tally.matched = true;
                    if self.verbosity.quiet {
                        return Ok(());
                    }
                    "OK"
                } else {
                    self.tally.mismatched += 1;
                    "FAILED"
                }
            }
        };
        if self.verbosity.status {
            return Ok(());
        }
        console.out(&verdict_line(name, verdict))
    }

    /// The end of one list: its warnings, and whether it passed.
    fn summary(&mut self, console: &mut Console, list: usize, failed: bool) {
        let tally = std::mem::take(&mut self.tally);
        let name = &self.names[list];
        if failed {
            console.say(format_args!("steward: {name}: read error"));
            self.ok = false;
            return;
        }
        if !tally.formatted {
            console.say(format_args!(
                "steward: {name}: no properly formatted checksum lines found"
            ));
            self.ok = false;
            return;
        }
        if !self.verbosity.status {
            let warnings = [
                (
                    tally.malformed,
                    "line is improperly formatted",
                    "lines are improperly formatted",
                ),
                (
                    tally.unreadable,
                    "listed file could not be read",
                    "listed files could not be read",
                ),
                (
                    tally.mismatched,
                    "computed checksum did NOT match",
                    "computed checksums did NOT match",
                ),
            ];
            for (count, one, many) in warnings {
                if count > 0 {
                    let what = if count == 1 { one } else { many };
                    console.say(format_args!("steward: WARNING: {count} {what}"));
                }
            }
            if self.verbosity.ignore_missing && !tally.matched {
                console.say(format_args!("steward: {name}: no file was verified"));
            }
        }
        let passed = tally.matched
            && tally.mismatched == 0
            && tally.unreadable == 0
            && (!self.verbosity.strict || tally.malformed == 0);
        self.ok &= passed;
    }
}
