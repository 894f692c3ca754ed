//! A scrape of `/metrics` and a read of `/status` over loopback HTTP, with
//! 100 pools and 1,000 tracked processes (`sleep`): the goal is a scrape
//! under 10 ms. No peer: Prometheus's own scrape timeout is the bar.
//!
//! The scrape records the tracker from its counts (no process's cgroup
//! files read); `/status` reads every process's CPU, memory and pressure.
//!
//! `cargo bench --bench observe -- --warm-up-time 1 --measurement-time 5`

#[path = "common/recorder.rs"]
mod recorder;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::future::join_all;
use steward::Steward;
use steward::pool::{Manager, Pool, PoolGuard};

const POOLS: usize = 100;
const PROCESSES: usize = 1_000;

struct Noop;

impl Manager for Noop {
    type Resource = ();

    async fn create(&self) -> Result<(), steward::UserError> {
        Ok(())
    }
}

/// `GET path` on a new connection, the response read to its end.
fn get(addr: SocketAddr, path: &str) -> usize {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&response)
    );
    response.len()
}

/// Steward with the pools (two resources of each in use, one idle) and
/// the processes; the guards keep the resources checked out.
async fn loaded() -> (Steward, SocketAddr, Vec<PoolGuard<Noop>>) {
    let steward = Steward::builder()
        // Stopping a thousand processes takes more than the default 10 s
        // on a loaded machine.
        .shutdown_timeout(std::time::Duration::from_secs(120))
        .observe(([127, 0, 0, 1], 0))
        .start()
        .expect("start");
    let addr = steward.observed_addrs()[0];
    let mut guards = Vec::new();
    for i in 0..POOLS {
        let pool = steward
            .start_pool(Pool::builder(Noop).name(format!("pool-{i:03}")).max_size(4))
            .await
            .expect("pool");
        let idle = pool.acquire().await.expect("acquire");
        guards.push(pool.acquire().await.expect("acquire"));
        guards.push(pool.acquire().await.expect("acquire"));
        drop(idle);
    }
    let spawns = (0..PROCESSES).map(|i| {
        let mut sleep = Command::new("sleep");
        sleep.arg("3600");
        steward.tracker().spawn(format!("process-{i:04}"), sleep)
    });
    for spawned in join_all(spawns).await {
        spawned.expect("spawn");
    }
    steward.monitor().refresh().await.expect("reading");
    (steward, addr, guards)
}

fn scrape(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (steward, addr, guards) = runtime.block_on(loaded());
    let status = runtime.block_on(steward.status());
    assert_eq!(status.pools.len(), POOLS);
    assert_eq!(status.tracker.map(|t| t.processes.len()), Some(PROCESSES));
    let text = recorder::scrape(addr);
    let tracked: f64 = ["cgroup", "process_group", "process"]
        .iter()
        .filter_map(|containment| {
            recorder::sample(
                &text,
                &format!("steward_tracked_processes{{containment=\"{containment}\"}}"),
            )
        })
        .sum();
    assert_eq!(tracked, PROCESSES as f64, "every process counted");
    let metrics_bytes = get(addr, "/metrics");
    let status_bytes = get(addr, "/status");
    eprintln!("/metrics: {metrics_bytes} bytes, /status: {status_bytes} bytes");

    let mut group = c.benchmark_group("observe (100 pools, 1000 processes)");
    group.bench_function("GET /metrics", |b| b.iter(|| get(addr, "/metrics")));
    group.bench_function("GET /status", |b| b.iter(|| get(addr, "/status")));
    group.finish();

    drop(guards);
    let stopping = std::time::Instant::now();
    runtime.block_on(steward.shutdown()).expect("shutdown");
    eprintln!(
        "shutdown with {PROCESSES} processes: {:?}",
        stopping.elapsed()
    );
}

criterion_group!(benches, scrape);
criterion_main!(benches);
