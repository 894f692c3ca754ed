//! Availability: how each resource is doing, and overall.

use serde::{Deserialize, Serialize};

use super::alert::{Level, MachineResource};

/// The level of each watched resource and the worst of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// The worst level of any resource (`Healthy` before the first sample).
    pub overall: Level,
    /// Each resource's level, in resource order.
    pub resources: Vec<ResourceLevel>,
}

/// One resource's level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLevel {
    /// The resource.
    pub resource: MachineResource,
    /// Its level.
    pub level: Level,
}

impl Availability {
    /// Availability from each resource's level.
    pub(crate) fn from_levels(levels: impl IntoIterator<Item = (MachineResource, Level)>) -> Self {
        let resources: Vec<ResourceLevel> = levels
            .into_iter()
            .map(|(resource, level)| ResourceLevel { resource, level })
            .collect();
        let overall = resources.iter().map(|r| r.level).max().unwrap_or_default();
        Self { overall, resources }
    }

    /// The level of `resource` (`Healthy` if it is not watched).
    #[must_use]
    pub fn level_of(&self, resource: &MachineResource) -> Level {
        self.resources
            .iter()
            .find(|r| &r.resource == resource)
            .map_or(Level::Healthy, |r| r.level)
    }

    /// Whether every resource is healthy.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.overall == Level::Healthy
    }
}
