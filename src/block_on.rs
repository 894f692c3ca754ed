//! Running a future to completion from synchronous code.

use std::future::Future;
use std::sync::Arc;

use crate::SystemError;

/// Runs `future` on a fresh current-thread runtime on this thread.
///
/// steward's handles talk to actors over channels, so their futures run on
/// any executor; a fresh runtime with every driver also serves a caller's
/// own futures (timers, IO, processes).
pub(crate) fn block_on<F: Future>(
    operation: &'static str,
    future: F,
) -> Result<F::Output, SystemError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(SystemError::BlockingInsideRuntime { operation });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| SystemError::Runtime(Arc::new(err)))?;
    Ok(runtime.block_on(future))
}
