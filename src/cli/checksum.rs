//! `steward checksum`: SHA-256 of every file, read under its drive's IO
//! limit and hashed on the CPU pool, printed as `sha256sum` does.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sha2::{Digest, Sha256};
use steward::Steward;

use super::escape::checksum_line;
use super::output::{Output, OutputError};
use super::progress::Progress;
use super::walk::walk;
use super::{EXIT_FAILED, EXIT_INTERRUPTED, stderr};

/// Options of `steward checksum`.
#[derive(Debug, clap::Args)]
pub(crate) struct ChecksumArgs {
    /// Files and directories to hash (directories recursively).
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// One JSON object per file, then a summary, instead of sha256sum lines.
    #[arg(long)]
    json: bool,
    /// Concurrent reads per drive (overrides STEWARD_DEFAULT_IO_LIMIT).
    #[arg(long, value_name = "N")]
    io_limit: Option<usize>,
    /// Hashing threads (overrides STEWARD_CPU_WORKERS).
    #[arg(long, value_name = "N")]
    cpu_workers: Option<usize>,
}

/// Read size for large files; one buffer per CPU worker, reused.
const CHUNK: usize = 256 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads and hashes one file on the calling (CPU pool) thread.
fn digest_file(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut total = 0_u64;
    BUFFER.with_borrow_mut(|buffer| {
        buffer.resize(CHUNK, 0);
        loop {
            match file.read(buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    hasher.update(&buffer[..n]);
                    total += n as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    })?;
    Ok((format!("{:x}", hasher.finalize()), total))
}

/// One file's outcome.
struct Hashed {
    path: PathBuf,
    outcome: Result<(String, u64), String>,
}

async fn hash(steward: &Steward, path: PathBuf) -> Hashed {
    let outcome = async {
        // The permit bounds concurrent reads on the file's drive; the read
        // and the hash then run in one CPU job, with no further hop.
        let _permit = steward
            .drives()
            .acquire(&path)
            .await
            .map_err(|e| e.to_string())?;
        let job_path = path.clone();
        steward
            .cpu()
            .run(move || digest_file(&job_path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
    .await;
    Hashed { path, outcome }
}

/// Runs `steward checksum`.
pub(crate) async fn run(args: ChecksumArgs) -> ExitCode {
    let config = match super::config(args.io_limit, args.cpu_workers) {
        Ok(config) => config,
        Err(code) => return code,
    };
    super::with_steward(config, async |steward| checksum(steward, &args).await).await
}

async fn checksum(steward: &Steward, args: &ChecksumArgs) -> ExitCode {
    let started = Instant::now();
    let roots = args.paths.clone();
    let found = match tokio::task::spawn_blocking(move || walk(&roots)).await {
        Ok(found) => found,
        Err(error) => {
            stderr!("steward: the directory walk failed: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let mut errors = found.errors.len();
    for (path, error) in &found.errors {
        stderr!("steward: {}: {error}", path.display());
    }

    let in_flight = steward.config().cpu_workers().saturating_mul(4).max(16);
    let mut progress = Progress::new(found.files.len(), !args.json);
    let mut results = futures::stream::iter(found.files)
        .map(|path| hash(steward, path))
        .buffered(in_flight);
    let mut out = Output::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(250));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut interrupted = false;
    loop {
        tokio::select! {
            biased;
            _ = &mut interrupt => {
                interrupted = true;
                break;
            }
            next = results.next() => {
                let Some(hashed) = next else { break };
                if let Err(error) = write_outcome(&mut out, &hashed, args.json, &mut progress) {
                    progress.clear();
                    return error.exit_code();
                }
                errors += usize::from(hashed.outcome.is_err());
            }
            _ = ticker.tick() => progress.draw(),
        }
    }
    progress.clear();
    if args.json && !interrupted {
        let summary = serde_json::json!({ "summary": {
            "files": progress.files(), "bytes": progress.bytes(), "errors": errors,
            "seconds": started.elapsed().as_secs_f64(),
        }});
        if let Err(error) = out.line(summary) {
            return error.exit_code();
        }
    }
    if let Err(error) = out.flush() {
        return error.exit_code();
    }
    if interrupted {
        stderr!("steward: interrupted");
        ExitCode::from(EXIT_INTERRUPTED)
    } else if errors > 0 {
        ExitCode::from(EXIT_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_outcome(
    out: &mut Output,
    hashed: &Hashed,
    json: bool,
    progress: &mut Progress,
) -> Result<(), OutputError> {
    match &hashed.outcome {
        Ok((hex, bytes)) => {
            progress.add(*bytes);
            if json {
                let line = serde_json::json!({
                    "path": hashed.path.to_string_lossy(), "sha256": hex, "bytes": bytes,
                });
                out.line(line)
            } else {
                out.write(&checksum_line(hex, &hashed.path))
            }
        }
        Err(error) => {
            stderr!("steward: {}: {error}", hashed.path.display());
            Ok(())
        }
    }
}
