//! The process's Prometheus recorder: installed as the `metrics` facade's
//! global recorder by the first endpoint, rendered by every endpoint.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::ObserveError;

/// Bucket bounds of every `_seconds` histogram: from 100 µs to 30 s, for
/// waits on permits, pools and jobs.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often the recorder folds the waits observed into its histograms'
/// buckets (each scrape does too): between two, the observations are
/// kept one by one, so without it a program never scraped would keep
/// every wait it ever observed.
const UPKEEP: Duration = Duration::from_secs(5);

/// The handle of the recorder steward installed, or why it could not.
static RECORDER: OnceLock<Result<PrometheusHandle, ObserveError>> = OnceLock::new();

/// The handle of steward's Prometheus recorder, installing it as the
/// global recorder the first time.
///
/// A process has one global recorder, set once: if the program installed
/// another before, steward's cannot be, and `/metrics` would have nothing
/// to render.
pub(crate) fn handle() -> Result<PrometheusHandle, ObserveError> {
    RECORDER.get_or_init(install).clone()
}

fn install() -> Result<PrometheusHandle, ObserveError> {
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .map_err(|err| ObserveError::Recorder(err.to_string()))?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| ObserveError::RecorderTaken)?;
    // The recorder is the process's for good, and so is its upkeep: a
    // thread of its own, not a task of a System that may stop.
    let upkeep = handle.clone();
    let started = std::thread::Builder::new()
        .name("steward-metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(err) = started {
        tracing::warn!(target: "steward::observe", %err, "no upkeep thread: histograms are folded only when scraped");
    }
    // Help texts now, and waits observed from now on, not from the
    // first scrape.
    steward_actors::observe::describe();
    tracing::debug!(target: "steward::observe", "Prometheus recorder installed");
    Ok(handle)
}
