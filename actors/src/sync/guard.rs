//! [`DropGuard`]: runs a closure when dropped, unless disarmed.

use std::fmt;

/// Runs its closure when dropped, unless [`disarm`](Self::disarm)ed first.
///
/// The one way a future that is cancelled at an await undoes what it had
/// begun (a count taken, a waiter registered, a process to stop): make
/// the guard before the await, disarm it once the work is handed over.
/// A handle that must act when its last clone goes (stop its actor) keeps
/// a [`DropGuard::boxed`] in an `Arc`.
#[must_use = "a guard runs its closure as soon as it is dropped: bind it to a name"]
pub(crate) struct DropGuard<F: FnOnce()> {
    on_drop: Option<F>,
}

impl<F: FnOnce()> DropGuard<F> {
    /// A guard that runs `on_drop` when dropped.
    pub(crate) fn new(on_drop: F) -> Self {
        Self {
            on_drop: Some(on_drop),
        }
    }

    /// Drops the guard without running its closure (the closure itself is
    /// dropped, so what it captured is released).
    pub(crate) fn disarm(mut self) {
        self.on_drop = None;
    }
}

impl DropGuard<Box<dyn FnOnce() + Send + Sync>> {
    /// A guard of a nameable type, to keep in a struct field.
    pub(crate) fn boxed(on_drop: impl FnOnce() + Send + Sync + 'static) -> Self {
        Self::new(Box::new(on_drop))
    }
}

impl<F: FnOnce()> Drop for DropGuard<F> {
    fn drop(&mut self) {
        if let Some(on_drop) = self.on_drop.take() {
            on_drop();
        }
    }
}

impl<F: FnOnce()> fmt::Debug for DropGuard<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropGuard")
            .field("armed", &self.on_drop.is_some())
            .finish()
    }
}
