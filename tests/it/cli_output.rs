//! Every subcommand with its stdout closed (early, and while it runs) and
//! on `/dev/full`: no panic, exit 141 for a closed pipe (what a shell
//! reports for a coreutils program killed by SIGPIPE), exit 1 and one
//! message for a write error.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use super::cli_support::{scratch, steward, text, wait};

const LIMIT: Duration = Duration::from_secs(120);

/// A pipe whose reading end is already closed: the first write fails
/// with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn full() -> Stdio {
    Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

fn run_with(args: &[&str], stdout: Stdio, dir: &Path) -> Output {
    let child = steward()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait(child, LIMIT)
}

fn assert_no_panic(output: &Output, what: &str) {
    let stderr = text(&output.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{what}: {stderr}"
    );
}

/// Ended quietly with 141, as on a closed pipe.
fn assert_closed(output: &Output, args: &[&str]) {
    assert_no_panic(output, &format!("{args:?}"));
    assert_eq!(
        output.status.code(),
        Some(141),
        "{args:?}: {}",
        text(&output.stderr)
    );
}

/// Said the write error once and ended with 1, as on a full disk.
fn assert_full(output: &Output, args: &[&str]) {
    assert_no_panic(output, &format!("{args:?}"));
    assert_eq!(
        output.status.code(),
        Some(1),
        "{args:?}: {}",
        text(&output.stderr)
    );
    assert_eq!(
        text(&output.stderr),
        "steward: write error: No space left on device\n",
        "{args:?}"
    );
}

/// Every command that writes to stdout, on `dir` with a tree `tree` and a
/// list `list` of it.
fn commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["config"],
        vec!["--help"],
        vec!["--version"],
        vec!["checksum", "--help"],
        vec!["checksum", "tree"],
        vec!["checksum", "--json", "tree"],
        vec!["checksum", "--check", "list"],
        vec!["monitor", "--once"],
        vec!["monitor", "--json", "--interval", "200", "--count", "3"],
    ]
}

fn tree(name: &str) -> std::path::PathBuf {
    let root = scratch(name);
    fs::create_dir(root.join("tree")).unwrap();
    // More output than a pipe holds (64 KiB), for `checksum -c` too: a
    // reader that leaves early is noticed.
    for n in 0..2500 {
        let name = format!("tree/a-long-name-to-fill-the-pipe-sooner-{n:04}");
        fs::write(root.join(name), format!("{n}")).unwrap();
    }
    let list = steward()
        .args(["checksum", "tree"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(list.status.success());
    fs::write(root.join("list"), list.stdout).unwrap();
    root
}

#[test]
fn a_closed_stdout_ends_every_subcommand_quietly_with_141() {
    let root = tree("output-closed");
    for args in commands() {
        let output = run_with(&args, closed_pipe(), &root);
        assert_closed(&output, &args);
        assert!(
            output.stderr.is_empty(),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_full_stdout_is_said_once_and_exits_1() {
    let root = tree("output-full");
    for args in commands() {
        assert_full(&run_with(&args, full(), &root), &args);
    }
    fs::remove_dir_all(&root).unwrap();
}

/// Reads one line of `args`' stdout, then closes it.
fn close_after_one_line(args: &[&str], dir: &Path) -> Output {
    let mut child = steward()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "{args:?} printed nothing");
    drop(stdout);
    wait(child, LIMIT)
}

#[test]
fn a_reader_that_leaves_early_ends_the_run_with_141() {
    let root = tree("output-head");
    // `monitor` prints once an hour here: it must notice the reader
    // leaving without waiting for its next write.
    for args in [
        &["checksum", "tree"][..],
        &["checksum", "-c", "list"],
        &["monitor", "--interval", "3600000"],
        &["monitor", "--json", "--interval", "3600000"],
    ] {
        assert_closed(&close_after_one_line(args, &root), args);
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn run_ends_quietly_on_a_closed_or_full_stdout() {
    let root = scratch("output-run");
    for args in [
        &["run", "--", "echo", ":::", "a", "b", "c"][..],
        &["run", "-k", "--joblog", "-", "--", "echo", ":::", "a"],
    ] {
        assert_closed(&run_with(args, closed_pipe(), &root), args);
        assert_full(&run_with(args, full(), &root), args);
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn with_nothing_to_write_a_closed_stdout_stops_nothing() {
    let root = tree("output-quiet");
    // `--quiet` on a list that verifies writes nothing to stdout: like
    // sha256sum, it runs to the end and succeeds.
    let ours = run_with(&["checksum", "-c", "--quiet", "list"], closed_pipe(), &root);
    let theirs = super::cli_support::sha256sum()
        .args(["-c", "--quiet", "list"])
        .current_dir(&root)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    assert_no_panic(&ours, "checksum -c --quiet");
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    assert_eq!(ours.status.code(), theirs.status.code());
    fs::remove_dir_all(&root).unwrap();
}
