//! The messages a [`MachineMonitor`] handles; its handlers only dispatch.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use actix::{Context, Handler, Message, Recipient, ResponseFuture};

use super::actor::MachineMonitor;
use super::alert::Alert;
use super::error::MonitorError;
use super::readings::Reading;
use super::trigger::PsiTrigger;
use crate::Shutdown;
use crate::config::Thresholds;

/// Takes a fresh reading now; replies with it once it is published.
#[derive(Debug, Clone, Copy, Default, Message)]
#[rtype(result = "Result<Arc<Reading>, MonitorError>")]
pub struct Refresh;

/// Judges readings against new thresholds from the next sample on (they
/// are validated by [`Monitor::set_thresholds`](super::Monitor::set_thresholds)).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct SetThresholds(pub Thresholds);

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

impl Handler<Refresh> for MachineMonitor {
    type Result = ResponseFuture<Result<Arc<Reading>, MonitorError>>;

    fn handle(&mut self, _: Refresh, ctx: &mut Context<Self>) -> Self::Result {
        self.refresh(ctx)
    }
}

impl Handler<SetThresholds> for MachineMonitor {
    type Result = ();

    fn handle(&mut self, SetThresholds(thresholds): SetThresholds, _: &mut Context<Self>) {
        self.set_thresholds(thresholds);
    }
}

impl Handler<SubscribeAlerts> for MachineMonitor {
    type Result = ();

    fn handle(&mut self, SubscribeAlerts(recipient): SubscribeAlerts, _: &mut Context<Self>) {
        self.subscribe(recipient);
    }
}

impl Handler<PressureStall> for MachineMonitor {
    type Result = ();

    fn handle(&mut self, stall: PressureStall, ctx: &mut Context<Self>) {
        self.stall(&stall.trigger, stall.at, stall.taken_at, ctx);
    }
}

impl Handler<Shutdown> for MachineMonitor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.shut_down(ctx);
    }
}
