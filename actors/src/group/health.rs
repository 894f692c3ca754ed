//! A group's health: its members' states, and the worst of them.

use serde::{Deserialize, Serialize};

use crate::lifecycle::State;

/// One member's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberHealth {
    /// The member's name.
    pub name: String,
    /// Its lifecycle state.
    pub state: State,
}

/// The health of a whole group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupHealth {
    /// The worst member state (`Ready` for an empty group).
    pub state: State,
    /// Every member, dependencies first.
    pub members: Vec<MemberHealth>,
}

impl GroupHealth {
    pub(super) fn of(members: Vec<MemberHealth>) -> Self {
        let state = members
            .iter()
            .map(|member| member.state)
            .max_by_key(|state| severity(*state))
            .unwrap_or(State::Ready);
        Self { state, members }
    }
}

/// How bad a member's state is for the group: usable best, `Error` worst.
#[must_use]
pub(super) const fn severity(state: State) -> u8 {
    match state {
        State::Ready => 0,
        State::Degraded => 1,
        State::Initializing => 2,
        State::Uninitialized => 3,
        State::Closing => 4,
        State::Closed => 5,
        State::Error => 6,
    }
}
