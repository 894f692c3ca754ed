//! What one health check came to, and what the keeper does about it.
//!
//! Pure logic: [`CheckCounter::judge`] turns a check's outcome into a
//! state move, so every case is tested without an actor.

use crate::State;

use super::Health;

/// How one health check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckOutcome {
    /// The check returned a verdict.
    Verdict(Health),
    /// The check returned an error another check might not see.
    Failed(String),
    /// The check returned an error marked fatal.
    Fatal(String),
    /// The check outlived its timeout and was dropped.
    TimedOut,
    /// The check panicked.
    Panicked(String),
}

impl CheckOutcome {
    /// The verdict a caller of an on-demand check gets.
    pub(crate) fn health(&self) -> Health {
        match self {
            CheckOutcome::Verdict(health) => *health,
            _ => Health::Unhealthy,
        }
    }
}

/// The move a check calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Stay where the resource is.
    Stay,
    /// Move to `Ready` or `Degraded`, with a reason.
    Move(State, String),
    /// Move to `Error` and start recovering, with a reason.
    Fail(String),
}

/// Consecutive failed checks, against the threshold that makes them an
/// error.
#[derive(Debug, Clone)]
pub(crate) struct CheckCounter {
    threshold: u32,
    consecutive_failures: u32,
}

impl CheckCounter {
    pub(crate) fn new(threshold: u32) -> Self {
        Self {
            threshold: threshold.max(1),
            consecutive_failures: 0,
        }
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    pub(crate) fn reset(&mut self) {
        self.consecutive_failures = 0;
    }

    /// Judges one outcome while the resource is in `state` (`Ready` or
    /// `Degraded`).
    pub(crate) fn judge(&mut self, state: State, outcome: &CheckOutcome) -> Verdict {
        let failure = match outcome {
            CheckOutcome::Verdict(Health::Healthy) => {
                self.consecutive_failures = 0;
                return towards(state, State::Ready, "health check passed");
            }
            CheckOutcome::Verdict(Health::Degraded) => {
                self.consecutive_failures = 0;
                return towards(state, State::Degraded, "health check reports degraded");
            }
            CheckOutcome::Fatal(error) => {
                return Verdict::Fail(format!("health check failed fatally: {error}"));
            }
            CheckOutcome::Panicked(message) => {
                return Verdict::Fail(format!("health check panicked: {message}"));
            }
            CheckOutcome::Verdict(Health::Unhealthy) => "health check reports unhealthy".to_owned(),
            CheckOutcome::Failed(error) => format!("health check failed: {error}"),
            CheckOutcome::TimedOut => "health check timed out".to_owned(),
        };
        self.consecutive_failures += 1;
        if self.consecutive_failures >= self.threshold {
            Verdict::Fail(format!(
                "{failure} ({} consecutive failures)",
                self.consecutive_failures
            ))
        } else {
            towards(state, State::Degraded, failure)
        }
    }
}

fn towards(state: State, target: State, reason: impl Into<String>) -> Verdict {
    if state == target {
        Verdict::Stay
    } else {
        Verdict::Move(target, reason.into())
    }
}
