//! The resource tracker: a process tree, a process that ignores SIGTERM,
//! background tasks, custom resources with sync and async cleanups, a
//! scoped guard, the status as JSON, and a final `cleanup_all`.
//!
//! `cargo run --example tracker`

use std::process::Command;
use std::time::Duration;

use steward::tracker::TrackerError;
use steward::{Steward, UserError};

/// A stand-in for a database connection.
#[derive(Debug)]
struct Connection(&'static str);

#[tokio::main]
async fn main() -> Result<(), steward::Error> {
    let steward = Steward::start()?;
    steward.handle_signals().await?;
    let tracker = steward.tracker();
    println!(
        "containment: {}, watchdog pid: {:?}",
        tracker.containment(),
        tracker.watchdog_pid()
    );

    let mut tree = Command::new("sh");
    tree.args(["-c", "sleep 300 & sleep 300 & wait"]);
    println!("tree pid: {}", tracker.spawn("tree", tree).await?);
    let mut stubborn = Command::new("sh");
    stubborn.args(["-c", "trap '' TERM; sleep 300"]);
    tracker.spawn("stubborn", stubborn).await?;

    tracker
        .spawn_task("heartbeat", async {
            let mut ticks = tokio::time::interval(Duration::from_millis(100));
            loop {
                ticks.tick().await;
            }
        })
        .await?;
    tracker
        .register_custom("db", Connection("primary"), |connection| {
            println!("closing {connection:?}");
            Ok(())
        })
        .await
        .map_err(TrackerError::from)?;
    tracker
        .register_custom_async("cache", Connection("cache"), |connection| async move {
            Err(UserError::msg(format!("{} refused to flush", connection.0)))
        })
        .await
        .map_err(TrackerError::from)?;

    {
        let mut scoped = tokio::process::Command::new("sleep");
        scoped.arg("300").process_group(0);
        let child = scoped.spawn().map_err(|err| TrackerError::Spawn {
            key: "scoped".into(),
            source: err.into(),
        })?;
        let _guard = tracker.track_process("scoped", child).await?;
        println!("scoped sleep runs while its guard lives");
    } // the guard stops it here

    let status = tracker.status().await?;
    println!(
        "{}",
        serde_json::to_string_pretty(&status).unwrap_or_default()
    );

    let outcome = tracker
        .stop_process("stubborn", Duration::from_millis(200))
        .await?;
    println!("stubborn: {:?}, {:?}", outcome.ending, outcome.state);

    let report = tracker.cleanup_all(Duration::from_secs(5)).await?;
    println!("cleanup_all: {report:?}");
    steward.shutdown().await
}
