//! The registry through the facade.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use steward::Steward;
use steward::registry::{Register, RegistryError};

struct Database {
    url: String,
}

struct Repository {
    database: Arc<Database>,
}

#[actix_rt::test]
async fn a_dependency_graph_resolves_through_factories() {
    let steward = Steward::builder().start().unwrap();
    let registry = steward.registry();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    registry
        .register_singleton(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Database {
                url: "postgres://primary".into(),
            })
        })
        .await
        .unwrap();
    registry
        .register_transient(|registry| {
            Ok(Repository {
                database: registry.resolve::<Database>()?,
            })
        })
        .await
        .unwrap();

    let first = registry.resolve::<Repository>().unwrap();
    let second = registry.resolve::<Repository>().unwrap();
    assert!(!Arc::ptr_eq(&first, &second), "repositories are transient");
    assert!(
        Arc::ptr_eq(&first.database, &second.database),
        "the database is a singleton"
    );
    assert_eq!(first.database.url, "postgres://primary");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    steward.shutdown().await.unwrap();
}

#[actix_rt::test]
async fn errors_convert_into_the_crate_error() {
    let steward = Steward::builder().start().unwrap();
    let registry = steward.registry();
    registry
        .register_with(Register::instance(Arc::new(1_u8)).named("one"))
        .await
        .unwrap();
    let err: steward::Error = registry.resolve::<u8>().unwrap_err().into();
    assert!(matches!(
        err,
        steward::Error::Registry(RegistryError::NotRegistered { .. })
    ));
    assert_eq!(err.to_string(), "no service u8 is registered");
    steward.shutdown().await.unwrap();
}
