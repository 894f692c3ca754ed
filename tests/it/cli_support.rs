//! What the command-line tests share: the built binary, scratch
//! directories, the real tools to compare with, bounded waits, a terminal.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

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
    if super::poll::some(limit, || child.try_wait().unwrap()).is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the child did not end within {limit:?}");
    }
    child.wait_with_output().unwrap()
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

/// Runs `command` in `dir` fed `stdin`, bounded by two minutes, reading
/// its stdout and stderr as they come (a big output would fill a pipe
/// nobody reads; a command that stops reading early is no error). Its
/// stdout is kept when `keep_stdout`, else only counted: the output and
/// the bytes printed.
pub(crate) fn run_fed(
    mut command: Command,
    dir: &Path,
    stdin: &[u8],
    keep_stdout: bool,
) -> (Output, u64) {
    use std::io::{Read, Write};
    let mut child = command
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut stdout = child.stdout.take().unwrap();
    let printed = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let count = if keep_stdout {
            stdout.read_to_end(&mut kept).unwrap() as u64
        } else {
            std::io::copy(&mut stdout, &mut std::io::sink()).unwrap()
        };
        (kept, count)
    });
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let ended = wait(child, Duration::from_secs(120));
    feeder.join().unwrap();
    let (stdout, count) = printed.join().unwrap();
    let output = Output {
        status: ended.status,
        stdout,
        stderr: said.join().unwrap(),
    };
    (output, count)
}
