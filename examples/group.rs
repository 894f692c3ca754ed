//! A resource group: a simulated database, cache and API client with
//! dependencies. The API client's backend refuses the first two
//! connections and then recovers under its retry policy; later its health
//! check fails twice, the resource goes Degraded, then Error, and recovers
//! through a fresh initialization. Every state change is printed.
//!
//! `cargo run --example group`

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steward::group::ResourceGroup;
use steward::resource::{Health, Resource, ResourceKeeper, RetryPolicy};
use steward::{State, Steward, UserError};

/// A simulated backend connection: `refusals` connects fail first, and
/// `sick_checks` health checks fail after it is up.
#[derive(Debug)]
struct Backend {
    name: &'static str,
    refusals: AtomicU32,
    sick_checks: AtomicU32,
    connects: AtomicU32,
}

impl Backend {
    fn new(name: &'static str, refusals: u32, sick_checks: u32) -> Self {
        Self {
            name,
            refusals: AtomicU32::new(refusals),
            sick_checks: AtomicU32::new(sick_checks),
            connects: AtomicU32::new(0),
        }
    }
}

/// Takes one from `counter` if it is above zero.
fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Resource for Backend {
    async fn initialize(&self) -> Result<(), UserError> {
        let attempt = self.connects.fetch_add(1, Ordering::SeqCst) + 1;
        if take_one(&self.refusals) {
            println!("  {}: connection {attempt} refused", self.name);
            return Err(UserError::msg(format!(
                "{} refused the connection",
                self.name
            )));
        }
        println!("  {}: connected (attempt {attempt})", self.name);
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        println!("  {}: disconnected", self.name);
        Ok(())
    }

    async fn check_health(&self) -> Result<Health, UserError> {
        if take_one(&self.sick_checks) {
            return Ok(Health::Unhealthy);
        }
        Ok(Health::Healthy)
    }
}

fn supervised(backend: Backend) -> steward::resource::ResourceKeeperBuilder<Backend> {
    let name = backend.name;
    ResourceKeeper::builder(name, backend)
        .retry(
            RetryPolicy::default()
                .with_max_retries(3)
                .with_base_delay(Duration::from_millis(50)),
        )
        .health_check_interval(Duration::from_millis(100))
        .failure_threshold(2)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steward = Steward::start()?;
    let group = ResourceGroup::builder("user_service")
        .arbiter(steward.arbiter().clone())
        .resource("database", &[], || {
            supervised(Backend::new("database", 0, 0))
        })
        .resource("cache", &["database"], || {
            supervised(Backend::new("cache", 0, 0))
        })
        .resource("api", &["database", "cache"], || {
            supervised(Backend::new("api", 2, 2))
        })
        .build()?;
    println!("initialization order: {:?}", group.initialization_order());

    group.initialize().await?;
    println!("group: {:?}", group.health().state);

    let api = group.get::<Backend>("api")?;
    let mut events = api.subscribe();
    // Watch the API client degrade, fail and recover (bounded).
    let recovered = tokio::time::timeout(Duration::from_secs(30), async {
        let mut seen_error = false;
        while let Ok(event) = events.recv().await {
            println!("  api: {} -> {} ({})", event.from, event.to, event.reason);
            seen_error |= event.to == State::Error;
            if seen_error && event.to == State::Ready {
                return true;
            }
        }
        false
    })
    .await;
    println!("api recovered: {}", matches!(recovered, Ok(true)));
    for member in group.health().members {
        println!("  {:<10} {}", member.name, member.state);
    }
    let connects = Arc::clone(&api.resource()?).connects.load(Ordering::SeqCst);
    println!("api connects: {connects}");

    group.cleanup(Duration::from_secs(5)).await?;
    println!("group: {:?}", group.state());
    steward.shutdown().await?;
    Ok(())
}
