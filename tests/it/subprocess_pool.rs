//! The subprocess pool on real processes: the bound is checked from
//! `/proc`, and nothing is left after close.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use steward::Steward;
use steward::subprocess_pool::{SubprocessError, SubprocessPool};

/// Live processes this test binary's trackers marked with a key under
/// `prefix`.
fn alive(prefix: &str) -> usize {
    let needle = format!("_STEWARD_TRACKED_{}_", std::process::id());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let running = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            });
            running
                && std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| {
                    env.split(|&b| b == 0).any(|var| {
                        let var = String::from_utf8_lossy(var);
                        var.starts_with(&needle)
                            && var
                                .split_once('=')
                                .is_some_and(|(_, key)| key.starts_with(prefix))
                    })
                })
        })
        .count()
}

fn poll_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn sleep_for(seconds: &str) -> Command {
    let mut command = Command::new("sleep");
    command.arg(seconds);
    command
}

// 20
#[test]
fn subprocess_pool_runs_at_most_n_children_at_once_and_none_are_left_after_close() {
    const N: usize = 3;
    let steward = Steward::builder().start().unwrap();

    // Shared through the registry before it is started, as the seed's
    // application-wide pool.
    let pool = SubprocessPool::new("sp20", N);
    steward
        .block_on(steward.registry().register(Arc::new(pool.clone())))
        .unwrap()
        .unwrap();
    let shared = steward.registry().resolve::<SubprocessPool>().unwrap();
    let early = steward.block_on(shared.run(Command::new("true"))).unwrap();
    assert!(
        matches!(early, Err(SubprocessError::NotStarted { .. })),
        "{early:?}"
    );
    steward
        .block_on(shared.start(steward.tracker(), steward.arbiter()))
        .unwrap()
        .unwrap();

    // 12 runs at once; a sampler counts live children from /proc.
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (most, done) = (most.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                most.fetch_max(alive("sp20/"), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let outputs = steward
        .block_on(futures::future::join_all(
            (0..12).map(|_| shared.run(sleep_for("0.2"))),
        ))
        .unwrap();
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    for output in outputs {
        assert!(output.unwrap().status.success());
    }
    let most = most.load(Ordering::SeqCst);
    assert!((1..=N).contains(&most), "{most} children alive at once");
    assert_eq!(shared.status().unwrap().in_use, 0);

    // Long runs, then close: every child is stopped.
    let held: Vec<_> = steward
        .block_on(futures::future::try_join_all(
            (0..N).map(|_| shared.spawn(sleep_for("300"))),
        ))
        .unwrap()
        .unwrap();
    poll_until("three long children run", || alive("sp20/") == N);
    let waiting = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(shared.run(Command::new("true")))
        })
    };
    poll_until("a run waits", || shared.status().unwrap().waiting == 1);
    steward.block_on(shared.close()).unwrap();
    assert!(matches!(
        waiting.join().unwrap(),
        Err(SubprocessError::Closed { .. })
    ));
    poll_until("no child left", || alive("sp20/") == 0);
    drop(held);
    let late = steward.block_on(shared.run(Command::new("true"))).unwrap();
    assert!(
        matches!(late, Err(SubprocessError::Closed { .. })),
        "{late:?}"
    );
    steward.shutdown_blocking().unwrap();
    assert_eq!(alive("sp20/"), 0);
}

#[test]
fn a_subprocess_pool_started_by_steward_is_closed_at_shutdown() {
    let steward = Steward::builder().start().unwrap();
    let pool = steward
        .block_on(steward.start_subprocess_pool("sp-shutdown", 2))
        .unwrap()
        .unwrap();
    let child = steward
        .block_on(pool.spawn(sleep_for("300")))
        .unwrap()
        .unwrap();
    poll_until("the child runs", || alive("sp-shutdown/") == 1);
    steward.shutdown_blocking().unwrap();
    assert!(pool.is_closed());
    poll_until("no child left", || alive("sp-shutdown/") == 0);
    drop(child);
}
