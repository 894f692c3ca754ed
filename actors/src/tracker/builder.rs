//! [`TrackerBuilder`]: the tracker's containment chosen, the tracker
//! started.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::{Actor, ArbiterHandle};

use super::ResourceTracker;
use super::containment::Container;
use super::containment::cgroup::CgroupTree;
use super::containment::group::GroupContainer;
use super::error::TrackerError;
use super::handle::Tracker;
use super::options::Containment;
use super::os;
use super::pids::Pids;
use super::table::TrackerState;
use super::watchdog::{Target, Watchdog};

/// Builds a [`Tracker`].
///
/// # Examples
///
/// ```
/// use steward_actors::tracker::{Containment, Tracker};
///
/// # #[actix_rt::main]
/// # async fn main() -> Result<(), steward_actors::tracker::TrackerError> {
/// let tracker = Tracker::builder()
///     .containment(Containment::ProcessGroup)
///     .start_in(&actix::Arbiter::current())?;
/// assert_eq!(tracker.containment(), Containment::ProcessGroup);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `start_in` is called"]
pub struct TrackerBuilder {
    containment: Containment,
}

impl Tracker {
    /// A builder: containment [`Containment::Auto`].
    pub fn builder() -> TrackerBuilder {
        TrackerBuilder::default()
    }

    /// Starts a tracker on `arbiter` with a cgroup per process where the
    /// program can make them, process groups otherwise, and its watchdog.
    #[must_use]
    pub fn start_in(arbiter: &ArbiterHandle) -> Self {
        let (number, marker_var, pids) = identity();
        let container = auto(number, &marker_var, Arc::clone(&pids));
        launch(arbiter, number, marker_var, pids, container)
    }
}

impl TrackerBuilder {
    /// How processes are contained (default [`Containment::Auto`]).
    pub fn containment(mut self, containment: Containment) -> Self {
        self.containment = containment;
        self
    }

    /// Starts the tracker on `arbiter`, its watchdog with it.
    ///
    /// # Errors
    ///
    /// [`TrackerError::Containment`] when [`Containment::Cgroup`] was asked
    /// for and no cgroup can be created.
    pub fn start_in(self, arbiter: &ArbiterHandle) -> Result<Tracker, TrackerError> {
        let asked = self.containment;
        let (number, marker_var, pids) = identity();
        let container: Box<dyn Container> = match asked {
            Containment::ProcessGroup => {
                Box::new(GroupContainer::new(&marker_var, Arc::clone(&pids)))
            }
            Containment::Cgroup => Box::new(
                CgroupTree::create(number)
                    .map_err(|reason| TrackerError::Containment { asked, reason })?,
            ),
            Containment::Auto => auto(number, &marker_var, Arc::clone(&pids)),
        };
        Ok(launch(arbiter, number, marker_var, pids, container))
    }
}

/// A new tracker's number, its marker variable
/// (`_STEWARD_TRACKED_<pid>_<number>`: one per tracker, so a steward
/// program started by steward adds its own mark instead of overwriting
/// ours) and its pid bookkeeping.
fn identity() -> (u64, String, Arc<Pids>) {
    static TRACKERS: AtomicU64 = AtomicU64::new(0);
    let number = TRACKERS.fetch_add(1, Ordering::Relaxed);
    let marker_var = format!("{}{}_{number}", os::MARKER_PREFIX, std::process::id());
    (number, marker_var, Arc::new(Pids::default()))
}

/// A cgroup tree if one can be made, else process groups.
fn auto(number: u64, marker_var: &str, pids: Arc<Pids>) -> Box<dyn Container> {
    match CgroupTree::create(number) {
        Ok(tree) => Box::new(tree),
        Err(reason) => {
            tracing::info!(target: "steward::tracker", %reason, "no cgroup v2 to contain processes in; using process groups");
            Box::new(GroupContainer::new(marker_var, pids))
        }
    }
}

fn launch(
    arbiter: &ArbiterHandle,
    number: u64,
    marker_var: String,
    pids: Arc<Pids>,
    container: Box<dyn Container>,
) -> Tracker {
    let target = match container.watchdog_target() {
        Some((dir, program)) => Target::Cgroup { dir, program },
        None => Target::Groups {
            marker_var: marker_var.clone(),
        },
    };
    let watchdog = Watchdog::start(target)
        .inspect_err(|error| {
            tracing::warn!(target: "steward::tracker", %error, "cannot start the watchdog: tracked processes will not be stopped if the program is killed");
        })
        .ok();
    let shared = Arc::new(TrackerState::new(
        number, marker_var, container, pids, watchdog,
    ));
    let actor_shared = Arc::clone(&shared);
    let address =
        ResourceTracker::start_in_arbiter(arbiter, move |_| ResourceTracker::new(actor_shared));
    Tracker { address, shared }
}
