//! Declaring a group's members and checking them.

use std::collections::HashSet;
use std::sync::Mutex;

use actix::ArbiterHandle;
use tokio::sync::Mutex as AsyncMutex;

use super::member::{Slot, starter};
use super::{GroupError, ResourceGroup, graph};
use crate::lifecycle::Lifecycle;
use crate::resource::{Resource, ResourceKeeperBuilder};

/// Declares the members of a [`ResourceGroup`].
#[must_use = "a builder does nothing until built"]
pub struct GroupBuilder {
    name: String,
    arbiter: Option<ArbiterHandle>,
    members: Vec<(String, Vec<String>, super::member::StartMember)>,
}

impl std::fmt::Debug for GroupBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupBuilder")
            .field("name", &self.name)
            .field(
                "members",
                &self
                    .members
                    .iter()
                    .map(|(n, d, _)| (n, d))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl GroupBuilder {
    pub(super) fn new(name: String) -> Self {
        Self {
            name,
            arbiter: None,
            members: Vec::new(),
        }
    }

    /// Runs the members' keepers on `arbiter` (for instance
    /// `Steward::arbiter`) instead of the arbiter of the thread that calls
    /// `initialize`; needed when that thread runs no actix System.
    pub fn arbiter(mut self, arbiter: ArbiterHandle) -> Self {
        self.arbiter = Some(arbiter);
        self
    }

    /// Adds member `name`, which needs `depends_on` to be ready first.
    /// `keeper` builds its keeper; it is called at every
    /// initialization of the group, so a failed one starts afresh.
    pub fn resource<R, F>(mut self, name: impl Into<String>, depends_on: &[&str], keeper: F) -> Self
    where
        R: Resource,
        F: FnMut() -> ResourceKeeperBuilder<R> + Send + 'static,
    {
        self.members.push((
            name.into(),
            depends_on.iter().map(|d| (*d).to_owned()).collect(),
            starter(keeper),
        ));
        self
    }

    /// Checks the members and builds the group; nothing starts yet.
    ///
    /// # Errors
    ///
    /// [`GroupError::DuplicateResource`], [`GroupError::UnknownDependency`]
    /// or [`GroupError::Cycle`], naming the members at fault.
    pub fn build(self) -> Result<ResourceGroup, GroupError> {
        let mut seen = HashSet::new();
        for (name, _, _) in &self.members {
            if !seen.insert(name.as_str()) {
                return Err(GroupError::DuplicateResource {
                    resource: name.clone(),
                });
            }
        }
        let names: Vec<String> = self
            .members
            .iter()
            .map(|(name, _, _)| name.clone())
            .collect();
        let wanted: Vec<Vec<String>> = self
            .members
            .iter()
            .map(|(_, deps, _)| deps.clone())
            .collect();
        let deps = graph::resolve(&names, &wanted)?;
        let order = graph::order(&names, &deps)?;
        let slots = self
            .members
            .into_iter()
            .zip(deps)
            .map(|((name, _, start), deps)| Slot {
                name,
                deps,
                start: Mutex::new(start),
                arbiter: self.arbiter.clone(),
                current: Mutex::new(None),
            })
            .collect();
        let lifecycle = Lifecycle::new(self.name.clone());
        let view = lifecycle.view();
        Ok(ResourceGroup {
            name: self.name,
            slots,
            order,
            lifecycle: AsyncMutex::new(lifecycle),
            view,
        })
    }
}
