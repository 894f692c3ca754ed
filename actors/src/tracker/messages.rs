//! The tracker's messages, each a public type an application's own actors
//! may send, and their handlers, which only dispatch to the state's
//! methods (`actor.rs`) and the shared table (`table.rs`).

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message, ResponseFuture};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::actor::{HOUSEKEEPING, ResourceTracker, stop_one};
use super::child::ChildProcess;
use super::command::CommandSpec;
use super::custom::CustomResource;
use super::error::{Kind, Rejected, TrackerError};
use super::options::SpawnOptions;
use super::status::{CleanupOutcome, CleanupReport, StopOutcome, TaskState, TrackerStatus};
use super::stop::KILL_WAIT;
use super::table::SpawnedProcess;
use crate::Shutdown;

impl Actor for ResourceTracker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.shared.set_runtime(tokio::runtime::Handle::current());
        ctx.run_interval(HOUSEKEEPING, |tracker, _| {
            if let Some(pass) = tracker.housekeeping() {
                // Reads /proc and kernfs, may start a process: off the
                // arbiter.
                drop(tokio::task::spawn_blocking(pass));
            }
        });
    }
}

/// Starts `command` contained and tracks it; replies with its pid. The
/// handle's [`spawn`](super::Tracker::spawn) does the same in the caller's
/// task, without this mailbox hop.
#[derive(Debug, Message)]
#[rtype(result = "Result<u32, TrackerError>")]
pub struct SpawnProcess {
    /// The key to track it under.
    pub key: String,
    /// What to run.
    pub command: CommandSpec,
}

/// Starts `command` as [`SpawnProcess`] does, with `options`' limits, and
/// hands back the pipes the command asked for (`Stdio::piped()`) and a way
/// to wait for its exit.
#[derive(Debug, Message)]
#[rtype(result = "Result<SpawnedProcess, TrackerError>")]
pub struct SpawnPiped {
    /// The key to track it under.
    pub key: String,
    /// What to run.
    pub command: CommandSpec,
    /// Its limits.
    pub options: SpawnOptions,
}

/// Tracks a child the application started; replies with its pid.
#[derive(Debug, Message)]
#[rtype(result = "Result<u32, Rejected<Child>>")]
pub struct RegisterProcess {
    /// The key to track it under.
    pub key: String,
    /// The child.
    pub child: Child,
}

/// SIGTERM to everything of the process, up to `timeout`, then SIGKILL;
/// then reaped, untracked, its cgroup removed.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<StopOutcome, TrackerError>")]
pub struct StopProcess {
    /// The process's key.
    pub key: String,
    /// How long it may take to exit after SIGTERM.
    pub timeout: Duration,
}

/// Hands a tracked child back without stopping it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<ChildProcess, TrackerError>")]
pub struct UnregisterProcess {
    /// The process's key.
    pub key: String,
}

/// Tracks a task.
#[derive(Debug)]
pub struct RegisterTask<T> {
    /// The key to track it under.
    pub key: String,
    /// The task.
    pub handle: JoinHandle<T>,
}

impl<T: Send + 'static> Message for RegisterTask<T> {
    type Result = Result<(), Rejected<JoinHandle<T>>>;
}

/// Aborts a task and waits, at most `timeout`, for it to end.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<TaskState, TrackerError>")]
pub struct CancelTask {
    /// The task's key.
    pub key: String,
    /// The bound on the wait.
    pub timeout: Duration,
}

/// Tracks a custom resource with its cleanup. Build it with
/// [`Tracker::register_custom`](super::Tracker::register_custom) or
/// [`register_custom_async`](super::Tracker::register_custom_async).
pub struct RegisterCustom {
    pub(crate) key: String,
    pub(crate) resource: Box<dyn CustomResource>,
}

impl std::fmt::Debug for RegisterCustom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterCustom")
            .field("key", &self.key)
            .field("type", &self.resource.value_type().1)
            .finish()
    }
}

impl Message for RegisterCustom {
    type Result = Result<(), Rejected<dyn Any + Send>>;
}

/// Runs a custom resource's cleanup (bounded by `timeout`) and untracks it.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<CleanupOutcome, TrackerError>")]
pub struct CleanupCustom {
    /// The resource's key.
    pub key: String,
    /// The bound on the cleanup.
    pub timeout: Duration,
}

/// Hands a custom resource back (typed) without cleaning it up.
#[derive(Debug)]
pub struct UnregisterCustom<T> {
    /// The resource's key.
    pub key: String,
    value: PhantomData<fn() -> T>,
}

impl<T> UnregisterCustom<T> {
    /// Asks for the resource under `key`.
    #[must_use]
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: PhantomData,
        }
    }
}

impl<T: Send + 'static> Message for UnregisterCustom<T> {
    type Result = Result<T, TrackerError>;
}

/// Stops and cleans up everything within `deadline`.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "CleanupReport")]
pub struct CleanupAll {
    /// The bound on the whole cleanup.
    pub deadline: Duration,
}

/// Asks for the tracker's status.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "TrackerStatus")]
pub struct ReportTrackerStatus;

/// Asks for the runtime the tracker's watchers run on.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "tokio::runtime::Handle")]
pub(crate) struct CurrentRuntime;

impl Handler<SpawnProcess> for ResourceTracker {
    type Result = ResponseFuture<Result<u32, TrackerError>>;

    fn handle(&mut self, message: SpawnProcess, _: &mut Context<Self>) -> Self::Result {
        let spawning =
            self.spawn_off_arbiter(message.key, message.command, SpawnOptions::default());
        Box::pin(async move { spawning.await.map(|spawned| spawned.pid) })
    }
}

impl Handler<SpawnPiped> for ResourceTracker {
    type Result = ResponseFuture<Result<SpawnedProcess, TrackerError>>;

    fn handle(&mut self, message: SpawnPiped, _: &mut Context<Self>) -> Self::Result {
        Box::pin(self.spawn_off_arbiter(message.key, message.command, message.options))
    }
}

impl Handler<RegisterProcess> for ResourceTracker {
    type Result = Result<u32, Rejected<Child>>;

    fn handle(&mut self, message: RegisterProcess, _: &mut Context<Self>) -> Self::Result {
        let runtime = tokio::runtime::Handle::current();
        self.shared
            .register_process(&runtime, message.key, message.child)
    }
}

impl Handler<StopProcess> for ResourceTracker {
    type Result = ResponseFuture<Result<StopOutcome, TrackerError>>;

    fn handle(&mut self, message: StopProcess, _: &mut Context<Self>) -> Self::Result {
        let entry = self.shared.take_process(&message.key);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move { Ok(stop_one(shared, entry?, message.timeout, KILL_WAIT).await) })
    }
}

impl Handler<UnregisterProcess> for ResourceTracker {
    type Result = ResponseFuture<Result<ChildProcess, TrackerError>>;

    fn handle(&mut self, message: UnregisterProcess, _: &mut Context<Self>) -> Self::Result {
        let entry = self.shared.hand_back_process(&message.key);
        Box::pin(async move {
            let entry = entry?;
            let (reply, child) = oneshot::channel();
            let gone = || TrackerError::NotRegistered {
                kind: Kind::Process,
                key: message.key.clone(),
            };
            entry.hand_back.send(reply).map_err(|_| gone())?;
            child.await.map_err(|_| gone())
        })
    }
}

impl<T: Send + 'static> Handler<RegisterTask<T>> for ResourceTracker {
    type Result = Result<(), Rejected<JoinHandle<T>>>;

    fn handle(&mut self, message: RegisterTask<T>, _: &mut Context<Self>) -> Self::Result {
        let runtime = tokio::runtime::Handle::current();
        self.shared
            .register_task(&runtime, message.key, message.handle)
    }
}

impl Handler<CancelTask> for ResourceTracker {
    type Result = ResponseFuture<Result<TaskState, TrackerError>>;

    fn handle(&mut self, message: CancelTask, _: &mut Context<Self>) -> Self::Result {
        let entry = self.shared.take_task(&message.key);
        Box::pin(async move { entry?.cancel_within(message.key, message.timeout).await })
    }
}

impl Handler<RegisterCustom> for ResourceTracker {
    type Result = Result<(), Rejected<dyn Any + Send>>;

    fn handle(&mut self, message: RegisterCustom, _: &mut Context<Self>) -> Self::Result {
        self.register_custom(message.key, message.resource)
    }
}

impl Handler<CleanupCustom> for ResourceTracker {
    type Result = ResponseFuture<Result<CleanupOutcome, TrackerError>>;

    fn handle(&mut self, message: CleanupCustom, _: &mut Context<Self>) -> Self::Result {
        let entry = self.take_custom(&message.key);
        Box::pin(async move { Ok(entry?.resource.clean_up(message.timeout).await) })
    }
}

impl<T: Send + 'static> Handler<UnregisterCustom<T>> for ResourceTracker {
    type Result = Result<T, TrackerError>;

    fn handle(&mut self, message: UnregisterCustom<T>, _: &mut Context<Self>) -> Self::Result {
        self.unregister_custom(&message.key)
    }
}

impl Handler<CleanupAll> for ResourceTracker {
    type Result = ResponseFuture<CleanupReport>;

    fn handle(&mut self, message: CleanupAll, _: &mut Context<Self>) -> Self::Result {
        Box::pin(self.drain().clean_up(message.deadline))
    }
}

impl Handler<ReportTrackerStatus> for ResourceTracker {
    type Result = ResponseFuture<TrackerStatus>;

    fn handle(&mut self, _: ReportTrackerStatus, _: &mut Context<Self>) -> Self::Result {
        let status = self.status();
        // Reads every cell's cpu.stat and pressure files: off the arbiter.
        Box::pin(async move {
            tokio::task::spawn_blocking(status)
                .await
                .unwrap_or_default()
        })
    }
}

impl Handler<CurrentRuntime> for ResourceTracker {
    type Result = actix::MessageResult<CurrentRuntime>;

    fn handle(&mut self, _: CurrentRuntime, _: &mut Context<Self>) -> Self::Result {
        actix::MessageResult(tokio::runtime::Handle::current())
    }
}

impl Handler<Shutdown> for ResourceTracker {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) -> Self::Result {
        // `Steward::shutdown` runs `CleanupAll` first; whatever is left is
        // killed now rather than leaked.
        let shutdown = self.shutdown();
        ctx.stop();
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(shutdown).await;
        })
    }
}
