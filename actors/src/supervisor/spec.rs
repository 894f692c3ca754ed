//! Child specifications: what to start, when to restart it, how to stop
//! it.

use std::future::Future;
use std::time::Duration;

use actix::{Actor, Context, Handler};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use super::SupervisorBuilder;
use super::child::{Exit, Started, StopSignal};
use crate::resource::{Resource, ResourceKeeperBuilder};
use crate::sync::Ended;
use crate::{Shutdown, UserError};

/// When a child that ended is restarted (OTP's restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after an abnormal end (an error, a panic, a kill).
    Transient,
    /// Never.
    Temporary,
}

impl Restart {
    /// Whether a child that ended with `exit` is restarted.
    #[must_use]
    pub fn applies_to(self, exit: &Exit) -> bool {
        match self {
            Restart::Permanent => true,
            Restart::Transient => exit.is_abnormal(),
            Restart::Temporary => false,
        }
    }
}

/// How a child is stopped (OTP's shutdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildShutdown {
    /// Ask it to stop, wait this long, then kill it.
    Timeout(Duration),
    /// Kill it at once.
    Brutal,
}

/// Which children restart when one ends (OTP's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the child that ended.
    OneForOne,
    /// Every child: the others are stopped (in reverse start order) and
    /// started again (in start order), `Temporary` ones excepted.
    ///
    /// Unlike OTP, a sibling that was not running (a `Transient` child
    /// that ended normally) stays stopped.
    OneForAll,
    /// The child that ended and every running child started after it, as
    /// for `OneForAll`.
    RestForOne,
}

impl Strategy {
    /// The children (by start position) a restart of child `failed`
    /// touches, among `count` children.
    #[must_use]
    pub fn affected(self, failed: usize, count: usize) -> std::ops::Range<usize> {
        match self {
            Strategy::OneForOne => failed..failed + 1,
            Strategy::OneForAll => 0..count,
            Strategy::RestForOne => failed..count,
        }
    }
}

type StartFn = Box<dyn FnMut() -> BoxFuture<'static, Result<Started, UserError>> + Send>;

/// One child of a [`Supervisor`](super::Supervisor): an id, how to start
/// it, its [`Restart`] type and its [`ChildShutdown`].
///
/// Defaults: `Permanent`, `Timeout(5 s)`.
#[must_use = "a child spec does nothing until added to a supervisor"]
pub struct ChildSpec {
    pub(super) id: String,
    pub(super) start: StartFn,
    pub(super) restart: Restart,
    pub(super) shutdown: ChildShutdown,
}

impl std::fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildSpec")
            .field("id", &self.id)
            .field("restart", &self.restart)
            .field("shutdown", &self.shutdown)
            .finish_non_exhaustive()
    }
}

const DEFAULT_SHUTDOWN: ChildShutdown = ChildShutdown::Timeout(crate::budget::CHILD_SHUTDOWN);

impl ChildSpec {
    fn new(id: impl Into<String>, start: StartFn) -> Self {
        Self {
            id: id.into(),
            start,
            restart: Restart::Permanent,
            shutdown: DEFAULT_SHUTDOWN,
        }
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: ChildShutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// A tokio task. `run` gets a [`StopSignal`] that fires when the
    /// supervisor asks the task to stop; it ends normally by returning
    /// `Ok`, abnormally by returning `Err` or panicking.
    pub fn task<F, Fut>(id: impl Into<String>, mut run: F) -> Self
    where
        F: FnMut(StopSignal) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), UserError>> + Send + 'static,
    {
        Self::new(
            id,
            Box::new(move || {
                let started = Started::task(&mut run);
                async move { Ok(started) }.boxed()
            }),
        )
    }

    /// An actix actor made by `make`, started on the supervisor's arbiter.
    /// It ends normally when it stops itself, abnormally when a handler
    /// panics (actix itself would only see the mailbox close). It is asked
    /// to stop with [`Shutdown`].
    pub fn actor<A, F>(id: impl Into<String>, mut make: F) -> Self
    where
        A: Actor<Context = Context<A>> + Handler<Shutdown>,
        F: FnMut() -> A + Send + 'static,
    {
        Self::new(
            id,
            Box::new(move || {
                let started = Started::actor(make());
                async move { Ok(started) }.boxed()
            }),
        )
    }

    /// A steward [`Resource`] under its own
    /// [`ResourceKeeper`](crate::resource::ResourceKeeper): started
    /// and initialized by the spec; it ends abnormally when it gives up
    /// (its own recovery ended in `Error`), normally when closed.
    pub fn resource<R, F>(id: impl Into<String>, mut builder: F) -> Self
    where
        R: Resource,
        F: FnMut() -> ResourceKeeperBuilder<R> + Send + 'static,
    {
        Self::new(
            id,
            Box::new(move || {
                let builder = builder();
                async move {
                    let managed = builder.start()?;
                    managed.initialize().await?;
                    Ok(Started::resource(managed))
                }
                .boxed()
            }),
        )
    }

    /// A nested supervisor: its escalation is its abnormal end.
    ///
    /// Its default shutdown is `Timeout(60 s)`, not 5 s: it stops its own
    /// children first, each within its own timeout (OTP gives supervisors
    /// `infinity`; steward keeps every wait bounded). A kill stops its
    /// children brutally, even midway through a graceful stop.
    pub fn supervisor<F>(id: impl Into<String>, mut builder: F) -> Self
    where
        F: FnMut() -> SupervisorBuilder + Send + 'static,
    {
        Self::new(
            id,
            Box::new(move || {
                let builder = builder();
                async move { Ok(Started::supervisor(builder.start().await?)) }.boxed()
            }),
        )
        .shutdown(ChildShutdown::Timeout(Duration::from_secs(60)))
    }

    /// Starts the child with every panic of the application's code
    /// caught: in the start closure itself and in the future it returns.
    pub(super) fn start_caught(&mut self) -> BoxFuture<'static, Result<Started, UserError>> {
        let panicked = |message: String| UserError::msg(format!("start panicked: {message}"));
        match crate::sync::catch(|| (self.start)()) {
            Ok(starting) => async move {
                match crate::sync::call(None, starting).await {
                    Ok(started) => started,
                    Err(Ended::Panicked(message)) => Err(panicked(message)),
                    // No limit was given: a start is bounded by its caller.
                    Err(Ended::TimedOut(limit)) => {
                        Err(UserError::msg(format!("start timed out after {limit:?}")))
                    }
                }
            }
            .boxed(),
            Err(message) => futures::future::ready(Err(panicked(message))).boxed(),
        }
    }
}
