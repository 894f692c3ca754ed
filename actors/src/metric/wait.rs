//! [`WaitHistogram`]: how long acquires waited, observed where a wait
//! ends.
//!
//! Every other figure is read from a status just before a scrape; a
//! histogram of waits cannot be: a status holds how many wait now, not
//! how long each one waited. So the wait is observed by the acquire that
//! waited, at the cost of nothing where it matters:
//!
//! - an acquire that finds a permit free never reaches it (it returns
//!   before the wait path, and reads no clock);
//! - until a recorder is announced ([`start`], which
//!   [`observe::describe`](crate::observe::describe) calls), a wait that
//!   ends pays one relaxed load of a flag;
//! - once announced, the first wait of each histogram registers its
//!   handle with the recorder (one lookup, its label bounded by its cap),
//!   and each wait after that is one observation into the handle (for
//!   steward's Prometheus recorder, a lock-free push that the recorder's
//!   upkeep folds into the buckets).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Kind, Metric};

/// Whether waits are observed: off until a recorder is announced.
static OBSERVING: AtomicBool = AtomicBool::new(false);

/// Announces that a recorder is installed: waits are observed from now on.
/// Announced before the recorder is installed, the handles registered
/// meanwhile are the facade's no-op ones, and stay so.
pub(crate) fn start() {
    OBSERVING.store(true, Ordering::Release);
}

/// Whether waits are observed (a recorder was announced): a caller that
/// reads a clock only for the histogram asks first.
pub(crate) fn observing() -> bool {
    OBSERVING.load(Ordering::Relaxed)
}

/// One histogram series of waits (one drive's, one pool's), registered
/// with the recorder at its first observed wait.
pub(crate) struct WaitHistogram {
    metric: &'static Metric,
    handle: OnceLock<::metrics::Histogram>,
}

impl std::fmt::Debug for WaitHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitHistogram")
            .field("metric", &self.metric.name)
            .field("registered", &self.handle.get().is_some())
            .finish()
    }
}

impl WaitHistogram {
    /// A series of `metric`, a histogram with one label.
    pub(crate) const fn new(metric: &'static Metric) -> Self {
        debug_assert!(matches!(metric.kind, Kind::Histogram));
        Self {
            metric,
            handle: OnceLock::new(),
        }
    }

    /// Observes a wait of `waited`; `label` names the series the first
    /// time (it is bounded by the label's cap then).
    pub(crate) fn observe(&self, waited: Duration, label: impl FnOnce() -> String) {
        if !OBSERVING.load(Ordering::Relaxed) {
            return;
        }
        self.handle
            .get_or_init(|| self.metric.histogram(&[&label()]))
            .record(waited.as_secs_f64());
    }
}
