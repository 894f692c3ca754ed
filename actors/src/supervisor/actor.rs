//! The supervisor actor: starts children, watches them end, restarts them
//! by strategy within its intensity, escalates, stops them in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::child::Started;
use super::intensity::Intensity;
use super::{
    ChildShutdown, ChildSpec, ChildStatus, Exit, Restart, Strategy, SupervisorBuilder,
    SupervisorError, SupervisorExit,
};
use crate::UserError;
use crate::lifecycle::{Lifecycle, State, StateView};

/// How long a killed child may take to be gone before it is given up on.
const KILL_WAIT: Duration = crate::budget::KILL_WAIT;

/// An OTP-style supervisor of children: tasks, actix actors, steward
/// resources, nested supervisors.
///
/// It restarts children by its [`Strategy`] and their [`Restart`] type;
/// more than `max_restarts` restarts within `window` stop every child
/// (newest first) and escalate: the supervisor goes to `Error` and ends
/// with [`SupervisorExit::Escalated`], which a parent sees as an abnormal
/// end. While restarts are recent it is `Degraded`.
///
/// Unlike `actix::Supervisor`, which restarts only an actor that stops
/// itself, it also notices an actor that died: it runs each actor child's
/// context as a task of its own and reads its `JoinHandle`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use steward_actors::supervisor::{ChildSpec, Strategy, Supervisor};
/// use steward_actors::State;
///
/// # #[actix_rt::main]
/// # async fn main() -> Result<(), steward_actors::supervisor::SupervisorError> {
/// let supervisor = Supervisor::builder("workers")
///     .strategy(Strategy::OneForOne)
///     .intensity(3, Duration::from_secs(5))
///     .child(ChildSpec::task("ticker", |mut stop| async move {
///         stop.requested().await;
///         Ok(())
///     }))
///     .start()
///     .await?;
/// assert_eq!(supervisor.state(), State::Ready);
/// assert!(supervisor.children().await?[0].running);
/// supervisor.stop().await;
/// assert_eq!(supervisor.state(), State::Closed);
/// # Ok(())
/// # }
/// ```
pub struct Supervisor {
    pub(super) name: String,
    strategy: Strategy,
    intensity: Intensity,
    pub(super) lifecycle: Lifecycle,
    children: Vec<Child>,
    exit: watch::Sender<Option<SupervisorExit>>,
    quiet_check: Option<SpawnHandle>,
    stop_waiters: Vec<oneshot::Sender<()>>,
    /// A failed boot's answer, given once the children it started are
    /// stopped again.
    boot_failure: Option<(
        oneshot::Sender<Result<(), SupervisorError>>,
        SupervisorError,
    )>,
    /// Set by a kill from outside: switches every stop in progress to a
    /// kill without going through the (busy) mailbox.
    kill: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("name", &self.name)
            .field("state", &self.lifecycle.state())
            .field("children", &self.children.len())
            .finish_non_exhaustive()
    }
}

struct Child {
    spec: ChildSpec,
    /// Bumped at every start, so an end reported for an earlier run is
    /// recognised and ignored.
    generation: u64,
    running: Option<Running>,
    restarts: u32,
    last_exit: Option<Exit>,
}

/// A running child: how to stop or kill it, and its end.
struct Running {
    stop: Box<dyn FnOnce(Duration) + Send>,
    kill: Box<dyn FnOnce() + Send>,
    exited: watch::Receiver<Option<Exit>>,
    shutdown: ChildShutdown,
}

/// What a start sequence is for.
enum Phase {
    /// The supervisor's own start: a failure undoes it and is reported.
    Boot(Option<oneshot::Sender<Result<(), SupervisorError>>>),
    /// A restart: a failure counts as the child ending.
    Restart,
}

impl Supervisor {
    /// A builder for a supervisor named `name`.
    pub fn builder(name: impl Into<String>) -> SupervisorBuilder {
        SupervisorBuilder::new(name.into())
    }

    pub(super) fn new(builder: SupervisorBuilder) -> Self {
        Self {
            lifecycle: Lifecycle::new(builder.name.clone()),
            name: builder.name,
            strategy: builder.strategy,
            intensity: Intensity::new(builder.max_restarts, builder.window),
            children: builder
                .children
                .into_iter()
                .map(|spec| Child {
                    spec,
                    generation: 0,
                    running: None,
                    restarts: 0,
                    last_exit: None,
                })
                .collect(),
            exit: watch::Sender::new(None),
            quiet_check: None,
            stop_waiters: Vec::new(),
            boot_failure: None,
            kill: Arc::new(watch::Sender::new(false)),
        }
    }

    pub(super) fn view(&self) -> StateView {
        self.lifecycle.view()
    }

    pub(super) fn kill_switch(&self) -> Arc<watch::Sender<bool>> {
        Arc::clone(&self.kill)
    }

    pub(super) fn exit_receiver(&self) -> watch::Receiver<Option<SupervisorExit>> {
        self.exit.subscribe()
    }

    fn advance(&mut self, to: State, reason: impl Into<String>) {
        self.lifecycle.advance_expected(to, reason);
    }

    fn is_winding_down(&self) -> bool {
        matches!(
            self.lifecycle.state(),
            State::Error | State::Closing | State::Closed
        )
    }

    pub(super) fn children_status(&self) -> Vec<ChildStatus> {
        self.children
            .iter()
            .map(|child| ChildStatus {
                id: child.spec.id.clone(),
                running: child.running.is_some(),
                restart: child.spec.restart,
                restarts: child.restarts,
                last_exit: child.last_exit.clone(),
            })
            .collect()
    }

    // ----- starting -----

    pub(super) fn boot(
        &mut self,
        reply: oneshot::Sender<Result<(), SupervisorError>>,
        ctx: &mut Context<Self>,
    ) {
        self.advance(State::Initializing, "starting children");
        let all = (0..self.children.len()).collect();
        self.start_sequence(all, Phase::Boot(Some(reply)), ctx);
    }

    /// Starts the children in `queue` one after another; the mailbox waits
    /// meanwhile, so no end or stop interleaves with a sequence.
    fn start_sequence(
        &mut self,
        mut queue: VecDeque<usize>,
        phase: Phase,
        ctx: &mut Context<Self>,
    ) {
        let Some(index) = queue.pop_front() else {
            self.sequence_done(phase);
            return;
        };
        let starting = self.children[index].spec.start_caught();
        ctx.wait(
            starting
                .into_actor(self)
                .map(move |started, act, ctx| match started {
                    Ok(started) => {
                        act.watch(index, started, ctx);
                        act.start_sequence(queue, phase, ctx);
                    }
                    Err(error) => act.start_failed(index, error, queue, phase, ctx),
                }),
        );
    }

    fn sequence_done(&mut self, phase: Phase) {
        if let Phase::Boot(reply) = phase {
            self.advance(State::Ready, "children started");
            if let Some(reply) = reply {
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn start_failed(
        &mut self,
        index: usize,
        error: UserError,
        queue: VecDeque<usize>,
        phase: Phase,
        ctx: &mut Context<Self>,
    ) {
        let id = self.children[index].spec.id.clone();
        tracing::warn!(target: "steward::supervisor", supervisor = %self.name, child = %id, %error, "child failed to start");
        self.children[index].last_exit = Some(Exit::Failed(error.to_string()));
        match phase {
            Phase::Boot(reply) => {
                let failure = SupervisorError::StartFailed {
                    supervisor: self.name.clone(),
                    child: id,
                    source: error,
                };
                self.advance(State::Error, failure.to_string());
                let exit = SupervisorExit::Escalated(failure.to_string());
                self.boot_failure = reply.map(|reply| (reply, failure));
                self.stop_all_and_finish(false, exit, ctx);
            }
            Phase::Restart => {
                // Finish this sequence, then handle the failure as an end.
                ctx.notify(ChildEnded {
                    index,
                    generation: None,
                    exit: Exit::Failed(error.to_string()),
                });
                self.start_sequence(queue, Phase::Restart, ctx);
            }
        }
    }

    /// Records a started child and watches for its end.
    fn watch(&mut self, index: usize, started: Started, ctx: &mut Context<Self>) {
        let child = &mut self.children[index];
        child.generation += 1;
        let generation = child.generation;
        let (exited_tx, exited) = watch::channel(None);
        child.running = Some(Running {
            stop: started.stop,
            kill: started.kill,
            exited,
            shutdown: child.spec.shutdown,
        });
        let supervisor = ctx.address().downgrade();
        let ending = started.exit;
        actix::spawn(async move {
            let exit = ending.await;
            exited_tx.send_replace(Some(exit.clone()));
            if let Some(supervisor) = supervisor.upgrade() {
                // Lost only when the supervisor stops; then nothing restarts.
                supervisor.do_send(ChildEnded {
                    index,
                    generation: Some(generation),
                    exit,
                });
            }
        });
    }

    // ----- ends and restarts -----

    pub(super) fn child_ended(&mut self, ended: ChildEnded, ctx: &mut Context<Self>) {
        let ChildEnded {
            index,
            generation,
            exit,
        } = ended;
        let Some(child) = self.children.get_mut(index) else {
            return;
        };
        if let Some(generation) = generation
            && (child.generation != generation || child.running.is_none())
        {
            return; // an earlier run, already stopped on purpose
        }
        child.running = None;
        child.last_exit = Some(exit.clone());
        let id = child.spec.id.clone();
        let restart = child.spec.restart;
        if self.is_winding_down() {
            return;
        }
        tracing::info!(target: "steward::supervisor", supervisor = %self.name, child = %id, ?exit, "child ended");
        if !restart.applies_to(&exit) {
            return;
        }
        if !self.intensity.record(Instant::now()) {
            let reason = format!(
                "child {id:?} ended ({exit:?}) with more restarts than the intensity allows"
            );
            self.escalate(reason, ctx);
            return;
        }
        if self.lifecycle.state() == State::Ready {
            self.advance(State::Degraded, format!("restarting child {id:?}"));
        }
        self.schedule_quiet_check(ctx);
        self.restart(index, ctx);
    }

    fn restart(&mut self, failed: usize, ctx: &mut Context<Self>) {
        let affected = self.strategy.affected(failed, self.children.len());
        let mut to_stop = Vec::new();
        let mut to_start = VecDeque::new();
        for index in affected.clone().rev() {
            if let Some(running) = self.children[index].running.take() {
                to_stop.push(running);
                if self.children[index].spec.restart != Restart::Temporary {
                    to_start.push_front(index);
                }
            } else if index == failed {
                to_start.push_front(index);
            }
        }
        to_start.make_contiguous().sort_unstable();
        for &index in &to_start {
            self.children[index].restarts += 1;
        }
        ctx.wait(
            stop_in_order(to_stop, self.kill.subscribe())
                .into_actor(self)
                .map(|(), act, ctx| {
                    act.start_sequence(to_start, Phase::Restart, ctx);
                }),
        );
    }

    /// Back to `Ready` once a whole window passes without a restart.
    fn schedule_quiet_check(&mut self, ctx: &mut Context<Self>) {
        if let Some(previous) = self.quiet_check.take() {
            ctx.cancel_future(previous);
        }
        self.quiet_check = Some(ctx.run_later(self.intensity.window(), |act, _| {
            act.quiet_check = None;
            if act.lifecycle.state() == State::Degraded && act.intensity.is_quiet(Instant::now()) {
                act.advance(State::Ready, "no restart within the window");
            }
        }));
    }

    fn escalate(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::error!(target: "steward::supervisor", supervisor = %self.name, %reason, "escalating");
        self.advance(State::Error, reason.clone());
        self.stop_all_and_finish(false, SupervisorExit::Escalated(reason), ctx);
    }

    // ----- stopping -----

    /// Stops every running child, newest first, while the mailbox waits;
    /// then publishes `exit` and stops the actor.
    ///
    /// One wait future does both: actix polls the newest wait future
    /// first, so two would run in the wrong order.
    fn stop_all_and_finish(&mut self, brutal: bool, exit: SupervisorExit, ctx: &mut Context<Self>) {
        if let Some(check) = self.quiet_check.take() {
            ctx.cancel_future(check);
        }
        let mut running: Vec<Running> = self
            .children
            .iter_mut()
            .rev()
            .filter_map(|child| child.running.take())
            .collect();
        if brutal {
            for child in &mut running {
                child.shutdown = ChildShutdown::Brutal;
            }
        }
        ctx.wait(
            stop_in_order(running, self.kill.subscribe())
                .into_actor(self)
                .map(move |(), act, ctx| {
                    if act.lifecycle.state() == State::Closing {
                        act.advance(State::Closed, "children stopped");
                    }
                    act.exit.send_replace(Some(exit));
                    for waiter in act.stop_waiters.drain(..) {
                        let _ = waiter.send(());
                    }
                    if let Some((reply, failure)) = act.boot_failure.take() {
                        let _ = reply.send(Err(failure));
                    }
                    ctx.stop();
                }),
        );
    }

    pub(super) fn stop(
        &mut self,
        brutal: bool,
        reply: Option<oneshot::Sender<()>>,
        ctx: &mut Context<Self>,
    ) {
        self.stop_waiters.extend(reply);
        if self.is_winding_down() {
            return; // already on its way out; the waiter hears when done
        }
        self.advance(State::Closing, "stopping");
        self.stop_all_and_finish(brutal, SupervisorExit::Stopped, ctx);
    }
}

/// Stops children one after another, in the order given, each by its own
/// shutdown: ask, wait, kill. Once `kill` is set, the rest are killed at
/// once: that is how a parent's kill reaches a supervisor whose mailbox
/// is busy stopping.
async fn stop_in_order(children: Vec<Running>, kill: watch::Receiver<bool>) {
    for child in children {
        let _ = stop_child(child, kill.clone()).await;
    }
}

async fn stop_child(child: Running, mut killed: watch::Receiver<bool>) -> Exit {
    let Running {
        stop,
        kill,
        mut exited,
        shutdown,
    } = child;
    if let ChildShutdown::Timeout(grace) = shutdown
        && !*killed.borrow()
    {
        stop(grace);
        tokio::select! {
            ended = tokio::time::timeout(grace, exited.wait_for(Option::is_some)) => {
                if let Ok(Ok(exit)) = ended {
                    return exit.clone().unwrap_or(Exit::Normal);
                }
            }
            _ = killed.wait_for(|killed| *killed) => {}
        }
    }
    kill();
    match tokio::time::timeout(KILL_WAIT, exited.wait_for(Option::is_some)).await {
        Ok(Ok(exit)) => exit.clone().unwrap_or(Exit::Killed),
        _ => Exit::Killed,
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        // Stopped with its System: kill what is left, say how it ended.
        for child in self.children.iter_mut().rev() {
            if let Some(running) = child.running.take() {
                (running.kill)();
            }
        }
        if self.exit.borrow().is_none() {
            self.exit.send_replace(Some(SupervisorExit::Stopped));
        }
    }
}

/// A child's run ended. `generation: None` for a start that failed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct ChildEnded {
    index: usize,
    generation: Option<u64>,
    exit: Exit,
}
