//! Restart intensity: how many restarts a supervisor allows in a window.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// More than `max_restarts` restarts within `window` is an escalation.
#[derive(Debug, Clone)]
pub(crate) struct Intensity {
    max_restarts: u32,
    window: Duration,
    restarts: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max_restarts: u32, window: Duration) -> Self {
        Self {
            max_restarts,
            window,
            restarts: VecDeque::new(),
        }
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    fn forget_before(&mut self, now: Instant) {
        while let Some(first) = self.restarts.front() {
            if now.duration_since(*first) >= self.window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records a restart at `now`; `false` when it exceeds the budget.
    pub(crate) fn record(&mut self, now: Instant) -> bool {
        self.forget_before(now);
        self.restarts.push_back(now);
        self.restarts.len() <= self.max_restarts as usize
    }

    /// Whether no restart happened within the window before `now`.
    pub(crate) fn is_quiet(&mut self, now: Instant) -> bool {
        self.forget_before(now);
        self.restarts.is_empty()
    }
}
