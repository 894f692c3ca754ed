//! What the registry stores per service: its key and its provider.

use std::any::{Any, TypeId};
use std::sync::{Arc, OnceLock};

use super::{Registry, ServiceName};
use crate::UserError;

/// A resolved service with its type erased.
pub(crate) type Service = Arc<dyn Any + Send + Sync>;

/// A factory with its output type erased.
pub(crate) type Factory = dyn Fn(&Registry) -> Result<Service, UserError> + Send + Sync;

/// Erases a typed factory.
pub(crate) fn erase<T, F>(factory: F) -> Box<Factory>
where
    T: Send + Sync + 'static,
    F: Fn(&Registry) -> Result<T, UserError> + Send + Sync + 'static,
{
    Box::new(move |registry| factory(registry).map(|value| Arc::new(value) as Service))
}

/// Where a service is registered: its type and optional name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    pub(crate) name: Option<Box<str>>,
}

impl Key {
    pub(crate) fn of<T: 'static>(name: Option<Box<str>>) -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            name,
        }
    }

    pub(crate) fn service_name(&self) -> ServiceName {
        ServiceName::new(self.type_name, self.name.as_deref())
    }
}

/// How a service's value is provided.
#[derive(Clone)]
pub(crate) enum Provider {
    /// A value registered as it is.
    Instance(Service),
    /// A factory run once, on first resolve.
    Singleton(Arc<Singleton>),
    /// A factory run on every resolve.
    Transient(Arc<Factory>),
}

impl Provider {
    pub(crate) fn kind(&self) -> ServiceKind {
        match self {
            Provider::Instance(_) => ServiceKind::Instance,
            Provider::Singleton(_) => ServiceKind::Singleton,
            Provider::Transient(_) => ServiceKind::Transient,
        }
    }
}

/// A lazy singleton: its factory and, once created, its value.
pub(crate) struct Singleton {
    pub(crate) factory: Box<Factory>,
    pub(crate) value: OnceLock<Service>,
}

/// A registered service: its provider and when it was registered.
#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) type_name: &'static str,
    pub(crate) provider: Provider,
    /// Registration order, so shutdown can drop services newest first.
    pub(crate) sequence: u64,
}

/// How a registered service is provided, as [`ServiceInfo`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A value registered as it is (including actor addresses).
    Instance,
    /// Created once, on first resolve.
    Singleton,
    /// Created anew on every resolve.
    Transient,
}

/// One registered service, as [`Registry::services`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceInfo {
    /// `std::any::type_name` of the service.
    pub type_name: &'static str,
    /// The name it was registered under, if any.
    pub name: Option<String>,
    /// How it is provided.
    pub kind: ServiceKind,
    /// Whether a value exists: always for an instance, once created for a
    /// singleton, never for a transient.
    pub created: bool,
}
