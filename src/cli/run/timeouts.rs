//! `--timeout`: how long a job may run, fixed or (`N%`) a share of the
//! median run time of the jobs that succeeded so far, as GNU parallel
//! computes it (before the first success there is no limit).

use std::collections::VecDeque;
use std::time::Duration;

use super::settings::Timeout;

/// How many recent successes the median is taken over (GNU parallel's
/// remedian keeps 999 a level).
const WINDOW: usize = 999;

/// The time limit of a run's jobs.
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    policy: Timeout,
    /// Run times of recent successes, in seconds.
    recent: VecDeque<f64>,
    limit: Option<Duration>,
}

impl Timeouts {
    /// The limit `policy` sets.
    pub(crate) fn new(policy: Timeout) -> Self {
        let limit = match policy {
            Timeout::After(limit) => Some(limit),
            Timeout::OfMedian(_) => None,
        };
        Self {
            policy,
            recent: VecDeque::new(),
            limit,
        }
    }

    /// How long a job may run now (`None`: no limit yet).
    pub(crate) fn limit(&self) -> Option<Duration> {
        self.limit
    }

    /// A job succeeded after `runtime`.
    pub(crate) fn succeeded(&mut self, runtime: Duration) {
        let Timeout::OfMedian(share) = self.policy else {
            return;
        };
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(runtime.as_secs_f64());
        let mut sorted: Vec<f64> = self.recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[(sorted.len() - 1) / 2];
        self.limit = Duration::try_from_secs_f64(median * share).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_limit_stays() {
        let mut timeouts = Timeouts::new(Timeout::After(Duration::from_secs(3)));
        timeouts.succeeded(Duration::from_secs(100));
        assert_eq!(timeouts.limit(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_share_of_the_median_follows_the_successes() {
        let mut timeouts = Timeouts::new(Timeout::OfMedian(2.0));
        assert_eq!(timeouts.limit(), None, "no limit before a success");
        timeouts.succeeded(Duration::from_secs(1));
        assert_eq!(timeouts.limit(), Some(Duration::from_secs(2)));
        timeouts.succeeded(Duration::from_secs(10));
        timeouts.succeeded(Duration::from_secs(3));
        // Median of 1, 3, 10 is 3 (numerically: GNU parallel's sorts as
        // text, so 10 would sort before 3 there).
        assert_eq!(timeouts.limit(), Some(Duration::from_secs(6)));
        for _ in 0..2000 {
            timeouts.succeeded(Duration::from_millis(500));
        }
        assert_eq!(
            timeouts.limit(),
            Some(Duration::from_secs(1)),
            "recent successes count"
        );
    }
}
