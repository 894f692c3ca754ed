//! `{%}`: job slots, numbered from 1. A freed slot goes to the back of
//! the free list, so the next job takes the slot freed longest ago (GNU
//! parallel's order); no two running jobs share one.

use std::collections::VecDeque;

/// The job slots of a run.
#[derive(Debug, Default)]
pub(crate) struct Slots {
    free: VecDeque<usize>,
    issued: usize,
}

impl Slots {
    /// A free slot.
    pub(crate) fn take(&mut self) -> usize {
        self.free.pop_front().unwrap_or_else(|| {
            self.issued += 1;
            self.issued
        })
    }

    /// `slot` is free again.
    pub(crate) fn give(&mut self, slot: usize) {
        self.free.push_back(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_slots_are_reused_oldest_first() {
        let mut slots = Slots::default();
        assert_eq!((slots.take(), slots.take(), slots.take()), (1, 2, 3));
        slots.give(2);
        slots.give(1);
        assert_eq!(slots.take(), 2, "freed longest ago");
        assert_eq!(slots.take(), 1);
        assert_eq!(slots.take(), 4, "none free: a new one");
    }
}
