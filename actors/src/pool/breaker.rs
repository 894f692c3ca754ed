//! [`Breaker`]: the pool's circuit breaker, as pure logic.
//!
//! It judges create attempts against the pool's lifecycle state (the one
//! encoding of that state: the keeper's `Lifecycle`), and says which
//! move each outcome calls for:
//!
//! | state | create attempts | a failed attempt | a success |
//! |---|---|---|---|
//! | `Ready` | any number at once | `Degraded` (`Error` at the threshold) | stays |
//! | `Degraded` | one at a time | `Error` at `threshold` in a row | `Ready` |
//! | `Error` | none: acquires fail fast; a probe every `probe_interval` | — | — |
//! | `Initializing` (the probe runs) | the probe only | `Error` | `Ready` |
//!
//! `Degraded` also clears after `quiet_window` without a failure (a pool
//! that needs no new resource would otherwise stay `Degraded`). Attempts
//! count, not whole create operations: a retry is one more attempt.

use std::time::Duration;

use tokio::time::Instant;

use crate::lifecycle::State;

/// Whether a create attempt may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Start it (counted as in flight).
    Start,
    /// Another attempt is in flight and the pool is `Degraded`: wait for it.
    Queue,
    /// The breaker is open: fail with `Unavailable`.
    Refuse,
}

/// The move an outcome calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Stay where the pool is.
    Stay,
    /// Move to this state, for this reason.
    Move(State, String),
}

/// Counts create attempts and decides what the pool's state allows.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    probe_interval: Duration,
    quiet_window: Duration,
    consecutive_failures: u32,
    in_flight: u32,
    last_failure: Option<Instant>,
    next_probe: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, probe_interval: Duration, quiet_window: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            probe_interval,
            quiet_window,
            consecutive_failures: 0,
            in_flight: 0,
            last_failure: None,
            next_probe: None,
        }
    }

    /// Attempts running now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// Failed attempts since the last success.
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// May an attempt (not a probe) start in `state`? `Start` counts it.
    pub(crate) fn admit(&mut self, state: State) -> Admit {
        let admitted = match state {
            State::Ready => Admit::Start,
            State::Degraded if self.in_flight == 0 => Admit::Start,
            State::Degraded => Admit::Queue,
            _ => Admit::Refuse,
        };
        if admitted == Admit::Start {
            self.in_flight += 1;
        }
        admitted
    }

    /// In `Error`, how long until the next probe is due; `None` in any
    /// other state or while one runs.
    pub(crate) fn probe_due_in(&self, state: State, now: Instant) -> Option<Duration> {
        if state != State::Error || self.in_flight > 0 {
            return None;
        }
        Some(
            self.next_probe
                .map_or(Duration::ZERO, |at| at.saturating_duration_since(now)),
        )
    }

    /// Starts the probe if it is due: `Initializing` while it runs.
    pub(crate) fn start_probe(&mut self, state: State, now: Instant) -> Verdict {
        if self.probe_due_in(state, now) != Some(Duration::ZERO) {
            return Verdict::Stay;
        }
        self.in_flight += 1;
        Verdict::Move(State::Initializing, "probing with one create".to_owned())
    }

    /// An attempt succeeded.
    pub(crate) fn succeeded(&mut self, state: State) -> Verdict {
        self.end_attempt();
        self.consecutive_failures = 0;
        self.last_failure = None;
        self.next_probe = None;
        match state {
            State::Degraded => Verdict::Move(State::Ready, "a create succeeded".to_owned()),
            State::Initializing => {
                Verdict::Move(State::Ready, "the probe create succeeded".to_owned())
            }
            _ => Verdict::Stay,
        }
    }

    /// An attempt failed (an error, a timeout or a panic) at `now`.
    pub(crate) fn failed(&mut self, state: State, now: Instant) -> Verdict {
        self.end_attempt();
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure = Some(now);
        let open = match state {
            State::Initializing => true,
            State::Ready | State::Degraded => self.consecutive_failures >= self.threshold,
            _ => false,
        };
        if open {
            self.next_probe = Some(now + self.probe_interval);
            let reason = if state == State::Initializing {
                "the probe create failed".to_owned()
            } else {
                format!(
                    "{} create attempts in a row failed",
                    self.consecutive_failures
                )
            };
            return Verdict::Move(State::Error, reason);
        }
        if state == State::Ready {
            return Verdict::Move(State::Degraded, "a create attempt failed".to_owned());
        }
        Verdict::Stay
    }

    /// An attempt was cancelled (the pool closes, or the breaker left
    /// `Ready` and keeps one attempt only): no outcome to judge.
    pub(crate) fn cancelled(&mut self) {
        self.end_attempt();
    }

    /// Clears `Degraded` after `quiet_window` without a failed attempt.
    pub(crate) fn quiet(&mut self, state: State, now: Instant) -> Verdict {
        let quiet = self
            .last_failure
            .is_none_or(|at| now.saturating_duration_since(at) >= self.quiet_window);
        if state == State::Degraded && self.in_flight == 0 && quiet {
            self.consecutive_failures = 0;
            self.last_failure = None;
            return Verdict::Move(
                State::Ready,
                "no create attempt failed for the quiet window".to_owned(),
            );
        }
        Verdict::Stay
    }

    fn end_attempt(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }
}
