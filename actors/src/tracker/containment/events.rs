//! Waiting on a cgroup's `cgroup.events` (`populated`, `frozen`).
//!
//! The kernel also wakes `poll(POLLPRI)` on the file when a value changes,
//! but registering a file with tokio's reactor needs `unsafe` since tokio
//! 1.52 (`AsyncFd::register`), so the file is read instead, first after
//! 1 ms, the pause doubling up to 16 ms: a stop that ends at once is seen
//! at once, and a long wait costs a 2 µs read every 16 ms.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

/// The first and the longest pause between two reads.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(16);

/// The value of `field` (`populated`, `frozen`) in a `cgroup.events` text.
pub(crate) fn field(text: &str, field: &str) -> Option<bool> {
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(name, _)| *name == field)
        .map(|(_, value)| value.trim() == "1")
}

/// Reads `name` from an open `cgroup.events`; `None` if the cgroup is gone.
fn read(file: &File, name: &str) -> Option<bool> {
    let mut buffer = [0_u8; 256];
    let read = file.read_at(&mut buffer, 0).ok()?;
    field(std::str::from_utf8(&buffer[..read]).ok()?, name)
}

/// Whether `name` of `<cgroup>/cgroup.events` is `value` now (false if the
/// cgroup is gone).
pub(crate) fn is(cgroup: &Path, name: &str, value: bool) -> bool {
    File::open(cgroup.join("cgroup.events"))
        .ok()
        .and_then(|file| read(&file, name))
        .is_some_and(|now| now == value)
}

/// Waits, at most `within`, until `name` of `<cgroup>/cgroup.events` is
/// `value`; true if it is.
pub(crate) async fn wait_for(cgroup: &Path, name: &str, value: bool, within: Duration) -> bool {
    let Ok(file) = File::open(cgroup.join("cgroup.events")) else {
        return !value;
    };
    let reached = |file: &File| read(file, name).is_none_or(|now| now == value);
    let now = reached(&file);
    if now || within.is_zero() {
        // No timer, no clock read, when the answer is now.
        return now;
    }
    let waiting = async {
        let mut pause = FIRST_PAUSE;
        while !reached(&file) {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    };
    tokio::time::timeout(within, waiting).await.is_ok()
}

#[cfg(test)]
mod tests;
