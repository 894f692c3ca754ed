//! What the command-line tests share: the built binary, scratch
//! directories, the real tools to compare with, bounded waits, a terminal.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// The `steward` binary, with none of the caller's `STEWARD_*` variables.
pub(crate) fn steward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STEWARD_") {
            command.env_remove(name);
        }
    }
    command
}

/// GNU `sha256sum`, in the UTF-8 locale steward quotes names for.
pub(crate) fn sha256sum() -> Command {
    let mut command = Command::new("sha256sum");
    command.env("LC_ALL", "C.UTF-8");
    command
}

/// An empty directory of its own for a test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits for `child` at most `limit`; kills it and fails the test past it.
pub(crate) fn wait(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Polls `condition` every 20 ms for at most `limit`.
pub(crate) fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `command` run by util-linux `script` on a pseudo-terminal (stdin,
/// stdout and stderr all the terminal), everything it writes to the
/// terminal recorded in `typescript` as it is written.
pub(crate) fn on_a_terminal(command: &[&OsStr], typescript: &Path) -> Command {
    let words: Vec<String> = command
        .iter()
        .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', "'\\''")))
        .collect();
    let mut script = Command::new("script");
    script
        .args(["--quiet", "--flush", "--return", "--command"])
        .arg(words.join(" "))
        .arg(typescript)
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    script
}
