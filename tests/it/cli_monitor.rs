//! `steward monitor`, end to end through the built binary.

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use super::cli_support::{on_a_terminal, scratch, steward, text, wait};

const LIMIT: Duration = Duration::from_secs(60);

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
}

#[test]
fn monitor_count_stops_after_that_many_readings() {
    let output = steward()
        .args(["monitor", "--json", "--count", "3", "--interval", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = wait(output, LIMIT);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let readings = text(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("{\"reading\""))
        .count();
    assert_eq!(readings, 3);
}

#[test]
fn a_refused_value_is_reported_under_the_flag_typed() {
    for (args, expected) in [
        (
            &["--memory", "95", "90"][..],
            "steward: --memory 95 90: the warning level must be below the critical level\n",
        ),
        (
            &["--cpu", "50", "180"],
            "steward: --cpu 50 180: the critical level must be at most 100\n",
        ),
        (
            &["--disk", "0", "80"],
            "steward: --disk 0 80: the warning level must not be zero\n",
        ),
        (
            &["--interval", "50"],
            "steward: --interval 50: must be at least 200\n",
        ),
    ] {
        let output = steward()
            .args(["monitor", "--once"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&output.stderr), expected);
        assert!(output.stdout.is_empty());
    }
    let output = steward()
        .args(["monitor", "--count", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("'--count <N>'"));
}

#[test]
fn ctrl_c_ends_the_monitor_with_130() {
    let mut child = steward()
        .args(["monitor", "--json", "--interval", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once a reading is out, the signal handler is in place.
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"reading\""), "{first}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    // Drain what else it prints, then its status.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let output = wait(child, LIMIT);
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
}

#[test]
fn alerts_stay_on_the_terminal_across_redraws() {
    let root = scratch("monitor-pty");
    let typescript = root.join("typescript");
    // Memory in use is surely above 0.002 %: a critical alert at once.
    let words = [
        env!("CARGO_BIN_EXE_steward"),
        "monitor",
        "--interval",
        "200",
        "--count",
        "6",
        "--memory",
        "0.001",
        "0.002",
    ];
    let words: Vec<&OsStr> = words.iter().map(OsStr::new).collect();
    let child = on_a_terminal(&words, &typescript)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = wait(child, LIMIT);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let recorded = text(&fs::read(&typescript).unwrap());
    let screens: Vec<&str> = recorded.split("\x1b[2J\x1b[H").skip(1).collect();
    assert!(screens.len() >= 6, "{recorded}");
    // Other alerts (pressure on a loaded machine) may come first: follow
    // the memory alert from the screen it first appears on.
    let first_alert = screens
        .iter()
        .position(|screen| screen.contains("memory healthy -> critical"))
        .expect("the memory alert was shown");
    let after = &screens[first_alert..];
    assert!(
        after.len() >= 2,
        "the alert came with the last screen: {recorded}"
    );
    for screen in after {
        assert!(screen.contains("memory "), "{screen}");
        assert!(
            screen.contains("memory healthy -> critical"),
            "a redraw wiped the alert: {screen}"
        );
    }
    fs::remove_dir_all(&root).unwrap();
}
