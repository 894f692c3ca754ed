//! Operation statistics: what [`Managed::stats`](super::Managed::stats)
//! reports, and the recorder behind it (no lock on a name seen before).
//!
//! Memory is bounded whatever the callers do: each operation name keeps
//! counters plus its last [`OperationStats::WINDOW`] latencies; at most
//! [`OperationStats::MAX_NAMES`] names are kept (each cut to
//! [`OperationStats::MAX_NAME_BYTES`]), and calls under any further name
//! are counted together in [`OperationStats::other`]. Names may come from
//! users, so they can become metric labels without growing without bound.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::window::{LatencySummary, LatencyWindow, WINDOW};

/// A managed resource's operations, per operation name.
///
/// Counters count since the keeper started and never go down, so
/// [`observe::record_resources`](crate::observe::record_resources)
/// publishes them as Prometheus counters as they are
/// (`steward_resource_operations_total{resource, operation}`,
/// `steward_resource_operation_failures_total`, `…_timeouts_total`,
/// `…_retries_total`, `…_disconnects_total`,
/// `steward_resource_reconnects_total{resource}`) and the percentiles as
/// gauges, one per percentile
/// (`steward_resource_operation_duration_seconds{…, percentile}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OperationStats {
    /// The resource's name.
    pub resource: String,
    /// Reconnects the keeper started after a disconnect.
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

/// Slots of the name table: twice the names kept, so probes stay short.
const SLOTS: usize = 2 * OperationStats::MAX_NAMES;

/// One name and its counters.
#[derive(Debug)]
struct Named {
    name: Box<str>,
    counters: Counters,
}

/// Every name's counters, shared by the handles of one resource.
///
/// The names live in a fixed open-addressing table whose slots are only
/// ever filled, never emptied or moved: a lookup is a hash and a few
/// loads, with no lock and no write that operations on other threads
/// would contend on.
#[derive(Debug)]
pub(super) struct Recorder {
    slots: Box<[OnceLock<Box<Named>>]>,
    hasher: RandomState,
    /// The names added, at most `MAX_NAMES`; held while adding one.
    adding: Mutex<usize>,
    other: Counters,
}

impl Recorder {
    pub(super) fn new() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            hasher: RandomState::new(),
            adding: Mutex::new(0),
            other: Counters::new(),
        }
    }

    /// Records one call of `name`. A name seen before costs a lookup;
    /// only a name's first call allocates.
    pub(super) fn record(&self, name: &str, call: &CallRecord) {
        let name = bounded(name);
        match self.find(name) {
            Some(counters) => counters.record(call),
            None => self.record_first(name, call),
        }
    }

    /// The slots `name` may be in, in probe order.
    fn probe(&self, name: &str) -> impl Iterator<Item = &OnceLock<Box<Named>>> {
        // The remainder is below `SLOTS`, so the cast loses nothing.
        let start = (self.hasher.hash_one(name) % SLOTS as u64) as usize;
        self.slots[start..].iter().chain(&self.slots[..start])
    }

    /// A slot is filled before any later one in a name's probe order, so
    /// the first empty slot ends the search.
    fn find(&self, name: &str) -> Option<&Counters> {
        for slot in self.probe(name) {
            let named = slot.get()?;
            if *named.name == *name {
                return Some(&named.counters);
            }
        }
        None
    }

    /// Adds `name` if there is room, under the lock that serializes
    /// additions (lookups never take it).
    #[cold]
    fn record_first(&self, name: &str, call: &CallRecord) {
        let mut names = crate::sync::lock(&self.adding);
        // Added meanwhile by another first call?
        if let Some(counters) = self.find(name) {
            counters.record(call);
            return;
        }
        if *names == OperationStats::MAX_NAMES {
            self.other.record(call);
            return;
        }
        let slot = self.probe(name).find(|slot| slot.get().is_none());
        let added = slot.map(|slot| {
            slot.get_or_init(|| {
                Box::new(Named {
                    name: name.into(),
                    counters: Counters::new(),
                })
            })
        });
        match added {
            Some(named) => {
                *names += 1;
                named.counters.record(call);
            }
            // Unreachable: there are more slots than names kept.
            None => self.other.record(call),
        }
    }

    pub(super) fn snapshot(&self, resource: &str, reconnects: u64) -> OperationStats {
        OperationStats {
            resource: resource.to_owned(),
            reconnects,
            operations: self
                .slots
                .iter()
                .filter_map(OnceLock::get)
                .map(|named| (named.name.to_string(), named.counters.snapshot()))
                .collect(),
            other: self.other.snapshot(),
        }
    }

    /// The bytes the recorder holds on the heap.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        let named = self.slots.iter().filter_map(OnceLock::get).map(|named| {
            std::mem::size_of::<Named>() + named.name.len() + named.counters.window.heap_bytes()
        });
        std::mem::size_of_val(&*self.slots) + self.other.window.heap_bytes() + named.sum::<usize>()
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
