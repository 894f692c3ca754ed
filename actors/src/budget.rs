//! Every stop budget of the crate, in one table: how long a stop waits at
//! each step before it takes the next, harder one. A budget a caller
//! passes (`stop_process(key, timeout)`, `close(timeout)`,
//! `Steward::shutdown`'s) always wins; these apply where no caller says.

use std::time::Duration;

/// A process's SIGTERM grace when its guard or pool stops it (then
/// SIGKILL): [`GUARD_TIMEOUT`](crate::tracker::GUARD_TIMEOUT).
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// How long a stop waits for what it killed to be gone: a process after
/// SIGKILL (and its cgroup to empty), a supervised task after its abort.
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(5);

/// A process stopped gracefully, start to gone: the grace, then the wait
/// after SIGKILL (a subprocess pool's slot is held that long at most).
pub(crate) const GRACE_THEN_KILL: Duration = GRACE.saturating_add(KILL_WAIT);

/// A resource's `cleanup` when it is closed without a caller's timeout:
/// its last handle dropped, a supervised resource child stopped, a group
/// unwinding a failed start.
pub(crate) const CLOSE: Duration = Duration::from_secs(5);

/// A supervised child's default [`ChildShutdown`](crate::supervisor::ChildShutdown)
/// timeout: asked to stop, then aborted.
pub(crate) const CHILD_SHUTDOWN: Duration = Duration::from_secs(5);
