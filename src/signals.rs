//! SIGINT and SIGTERM into a graceful shutdown, and, once steward has shut
//! down, back to what they would have done had steward never caught them.
//!
//! There is no panic hook: a hook cannot know whether a panic will be
//! caught (by tokio, which turns a task's panic into a `JoinError`, or by
//! `catch_unwind`), so killing tracked processes from one kills them on
//! panics that hurt nothing. What stops the trees when the program really
//! dies, by a panic or anything else, is the tracker's watchdog.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;

use crate::{Error, Steward, SystemError};

/// Set once steward has shut down: SIGINT and SIGTERM then take their
/// default action (end the program) instead of going to tokio's handler,
/// which stays installed for the life of the process and would swallow
/// them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Released(Arc<AtomicBool>);

impl Released {
    /// From now on the signals steward caught act as if it never had.
    pub(crate) fn release(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Makes `signal` take its default action once released.
    fn register(&self, signal: i32) -> std::io::Result<()> {
        signal_hook::flag::register_conditional_default(signal, Arc::clone(&self.0)).map(drop)
    }
}

impl Steward {
    /// Turns the first SIGINT or SIGTERM into a graceful shutdown (every
    /// tracked process stopped), then exits the process with 130 or 143 as
    /// a shell would report it. Returns once the handlers are installed.
    ///
    /// After steward has shut down (by this handler, or by
    /// [`shutdown`](Self::shutdown)), SIGINT and SIGTERM take their default
    /// action again, as if steward had never caught them: the program ends.
    /// An application that wants to go on handling them itself after
    /// steward's shutdown listens for them itself instead of calling this.
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
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may leave the handlers installed or not.
    pub async fn handle_signals(&self) -> Result<(), Error> {
        let released = self.inner_arc().released().clone();
        for signal in [libc_signal::SIGINT, libc_signal::SIGTERM] {
            released
                .register(signal)
                .map_err(|err| SystemError::Signals(Arc::new(err)))?;
        }
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
}

/// The signal numbers, from signal-hook's re-export of libc's.
mod libc_signal {
    pub(super) use signal_hook::consts::signal::{SIGINT, SIGTERM};
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
