//! Type-based dependency injection with steward's registry, from plain
//! synchronous code on built-in defaults: instances, a lazy singleton built
//! from other services, transients, named services, and what happens on a
//! dependency cycle and a panicking factory.
//!
//! `cargo run --release --example registry`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use steward::prelude::*;
use steward::registry::Register;

/// Settings the application reads once.
#[derive(Debug)]
struct Settings {
    database_url: String,
}

/// An expensive service: one per process, created on first use.
#[derive(Debug)]
struct Database {
    url: String,
    connection_id: u64,
}

/// A cheap service: a new one for every request.
#[derive(Debug)]
struct RequestContext {
    request_id: u64,
    database: Arc<Database>,
}

/// Two services that need each other: a configuration mistake.
struct Left;
struct Right;

/// A service whose factory has a bug.
#[derive(Debug)]
struct Flaky;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("registry example failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), steward::Error> {
    // Quiet the default panic report: the example panics on purpose below.
    std::panic::set_hook(Box::new(|_| {}));

    let steward = Steward::builder().start()?;
    println!(
        "steward started ({:?}, {} CPU workers)",
        steward.runtime_context(),
        steward.config().cpu_workers()
    );
    let registry = steward.registry();

    let connections = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let settings = Arc::new(Settings {
        database_url: "postgres://localhost/app".into(),
    });
    steward.block_on(async {
        registry.register(settings).await?;
        let counter = Arc::clone(&connections);
        registry
            .register_singleton(move |registry: &Registry| {
                let settings = registry.resolve::<Settings>()?;
                let connection_id = counter.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Database {
                    url: settings.database_url.clone(),
                    connection_id,
                })
            })
            .await?;
        let counter = Arc::clone(&requests);
        registry
            .register_transient(move |registry: &Registry| {
                Ok(RequestContext {
                    request_id: counter.fetch_add(1, Ordering::SeqCst) + 1,
                    database: registry.resolve::<Database>()?,
                })
            })
            .await?;
        registry
            .register_named(
                "replica",
                Arc::new(Settings {
                    database_url: "postgres://replica/app".into(),
                }),
            )
            .await?;
        registry
            .register_singleton(|registry: &Registry| {
                registry.resolve::<Right>()?;
                Ok(Left)
            })
            .await?;
        registry
            .register_singleton(|registry: &Registry| {
                registry.resolve::<Left>()?;
                Ok(Right)
            })
            .await?;
        registry
            .register_singleton(|_: &Registry| -> Result<Flaky, UserError> {
                panic!("flaky factory bug")
            })
            .await?;
        registry
            .register_with(
                Register::instance(Arc::new(Settings {
                    database_url: "sqlite::memory:".into(),
                }))
                .named("test"),
            )
            .await
    })??;

    println!("\nregistered:");
    for service in registry.services() {
        let name = service
            .name
            .as_deref()
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default();
        println!(
            "  {:<10} {}{name}",
            format!("{:?}", service.kind).to_lowercase(),
            service.type_name
        );
    }

    println!("\nresolving:");
    for _ in 0..3 {
        let request = registry.resolve::<RequestContext>()?;
        println!(
            "  request #{} uses database connection #{} at {}",
            request.request_id, request.database.connection_id, request.database.url
        );
    }
    println!(
        "  database factory ran {} time(s) for 3 requests",
        connections.load(Ordering::SeqCst)
    );
    println!(
        "  named replica settings: {}",
        registry.resolve_named::<Settings>("replica")?.database_url
    );

    println!("\nwhat goes wrong, and how it is reported:");
    for err in [
        registry.resolve::<Left>().map(|_| ()).unwrap_err(),
        registry.resolve::<Flaky>().map(|_| ()).unwrap_err(),
        registry
            .resolve_named::<Settings>("staging")
            .map(|_| ())
            .unwrap_err(),
        steward
            .block_on(registry.register(Arc::new(Settings {
                database_url: String::new(),
            })))?
            .unwrap_err(),
    ] {
        println!("  error: {err}");
    }
    println!(
        "  and the registry still works: {}",
        registry.resolve::<Settings>()?.database_url
    );

    steward.shutdown_blocking()?;
    println!(
        "\nshut down; resolving now fails with: {}",
        registry.resolve::<Settings>().map(|_| ()).unwrap_err()
    );
    Ok(())
}
