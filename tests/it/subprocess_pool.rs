//! The subprocess pool on real processes: the bound is checked from
//! `/proc`, and nothing is left after close.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use steward::Steward;
use steward::subprocess_pool::{SubprocessError, SubprocessPool};

use super::poll;

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

/// How long a child may take to be seen starting or gone.
const SEEN: Duration = Duration::from_secs(30);

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

    // Shared through the registry before it is started, as an
    // application-wide pool is.
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

    // 12 runs at once; each child counts itself in and out under a lock,
    // so the most alive at once is exact however loaded the machine is.
    let counts = tempfile::tempdir().unwrap();
    let script = counts.path().join("counted.sh");
    std::fs::write(
        &script,
        r#"d=$1
{ flock 9; n=$(( $(cat "$d/now") + 1 )); echo "$n" > "$d/now"
  [ "$n" -gt "$(cat "$d/most")" ] && echo "$n" > "$d/most"; } 9>"$d/lock"
sleep 0.2
{ flock 9; echo $(( $(cat "$d/now") - 1 )) > "$d/now"; } 9>"$d/lock"
"#,
    )
    .unwrap();
    std::fs::write(counts.path().join("now"), "0").unwrap();
    std::fs::write(counts.path().join("most"), "0").unwrap();
    let counted = || {
        let mut command = Command::new("sh");
        command.arg(&script).arg(counts.path());
        command
    };
    let outputs = steward
        .block_on(futures::future::join_all(
            (0..12).map(|_| shared.run(counted())),
        ))
        .unwrap();
    for output in outputs {
        let output = output.unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    let read = |name: &str| -> usize {
        std::fs::read_to_string(counts.path().join(name))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(read("now"), 0, "every child counted itself out");
    let most = read("most");
    assert!((1..=N).contains(&most), "{most} children alive at once");
    assert_eq!(shared.status().unwrap().in_use, 0);

    // Long runs, then close: every child is stopped.
    let held: Vec<_> = steward
        .block_on(futures::future::try_join_all(
            (0..N).map(|_| shared.spawn(sleep_for("300"))),
        ))
        .unwrap()
        .unwrap();
    poll::until("three long children run", SEEN, || alive("sp20/") == N);
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
    poll::until("a run waits", SEEN, || {
        shared.status().unwrap().waiting == 1
    });
    steward.block_on(shared.close()).unwrap();
    assert!(matches!(
        waiting.join().unwrap(),
        Err(SubprocessError::Closed { .. })
    ));
    poll::until("no child left", SEEN, || alive("sp20/") == 0);
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
    poll::until("the child runs", SEEN, || alive("sp-shutdown/") == 1);
    steward.shutdown_blocking().unwrap();
    assert!(pool.is_closed());
    poll::until("no child left", SEEN, || alive("sp-shutdown/") == 0);
    drop(child);
}
