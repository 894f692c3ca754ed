//! A pool of simulated database connections whose backend goes down and
//! comes back: the pool goes `Degraded` at the first failed connect (one
//! connect at a time from then on), `Error` after three in a row (acquires
//! fail at once instead of waiting, retries stop), probes with one connect
//! every `probe_interval`, and is `Ready` again by itself.
//!
//! `cargo run --example pool`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use steward::pool::{Manager, Pool, PoolError};
use steward::retry::RetryPolicy;
use steward::{Steward, UserError};

/// The backend the connections talk to: it can be switched off.
#[derive(Default)]
struct Backend {
    down: AtomicBool,
    connects: AtomicU32,
}

struct Connections {
    backend: Arc<Backend>,
}

/// A simulated connection.
struct Connection {
    id: u32,
}

impl Manager for Connections {
    type Resource = Connection;

    async fn create(&self) -> Result<Connection, UserError> {
        let id = self.backend.connects.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(5)).await; // the handshake
        if self.backend.down.load(Ordering::SeqCst) {
            return Err(UserError::msg("connection refused"));
        }
        Ok(Connection { id })
    }

    async fn check(&self, _: &mut Connection) -> Result<(), UserError> {
        if self.backend.down.load(Ordering::SeqCst) {
            return Err(UserError::msg("ping failed"));
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), steward::Error> {
    let steward = Steward::builder().start()?;
    let backend = Arc::new(Backend::default());
    let pool = steward
        .start_pool(
            Pool::builder(Connections {
                backend: backend.clone(),
            })
            .name("db")
            .max_size(4)
            .min_size(1)
            .test_on_checkout(true)
            .failure_threshold(3)
            .probe_interval(Duration::from_millis(100))
            .retry(
                RetryPolicy::default()
                    .with_max_retries(1)
                    .with_base_delay(Duration::from_millis(10)),
            ),
        )
        .await?;
    let mut moves = pool.subscribe();
    tokio::spawn(async move {
        while let Ok(change) = moves.recv().await {
            println!(
                "  state: {} -> {} ({})",
                change.from, change.to, change.reason
            );
        }
    });

    let connection = pool.acquire().await?;
    println!("query on connection {}", connection.id);
    drop(connection);

    println!("backend goes down");
    backend.down.store(true, Ordering::SeqCst);
    for attempt in 1..=5 {
        let started = Instant::now();
        match pool.acquire().await {
            Ok(connection) => println!("attempt {attempt}: connection {}", connection.id),
            Err(error @ PoolError::Unavailable { .. }) => {
                println!(
                    "attempt {attempt}: failed fast in {:?}: {error}",
                    started.elapsed()
                );
            }
            Err(error) => println!("attempt {attempt}: {error}"),
        }
    }

    println!("backend comes back");
    backend.down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pool.state().is_usable() {
        if Instant::now() > deadline {
            eprintln!("the pool did not recover");
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connection = pool.acquire().await?;
    println!("query on connection {} again", connection.id);
    drop(connection);

    let status = pool.status();
    println!(
        "status: {} size {} idle {} created {} failed creates {} ({} connects in all)",
        status.state,
        status.size,
        status.idle,
        status.created,
        status.failed_creates,
        backend.connects.load(Ordering::SeqCst)
    );
    steward.shutdown().await?;
    Ok(())
}
