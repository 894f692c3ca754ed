//! Managed resources that reconnect by themselves, over real TCP on
//! loopback: an echo server stopped and restarted under a client that
//! keeps calling.

mod echo;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use steward::resource::{Managed, ResourceError, ResourceKeeper, RetryPolicy};
use steward::retry::RetryError;
use steward::{State, StateChanged, Steward, UserError};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use echo::{EchoClient, EchoServer};

const BOUND: Duration = Duration::from_secs(120);

/// The operations' policy: enough retries to outlast a short outage.
fn calls_policy() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(10)
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(100))
        .with_attempt_timeout(Duration::from_secs(30))
}

async fn client_of(
    steward: &Steward,
    server: &EchoServer,
    reconnects: bool,
    retry: RetryPolicy,
) -> (Arc<EchoClient>, Managed<EchoClient>) {
    let client = Arc::new(EchoClient::new(server.addr(), reconnects));
    let managed = ResourceKeeper::builder_shared("echo", Arc::clone(&client))
        .retry(retry)
        .without_health_checks()
        .start_in(steward.arbiter())
        .unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    (client, managed)
}

/// `tasks` tasks, each calling `echo` once with its own line.
fn call_from_tasks(
    managed: &Managed<EchoClient>,
    tasks: usize,
) -> Vec<JoinHandle<Result<String, ResourceError>>> {
    (0..tasks)
        .map(|n| {
            let managed = managed.clone();
            tokio::spawn(async move {
                let line = format!("hello {n}");
                managed
                    .operation(
                        "echo",
                        Duration::from_secs(60),
                        |client| {
                            let line = line.clone();
                            async move { client.call(&line).await }
                        },
                        &calls_policy(),
                    )
                    .await
            })
        })
        .collect()
}

async fn all_answered(tasks: Vec<JoinHandle<Result<String, ResourceError>>>) {
    for (n, task) in tasks.into_iter().enumerate() {
        let answer = timeout(BOUND, task).await.unwrap().unwrap();
        assert_eq!(answer.unwrap(), format!("hello {n}"));
    }
}

fn moves(events: &mut broadcast::Receiver<StateChanged>) -> Vec<State> {
    std::iter::from_fn(|| events.try_recv().ok())
        .inspect(|event| assert!(event.from.can_transition_to(event.to), "{event:?}"))
        .map(|event| event.to)
        .collect()
}

const RECONNECT: [State; 4] = [
    State::Degraded,
    State::Error,
    State::Initializing,
    State::Ready,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_tasks_call_through_outages_with_one_reconnect_each() {
    let steward = Steward::builder().start().unwrap();
    let mut server = EchoServer::start().await.unwrap();
    let reconnect_policy = RetryPolicy::default()
        .with_max_retries(1000)
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(50))
        .with_attempt_timeout(Duration::from_secs(10));
    let (client, managed) = client_of(&steward, &server, true, reconnect_policy).await;
    let mut events = managed.subscribe();

    // Outage one: the server is down while twenty tasks call; it comes
    // back once the reconnect has been refused.
    server.stop().await;
    let tasks = call_from_tasks(&managed, 20);
    timeout(BOUND, client.refused(1)).await.unwrap();
    server.restart().await.unwrap();
    all_answered(tasks).await;
    let connects = client.connects.load(Ordering::SeqCst);
    let stats = managed.stats();
    assert_eq!(stats.reconnects, 1, "one reconnect for twenty callers");
    let refused = connects - 2;
    assert!(refused >= 1);
    assert_eq!(moves(&mut events), RECONNECT);

    // Outage two: down and up again before the calls, which find the
    // dead connection: exactly one initialize.
    server.stop().await;
    server.restart().await.unwrap();
    all_answered(call_from_tasks(&managed, 20)).await;
    assert_eq!(client.connects.load(Ordering::SeqCst), connects + 1);
    assert_eq!(moves(&mut events), RECONNECT);

    assert_eq!(
        client.most_connecting.load(Ordering::SeqCst),
        1,
        "never two at once"
    );
    let stats = managed.stats();
    assert_eq!(stats.reconnects, 2);
    let echo = &stats.operations["echo"];
    assert_eq!(
        (echo.operations, echo.failures, echo.reconnects),
        (40, 0, 2)
    );
    assert!(echo.disconnects >= 2, "{echo:?}");
    assert_eq!(managed.status().await.unwrap().reconnects, 2);
    managed.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stays_down_leaves_error_until_initialize() {
    let steward = Steward::builder().start().unwrap();
    let mut server = EchoServer::start().await.unwrap();
    let reconnect_policy = RetryPolicy::default()
        .with_max_retries(2)
        .with_base_delay(Duration::from_millis(5))
        .with_attempt_timeout(Duration::from_secs(10));
    let (client, managed) = client_of(&steward, &server, true, reconnect_policy).await;

    server.stop().await;
    let answers: Vec<_> = call_from_tasks(&managed, 3);
    for task in answers {
        let err = timeout(BOUND, task).await.unwrap().unwrap().unwrap_err();
        let ResourceError::Operation {
            operation,
            source: RetryError::Exhausted { attempts, .. },
            ..
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!((&**operation, *attempts), ("echo", 11));
    }
    assert_eq!(managed.state(), State::Error);
    let status = managed.status().await.unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("failed to initialize"),
        "{status:?}"
    );
    assert_eq!(
        status.reconnects, 1,
        "a reconnect that gave up is not repeated"
    );
    // One initialize, and the reconnect's three refused attempts.
    assert_eq!(client.connects.load(Ordering::SeqCst), 1 + 3);
    assert_eq!(managed.stats().operations["echo"].failures, 3);

    server.restart().await.unwrap();
    timeout(BOUND, managed.initialize()).await.unwrap().unwrap();
    assert_eq!(managed.state(), State::Ready);
    all_answered(call_from_tasks(&managed, 3)).await;
    managed.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_is_disconnect_a_broken_connection_is_not_reconnected() {
    let steward = Steward::builder().start().unwrap();
    let mut server = EchoServer::start().await.unwrap();
    let (client, managed) = client_of(&steward, &server, false, RetryPolicy::default()).await;
    let mut events = managed.subscribe();

    server.stop().await;
    server.restart().await.unwrap();
    let policy = RetryPolicy::default()
        .with_max_retries(3)
        .with_base_delay(Duration::from_millis(5));
    let err = timeout(
        BOUND,
        managed.with_retry(|client| async move { client.call("lost").await }, &policy),
    )
    .await
    .unwrap()
    .unwrap_err();
    let ResourceError::Operation { source, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(source, RetryError::Exhausted { attempts: 4, .. }),
        "{err}"
    );
    let last = source.last_error().unwrap();
    assert!(last.downcast_ref::<std::io::Error>().is_some(), "{last}");

    assert_eq!(client.connects.load(Ordering::SeqCst), 1, "no reconnect");
    assert!(moves(&mut events).is_empty());
    assert_eq!(managed.state(), State::Ready);
    let stats = managed.stats();
    let unnamed = &stats.operations["with_retry"];
    assert_eq!((stats.reconnects, unnamed.disconnects), (0, 0));
    assert_eq!(
        (unnamed.operations, unnamed.failures, unnamed.retries),
        (1, 1, 3)
    );
    managed.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_what_the_calls_did() {
    let steward = Steward::builder().start().unwrap();
    let server = EchoServer::start().await.unwrap();
    let (_client, managed) = client_of(&steward, &server, true, RetryPolicy::default()).await;
    let policy = RetryPolicy::default()
        .with_max_retries(2)
        .with_base_delay(Duration::from_millis(1));
    for n in 0..50 {
        let line = format!("line {n}");
        let answer = managed
            .operation(
                "echo",
                Duration::from_secs(30),
                |client| {
                    let line = line.clone();
                    async move { client.call(&line).await }
                },
                &policy,
            )
            .await
            .unwrap();
        assert_eq!(answer, line);
    }
    for _ in 0..4 {
        let err = managed
            .operation(
                "refused",
                Duration::from_secs(30),
                |_| async { Err::<(), _>(UserError::msg("no such key")) },
                &policy,
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no such key"), "{err}");
    }

    let stats = managed.stats();
    let echo = &stats.operations["echo"];
    assert_eq!(
        (
            echo.operations,
            echo.failures,
            echo.retries,
            echo.disconnects
        ),
        (50, 0, 0, 0)
    );
    let latency = echo.latency.unwrap();
    assert_eq!(latency.samples, 50);
    assert!(0.0 < latency.p50_seconds, "{latency:?}");
    assert!(latency.p50_seconds <= latency.p95_seconds);
    assert!(latency.p95_seconds <= latency.p99_seconds);
    assert!(latency.p99_seconds <= latency.max_seconds);
    let refused = &stats.operations["refused"];
    assert_eq!(
        (refused.operations, refused.failures, refused.retries),
        (4, 4, 8)
    );
    assert_eq!(stats.other.operations, 0);
    let json = serde_json::to_value(&stats).unwrap();
    assert_eq!(json["operations"]["echo"]["operations"], 50);
    managed.close(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_operations_keep_the_statistics_bounded() {
    let steward = Steward::builder().start().unwrap();
    let server = EchoServer::start().await.unwrap();
    let (_client, managed) = client_of(&steward, &server, true, RetryPolicy::default()).await;
    let policy = RetryPolicy::never();
    let ready = |_| async { Ok(()) };
    for n in 0..1_000_000_u32 {
        // A few hundred names from "users", most of them past the cap.
        let name = format!("get_{}", n % 500);
        managed
            .operation(&name, Duration::from_secs(1), ready, &policy)
            .await
            .unwrap();
    }
    let stats = managed.stats();
    assert_eq!(
        stats.operations.len(),
        steward::resource::OperationStats::MAX_NAMES
    );
    let total: u64 =
        stats.operations.values().map(|c| c.operations).sum::<u64>() + stats.other.operations;
    assert_eq!(total, 1_000_000);
    for counts in stats.operations.values().chain([&stats.other]) {
        let samples = counts.latency.unwrap().samples;
        assert!(samples <= steward::resource::OperationStats::WINDOW);
    }
    assert_eq!(
        stats.other.latency.unwrap().samples,
        steward::resource::OperationStats::WINDOW
    );
    managed.close(Duration::from_secs(5)).await.unwrap();
}
