//! Linux pressure stall information (PSI) triggers registered with the
//! kernel, and the thread that waits for them to fire.
//!
//! A trigger is registered by writing `some <stall µs> <window µs>` (or
//! `full ...`) to the opened file; the kernel then flags the file with
//! `POLLPRI` at most once per window while tasks stalled at least that
//! long within the window. One thread waits on every trigger with
//! `poll(2)`: it sleeps until an event or until the monitor drops its end
//! of a pipe, so it costs nothing while nothing happens.
//!
//! Without `CAP_SYS_RESOURCE`, Linux 5.19+ accepts only windows that are
//! multiples of 2 s; a refused trigger is retried with its window rounded
//! up and its stall share kept ([`PsiStatus::active`] shows what was
//! armed). The monitor also judges every trigger, as configured, on the
//! sampled `total` counters (see `stalls`), so a coarse kernel window
//! does not delay detection beyond about one sample interval.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::PollFlags;

use super::error::MonitorError;
use super::trigger::{PsiStatus, PsiTrigger};
use crate::priority_watch::{self, PriorityWatch};

/// Registered trigger files, waiting for a watcher.
#[derive(Debug)]
pub(crate) struct Registered {
    pub(crate) status: PsiStatus,
    files: Vec<(PsiTrigger, File)>,
}

/// Opens each trigger's pressure file and registers the trigger on it.
/// Where PSI is missing or not writable, says so once per process.
pub(crate) fn register(triggers: &[PsiTrigger]) -> Registered {
    let mut status = PsiStatus::default();
    let mut files = Vec::new();
    for trigger in triggers {
        match register_one(trigger).or_else(|err| register_unprivileged(trigger, err)) {
            Ok((armed, file)) => {
                status.active.push(armed);
                files.push((armed, file));
            }
            Err(err) => status.unavailable.push((*trigger, with_source(&err))),
        }
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    if !status.unavailable.is_empty() && !SAID.swap(true, Ordering::Relaxed) {
        let reasons: Vec<&str> = status
            .unavailable
            .iter()
            .map(|(_, why)| why.as_str())
            .collect();
        tracing::info!(target: "steward::monitor", ?reasons, "PSI triggers unavailable; relying on the sampled stall counters for those resources");
    }
    Registered { status, files }
}

/// The error and its causes, one line.
fn with_source(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// Without `CAP_SYS_RESOURCE` the kernel (5.19+) accepts only windows that
/// are whole multiples of 2 s, and checks them on its 2 s averaging
/// clock, not every tenth of a window: retries a refused trigger with its
/// window rounded up to that and its stall share kept.
fn register_unprivileged(
    trigger: &PsiTrigger,
    refused: MonitorError,
) -> Result<(PsiTrigger, File), MonitorError> {
    const STEP_MS: u128 = 2_000;
    let invalid = matches!(&refused, MonitorError::RegisterTrigger { source, .. }
        if source.raw_os_error() == Some(Errno::EINVAL as i32));
    let window_ms = trigger.window.as_millis();
    if !invalid || window_ms.is_multiple_of(STEP_MS) {
        return Err(refused);
    }
    let rounded = window_ms.div_ceil(STEP_MS) * STEP_MS;
    let window = Duration::from_millis(u64::try_from(rounded).unwrap_or(u64::MAX));
    let adjusted = PsiTrigger {
        window,
        stall: trigger
            .stall
            .mul_f64(window.as_secs_f64() / trigger.window.as_secs_f64()),
        ..*trigger
    };
    if adjusted.validate().is_err() {
        return Err(refused);
    }
    let armed = register_one(&adjusted).map_err(|_| refused)?;
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        tracing::info!(target: "steward::monitor", "PSI triggers need CAP_SYS_RESOURCE for windows under 2 s; using 2 s windows, so pressure is seen within about 2 s");
    }
    Ok(armed)
}

fn register_one(trigger: &PsiTrigger) -> Result<(PsiTrigger, File), MonitorError> {
    trigger.validate()?;
    let path = trigger.kind.path();
    let failed = |source: std::io::Error| MonitorError::RegisterTrigger {
        trigger: trigger.spec(),
        path: path.clone(),
        source: source.into(),
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(failed)?;
    // The kernel overwrites the last byte written with a NUL: send one.
    let mut spec = trigger.spec().into_bytes();
    spec.push(0);
    file.write_all(&spec).map_err(failed)?;
    Ok((*trigger, file))
}

/// Keeps the watcher thread alive; dropping it ends the thread.
pub(crate) type Watcher = PriorityWatch;

/// Starts the thread that waits on `registered`'s triggers and calls
/// `on_event` for each event. `None` when there is nothing to wait on or
/// the thread cannot start (said in a warning).
pub(crate) fn watch_triggers<F>(registered: Registered, on_event: F) -> Option<Watcher>
where
    F: Fn(PsiTrigger, Instant) + Send + 'static,
{
    if registered.files.is_empty() {
        return None;
    }
    let on_ready = move |trigger: &PsiTrigger, revents: PollFlags, at: Instant| {
        // A trigger the kernel dropped reports POLLERR (with POLLPRI).
        if revents.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            tracing::warn!(target: "steward::monitor", %trigger, "PSI trigger failed; relying on the sampled stall counters");
            return false;
        }
        if revents.contains(PollFlags::POLLPRI) {
            on_event(*trigger, at);
        }
        true
    };
    match priority_watch::spawn("steward-psi", registered.files, on_ready) {
        Ok(watch) => Some(watch),
        Err(err) => {
            tracing::warn!(target: "steward::monitor", %err, "cannot start the PSI thread; relying on the sampled stall counters");
            None
        }
    }
}
