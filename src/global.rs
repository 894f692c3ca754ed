//! The process-wide [`Steward`] the annotations use.

use std::sync::{PoisonError, RwLock};

use crate::{Error, Steward};

static GLOBAL: RwLock<Option<Steward>> = RwLock::new(None);

/// The process-wide `Steward`, started on first use from the environment
/// (`Steward::builder().from_env()`) on its own `steward-system` thread, so
/// it outlives whatever runtime first asked for it.
///
/// `#[io_bound]` and `#[cpu_bound]` functions run through it.
///
/// # Examples
///
/// ```
/// let a = steward::global()?;
/// let b = steward::global()?;
/// assert_eq!(a.config(), b.config());
/// # Ok::<(), steward::Error>(())
/// ```
///
/// # Errors
///
/// The configuration or start error, if it cannot be started; a later
/// call tries again.
pub fn global() -> Result<Steward, Error> {
    if let Some(steward) = GLOBAL
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
    {
        return Ok(steward.clone());
    }
    let mut slot = GLOBAL.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(steward) = slot.as_ref() {
        return Ok(steward.clone());
    }
    let config = Steward::builder().from_env().build_config()?;
    let steward = Steward::launch_own_system(config)?;
    *slot = Some(steward.clone());
    Ok(steward)
}

/// Replaces the process-wide `Steward` (for a configuration built in code,
/// or a test's own); returns the previous one, which the caller may shut
/// down.
///
/// # Examples
///
/// ```
/// let mine = steward::Steward::builder().cpu_workers(1).start()?;
/// let _previous = steward::set_global(mine);
/// assert_eq!(steward::global()?.config().cpu_workers(), 1);
/// # Ok::<(), steward::Error>(())
/// ```
pub fn set_global(steward: Steward) -> Option<Steward> {
    GLOBAL
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(steward)
}
