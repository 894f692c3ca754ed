//! The latencies of an operation name's last calls, in a fixed ring, and
//! their percentiles.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Latency percentiles over a window of recent calls, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Calls in the window.
    pub samples: usize,
    /// The median.
    pub p50_seconds: f64,
    /// The 95th percentile.
    pub p95_seconds: f64,
    /// The 99th percentile.
    pub p99_seconds: f64,
    /// The slowest call in the window.
    pub max_seconds: f64,
}

/// Calls whose latency each operation name keeps: percentiles are over
/// these, the most recent ones.
pub(super) const WINDOW: usize = 1024;

/// A ring of the last [`WINDOW`] latencies, in nanoseconds, written
/// without a lock; its cursor is also the count of calls recorded.
#[derive(Debug)]
pub(super) struct LatencyWindow {
    samples: Box<[AtomicU64]>,
    recorded: AtomicU64,
}

impl LatencyWindow {
    pub(super) fn new() -> Self {
        Self {
            samples: (0..WINDOW).map(|_| AtomicU64::new(0)).collect(),
            recorded: AtomicU64::new(0),
        }
    }

    /// Records one call's latency.
    pub(super) fn record(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let index = self.recorded.fetch_add(1, Ordering::Relaxed);
        // `WINDOW` divides 2⁶⁴, so the ring wraps cleanly.
        let slot = (index % WINDOW as u64) as usize;
        self.samples[slot].store(nanos, Ordering::Relaxed);
    }

    /// Calls recorded so far.
    pub(super) fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    /// The window's percentiles; `None` before the first call. A call
    /// being recorded meanwhile may be missed or read as zero.
    pub(super) fn summary(&self) -> Option<LatencySummary> {
        let held = usize::try_from(self.recorded()).map_or(WINDOW, |n| n.min(WINDOW));
        let mut sorted: Vec<u64> = self.samples[..held]
            .iter()
            .map(|sample| sample.load(Ordering::Relaxed))
            .collect();
        sorted.sort_unstable();
        let seconds = |p| percentile(&sorted, p).map(|n| Duration::from_nanos(n).as_secs_f64());
        Some(LatencySummary {
            samples: held,
            p50_seconds: seconds(50)?,
            p95_seconds: seconds(95)?,
            p99_seconds: seconds(99)?,
            max_seconds: seconds(100)?,
        })
    }

    /// The bytes this window holds on the heap: fixed at creation.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.samples)
    }
}

/// The nearest-rank `p`th percentile (1–100) of `sorted`.
pub(super) fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}
