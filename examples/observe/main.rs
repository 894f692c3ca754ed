//! A steward serving `/metrics`, `/status` and its dashboard while a pool
//! of simulated connections works, and its backend goes down now and then
//! (the breaker opens, `StewardPoolBreakerOpen` in `rules.yml` would fire).
//!
//! `cargo run --example observe -- [ADDR] [SECONDS]` (default
//! `127.0.0.1:9185`, until Ctrl-C), then open `http://ADDR/`, or point the
//! `prometheus.yml` beside this file at it:
//! `prometheus --config.file=examples/observe/prometheus.yml`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use steward::pool::{Manager, Pool};
use steward::{Steward, UserError};

/// A backend that can be switched off.
#[derive(Default)]
struct Backend {
    down: AtomicBool,
}

struct Connections(Arc<Backend>);

impl Manager for Connections {
    type Resource = ();

    async fn create(&self) -> Result<(), UserError> {
        tokio::time::sleep(Duration::from_millis(5)).await; // the handshake
        if self.0.down.load(Ordering::SeqCst) {
            return Err(UserError::msg("connection refused"));
        }
        Ok(())
    }

    async fn check(&self, (): &mut ()) -> Result<(), UserError> {
        if self.0.down.load(Ordering::SeqCst) {
            return Err(UserError::msg("ping failed"));
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args.next().as_deref().unwrap_or("127.0.0.1:9185").parse()?;
    let seconds: Option<u64> = args.next().map(|s| s.parse()).transpose()?;

    let steward = Steward::builder()
        .monitor_interval(Duration::from_secs(1))
        .observe(addr)
        .start()?;
    println!("dashboard: http://{}/", steward.observed_addrs()[0]);

    let backend = Arc::new(Backend::default());
    let pool = steward
        .start_pool(
            Pool::builder(Connections(backend.clone()))
                .name("sessions")
                .max_size(8),
        )
        .await?;
    let work = async {
        for round in 0_u64.. {
            // Every 20 s the backend is down for 5.
            backend.down.store(round % 20 >= 15, Ordering::SeqCst);
            let mut held = Vec::new();
            for _ in 0..(round % 6) {
                if let Ok(connection) = pool.try_acquire().await {
                    held.push(connection);
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let limit = async {
        match seconds {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = limit => {}
    }
    steward.shutdown().await?;
    Ok(())
}
