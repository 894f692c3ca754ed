//! `Registry::resolve` of a registered instance, beside a bare
//! `DashMap<TypeId, Arc<dyn Any>>` lookup and an actix request/reply to an
//! actor on another thread holding the same map: the cost of resolving
//! without and with a mailbox hop.
//!
//! `cargo bench --bench registry`

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler, Message};
use criterion::{Criterion, criterion_group, criterion_main};
use dashmap::DashMap;
use steward::Steward;

type AnyService = Arc<dyn Any + Send + Sync>;

/// A stand-in service.
struct Database {
    _url: String,
}

/// An actor that answers lookups from its own map.
struct MapActor(HashMap<TypeId, AnyService>);

impl Actor for MapActor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "Option<AnyService>")]
struct Lookup(TypeId);

impl Handler<Lookup> for MapActor {
    type Result = Option<AnyService>;

    fn handle(&mut self, Lookup(type_id): Lookup, _: &mut Context<Self>) -> Self::Result {
        self.0.get(&type_id).cloned()
    }
}

fn resolve(c: &mut Criterion) {
    let steward = Steward::builder().start().expect("steward starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let service: AnyService = Arc::new(Database {
        _url: "postgres://bench".into(),
    });

    let registry = steward.registry().clone();
    let database = Arc::clone(&service)
        .downcast::<Database>()
        .expect("a Database");
    runtime
        .block_on(registry.register(database))
        .expect("registered");

    let bare: DashMap<TypeId, AnyService> = DashMap::new();
    bare.insert(TypeId::of::<Database>(), Arc::clone(&service));

    let map = HashMap::from([(TypeId::of::<Database>(), Arc::clone(&service))]);
    let actor = MapActor::start_in_arbiter(steward.arbiter(), move |_| MapActor(map));

    let mut group = c.benchmark_group("resolve");
    group.bench_function("steward_registry", |b| {
        b.iter(|| black_box(registry.resolve::<Database>().expect("registered")));
    });
    group.bench_function("bare_dashmap", |b| {
        b.iter(|| {
            black_box(
                bare.get(&TypeId::of::<Database>())
                    .map(|entry| Arc::clone(&entry))
                    .expect("present"),
            )
        });
    });
    group.bench_function("actix_send_cross_thread", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                actor
                    .send(Lookup(TypeId::of::<Database>()))
                    .await
                    .expect("actor alive")
                    .expect("present"),
            )
        });
    });
    group.finish();
    drop(steward);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = resolve
}
criterion_main!(benches);
