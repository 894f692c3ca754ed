//! Compile-time checks: handles are `Clone + Send + Sync`, their futures `Send`.

use std::sync::Arc;

use static_assertions::assert_impl_all;
use steward::{Error, Monitor, Registry, Steward};

assert_impl_all!(Steward: Clone, Send, Sync);
assert_impl_all!(Registry: Clone, Send, Sync);
assert_impl_all!(Monitor: Clone, Send, Sync);
assert_impl_all!(Error: Send, Sync, std::error::Error);

fn is_send<T: Send>(_: &T) {}

/// Never run: it only has to compile.
#[allow(dead_code, unused_must_use, clippy::let_underscore_future)]
fn futures_are_send(steward: &Steward) {
    is_send(&steward.shutdown());
    let registry = steward.registry();
    is_send(&registry.register(Arc::new(1_u8)));
    is_send(&registry.register_named("x", Arc::new(1_u8)));
    is_send(&registry.register_singleton(|_| Ok(1_u16)));
    is_send(&registry.register_transient(|_| Ok(1_u32)));
    is_send(&registry.unregister::<u8>());
    is_send(&registry.shutdown());
    let monitor = steward.monitor();
    is_send(&monitor.refresh());
    is_send(&monitor.shutdown());
}
