//! Processes under both containments: trees stopped, SIGTERM ignored,
//! exits, zombies, guards, limits, dropped spawns, and (cgroup) the
//! accounting and the directories.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::*;

both_containments!(
    stopping_a_tree_leaves_none_of_it_alive,
    a_child_that_ignores_sigterm_is_killed_after_the_timeout,
    two_hundred_children_that_exit_by_themselves_leave_no_zombies,
    an_exit_code_shows_in_status_and_in_the_stop_outcome,
    guards_stop_what_they_track_when_dropped,
    limits_are_refused_naming_the_missing_controller,
    a_thousand_spawns_dropped_at_random_points_leave_nothing_untracked,
);

async fn stopping_a_tree_leaves_none_of_it_alive(containment: Containment) {
    let tracker = tracker_with(containment);
    let arg = unique_sleep();
    tracker
        .spawn("tree", sh(&format!("sleep {arg} & sleep {arg} & wait")))
        .await
        .unwrap();
    eventually("both sleeps run", || running_with_arg(&arg).len() == 2).await;
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
        running_with_arg(&arg).is_empty(),
        "nothing of the tree is alive"
    );
    assert!(
        tracker.status().await.unwrap().processes.is_empty(),
        "and it is untracked"
    );
}

async fn a_child_that_ignores_sigterm_is_killed_after_the_timeout(containment: Containment) {
    let tracker = tracker_with(containment);
    let arg = unique_sleep();
    let mut stubborn = sh(&format!("trap '' TERM; echo ready; sleep {arg}"));
    stubborn.stdout(ChildIo::Piped);
    let mut spawned = tracker.spawn_piped("stubborn", stubborn).await.unwrap();
    let mut ready = [0_u8; 6];
    tokio::io::AsyncReadExt::read_exact(spawned.stdout.as_mut().unwrap(), &mut ready)
        .await
        .unwrap();
    eventually("sleep runs", || running_with_arg(&arg).len() == 1).await;
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
    assert!(running_with_arg(&arg).is_empty());
}

async fn two_hundred_children_that_exit_by_themselves_leave_no_zombies(containment: Containment) {
    let tracker = tracker_with(containment);
    let mut pids = Vec::new();
    for i in 0..200 {
        pids.push(
            tracker
                .spawn(format!("short-{i}"), CommandSpec::new("true"))
                .await
                .unwrap(),
        );
    }
    let status = status_until(&tracker, "all 200 exited", |status| {
        status.processes.values().all(|p| p.state.has_exited())
    })
    .await;
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

async fn an_exit_code_shows_in_status_and_in_the_stop_outcome(containment: Containment) {
    let tracker = tracker_with(containment);
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

async fn guards_stop_what_they_track_when_dropped(containment: Containment) {
    let tracker = tracker_with(containment);
    let mut command = tokio::process::Command::new("sleep");
    command.arg(unique_sleep()).process_group(0);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap();
    let guard = tracker.track_process("guarded", child).await.unwrap();
    let task = tracker
        .track_task("guarded-task", tokio::spawn(std::future::pending::<()>()))
        .await
        .unwrap();
    drop((guard, task));
    eventually("the guarded process is gone", || os::stat(pid).is_none()).await;
    let status = status_until(&tracker, "both untracked", |status| {
        status.processes.is_empty()
    })
    .await;
    assert!(
        status
            .tasks
            .get("guarded-task")
            .is_none_or(|t| t.state != TaskState::Running)
    );
}

async fn limits_are_refused_naming_the_missing_controller(containment: Containment) {
    let tracker = tracker_with(containment);
    let status = tracker.status().await.unwrap();
    assert_eq!(status.containment, containment);
    let enabled = tracker_cgroup(&tracker)
        .and_then(|dir| std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok())
        .unwrap_or_default();
    for (controller, options) in [
        ("memory", SpawnOptions::default().memory_max(64 << 20)),
        ("pids", SpawnOptions::default().pids_max(8)),
        (
            "cpu",
            SpawnOptions::default().cpu_max(CpuMax::new(10_000, 100_000)),
        ),
    ] {
        let spawned = tracker
            .spawn_with(controller, Command::new("true"), options)
            .await;
        if enabled.split_whitespace().any(|c| c == controller) {
            assert!(spawned.is_ok(), "{controller} is delegated: {spawned:?}");
            continue;
        }
        match spawned {
            Err(TrackerError::ControllerMissing {
                key,
                controller: named,
                ..
            }) => assert_eq!((key.as_str(), named), (controller, controller)),
            other => panic!("{controller}: {other:?}"),
        }
    }
}

/// The tracker's cgroup directory, if it contains by cgroup.
fn tracker_cgroup(tracker: &Tracker) -> Option<std::path::PathBuf> {
    let base = format!("steward-{}", std::process::id());
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let (_, mount) = super::super::containment::cgroup::cgroup2_mount(&mountinfo)?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own.lines().find_map(|line| line.strip_prefix("0::"))?;
    (tracker.containment() == Containment::Cgroup).then(|| {
        std::path::Path::new(&mount)
            .join(own.trim_start_matches('/'))
            .join(base)
            .join(tracker.shared.number.to_string())
    })
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

async fn a_thousand_spawns_dropped_at_random_points_leave_nothing_untracked(
    containment: Containment,
) {
    let tracker = tracker_with(containment);
    let arg = unique_sleep();
    // Learn the runtime first, so the spawn is one poll from start to end.
    tracker
        .spawn("warm", CommandSpec::new("true"))
        .await
        .unwrap();
    let mut rng = fastrand::Rng::with_seed(12);
    let mut tracked = 0;
    for i in 0..1000 {
        let mut sleeper = CommandSpec::new("sleep");
        sleeper.arg(&arg);
        let spawning = tracker.spawn(format!("dropped-{i}"), sleeper);
        // Dropped before its first poll, or polled once and dropped.
        if rng.bool() && poll_once(spawning).is_some_and(|spawned| spawned.is_ok()) {
            tracked += 1;
        }
    }
    let status = tracker.status().await.unwrap();
    let listed = status
        .processes
        .keys()
        .filter(|key| key.starts_with("dropped-"))
        .count();
    assert_eq!(listed, tracked, "every started process is tracked");
    eventually("every started sleep runs", || {
        running_with_arg(&arg).len() == tracked
    })
    .await;
    let report = tracker.cleanup_all(Duration::from_secs(20)).await.unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    assert!(running_with_arg(&arg).is_empty(), "none left alive");
    assert!(tracker.status().await.unwrap().processes.is_empty());
}

#[actix_rt::test]
#[ignore = "needs a writable cgroup v2 (root)"]
async fn the_status_shows_the_cgroup_and_its_cpu_time() {
    let tracker = tracker_with(Containment::Cgroup);
    let arg = unique_sleep();
    tracker
        .spawn(
            "busy",
            sh(&format!(
                "i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done; exec sleep {arg}"
            )),
        )
        .await
        .unwrap();
    eventually("the loop is done", || running_with_arg(&arg).len() == 1).await;
    let status = tracker.status().await.unwrap();
    let busy = &status.processes["busy"];
    let Contained::Cgroup(path) = &busy.containment else {
        panic!("{:?}", busy.containment);
    };
    assert!(path.starts_with(tracker_cgroup(&tracker).unwrap()));
    assert!(busy.usage.cpu_usec.unwrap() > 0, "{busy:?}");
    assert!(busy.usage.pressure.is_some_and(|p| p.cpu.is_some()));
    let memory = tracker_cgroup(&tracker)
        .and_then(|dir| std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok())
        .is_some_and(|enabled| enabled.split_whitespace().any(|c| c == "memory"));
    assert_eq!(busy.usage.memory_peak_bytes.is_some(), memory);
    let json = serde_json::to_value(&status).unwrap();
    assert!(json["processes"]["busy"]["cpu_usec"].as_u64().unwrap() > 0);
    assert_eq!(json["containment"], "cgroup");
    assert!(json["processes"]["busy"]["containment"]["cgroup"].is_string());
}

#[actix_rt::test]
#[ignore = "needs a writable cgroup v2 (root)"]
async fn cgroup_directories_are_removed_after_stop_and_after_shutdown() {
    let tracker = tracker_with(Containment::Cgroup);
    let dir = tracker_cgroup(&tracker).unwrap();
    let cells = || {
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                    .count()
            })
            .unwrap_or(0)
    };
    let arg = unique_sleep();
    for key in ["a", "b", "c"] {
        tracker
            .spawn(key, sh(&format!("sleep {arg} & wait")))
            .await
            .unwrap();
    }
    assert_eq!(cells(), 3);
    tracker.spawn("quick", Command::new("true")).await.unwrap();
    status_until(&tracker, "quick exited", |status| {
        status.processes["quick"].state.has_exited()
    })
    .await;
    eventually("quick's cgroup is gone once it exited", || cells() == 3).await;
    tracker
        .stop_process("a", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(cells(), 2, "a's cgroup is gone");
    tracker.cleanup_all(Duration::from_secs(5)).await.unwrap();
    assert_eq!(cells(), 0, "none left after cleanup_all");
    tracker
        .spawn("d", sh(&format!("sleep {arg}")))
        .await
        .unwrap();
    tracker.shutdown().await;
    assert!(!dir.exists(), "the tracker's cgroup is gone after shutdown");
    assert!(running_with_arg(&arg).is_empty());
}

#[actix_rt::test]
#[ignore = "needs the memory, pids and cpu controllers delegated to the program's cgroup"]
async fn limits_are_written_to_the_processes_cgroup() {
    let tracker = tracker_with(Containment::Cgroup);
    let options = SpawnOptions::default()
        .memory_max(64 << 20)
        .pids_max(8)
        .cpu_max(CpuMax::new(10_000, 100_000));
    let mut sleeper = Command::new("sleep");
    sleeper.arg(unique_sleep());
    tracker
        .spawn_with("limited", sleeper, options)
        .await
        .unwrap();
    let status = tracker.status().await.unwrap();
    let Contained::Cgroup(path) = &status.processes["limited"].containment else {
        panic!("not in a cgroup");
    };
    let read = |file: &str| std::fs::read_to_string(path.join(file)).unwrap();
    assert_eq!(read("memory.max").trim(), (64_u64 << 20).to_string());
    assert_eq!(read("pids.max").trim(), "8");
    assert_eq!(read("cpu.max").trim(), "10000 100000");
    assert!(
        status.processes["limited"]
            .usage
            .memory_peak_bytes
            .is_some()
    );
    tracker
        .stop_process("limited", Duration::from_secs(5))
        .await
        .unwrap();
}

#[actix_rt::test]
async fn a_child_already_reaped_is_handed_back_as_already_exited() {
    let tracker = Tracker::start_in(&actix::Arbiter::current());
    let mut child = tokio::process::Command::new("true").spawn().unwrap();
    child.wait().await.unwrap();
    let rejected = tracker.register_process("gone", child).await.unwrap_err();
    assert!(
        matches!(&rejected.error, TrackerError::AlreadyExited { key } if key == "gone"),
        "{}",
        rejected.error
    );
    assert!(rejected.item.is_some(), "the child is handed back");
    assert!(
        tracker.status().await.unwrap().processes.is_empty(),
        "nothing is tracked"
    );
}
