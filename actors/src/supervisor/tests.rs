//! Supervision: intensity and strategy logic, then real children (tasks,
//! actors, resources, nested supervisors) on a paused clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, timeout};

use super::intensity::Intensity;
use super::*;
use crate::{Shutdown, State, UserError};

const BOUND: Duration = Duration::from_secs(600);

#[test]
fn intensity_allows_max_restarts_within_the_window() {
    let start = Instant::now();
    let mut intensity = Intensity::new(3, Duration::from_secs(5));
    for second in 0..3 {
        assert!(intensity.record(start + Duration::from_secs(second)));
    }
    assert!(
        !intensity.record(start + Duration::from_secs(4)),
        "a fourth in 5 s escalates"
    );

    let mut spread = Intensity::new(3, Duration::from_secs(5));
    for second in [0, 2, 4, 6, 8, 10] {
        assert!(
            spread.record(start + Duration::from_secs(second)),
            "at {second}s"
        );
    }
    assert!(!spread.is_quiet(start + Duration::from_secs(14)));
    assert!(spread.is_quiet(start + Duration::from_secs(15)));
}

#[test]
fn strategies_pick_the_children_to_restart() {
    assert_eq!(Strategy::OneForOne.affected(1, 4), 1..2);
    assert_eq!(Strategy::OneForAll.affected(1, 4), 0..4);
    assert_eq!(Strategy::RestForOne.affected(1, 4), 1..4);
}

#[test]
fn restart_types_follow_otp() {
    let failed = Exit::Failed("boom".into());
    assert!(Restart::Permanent.applies_to(&Exit::Normal));
    assert!(Restart::Permanent.applies_to(&failed));
    assert!(!Restart::Transient.applies_to(&Exit::Normal));
    assert!(Restart::Transient.applies_to(&failed));
    assert!(Restart::Transient.applies_to(&Exit::Killed));
    assert!(!Restart::Temporary.applies_to(&failed));
}

/// A shared record of starts and stops, with a watch on its length.
#[derive(Debug, Clone)]
struct Log {
    entries: Arc<Mutex<Vec<String>>>,
    len: watch::Sender<usize>,
}

impl Log {
    fn new() -> Self {
        Self {
            entries: Arc::default(),
            len: watch::Sender::new(0),
        }
    }

    fn push(&self, entry: String) {
        let mut entries = self.entries.lock().unwrap();
        entries.push(entry);
        self.len.send_replace(entries.len());
    }

    fn entries(&self) -> Vec<String> {
        self.entries.lock().unwrap().clone()
    }

    /// Waits (bounded) until `n` entries are in, and returns them all.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        let mut len = self.len.subscribe();
        timeout(BOUND, len.wait_for(|len| *len >= n))
            .await
            .unwrap_or_else(|_| panic!("log stuck at {:?}", self.entries()))
            .unwrap();
        self.entries()
    }
}

/// Task children that log their start and stop and fail on command.
#[derive(Clone)]
struct Harness {
    log: Log,
    fail: Arc<HashMap<&'static str, Arc<Notify>>>,
    finish: Arc<HashMap<&'static str, Arc<Notify>>>,
}

impl Harness {
    fn new(ids: &[&'static str]) -> Self {
        let notifies = || {
            Arc::new(
                ids.iter()
                    .map(|id| (*id, Arc::new(Notify::new())))
                    .collect(),
            )
        };
        Self {
            log: Log::new(),
            fail: notifies(),
            finish: notifies(),
        }
    }

    fn child(&self, id: &'static str) -> ChildSpec {
        let harness = self.clone();
        ChildSpec::task(id, move |mut stop| {
            let log = harness.log.clone();
            let fail = Arc::clone(&harness.fail[id]);
            let finish = Arc::clone(&harness.finish[id]);
            async move {
                log.push(format!("start {id}"));
                tokio::select! {
                    () = stop.requested() => {
                        log.push(format!("stop {id}"));
                        Ok(())
                    }
                    () = fail.notified() => {
                        log.push(format!("fail {id}"));
                        Err(UserError::msg(format!("{id} failed")))
                    }
                    () = finish.notified() => {
                        log.push(format!("done {id}"));
                        Ok(())
                    }
                }
            }
        })
    }

    fn fail(&self, id: &str) {
        self.fail[id].notify_one();
    }

    fn finish(&self, id: &str) {
        self.finish[id].notify_one();
    }

    async fn supervisor(&self, strategy: Strategy, children: &[&'static str]) -> SupervisorHandle {
        let builder = children.iter().fold(
            Supervisor::builder("test").strategy(strategy),
            |builder, id| builder.child(self.child(id)),
        );
        let supervisor = timeout(BOUND, builder.start()).await.unwrap().unwrap();
        self.log.wait_for(children.len()).await;
        supervisor
    }
}

fn strings(entries: &[&str]) -> Vec<String> {
    entries.iter().map(ToString::to_string).collect()
}

async fn strategy_log(strategy: Strategy, expected_len: usize) -> Vec<String> {
    tokio::time::pause();
    let harness = Harness::new(&["a", "b", "c"]);
    let supervisor = harness.supervisor(strategy, &["a", "b", "c"]).await;
    harness.fail("b");
    let log = harness.log.wait_for(expected_len).await;
    assert_eq!(supervisor.state(), State::Degraded);
    supervisor.stop().await;
    log
}

#[actix_rt::test]
async fn one_for_one_restarts_only_the_failed_child() {
    let log = strategy_log(Strategy::OneForOne, 5).await;
    assert_eq!(log[3..], strings(&["fail b", "start b"]));
}

#[actix_rt::test]
async fn one_for_all_restarts_every_child_in_order() {
    let log = strategy_log(Strategy::OneForAll, 9).await;
    assert_eq!(
        log[3..],
        strings(&[
            "fail b", "stop c", "stop a", "start a", "start b", "start c"
        ])
    );
}

#[actix_rt::test]
async fn rest_for_one_restarts_the_failed_child_and_those_after_it() {
    let log = strategy_log(Strategy::RestForOne, 7).await;
    assert_eq!(
        log[3..],
        strings(&["fail b", "stop c", "start b", "start c"])
    );
}

#[actix_rt::test]
async fn stop_goes_newest_first_and_leaves_no_task() {
    tokio::time::pause();
    let baseline = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let harness = Harness::new(&["a", "b", "c"]);
    let supervisor = harness
        .supervisor(Strategy::OneForOne, &["a", "b", "c"])
        .await;
    timeout(BOUND, supervisor.stop()).await.unwrap();
    assert_eq!(
        harness.log.entries()[3..],
        strings(&["stop c", "stop b", "stop a"])
    );
    assert_eq!(supervisor.state(), State::Closed);
    assert_eq!(supervisor.exited().await, SupervisorExit::Stopped);
    drop(supervisor);
    for _ in 0..1_000 {
        if tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
            <= baseline
        {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        baseline
    );
}

#[actix_rt::test]
async fn restart_types_decide_after_a_normal_end() {
    tokio::time::pause();
    let harness = Harness::new(&["permanent", "transient", "temporary"]);
    let supervisor = Supervisor::builder("types")
        .child(harness.child("permanent"))
        .child(harness.child("transient").restart(Restart::Transient))
        .child(harness.child("temporary").restart(Restart::Temporary))
        .start()
        .await
        .unwrap();
    harness.log.wait_for(3).await;
    for id in ["permanent", "transient", "temporary"] {
        harness.finish(id);
    }
    // Only the permanent child comes back after ending normally.
    let log = harness.log.wait_for(7).await;
    let restarted: Vec<_> = log[3..].iter().filter(|e| e.starts_with("start")).collect();
    assert_eq!(restarted, ["start permanent"]);
    let children = supervisor.children().await.unwrap();
    let running: Vec<_> = children
        .iter()
        .map(|c| (c.id.as_str(), c.running))
        .collect();
    assert_eq!(
        running,
        [
            ("permanent", true),
            ("transient", false),
            ("temporary", false)
        ]
    );

    // A transient child that fails is restarted.
    let harness = Harness::new(&["transient"]);
    let supervisor = Supervisor::builder("transient")
        .child(harness.child("transient").restart(Restart::Transient))
        .start()
        .await
        .unwrap();
    harness.log.wait_for(1).await;
    harness.fail("transient");
    assert_eq!(
        harness.log.wait_for(3).await,
        strings(&["start transient", "fail transient", "start transient"])
    );
    supervisor.stop().await;
}

async fn fail_times(times: usize) -> (SupervisorHandle, Harness) {
    tokio::time::pause();
    let harness = Harness::new(&["steady", "flaky"]);
    let supervisor = harness
        .supervisor(Strategy::OneForOne, &["steady", "flaky"])
        .await;
    let mut expected = 2;
    for _ in 0..times {
        harness.fail("flaky");
        // "fail flaky", then "start flaky", or "stop steady" on escalation.
        expected += 2;
        harness.log.wait_for(expected).await;
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    (supervisor, harness)
}

#[actix_rt::test]
async fn four_failures_in_five_seconds_escalate() {
    let (supervisor, harness) = fail_times(4).await;
    let exit = timeout(BOUND, supervisor.exited()).await.unwrap();
    assert!(matches!(exit, SupervisorExit::Escalated(_)), "{exit:?}");
    assert_eq!(supervisor.state(), State::Error);
    // The surviving child was stopped on the way out.
    assert_eq!(
        harness.log.entries().last().map(String::as_str),
        Some("stop steady")
    );
}

#[actix_rt::test]
async fn three_failures_in_five_seconds_only_degrade() {
    let (supervisor, _harness) = fail_times(3).await;
    assert_eq!(supervisor.state(), State::Degraded);
    // Once a whole window passes without a restart it is Ready again.
    tokio::time::advance(Duration::from_secs(6)).await;
    let state = timeout(BOUND, supervisor.view().wait_for(|s| s == State::Ready))
        .await
        .unwrap();
    assert_eq!(state, State::Ready);
    supervisor.stop().await;
}

#[actix_rt::test]
async fn a_child_ignoring_its_stop_is_killed_after_the_timeout() {
    tokio::time::pause();
    let log = Log::new();
    let task_log = log.clone();
    let supervisor = Supervisor::builder("stubborn")
        .child(
            ChildSpec::task("stubborn", move |_stop| {
                let guard = DropLog(task_log.clone(), "stubborn");
                async move {
                    let _guard = guard;
                    std::future::pending().await
                }
            })
            .shutdown(ChildShutdown::Timeout(Duration::from_secs(3))),
        )
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    timeout(BOUND, supervisor.stop()).await.unwrap();
    // On the paused clock the stop took the grace period, then the kill.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(3_010),
        "{took:?}"
    );
    assert_eq!(log.entries(), ["dropped stubborn"]);
}

/// Logs when the task holding it is dropped (ended or aborted).
struct DropLog(Log, &'static str);

impl Drop for DropLog {
    fn drop(&mut self) {
        self.0.push(format!("dropped {}", self.1));
    }
}

#[actix_rt::test]
async fn a_parent_kill_reaches_a_nested_supervisor_midway_through_its_stop() {
    tokio::time::pause();
    let log = Log::new();
    let inner_log = log.clone();
    let parent = Supervisor::builder("parent")
        .child(
            ChildSpec::supervisor("inner", move || {
                let task_log = inner_log.clone();
                Supervisor::builder("inner").child(
                    ChildSpec::task("grandchild", move |_stop| {
                        let guard = DropLog(task_log.clone(), "grandchild");
                        async move {
                            let _guard = guard;
                            std::future::pending().await
                        }
                    })
                    .shutdown(ChildShutdown::Timeout(Duration::from_secs(30))),
                )
            })
            .shutdown(ChildShutdown::Timeout(Duration::from_secs(1))),
        )
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    timeout(BOUND, parent.stop()).await.unwrap();
    // The inner supervisor was still waiting out the grandchild's 30 s when
    // the parent's 1 s ran out; the kill reached it anyway.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(log.entries(), ["dropped grandchild"]);
}

#[actix_rt::test]
async fn a_panicking_start_closure_is_a_failed_start() {
    tokio::time::pause();
    let calls = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&calls);
    let supervisor = Supervisor::builder("panicky")
        .child(ChildSpec::task("flaky", move |mut stop| {
            let call = {
                let mut calls = counted.lock().unwrap();
                *calls += 1;
                *calls
            };
            assert!(call != 2, "second start panics");
            async move {
                if call == 1 {
                    return Err(UserError::msg("first run fails"));
                }
                stop.requested().await;
                Ok(())
            }
        }))
        .start()
        .await
        .unwrap();
    // Run 1 fails, start 2 panics (a failed start, restarted), run 3 holds.
    timeout(BOUND, async {
        while *calls.lock().unwrap() < 3 || !supervisor.children().await.unwrap()[0].running {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    let child = &supervisor.children().await.unwrap()[0];
    assert_eq!(child.restarts, 2);
    assert!(
        matches!(&child.last_exit, Some(Exit::Failed(m)) if m.contains("start panicked")),
        "{child:?}"
    );
    supervisor.stop().await;

    let err = Supervisor::builder("boot-panic")
        .child(ChildSpec::task(
            "boom",
            |_| -> futures::future::Ready<Result<(), UserError>> { panic!("no config") },
        ))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SupervisorError::StartFailed { child, .. } if child == "boom"),
        "{err}"
    );
    assert!(err.to_string().contains("no config"), "{err}");
}

/// An actor child that panics or stops on command.
struct Worker {
    log: Log,
    addrs: Arc<Mutex<Vec<Addr<Worker>>>>,
}

impl Actor for Worker {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.addrs.lock().unwrap().push(ctx.address());
        self.log.push("start worker".into());
    }
}

#[derive(Message)]
#[rtype(result = "()")]
enum Command {
    Panic,
    StopYourself,
}

impl Handler<Command> for Worker {
    type Result = ();

    fn handle(&mut self, command: Command, ctx: &mut Context<Self>) {
        match command {
            Command::Panic => panic!("worker bug"),
            Command::StopYourself => ctx.stop(),
        }
    }
}

impl Handler<Shutdown> for Worker {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.log.push("stop worker".into());
        ctx.stop();
    }
}

/// Registers each started worker's address so the test can reach it.
fn worker_spec(log: &Log, addrs: &Arc<Mutex<Vec<Addr<Worker>>>>, restart: Restart) -> ChildSpec {
    let log = log.clone();
    let addrs = Arc::clone(addrs);
    ChildSpec::actor("worker", move || Worker {
        log: log.clone(),
        addrs: Arc::clone(&addrs),
    })
    .restart(restart)
}

#[actix_rt::test]
async fn an_actor_that_panics_is_restarted_and_one_that_stops_is_not() {
    tokio::time::pause();
    let log = Log::new();
    let addrs = Arc::new(Mutex::new(Vec::new()));
    let supervisor = Supervisor::builder("actors")
        .child(worker_spec(&log, &addrs, Restart::Transient))
        .start()
        .await
        .unwrap();
    log.wait_for(1).await;
    let first = addrs.lock().unwrap()[0].clone();
    first.do_send(Command::Panic);
    log.wait_for(2).await;
    let children = supervisor.children().await.unwrap();
    assert_eq!(children[0].restarts, 1);
    assert!(matches!(&children[0].last_exit, Some(Exit::Panicked(m)) if m == "worker bug"));

    let second = addrs.lock().unwrap()[1].clone();
    second.do_send(Command::StopYourself);
    timeout(BOUND, async {
        while supervisor.children().await.unwrap()[0].running {
            // A paused clock only moves when the runtime idles: sleep, so
            // that the bound can fire.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        supervisor.children().await.unwrap()[0].last_exit,
        Some(Exit::Normal)
    );
    assert_eq!(log.entries(), strings(&["start worker", "start worker"]));
    supervisor.stop().await;
}

#[actix_rt::test]
async fn a_failed_start_undoes_the_boot_and_names_the_child() {
    tokio::time::pause();
    let harness = Harness::new(&["a"]);
    let err = Supervisor::builder("boot")
        .child(harness.child("a"))
        .child(ChildSpec::task("a2", |_| async { Ok(()) }))
        .child(ChildSpec::resource("db", || {
            crate::resource::ResourceKeeper::builder("db", Broken)
                .retry(crate::retry::RetryPolicy::never())
        }))
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SupervisorError::StartFailed { child, .. } if child == "db"),
        "{err}"
    );
    assert!(err.to_string().contains("backend down"), "{err}");
    assert_eq!(harness.log.entries(), strings(&["start a", "stop a"]));
}

#[actix_rt::test]
async fn duplicate_ids_and_bad_windows_are_rejected() {
    let err = Supervisor::builder("dup")
        .child(ChildSpec::task("x", |_| async { Ok(()) }))
        .child(ChildSpec::task("x", |_| async { Ok(()) }))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, SupervisorError::DuplicateChild { ref child, .. } if child == "x"));
    let err = Supervisor::builder("window")
        .intensity(3, Duration::ZERO)
        .start()
        .await
        .unwrap_err();
    assert!(matches!(err, SupervisorError::InvalidSettings { .. }));
}

#[actix_rt::test]
async fn an_escalating_child_supervisor_is_restarted_by_its_parent() {
    tokio::time::pause();
    let harness = Harness::new(&["leaf"]);
    let inner = harness.clone();
    let parent = Supervisor::builder("parent")
        .child(ChildSpec::supervisor("inner", move || {
            Supervisor::builder("inner")
                .intensity(0, Duration::from_secs(5))
                .child(inner.child("leaf"))
        }))
        .start()
        .await
        .unwrap();
    harness.log.wait_for(1).await;
    harness.fail("leaf");
    // No restart budget: the inner supervisor escalates; the parent
    // restarts it, which starts the leaf again.
    let log = harness.log.wait_for(3).await;
    assert_eq!(log, strings(&["start leaf", "fail leaf", "start leaf"]));
    let children = parent.children().await.unwrap();
    assert!(
        matches!(&children[0].last_exit, Some(Exit::Failed(reason)) if reason.starts_with("escalated"))
    );
    parent.stop().await;
    assert_eq!(
        harness.log.entries().last().map(String::as_str),
        Some("stop leaf")
    );
}

#[derive(Debug)]
struct Broken;

impl crate::resource::Resource for Broken {
    async fn initialize(&self) -> Result<(), UserError> {
        Err(UserError::msg("backend down"))
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }
}

/// A resource child that gives up at once: its first instance's checks
/// fail fatally and its re-initialization fails too. Cleanup is slow.
#[derive(Debug)]
struct GivesUp {
    id: u32,
    inits: std::sync::atomic::AtomicU32,
    log: Log,
}

impl crate::resource::Resource for GivesUp {
    async fn initialize(&self) -> Result<(), UserError> {
        let n = self.inits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.log.push(format!("init {}", self.id));
        if n == 0 {
            Ok(())
        } else {
            Err(UserError::msg("fatal"))
        }
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        self.log.push(format!("cleanup {} start", self.id));
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.log.push(format!("cleanup {} done", self.id));
        Ok(())
    }

    async fn check_health(&self) -> Result<crate::resource::Health, UserError> {
        if self.id == 1 {
            Err(UserError::msg("fatal"))
        } else {
            Ok(crate::resource::Health::Healthy)
        }
    }

    fn is_retryable(&self, error: &UserError) -> bool {
        error.to_string() != "fatal"
    }
}

#[actix_rt::test]
async fn a_replaced_resource_is_cleaned_up_before_its_successor_starts() {
    tokio::time::pause();
    let log = Log::new();
    let instances = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let resource_log = log.clone();
    let supervisor = Supervisor::builder("resources")
        .child(ChildSpec::resource("db", move || {
            let id = instances.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            crate::resource::ResourceKeeper::builder(
                "db",
                GivesUp {
                    id,
                    inits: Default::default(),
                    log: resource_log.clone(),
                },
            )
            .retry(crate::retry::RetryPolicy::never())
            .health_check_interval(Duration::from_secs(1))
        }))
        .start()
        .await
        .unwrap();
    let entries = log.wait_for(5).await;
    assert_eq!(
        entries,
        [
            "init 1",
            "init 1",
            "cleanup 1 start",
            "cleanup 1 done",
            "init 2"
        ]
    );
    let child = &supervisor.children().await.unwrap()[0];
    assert_eq!(child.restarts, 1);
    supervisor.stop().await;
}

#[actix_rt::test]
async fn an_application_actor_uses_the_supervisors_address_and_sees_its_moves() {
    struct Seen(std::sync::mpsc::Sender<State>);
    impl Actor for Seen {
        type Context = Context<Self>;
    }
    impl Handler<crate::lifecycle::StateChanged> for Seen {
        type Result = ();
        fn handle(&mut self, moved: crate::lifecycle::StateChanged, _: &mut Context<Self>) {
            let _ = self.0.send(moved.to);
        }
    }

    let supervisor = Supervisor::builder("addressed")
        .child(ChildSpec::task("idle", |mut stop| async move {
            stop.requested().await;
            Ok(())
        }))
        .start()
        .await
        .unwrap();
    let (sender, seen) = std::sync::mpsc::channel();
    supervisor.subscribe_recipient(Seen(sender).start().recipient());
    let children = supervisor.address().send(ReportChildren).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].id, "idle");
    let (reply, stopped) = tokio::sync::oneshot::channel();
    supervisor.address().do_send(StopChildren {
        brutal: false,
        reply: Some(reply),
    });
    timeout(BOUND, stopped).await.unwrap().unwrap();
    let moves = timeout(BOUND, async {
        let mut moves = Vec::new();
        while !moves.contains(&State::Closed) {
            match seen.try_recv() {
                Ok(state) => moves.push(state),
                Err(_) => tokio::task::yield_now().await,
            }
        }
        moves
    })
    .await
    .unwrap();
    assert_eq!(moves, [State::Closing, State::Closed]);
}
