//! Descendants that try to leave: `setsid`, `env -i setsid`, a double
//! fork. Each is stopped by `stop_process` and by `cleanup_all`; the
//! process-group fallback cannot catch `env -i setsid` (documented), so
//! that one runs with cgroups only.

use super::*;

fn escape(kind: &str, arg: &str) -> CommandSpec {
    let script = match kind {
        "setsid" => format!("setsid sleep {arg} & echo ready; wait"),
        "env -i setsid" => format!("env -i setsid sleep {arg} & echo ready; wait"),
        // The middle shell exits at once: the sleep is orphaned.
        _ => format!("sh -c 'sleep {arg} &'; echo ready; wait"),
    };
    let mut command = sh(&script);
    command.stdout(ChildIo::Piped);
    command
}

/// Starts the escape `kind` under `key`; returns once the escapee runs.
async fn start(tracker: &Tracker, key: &str, kind: &str, arg: &str) {
    let mut spawned = tracker.spawn_piped(key, escape(kind, arg)).await.unwrap();
    let mut ready = [0_u8; 6];
    tokio::io::AsyncReadExt::read_exact(spawned.stdout.as_mut().unwrap(), &mut ready)
        .await
        .unwrap();
    eventually(&format!("{kind}: the escapee runs"), || {
        running_with_arg(arg).len() == 1
    })
    .await;
    // setsid: wait until it has left the leader's session and group.
    let escapee = running_with_arg(arg)[0];
    if kind != "double fork" {
        eventually(&format!("{kind}: it left the group"), || {
            os::stat(escapee).is_some_and(|stat| stat.pgrp == escapee)
        })
        .await;
    }
}

fn kinds(containment: Containment) -> Vec<&'static str> {
    match containment {
        Containment::ProcessGroup => vec!["setsid", "double fork"],
        _ => vec!["setsid", "env -i setsid", "double fork"],
    }
}

both_containments!(
    every_escape_is_stopped_by_stop_process,
    every_escape_is_stopped_by_cleanup_all,
);

async fn every_escape_is_stopped_by_stop_process(containment: Containment) {
    let tracker = tracker_with(containment);
    for kind in kinds(containment) {
        let arg = unique_sleep();
        start(&tracker, kind, kind, &arg).await;
        let outcome = tracker
            .stop_process(kind, Duration::from_secs(5))
            .await
            .unwrap();
        assert_ne!(outcome.ending, Ending::Killed, "{kind}: {outcome:?}");
        eventually(&format!("{kind}: nothing survives"), || {
            running_with_arg(&arg).is_empty()
        })
        .await;
    }
}

async fn every_escape_is_stopped_by_cleanup_all(containment: Containment) {
    let tracker = tracker_with(containment);
    let mut args = Vec::new();
    for kind in kinds(containment) {
        let arg = unique_sleep();
        start(&tracker, kind, kind, &arg).await;
        args.push(arg);
    }
    let report = tracker.cleanup_all(Duration::from_secs(10)).await.unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.stopped_gracefully.len(), args.len(), "{report:?}");
    for arg in args {
        assert!(running_with_arg(&arg).is_empty(), "sleep {arg} survives");
    }
}
