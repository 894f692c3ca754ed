//! The circuit breaker alone, table-driven: each row walks a breaker
//! through steps from `Ready`, the state following every move it calls
//! for, as the keeper's lifecycle does.

use std::time::Duration;

use tokio::time::Instant;

use crate::lifecycle::State;
use crate::pool::breaker::{Admit, Breaker, Verdict};

/// One thing that happens to the breaker, and what it must answer.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// `admit` answers this.
    Admit(Admit),
    /// An attempt succeeds; the pool moves to this state, if anywhere.
    Succeed(Option<State>),
    /// An attempt fails.
    Fail(Option<State>),
    /// An attempt is cancelled.
    Cancel,
    /// Time passes, in milliseconds.
    Wait(u64),
    /// `probe_due_in` answers this, in milliseconds.
    ProbeDue(Option<u64>),
    /// `start_probe` moves to this state, if anywhere.
    StartProbe(Option<State>),
    /// `quiet` moves to this state, if anywhere.
    Quiet(Option<State>),
    /// Attempts in flight now.
    InFlight(u32),
}

use Step::*;

struct Row {
    name: &'static str,
    threshold: u32,
    steps: &'static [Step],
}

const PROBE_MS: u64 = 1_000;
const QUIET_MS: u64 = 10_000;

const ROWS: &[Row] = &[
    Row {
        name: "ready admits any number of attempts at once",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Admit(Admit::Start),
            Admit(Admit::Start),
            InFlight(3),
            Succeed(None),
            InFlight(2),
        ],
    },
    Row {
        name: "a failure degrades: one attempt at a time until a success",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Admit(Admit::Queue),
            Admit(Admit::Queue),
            InFlight(1),
            Succeed(Some(State::Ready)),
            Admit(Admit::Start),
            Admit(Admit::Start),
        ],
    },
    Row {
        name: "attempts count: threshold failures in a row open the breaker",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Fail(None),
            Admit(Admit::Start),
            Fail(Some(State::Error)),
            Admit(Admit::Refuse),
            InFlight(0),
        ],
    },
    Row {
        name: "a success in between starts the count again",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Fail(None),
            Admit(Admit::Start),
            Succeed(Some(State::Ready)),
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Fail(None),
            Admit(Admit::Start),
            Fail(Some(State::Error)),
        ],
    },
    Row {
        name: "attempts started while ready fail together: the breaker opens",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Admit(Admit::Start),
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Fail(None),
            Fail(Some(State::Error)),
            InFlight(0),
        ],
    },
    Row {
        name: "a threshold of one opens at the first failure",
        threshold: 1,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Error)),
            Admit(Admit::Refuse),
        ],
    },
    Row {
        name: "cancelled attempts are not judged",
        threshold: 2,
        steps: &[
            Admit(Admit::Start),
            Admit(Admit::Start),
            Cancel,
            InFlight(1),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Cancel,
            Admit(Admit::Start),
            Fail(Some(State::Error)),
        ],
    },
    Row {
        name: "open: a probe every probe interval, one at a time",
        threshold: 1,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Error)),
            ProbeDue(Some(PROBE_MS)),
            StartProbe(None),
            Wait(400),
            ProbeDue(Some(600)),
            Wait(600),
            ProbeDue(Some(0)),
            StartProbe(Some(State::Initializing)),
            InFlight(1),
            ProbeDue(None),
            Admit(Admit::Refuse),
            Fail(Some(State::Error)),
            ProbeDue(Some(PROBE_MS)),
            Wait(5_000),
            ProbeDue(Some(0)),
            StartProbe(Some(State::Initializing)),
            Succeed(Some(State::Ready)),
            ProbeDue(None),
            Admit(Admit::Start),
        ],
    },
    Row {
        name: "degraded clears after a quiet window, not before",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Quiet(None),
            Wait(QUIET_MS - 1),
            Quiet(None),
            Wait(1),
            Quiet(Some(State::Ready)),
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
        ],
    },
    Row {
        name: "an attempt in flight keeps degraded",
        threshold: 3,
        steps: &[
            Admit(Admit::Start),
            Fail(Some(State::Degraded)),
            Admit(Admit::Start),
            Wait(QUIET_MS * 2),
            Quiet(None),
            Cancel,
            Quiet(Some(State::Ready)),
        ],
    },
    Row {
        name: "quiet never moves a ready or open pool",
        threshold: 1,
        steps: &[
            Quiet(None),
            Admit(Admit::Start),
            Fail(Some(State::Error)),
            Wait(QUIET_MS * 2),
            Quiet(None),
        ],
    },
];

fn moved(verdict: Verdict, state: &mut State) -> Option<State> {
    match verdict {
        Verdict::Stay => None,
        Verdict::Move(to, reason) => {
            assert!(!reason.is_empty());
            assert!(state.can_transition_to(to), "{state} → {to}");
            *state = to;
            Some(to)
        }
    }
}

#[test]
fn the_breaker_table() {
    let start = Instant::now();
    for row in ROWS {
        let mut breaker = Breaker::new(
            row.threshold,
            Duration::from_millis(PROBE_MS),
            Duration::from_millis(QUIET_MS),
        );
        let mut state = State::Ready;
        let mut now = start;
        for (index, step) in row.steps.iter().enumerate() {
            let at = format!("{}, step {index} ({step:?}) in {state}", row.name);
            match *step {
                Admit(expected) => assert_eq!(breaker.admit(state), expected, "{at}"),
                Succeed(to) => {
                    assert_eq!(moved(breaker.succeeded(state), &mut state), to, "{at}");
                }
                Fail(to) => {
                    assert_eq!(moved(breaker.failed(state, now), &mut state), to, "{at}");
                }
                Cancel => breaker.cancelled(),
                Wait(ms) => now += Duration::from_millis(ms),
                ProbeDue(expected) => assert_eq!(
                    breaker.probe_due_in(state, now),
                    expected.map(Duration::from_millis),
                    "{at}"
                ),
                StartProbe(to) => {
                    assert_eq!(
                        moved(breaker.start_probe(state, now), &mut state),
                        to,
                        "{at}"
                    );
                }
                Quiet(to) => {
                    assert_eq!(moved(breaker.quiet(state, now), &mut state), to, "{at}");
                }
                InFlight(expected) => assert_eq!(breaker.in_flight(), expected, "{at}"),
            }
        }
    }
}
