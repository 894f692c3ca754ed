//! A health check's verdict.

use serde::{Deserialize, Serialize};

/// What a health check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Working normally.
    Healthy,
    /// Working, but impaired (slow, a replica down).
    Degraded,
    /// Not working.
    Unhealthy,
}
