//! `steward run --serve`: the run's jobs on `/status` and the dashboard,
//! its tracked jobs on `/metrics`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::external::{self, scratch};
use super::{http, sample};
use crate::poll;

/// Jobs that each wait for their file to appear: the test decides when
/// each ends.
const JOB: &str = "while [ ! -e \"$0\" ]; do sleep 0.05; done";

/// `steward run --serve` of five such jobs, two at a time, and their
/// files (none made yet).
fn run_waiting_jobs(dir: &Path) -> (external::Running, SocketAddr, Vec<PathBuf>) {
    let files: Vec<PathBuf> = (1..=5).map(|i| dir.join(format!("go-{i}"))).collect();
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut args = vec!["-j2", "sh", "-c", JOB, ":::"];
    args.extend(names.iter().map(String::as_str));
    let (running, addr) = external::steward_run_serving(&args);
    (running, addr, files)
}

fn jobs(addr: SocketAddr) -> serde_json::Value {
    let status = http::get(addr, "/status");
    assert_eq!(status.status, 200);
    let json: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    json["sections"]["jobs"].clone()
}

/// The jobs section once `check` holds, at most 30 s.
fn jobs_when(addr: SocketAddr, check: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    poll::some(Duration::from_secs(30), || {
        let jobs = jobs(addr);
        check(&jobs).then_some(jobs)
    })
    .unwrap_or_else(|| panic!("the jobs never got there: {}", jobs(addr)))
}

fn tracked_processes(text: &str) -> f64 {
    ["cgroup", "process_group", "process"]
        .iter()
        .map(|containment| {
            sample(
                text,
                &format!("steward_tracked_processes{{containment=\"{containment}\"}}"),
            )
            .unwrap_or(0.0)
        })
        .sum()
}

#[test]
fn steward_run_serves_its_jobs_and_tracked_processes() {
    let dir = scratch("run-serve");
    let (mut running, addr, files) = run_waiting_jobs(&dir);

    let first = jobs_when(addr, |jobs| jobs["running"] == 2);
    // Every input is a `:::` word: counted before the first job.
    assert_eq!(first["total"], 5);
    assert_eq!(first["done"], 0);
    assert_eq!(first["failed"], 0);
    assert!(first["eta_seconds"].is_null(), "no job ended yet: {first}");
    // A job counts as running from its launch; the tracker counts it once
    // its process is tracked, a moment later.
    let tracked = poll::some(Duration::from_secs(30), || {
        let metrics = http::get(addr, "/metrics");
        (tracked_processes(&metrics.body) == 2.0).then_some(())
    });
    assert!(tracked.is_some(), "{}", http::get(addr, "/metrics").body);

    for file in &files[..3] {
        std::fs::write(file, "").unwrap();
    }
    let later = jobs_when(addr, |jobs| jobs["done"] == 3);
    assert_eq!(later["failed"], 0);
    assert_eq!(later["total"], 5);
    assert!(later["eta_seconds"].is_u64(), "{later}");
    assert!(later["running"].as_u64().unwrap() <= 2);

    for file in &files[3..] {
        std::fs::write(file, "").unwrap();
    }
    let exited = poll::some(Duration::from_secs(30), || {
        running.child.try_wait().ok().flatten()
    });
    assert_eq!(exited.and_then(|status| status.code()), Some(0));
}

#[test]
fn steward_run_refuses_to_serve_beyond_loopback_unless_told() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["run", "--serve", "0.0.0.0:0", "true", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("--serve-public"), "{stderr}");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["run", "--serve-public", "true", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(255),
        "--serve-public needs --serve"
    );
}

#[test]
#[ignore = "needs chromium (Debian package chromium)"]
fn the_dashboard_of_steward_run_shows_live_job_counts_in_chromium() {
    let dir = scratch("dashboard-run");
    let (_running, addr, files) = run_waiting_jobs(&dir);
    let url = format!("http://{addr}/");
    jobs_when(addr, |jobs| jobs["running"] == 2);
    let first = external::chromium(&dir, &url, &["--dump-dom".to_owned()]);
    assert_eq!(
        external::element_text(&first, "jobs-done"),
        Some("0"),
        "{first}"
    );
    assert_eq!(external::element_text(&first, "jobs-running"), Some("2"));
    assert_eq!(external::element_text(&first, "jobs-total"), Some("5"));

    for file in &files[..3] {
        std::fs::write(file, "").unwrap();
    }
    jobs_when(addr, |jobs| jobs["done"] == 3);
    let second = external::chromium(
        &dir,
        &url,
        &[
            "--dump-dom".to_owned(),
            format!("--screenshot={}", dir.join("run.png").display()),
        ],
    );
    assert!(dir.join("run.png").metadata().unwrap().len() > 0);
    assert_eq!(
        external::element_text(&second, "jobs-done"),
        Some("3"),
        "{second}"
    );
    assert_eq!(external::element_text(&second, "jobs-failed"), Some("0"));
    let eta = external::element_text(&second, "jobs-eta").unwrap();
    assert!(eta.ends_with('s'), "a time left: {eta}");
    // The machine's reading is there too.
    let used: f64 = external::element_attribute(&second, "memory-used", "data-bytes")
        .unwrap_or_else(|| panic!("no memory reading in the page:\n{second}"))
        .parse()
        .unwrap();
    assert!(used > 0.0);
    for file in &files[3..] {
        std::fs::write(file, "").unwrap();
    }
}
