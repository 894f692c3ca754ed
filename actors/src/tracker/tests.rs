//! Real processes, real tasks; every wait bounded. Processes are found
//! through `/proc` by a unique argument (a `sleep` of a duration no other
//! test uses), so a descendant that cleared its environment is found too.
//!
//! Each process test runs under both containments: the cgroup variant
//! needs a writable cgroup v2 (root here; `.ci/run` runs them with
//! `--ignored`), the process-group variant runs everywhere.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::containment::group::GroupContainer;
use super::os;
use super::pids::Pids;
use super::table::TrackerState;
use super::*;
use crate::UserError;

fn tracker_with(containment: Containment) -> Tracker {
    Tracker::builder()
        .containment(containment)
        .start_in(&actix::Arbiter::current())
        .unwrap()
}

fn tracker() -> Tracker {
    tracker_with(Containment::ProcessGroup)
}

/// `sh -c script`, as a [`CommandSpec`]: under cgroups, started by the
/// tracker itself (tests that need std's spawn use `Command`).
fn sh(script: &str) -> CommandSpec {
    let mut command = CommandSpec::new("sh");
    command.args(["-c", script]);
    command
}

/// A `sleep` duration no other process of this test run uses: finding the
/// processes that run `sleep <it>` finds this test's and no other's.
fn unique_sleep() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}{:04}",
        100_000 + u64::from(std::process::id() % 100_000),
        n
    )
}

/// Live (not zombie) processes with `arg` among their arguments.
fn running_with_arg(arg: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            os::stat(pid).is_some_and(|stat| stat.state != 'Z')
                && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                    cmdline
                        .split(|&b| b == 0)
                        .any(|word| word == arg.as_bytes())
                })
        })
        .collect()
}

pub(super) use crate::testing::eventually;

/// Polls `status` until `done` holds; fails after a generous bound.
async fn status_until(
    tracker: &Tracker,
    what: &str,
    done: impl Fn(&TrackerStatus) -> bool,
) -> TrackerStatus {
    for _ in 0..3000 {
        let status = tracker.status().await.unwrap();
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

/// Defines `<name>_process_group` and `<name>_cgroup` running the async
/// `fn <name>(Containment)`; the cgroup one needs a writable cgroup v2.
macro_rules! both_containments {
    ($($name:ident),* $(,)?) => {
        mod process_group {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name($crate::tracker::Containment::ProcessGroup).await;
                }
            )*
        }
        mod cgroup {
            $(
                #[actix_rt::test]
                #[ignore = "needs a writable cgroup v2 (root)"]
                async fn $name() {
                    super::$name($crate::tracker::Containment::Cgroup).await;
                }
            )*
        }
    };
}

mod escapes;
mod processes;
mod spawns;

#[actix_rt::test]
async fn bad_keys_and_types_are_typed_errors_and_change_nothing() {
    let tracker = tracker();
    // `sleep` itself, not under `sh`: the test kills the handed-back child.
    tracker.spawn("svc", sh("exec sleep 300")).await.unwrap();
    tracker
        .register_custom("conn", 7_u32, |_| Ok(()))
        .await
        .unwrap();
    let before = tracker.status().await.unwrap();

    let err = tracker.spawn("svc", sh("sleep 300")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"a process is already tracked under "svc""#
    );
    let err = tracker
        .stop_process("nope", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), r#"no process is tracked under "nope""#);
    let err = tracker
        .unregister_custom::<String>("conn")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            TrackerError::WrongType {
                expected: "alloc::string::String",
                actual: "u32",
                ..
            }
        ),
        "{err}"
    );
    let rejected = tracker
        .register_custom("conn", 8_u32, |_| Ok(()))
        .await
        .unwrap_err();
    assert_eq!(
        rejected.item.map(|item| *item),
        Some(8),
        "the resource is handed back"
    );
    let err = tracker
        .spawn("bad", Command::new("/no/such/program"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TrackerError::Spawn { ref key, .. } if key == "bad"),
        "{err}"
    );

    let after = tracker.status().await.unwrap();
    assert_eq!(before, after, "state unchanged");
    assert_eq!(
        tracker.unregister_custom::<u32>("conn").await.unwrap(),
        7,
        "the resource stayed"
    );
    let mut child = tracker.unregister_process("svc").await.unwrap();
    child.kill().await.unwrap();
}

#[actix_rt::test]
async fn tasks_leave_when_done_and_report_panics_and_cancels() {
    let tracker = tracker();
    tracker.spawn_task("quick", async {}).await.unwrap();
    tracker
        .spawn_task("boom", async { panic!("task blew up") })
        .await
        .unwrap();
    tracker
        .spawn_task("forever", std::future::pending::<()>())
        .await
        .unwrap();
    let handle = tokio::spawn(async { 5_u32 });
    tracker.register_task("typed", handle).await.unwrap();

    let err = tracker.unregister_task::<u8>("forever").await.unwrap_err();
    assert!(matches!(err, TrackerError::WrongType { .. }), "{err}");
    assert_eq!(
        tracker
            .cancel_task("forever", Duration::from_secs(5))
            .await
            .unwrap(),
        TaskState::Cancelled
    );

    let status = status_until(&tracker, "every task ended", |status| {
        ["quick", "boom", "typed"].iter().all(|key| {
            status
                .tasks
                .get(*key)
                .is_some_and(|t| t.state != TaskState::Running)
        })
    })
    .await;
    assert_eq!(status.tasks["quick"].state, TaskState::Finished);
    assert_eq!(
        status.tasks["boom"].state,
        TaskState::Panicked {
            message: "task blew up".into()
        }
    );
    assert!(
        matches!(
            tracker.cancel_task("quick", Duration::from_secs(1)).await,
            Err(TrackerError::NotRegistered { .. })
        ),
        "finished tasks left"
    );
}

#[actix_rt::test]
async fn a_task_is_handed_back_typed() {
    let tracker = tracker();
    let (release, wait) = tokio::sync::oneshot::channel::<()>();
    tracker
        .register_task(
            "job",
            tokio::spawn(async move { wait.await.map(|()| 9_u64) }),
        )
        .await
        .unwrap();
    let handle = tracker
        .unregister_task::<Result<u64, tokio::sync::oneshot::error::RecvError>>("job")
        .await
        .unwrap();
    release.send(()).unwrap();
    assert_eq!(handle.await.unwrap().unwrap(), 9);
}

#[actix_rt::test]
async fn custom_cleanups_report_failures_and_panics_and_run_newest_first() {
    let tracker = tracker();
    let order = Arc::new(Mutex::new(Vec::new()));
    for name in ["first", "second", "third"] {
        let order = Arc::clone(&order);
        tracker
            .register_custom(name, name, move |name| {
                order.lock().unwrap().push(name);
                Ok(())
            })
            .await
            .unwrap();
    }
    tracker
        .register_custom("fails", (), |()| Err(UserError::msg("flush failed")))
        .await
        .unwrap();
    tracker
        .register_custom("panics", (), |()| panic!("cleanup exploded"))
        .await
        .unwrap();
    tracker
        .register_custom_async("async", String::from("socket"), |socket| async move {
            tokio::task::yield_now().await;
            if socket == "socket" {
                Ok(())
            } else {
                Err(UserError::msg("wrong"))
            }
        })
        .await
        .unwrap();

    assert_eq!(
        tracker
            .cleanup_custom("fails", Duration::from_secs(5))
            .await
            .unwrap(),
        CleanupOutcome::Failed {
            message: "flush failed".into()
        }
    );
    let report = tracker.cleanup_all(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(
        report.failed[0].1.contains("cleanup exploded"),
        "{report:?}"
    );
    assert_eq!(*order.lock().unwrap(), ["third", "second", "first"]);
    assert!(report.stopped_gracefully.contains(&"async".to_owned()));
    // The tracker works on after a panicking cleanup.
    tracker
        .register_custom("later", 1_u8, |_| Ok(()))
        .await
        .unwrap();
}

/// The actor's state, without a System: custom resources refused, handed
/// back and drained newest first.
#[test]
fn the_state_refuses_duplicates_and_drains_newest_first() {
    let pids = Arc::new(Pids::default());
    let container = Box::new(GroupContainer::new(
        "_STEWARD_TEST_STATE",
        Arc::clone(&pids),
    ));
    let shared = Arc::new(TrackerState::new(
        u64::MAX,
        "_STEWARD_TEST_STATE".into(),
        container,
        pids,
        None,
    ));
    let mut state = ResourceTracker::new(shared);
    let resource = |value: u32| -> Box<dyn super::custom::CustomResource> {
        Box::new(super::custom::SyncResource {
            value,
            cleanup: |_: u32| Ok(()),
        })
    };
    state.register_custom("a".into(), resource(1)).unwrap();
    state.register_custom("b".into(), resource(2)).unwrap();
    let refused = state.register_custom("a".into(), resource(3)).unwrap_err();
    assert!(matches!(
        refused.error,
        TrackerError::DuplicateKey {
            kind: Kind::Custom,
            ..
        }
    ));
    assert_eq!(
        refused
            .item
            .and_then(|item| item.downcast::<u32>().ok())
            .map(|v| *v),
        Some(3)
    );
    assert!(matches!(
        state.unregister_custom::<String>("b"),
        Err(TrackerError::WrongType { actual: "u32", .. })
    ));
    state.register_custom("c".into(), resource(4)).unwrap();
    let drained = state.drain();
    assert_eq!(drained.custom_keys(), ["c", "b", "a"]);
}

#[actix_rt::test]
async fn a_killed_watchdog_is_replaced() {
    let tracker = tracker();
    let first = tracker.watchdog_pid().expect("a watchdog runs");
    assert!(os::signal_process(first, nix::sys::signal::Signal::SIGKILL));
    eventually("another watchdog runs", || {
        tracker.watchdog_pid().is_some_and(|pid| pid != first)
    })
    .await;
    tracker.shutdown().await;
    assert_eq!(tracker.watchdog_pid(), None, "stopped at shutdown");
}

#[actix_rt::test]
async fn the_watchdog_forgets_a_group_once_it_is_gone() {
    let tracker = tracker();
    let mut sleeper = Command::new("sleep");
    sleeper.arg(unique_sleep());
    let sleeping = tracker.spawn("sleeping", sleeper).await.unwrap();
    let quick = tracker.spawn("quick", Command::new("true")).await.unwrap();
    assert!(tracker.shared.groups().contains(&sleeping));
    // `quick` exited by itself and left no member: its id may be reused,
    // so the watchdog must not kill it at the program's death.
    eventually("the housekeeping forgets quick's group", || {
        !tracker.shared.groups().contains(&quick)
    })
    .await;
    assert!(tracker.shared.groups().contains(&sleeping), "still running");
    tracker
        .stop_process("sleeping", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(tracker.shared.groups().is_empty(), "stopped: forgotten");
}

#[actix_rt::test]
async fn a_spawn_sent_to_the_actor_is_tracked_too() {
    let tracker = tracker();
    let mut sleeper = Command::new("sleep");
    let arg = unique_sleep();
    sleeper.arg(&arg);
    let pid = tracker
        .address()
        .send(SpawnProcess {
            key: "sent".into(),
            command: sleeper.into(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(running_with_arg(&arg), [pid]);
    assert_eq!(tracker.status().await.unwrap().processes["sent"].pid, pid);
    tracker
        .stop_process("sent", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(running_with_arg(&arg).is_empty());
}
