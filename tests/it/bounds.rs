//! Compile-time checks: every public handle, guard and permit is `Send +
//! Sync + 'static` (handles `Clone` too), errors are `Send + Sync` errors,
//! and the futures of the handles' async methods are `Send`, so each can
//! move into a spawned task.

use std::sync::Arc;
use std::time::Duration;

use static_assertions::assert_impl_all;
use steward::cpu::CpuError;
use steward::drive::{Drive, DriveError, Drives, IoPermit};
use steward::group::{GroupError, ResourceGroup};
use steward::lifecycle::{Lifecycle, StateView};
use steward::pool::{Manager, Pool, PoolError, PoolGuard, WeakPool};
use steward::resource::{Managed, Resource, ResourceError};
use steward::retry::RetryPolicy;
use steward::subprocess_pool::{PooledChild, SubprocessError, SubprocessPool};
use steward::supervisor::{SupervisorError, SupervisorHandle};
use steward::tracker::{ChildProcess, CommandSpec, ProcessGuard, TaskGuard, Tracker, TrackerError};
use steward::{
    ConfigError, Cpu, Error, Monitor, MonitorError, Registry, RegistryError, Steward, UserError,
};

/// The simplest pool manager, to name `Pool`'s types.
struct Unit;

impl Manager for Unit {
    type Resource = ();

    async fn create(&self) -> Result<(), UserError> {
        Ok(())
    }
}

/// The simplest managed resource, to name `Managed`'s types.
struct Nothing;

impl Resource for Nothing {
    async fn initialize(&self) -> Result<(), UserError> {
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        Ok(())
    }
}

// Handles: shared between tasks and threads.
assert_impl_all!(Steward: Clone, Send, Sync);
assert_impl_all!(Registry: Clone, Send, Sync);
assert_impl_all!(Monitor: Clone, Send, Sync);
assert_impl_all!(Drives: Clone, Send, Sync);
assert_impl_all!(Drive: Clone, Send, Sync);
assert_impl_all!(Cpu: Clone, Send, Sync);
assert_impl_all!(Tracker: Clone, Send, Sync);
assert_impl_all!(Pool<Unit>: Clone, Send, Sync);
assert_impl_all!(WeakPool<Unit>: Clone, Send, Sync);
assert_impl_all!(SubprocessPool: Clone, Send, Sync);
assert_impl_all!(Managed<Nothing>: Clone, Send, Sync);
assert_impl_all!(SupervisorHandle: Clone, Send, Sync);
// Not a handle: owned by whoever started it, not shared.
assert_impl_all!(ResourceGroup: Send, Sync);
assert_impl_all!(Lifecycle: Send, Sync);
assert_impl_all!(StateView: Clone, Send, Sync);

// Guards and permits: held across awaits, moved into tasks.
assert_impl_all!(IoPermit: Send, Sync);
assert_impl_all!(PoolGuard<Unit>: Send, Sync);
assert_impl_all!(ProcessGuard: Send, Sync);
assert_impl_all!(TaskGuard: Send, Sync);
assert_impl_all!(PooledChild: Send, Sync);
assert_impl_all!(ChildProcess: Send, Sync);
assert_impl_all!(CommandSpec: Send, Sync);

// Errors: sent across threads, boxed into `dyn Error + Send + Sync`.
assert_impl_all!(Error: Send, Sync, std::error::Error);
assert_impl_all!(ConfigError: Send, Sync, std::error::Error);
assert_impl_all!(RegistryError: Send, Sync, std::error::Error);
assert_impl_all!(MonitorError: Send, Sync, std::error::Error);
assert_impl_all!(DriveError: Send, Sync, std::error::Error);
assert_impl_all!(CpuError: Send, Sync, std::error::Error);
assert_impl_all!(TrackerError: Send, Sync, std::error::Error);
assert_impl_all!(PoolError: Send, Sync, std::error::Error);
assert_impl_all!(SubprocessError: Send, Sync, std::error::Error);
assert_impl_all!(ResourceError: Send, Sync, std::error::Error);
assert_impl_all!(SupervisorError: Send, Sync, std::error::Error);
assert_impl_all!(GroupError: Send, Sync, std::error::Error);

fn is_send<T: Send>(_: &T) {}

/// Never run: it only has to compile.
#[allow(dead_code, unused_must_use, clippy::let_underscore_future)]
fn futures_are_send(
    steward: &Steward,
    pool: &Pool<Unit>,
    subprocesses: &SubprocessPool,
    managed: &Managed<Nothing>,
    supervisor: &SupervisorHandle,
    group: &ResourceGroup,
) {
    is_send(&steward.shutdown());
    is_send(&steward.status());
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
    let drives = steward.drives();
    is_send(&drives.acquire("/"));
    is_send(&drives.acquire_timeout("/", Duration::from_secs(1)));
    is_send(&drives.run("/", async {}));
    is_send(&drives.set_limit("/", 2));
    is_send(&steward.cpu().run(|| 1));
    let tracker = steward.tracker();
    is_send(&tracker.spawn("k", std::process::Command::new("true")));
    is_send(&tracker.spawn_piped("k", CommandSpec::new("true")));
    is_send(&tracker.stop_process("k", Duration::from_secs(1)));
    is_send(&tracker.unregister_process("k"));
    is_send(&tracker.spawn_task("t", async {}));
    is_send(&tracker.cleanup_all(Duration::from_secs(1)));
    is_send(&tracker.status());
    is_send(&pool.acquire());
    is_send(&pool.try_acquire());
    is_send(&pool.resize(2));
    is_send(&pool.close());
    is_send(&pool.drain(Duration::from_secs(1)));
    is_send(&subprocesses.run(CommandSpec::new("true")));
    is_send(&subprocesses.spawn(CommandSpec::new("true")));
    is_send(&subprocesses.close());
    is_send(&managed.initialize());
    is_send(&managed.check_health());
    is_send(&managed.status());
    is_send(&managed.close(Duration::from_secs(1)));
    let policy = RetryPolicy::default();
    is_send(&managed.with_retry(|_| async { Ok::<_, UserError>(()) }, &policy));
    is_send(&managed.operation(
        "op",
        Duration::from_secs(1),
        |_| async { Ok::<_, UserError>(()) },
        &policy,
    ));
    is_send(&supervisor.children());
    is_send(&supervisor.stop());
    is_send(&supervisor.exited());
    is_send(&group.initialize());
    is_send(&group.cleanup(Duration::from_secs(1)));
}
