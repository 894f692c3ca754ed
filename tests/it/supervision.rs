//! Supervision through the facade: real processes under a supervisor,
//! real files under a resource group, both on a `Steward`'s arbiter from
//! plain tokio code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use steward::group::ResourceGroup;
use steward::resource::{Resource, ResourceKeeper, RetryPolicy};
use steward::supervisor::{ChildSpec, Exit, Supervisor, SupervisorExit};
use steward::{State, Steward, UserError};

use super::poll;

const BOUND: Duration = Duration::from_secs(120);

#[tokio::test]
async fn a_child_process_failing_past_the_intensity_escalates() {
    let steward = Steward::builder().start().unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&runs);
    let supervisor = Supervisor::builder("jobs")
        .intensity(2, Duration::from_secs(600))
        .child(ChildSpec::task("failing-job", move |_stop| {
            let runs = Arc::clone(&counted);
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let status = tokio::process::Command::new("sh")
                    .args(["-c", "exit 3"])
                    .status()
                    .await?;
                Err(UserError::msg(format!("job exited with {status}")))
            }
        }))
        .start_in(steward.arbiter())
        .await
        .unwrap();
    let exit = tokio::time::timeout(BOUND, supervisor.exited())
        .await
        .unwrap();
    // The first run and two restarts are within the budget; the third
    // failure is one restart too many.
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    match exit {
        SupervisorExit::Escalated(reason) => assert!(reason.contains("failing-job"), "{reason}"),
        other => panic!("expected an escalation, got {other:?}"),
    }
    assert_eq!(supervisor.state(), State::Error);
    steward.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_supervised_task_is_restarted_after_its_process_is_killed() {
    let steward = Steward::builder().start().unwrap();
    let (pids, mut started) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let supervisor = Supervisor::builder("daemon")
        .child(ChildSpec::task("sleeper", move |mut stop| {
            let pids = pids.clone();
            async move {
                let mut child = tokio::process::Command::new("sleep")
                    .arg("300")
                    .kill_on_drop(true)
                    .spawn()?;
                if let Some(pid) = child.id() {
                    let _ = pids.send(pid);
                }
                tokio::select! {
                    status = child.wait() => Err(UserError::msg(format!("sleep ended: {}", status?))),
                    () = stop.requested() => Ok(()),
                }
            }
        }))
        .start_in(steward.arbiter())
        .await
        .unwrap();
    let mut next_pid = async || {
        tokio::time::timeout(BOUND, started.recv())
            .await
            .unwrap()
            .unwrap()
    };
    let first = next_pid().await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(first).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let restarted = next_pid().await;
    assert_ne!(first, restarted);
    let children = supervisor.children().await.unwrap();
    assert_eq!(children[0].restarts, 1);
    assert!(
        matches!(&children[0].last_exit, Some(Exit::Failed(reason)) if reason.contains("signal"))
    );

    supervisor.stop().await;
    // Stopping dropped the task's child (kill_on_drop): it dies. Polling
    // /proc is the only way to see another process die.
    poll::until_async("the sleeper gone with its supervisor", BOUND, || {
        std::future::ready(
            !Path::new(&format!("/proc/{restarted}")).exists() || is_zombie(restarted),
        )
    })
    .await;
    steward.shutdown().await.unwrap();
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| {
            status
                .lines()
                .any(|line| line.starts_with("State:") && line.contains('Z'))
        })
        .unwrap_or(true)
}

/// A resource that is a real file: created on initialize, removed on
/// cleanup. Its dependencies must exist when it starts, and its
/// dependents must be gone when it is cleaned up.
#[derive(Debug)]
struct Marker {
    path: PathBuf,
    requires: Vec<PathBuf>,
    required_by: Vec<PathBuf>,
}

impl Resource for Marker {
    async fn initialize(&self) -> Result<(), UserError> {
        for required in &self.requires {
            if !required.exists() {
                return Err(UserError::msg(format!("{} is not up", required.display())));
            }
        }
        tokio::fs::write(&self.path, b"up").await?;
        Ok(())
    }

    async fn cleanup(&self) -> Result<(), UserError> {
        for dependent in &self.required_by {
            if dependent.exists() {
                return Err(UserError::msg(format!(
                    "{} is still up",
                    dependent.display()
                )));
            }
        }
        tokio::fs::remove_file(&self.path).await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_group_of_files_comes_up_in_order_and_goes_away_in_reverse() {
    let steward = Steward::builder().start().unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("group-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| dir.join(name);
    let marker = |name: &str, requires: &[&str], required_by: &[&str]| {
        Arc::new(Marker {
            path: file(name),
            requires: requires.iter().map(|r| file(r)).collect(),
            required_by: required_by.iter().map(|r| file(r)).collect(),
        })
    };
    let db = marker("db", &[], &["cache", "api"]);
    let cache = marker("cache", &["db"], &["api"]);
    let api = marker("api", &["db", "cache"], &[]);
    let group = ResourceGroup::builder("files")
        .arbiter(steward.arbiter().clone())
        .resource("api", &["db", "cache"], move || {
            ResourceKeeper::builder_shared("api", Arc::clone(&api)).retry(RetryPolicy::never())
        })
        .resource("cache", &["db"], move || {
            ResourceKeeper::builder_shared("cache", Arc::clone(&cache)).retry(RetryPolicy::never())
        })
        .resource("db", &[], move || {
            ResourceKeeper::builder_shared("db", Arc::clone(&db)).retry(RetryPolicy::never())
        })
        .build()
        .unwrap();
    tokio::time::timeout(BOUND, group.initialize())
        .await
        .unwrap()
        .unwrap();
    for name in ["db", "cache", "api"] {
        assert!(file(name).exists(), "{name} is up");
    }
    tokio::time::timeout(BOUND, group.cleanup(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
    for name in ["db", "cache", "api"] {
        assert!(!file(name).exists(), "{name} is gone");
    }
    std::fs::remove_dir(&dir).unwrap();
    steward.shutdown().await.unwrap();
}
