//! The keys of the runs in progress, for `close` to stop them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The set of running keys.
#[derive(Debug, Default)]
pub(crate) struct RunningSet(Mutex<HashSet<String>>);

impl RunningSet {
    pub(crate) fn enter(self: &Arc<Self>, key: &str) -> Running {
        crate::sync::lock(&self.0).insert(key.to_owned());
        Running {
            set: Arc::clone(self),
            key: key.to_owned(),
        }
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        crate::sync::lock(&self.0).iter().cloned().collect()
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
        crate::sync::lock(&self.set.0).remove(&self.key);
    }
}
