//! A program that tracks a process tree, then returns, is sent SIGTERM or
//! SIGINT, or panics: in every case nothing of the tree survives it.
//!
//! The program is this test binary itself, re-run with
//! `TRACKER_HELPER_MODE` set so that only `helper_process` acts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use steward::Steward;

const MODE: &str = "TRACKER_HELPER_MODE";

/// Pids of live processes marked by a tracker of process `pid`.
fn marked(pid: u32) -> Vec<u32> {
    let needle = format!("_STEWARD_TRACKED_{pid}_");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                env.split(|&b| b == 0)
                    .any(|var| var.starts_with(needle.as_bytes()))
            })
        })
        .collect()
}

fn poll_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[ignore = "the helper program of the tracker tests; they run it"]
fn helper_process() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let steward = Steward::builder()
        .shutdown_timeout(Duration::from_secs(20))
        .start()
        .unwrap();
    steward.install_panic_hook();
    steward.block_on(steward.handle_signals()).unwrap().unwrap();
    let mut tree = Command::new("sh");
    // Not on our stdout: the parent reads it until it closes.
    tree.args(["-c", "sleep 300 & sleep 300 & setsid sleep 300 & wait"])
        .stdout(Stdio::null());
    steward
        .block_on(steward.tracker().spawn("tree", tree))
        .unwrap()
        .unwrap();
    poll_until("the tree runs", || marked(std::process::id()).len() == 4);
    println!("READY");
    match mode.as_str() {
        "return" => {} // dropping the last Steward shuts it down
        "panic" => {
            // Unwinding would drop the last Steward and shut down cleanly;
            // keep one alive so only the panic hook can save the tree.
            std::mem::forget(steward.clone());
            panic!("the helper panics on purpose")
        }
        // Waits for the parent's signal; the handler exits the process.
        _ => std::thread::sleep(Duration::from_secs(60)),
    }
}

fn run_helper(mode: &str, signal: Option<nix::sys::signal::Signal>) -> Option<i32> {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "tracker::helper_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let helper_pid = helper.id();
    let mut lines = BufReader::new(helper.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("READY"));
    assert!(ready, "{mode}: the helper got its tree running");
    // Keep reading: a closed pipe would fail the helper's own output.
    let drain = std::thread::spawn(move || lines.count());
    if let Some(signal) = signal {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(helper.id()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
    }
    let status = helper.wait().unwrap();
    let _ = drain.join();
    poll_until(&format!("{mode}: nothing of the tree survives"), || {
        marked(helper_pid).is_empty()
    });
    status.code()
}

#[test]
fn nothing_survives_a_normal_return() {
    assert_eq!(run_helper("return", None), Some(0));
}

#[test]
fn nothing_survives_sigterm() {
    assert_eq!(
        run_helper("term", Some(nix::sys::signal::Signal::SIGTERM)),
        Some(143)
    );
}

#[test]
fn nothing_survives_sigint() {
    assert_eq!(
        run_helper("int", Some(nix::sys::signal::Signal::SIGINT)),
        Some(130)
    );
}

#[test]
fn nothing_survives_a_panic() {
    assert_eq!(
        run_helper("panic", None),
        Some(101),
        "the test harness's exit code for a failed test"
    );
}
