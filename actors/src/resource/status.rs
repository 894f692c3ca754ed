//! A serializable picture of one managed resource.

use serde::{Deserialize, Serialize};

use crate::State;

/// Where a managed resource stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceStatus {
    /// The resource's name.
    pub name: String,
    /// Its lifecycle state.
    pub state: State,
    /// The last error or panic that moved it, if any.
    pub last_error: Option<String>,
    /// Failed health checks in a row.
    pub consecutive_failures: u32,
    /// Health checks run so far.
    pub checks: u64,
    /// Initialization attempts made so far, recoveries included.
    pub initializations: u64,
    /// Reconnects started after an operation found the connection gone.
    pub reconnects: u64,
    /// Whether `cleanup` has run.
    pub cleaned_up: bool,
}
