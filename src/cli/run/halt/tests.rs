use super::*;

/// Runs jobs exiting with `exits` one at a time, as `-j1` does: the
/// number of jobs that ran and the exit status.
fn run(halt: &str, exits: &[i32]) -> (usize, u8) {
    let halt = Halt::parse(halt).unwrap();
    let mut tally = Tally::new(halt, Some(exits.len() as u64));
    for (ran, &exit) in exits.iter().enumerate() {
        tally.started();
        if tally.finished(Ending { exit, signal: 0 }).halt.is_some() {
            return (ran + 1, tally.exit_status());
        }
    }
    (exits.len(), tally.exit_status())
}

/// GNU parallel 20221122, `parallel -j1 -k --halt H sh -c 'exit $0' ::: 0 3 0 4 5 0`:
/// how many jobs ran and what it exited with.
#[test]
fn halts_and_exits_as_gnu_parallel() {
    let exits = [0, 3, 0, 4, 5, 0];
    for (halt, ran, status) in [
        ("never", 6, 3),
        ("0", 6, 3),
        ("now,fail=1", 2, 3),
        ("soon,fail=1", 2, 3),
        ("now,fail=2", 4, 2),
        ("soon,fail=2", 4, 2),
        ("now,success=1", 1, 0),
        ("soon,success=2", 3, 0),
        ("now,done=2", 2, 1),
        ("soon,done=2", 2, 1),
        ("now,fail=30%", 4, 34),
        ("soon,fail=50%", 5, 50),
        ("soon,success=50%", 6, 0),
        ("now,done=50%", 3, 17),
        ("2", 2, 3),
        ("1", 2, 3),
        ("-1", 1, 0),
        ("-2", 1, 0),
    ] {
        assert_eq!(run(halt, &exits), (ran, status), "--halt {halt}");
    }
}

#[test]
fn the_count_is_capped_at_101() {
    assert_eq!(run("never", &[1; 100]), (100, 100));
    assert_eq!(run("never", &[1; 150]), (150, 101));
    assert_eq!(run("soon,fail=200", &[2; 150]).1, 101);
}

#[test]
fn fail_1_gives_the_jobs_own_status() {
    let halt = Halt::parse("now,fail=1").unwrap();
    let mut tally = Tally::new(halt, None);
    tally.started();
    let verdict = tally.finished(Ending { exit: 0, signal: 9 });
    assert_eq!(verdict.halt, Some(When::Now));
    assert_eq!(verdict.note, Some("This job failed:"));
    assert_eq!(tally.exit_status(), 137, "128 + SIGKILL");
    let mut tally = Tally::new(halt, None);
    tally.finished(Ending {
        exit: -1,
        signal: 15,
    });
    assert_eq!(
        tally.exit_status(),
        255,
        "a timed-out job's -1, as exit(2) takes it"
    );
}

#[test]
fn a_success_goal_never_met_gives_the_failures() {
    assert_eq!(run("soon,success=3", &[1, 1, 0, 1]), (4, 3));
    assert_eq!(
        run("soon,success=90%", &[1, 1, 0, 1]),
        (4, 75),
        "the share that failed"
    );
}

#[test]
fn bad_values_are_refused() {
    for bad in [
        "",
        "later,fail=1",
        "now",
        "now,fail",
        "now,crash=1",
        "now,fail=x",
        "now,fail=-1",
        "now,fail=1.5",
    ] {
        assert!(Halt::parse(bad).is_err(), "{bad:?}");
    }
    let halt = Halt::parse("5%").unwrap().unwrap();
    assert_eq!(
        (halt.when, halt.why, halt.percent),
        (When::Soon, Why::Fail, true)
    );
    assert!(halt.needs_total());
    assert!(!Halt::parse("now,fail=3").unwrap().unwrap().needs_total());
}
