//! The `MachineMonitor`: its state, and the logic its messages dispatch to.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::fut::wrap_future;
use actix::{
    ActorContext, ActorFutureExt, AsyncContext, Context, Recipient, ResponseFuture, SpawnHandle,
};
use tokio::sync::{broadcast, watch};

use super::alert::{Alert, Level};
use super::availability::Availability;
use super::error::MonitorError;
use super::evaluator::Evaluator;
use super::psi::Watcher;
use super::readings::Reading;
use super::sampler::Sampled;
use super::sampling::SamplingThread;
use super::trigger::PsiTrigger;
use crate::config::Thresholds;

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
pub struct MachineMonitor {
    sampler: SamplingThread,
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

impl std::fmt::Debug for MachineMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineMonitor")
            .field("interval", &self.interval)
            .field("last_applied", &self.last_applied)
            .field("recipients", &self.recipients.len())
            .finish_non_exhaustive()
    }
}

/// How long `refresh` waits for a reading at least (twice the interval
/// when that is longer).
const REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

impl MachineMonitor {
    pub(crate) fn new(
        sampler: SamplingThread,
        evaluator: Evaluator,
        outlets: Outlets,
        interval: Duration,
        psi: Option<Watcher>,
    ) -> Self {
        Self {
            sampler,
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
        let sampled = wrap_future(self.sampler.sample());
        ctx.spawn(sampled.map(|result, act: &mut Self, ctx| {
            act.sampling = None;
            match result {
                Ok(sampled) => {
                    act.apply(sampled, ctx);
                }
                Err(err) => {
                    tracing::warn!(target: "steward::monitor", %err, "sample failed");
                }
            }
        }));
    }

    /// Judges and publishes a reading unless a newer one was.
    fn apply(&mut self, Sampled { reading, at }: Sampled, ctx: &mut Context<Self>) {
        if reading.sequence <= self.last_applied {
            return;
        }
        self.last_applied = reading.sequence;
        let alerts = self.evaluator.observe(&reading, at);
        self.outlets.readings.send_replace(Some(Arc::new(reading)));
        self.publish(alerts);
        // The sampled stalls may have raised (or extended) a pressure hold.
        self.arm_pressure_timer(ctx);
    }

    pub(super) fn stall(
        &mut self,
        trigger: &PsiTrigger,
        at: Instant,
        taken_at: SystemTime,
        ctx: &mut Context<Self>,
    ) {
        let alert = self.evaluator.stall(trigger, at, taken_at);
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

impl MachineMonitor {
    /// Answers with the first reading published after the request: the
    /// sample in flight if it started after the last one applied, else a
    /// new one. Bounded, so a stuck `statvfs` cannot hang the caller.
    pub(super) fn refresh(
        &mut self,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<Arc<Reading>, MonitorError>> {
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

    /// Judges readings against `thresholds` from the next sample on.
    pub(super) fn set_thresholds(&mut self, thresholds: Thresholds) {
        tracing::info!(target: "steward::monitor", "thresholds changed; applied from the next sample");
        self.evaluator.set_thresholds(thresholds);
    }

    /// Sends every later alert to `recipient` too.
    pub(super) fn subscribe(&mut self, recipient: Recipient<Alert>) {
        self.recipients.push(recipient);
    }

    /// Lets go of the subscribers and the PSI thread, and stops.
    pub(super) fn shut_down(&mut self, ctx: &mut Context<Self>) {
        self.recipients.clear();
        self._psi = None;
        ctx.stop();
    }
}

impl actix::Actor for MachineMonitor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.tick(ctx);
        ctx.run_interval(self.interval, Self::tick);
    }
}
