//! Real processes, real tasks; every wait bounded.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::os;
use super::*;

fn tracker() -> Tracker {
    Tracker::start_in(&actix::Arbiter::current())
}

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script]);
    command
}

/// Polls until `condition` holds; fails after a generous bound.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let polling = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), polling)
        .await
        .is_err()
    {
        panic!("never happened: {what}");
    }
}

fn marked(tracker: &Tracker, key: &str) -> Vec<u32> {
    os::marked(&tracker.shared.key(key))
}

/// Polls `status` until `done` holds; fails after a generous bound.
async fn status_until(
    tracker: &Tracker,
    what: &str,
    done: impl Fn(&TrackerStatus) -> bool,
) -> TrackerStatus {
    for _ in 0..6000 {
        let status = tracker.status().await.unwrap();
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

#[actix_rt::test]
async fn stopping_a_tree_leaves_none_of_it_alive() {
    let tracker = tracker();
    tracker
        .spawn("tree", sh("sleep 300 & sleep 300 & wait"))
        .await
        .unwrap();
    eventually("sh and both sleeps run", || {
        marked(&tracker, "tree").len() == 3
    })
    .await;
    let outcome = tracker
        .stop_process("tree", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(outcome.ending, Ending::Terminated);
    assert_eq!(
        outcome.state,
        ProcessState::Exited {
            code: None,
            signal: Some(15)
        }
    );
    assert!(
        marked(&tracker, "tree").is_empty(),
        "nothing of the tree is alive"
    );
    assert!(
        tracker.status().await.unwrap().processes.is_empty(),
        "and it is untracked"
    );
}

#[actix_rt::test]
async fn a_grandchild_that_escapes_with_setsid_is_stopped_by_cleanup_all() {
    let tracker = tracker();
    let leader = tracker
        .spawn("escapee", sh("setsid sleep 300 & wait"))
        .await
        .unwrap();
    // Until setsid has run, the grandchild is still in the group: wait
    // until a marked process other than the leader leads a group of its own.
    let detached = || {
        marked(&tracker, "escapee")
            .into_iter()
            .any(|pid| pid != leader && os::stat(pid).is_some_and(|stat| stat.pgrp == pid))
    };
    eventually("the grandchild has left the group", detached).await;
    let escaped = marked(&tracker, "escapee");
    let report = tracker.cleanup_all(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.stopped_gracefully, ["escapee"]);
    assert!(report.descendants_killed >= 1, "{report:?}");
    assert!(marked(&tracker, "escapee").is_empty());
    for pid in escaped {
        assert!(
            os::stat(pid).is_none(),
            "pid {pid} is gone (reaped, not a zombie)"
        );
    }
}

#[actix_rt::test]
async fn a_child_that_ignores_sigterm_is_killed_after_the_timeout() {
    let tracker = tracker();
    tracker
        .spawn("stubborn", sh("trap '' TERM; sleep 300"))
        .await
        .unwrap();
    eventually("the trap is set and sleep runs", || {
        marked(&tracker, "stubborn").len() == 2
    })
    .await;
    let outcome = tracker
        .stop_process("stubborn", Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(outcome.ending, Ending::Killed);
    assert_eq!(
        outcome.state,
        ProcessState::Exited {
            code: None,
            signal: Some(9)
        }
    );
    assert!(marked(&tracker, "stubborn").is_empty());
}

#[actix_rt::test]
async fn two_hundred_children_that_exit_by_themselves_leave_no_zombies() {
    let tracker = tracker();
    let mut pids = Vec::new();
    for i in 0..200 {
        pids.push(
            tracker
                .spawn(format!("short-{i}"), Command::new("true"))
                .await
                .unwrap(),
        );
    }
    let status = loop {
        let status = tracker.status().await.unwrap();
        if status
            .processes
            .values()
            .all(|process| process.state.has_exited())
        {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(status.processes.len(), 200);
    assert!(status.processes.values().all(|p| p.state
        == ProcessState::Exited {
            code: Some(0),
            signal: None
        }));
    for pid in pids {
        assert!(
            os::stat(pid).is_none_or(|stat| stat.state != 'Z' || stat.ppid != std::process::id()),
            "{pid} is a zombie"
        );
    }
}

#[actix_rt::test]
async fn an_exit_code_shows_in_status_and_in_the_stop_outcome() {
    let tracker = tracker();
    tracker.spawn("fails", sh("exit 3")).await.unwrap();
    let status = status_until(&tracker, "it exited", |status| {
        status.processes["fails"].state.has_exited()
    })
    .await;
    assert_eq!(
        status.processes["fails"].state,
        ProcessState::Exited {
            code: Some(3),
            signal: None
        }
    );
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["processes"]["fails"]["code"], 3);
    let outcome = tracker
        .stop_process("fails", Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        (outcome.ending, outcome.state),
        (
            Ending::ExitedBySelf,
            ProcessState::Exited {
                code: Some(3),
                signal: None
            }
        )
    );
    // The key is free again.
    tracker.spawn("fails", Command::new("true")).await.unwrap();
}

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
    tracker
        .register_task_or_return("typed", handle)
        .await
        .unwrap();

    let err = tracker.unregister_task::<u8>("forever").await.unwrap_err();
    assert!(matches!(err, TrackerError::WrongType { .. }), "{err}");
    assert_eq!(
        tracker
            .cancel_task("forever", Duration::from_secs(5))
            .await
            .unwrap(),
        TaskState::Cancelled
    );

    let status = loop {
        let status = tracker.status().await.unwrap();
        if ["quick", "boom", "typed"].iter().all(|key| {
            status
                .tasks
                .get(*key)
                .is_some_and(|t| t.state != TaskState::Running)
        }) {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
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
        .register_task_or_return(
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

#[actix_rt::test]
async fn guards_stop_what_they_track_when_dropped() {
    let tracker = tracker();
    let mut command = tokio::process::Command::new("sleep");
    command.arg("300").process_group(0);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    let guard = tracker.track_process("guarded", child).await.unwrap();
    let task = tracker
        .track_task("guarded-task", tokio::spawn(std::future::pending::<()>()))
        .await
        .unwrap();
    drop((guard, task));
    eventually("the guarded process is gone", || os::stat(pid).is_none()).await;
    eventually_status(&tracker).await;
}

async fn eventually_status(tracker: &Tracker) {
    for _ in 0..6000 {
        let status = tracker.status().await.unwrap();
        if status.processes.is_empty()
            && status
                .tasks
                .get("guarded-task")
                .is_none_or(|t| t.state != TaskState::Running)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("guards did not stop what they tracked");
}
