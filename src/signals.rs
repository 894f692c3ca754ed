//! Process-level safety nets: SIGINT/SIGTERM into a shutdown, and a panic
//! hook that kills every tracked process group.

use std::sync::{Arc, Weak};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::{Error, Steward, SystemError};

impl Steward {
    /// Turns the first SIGINT or SIGTERM into a graceful shutdown (every
    /// tracked process stopped), then exits the process with 130 or 143 as
    /// a shell would report it. Returns once the handlers are installed.
    ///
    /// tokio keeps its handlers installed for the life of the process: after
    /// steward has shut down, SIGINT and SIGTERM no longer end the program.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), steward::Error> {
    /// let steward = steward::Steward::builder().start()?;
    /// steward.handle_signals().await?;
    /// # steward.shutdown().await
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SystemError::Signals`] if the handlers cannot be installed.
    pub async fn handle_signals(&self) -> Result<(), Error> {
        let steward = Arc::downgrade(&self.inner_arc());
        let (installed, result) = oneshot::channel();
        self.arbiter().spawn(async move {
            let (interrupt, terminate) = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
                (Err(err), _) | (_, Err(err)) => {
                    let _ = installed.send(Err(SystemError::Signals(Arc::new(err))));
                    return;
                }
            };
            let _ = installed.send(Ok(()));
            wait_and_exit(steward, interrupt, terminate).await;
        });
        result
            .await
            .map_err(|_| SystemError::StartFailed)?
            .map_err(Error::from)
    }

    /// Installs a panic hook that SIGKILLs every tracked process group and
    /// marked descendant before a panic goes on, so a panic in `main` (or
    /// any application thread) leaves no child behind. Panics on threads
    /// whose panics are routinely caught (tokio workers and blocking
    /// threads, where a panic becomes a `JoinError`; actix arbiters;
    /// steward's own pool and system threads) kill nothing. The previous
    /// hook still runs after it.
    pub fn install_panic_hook(&self) {
        let tracker = self.tracker().clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !caught_by_a_runtime(std::thread::current().name()) {
                tracker.kill_all_now();
            }
            previous(info);
        }));
    }
}

async fn wait_and_exit(
    steward: Weak<crate::steward::Inner>,
    mut interrupt: tokio::signal::unix::Signal,
    mut terminate: tokio::signal::unix::Signal,
) {
    let code = tokio::select! {
        _ = interrupt.recv() => 130,
        _ = terminate.recv() => 143,
    };
    tracing::info!(target: "steward", code, "signal received; shutting down");
    if let Some(inner) = steward.upgrade() {
        let steward = Steward::from_inner(inner);
        // Shutdown stops this System, and with it this task: finish the
        // cleanup first, then exit from a thread of our own.
        let stopped = steward.inner_arc().stop_actors_for_exit().await;
        drop(steward);
        if let Err(err) = stopped {
            tracing::error!(target: "steward", %err, "cleanup before exit incomplete");
        }
    }
    std::process::exit(code);
}

/// Whether a panic on a thread of this name is one a runtime catches.
fn caught_by_a_runtime(thread: Option<&str>) -> bool {
    thread.is_some_and(|name| {
        [
            "tokio-runtime-worker",
            "actix-",
            "steward-cpu-",
            "steward-system",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_runtime_threads_count_as_caught() {
        for name in [
            "tokio-runtime-worker",
            "actix-rt|system:0|arbiter:1",
            "steward-cpu-3",
            "steward-system",
        ] {
            assert!(super::caught_by_a_runtime(Some(name)), "{name}");
        }
        for name in [Some("main"), Some("my-app-worker"), None] {
            assert!(!super::caught_by_a_runtime(name), "{name:?}");
        }
    }
}
