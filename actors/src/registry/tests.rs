use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::time::Duration;

use actix::Arbiter;

use super::*;

fn registry() -> Registry {
    Registry::start_in(&Arbiter::current())
}

#[derive(Debug, PartialEq)]
struct Port(u16);

#[derive(Debug)]
struct Host(String);

#[actix_rt::test]
async fn instances_resolve_to_the_same_arc() {
    let registry = registry();
    let port = Arc::new(Port(5432));
    registry.register(Arc::clone(&port)).await.unwrap();
    let resolved = registry.resolve::<Port>().unwrap();
    assert!(Arc::ptr_eq(&port, &resolved));
    assert!(registry.contains::<Port>());
    assert!(!registry.contains::<Host>());
}

#[actix_rt::test]
async fn missing_services_are_named_in_the_error() {
    let registry = registry();
    let err = registry.resolve::<Port>().unwrap_err();
    assert!(
        matches!(&err, RegistryError::NotRegistered { service } if service.type_name.ends_with("::Port"))
    );
    assert!(
        err.to_string()
            .starts_with("no service steward_actors::registry::tests::Port"),
        "{err}"
    );
    assert!(registry.try_resolve::<Port>().unwrap().is_none());

    let err = registry.resolve_named::<Port>("replica").unwrap_err();
    assert!(err.to_string().contains(r#"Port["replica"]"#), "{err}");
}

#[actix_rt::test]
async fn a_second_registration_fails_unless_it_replaces() {
    let registry = registry();
    registry.register(Arc::new(Port(1))).await.unwrap();
    let err = registry.register(Arc::new(Port(2))).await.unwrap_err();
    assert!(
        matches!(err, RegistryError::AlreadyRegistered { .. }),
        "{err:?}"
    );
    assert_eq!(
        *registry.resolve::<Port>().unwrap(),
        Port(1),
        "the first stays"
    );

    registry
        .register_with(Register::instance(Arc::new(Port(3))).replacing())
        .await
        .unwrap();
    assert_eq!(*registry.resolve::<Port>().unwrap(), Port(3));
}

#[actix_rt::test]
async fn named_and_unnamed_services_are_separate() {
    let registry = registry();
    registry.register(Arc::new(Port(1))).await.unwrap();
    registry
        .register_named("replica", Arc::new(Port(2)))
        .await
        .unwrap();
    registry
        .register_with(Register::singleton(|_| Ok(Port(3))).named("lazy"))
        .await
        .unwrap();
    assert_eq!(*registry.resolve::<Port>().unwrap(), Port(1));
    assert_eq!(*registry.resolve_named::<Port>("replica").unwrap(), Port(2));
    assert_eq!(*registry.resolve_named::<Port>("lazy").unwrap(), Port(3));
    assert!(registry.contains_named::<Port>("replica"));
    assert!(!registry.contains_named::<Port>("primary"));

    let err = registry
        .register_named("replica", Arc::new(Port(9)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(r#"Port["replica"]"#), "{err}");

    registry.unregister_named::<Port>("replica").await.unwrap();
    assert!(!registry.contains_named::<Port>("replica"));
    assert!(
        registry.contains::<Port>(),
        "removing the named one leaves the unnamed"
    );
    assert!(registry.contains_named::<Port>("lazy"));
}

#[actix_rt::test]
async fn unregister_removes_and_reports_absence() {
    let registry = registry();
    registry.register(Arc::new(Port(1))).await.unwrap();
    let held = registry.resolve::<Port>().unwrap();
    registry.unregister::<Port>().await.unwrap();
    assert!(matches!(
        registry.resolve::<Port>(),
        Err(RegistryError::NotRegistered { .. })
    ));
    assert_eq!(*held, Port(1), "a value handed out lives on");
    let err = registry.unregister::<Port>().await.unwrap_err();
    assert!(matches!(err, RegistryError::NotRegistered { .. }));
}

#[actix_rt::test]
async fn transients_are_created_on_every_resolve() {
    let registry = registry();
    let created = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&created);
    registry
        .register_transient(move |_| Ok(Port(counter.fetch_add(1, Ordering::SeqCst) as u16)))
        .await
        .unwrap();
    let a = registry.resolve::<Port>().unwrap();
    let b = registry.resolve::<Port>().unwrap();
    assert_eq!((a.0, b.0), (0, 1));
    assert_eq!(created.load(Ordering::SeqCst), 2);
}

#[actix_rt::test]
async fn factories_resolve_their_dependencies() {
    let registry = registry();
    registry.register(Arc::new(Port(8080))).await.unwrap();
    registry
        .register_singleton(|registry: &Registry| {
            let port = registry.resolve::<Port>()?;
            Ok(Host(format!("localhost:{}", port.0)))
        })
        .await
        .unwrap();
    assert_eq!(registry.resolve::<Host>().unwrap().0, "localhost:8080");
    let services = registry.services();
    let host = services
        .iter()
        .find(|s| s.type_name.ends_with("::Host"))
        .unwrap();
    assert_eq!((host.kind, host.created), (ServiceKind::Singleton, true));
}

#[actix_rt::test]
async fn a_lazy_singleton_is_created_once_under_100_concurrent_resolves() {
    let registry = registry();
    let created = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&created);
    registry
        .register_singleton(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            // Widens the window in which the others arrive; correctness does
            // not depend on it.
            std::thread::sleep(Duration::from_millis(20));
            Ok(Port(7))
        })
        .await
        .unwrap();
    assert!(
        !registry.services()[0].created,
        "lazy: nothing created at registration"
    );

    let start = Arc::new(Barrier::new(100));
    let threads: Vec<_> = (0..100)
        .map(|_| {
            let (registry, start) = (registry.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                registry.resolve::<Port>()
            })
        })
        .collect();
    let values: Vec<Arc<Port>> = threads
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert_eq!(created.load(Ordering::SeqCst), 1);
    assert!(values.iter().all(|v| Arc::ptr_eq(v, &values[0])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lazy_singleton_is_created_once_under_100_concurrent_tasks() {
    // The actor lives in an actix System on its own thread; the resolves run
    // on this plain tokio runtime's workers.
    let (started, handle) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runner = actix::System::new();
        let system = actix::System::current();
        let _ = started.send((Registry::start_in(system.arbiter()), system));
        runner.run()
    });
    let (registry, system) = handle.recv().unwrap();
    let created = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&created);
    registry
        .register_singleton(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Port(8))
        })
        .await
        .unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let registry = registry.clone();
            tokio::spawn(async move { registry.resolve::<Port>() })
        })
        .collect();
    for task in tasks {
        assert_eq!(*task.await.unwrap().unwrap(), Port(8));
    }
    assert_eq!(created.load(Ordering::SeqCst), 1);
    system.stop();
    thread.join().unwrap().unwrap();
}

#[derive(Debug)]
struct A;
#[derive(Debug)]
struct B;
#[derive(Debug)]
struct C;

async fn register_loop(registry: &Registry) {
    registry
        .register_singleton(|r: &Registry| {
            r.resolve::<B>()?;
            Ok(A)
        })
        .await
        .unwrap();
    registry
        .register_transient(|r: &Registry| {
            r.resolve::<A>()?;
            Ok(B)
        })
        .await
        .unwrap();
}

fn chain_of(err: &RegistryError) -> Vec<&'static str> {
    match err {
        RegistryError::Cycle { chain } => chain
            .iter()
            .map(|s| s.type_name.rsplit("::").next().unwrap_or_default())
            .collect(),
        other => panic!("expected a cycle, got {other:?}"),
    }
}

#[actix_rt::test]
async fn a_cycle_is_an_error_naming_the_chain() {
    let registry = registry();
    register_loop(&registry).await;
    let err = registry.resolve::<A>().unwrap_err();
    assert_eq!(chain_of(&err), ["A", "B", "A"]);
    assert!(err.to_string().starts_with("dependency cycle: "), "{err}");
    let err = registry.resolve::<B>().unwrap_err();
    assert_eq!(chain_of(&err), ["B", "A", "B"]);
}

#[actix_rt::test]
async fn a_factory_resolving_itself_is_a_cycle_not_a_stack_overflow() {
    let registry = registry();
    registry
        .register_transient(|r: &Registry| {
            r.resolve::<C>()?;
            Ok(C)
        })
        .await
        .unwrap();
    assert_eq!(chain_of(&registry.resolve::<C>().unwrap_err()), ["C", "C"]);
}

#[actix_rt::test]
async fn two_threads_entering_a_cycle_from_both_ends_get_errors_not_a_deadlock() {
    let registry = registry();
    // Each factory waits (on its first call only) until both have started,
    // so each thread owns one singleton when it asks for the other.
    let both_started = Arc::new(Barrier::new(2));
    let singleton_needing = |needs_a: bool, barrier: Arc<Barrier>| {
        let first_call = AtomicBool::new(true);
        move |r: &Registry| {
            if first_call.swap(false, Ordering::SeqCst) {
                barrier.wait();
            }
            if needs_a {
                r.resolve::<A>().map(|_| ())
            } else {
                r.resolve::<B>().map(|_| ())
            }?;
            Ok(())
        }
    };
    let a_factory = singleton_needing(false, Arc::clone(&both_started));
    let b_factory = singleton_needing(true, Arc::clone(&both_started));
    registry
        .register_singleton(move |r| a_factory(r).map(|()| A))
        .await
        .unwrap();
    registry
        .register_singleton(move |r| b_factory(r).map(|()| B))
        .await
        .unwrap();

    let (done, results) = mpsc::channel();
    for resolve_a in [true, false] {
        let (registry, done) = (registry.clone(), done.clone());
        std::thread::spawn(move || {
            let result = if resolve_a {
                registry.resolve::<A>().map(|_| ())
            } else {
                registry.resolve::<B>().map(|_| ())
            };
            let _ = done.send(result);
        });
    }
    for _ in 0..2 {
        let result = results
            .recv_timeout(Duration::from_secs(30))
            .expect("a thread deadlocked");
        let err = result.unwrap_err();
        let chain = chain_of(&err);
        assert_eq!(chain.first(), chain.last(), "{chain:?}");
        assert!(chain.contains(&"A") && chain.contains(&"B"), "{chain:?}");
    }
}

#[actix_rt::test]
async fn a_failing_factory_names_its_service_and_its_error() {
    let registry = registry();
    registry
        .register_singleton(|_| -> Result<Port, UserError> { Ok(Port("x".parse::<u16>()?)) })
        .await
        .unwrap();
    let err = registry.resolve::<Port>().unwrap_err();
    let RegistryError::FactoryFailed { service, source } = &err else {
        panic!("{err:?}")
    };
    assert!(service.type_name.ends_with("::Port"));
    assert!(source.downcast_ref::<std::num::ParseIntError>().is_some());
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is chained"
    );
    assert!(err.to_string().contains("invalid digit"), "{err}");
}

#[actix_rt::test]
async fn a_panicking_factory_is_caught_and_the_registry_works_on() {
    let registry = registry();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    registry
        .register_singleton(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("backend exploded");
            }
            Ok(Port(1))
        })
        .await
        .unwrap();
    registry
        .register(Arc::new(Host("ok".into())))
        .await
        .unwrap();

    let err = registry.resolve::<Port>().unwrap_err();
    assert!(
        matches!(&err, RegistryError::FactoryPanicked { message, .. } if message == "backend exploded"),
        "{err:?}"
    );
    assert_eq!(
        registry.resolve::<Host>().unwrap().0,
        "ok",
        "another type resolves"
    );
    assert_eq!(
        *registry.resolve::<Port>().unwrap(),
        Port(1),
        "the singleton is retried"
    );
    registry
        .register(Arc::new(5_u8))
        .await
        .expect("the actor is alive");
}

#[actix_rt::test]
async fn a_dependency_failure_is_reported_as_itself() {
    let registry = registry();
    registry
        .register_singleton(|r: &Registry| {
            r.resolve::<Port>()?;
            Ok(Host("never".into()))
        })
        .await
        .unwrap();
    let err = registry.resolve::<Host>().unwrap_err();
    assert!(
        matches!(&err, RegistryError::NotRegistered { service } if service.type_name.ends_with("::Port")),
        "{err:?}"
    );
}

#[actix_rt::test]
async fn actor_addresses_resolve_to_live_addresses() {
    use actix::{Actor, Context, Handler, Message};

    struct Echo;
    impl Actor for Echo {
        type Context = Context<Self>;
    }
    #[derive(Message)]
    #[rtype(result = "u32")]
    struct Ping(u32);
    impl Handler<Ping> for Echo {
        type Result = u32;
        fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u32 {
            n + 1
        }
    }

    let registry = registry();
    registry.register_actor(Echo.start()).await.unwrap();
    let echo = registry.resolve_actor::<Echo>().unwrap();
    assert_eq!(echo.send(Ping(41)).await.unwrap(), 42);
}

#[actix_rt::test]
async fn shutdown_drops_services_newest_first_and_closes() {
    struct Noisy(&'static str, Arc<Mutex<Vec<&'static str>>>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            self.1.lock().unwrap().push(self.0);
        }
    }
    let dropped = Arc::new(Mutex::new(Vec::new()));
    let registry = registry();
    registry
        .register(Arc::new(Noisy("first", Arc::clone(&dropped))))
        .await
        .unwrap();
    registry
        .register_named("second", Arc::new(Noisy("second", Arc::clone(&dropped))))
        .await
        .unwrap();
    let log = Arc::clone(&dropped);
    registry
        .register_singleton(move |_| Ok(Port(3)))
        .await
        .unwrap();
    registry
        .register_with(Register::instance(Arc::new(Noisy("third", log))).named("third"))
        .await
        .unwrap();

    registry.shutdown().await;
    assert_eq!(*dropped.lock().unwrap(), ["third", "second", "first"]);
    assert!(registry.is_closed());
    assert!(matches!(
        registry.resolve::<Port>(),
        Err(RegistryError::Closed)
    ));
    assert!(matches!(
        registry.register(Arc::new(Port(1))).await,
        Err(RegistryError::Closed)
    ));
    registry.shutdown().await; // idempotent
}

#[test]
fn handles_and_their_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    static_assertions::assert_impl_all!(Registry: Clone, Send, Sync);
    static_assertions::assert_impl_all!(RegistryError: Send, Sync, std::error::Error);
    let system = actix::System::new();
    system.block_on(async {
        let registry = registry();
        send_sync(&registry);
        send(&registry.register(Arc::new(Port(1))));
        send(&registry.register_singleton(|_| Ok(Port(1))));
        send(&registry.unregister::<Port>());
        send(&registry.shutdown());
    });
}

#[actix_rt::test]
async fn replacing_a_service_whose_drop_uses_the_registry_does_not_deadlock() {
    struct Chatty(Registry);
    impl Drop for Chatty {
        fn drop(&mut self) {
            // Same type, so the same map shard as the entry being replaced.
            let _ = self.0.contains::<Chatty>();
        }
    }
    let registry = registry();
    registry
        .register(Arc::new(Chatty(registry.clone())))
        .await
        .unwrap();
    let replace =
        registry.register_with(Register::instance(Arc::new(Chatty(registry.clone()))).replacing());
    tokio::time::timeout(Duration::from_secs(30), replace)
        .await
        .expect("no deadlock")
        .unwrap();
}

#[actix_rt::test]
async fn a_cycle_across_two_registries_entered_from_both_ends_is_an_error() {
    let (first, second) = (registry(), registry());
    let both_started = Arc::new(Barrier::new(2));
    let once = |barrier: &Arc<Barrier>| {
        let (barrier, first_call) = (Arc::clone(barrier), AtomicBool::new(true));
        move || {
            if first_call.swap(false, Ordering::SeqCst) {
                barrier.wait();
            }
        }
    };
    let (wait_a, other) = (once(&both_started), second.clone());
    first
        .register_singleton(move |_| {
            wait_a();
            other.resolve::<B>()?;
            Ok(A)
        })
        .await
        .unwrap();
    let (wait_b, other) = (once(&both_started), first.clone());
    second
        .register_singleton(move |_| {
            wait_b();
            other.resolve::<A>()?;
            Ok(B)
        })
        .await
        .unwrap();

    let (done, results) = mpsc::channel();
    for resolve_a in [true, false] {
        let (first, second, done) = (first.clone(), second.clone(), done.clone());
        std::thread::spawn(move || {
            let result = if resolve_a {
                first.resolve::<A>().map(|_| ())
            } else {
                second.resolve::<B>().map(|_| ())
            };
            let _ = done.send(result);
        });
    }
    for _ in 0..2 {
        let result = results
            .recv_timeout(Duration::from_secs(30))
            .expect("a thread deadlocked");
        assert!(
            matches!(result, Err(RegistryError::Cycle { .. })),
            "{result:?}"
        );
    }
}

#[actix_rt::test]
async fn waiters_of_a_failed_attempt_get_its_error_without_running_the_factory_again() {
    #[derive(Debug)]
    struct Refused;
    let registry = registry();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    registry
        .register_singleton(move |_| -> Result<Refused, UserError> {
            counter.fetch_add(1, Ordering::SeqCst);
            // Fail only once the nine other threads wait on this attempt.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while super::init_graph::GRAPH
                .lock()
                .waiting_on(std::any::type_name::<Refused>())
                < 9
                && std::time::Instant::now() < deadline
            {
                std::thread::yield_now();
            }
            Err(UserError::msg("backend down"))
        })
        .await
        .unwrap();
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let registry = registry.clone();
            std::thread::spawn(move || registry.resolve::<Refused>().map(|_| ()))
        })
        .collect();
    for thread in threads {
        let err = thread.join().unwrap().unwrap_err();
        assert!(err.to_string().ends_with("failed: backend down"), "{err}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one attempt, shared by all ten"
    );
}
