//! `--serve`: the run's jobs as the `jobs` section of `/status`, which
//! the dashboard shows as its jobs panel: how many in all (once known),
//! running, done, failed, and the time left.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use steward::Steward;

use super::progress::Counts;

/// The run's figures, updated by the runner, read by each `/status`.
#[derive(Debug, Clone)]
pub(crate) struct Board(Arc<Mutex<Figures>>);

/// Where the run is.
#[derive(Debug, Clone, Copy)]
struct Figures {
    started: Instant,
    /// All jobs, once known.
    total: Option<u64>,
    running: u64,
    /// Jobs that ended and succeeded.
    done: u64,
    failed: u64,
}

impl Figures {
    /// The time left, at the pace of the jobs finished so far: unknown
    /// before the first ends or while the number of jobs is.
    fn eta(&self, now: Instant) -> Option<Duration> {
        let finished = self.done + self.failed;
        let left = self.total?.checked_sub(finished)?;
        if finished == 0 {
            return None;
        }
        let per_job = now.duration_since(self.started).as_secs_f64() / finished as f64;
        Some(Duration::from_secs_f64(per_job * left as f64))
    }

    fn json(&self, now: Instant) -> serde_json::Value {
        serde_json::json!({
            "total": self.total,
            "running": self.running,
            "done": self.done,
            "failed": self.failed,
            "eta_seconds": self.eta(now).map(|eta| eta.as_secs()),
        })
    }
}

impl Board {
    /// A board of a run starting now, published as `steward`'s `jobs`
    /// section.
    pub(crate) fn publish(steward: &Steward) -> Self {
        let board = Self(Arc::new(Mutex::new(Figures {
            started: Instant::now(),
            total: None,
            running: 0,
            done: 0,
            failed: 0,
        })));
        let reading = board.clone();
        steward.publish_status("jobs", move || reading.figures().json(Instant::now()));
        board
    }

    fn figures(&self) -> Figures {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The run's counts now; `total` once known.
    pub(crate) fn update(&self, counts: Counts, failed: u64, total: Option<u64>) {
        let mut figures = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        figures.total = total.or(counts.total);
        figures.running = counts.running;
        figures.failed = failed;
        figures.done = counts.completed.saturating_sub(failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(total: Option<u64>, done: u64, failed: u64, started: Instant) -> Figures {
        Figures {
            started,
            total,
            running: 2,
            done,
            failed,
        }
    }

    #[test]
    fn the_time_left_follows_the_pace_of_the_jobs_finished() {
        let start = Instant::now();
        let now = start + Duration::from_secs(10);
        // 4 finished in 10 s, 6 left: 15 s.
        let eta = figures(Some(10), 3, 1, start).eta(now);
        assert_eq!(eta, Some(Duration::from_secs(15)));
        let json = figures(Some(10), 3, 1, start).json(now);
        assert_eq!(json["eta_seconds"], 15);
        assert_eq!(json["done"], 3);
        assert_eq!(json["failed"], 1);
        assert_eq!(json["running"], 2);
    }

    #[test]
    fn the_time_left_is_unknown_before_a_job_ends_or_without_a_total() {
        let start = Instant::now();
        let now = start + Duration::from_secs(10);
        assert_eq!(figures(Some(10), 0, 0, start).eta(now), None);
        assert_eq!(figures(None, 3, 0, start).eta(now), None);
        let json = figures(None, 3, 0, start).json(now);
        assert!(json["total"].is_null() && json["eta_seconds"].is_null());
    }
}
