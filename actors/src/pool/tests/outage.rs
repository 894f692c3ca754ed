//! The circuit breaker through the pool: a create storm against a dead
//! backend is one attempt at a time, and opening the breaker ends every
//! retry schedule.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::{Instant, sleep};

use super::spawn_acquires;
use crate::UserError;
use crate::lifecycle::{State, StateView};
use crate::pool::{Manager, Pool, PoolError};
use crate::retry::RetryPolicy;

/// A backend that refuses a connection 10 ms after it was asked, and
/// counts how many connects run at once.
#[derive(Default)]
struct Backend {
    down: AtomicBool,
    in_flight: AtomicU32,
    /// The pool's state, read when a connect starts.
    pool: OnceLock<StateView>,
    /// Each connect: when it started, how many ran (itself included), and
    /// the pool's state then.
    connects: Mutex<Vec<(Instant, u32, State)>>,
}

struct Connecting<'a>(&'a Backend);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Manager for Arc<Backend> {
    type Resource = u32;

    async fn create(&self) -> Result<u32, UserError> {
        let running = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let _connecting = Connecting(self);
        let state = self
            .pool
            .get()
            .map_or(State::Initializing, StateView::state);
        self.connects
            .lock()
            .unwrap()
            .push((Instant::now(), running, state));
        sleep(Duration::from_millis(10)).await;
        if self.down.load(Ordering::SeqCst) {
            return Err(UserError::msg("connection refused"));
        }
        Ok(running)
    }
}

/// The failure 1: max 4, min 1, default options, backend down,
/// 50 tasks looping `acquire()`.
#[actix_rt::test]
async fn fifty_callers_against_a_dead_backend_send_one_create_at_a_time() {
    tokio::time::pause();
    let backend = Arc::new(Backend::default());
    let pool = Pool::builder(Arc::clone(&backend))
        .name("outage")
        .max_size(4)
        .min_size(1)
        .start()
        .await
        .unwrap();
    backend.pool.set(pool.view().clone()).ok();
    backend.down.store(true, Ordering::SeqCst);
    let first_unavailable: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (pool, first, stop) = (pool.clone(), first_unavailable.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    match pool.acquire().await {
                        Ok(guard) => {
                            sleep(Duration::from_millis(5)).await;
                            drop(guard);
                        }
                        Err(error) => {
                            if error.is_unavailable() {
                                first.get_or_init(Instant::now);
                            }
                            sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            })
        })
        .collect();
    // Virtual time: bounded at a minute of it.
    for _ in 0..60_000 {
        if first_unavailable.get().is_some() {
            break;
        }
        sleep(Duration::from_millis(1)).await;
    }
    let opened = *first_unavailable.get().unwrap();
    sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }

    let connects = backend.connects.lock().unwrap();
    for (at, running, state) in connects.iter() {
        if *state != State::Ready {
            assert_eq!(
                *running,
                1,
                "{running} connects at once in {state} at {:?}",
                at.duration_since(opened)
            );
        }
    }
    let window = opened..opened + Duration::from_secs(2);
    let in_window = connects
        .iter()
        .filter(|(at, ..)| window.contains(at))
        .count();
    assert!(
        in_window <= 5,
        "{in_window} connects in the 2 s after the first Unavailable"
    );
    assert!(in_window >= 1, "the breaker still probes");
    assert_eq!(pool.state(), State::Error);
}

/// Acquires backing off between attempts when the breaker opens get
/// `Unavailable` at once, and none of their retries runs.
#[actix_rt::test]
async fn opening_the_breaker_ends_every_retry_schedule() {
    tokio::time::pause();
    let backend = Arc::new(Backend::default());
    let pool = Pool::builder(Arc::clone(&backend))
        .max_size(4)
        .failure_threshold(3)
        .probe_interval(Duration::from_secs(60))
        .retry(
            RetryPolicy::default()
                .with_max_retries(20)
                .with_base_delay(Duration::from_secs(1))
                .with_multiplier(1.0)
                .with_jitter(0.0),
        )
        .start()
        .await
        .unwrap();
    backend.down.store(true, Ordering::SeqCst);
    let started = Instant::now();
    for task in spawn_acquires(&pool, 4) {
        let error = task.await.unwrap().unwrap_err();
        assert!(matches!(error, PoolError::Unavailable { .. }), "{error}");
    }
    let attempts = backend.connects.lock().unwrap().len();
    assert!(attempts <= 3 + 3, "{attempts} attempts");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "nobody waited out a retry schedule: {:?}",
        started.elapsed()
    );
    // No retry runs later either: only the probe, after its interval.
    sleep(Duration::from_secs(59)).await;
    assert_eq!(backend.connects.lock().unwrap().len(), attempts);
    assert_eq!(pool.state(), State::Error);
}

/// `Degraded` clears by itself after a quiet window, without a create.
#[actix_rt::test]
async fn degraded_clears_after_a_quiet_window() {
    tokio::time::pause();
    let backend = Arc::new(Backend::default());
    let pool = Pool::builder(Arc::clone(&backend))
        .max_size(2)
        .min_size(1)
        .retry(RetryPolicy::never())
        .quiet_window(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let idle = pool.acquire().await.unwrap();
    backend.down.store(true, Ordering::SeqCst);
    assert!(pool.acquire().await.is_err());
    assert_eq!(pool.state(), State::Degraded);
    drop(idle);
    backend.down.store(false, Ordering::SeqCst);
    // The idle resource serves everyone: no create is needed.
    for _ in 0..5 {
        sleep(Duration::from_secs(1)).await;
        drop(pool.acquire().await.unwrap());
    }
    assert_eq!(pool.state(), State::Degraded, "not quiet long enough yet");
    let connects = backend.connects.lock().unwrap().len();
    sleep(Duration::from_secs(6)).await;
    assert_eq!(pool.state(), State::Ready);
    assert_eq!(
        backend.connects.lock().unwrap().len(),
        connects,
        "no create needed"
    );
}
