//! `Steward::start` in an actix System, in a plain tokio runtime and in
//! synchronous code; shutdown in each.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler, Message};
use steward::{Error, RegistryError, RuntimeContext, Steward, SystemError};
use tokio::sync::oneshot;

fn builder() -> steward::StewardBuilder {
    Steward::builder().shutdown_timeout(Duration::from_secs(10))
}

struct Greeting(&'static str);

/// Signals when dropped, to observe that shutdown dropped a service.
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(signal) = self.0.take() {
            let _ = signal.send(());
        }
    }
}

fn drop_signal() -> (Arc<DropSignal>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    (Arc::new(DropSignal(Some(tx))), rx)
}

struct Counter(u32);

impl Actor for Counter {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "u32")]
struct Increment;

impl Handler<Increment> for Counter {
    type Result = u32;
    fn handle(&mut self, _: Increment, _: &mut Context<Self>) -> u32 {
        self.0 += 1;
        self.0
    }
}

#[actix_rt::test]
async fn starts_inside_an_actix_system_and_leaves_it_running() {
    let steward = builder().start().unwrap();
    assert_eq!(steward.runtime_context(), RuntimeContext::ActixSystem);

    let counter = Counter(0).start();
    steward.registry().register_actor(counter).await.unwrap();
    let counter = steward.registry().resolve_actor::<Counter>().unwrap();
    assert_eq!(counter.send(Increment).await.unwrap(), 1);

    steward.shutdown().await.unwrap();
    assert!(steward.registry().is_closed());
    assert_eq!(
        counter.send(Increment).await.unwrap(),
        2,
        "the application's System runs on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_inside_a_plain_tokio_runtime() {
    let steward = builder().start().unwrap();
    assert_eq!(steward.runtime_context(), RuntimeContext::BackgroundThread);

    // The handle moves into spawned tasks: its futures are Send.
    let registry = steward.registry().clone();
    tokio::spawn(async move { registry.register(Arc::new(Greeting("from a task"))).await })
        .await
        .unwrap()
        .unwrap();
    let registry = steward.registry().clone();
    let greeting = tokio::spawn(async move { registry.resolve::<Greeting>() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(greeting.0, "from a task");

    steward.shutdown().await.unwrap();
    assert!(matches!(
        steward.registry().resolve::<Greeting>(),
        Err(RegistryError::Closed)
    ));
}

#[test]
fn starts_from_synchronous_code() {
    let steward = builder().start().unwrap();
    assert_eq!(steward.runtime_context(), RuntimeContext::BackgroundThread);
    let (service, dropped) = drop_signal();
    steward
        .block_on(steward.registry().register(service))
        .unwrap()
        .unwrap();
    assert!(steward.registry().contains::<DropSignal>());
    steward.shutdown_blocking().unwrap();
    assert!(steward.is_shut_down());
    assert_eq!(
        steward.block_on(dropped).unwrap(),
        Ok(()),
        "shutdown dropped the service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_shutdowns_all_wait_for_the_one_shutdown() {
    let steward = builder().start().unwrap();
    let (service, dropped) = drop_signal();
    steward.registry().register(service).await.unwrap();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let steward = steward.clone();
            tokio::spawn(async move { steward.shutdown().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    dropped.await.unwrap();
    steward.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_in_async_code_shuts_down() {
    let steward = builder().start().unwrap();
    let (service, dropped) = drop_signal();
    steward.registry().register(service).await.unwrap();
    let registry = steward.registry().clone();
    drop(steward);
    // Bounded, so a regression fails instead of hanging.
    tokio::time::timeout(Duration::from_secs(30), dropped)
        .await
        .unwrap()
        .unwrap();
    assert!(registry.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_that_overruns_its_timeout_is_an_error() {
    // A service whose drop blocks until the test lets it go: shutdown cannot
    // finish before its timeout, whatever the machine's speed.
    struct Stuck(std::sync::Mutex<std::sync::mpsc::Receiver<()>>);
    impl Drop for Stuck {
        fn drop(&mut self) {
            if let Ok(release) = self.0.lock() {
                let _ = release.recv();
            }
        }
    }
    let steward = Steward::builder()
        .shutdown_timeout(Duration::from_millis(50))
        .start()
        .unwrap();
    let (release, stuck) = std::sync::mpsc::channel();
    steward
        .registry()
        .register(Arc::new(Stuck(std::sync::Mutex::new(stuck))))
        .await
        .unwrap();

    let err = steward.shutdown().await.unwrap_err();
    assert!(
        matches!(err, Error::System(SystemError::ShutdownTimedOut { timeout }) if timeout == Duration::from_millis(50)),
        "{err:?}"
    );
    assert!(
        steward.shutdown().await.is_err(),
        "later calls report the same outcome"
    );
    release.send(()).unwrap();
}
