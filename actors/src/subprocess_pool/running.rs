//! The keys of the runs in progress, for `close` to stop them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// The set of running keys.
#[derive(Debug, Default)]
pub(crate) struct RunningSet(Mutex<HashSet<String>>);

impl RunningSet {
    pub(crate) fn enter(self: &Arc<Self>, key: &str) -> Running {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned());
        Running {
            set: Arc::clone(self),
            key: key.to_owned(),
        }
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// One run in the set; leaves it on drop.
#[derive(Debug)]
pub(crate) struct Running {
    set: Arc<RunningSet>,
    key: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}
