//! Groups: validation, dependency order, concurrency, failure unwinding.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::time::timeout;

use super::*;
use crate::UserError;
use crate::resource::ResourceKeeper;
use crate::retry::RetryPolicy;

const BOUND: Duration = Duration::from_secs(600);

type Log = Arc<Mutex<Vec<String>>>;

#[derive(Debug)]
struct Service {
    name: &'static str,
    log: Log,
    fail: Arc<AtomicBool>,
    barrier: Option<Arc<Barrier>>,
}

impl Resource for Service {
    async fn initialize(&self) -> Result<(), UserError> {
        if let Some(barrier) = &self.barrier {
            barrier.wait().await;
        }
        if self.fail.load(Ordering::SeqCst) {
            self.log.lock().unwrap().push(format!("fail {}", self.name));
            return Err(UserError::msg(format!("{} refused", self.name)));
        }
        self.log.lock().unwrap().push(format!("init {}", self.name));
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        self.log
            .lock()
            .unwrap()
            .push(format!("cleanup {}", self.name));
        Ok(())
    }

    fn is_retryable(&self, _: &UserError) -> bool {
        false
    }
}

struct Fixture {
    log: Log,
    builds: Arc<AtomicU32>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            log: Log::default(),
            builds: Arc::default(),
        }
    }

    fn add(&self, builder: GroupBuilder, name: &'static str, deps: &[&str]) -> GroupBuilder {
        self.add_with(builder, name, deps, None, None)
    }

    fn add_with(
        &self,
        builder: GroupBuilder,
        name: &'static str,
        deps: &[&str],
        fail: Option<Arc<AtomicBool>>,
        barrier: Option<Arc<Barrier>>,
    ) -> GroupBuilder {
        let log = Arc::clone(&self.log);
        let builds = Arc::clone(&self.builds);
        let fail = fail.unwrap_or_default();
        builder.resource(name, deps, move || {
            builds.fetch_add(1, Ordering::SeqCst);
            let service = Service {
                name,
                log: Arc::clone(&log),
                fail: Arc::clone(&fail),
                barrier: barrier.clone(),
            };
            ResourceKeeper::builder(name, service)
                .retry(RetryPolicy::never())
                .without_health_checks()
        })
    }

    fn entries(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[test]
fn unknown_dependencies_cycles_and_duplicates_are_rejected_before_anything_starts() {
    let fixture = Fixture::new();
    let unknown = fixture
        .add(ResourceGroup::builder("g"), "api", &["db"])
        .build()
        .unwrap_err();
    assert!(
        matches!(&unknown, GroupError::UnknownDependency { resource, dependency } if resource == "api" && dependency == "db"),
        "{unknown}"
    );

    let builder = fixture.add(ResourceGroup::builder("g"), "a", &["c"]);
    let builder = fixture.add(builder, "b", &["a"]);
    let builder = fixture.add(builder, "c", &["b"]);
    let cycle = builder.build().unwrap_err();
    assert_eq!(cycle.to_string(), "dependency cycle: a -> c -> b -> a");

    let own = fixture
        .add(ResourceGroup::builder("g"), "self", &["self"])
        .build()
        .unwrap_err();
    assert!(
        matches!(&own, GroupError::Cycle { cycle } if cycle == &["self", "self"]),
        "{own}"
    );

    let builder = fixture.add(ResourceGroup::builder("g"), "x", &[]);
    let duplicate = fixture.add(builder, "x", &[]).build().unwrap_err();
    assert!(matches!(duplicate, GroupError::DuplicateResource { resource } if resource == "x"));

    assert_eq!(
        fixture.builds.load(Ordering::SeqCst),
        0,
        "nothing was started"
    );
}

fn diamond(fixture: &Fixture) -> ResourceGroup {
    let builder = fixture.add(
        ResourceGroup::builder("diamond"),
        "api",
        &["cache", "queue"],
    );
    let builder = fixture.add(builder, "cache", &["db"]);
    let builder = fixture.add(builder, "queue", &["db"]);
    fixture.add(builder, "db", &[]).build().unwrap()
}

#[actix_rt::test]
async fn initializes_in_dependency_order_and_cleans_up_in_reverse() {
    let fixture = Fixture::new();
    let group = diamond(&fixture);
    assert_eq!(group.health().state, State::Uninitialized);
    timeout(BOUND, group.initialize()).await.unwrap().unwrap();
    let log = fixture.entries();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0], "init db");
    assert_eq!(log[3], "init api");
    assert_eq!(group.state(), State::Ready);
    assert_eq!(group.health().state, State::Ready);

    timeout(BOUND, group.cleanup(Duration::from_secs(1)))
        .await
        .unwrap()
        .unwrap();
    let log = fixture.entries();
    let cleanups: Vec<&str> = log[4..].iter().map(String::as_str).collect();
    assert_eq!(cleanups.len(), 4);
    assert_eq!(cleanups[0], "cleanup api");
    assert_eq!(cleanups[3], "cleanup db");
    assert_eq!(group.state(), State::Closed);
    assert_eq!(group.health().state, State::Closed);
    assert!(matches!(
        group.initialize().await,
        Err(GroupError::Closed { .. })
    ));
}

#[actix_rt::test]
async fn independent_members_initialize_concurrently() {
    // Each waits for the other inside `initialize`: only concurrent
    // initialization lets both finish.
    let fixture = Fixture::new();
    let barrier = Arc::new(Barrier::new(2));
    let builder = fixture.add_with(
        ResourceGroup::builder("pair"),
        "left",
        &[],
        None,
        Some(Arc::clone(&barrier)),
    );
    let group = fixture
        .add_with(builder, "right", &[], None, Some(barrier))
        .build()
        .unwrap();
    timeout(Duration::from_secs(30), group.initialize())
        .await
        .expect("independent members were initialized one after another")
        .unwrap();
}

#[actix_rt::test]
async fn a_failure_cleans_up_what_came_up_but_not_the_member_that_failed_and_names_it() {
    let fixture = Fixture::new();
    let cache_fails = Arc::new(AtomicBool::new(true));
    let builder = fixture.add(ResourceGroup::builder("svc"), "db", &[]);
    let builder = fixture.add_with(
        builder,
        "cache",
        &["db"],
        Some(Arc::clone(&cache_fails)),
        None,
    );
    let group = fixture.add(builder, "api", &["cache"]).build().unwrap();

    let err = timeout(BOUND, group.initialize())
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&err, GroupError::Initialize { resource, .. } if resource == "cache"),
        "{err}"
    );
    assert!(err.to_string().contains("cache refused"), "{err}");
    let log = fixture.entries();
    // OTP's rule: the member whose start failed is not cleaned up.
    assert_eq!(log, ["init db", "fail cache", "cleanup db"]);
    assert_eq!(group.state(), State::Error);
    assert_eq!(group.health().state, State::Closed);
    // Closed without its cleanup, not left in `Error` for a later drop
    // of its handle to clean up.
    let cache = group.get::<Service>("cache").unwrap();
    assert_eq!(cache.state(), State::Closed);

    // The backend is back: a second initialize starts every member afresh.
    cache_fails.store(false, Ordering::SeqCst);
    timeout(BOUND, group.initialize()).await.unwrap().unwrap();
    assert_eq!(group.health().state, State::Ready);
    let log = fixture.entries();
    assert_eq!(log[3..], ["init db", "init cache", "init api"]);
    group.cleanup(Duration::from_secs(1)).await.unwrap();
    let cache_cleanups = fixture
        .entries()
        .iter()
        .filter(|entry| *entry == "cleanup cache")
        .count();
    assert_eq!(
        cache_cleanups, 1,
        "only the cache that came up is cleaned up"
    );
}

#[actix_rt::test]
async fn get_returns_the_typed_handle_or_says_why_not() {
    let fixture = Fixture::new();
    let group = diamond(&fixture);
    assert!(matches!(
        group.get::<Service>("db"),
        Err(GroupError::NotStarted { .. })
    ));
    group.initialize().await.unwrap();
    let db = group.get::<Service>("db").unwrap();
    assert_eq!(db.resource().unwrap().name, "db");
    assert!(matches!(
        group.get::<Service>("nope"),
        Err(GroupError::UnknownResource { .. })
    ));
    #[derive(Debug)]
    struct Other;
    impl Resource for Other {
        async fn initialize(&self) -> Result<(), UserError> {
            Ok(())
        }
        async fn cleanup(&self) -> Result<(), UserError> {
            Ok(())
        }
    }
    let err = group.get::<Other>("db").unwrap_err();
    assert!(err.to_string().contains("Other"), "{err}");

    // Health is the worst member state: close one member by hand.
    db.close(Duration::from_secs(1)).await.unwrap();
    let health = group.health();
    assert_eq!(health.state, State::Closed);
    assert_eq!(
        health
            .members
            .iter()
            .filter(|m| m.state == State::Ready)
            .count(),
        3
    );
    group.cleanup(Duration::from_secs(1)).await.unwrap();
}

#[actix_rt::test]
async fn a_panicking_builder_is_a_typed_error() {
    let group = ResourceGroup::builder("g")
        .resource(
            "boom",
            &[],
            || -> crate::resource::ResourceKeeperBuilder<Service> { panic!("no config") },
        )
        .build()
        .unwrap();
    let err = group.initialize().await.unwrap_err();
    assert!(
        matches!(&err, GroupError::StartPanicked { resource, message } if resource == "boom" && message == "no config"),
        "{err}"
    );
}

#[test]
fn severity_puts_error_last() {
    let members = |states: &[State]| {
        GroupHealth::of(
            states
                .iter()
                .map(|s| MemberHealth {
                    name: s.to_string(),
                    state: *s,
                })
                .collect(),
        )
        .state
    };
    assert_eq!(members(&[State::Ready, State::Degraded]), State::Degraded);
    assert_eq!(
        members(&[State::Closed, State::Error, State::Ready]),
        State::Error
    );
    assert_eq!(members(&[]), State::Ready);
}
