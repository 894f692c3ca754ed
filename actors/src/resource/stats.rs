//! Operation statistics: what [`Managed::stats`](super::Managed::stats)
//! reports, and the lock-free recorder behind it.
//!
//! Memory is bounded whatever the callers do: each operation name keeps
//! counters plus its last [`OperationStats::WINDOW`] latencies; at most
//! [`OperationStats::MAX_NAMES`] names are kept (each cut to
//! [`OperationStats::MAX_NAME_BYTES`]), and calls under any further name
//! are counted together in [`OperationStats::other`]. Names may come from
//! users, so they can become metric labels without growing without bound.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use super::window::{LatencyWindow, WINDOW};

/// A managed resource's operations, per operation name.
///
/// Counters count since the supervisor started and never go down, so a
/// metrics exporter can publish them as Prometheus counters as they are
/// (`steward_resource_operations_total{resource, operation}`,
/// `…_failures_total`, `…_retries_total`, `…_disconnects_total`,
/// `steward_resource_reconnects_total{resource}`) and the percentiles as
/// a summary's quantiles (`steward_resource_operation_duration_seconds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationStats {
    /// The resource's name.
    pub resource: String,
    /// Reconnects the supervisor started after a disconnect.
    pub reconnects: u64,
    /// Per operation name (at most [`MAX_NAMES`](Self::MAX_NAMES)).
    pub operations: BTreeMap<String, OperationCounts>,
    /// Calls under names that came after the first
    /// [`MAX_NAMES`](Self::MAX_NAMES), counted together.
    pub other: OperationCounts,
}

impl OperationStats {
    /// Latencies kept per operation name: percentiles are over the most
    /// recent calls, this many at most.
    pub const WINDOW: usize = WINDOW;
    /// Distinct operation names kept.
    pub const MAX_NAMES: usize = 64;
    /// Bytes of a name kept; a longer one is cut at a character boundary.
    pub const MAX_NAME_BYTES: usize = 64;
}

/// The calls of one operation name (or of the names past the cap).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationCounts {
    /// Calls that ended, successfully or not. A call dropped before it
    /// ended is not counted.
    pub operations: u64,
    /// Calls that ended in an error (timeouts included).
    pub failures: u64,
    /// Calls that ran out of their `timeout`.
    pub timeouts: u64,
    /// Attempts after the first, over all calls.
    pub retries: u64,
    /// Attempts that failed because the connection was gone
    /// ([`Resource::is_disconnect`](super::Resource::is_disconnect)).
    pub disconnects: u64,
    /// Reconnects that a disconnect of this name started (concurrent
    /// operations share one reconnect: it counts for the first reporter).
    pub reconnects: u64,
    /// Latency of the last calls, whole calls with their retries; `None`
    /// before the first.
    pub latency: Option<LatencySummary>,
}

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

/// How one call went, as the recorder takes it.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CallRecord {
    pub(super) latency: Duration,
    pub(super) attempts: u32,
    pub(super) disconnects: u32,
    pub(super) reconnects: u32,
    pub(super) failed: bool,
    pub(super) timed_out: bool,
}

/// One name's counters; the window's cursor counts the calls.
#[derive(Debug)]
struct Counters {
    window: LatencyWindow,
    failures: AtomicU64,
    timeouts: AtomicU64,
    retries: AtomicU64,
    disconnects: AtomicU64,
    reconnects: AtomicU64,
}

impl Counters {
    fn new() -> Self {
        Self {
            window: LatencyWindow::new(),
            failures: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
        }
    }

    /// A success on the first attempt touches only the window.
    fn record(&self, call: &CallRecord) {
        self.window.record(call.latency);
        let add = |counter: &AtomicU64, n: u64| {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.retries, u64::from(call.attempts.saturating_sub(1)));
        add(&self.disconnects, u64::from(call.disconnects));
        add(&self.reconnects, u64::from(call.reconnects));
        add(&self.failures, u64::from(call.failed));
        add(&self.timeouts, u64::from(call.timed_out));
    }

    fn snapshot(&self) -> OperationCounts {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        OperationCounts {
            operations: self.window.recorded(),
            failures: read(&self.failures),
            timeouts: read(&self.timeouts),
            retries: read(&self.retries),
            disconnects: read(&self.disconnects),
            reconnects: read(&self.reconnects),
            latency: self.window.summary(),
        }
    }
}

/// Every name's counters, shared by the handles of one resource.
#[derive(Debug)]
pub(super) struct Recorder {
    names: DashMap<Box<str>, Counters>,
    /// Names admitted (or being admitted), at most `MAX_NAMES`.
    admitted: AtomicUsize,
    other: Counters,
}

impl Recorder {
    pub(super) fn new() -> Self {
        Self {
            names: DashMap::new(),
            admitted: AtomicUsize::new(0),
            other: Counters::new(),
        }
    }

    /// Records one call of `name`. A name seen before costs a map read;
    /// only a name's first call allocates.
    pub(super) fn record(&self, name: &str, call: &CallRecord) {
        let name = bounded(name);
        if let Some(counters) = self.names.get(name) {
            counters.record(call);
            return;
        }
        self.record_first(name, call);
    }

    #[cold]
    fn record_first(&self, name: &str, call: &CallRecord) {
        let admitted = self
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < OperationStats::MAX_NAMES).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            // Another caller may have admitted this very name meanwhile.
            match self.names.get(name) {
                Some(counters) => counters.record(call),
                None => self.other.record(call),
            }
            return;
        }
        match self.names.entry(name.into()) {
            dashmap::Entry::Occupied(entry) => {
                // Admitted by a concurrent first call: give the place back.
                self.admitted.fetch_sub(1, Ordering::AcqRel);
                entry.get().record(call);
            }
            dashmap::Entry::Vacant(entry) => entry.insert(Counters::new()).record(call),
        }
    }

    pub(super) fn snapshot(&self, resource: &str, reconnects: u64) -> OperationStats {
        OperationStats {
            resource: resource.to_owned(),
            reconnects,
            operations: self
                .names
                .iter()
                .map(|entry| (entry.key().to_string(), entry.value().snapshot()))
                .collect(),
            other: self.other.snapshot(),
        }
    }

    /// The bytes the recorder holds on the heap for names and windows
    /// (not the map's own table, which is bounded by the name cap too).
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.other.window.heap_bytes()
            + self
                .names
                .iter()
                .map(|entry| entry.key().len() + entry.value().window.heap_bytes())
                .sum::<usize>()
    }
}

/// `name` cut to at most `MAX_NAME_BYTES`, at a character boundary.
fn bounded(name: &str) -> &str {
    if name.len() <= OperationStats::MAX_NAME_BYTES {
        return name;
    }
    let mut end = OperationStats::MAX_NAME_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}
