//! [`Cap`]: bounds the values of a label that takes names.
//!
//! Every distinct label value is a series Prometheus stores for as long
//! as it retains data, so names a program generates (a pool per tenant, a
//! mount per container) must not grow the series without bound. A cap
//! lets the first `limit` distinct values through and records every later
//! one as [`OTHER`]; a value already let through stays itself for the
//! life of the process.

use std::collections::BTreeSet;
use std::sync::Mutex;

/// The value recorded for names past a label's cap.
pub(crate) const OTHER: &str = "other";

/// The longest label value recorded, in bytes; longer ones are cut at a
/// character boundary.
pub(crate) const MAX_VALUE_LEN: usize = 100;

/// The distinct values one label has taken, at most `limit`.
#[derive(Debug)]
pub(crate) struct Cap {
    limit: usize,
    seen: Mutex<BTreeSet<Box<str>>>,
}

impl Cap {
    pub(crate) const fn new(limit: usize) -> Self {
        Self {
            limit,
            seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// How many distinct values pass before the rest become [`OTHER`].
    #[cfg(test)]
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// `value` as recorded: cut to [`MAX_VALUE_LEN`] bytes, and
    /// [`OTHER`] once `limit` other values have been seen.
    pub(crate) fn bound(&self, value: &str) -> String {
        let value = truncate(value);
        if value == OTHER {
            return OTHER.to_owned();
        }
        // Nothing panics under this lock: a poisoned set is still whole.
        let mut seen = crate::sync::lock(&self.seen);
        if seen.contains(value) {
            return value.to_owned();
        }
        if seen.len() >= self.limit {
            return OTHER.to_owned();
        }
        seen.insert(value.into());
        value.to_owned()
    }
}

/// `value` cut to at most [`MAX_VALUE_LEN`] bytes, at a character
/// boundary.
fn truncate(value: &str) -> &str {
    if value.len() <= MAX_VALUE_LEN {
        return value;
    }
    let mut end = MAX_VALUE_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}
