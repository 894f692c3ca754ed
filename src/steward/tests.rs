use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::system_thread::THREAD_NAME;

fn quick() -> StewardBuilder {
    Steward::builder().shutdown_timeout(Duration::from_secs(10))
}

fn system_thread_name(steward: &Steward) -> Option<String> {
    let system = steward.inner.own_system.as_ref()?;
    system.thread_name_for_tests()
}

#[test]
fn sync_code_gets_a_named_system_thread_that_shutdown_stops() {
    let steward = quick().start().unwrap();
    assert_eq!(steward.runtime_context(), RuntimeContext::BackgroundThread);
    assert_eq!(system_thread_name(&steward).as_deref(), Some(THREAD_NAME));
    steward.shutdown_blocking().unwrap();
    let system = steward.inner.own_system.as_ref().unwrap();
    assert!(
        system.has_exited(),
        "shutdown returns after the thread has finished"
    );
    steward.shutdown_blocking().unwrap();
}

#[test]
fn dropping_the_last_handle_in_sync_code_shuts_down_before_returning() {
    let steward = quick().start().unwrap();
    let exited = steward
        .inner
        .own_system
        .as_ref()
        .unwrap()
        .exit_signal_for_tests();
    let registry = steward.registry().clone();
    let clone = steward.clone();
    drop(steward);
    assert!(!*exited.borrow(), "a clone keeps it running");
    assert!(!registry.is_closed());
    drop(clone);
    assert!(*exited.borrow(), "the last drop stops the system thread");
    assert!(registry.is_closed(), "and closes the registry");
}

#[test]
fn blocking_calls_inside_a_runtime_are_refused() {
    let steward = quick().start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(async { steward.shutdown_blocking() });
    assert!(matches!(
        result,
        Err(Error::System(SystemError::BlockingInsideRuntime {
            operation: "Steward::shutdown_blocking"
        }))
    ));
    assert!(!steward.is_shut_down());
    steward
        .block_on(steward.registry().register(Arc::new(1_u8)))
        .unwrap()
        .unwrap();
    steward.shutdown_blocking().unwrap();
}

#[test]
fn a_bad_config_is_refused_before_anything_starts() {
    let err = Steward::builder().cpu_workers(0).start().unwrap_err();
    assert_eq!(err.to_string(), r#"cpu_workers="0": must not be zero"#);
}

#[test]
fn a_system_that_is_not_running_is_not_joined() {
    // `System::new()` makes a current System that nothing drives until
    // `block_on`/`run`: actors put there would never start.
    let _idle = actix_rt::System::new();
    let steward = quick().start().unwrap();
    assert_eq!(steward.runtime_context(), RuntimeContext::BackgroundThread);
    let registered = steward.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(30),
            steward.registry().register(Arc::new(1_u8)),
        )
        .await
    });
    registered
        .unwrap()
        .expect("the registry actor runs")
        .unwrap();
    steward.shutdown_blocking().unwrap();
}
