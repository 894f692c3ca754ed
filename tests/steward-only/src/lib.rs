//! What a user with only `steward` in `Cargo.toml` writes: an actor child
//! of a supervisor (which must handle [`steward::Shutdown`]), an actor
//! that receives the monitor's alerts, a stored alert receiver, the
//! annotations. Every actix and tokio name comes through `steward::actix`
//! and `steward::tokio`: this crate depends on nothing else, so it stops
//! compiling the day one of them is no longer reachable.

use std::time::Duration;

use steward::actix::{Actor, ActorContext, Context, Handler, Message};
use steward::monitor::Alert;
use steward::supervisor::{ChildSpec, Supervisor, SupervisorHandle};
use steward::tokio::sync::broadcast;
use steward::{Error, Shutdown, Steward};

/// A supervised worker: counts the jobs it is sent.
#[derive(Debug, Default)]
pub struct Worker {
    jobs: u32,
}

/// A job for the worker; the reply is the number of jobs done so far.
#[derive(Debug)]
pub struct Job;

// actix's derive expands to `::actix::…`; without actix in Cargo.toml the
// impl is written out, which is all the derive does.
impl Message for Job {
    type Result = u32;
}

impl Actor for Worker {
    type Context = Context<Self>;
}

impl Handler<Job> for Worker {
    type Result = u32;

    fn handle(&mut self, _: Job, _: &mut Context<Self>) -> u32 {
        self.jobs += 1;
        self.jobs
    }
}

impl Handler<Shutdown> for Worker {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// An actor that pages on every alert.
#[derive(Debug, Default)]
pub struct Pager {
    paged: u32,
}

impl Actor for Pager {
    type Context = Context<Self>;
}

impl Handler<Alert> for Pager {
    type Result = ();

    fn handle(&mut self, _: Alert, _: &mut Context<Self>) {
        self.paged += 1;
    }
}

/// Application state that keeps the monitor's alert stream.
#[derive(Debug)]
pub struct Watch {
    /// The alerts, as the monitor hands them out.
    pub alerts: broadcast::Receiver<Alert>,
}

/// A supervisor with one actor child, in `steward`'s actor system.
///
/// # Errors
///
/// The supervisor's, as `steward::Error`.
pub async fn supervise_a_worker(steward: &Steward) -> Result<SupervisorHandle, Error> {
    let supervisor = Supervisor::builder("app")
        .child(ChildSpec::actor("worker", Worker::default))
        .start_in(steward.arbiter())
        .await?;
    Ok(supervisor)
}

/// Hashes `data` on the process-wide CPU pool.
///
/// # Errors
///
/// No process-wide `Steward`, or a panicking body.
#[steward::cpu_bound]
pub fn checksum(data: Vec<u8>) -> Result<u64, Error> {
    Ok(data.iter().map(|&byte| u64::from(byte)).sum())
}

/// Reads `file` holding an IO permit on its drive, blocking the thread
/// while it waits.
///
/// # Errors
///
/// The read's, or steward's (no process-wide `Steward`).
#[steward::io_bound(path = file)]
pub fn read(file: &std::path::Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(file)
}

/// Starts steward, subscribes `Pager` and a [`Watch`] to the monitor, and
/// runs a supervised worker; stops it all.
///
/// # Errors
///
/// Any of steward's.
pub async fn run() -> Result<u32, Error> {
    let steward = Steward::builder()
        .monitor_interval(Duration::from_millis(200))
        .start()?;
    let watch = Watch {
        alerts: steward.monitor().subscribe(),
    };
    let pager = Pager::start_in_arbiter(steward.arbiter(), |_| Pager::default());
    steward
        .monitor()
        .subscribe_recipient(pager.recipient())
        .await?;
    let supervisor = supervise_a_worker(&steward).await?;
    let children = supervisor.children().await?;
    supervisor.stop().await;
    drop(watch);
    steward.shutdown().await?;
    Ok(u32::try_from(children.len()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    #[steward::tokio::test(crate = "steward::tokio", flavor = "multi_thread", worker_threads = 2)]
    async fn a_steward_only_program_runs_an_actor_child_and_watches_the_monitor() {
        assert_eq!(super::run().await.unwrap(), 1);
    }
}
