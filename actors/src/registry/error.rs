//! The registry's error.

use std::fmt;

use crate::UserError;

/// Why a registry operation failed; every variant names the service.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Nothing is registered under the type (and name).
    #[error("no service {service} is registered")]
    NotRegistered {
        /// The service asked for.
        service: ServiceName,
    },
    /// Something is registered already, and the registration did not ask to
    /// replace it.
    #[error("a service {service} is already registered (use `replacing()` to replace it)")]
    AlreadyRegistered {
        /// The service registered twice.
        service: ServiceName,
    },
    /// Factories resolve each other in a loop. The chain starts and ends with
    /// the same service.
    #[error("dependency cycle: {}", chain.iter().map(ToString::to_string).collect::<Vec<_>>().join(" -> "))]
    Cycle {
        /// The services in the order they were resolved.
        chain: Vec<ServiceName>,
    },
    /// A factory returned an error.
    #[error("factory of {service} failed: {source}")]
    FactoryFailed {
        /// The service whose factory failed.
        service: ServiceName,
        /// What the factory returned.
        #[source]
        source: UserError,
    },
    /// A factory panicked. The panic was caught and the registry works on.
    #[error("factory of {service} panicked: {message}")]
    FactoryPanicked {
        /// The service whose factory panicked.
        service: ServiceName,
        /// The panic's message.
        message: String,
    },
    /// The registry was shut down.
    #[error("the registry is shut down")]
    Closed,
}

/// A service as errors name it: its type, and its name if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    /// `std::any::type_name` of the service.
    pub type_name: &'static str,
    /// The name it was registered under, if any.
    pub name: Option<String>,
}

impl ServiceName {
    pub(crate) fn new(type_name: &'static str, name: Option<&str>) -> Self {
        Self {
            type_name,
            name: name.map(str::to_owned),
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            None => f.write_str(self.type_name),
            Some(name) => write!(f, "{}[{name:?}]", self.type_name),
        }
    }
}
