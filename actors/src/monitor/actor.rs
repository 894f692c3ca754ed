//! The `MonitorActor` and its messages.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use actix::fut::wrap_future;
use actix::{
    ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Message, Recipient,
    ResponseFuture, SpawnHandle,
};
use tokio::sync::{broadcast, watch};

use super::alert::{Alert, Level};
use super::availability::Availability;
use super::error::MonitorError;
use super::evaluator::Evaluator;
use super::psi::{PsiTrigger, Watcher};
use super::readings::Reading;
use super::sampler::Sampler;
use crate::Shutdown;
use crate::panic_message::panic_message;

/// Takes a fresh reading now; replies with it once it is published.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "Result<Arc<Reading>, MonitorError>")]
pub struct Refresh;

/// Sends every later [`Alert`] to `0` too (until it disconnects).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SubscribeAlerts(pub Recipient<Alert>);

/// A PSI trigger fired (sent by the PSI thread).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct PressureStall {
    /// The trigger.
    pub trigger: PsiTrigger,
    /// When the kernel signalled it (monotonic).
    pub at: Instant,
    /// The same, on the wall clock.
    pub taken_at: SystemTime,
}

/// The channels the actor publishes to and the handle reads from.
#[derive(Debug)]
pub(crate) struct Outlets {
    pub(crate) readings: watch::Sender<Option<Arc<Reading>>>,
    pub(crate) availability: watch::Sender<Arc<Availability>>,
    pub(crate) alerts: broadcast::Sender<Alert>,
}

/// The actor behind [`Monitor`](super::Monitor): owns the sampler, the
/// levels and the subscribers; samples every interval on a blocking
/// thread and publishes each reading to the handle's cache.
pub struct MonitorActor {
    sampler: Arc<Mutex<Sampler>>,
    evaluator: Evaluator,
    outlets: Outlets,
    recipients: Vec<Recipient<Alert>>,
    interval: Duration,
    /// A periodic sample is in flight: the next tick skips.
    /// When the sample in flight started, if one is.
    sampling: Option<Instant>,
    /// The timer that clears pressure levels whose hold ran out.
    pressure_timer: Option<SpawnHandle>,
    /// The newest sample applied: an older one finishing late is not.
    last_applied: u64,
    /// Dropping it ends the PSI thread.
    _psi: Option<Watcher>,
}

impl std::fmt::Debug for MonitorActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorActor")
            .field("interval", &self.interval)
            .field("last_applied", &self.last_applied)
            .field("recipients", &self.recipients.len())
            .finish_non_exhaustive()
    }
}

/// How long `refresh` waits for a reading at least (twice the interval
/// when that is longer).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

impl MonitorActor {
    pub(crate) fn new(
        evaluator: Evaluator,
        outlets: Outlets,
        interval: Duration,
        psi: Option<Watcher>,
    ) -> Self {
        Self {
            sampler: Arc::new(Mutex::new(Sampler::new())),
            evaluator,
            outlets,
            recipients: Vec::new(),
            interval,
            sampling: None,
            pressure_timer: None,
            last_applied: 0,
            _psi: psi,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let alerts = self.evaluator.expire_pressure(now, SystemTime::now());
        self.publish(alerts);
        self.start_sample(ctx);
    }

    /// Starts a sample unless one is in flight: samples never overlap, so
    /// a burst of refreshes and ticks shares one.
    fn start_sample(&mut self, ctx: &mut Context<Self>) {
        if let Some(started) = self.sampling {
            // A sample stuck this long is a stuck `statvfs` (a dead network
            // file system): say so rather than go quietly stale.
            if started.elapsed() > self.interval.saturating_mul(2) {
                tracing::warn!(target: "steward::monitor", stuck_for = ?started.elapsed(), "a sample has not returned; readings are stale");
            }
            return;
        }
        self.sampling = Some(Instant::now());
        let sampled = wrap_future(sample(Arc::clone(&self.sampler)));
        ctx.spawn(sampled.map(|result, act: &mut Self, _| {
            act.sampling = None;
            match result {
                Ok(reading) => {
                    act.apply(reading);
                }
                Err(err) => {
                    tracing::warn!(target: "steward::monitor", %err, "sample failed");
                }
            }
        }));
    }

    /// Judges and publishes `reading` unless a newer one was.
    fn apply(&mut self, reading: Reading) -> Arc<Reading> {
        let reading = Arc::new(reading);
        if reading.sequence <= self.last_applied {
            return reading;
        }
        self.last_applied = reading.sequence;
        let alerts = self.evaluator.observe(&reading);
        self.outlets
            .readings
            .send_replace(Some(Arc::clone(&reading)));
        self.publish(alerts);
        reading
    }

    fn stall(&mut self, stall: PressureStall, ctx: &mut Context<Self>) {
        let alert = self
            .evaluator
            .stall(&stall.trigger, stall.at, stall.taken_at);
        self.publish(alert.into_iter().collect());
        self.arm_pressure_timer(ctx);
    }

    /// Clears pressure levels when their holds run out: one timer, always
    /// set for the earliest hold left, re-armed after each expiry.
    fn arm_pressure_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.pressure_timer.take() {
            ctx.cancel_future(timer);
        }
        if let Some(expiry) = self.evaluator.next_pressure_expiry() {
            let wait = expiry.saturating_duration_since(Instant::now());
            self.pressure_timer = Some(ctx.run_later(wait, |act, ctx| {
                act.pressure_timer = None;
                let alerts = act
                    .evaluator
                    .expire_pressure(Instant::now(), SystemTime::now());
                act.publish(alerts);
                act.arm_pressure_timer(ctx);
            }));
        }
    }

    /// Republishes the availability and sends `alerts` to every subscriber.
    fn publish(&mut self, alerts: Vec<Alert>) {
        let availability = self.evaluator.availability();
        if **self.outlets.availability.borrow() != availability {
            self.outlets
                .availability
                .send_replace(Arc::new(availability));
        }
        if alerts.is_empty() {
            return;
        }
        self.recipients.retain(Recipient::connected);
        for alert in alerts {
            if alert.level > alert.previous && alert.level == Level::Critical {
                tracing::warn!(target: "steward::monitor", %alert, "resource critical");
            } else {
                tracing::info!(target: "steward::monitor", %alert, "resource level changed");
            }
            for recipient in &self.recipients {
                recipient.do_send(alert.clone());
            }
            // No receiver is not an error: nobody listens yet.
            let _ = self.outlets.alerts.send(alert);
        }
    }
}

/// Takes a reading on a blocking thread.
async fn sample(sampler: Arc<Mutex<Sampler>>) -> Result<Reading, MonitorError> {
    tokio::task::spawn_blocking(move || {
        // A panic inside sysinfo poisons the lock; the sampler is still
        // usable, and the next sample refreshes everything.
        sampler
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sample()
    })
    .await
    .map_err(|err| MonitorError::Sample {
        message: if err.is_panic() {
            panic_message(&*err.into_panic())
        } else {
            "the sampling task was cancelled".to_owned()
        },
    })
}

impl actix::Actor for MonitorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.interval, Self::tick);
    }
}

impl Handler<Refresh> for MonitorActor {
    type Result = ResponseFuture<Result<Arc<Reading>, MonitorError>>;

    /// Answers with the first reading published after the request: the
    /// sample in flight if it started after the last one applied, else a
    /// new one. Bounded, so a stuck `statvfs` cannot hang the caller.
    fn handle(&mut self, _: Refresh, ctx: &mut Self::Context) -> Self::Result {
        let after = self.last_applied;
        let mut readings = self.outlets.readings.subscribe();
        self.start_sample(ctx);
        let limit = REFRESH_TIMEOUT.max(self.interval.saturating_mul(2));
        Box::pin(async move {
            let fresh = readings.wait_for(|reading| {
                reading
                    .as_ref()
                    .is_some_and(|reading| reading.sequence > after)
            });
            match tokio::time::timeout(limit, fresh).await {
                Ok(Ok(reading)) => reading.clone().ok_or(MonitorError::Closed),
                Ok(Err(_)) => Err(MonitorError::Closed),
                Err(_) => Err(MonitorError::Sample {
                    message: format!("no reading within {limit:?}"),
                }),
            }
        })
    }
}

impl Handler<SubscribeAlerts> for MonitorActor {
    type Result = ();

    fn handle(&mut self, message: SubscribeAlerts, _: &mut Self::Context) {
        self.recipients.push(message.0);
    }
}

impl Handler<PressureStall> for MonitorActor {
    type Result = ();

    fn handle(&mut self, message: PressureStall, ctx: &mut Self::Context) {
        self.stall(message, ctx);
    }
}

impl Handler<Shutdown> for MonitorActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Self::Context) {
        self.recipients.clear();
        self._psi = None;
        ctx.stop();
    }
}
