//! [`Creates`]: the keeper's book of create requests: queued behind
//! the circuit breaker, with an attempt running, or backing off before
//! their next attempt.

use std::collections::{HashMap, VecDeque};

use actix::SpawnHandle;
use tokio::sync::oneshot;

use super::capacity::Reservation;
use super::error::PoolError;
use super::pooled::Pooled;
use crate::retry::Backoff;

/// Where a created resource (or why there is none) goes.
pub(crate) type Reply<R> = oneshot::Sender<Result<Pooled<R>, PoolError>>;

/// What a new resource is for.
#[derive(Debug)]
pub(crate) enum Purpose<R> {
    /// An acquire waits for it.
    Acquire(Reply<R>),
    /// `min_size`: it goes idle.
    Refill,
    /// The probe of a pool in `Error`: it goes idle.
    Probe,
}

/// One create operation: the room it fills, who waits for it, and its
/// retry schedule.
#[derive(Debug)]
pub(crate) struct CreateRequest<R> {
    pub(crate) reservation: Reservation,
    pub(crate) purpose: Purpose<R>,
    /// Made at the first failed attempt.
    pub(crate) backoff: Option<Backoff>,
}

impl<R> CreateRequest<R> {
    pub(crate) fn new(reservation: Reservation, purpose: Purpose<R>) -> Self {
        Self {
            reservation,
            purpose,
            backoff: None,
        }
    }

    /// The acquire it was for has gone: no reason to create.
    pub(crate) fn abandoned(&self) -> bool {
        matches!(&self.purpose, Purpose::Acquire(reply) if reply.is_closed())
    }

    pub(crate) fn is_probe(&self) -> bool {
        matches!(self.purpose, Purpose::Probe)
    }

    /// Ends the request with `error`; its room is free again.
    pub(crate) fn fail(self, error: PoolError) {
        if let Purpose::Acquire(reply) = self.purpose {
            // The acquire may have gone: then nobody needs to know.
            let _ = reply.send(Err(error));
        }
    }
}

/// Every create request the keeper holds, by where it is.
#[derive(Debug)]
pub(crate) struct Creates<R> {
    next_id: u64,
    /// Waiting for the breaker to admit an attempt, first come first.
    pub(crate) queued: VecDeque<CreateRequest<R>>,
    /// With an attempt running (the handle cancels it).
    pub(crate) running: HashMap<u64, (SpawnHandle, CreateRequest<R>)>,
    /// Waiting out a retry delay (the handle cancels the timer).
    pub(crate) backing_off: HashMap<u64, (SpawnHandle, CreateRequest<R>)>,
}

impl<R> Default for Creates<R> {
    fn default() -> Self {
        Self {
            next_id: 0,
            queued: VecDeque::new(),
            running: HashMap::new(),
            backing_off: HashMap::new(),
        }
    }
}

impl<R> Creates<R> {
    pub(crate) fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Takes every request with an attempt running, but the oldest
    /// (`keep_oldest`) or all.
    pub(crate) fn take_running(
        &mut self,
        keep_oldest: bool,
    ) -> Vec<(SpawnHandle, CreateRequest<R>)> {
        let mut ids: Vec<u64> = self.running.keys().copied().collect();
        ids.sort_unstable();
        let skip = usize::from(keep_oldest);
        ids.into_iter()
            .skip(skip)
            .filter_map(|id| self.running.remove(&id))
            .collect()
    }

    /// Takes every request backing off, with its timer.
    pub(crate) fn take_backing_off(&mut self) -> Vec<(SpawnHandle, CreateRequest<R>)> {
        self.backing_off.drain().map(|(_, entry)| entry).collect()
    }
}
