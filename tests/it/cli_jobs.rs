//! `steward run`, end to end through the built binary. (`checksum` and
//! `monitor` moved to `cli_checksum` and `cli_monitor`.)

use std::fs;
use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use super::cli_support::{steward, text};

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
