//! The pure parts of operations: the reconnect decision, percentiles, the
//! bounded recorder.

use std::time::Duration;

use super::super::reconnect::{Decision, decide};
use super::super::stats::{CallRecord, OperationStats, Recorder};
use super::super::window::{WINDOW, percentile};
use crate::State;

#[test]
fn a_disconnect_report_reconnects_only_the_current_connection() {
    use Decision::*;
    let table = [
        (State::Ready, 3, 3, Start),
        (State::Degraded, 3, 3, Start),
        (State::Ready, 2, 3, Replaced),
        (State::Degraded, 1, 3, Replaced),
        (State::Initializing, 3, 3, Join),
        (State::Initializing, 1, 3, Join),
        (State::Error, 3, 3, NotReady(State::Error)),
        (State::Uninitialized, 0, 0, NotReady(State::Uninitialized)),
        (State::Closing, 3, 3, Closed),
        (State::Closed, 3, 3, Closed),
    ];
    for (state, reported, current, expected) in table {
        assert_eq!(
            decide(state, reported, current),
            expected,
            "{state} reported {reported} current {current}"
        );
    }
}

#[test]
fn percentiles_are_nearest_rank() {
    let sorted: Vec<u64> = (1..=100).collect();
    assert_eq!(percentile(&sorted, 50), Some(50));
    assert_eq!(percentile(&sorted, 95), Some(95));
    assert_eq!(percentile(&sorted, 99), Some(99));
    assert_eq!(percentile(&sorted, 100), Some(100));
    assert_eq!(percentile(&[7], 1), Some(7));
    assert_eq!(percentile(&[7], 99), Some(7));
    assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    assert_eq!(percentile(&[], 50), None);
}

fn call(micros: u64) -> CallRecord {
    CallRecord {
        latency: Duration::from_micros(micros),
        attempts: 1,
        ..CallRecord::default()
    }
}

#[test]
fn counts_are_what_was_recorded() {
    let recorder = Recorder::new();
    for micros in 1..=100 {
        recorder.record("get", &call(micros));
    }
    recorder.record(
        "put",
        &CallRecord {
            attempts: 3,
            disconnects: 2,
            reconnects: 1,
            failed: true,
            timed_out: true,
            ..call(5)
        },
    );
    let stats = recorder.snapshot("db", 1);
    assert_eq!(stats.resource, "db");
    assert_eq!(stats.reconnects, 1);
    let get = &stats.operations["get"];
    assert_eq!(
        (get.operations, get.failures, get.retries, get.disconnects),
        (100, 0, 0, 0)
    );
    let latency = get.latency.unwrap();
    assert_eq!(latency.samples, 100);
    assert!((latency.p50_seconds - 50e-6).abs() < 1e-9, "{latency:?}");
    assert!((latency.p99_seconds - 99e-6).abs() < 1e-9, "{latency:?}");
    let put = &stats.operations["put"];
    assert_eq!(
        (
            put.operations,
            put.failures,
            put.timeouts,
            put.retries,
            put.disconnects,
            put.reconnects
        ),
        (1, 1, 1, 2, 2, 1)
    );
    assert_eq!(stats.other.operations, 0);
    assert!(stats.other.latency.is_none());
}

#[test]
fn memory_is_bounded_over_a_million_operations_and_many_names() {
    let recorder = Recorder::new();
    for micros in 0..WINDOW as u64 {
        recorder.record("hot", &call(micros));
    }
    let settled = recorder.heap_bytes();
    for n in 0..1_000_000_u64 {
        recorder.record("hot", &call(n % 1000));
    }
    assert_eq!(recorder.heap_bytes(), settled, "a million calls grew it");
    let stats = recorder.snapshot("db", 0);
    assert_eq!(
        stats.operations["hot"].operations,
        1_000_000 + WINDOW as u64
    );
    assert_eq!(stats.operations["hot"].latency.unwrap().samples, WINDOW);

    // Names from users: only the first MAX_NAMES are kept, the rest are
    // counted together; long names are cut.
    for n in 0..10_000 {
        recorder.record(&format!("fetch_{n}"), &call(1));
    }
    let stats = recorder.snapshot("db", 0);
    assert_eq!(stats.operations.len(), OperationStats::MAX_NAMES);
    assert_eq!(
        stats.other.operations,
        10_000 - (OperationStats::MAX_NAMES as u64 - 1)
    );
    let kept = recorder.heap_bytes();
    for n in 0..10_000 {
        recorder.record(&format!("fetch_{n}"), &call(1));
    }
    assert_eq!(
        recorder.heap_bytes(),
        kept,
        "names past the cap take no memory"
    );
}

#[test]
fn names_first_seen_on_many_threads_at_once_are_counted_exactly() {
    let recorder = Recorder::new();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for round in 0..50 {
                    for n in 0..100 {
                        recorder.record(&format!("name_{n}"), &call(round));
                    }
                }
            });
        }
    });
    let stats = recorder.snapshot("db", 0);
    assert_eq!(stats.operations.len(), OperationStats::MAX_NAMES);
    let kept: u64 = stats.operations.values().map(|c| c.operations).sum();
    assert_eq!(kept + stats.other.operations, 4 * 50 * 100);
    for counts in stats.operations.values() {
        assert_eq!(counts.operations, 4 * 50, "a name split in two slots");
    }
}

#[test]
fn long_names_are_cut_at_a_character_boundary() {
    let recorder = Recorder::new();
    let long = "é".repeat(OperationStats::MAX_NAME_BYTES);
    recorder.record(&long, &call(1));
    recorder.record(&format!("{long}more"), &call(1));
    let stats = recorder.snapshot("db", 0);
    let (name, counts) = stats.operations.iter().next().unwrap();
    assert!(name.len() <= OperationStats::MAX_NAME_BYTES);
    assert!(long.starts_with(name.as_str()));
    assert_eq!(counts.operations, 2, "both cut to the same name");
}

#[test]
fn stats_serialize() {
    let recorder = Recorder::new();
    recorder.record("get", &call(3));
    let json = serde_json::to_value(recorder.snapshot("db", 2)).unwrap();
    assert_eq!(json["reconnects"], 2);
    assert_eq!(json["operations"]["get"]["operations"], 1);
    assert!(json["operations"]["get"]["latency"]["p95_seconds"].is_f64());
    let back: OperationStats = serde_json::from_value(json).unwrap();
    assert_eq!(back, recorder.snapshot("db", 2));
}
