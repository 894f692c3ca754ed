//! An OTP-style supervisor with three children: a ticker task, an actix
//! actor that panics once (on its second job), and a task that fails
//! twice.
//! The supervisor restarts each (one-for-one), shows as Degraded while
//! restarts are recent, and stops everything newest first at the end.
//!
//! `cargo run --example supervisor`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message};
use steward::Shutdown;
use steward::supervisor::{ChildShutdown, ChildSpec, Restart, Strategy, Supervisor};
use steward::{State, UserError};

/// Whether the worker's one bug has struck yet.
static BUG_STRUCK: AtomicBool = AtomicBool::new(false);

/// An actor that processes jobs; the first run panics on its second job.
struct Worker {
    jobs: u32,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Job;

impl Actor for Worker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        println!("  worker started");
        ctx.run_interval(Duration::from_millis(100), |_, ctx| ctx.notify(Job));
    }
}

impl Handler<Job> for Worker {
    type Result = ();

    fn handle(&mut self, _: Job, _: &mut Context<Self>) {
        self.jobs += 1;
        if self.jobs == 2 && !BUG_STRUCK.swap(true, Ordering::SeqCst) {
            panic!("the worker hit a bug on job {}", self.jobs);
        }
    }
}

impl Handler<Shutdown> for Worker {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        println!("  worker stopping");
        ctx.stop();
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The worker's panic is expected; keep its message short.
    std::panic::set_hook(Box::new(|info| eprintln!("  (panic: {info})")));
    let failures_left = Arc::new(AtomicU32::new(2));
    let supervisor = Supervisor::builder("app")
        .strategy(Strategy::OneForOne)
        .intensity(5, Duration::from_secs(2))
        .child(ChildSpec::task("ticker", |mut stop| async move {
            println!("  ticker started");
            stop.requested().await;
            println!("  ticker stopping");
            Ok(())
        }))
        .child(
            ChildSpec::actor("worker", || Worker { jobs: 0 })
                .shutdown(ChildShutdown::Timeout(Duration::from_secs(1))),
        )
        .child(
            ChildSpec::task("flaky", move |mut stop| {
                let failures_left = Arc::clone(&failures_left);
                async move {
                    if failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        println!("  flaky failing");
                        return Err(UserError::msg("flaky lost its connection"));
                    }
                    println!("  flaky running");
                    stop.requested().await;
                    Ok(())
                }
            })
            .restart(Restart::Transient),
        )
        .start()
        .await?;

    let mut events = supervisor.subscribe();
    // Run for a bounded while, printing the supervisor's own moves.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(event) = events.recv().await {
            println!(
                "supervisor: {} -> {} ({})",
                event.from, event.to, event.reason
            );
            if event.to == State::Ready && event.from == State::Degraded {
                break;
            }
        }
    })
    .await;
    for child in supervisor.children().await? {
        println!(
            "{:<7} running={} restarts={} last exit={:?}",
            child.id, child.running, child.restarts, child.last_exit
        );
    }
    supervisor.stop().await;
    println!(
        "supervisor: {} ({:?})",
        supervisor.state(),
        supervisor.exited().await
    );
    Ok(())
}
