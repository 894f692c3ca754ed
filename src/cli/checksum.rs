//! `steward checksum`: SHA-256 of every file, read under its drive's IO
//! limit and hashed on the CPU pool, printed as `sha256sum` does; with
//! `--check`, verifying lists as `sha256sum -c` does (see [`super::check`]).

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use futures::StreamExt;
use steward::Steward;

use super::check::{Verbosity, verify};
use super::digest::{Digest, DigestError, Hasher, Source};
use super::escape::checksum_line;
use super::output::{EXIT_FAILED, EXIT_INTERRUPTED, OutputError, os_error};
use super::progress::Console;
use super::quote::quote;
use super::walk::{Found, Options, walk};
use super::{interrupts, on_own_thread, stderr};

/// Options of `steward checksum`.
#[derive(Debug, clap::Args)]
pub(crate) struct ChecksumArgs {
    /// Files and directories to hash, in this order (directories
    /// recursively, each one's files sorted; `-` is standard input);
    /// default `.`. With --check: the checksum lists to read; default `-`.
    paths: Vec<PathBuf>,
    /// Read SHA-256 sums from the lists and check them, as `sha256sum -c`
    /// does, reading the files in parallel.
    #[arg(short = 'c', long)]
    check: bool,
    /// With --check: print no OK line for each file verified.
    #[arg(long, requires = "check", overrides_with_all = ["status", "warn"])]
    quiet: bool,
    /// With --check: print nothing; the exit status tells.
    #[arg(long, requires = "check", overrides_with_all = ["quiet", "warn"])]
    status: bool,
    /// With --check: warn about each improperly formatted line.
    #[arg(short = 'w', long, requires = "check", overrides_with_all = ["quiet", "status"])]
    warn: bool,
    /// With --check: fail on improperly formatted lines.
    #[arg(long, requires = "check")]
    strict: bool,
    /// With --check: neither fail nor report for a listed file that does
    /// not exist.
    #[arg(long, requires = "check")]
    ignore_missing: bool,
    /// Enter no directory on another file system than the path it was
    /// found under (as `find -xdev`), so `checksum -x /` skips /proc.
    #[arg(short = 'x', long, conflicts_with = "check")]
    one_file_system: bool,
    /// One JSON object per file, then a summary, instead of sha256sum lines.
    #[arg(long, conflicts_with = "check")]
    json: bool,
    /// Concurrent reads per drive (overrides STEWARD_DEFAULT_IO_LIMIT).
    #[arg(long, value_name = "N")]
    io_limit: Option<NonZeroUsize>,
    /// Hashing threads (overrides STEWARD_CPU_WORKERS).
    #[arg(long, value_name = "N")]
    cpu_workers: Option<NonZeroUsize>,
}

impl ChecksumArgs {
    /// The paths given, or `default` alone.
    fn operands(&self, default: &str) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(default)]
        } else {
            self.paths.clone()
        }
    }
}

/// Runs `steward checksum`.
pub(crate) async fn run(args: ChecksumArgs) -> ExitCode {
    let config = match super::config(args.io_limit, args.cpu_workers) {
        Ok(config) => config,
        Err(code) => return code,
    };
    super::with_steward(config, async |steward| {
        if args.check {
            let lists = args.operands("-");
            let verbosity = Verbosity {
                quiet: args.quiet,
                status: args.status,
                warn: args.warn,
                strict: args.strict,
                ignore_missing: args.ignore_missing,
            };
            verify(steward, lists, verbosity).await
        } else {
            checksum(steward, &args).await
        }
    })
    .await
}

/// One thing found, hashed if it is a file.
type Hashed = (Found, Option<Result<Digest, DigestError>>);

async fn checksum(steward: &Steward, args: &ChecksumArgs) -> ExitCode {
    let started = Instant::now();
    let operands = args.operands(".");
    let options = Options {
        one_file_system: args.one_file_system,
    };
    let mut interrupt = match interrupts() {
        Ok(interrupt) => interrupt,
        Err(code) => return code,
    };
    let walked = match on_own_thread("walk", move || walk(&operands, options)) {
        Ok(walked) => walked,
        Err(error) => {
            stderr!("steward: cannot start the directory walk: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let found = tokio::select! {
        found = walked => match found {
            Ok(found) => found,
            Err(_) => {
                stderr!("steward: the directory walk failed");
                return ExitCode::from(EXIT_FAILED);
            }
        },
        _ = interrupt.recv() => {
            stderr!("steward: interrupted");
            return ExitCode::from(EXIT_INTERRUPTED);
        }
    };
    let files = found
        .iter()
        .filter(|found| matches!(found, Found::File(_)))
        .count();
    let hasher = Hasher::new(steward);
    let in_flight = steward.config().cpu_workers().saturating_mul(4).max(16);
    let results = futures::stream::iter(found)
        .map(|found| hash(&hasher, found))
        .buffered(in_flight);
    let mut console = Console::new(Some(files), !args.json);
    let mut errors = 0_usize;
    let ran = console
        .run(results, &mut interrupt, |console, hashed| {
            errors += usize::from(report(console, hashed, args.json)?);
            Ok(())
        })
        .await;
    if let Err(code) = ran {
        return code;
    }
    if args.json {
        let summary = serde_json::json!({ "summary": {
            "files": console.files(), "bytes": console.bytes(), "errors": errors,
            "seconds": started.elapsed().as_secs_f64(),
        }});
        if let Err(error) = console.out(format!("{summary}\n").as_bytes()) {
            return error.exit_code();
        }
    }
    if let Err(error) = console.finish() {
        return error.exit_code();
    }
    if errors > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Hashes `found` if it is a file. The digest is asked for now, not when
/// the future first runs, so streams are read in operand order.
fn hash<'h, 'a>(
    hasher: &'h Hasher<'a>,
    found: Found,
) -> impl Future<Output = Hashed> + use<'h, 'a> {
    let digest = match &found {
        Found::File(source) => Some(hasher.digest(source)),
        _ => None,
    };
    async move {
        match digest {
            Some(digest) => (found, Some(digest.await)),
            None => (found, None),
        }
    }
}

/// Prints one outcome; whether it was an error.
fn report(console: &mut Console, hashed: Hashed, json: bool) -> Result<bool, OutputError> {
    let (found, digest) = hashed;
    let path = match &found {
        Found::File(Source::Stdin) => PathBuf::from("-"),
        Found::File(Source::Path(path)) => path.clone(),
        Found::Error(path, error) => {
            console.say(format_args!(
                "steward: {}: {}",
                quote(path),
                os_error(error)
            ));
            return Ok(true);
        }
        Found::Skipped(path, what) => {
            console.say(format_args!(
                "steward: {}: {what}, skipped (name it to read it)",
                quote(path)
            ));
            return Ok(false);
        }
    };
    match digest {
        Some(Ok(digest)) => {
            console.add(digest.bytes);
            if json {
                let line = serde_json::json!({
                    "path": path.to_string_lossy(), "sha256": digest.hex, "bytes": digest.bytes,
                });
                console.out(format!("{line}\n").as_bytes())?;
            } else {
                console.out(&checksum_line(&digest.hex, &path))?;
            }
            Ok(false)
        }
        Some(Err(error)) => {
            console.say(format_args!("steward: {}: {error}", quote(&path)));
            Ok(true)
        }
        None => Ok(false),
    }
}
