//! The real programs the endpoint is tested with: a `steward monitor
//! --serve` child, Prometheus, promtool, headless Chromium.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::http;

/// A directory of this test's own under the target's temp dir, emptied.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("observe-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port free a moment ago.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}

/// A child process killed and reaped when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `steward <args> --serve 127.0.0.1:0`, and the address it says it
/// serves on.
pub(crate) fn steward_serving(args: &[&str]) -> (Running, SocketAddr) {
    let mut all = args.to_vec();
    all.extend(["--serve", "127.0.0.1:0"]);
    serving(&all)
}

/// `steward run --serve 127.0.0.1:0 <args>` (its options come before the
/// command), and the address it says it serves on.
pub(crate) fn steward_run_serving(args: &[&str]) -> (Running, SocketAddr) {
    let mut all = vec!["run", "--serve", "127.0.0.1:0"];
    all.extend(args);
    serving(&all)
}

fn serving(args: &[&str]) -> (Running, SocketAddr) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_steward"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STEWARD_") {
            command.env_remove(name);
        }
    }
    let child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running { child };
    let stderr = running.child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    // The program says where it serves before anything else; a bounded
    // read: it ends with the program at the latest.
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix("steward: serving http://")?;
            rest.split('/').next()?.parse().ok()
        })
        .expect("steward did not say where it serves");
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (running, addr)
}

/// `promtool check metrics` on `text`, kept in `dir`.
pub(crate) fn promtool_check_metrics(dir: &Path, text: &str) -> Output {
    let file = dir.join("metrics.txt");
    fs::write(&file, text).unwrap();
    Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(&file).unwrap())
        .output()
        .unwrap()
}

/// A real Prometheus scraping `targets` every second, on a loopback port
/// of its own, its data in a temp dir removed when dropped.
pub(crate) struct Prometheus {
    process: Running,
    dir: PathBuf,
    pub(crate) addr: SocketAddr,
}

impl Prometheus {
    pub(crate) fn start(name: &str, targets: &[SocketAddr]) -> Self {
        let dir = scratch(&format!("prometheus-{name}"));
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: steward\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        fs::write(dir.join("prometheus.yml"), config).unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let log = fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let prometheus = Self {
            process: Running { child },
            dir,
            addr,
        };
        let ready = crate::poll::some(Duration::from_secs(30), || {
            http::send(
                addr,
                format!("GET /-/ready HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .ok()
            .filter(|response| response.status == 200)
        });
        assert!(
            ready.is_some(),
            "prometheus did not get ready: {}",
            prometheus.log()
        );
        prometheus
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// The values of an instant query, with their labels; none while
    /// Prometheus cannot answer yet (it says 503 while starting).
    pub(crate) fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let response = http::get(self.addr, &path);
        if response.status == 503 {
            return Vec::new();
        }

        assert_eq!(response.status, 200, "{promql}: {}", response.body);
        let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
        json["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sample| {
                let value = sample["value"][1].as_str().unwrap().parse().unwrap();
                (sample["metric"].clone(), value)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // Stopped first (the field drops after this body): its data is
        // removed once it is gone.
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Headless Chromium with the flags that work here and a fresh profile in
/// `dir`, loading `url` with `extra` flags; its stdout.
pub(crate) fn chromium(dir: &Path, url: &str, extra: &[String]) -> String {
    let profile = dir.join(format!("profile-{}", free_port()));
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1100",
            // Lets the page's polls run before the DOM is taken.
            "--virtual-time-budget=2500",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The text of the element with `id` in a dumped DOM.
pub(crate) fn element_text<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let rest = &dom[start..];
    let open_end = rest.find('>')? + 1;
    let rest = &rest[open_end..];
    Some(&rest[..rest.find('<')?])
}

/// An attribute of the element with `id` in a dumped DOM.
pub(crate) fn element_attribute<'a>(dom: &'a str, id: &str, attribute: &str) -> Option<&'a str> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..start].rfind('<')?;
    let tag = &dom[tag_start..start + dom[start..].find('>')?];
    let value = &tag[tag.find(&format!("{attribute}=\""))? + attribute.len() + 2..];
    Some(&value[..value.find('"')?])
}

/// Memory in use by `/proc/meminfo`: total less available, in bytes.
pub(crate) fn meminfo_used_bytes() -> f64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap();
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .unwrap()
            * 1024.0
    };
    field("MemTotal:") - field("MemAvailable:")
}

/// Runs `work` while a thread reads [`meminfo_used_bytes`] every 20 ms;
/// returns what `work` returned and the least and most memory in use seen
/// meanwhile (a reading taken while `work` ran, chromium for one, is
/// compared with this range, not with one reading taken afterwards).
pub(crate) fn meminfo_used_during<T>(work: impl FnOnce() -> T) -> (T, f64, f64) {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let (mut least, mut most) = (f64::MAX, 0.0_f64);
            loop {
                let used = meminfo_used_bytes();
                least = least.min(used);
                most = most.max(used);
                if done.load(std::sync::atomic::Ordering::Acquire) {
                    return (least, most);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let value = work();
        done.store(true, std::sync::atomic::Ordering::Release);
        let (least, most) = sampler.join().unwrap();
        (value, least, most)
    })
}

/// Resident memory of process `pid`, in bytes.
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .unwrap()
        * 1024
}
