//! steward from a plain `#[tokio::main]`: no actix System is running, so
//! steward runs its own on a `steward-system` thread, and its handles work
//! from any tokio task.
//!
//! `cargo run --example from_tokio_main`

use std::sync::Arc;

use steward::prelude::*;

/// A service shared by every task.
#[derive(Debug)]
struct Greeter {
    greeting: String,
}

#[tokio::main]
async fn main() -> Result<(), steward::Error> {
    let steward = Steward::start()?;
    println!("started in {:?}", steward.runtime_context());

    steward
        .registry()
        .register(Arc::new(Greeter {
            greeting: "hello".into(),
        }))
        .await?;

    let tasks: Vec<_> = (1..=4)
        .map(|task| {
            let registry = steward.registry().clone();
            tokio::spawn(async move {
                let greeter = registry.resolve::<Greeter>()?;
                Ok::<_, RegistryError>(format!("{} from task {task}", greeter.greeting))
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok(line) => println!("{}", line?),
            Err(err) => eprintln!("a task failed: {err}"),
        }
    }

    steward.shutdown().await?;
    println!("shut down");
    Ok(())
}
