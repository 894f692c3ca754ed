//! [`lock`]: a mutex lock that outlives a panic.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking the guard even when a thread panicked while it
/// held the lock.
///
/// Every mutex in steward guards state that each critical section leaves
/// consistent before it can panic (no user code runs under a lock), so a
/// poisoned lock still guards sound state, and refusing it would turn one
/// caught panic into a failure of every later call.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
