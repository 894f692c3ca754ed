//! Reads and hashes (SHA-256) every file under a directory, with reads
//! bounded per drive and hashing on the CPU pool, and prints one line per
//! file in `sha256sum`'s format, sorted by path, then the limiters' stats.
//!
//! `cargo run --release --example io_and_cpu -- [DIR]` (default: `.`,
//! skipping `target` and hidden directories)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use steward::Steward;

/// Files in flight at once (read or hashed): bounds memory, while the
/// drive and CPU limits bound the work itself.
const IN_FLIGHT: usize = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let steward = match Steward::start() {
        Ok(steward) => steward,
        Err(err) => {
            eprintln!("io_and_cpu: {err}");
            return ExitCode::from(2);
        }
    };
    let mut files = Vec::new();
    let mut failed = walk(&root, &mut files);

    let hashes = futures::stream::iter(files)
        .map(|path| {
            let steward = steward.clone();
            async move {
                let digest = async {
                    let bytes = steward
                        .drives()
                        .run(&path, tokio::fs::read(&path))
                        .await??;
                    let digest = steward
                        .cpu()
                        .run(move || hex(&Sha256::digest(&bytes)))
                        .await?;
                    Ok::<_, std::io::Error>(digest)
                };
                match digest.await {
                    Ok(digest) => Ok((path, digest)),
                    Err(err) => Err(format!("{}: {err}", path.display())),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;

    let mut lines = Vec::new();
    for result in hashes {
        match result {
            Ok(line) => lines.push(line),
            Err(err) => {
                eprintln!("io_and_cpu: {err}");
                failed = true;
            }
        }
    }
    lines.sort();
    for (path, digest) in &lines {
        println!("{digest}  {}", path.display());
    }

    for drive in steward.drives().stats() {
        eprintln!(
            "drive {}: limit {}, {} reads, longest wait {} µs",
            drive.mount_point.display(),
            drive.limit,
            drive.completed,
            drive.longest_wait_us
        );
    }
    let cpu = steward.cpu().stats();
    eprintln!(
        "cpu: {} workers, {} hashes, {} panicked",
        cpu.workers, cpu.completed, cpu.panicked
    );
    if let Err(err) = steward.shutdown().await {
        eprintln!("io_and_cpu: {err}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Collects regular files under `dir`; reports what it cannot read and
/// returns whether anything failed.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> bool {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!("io_and_cpu: {}: {err}", dir.display());
            return true;
        }
    };
    let mut failed = false;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                eprintln!("io_and_cpu: {}: {err}", dir.display());
                failed = true;
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => {
                let skip = name.to_string_lossy().starts_with('.') || name == "target";
                if !skip {
                    failed |= walk(&path, files);
                }
            }
            Ok(kind) if kind.is_file() => files.push(path),
            Ok(_) => {} // symlinks and special files are not followed
            Err(err) => {
                eprintln!("io_and_cpu: {}: {err}", path.display());
                failed = true;
            }
        }
    }
    failed
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
