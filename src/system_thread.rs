//! The dedicated `steward-system` thread that runs an actix System when
//! steward is started outside one (from `#[tokio::main]` or sync code).

use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use actix::ArbiterHandle;
use actix_rt::System;
use tokio::sync::watch;

use crate::SystemError;

/// The thread's name, as `ps -L` and `/proc/<pid>/task/*/comm` show it.
pub(crate) const THREAD_NAME: &str = "steward-system";

/// An actix System running on its own thread.
#[derive(Debug)]
pub(crate) struct SystemThread {
    system: System,
    /// Becomes `true` when the thread has finished, even by panicking.
    exited: watch::Receiver<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Marks the thread finished when dropped: on return and on unwind alike.
struct ExitSignal(watch::Sender<bool>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

impl SystemThread {
    /// Starts the thread and waits, at most `timeout`, for its System.
    pub(crate) fn spawn(timeout: Duration) -> Result<Self, SystemError> {
        let (ready_tx, ready_rx) = mpsc::channel();
        // Set by `spawn` when it gives up waiting; checked by the thread
        // before it reports ready, under the same lock, so a System is
        // either handed over or never run.
        let abandoned = Arc::new(Mutex::new(false));
        let thread_abandoned = Arc::clone(&abandoned);
        let (exited_tx, exited) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || {
                let _exit = ExitSignal(exited_tx);
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(SystemError::Runtime(Arc::new(err))));
                        return;
                    }
                };
                let runner = System::with_tokio_rt(move || runtime);
                {
                    let abandoned = thread_abandoned.lock().unwrap_or_else(PoisonError::into_inner);
                    if *abandoned || ready_tx.send(Ok(System::current())).is_err() {
                        return; // start gave up waiting
                    }
                }
                if let Err(err) = runner.run() {
                    tracing::error!(target: "steward::system", %err, "the actix System ended with an error");
                }
            })
            .map_err(|err| SystemError::Spawn(Arc::new(err)))?;
        let system = match ready_rx.recv_timeout(timeout) {
            Ok(Ok(system)) => system,
            Ok(Err(err)) => return Err(err),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(SystemError::StartTimedOut { timeout });
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(SystemError::StartFailed),
        };
        Ok(Self {
            system,
            exited,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The System's arbiter, where steward's actors run.
    pub(crate) fn arbiter(&self) -> &ArbiterHandle {
        self.system.arbiter()
    }

    /// Asks the System to stop; returns at once.
    pub(crate) fn stop(&self) {
        self.system.stop();
    }

    /// Stops the System and waits until its thread has finished.
    pub(crate) async fn stop_and_wait(&self) {
        self.stop();
        let mut exited = self.exited.clone();
        // An error means the sender is gone, which also means finished.
        let _ = exited.wait_for(|&exited| exited).await;
        self.join();
    }

    /// Whether the thread has finished.
    pub(crate) fn has_exited(&self) -> bool {
        *self.exited.borrow()
    }

    /// Reaps the thread if it has finished; never blocks on a live one.
    fn join(&self) {
        if !self.has_exited() {
            return;
        }
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle
            && handle.join().is_err()
        {
            tracing::error!(target: "steward::system", "the steward-system thread panicked");
        }
    }
}

#[cfg(test)]
impl SystemThread {
    pub(crate) fn thread_name_for_tests(&self) -> Option<String> {
        let thread = self.thread.lock().ok()?;
        thread
            .as_ref()
            .and_then(|handle| handle.thread().name().map(str::to_owned))
    }

    pub(crate) fn exit_signal_for_tests(&self) -> watch::Receiver<bool> {
        self.exited.clone()
    }
}
