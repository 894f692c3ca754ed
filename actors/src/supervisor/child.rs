//! A started child: how it ends, how to ask it to stop, how to kill it.

use std::future::Future;

use actix::{Actor, AsyncContext, Context, Handler};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinError;

use super::SupervisorHandle;
use crate::panic_message::panic_message;
use crate::resource::{Managed, Resource};
use crate::{Shutdown, UserError};

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Exit {
    /// It finished or stopped by itself, or as asked.
    Normal,
    /// It returned an error (or failed to start).
    Failed(String),
    /// It panicked.
    Panicked(String),
    /// It was killed: brutally, or after its shutdown timeout.
    Killed,
}

impl Exit {
    /// Whether the end was abnormal (anything but [`Exit::Normal`]).
    #[must_use]
    pub fn is_abnormal(&self) -> bool {
        !matches!(self, Exit::Normal)
    }

    fn from_join(outcome: Result<Result<(), UserError>, JoinError>) -> Self {
        match outcome {
            Ok(Ok(())) => Exit::Normal,
            Ok(Err(error)) => Exit::Failed(error.to_string()),
            Err(error) if error.is_panic() => Exit::Panicked(panic_message(&*error.into_panic())),
            Err(_) => Exit::Killed,
        }
    }
}

/// Tells a task child that its supervisor wants it to stop.
///
/// Cheap to clone. A task that never looks at it is killed after its
/// shutdown timeout.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Whether a stop was asked for.
    #[must_use]
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a stop is asked for (or the supervisor is gone).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::supervisor::{ChildSpec, Supervisor, SupervisorError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), SupervisorError> {
    /// let supervisor = Supervisor::builder("workers")
    ///     .child(ChildSpec::task("poller", |mut stop| async move {
    ///         loop {
    ///             tokio::select! {
    ///                 () = stop.requested() => return Ok(()),
    ///                 () = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
    ///             }
    ///         }
    ///     }))
    ///     .start()
    ///     .await?;
    /// supervisor.stop().await; // the poller returns at its next select
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn requested(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// How long a resource child that gave up may take to clean up before its
/// replacement starts.
const RESOURCE_CLOSE_TIMEOUT: std::time::Duration = crate::budget::CLOSE;

type Action = Box<dyn FnOnce() + Send>;
/// Asks a child to stop, giving it this long.
type StopAction = Box<dyn FnOnce(std::time::Duration) + Send>;

/// A child just started: the future of its end, and its stop and kill.
pub(crate) struct Started {
    pub(crate) exit: BoxFuture<'static, Exit>,
    pub(crate) stop: StopAction,
    pub(crate) kill: Action,
}

impl Started {
    pub(crate) fn task<F, Fut>(run: &mut F) -> Self
    where
        F: FnMut(StopSignal) -> Fut,
        Fut: Future<Output = Result<(), UserError>> + Send + 'static,
    {
        let (stop_tx, stop_rx) = watch::channel(false);
        let join = tokio::spawn(run(StopSignal(stop_rx)));
        let abort = join.abort_handle();
        Self {
            exit: join.map(Exit::from_join).boxed(),
            stop: Box::new(move |_| {
                stop_tx.send_replace(true);
            }),
            kill: Box::new(move || abort.abort()),
        }
    }

    /// Runs the actor's context as a task of our own, so that its
    /// `JoinHandle` tells a panic from a stop.
    pub(crate) fn actor<A>(actor: A) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<Shutdown>,
    {
        let context = Context::<A>::new();
        let addr = context.address();
        let join = actix::spawn(context.into_future(actor));
        let abort = join.abort_handle();
        Self {
            exit: join.map(|outcome| Exit::from_join(outcome.map(Ok))).boxed(),
            stop: Box::new(move |_| addr.do_send(Shutdown)),
            kill: Box::new(move || abort.abort()),
        }
    }

    pub(crate) fn resource<R: Resource>(managed: Managed<R>) -> Self {
        let watched = managed.clone();
        let closing = managed.clone();
        Self {
            exit: async move {
                match watched.ended().await {
                    Ok(()) => Exit::Normal,
                    Err(error) => {
                        // Close the instance that gave up before its
                        // replacement starts: nothing exclusive (a port, a
                        // lock file) may be held twice.
                        let _ = watched.close(RESOURCE_CLOSE_TIMEOUT).await;
                        Exit::Failed(error)
                    }
                }
            }
            .boxed(),
            stop: Box::new(move |grace| close_in_background(closing, grace)),
            kill: Box::new(move || close_in_background(managed, std::time::Duration::ZERO)),
        }
    }

    pub(crate) fn supervisor(handle: SupervisorHandle) -> Self {
        let watched = handle.clone();
        let stopping = handle.clone();
        Self {
            exit: async move { watched.exited().await.into_exit() }.boxed(),
            stop: Box::new(move |_| stopping.request_stop(false)),
            kill: Box::new(move || handle.request_stop(true)),
        }
    }
}

/// Closes a resource child without waiting: its end is watched
/// separately, through its state.
fn close_in_background<R: Resource>(managed: Managed<R>, timeout: std::time::Duration) {
    actix::spawn(async move {
        // The outcome is reported through the resource's own state.
        let _ = managed.close(timeout).await;
    });
}
