//! What a resource group can fail with.

use crate::resource::ResourceError;

/// An error of a [`ResourceGroup`](super::ResourceGroup), naming the
/// member at fault.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// A member depends on a name the group does not have.
    #[error("resource {resource:?} depends on {dependency:?}, which is not in the group")]
    UnknownDependency {
        /// The member.
        resource: String,
        /// The missing dependency.
        dependency: String,
    },
    /// The dependencies form a cycle; it is listed with its first member
    /// repeated at the end.
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    Cycle {
        /// The members of the cycle, in dependency order.
        cycle: Vec<String>,
    },
    /// Two members share a name.
    #[error("two resources are named {resource:?}")]
    DuplicateResource {
        /// The name.
        resource: String,
    },
    /// A member failed to initialize (after its retries); the members
    /// already up were cleaned up, newest dependency first, and the failed
    /// one closed without its cleanup.
    #[error("resource {resource:?} failed to initialize: {source}")]
    Initialize {
        /// The member that failed.
        resource: String,
        /// Its error.
        #[source]
        source: ResourceError,
    },
    /// The closure that builds a member's keeper panicked.
    #[error("the builder of resource {resource:?} panicked: {message}")]
    StartPanicked {
        /// The member.
        resource: String,
        /// The panic's message.
        message: String,
    },
    /// Members failed to clean up; the group is closed regardless.
    #[error("{} resource(s) failed to clean up: {}", failures.len(), failures.iter().map(|(name, e)| format!("{name}: {e}")).collect::<Vec<_>>().join("; "))]
    Cleanup {
        /// Each member that failed, with its error.
        failures: Vec<(String, ResourceError)>,
    },
    /// No member has this name.
    #[error("no resource named {resource:?} in the group")]
    UnknownResource {
        /// The name asked for.
        resource: String,
    },
    /// The member exists but holds another type.
    #[error("resource {resource:?} is not a {expected}")]
    WrongType {
        /// The name asked for.
        resource: String,
        /// The type asked for.
        expected: &'static str,
    },
    /// The member has not been started (the group was never initialized).
    #[error("resource {resource:?} has not been started")]
    NotStarted {
        /// The name asked for.
        resource: String,
    },
    /// The group is closed.
    #[error("resource group {group:?} is closed")]
    Closed {
        /// The group.
        group: String,
    },
}
