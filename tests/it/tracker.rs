//! The tracker through the facade, with the program itself as the subject:
//! this test binary re-runs itself as "the program" (`TRACKER_HELPER`
//! selects what it does), tracks a tree with every kind of escapee, and
//! then returns, panics, aborts, or is sent SIGKILL, SIGTERM or SIGINT: in
//! every case nothing of the tree survives it by more than 2 s. Under both
//! containments; the cgroup ones need a writable cgroup v2 (root), as CI
//! has (`.ci/run` runs them with `--ignored`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::Signal;
use steward::Steward;
use steward::tracker::Containment;

use super::poll;

/// `<containment>:<what>:<sleep argument>`.
const HELPER: &str = "TRACKER_HELPER";

/// A `sleep` duration no other process uses.
fn unique_sleep() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("2{:05}{n:04}", std::process::id() % 100_000)
}

fn stat_field(pid: u32, index: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(index).map(str::to_owned)
}

/// Live (not zombie) processes with `arg` among their arguments.
fn running_with_arg(arg: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat_field(pid, 0).is_some_and(|state| state != "Z")
                && std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                    cmdline
                        .split(|&b| b == 0)
                        .any(|word| word == arg.as_bytes())
                })
        })
        .collect()
}

/// Zombies whose parent is `parent`.
fn zombies_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            stat_field(pid, 0).as_deref() == Some("Z")
                && stat_field(pid, 1).is_some_and(|ppid| ppid == parent.to_string())
        })
        .collect()
}

fn containment(name: &str) -> Containment {
    match name {
        "cgroup" => Containment::Cgroup,
        _ => Containment::ProcessGroup,
    }
}

/// The tree every death test tracks: in-group children, a `setsid`
/// escapee, a double fork and (cgroup only: the fallback's documented
/// limit) an `env -i setsid` escapee; how many `sleep`s it runs.
fn tree(containment: Containment, arg: &str) -> (Command, usize) {
    let mut script =
        format!("sleep {arg} & sleep {arg} & setsid sleep {arg} & sh -c 'sleep {arg} &';");
    let mut count = 4;
    if containment == Containment::Cgroup {
        script.push_str(&format!(" env -i setsid sleep {arg} &"));
        count += 1;
    }
    script.push_str(" wait");
    let mut command = Command::new("sh");
    // Not on our stdout: the parent reads it until it closes.
    command.args(["-c", &script]).stdout(Stdio::null());
    (command, count)
}

#[test]
#[ignore = "the helper program of the tracker tests; they run it"]
fn helper_process() {
    let Ok(spec) = std::env::var(HELPER) else {
        return;
    };
    let mut parts = spec.splitn(3, ':');
    let (kind, what, arg) = (
        containment(parts.next().unwrap_or_default()),
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let steward = Steward::builder()
        .shutdown_timeout(Duration::from_secs(20))
        .tracker_containment(kind)
        .start()
        .unwrap();
    steward.block_on(steward.handle_signals()).unwrap().unwrap();
    match what.as_str() {
        "zombies" => return stop_a_hundred_trees(&steward, &arg),
        "orphans" => return orphans_of_our_own_children(&steward, &arg),
        "after-shutdown" => {
            steward.shutdown_blocking().unwrap();
            println!("READY");
            std::thread::sleep(Duration::from_secs(60));
            return;
        }
        _ => {}
    }
    let (tree, count) = tree(kind, &arg);
    steward
        .block_on(steward.tracker().spawn("tree", tree))
        .unwrap()
        .unwrap();
    poll::until("the tree runs", Duration::from_secs(30), || {
        running_with_arg(&arg).len() == count
    });
    println!("READY");
    match what.as_str() {
        "return" => {} // dropping the last Steward shuts it down
        "panic" => {
            // Unwinding would drop the last Steward and shut down cleanly;
            // keep one alive so only the watchdog can save the tree.
            std::mem::forget(steward.clone());
            panic!("the helper panics on purpose")
        }
        "abort" => std::process::abort(),
        // Waits for the parent's signal.
        _ => std::thread::sleep(Duration::from_secs(60)),
    }
}

/// Starts the helper with `spec`; returns it once it printed READY (or
/// ended), with the thread draining its stdout, and whether it was READY.
fn start_helper(spec: &str) -> (std::process::Child, std::thread::JoinHandle<usize>, bool) {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "tracker::helper_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(helper.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("READY"));
    // Keep reading: a closed pipe would fail the helper's own output.
    let drain = std::thread::spawn(move || lines.count());
    (helper, drain, ready)
}

fn signal(child: &std::process::Child, signal: Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
}

/// Runs the helper as a program that tracks a tree and then ends as
/// `death` says; nothing of the tree survives it by more than 2 s.
/// Returns its exit status.
fn program_dies(containment: &str, death: &str) -> std::process::ExitStatus {
    let arg = unique_sleep();
    let (mut helper, drain, ready) = start_helper(&format!("{containment}:{death}:{arg}"));
    // READY comes once the whole tree runs (the helper checks); after it,
    // a returning or panicking helper may already be gone, its tree too.
    assert!(ready, "{death}: the helper got its tree running");
    match death {
        "kill" => signal(&helper, Signal::SIGKILL),
        "term" => signal(&helper, Signal::SIGTERM),
        "int" => signal(&helper, Signal::SIGINT),
        _ => {}
    }
    let status = helper.wait().unwrap();
    let _ = drain.join();
    poll::until(
        &format!("{containment} {death}: nothing of the tree survives"),
        Duration::from_secs(2),
        || running_with_arg(&arg).is_empty(),
    );
    status
}

macro_rules! deaths {
    ($module:ident, $containment:literal $(, $ignore:literal)?) => {
        mod $module {
            use std::os::unix::process::ExitStatusExt;

            use super::program_dies;

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_a_normal_return() {
                assert_eq!(program_dies($containment, "return").code(), Some(0));
            }

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_a_panic() {
                // The test harness's exit code for a failed test.
                assert_eq!(program_dies($containment, "panic").code(), Some(101));
            }

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_an_abort() {
                assert_eq!(program_dies($containment, "abort").signal(), Some(6));
            }

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_sigkill() {
                assert_eq!(program_dies($containment, "kill").signal(), Some(9));
            }

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_sigterm() {
                assert_eq!(program_dies($containment, "term").code(), Some(143));
            }

            #[test]
            $(#[ignore = $ignore])?
            fn nothing_survives_sigint() {
                assert_eq!(program_dies($containment, "int").code(), Some(130));
            }
        }
    };
}

deaths!(process_group, "process-group");
deaths!(cgroup, "cgroup", "needs a writable cgroup v2 (root)");

/// In the helper: 100 trees started and stopped; then no zombie of ours
/// is left (the tracker's own are reaped by tokio; with process groups,
/// adopted orphans by the tracker's housekeeping).
fn stop_a_hundred_trees(steward: &Steward, arg: &str) {
    let tracker = steward.tracker();
    for i in 0..100 {
        let key = format!("tree-{i}");
        let mut tree = Command::new("sh");
        tree.args([
            "-c",
            &format!("sleep {arg} & setsid sleep {arg} & sh -c 'sleep {arg} &'; echo ready; wait"),
        ])
        .stdout(Stdio::piped());
        steward
            .block_on(async {
                let mut spawned = tracker.spawn_piped(key.clone(), tree).await.unwrap();
                let mut ready = [0_u8; 6];
                tokio::io::AsyncReadExt::read_exact(spawned.stdout.as_mut().unwrap(), &mut ready)
                    .await
                    .unwrap();
                tracker
                    .stop_process(&key, Duration::from_secs(5))
                    .await
                    .unwrap();
            })
            .unwrap();
    }
    let left: Vec<String> = running_with_arg(arg)
        .into_iter()
        .map(|pid| {
            format!(
                "{pid} ppid {:?} pgrp {:?} {:?} marked {}",
                stat_field(pid, 1),
                stat_field(pid, 2),
                std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default(),
                std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.windows(17).any(|w| w == b"_STEWARD_TRACKED_"))
            )
        })
        .collect();
    assert!(left.is_empty(), "nothing of any tree lives: {left:?}");
    let me = std::process::id();
    // Failed below, with the zombies named.
    let _ = poll::some(Duration::from_secs(10), || {
        zombies_of(me).is_empty().then_some(())
    });
    let zombies: Vec<String> = zombies_of(me)
        .into_iter()
        .map(|pid| {
            format!(
                "{pid} pgrp {:?} sid {:?}",
                stat_field(pid, 2),
                stat_field(pid, 3)
            )
        })
        .collect();
    assert!(zombies.is_empty(), "zombies of ours: {zombies:?}");
    println!("ZOMBIES 0");
}

/// In the helper: the application's own, untracked children leave
/// orphans; with cgroups the program is no subreaper, so they go to init
/// and none becomes a zombie of ours.
fn orphans_of_our_own_children(steward: &Steward, arg: &str) {
    // A tracker is running (with its watchdog) while this happens.
    let mut tracked = Command::new("sleep");
    tracked.arg(arg);
    steward
        .block_on(steward.tracker().spawn("tracked", tracked))
        .unwrap()
        .unwrap();
    let orphan = format!("0.0{arg}");
    for _ in 0..20 {
        let status = Command::new("sh")
            .args(["-c", &format!("sleep {orphan} & exit 0")])
            .status()
            .unwrap();
        assert!(status.success());
    }
    poll::until("the orphans have exited", Duration::from_secs(10), || {
        running_with_arg(&orphan).is_empty()
    });
    let zombies = zombies_of(std::process::id());
    assert!(zombies.is_empty(), "zombies of ours: {zombies:?}");
    println!("ZOMBIES 0");
}

fn helper_succeeds(spec: &str) {
    let (mut helper, drain, _) = start_helper(spec);
    let status = helper.wait().unwrap();
    let _ = drain.join();
    assert!(status.success(), "{spec}: {status}");
}

#[test]
fn a_hundred_tree_stops_leave_no_zombie_process_group() {
    helper_succeeds(&format!("process-group:zombies:{}", unique_sleep()));
}

#[test]
#[ignore = "needs a writable cgroup v2 (root)"]
fn a_hundred_tree_stops_leave_no_zombie_cgroup() {
    helper_succeeds(&format!("cgroup:zombies:{}", unique_sleep()));
}

#[test]
#[ignore = "needs a writable cgroup v2 (root)"]
fn orphans_of_the_applications_own_children_leave_no_zombie() {
    helper_succeeds(&format!("cgroup:orphans:{}", unique_sleep()));
}

/// After steward's shutdown, SIGINT and SIGTERM end the program as if
/// steward had never caught them.
#[test]
fn signals_after_shutdown_take_their_default_action() {
    use std::os::unix::process::ExitStatusExt;
    for (sent, number) in [(Signal::SIGINT, 2), (Signal::SIGTERM, 15)] {
        let (mut helper, drain, ready) = start_helper("process-group:after-shutdown:0");
        assert!(ready, "the helper shut steward down");
        signal(&helper, sent);
        let status = helper.wait().unwrap();
        let _ = drain.join();
        assert_eq!(status.signal(), Some(number), "{sent}: {status}");
    }
}

/// A panic that tokio or `catch_unwind` catches kills nothing.
#[test]
fn a_caught_panic_kills_nothing() {
    let steward = Steward::builder().start().unwrap();
    let arg = unique_sleep();
    let mut sleeper = Command::new("sleep");
    sleeper.arg(&arg);
    steward
        .block_on(async {
            steward.tracker().spawn("sleeper", sleeper).await.unwrap();
            let joined = tokio::spawn(async { panic!("a task panics") }).await;
            assert!(joined.unwrap_err().is_panic());
        })
        .unwrap();
    let caught = std::panic::catch_unwind(|| panic!("caught in place"));
    assert!(caught.is_err());
    std::thread::spawn(|| panic!("a thread panics"))
        .join()
        .unwrap_err();
    poll::until("the sleeper runs", Duration::from_secs(30), || {
        running_with_arg(&arg).len() == 1
    });
    // Give a wrongly placed kill its chance: the status goes through the
    // tracker's mailbox, behind anything a panic could have queued.
    let status = steward
        .block_on(steward.tracker().status())
        .unwrap()
        .unwrap();
    assert!(!status.processes["sleeper"].state.has_exited());
    assert_eq!(running_with_arg(&arg).len(), 1, "the sleeper still runs");
    steward.shutdown_blocking().unwrap();
    assert!(running_with_arg(&arg).is_empty(), "stopped by the shutdown");
}
