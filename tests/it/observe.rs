//! The observation endpoint: what it serves, what it refuses, and the
//! real Prometheus, promtool and Chromium reading it.

mod external;
mod figures;
mod http;
mod run;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use steward::observe::{MAX_HEADERS, ObserveError};
use steward::pool::{Manager, Pool};
use steward::supervisor::{ChildSpec, Supervisor, SupervisorHandle};
use steward::{Error, Steward, UserError};

use super::poll;
use external::scratch;

struct Numbers(AtomicU64);

impl Manager for Numbers {
    type Resource = u64;

    async fn create(&self) -> Result<u64, UserError> {
        Ok(self.0.fetch_add(1, Ordering::SeqCst))
    }
}

/// A steward serving on a free loopback port, with a fast monitor.
fn serving() -> (Steward, SocketAddr) {
    let steward = Steward::builder()
        .cpu_workers(2)
        .monitor_interval(Duration::from_millis(250))
        .observe(([127, 0, 0, 1], 0))
        .start()
        .unwrap();
    let addr = steward.observed_addrs()[0];
    (steward, addr)
}

/// A supervisor named `name` whose child `flaky` fails each time `fail`
/// is notified, and is restarted.
async fn flaky_supervisor(
    steward: &Steward,
    name: &str,
    fail: Arc<tokio::sync::Notify>,
) -> SupervisorHandle {
    let child = ChildSpec::task("flaky", move |mut stop| {
        let fail = Arc::clone(&fail);
        async move {
            tokio::select! {
                () = stop.requested() => Ok(()),
                () = fail.notified() => Err(UserError::msg("asked to fail")),
            }
        }
    });
    steward
        .start_supervisor(
            Supervisor::builder(name)
                .intensity(100, Duration::from_secs(60))
                .child(child),
        )
        .await
        .unwrap()
}

/// The value of the sample `series` (name and labels exactly as rendered)
/// in a Prometheus text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_status_and_dashboard_are_served() {
    let (steward, addr) = serving();
    let name = format!("served-{}", std::process::id());
    let pool = steward
        .start_pool(
            Pool::builder(Numbers(AtomicU64::new(0)))
                .name(&name)
                .max_size(4),
        )
        .await
        .unwrap();
    let held = [pool.acquire().await.unwrap(), pool.acquire().await.unwrap()];
    steward.monitor().refresh().await.unwrap();

    let metrics = tokio::task::spawn_blocking(move || http::get(addr, "/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert!(sample(&metrics.body, "steward_memory_used_bytes").unwrap() > 0.0);
    assert!(
        metrics
            .body
            .contains("# TYPE steward_cpu_jobs_total counter")
    );
    assert_eq!(sample(&metrics.body, "steward_cpu_workers"), Some(2.0));
    let in_use = format!("steward_pool_resources{{pool=\"{name}\",state=\"in_use\"}}");
    assert_eq!(
        sample(&metrics.body, &in_use),
        Some(2.0),
        "{}",
        metrics.body
    );
    let ready = format!("steward_pool_state{{pool=\"{name}\",state=\"ready\"}}");
    assert_eq!(sample(&metrics.body, &ready), Some(1.0));

    let status = tokio::task::spawn_blocking(move || http::get(addr, "/status"))
        .await
        .unwrap();
    assert_eq!(status.status, 200);
    assert_eq!(status.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(json["cpu"]["workers"], 2);
    assert!(json["reading"]["memory"]["total_bytes"].as_u64().unwrap() > 0);
    assert!(json["tracker"]["processes"].is_object());
    let served_pool = json["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name.as_str())
        .unwrap();
    assert_eq!(served_pool["in_use"], 2);
    assert_eq!(served_pool["state"], "ready");

    let page = tokio::task::spawn_blocking(move || http::get(addr, "/"))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(page.body.starts_with("<!DOCTYPE html>"));
    // The status it was served with is in the page, pool name included.
    assert!(page.body.contains(&format!("\"name\":\"{name}\"")));

    drop(held);
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_restart_shows_in_status_and_metrics() {
    let (steward, addr) = serving();
    let name = format!("restarting-{}", std::process::id());
    let fail = Arc::new(tokio::sync::Notify::new());
    let supervisor = flaky_supervisor(&steward, &name, Arc::clone(&fail)).await;
    fail.notify_one();
    poll::until_async("the child restarted", Duration::from_secs(10), || async {
        let children = supervisor.children().await.unwrap();
        children[0].restarts == 1 && children[0].running
    })
    .await;

    let status = steward.status().await;
    let served = status.supervisors.iter().find(|s| s.name == name).unwrap();
    assert_eq!(served.children[0].id, "flaky");
    assert_eq!(served.children[0].restarts, 1);
    let metrics = tokio::task::spawn_blocking(move || http::get(addr, "/metrics"))
        .await
        .unwrap();
    let restarts =
        format!("steward_supervisor_restarts_total{{supervisor=\"{name}\",child=\"flaky\"}}");
    assert_eq!(
        sample(&metrics.body, &restarts),
        Some(1.0),
        "{}",
        metrics.body
    );
    let running = format!("steward_supervisor_children_running{{supervisor=\"{name}\"}}");
    assert_eq!(sample(&metrics.body, &running), Some(1.0));

    steward.shutdown().await.unwrap();
    // Stopped by the shutdown, though this handle is still alive.
    assert!(supervisor.children().await.is_err());
}

#[tokio::test]
async fn a_non_loopback_address_needs_the_explicit_flag() {
    let refused = Steward::builder().observe(([0, 0, 0, 0], 0)).start();
    assert!(
        matches!(
            refused,
            Err(Error::Observe(ObserveError::NotLoopback { .. }))
        ),
        "{refused:?}"
    );
    let steward = Steward::builder().start().unwrap();
    let err = steward.observe(([0, 0, 0, 0], 0)).await.unwrap_err();
    assert!(err.to_string().contains("not a loopback address"), "{err}");
    assert!(steward.observed_addrs().is_empty());
    let public = steward.observe_public(([0, 0, 0, 0], 0)).await.unwrap();
    assert_eq!(steward.observed_addrs(), [public]);
    steward.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_taken_address_is_a_clear_error() {
    let steward = Steward::builder().start().unwrap();
    let first = steward.observe(([127, 0, 0, 1], 0)).await.unwrap();
    let err = steward.observe(first).await.unwrap_err();
    assert!(
        matches!(&err, Error::Observe(ObserveError::Bind { addr, .. }) if *addr == first),
        "{err:?}"
    );
    assert!(err.to_string().contains(&first.to_string()));
    steward.shutdown().await.unwrap();
}

#[test]
fn shutdown_stops_the_endpoint() {
    let (steward, addr) = serving();
    assert_eq!(http::get(addr, "/status").status, 200);
    steward.shutdown_blocking().unwrap();
    assert!(steward.observed_addrs().is_empty());
    let refused = poll::some(Duration::from_secs(5), || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))
            .err()
            .map(|err| err.kind())
    });
    assert_eq!(refused, Some(std::io::ErrorKind::ConnectionRefused));
    assert!(matches!(
        steward
            .block_on(steward.observe(([127, 0, 0, 1], 0)))
            .unwrap(),
        Err(Error::Observe(ObserveError::ShutDown))
    ));
}

#[test]
fn bad_requests_get_clear_errors_and_the_endpoint_keeps_working() {
    let (steward, addr) = serving();

    let unknown = http::get(addr, "/etc/passwd");
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("serves /, /metrics and /status"));
    let traversal = http::get(addr, "/../../etc/passwd");
    assert_eq!(traversal.status, 404);

    let post = http::send(
        addr,
        b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    // A body announced but never sent: refused at once, unread.
    let body = http::send(
        addr,
        b"GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n",
    )
    .unwrap();
    assert_eq!(body.status, 413);
    assert!(body.body.contains("no request body"));

    let mut many = String::from("GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for i in 0..MAX_HEADERS {
        many.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let too_many = http::send(addr, many.as_bytes()).unwrap();
    assert_eq!(too_many.status, 431);

    // A head larger than any buffer the server keeps: it answers 431 and
    // closes, or resets the connection while we still write; either way
    // it reads no further and stays up.
    let huge = format!(
        "GET /status HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    match http::send(addr, huge.as_bytes()) {
        Ok(response) => assert_eq!(response.status, 431),
        Err(err) => assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{err}"
        ),
    }

    let head = http::send(
        addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    assert_eq!(http::get(addr, "/status").status, 200);
    steward.shutdown_blocking().unwrap();
}

/// A thousand connections that never send a request: the server holds at
/// most its bound of them, closes each after its request timeout, keeps
/// answering, and its memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_are_bounded() {
    let (_server, addr) = external::steward_serving(&["monitor", "--interval", "1000"]);
    let pid = _server.child.id();
    let get = move |path: &'static str| tokio::task::spawn_blocking(move || http::get(addr, path));
    assert_eq!(get("/status").await.unwrap().status, 200);
    let before = external::rss_bytes(pid);

    let connects = (0..1000).map(|_| {
        tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
    });
    let idle: Vec<tokio::net::TcpStream> = futures::future::join_all(connects)
        .await
        .into_iter()
        .filter_map(|connected| connected.ok()?.ok())
        .collect();
    assert!(idle.len() >= 256, "only {} connections opened", idle.len());

    // While they sit idle, a real request still gets through: the idle
    // ones are dropped after the request timeout and free their slots.
    let answered = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(Ok(response)) = tokio::task::spawn_blocking(move || {
                http::send(
                    addr,
                    b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
            })
            .await
                && response.status == 200
            {
                return response;
            }
        }
    })
    .await;
    assert!(
        answered.is_ok(),
        "no answer while idle connections were open"
    );

    // The first connections were accepted first: each is closed by the
    // server (after a 408), not left open.
    for mut stream in idle.into_iter().take(50) {
        use tokio::io::AsyncReadExt;
        let mut buffer = Vec::new();
        let closed =
            tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut buffer)).await;
        assert!(closed.is_ok(), "an idle connection was left open");
        let text = String::from_utf8_lossy(&buffer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }

    let after = external::rss_bytes(pid);
    assert!(
        after < before + 64 * 1024 * 1024,
        "resident memory grew from {before} to {after} bytes"
    );
    assert_eq!(get("/").await.unwrap().status, 200);
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_the_metrics() {
    let (steward, addr) = serving();
    let name = format!("promtool-{}", std::process::id());
    let pool = steward
        .block_on(steward.start_pool(Pool::builder(Numbers(AtomicU64::new(0))).name(&name)))
        .unwrap()
        .unwrap();
    let _held = steward.block_on(pool.acquire()).unwrap().unwrap();
    steward
        .block_on(steward.monitor().refresh())
        .unwrap()
        .unwrap();
    // Every kind of series: a histogram with buckets, percentiles, the
    // tracker's.
    steward
        .block_on(figures::exercise(&steward, &name))
        .unwrap();
    let metrics = http::get(addr, "/metrics");
    assert_eq!(metrics.status, 200);
    for series in [
        "steward_drive_wait_seconds_bucket{",
        "steward_resource_operation_duration_seconds{",
        "steward_tracked_processes{",
        "steward_process_stops_total{",
    ] {
        assert!(metrics.body.contains(series), "{series}\n{}", metrics.body);
    }
    let checked = external::promtool_check_metrics(&scratch("promtool"), &metrics.body);
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr),
        metrics.body
    );
    steward.shutdown_blocking().unwrap();
}

#[test]
#[ignore = "needs prometheus (Debian package prometheus)"]
fn a_real_prometheus_scrapes_steward() {
    let (steward, addr) = serving();
    let name = format!("scraped-{}", std::process::id());
    let pool = steward
        .block_on(
            steward.start_pool(
                Pool::builder(Numbers(AtomicU64::new(0)))
                    .name(&name)
                    .max_size(5),
            ),
        )
        .unwrap()
        .unwrap();
    let held: Vec<_> = (0..3)
        .map(|_| steward.block_on(pool.acquire()).unwrap().unwrap())
        .collect();
    let fail = Arc::new(tokio::sync::Notify::new());
    let supervisor_name = format!("scraped-supervisor-{}", std::process::id());
    let supervisor = steward
        .block_on(flaky_supervisor(
            &steward,
            &supervisor_name,
            Arc::clone(&fail),
        ))
        .unwrap();
    let prometheus = external::Prometheus::start("scrape", &[addr]);

    let up = poll::some(Duration::from_secs(30), || {
        prometheus
            .query("up{job=\"steward\"}")
            .first()
            .map(|(_, value)| *value)
            .filter(|up| *up == 1.0)
    });
    assert_eq!(up, Some(1.0), "prometheus never scraped steward");

    // A scrape is up to a second old and other processes allocate
    // meanwhile: the two must agree within 5 % at some moment, each time
    // read afresh.
    let mut last = None;
    let agreed = poll::some(Duration::from_secs(30), || {
        let scraped = prometheus
            .query("steward_memory_used_bytes")
            .first()
            .map(|(_, value)| *value)?;
        let actual = external::meminfo_used_bytes();
        last = Some((scraped, actual));
        ((scraped - actual).abs() / actual < 0.05).then_some(())
    });
    assert!(
        agreed.is_some(),
        "steward_memory_used_bytes against /proc/meminfo, last read: {last:?}"
    );

    let in_use = format!("steward_pool_resources{{pool=\"{name}\",state=\"in_use\"}}");
    let idle = format!("steward_pool_resources{{pool=\"{name}\",state=\"idle\"}}");
    let status = pool.status();
    let agrees = poll::some(Duration::from_secs(30), || {
        let in_use = prometheus.query(&in_use).first()?.1;
        let idle = prometheus.query(&idle).first()?.1;
        (in_use == status.in_use as f64 && idle == status.idle as f64).then_some(())
    });
    assert!(agrees.is_some(), "pool figures never matched {status:?}");
    assert_eq!(status.in_use, 3);

    // A restart shows up as an increase of the counter.
    let restarts = format!(
        "steward_supervisor_restarts_total{{supervisor=\"{supervisor_name}\",child=\"flaky\"}}"
    );
    let before = poll::some(Duration::from_secs(30), || {
        prometheus.query(&restarts).first().map(|(_, value)| *value)
    });
    assert_eq!(before, Some(0.0));
    fail.notify_one();
    let increase = poll::some(Duration::from_secs(30), || {
        let promql = format!("increase({restarts}[1m])");
        prometheus
            .query(&promql)
            .first()
            .map(|(_, value)| *value)
            .filter(|increase| *increase > 0.0)
    });
    assert!(increase.is_some(), "no increase of {restarts}");
    assert_eq!(
        steward.block_on(supervisor.children()).unwrap().unwrap()[0].restarts,
        1
    );

    drop(held);
    drop(prometheus);
    steward.shutdown_blocking().unwrap();
}

#[test]
#[ignore = "needs chromium (Debian package chromium)"]
fn the_dashboard_of_steward_monitor_shows_live_readings_in_chromium() {
    let dir = scratch("dashboard-monitor");
    let (_server, addr) = external::steward_serving(&["monitor", "--interval", "250"]);
    let url = format!("http://{addr}/");
    let first = external::chromium(&dir, &url, &["--dump-dom".to_owned()]);
    // Two seconds apart: the page must have read newer readings by then.
    std::thread::sleep(Duration::from_secs(2));
    // The page's reading is taken while chromium itself runs (and uses
    // memory): it is compared with what /proc/meminfo said meanwhile.
    let (second, least, most) = external::meminfo_used_during(|| {
        external::chromium(&dir, &url, &["--dump-dom".to_owned()])
    });
    external::chromium(
        &dir,
        &url,
        &[format!(
            "--screenshot={}",
            dir.join("monitor.png").display()
        )],
    );
    assert!(dir.join("monitor.png").metadata().unwrap().len() > 0);

    let used: f64 = external::element_attribute(&second, "memory-used", "data-bytes")
        .unwrap_or_else(|| panic!("no memory reading in the page:\n{second}"))
        .parse()
        .unwrap();
    assert!(
        least * 0.9 <= used && used <= most * 1.1,
        "page {used}, /proc/meminfo between {least} and {most} meanwhile"
    );
    let sequence = |dom: &str| -> u64 {
        external::element_text(dom, "reading-sequence")
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        sequence(&second) > sequence(&first),
        "the reading did not change"
    );
    let polls: u64 = external::element_text(&second, "polls")
        .unwrap()
        .parse()
        .unwrap();
    assert!(polls >= 1, "the page never polled /status");
}

#[test]
#[ignore = "needs chromium (Debian package chromium)"]
fn the_dashboard_shows_published_job_counts_in_chromium() {
    let dir = scratch("dashboard-jobs");
    let (steward, addr) = serving();
    let done = Arc::new(AtomicU64::new(3));
    let counts = Arc::clone(&done);
    steward.publish_status("jobs", move || {
        let done = counts.load(Ordering::SeqCst);
        serde_json::json!({ "total": 10, "running": 2, "done": done, "failed": 1, "eta_seconds": 12 })
    });
    // A pool and a supervisor, for the screenshot to show them too.
    let pool_name = format!("dashboard-pool-{}", std::process::id());
    let supervisor_name = format!("dashboard-supervisor-{}", std::process::id());
    let pool = steward
        .block_on(steward.start_pool(Pool::builder(Numbers(AtomicU64::new(0))).name(&pool_name)))
        .unwrap()
        .unwrap();
    let _held = steward.block_on(pool.acquire()).unwrap().unwrap();
    let fail = Arc::new(tokio::sync::Notify::new());
    steward
        .block_on(flaky_supervisor(&steward, &supervisor_name, fail))
        .unwrap();
    let url = format!("http://{addr}/");
    let first = external::chromium(&dir, &url, &["--dump-dom".to_owned()]);
    assert!(first.contains(&pool_name) && first.contains(&supervisor_name));
    done.store(7, Ordering::SeqCst);
    let second = external::chromium(
        &dir,
        &url,
        &[
            "--dump-dom".to_owned(),
            format!("--screenshot={}", dir.join("jobs.png").display()),
        ],
    );
    assert_eq!(
        external::element_text(&first, "jobs-done"),
        Some("3"),
        "{first}"
    );
    assert_eq!(external::element_text(&second, "jobs-done"), Some("7"));
    assert_eq!(external::element_text(&second, "jobs-total"), Some("10"));
    assert_eq!(external::element_text(&second, "jobs-failed"), Some("1"));
    steward.shutdown_blocking().unwrap();
}

/// Every `steward_*` name in `text`.
fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("steward_")
        .map(|(start, _)| {
            text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn example(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/observe")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn the_example_dashboard_and_rules_use_only_documented_metrics() {
    let table = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("actors/src/observe/METRICS.md"),
    )
    .unwrap();
    let documented = metric_names(&table);
    let dashboard: serde_json::Value =
        serde_json::from_str(&example("grafana-dashboard.json")).unwrap();
    let mut expressions = String::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            expressions.push_str(target["expr"].as_str().unwrap());
            expressions.push('\n');
        }
    }
    for (file, text) in [
        ("grafana-dashboard.json", expressions),
        ("rules.yml", example("rules.yml")),
    ] {
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} uses no steward metric");
        for name in used {
            // A histogram's series are its name and a suffix.
            let histogram = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suffix| name.strip_suffix(suffix))
                .any(|base| table.contains(&format!("| `{base}` | histogram |")));
            assert!(
                documented.contains(&name) || histogram,
                "{file} uses {name}, which METRICS.md does not list"
            );
        }
    }
}

#[test]
#[ignore = "needs promtool (Debian package prometheus)"]
fn promtool_accepts_the_example_config_rules_and_rule_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/observe");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "rules.yml"],
        &["test", "rules", "rules.test.yml"],
    ] {
        let output = std::process::Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
