//! `steward checksum`, `run` and `monitor`, end to end through the built
//! binary, against the real tools where there is one.

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn steward() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STEWARD_") {
            command.env_remove(name);
        }
    }
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A tree with awkward names: spaces, a newline, a backslash, nesting,
/// an empty file and one of a few MiB.
fn awkward_tree(root: &Path) {
    fs::create_dir_all(root.join("a dir/deeper")).unwrap();
    fs::write(root.join("plain.txt"), b"plain\n").unwrap();
    fs::write(root.join("a dir/with space.txt"), b"spaced").unwrap();
    fs::write(root.join("a dir/deeper/new\nline"), b"newline in the name").unwrap();
    fs::write(root.join("back\\slash"), b"backslash").unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    let big: Vec<u8> = (0..3_000_000_u32).map(|i| (i % 251) as u8).collect();
    fs::write(root.join("big.bin"), big).unwrap();
}

#[test]
fn checksum_prints_exactly_what_sha256sum_prints() {
    let root = scratch("checksum-tree");
    awkward_tree(&root);
    let ours = steward()
        .arg("checksum")
        .arg(".")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(ours.status.success(), "{}", text(&ours.stderr));

    // sha256sum on the same files in the same (byte) order.
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![PathBuf::from(".")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(root.join(&dir)).unwrap() {
            let entry = entry.unwrap();
            let path = dir.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    let theirs = Command::new("sha256sum")
        .args(&files)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(theirs.status.success());
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert_eq!(ours.stdout.iter().filter(|&&b| b == b'\n').count(), 6);

    // And sha256sum -c reads it back.
    let mut check = Command::new("sha256sum")
        .args(["-c", "--quiet", "-"])
        .current_dir(&root)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(&ours.stdout).unwrap();
    assert!(check.wait().unwrap().success());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn checksum_reports_bad_paths_and_goes_on() {
    let root = scratch("checksum-errors");
    fs::write(root.join("good"), b"good").unwrap();
    std::os::unix::fs::symlink("nowhere", root.join("broken")).unwrap();
    let output = steward()
        .args(["checksum", "good", "broken", "missing"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.ends_with("  good\n"), "{stdout}");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("broken: No such file or directory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing: No such file or directory"),
        "{stderr}"
    );

    let json = steward()
        .args(["checksum", "--json", "good"])
        .current_dir(&root)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["path"], "good");
    assert_eq!(lines[0]["bytes"], 4);
    assert_eq!(lines[1]["summary"]["files"], 1);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn checksum_refuses_a_bad_flag_value() {
    let output = steward()
        .args(["checksum", "--io-limit", "0", "."])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("io_limit") || text(&output.stderr).contains("zero"));
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = steward()
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn run_substitutes_inputs_from_stdin_and_after_the_marker() {
    let output = run(&["-j", "3", "--", "echo", "item-{}", "{}"], "a\nb\nc\n");
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut lines: Vec<String> = text(&output.stdout).lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["item-a a", "item-b b", "item-c c"]);

    let output = run(&["--", "echo", ":::", "x", "y z"], "");
    let mut lines: Vec<String> = text(&output.stdout).lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["x", "y z"],
        "the input is appended, spaces kept, no shell"
    );
}

#[test]
fn run_keeps_order_when_asked_and_counts_failures() {
    // Later inputs finish first; --keep-order prints in input order.
    let script = "sleep 0.$((4 - $1)); echo job $1; exit $(( $1 % 2 ))";
    let output = run(
        &[
            "--keep-order",
            "-j",
            "3",
            "--",
            "sh",
            "-c",
            script,
            "sh",
            "{}",
        ],
        "1\n2\n3\n",
    );
    assert_eq!(text(&output.stdout), "job 1\njob 2\njob 3\n");
    // Jobs 1 and 3 exit 1: two failures.
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
}

#[test]
fn run_stops_a_job_past_its_timeout() {
    let output = run(
        &[
            "--timeout",
            "200ms",
            "--grace",
            "1s",
            "--json",
            "--",
            "sleep",
            ":::",
            "30",
            "0",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let jobs = summary["jobs"].as_array().unwrap();
    assert_eq!(jobs[0]["input"], "30");
    assert_eq!(jobs[0]["timed_out"], true);
    assert_eq!(jobs[0]["signal"], 15, "stopped by SIGTERM");
    assert_eq!(jobs[1]["exit_code"], 0);
}

#[test]
fn run_rejects_bad_options_with_a_clear_message() {
    for (args, expected) in [
        (vec!["--timeout", "soon", "--", "true"], "not a duration"),
        (vec!["-j", "0", "--", "true"], "-j 0"),
        (
            vec!["--max-memory-percent", "150", "--", "true"],
            "at most 100",
        ),
    ] {
        let output = run(&args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            text(&output.stderr).contains(expected),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

/// Live `sleep` processes whose environment carries `IT_SIGINT_TAG=tag`
/// (jobs and their descendants inherit it from the steward process).
fn sleepers_with(tag: &str) -> Vec<u32> {
    let mark = format!("IT_SIGINT_TAG={tag}");
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let alive = fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| !stat.contains(") Z "));
            comm.trim() == "sleep"
                && alive
                && fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|&b| b == 0)
                        .any(|entry| entry == mark.as_bytes())
                })
        })
        .collect()
}

#[test]
fn sigint_stops_every_job_and_descendant() {
    let tag = format!("{}", std::process::id());
    // Each job starts a grandchild in its group and one that escapes it.
    let script = "sleep 300 & setsid sleep 300 & wait";
    let child = steward()
        .args([
            "run", "-j", "2", "--grace", "1s", "--", "sh", "-c", script, "sh", ":::", "1", "2", "3",
        ])
        .env("IT_SIGINT_TAG", &tag)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until both running jobs have started both sleepers.
    let started = std::time::Instant::now();
    while sleepers_with(&tag).len() < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "jobs never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    let left = sleepers_with(&tag);
    for pid in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(*pid).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(left.is_empty(), "descendants survived: {left:?}");
}

#[test]
fn monitor_once_prints_a_reading() {
    let output = steward()
        .args(["monitor", "--once", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let reading: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        reading["reading"]["memory"]["total_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );

    let output = steward()
        .args(["monitor", "--once", "--memory", "95", "90"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "warning above critical is refused"
    );
}
