//! A subprocess pool: at most 3 children at once, every one tracked, the
//! pool shared through the registry and closed at shutdown.
//!
//! `cargo run --example subprocess_pool`

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use steward::Steward;
use steward::subprocess_pool::SubprocessPool;
use tokio::io::AsyncBufReadExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steward = Steward::builder().start()?;
    let tools = steward.start_subprocess_pool("tools", 3).await?;
    // The application's shared pool, for whatever module needs it.
    steward.registry().register(Arc::new(tools.clone())).await?;

    let pool = steward.registry().resolve::<SubprocessPool>()?;
    let started = Instant::now();
    let runs = (0..9).map(|n| {
        let pool = pool.clone();
        async move {
            let mut job = Command::new("sh");
            job.args(["-c", &format!("sleep 0.1; echo job {n}")]);
            pool.run(job).await
        }
    });
    for output in futures::future::join_all(runs).await {
        print!("{}", String::from_utf8_lossy(&output?.stdout));
    }
    println!("9 jobs of 0.1 s, 3 at a time: {:?}", started.elapsed());

    // Streaming: read lines while the child runs.
    let mut counter = Command::new("sh");
    counter
        .args(["-c", "for i in 1 2 3; do echo line $i; done"])
        .stdout(Stdio::piped());
    let mut child = pool.spawn(counter).await?;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Some(line) = lines.next_line().await? {
            println!("streamed: {line}");
        }
    }
    println!("exit: {}", child.wait().await);
    drop(child);

    // A child still running at shutdown is stopped with the pool.
    let mut sleeper = Command::new("sleep");
    sleeper.arg("300");
    let long = pool.spawn(sleeper).await?;
    println!("a long child runs as pid {}; shutting down", long.pid);
    steward.shutdown().await?;
    println!("pool closed: {}", pool.is_closed());
    drop(long);
    Ok(())
}
