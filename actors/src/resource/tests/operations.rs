//! Operations on an in-memory connection that breaks on demand, on a
//! paused clock: one shared reconnect, legal moves, statistics, timeouts.
//! The same over real sockets is in `tests/it/reconnect.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::broadcast;
use tokio::time::timeout;

use super::super::{Managed, Resource, ResourceError, ResourceKeeper, RetryPolicy};
use super::BOUND;
use crate::retry::RetryError;
use crate::{State, StateChanged, UserError};

const RESET: &str = "connection reset";

/// A connection that breaks when told; `initialize` takes 10 ms and may
/// be told to refuse.
#[derive(Debug, Default)]
struct Line {
    reconnects_on_reset: bool,
    broken: AtomicBool,
    refuse: AtomicBool,
    /// `initialize` fails with an error marked fatal.
    reject: AtomicBool,
    inits: AtomicU32,
    initializing: AtomicU32,
    most_initializing: AtomicU32,
    connection: AtomicU32,
}

impl Line {
    fn new(reconnects_on_reset: bool) -> Arc<Self> {
        Arc::new(Self {
            reconnects_on_reset,
            ..Self::default()
        })
    }

    async fn call(&self) -> Result<u32, UserError> {
        tokio::task::yield_now().await;
        if self.broken.load(Ordering::SeqCst) {
            return Err(UserError::msg(RESET));
        }
        Ok(self.connection.load(Ordering::SeqCst))
    }
}

impl Resource for Line {
    async fn initialize(&self) -> Result<(), UserError> {
        self.inits.fetch_add(1, Ordering::SeqCst);
        let now = self.initializing.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_initializing.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.initializing.fetch_sub(1, Ordering::SeqCst);
        if self.refuse.load(Ordering::SeqCst) {
            return Err(UserError::msg("connection refused"));
        }
        if self.reject.load(Ordering::SeqCst) {
            return Err(UserError::msg("bad credentials"));
        }
        self.broken.store(false, Ordering::SeqCst);
        self.connection.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }

    fn is_disconnect(&self, error: &UserError) -> bool {
        self.reconnects_on_reset && error.to_string() == RESET
    }

    fn is_retryable(&self, error: &UserError) -> bool {
        error.to_string() != "bad credentials"
    }
}

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(5)
        .with_base_delay(Duration::from_millis(10))
        .with_attempt_timeout(Duration::from_secs(5))
}

async fn started(line: &Arc<Line>) -> Managed<Line> {
    let managed = ResourceKeeper::builder_shared("line", Arc::clone(line))
        .retry(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_base_delay(Duration::from_millis(10)),
        )
        .without_health_checks()
        .start()
        .unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    managed
}

async fn call_many(managed: &Managed<Line>, calls: usize) -> Vec<Result<u32, ResourceError>> {
    let policy = patient();
    let one = || {
        managed.operation(
            "call",
            Duration::from_secs(60),
            |line| async move { line.call().await },
            &policy,
        )
    };
    timeout(BOUND, join_all((0..calls).map(|_| one())))
        .await
        .unwrap()
}

/// The states moved to so far, each move checked against the table.
fn legal_moves(events: &mut broadcast::Receiver<StateChanged>) -> Vec<State> {
    std::iter::from_fn(|| events.try_recv().ok())
        .inspect(|event| assert!(event.from.can_transition_to(event.to), "{event:?}"))
        .map(|event| event.to)
        .collect()
}

/// The moves of one reconnect that succeeded.
const RECONNECTED: [State; 4] = [
    State::Degraded,
    State::Error,
    State::Initializing,
    State::Ready,
];

#[actix_rt::test]
async fn concurrent_operations_share_one_reconnect_through_legal_moves() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    let mut events = managed.subscribe();
    line.broken.store(true, Ordering::SeqCst);

    let answers = call_many(&managed, 20).await;
    assert!(
        answers.iter().all(|answer| matches!(answer, Ok(2))),
        "{answers:?}"
    );
    assert_eq!(line.inits.load(Ordering::SeqCst), 2, "one reconnect");
    assert_eq!(line.most_initializing.load(Ordering::SeqCst), 1);

    assert_eq!(legal_moves(&mut events), RECONNECTED);
    let stats = managed.stats();
    assert_eq!(stats.reconnects, 1);
    let call = &stats.operations["call"];
    assert_eq!((call.operations, call.failures), (20, 0));
    assert_eq!(call.reconnects, 1, "the first reporter started it");
    assert!(call.disconnects >= 1 && call.disconnects <= 20, "{call:?}");
    assert_eq!(
        call.retries, call.disconnects,
        "each disconnect cost one retry"
    );
    assert_eq!(managed.status().await.unwrap().reconnects, 1);
}

#[actix_rt::test]
async fn a_late_report_about_a_replaced_connection_starts_no_reconnect() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    line.broken.store(true, Ordering::SeqCst);
    // Two rounds: the second finds the connection already replaced.
    assert!(call_many(&managed, 5).await.iter().all(Result::is_ok));
    assert!(call_many(&managed, 5).await.iter().all(Result::is_ok));
    assert_eq!(line.inits.load(Ordering::SeqCst), 2);
    // A new break is a new reconnect.
    line.broken.store(true, Ordering::SeqCst);
    assert!(call_many(&managed, 5).await.iter().all(Result::is_ok));
    assert_eq!(line.inits.load(Ordering::SeqCst), 3);
    assert_eq!(managed.stats().reconnects, 2);
}

#[actix_rt::test]
async fn a_reconnect_that_gives_up_leaves_error_until_initialize() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    line.refuse.store(true, Ordering::SeqCst);
    line.broken.store(true, Ordering::SeqCst);

    let answers = call_many(&managed, 3).await;
    for answer in &answers {
        assert!(
            matches!(
                answer,
                Err(ResourceError::Operation {
                    source: RetryError::Exhausted { attempts: 6, .. },
                    ..
                })
            ),
            "{answer:?}"
        );
    }
    assert_eq!(managed.state(), State::Error);
    // The keeper's policy: three attempts, one reconnect.
    assert_eq!(line.inits.load(Ordering::SeqCst), 1 + 3);
    assert_eq!(managed.stats().operations["call"].failures, 3);

    line.refuse.store(false, Ordering::SeqCst);
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    assert!(call_many(&managed, 3).await.iter().all(Result::is_ok));
}

#[actix_rt::test]
async fn a_fatal_reconnect_ends_in_error_with_the_error() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    let mut events = managed.subscribe();
    line.reject.store(true, Ordering::SeqCst);
    line.broken.store(true, Ordering::SeqCst);
    let answers = call_many(&managed, 4).await;
    assert!(answers.iter().all(Result::is_err), "{answers:?}");
    assert_eq!(
        line.inits.load(Ordering::SeqCst),
        2,
        "a fatal error is not retried"
    );
    assert_eq!(
        legal_moves(&mut events),
        [
            State::Degraded,
            State::Error,
            State::Initializing,
            State::Error
        ]
    );
    let status = managed.status().await.unwrap();
    assert!(
        status.last_error.unwrap().contains("bad credentials"),
        "the error is kept"
    );
}

#[actix_rt::test]
async fn without_is_disconnect_errors_are_retried_on_the_same_connection() {
    tokio::time::pause();
    let line = Line::new(false);
    let managed = started(&line).await;
    let mut events = managed.subscribe();
    line.broken.store(true, Ordering::SeqCst);
    let answers = call_many(&managed, 3).await;
    for answer in &answers {
        let Err(ResourceError::Operation { source, .. }) = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(source.last_error().unwrap().to_string(), RESET);
    }
    assert_eq!(line.inits.load(Ordering::SeqCst), 1, "no reconnect");
    assert!(events.try_recv().is_err(), "no state change");
    assert_eq!(managed.state(), State::Ready);
    let stats = managed.stats();
    assert_eq!(
        (stats.reconnects, stats.operations["call"].disconnects),
        (0, 0)
    );
    assert_eq!(stats.operations["call"].retries, 3 * 5);
}

#[actix_rt::test]
async fn an_operation_past_its_timeout_is_dropped_and_counted() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    let err = timeout(
        BOUND,
        managed.operation(
            "hang",
            Duration::from_secs(3),
            |_| std::future::pending::<Result<(), UserError>>(),
            &RetryPolicy::never(),
        ),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        matches!(&err, ResourceError::OperationTimedOut { operation, timeout, .. }
            if &**operation == "hang" && *timeout == Duration::from_secs(3)),
        "{err}"
    );
    let hang = &managed.stats().operations["hang"];
    assert_eq!((hang.operations, hang.failures, hang.timeouts), (1, 1, 1));
    assert!(hang.latency.unwrap().p50_seconds >= 3.0);

    // with_retry records under its own name.
    managed
        .with_retry(|line| async move { line.call().await }, &patient())
        .await
        .unwrap();
    assert_eq!(managed.stats().operations["with_retry"].operations, 1);
}

#[actix_rt::test]
async fn operations_on_a_closed_resource_fail_at_once() {
    tokio::time::pause();
    let line = Line::new(true);
    let managed = started(&line).await;
    managed.close(Duration::from_secs(1)).await.unwrap();
    let answers = call_many(&managed, 2).await;
    for answer in answers {
        assert!(
            matches!(
                answer,
                Err(ResourceError::Operation {
                    source: RetryError::Fatal { attempt: 1, .. },
                    ..
                })
            ),
            "{answer:?}"
        );
    }
}

/// A connection whose health check, once started, waits to be let go and
/// then fails: a check that was running on a connection when it broke.
#[derive(Debug)]
struct SlowCheck {
    broken: AtomicBool,
    inits: AtomicU32,
    check_started: tokio::sync::Notify,
    check_may_end: tokio::sync::Semaphore,
}

impl Resource for SlowCheck {
    async fn initialize(&self) -> Result<(), UserError> {
        self.inits.fetch_add(1, Ordering::SeqCst);
        self.broken.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }

    async fn check_health(&self) -> Result<super::super::Health, UserError> {
        self.check_started.notify_one();
        let _released = self.check_may_end.acquire().await;
        Err(UserError::msg(RESET))
    }

    fn is_disconnect(&self, error: &UserError) -> bool {
        error.to_string() == RESET
    }
}

#[actix_rt::test]
async fn a_check_of_the_connection_a_reconnect_replaced_does_not_judge_the_new_one() {
    let resource = Arc::new(SlowCheck {
        broken: AtomicBool::new(false),
        inits: AtomicU32::new(0),
        check_started: tokio::sync::Notify::new(),
        check_may_end: tokio::sync::Semaphore::new(0),
    });
    // One failed check is enough to send the resource to `Error` and
    // recover it: a stale failure would show as a second initialize.
    let managed = ResourceKeeper::builder_shared("slow check", Arc::clone(&resource))
        .without_health_checks()
        .health_check_timeout(BOUND)
        .failure_threshold(1)
        .start()
        .unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    let mut events = managed.subscribe();

    // A check starts on the first connection...
    let check = actix_rt::spawn({
        let managed = managed.clone();
        async move { managed.check_health().await }
    });
    timeout(BOUND, resource.check_started.notified())
        .await
        .unwrap();
    // ...the connection breaks, an operation reconnects...
    resource.broken.store(true, Ordering::SeqCst);
    let answer = timeout(
        BOUND,
        managed.operation(
            "call",
            BOUND,
            |resource| async move {
                if resource.broken.load(Ordering::SeqCst) {
                    Err(UserError::msg(RESET))
                } else {
                    Ok(())
                }
            },
            &patient(),
        ),
    )
    .await
    .unwrap();
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(resource.inits.load(Ordering::SeqCst), 2);
    assert_eq!(legal_moves(&mut events), RECONNECTED);

    // ...and then the old connection's check fails: its caller hears it,
    // but the new connection is not judged by it.
    resource.check_may_end.add_permits(1);
    let verdict = timeout(BOUND, check).await.unwrap().unwrap();
    assert_eq!(verdict.unwrap(), super::super::Health::Unhealthy);
    // A message round trip: the verdict has been handled by now.
    let status = managed.status().await.unwrap();
    assert_eq!(status.state, State::Ready, "{status:?}");
    assert_eq!(legal_moves(&mut events), [], "no move after the reconnect");
    assert_eq!(resource.inits.load(Ordering::SeqCst), 2, "no recovery");
    managed.close(Duration::from_secs(1)).await.unwrap();
}
