//! Type-based dependency injection: services registered by type (and
//! optionally name), resolved without a mailbox hop.
//!
//! A service is an instance (`Arc<T>`), a lazy singleton (created once, on
//! first resolve), a transient (created on every resolve) or an actor's
//! address. Factories receive the [`Registry`] and may resolve other
//! services; a loop of factories is a [`RegistryError::Cycle`], never a
//! deadlock or a stack overflow, even when two threads enter the loop from
//! opposite ends at once. A factory that fails or panics is reported as
//! such and the registry works on.
//!
//! Registration, removal and shutdown go through the [`ServiceRegistry`]
//! actor, one at a time; resolving reads the shared map directly.
//!
//! # Examples
//!
//! ```
//! use std::sync::Arc;
//! use steward_actors::registry::{Registry, RegistryError};
//!
//! struct Settings { url: String }
//! struct Database { url: String }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), RegistryError> {
//! let registry = Registry::start_in(&actix::Arbiter::current());
//! registry.register(Arc::new(Settings { url: "postgres://db".into() })).await?;
//! registry
//!     .register_singleton(|registry: &Registry| {
//!         let settings = registry.resolve::<Settings>()?;
//!         Ok(Database { url: settings.url.clone() })
//!     })
//!     .await?;
//!
//! let database = registry.resolve::<Database>()?;
//! assert_eq!(database.url, "postgres://db");
//! assert!(Arc::ptr_eq(&database, &registry.resolve::<Database>()?));
//! # Ok(())
//! # }
//! ```

mod actor;
mod entry;
mod error;
mod init_graph;
mod messages;
mod resolve;
mod stack;
mod store;
mod type_id_hasher;

use std::sync::Arc;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, ArbiterHandle, Handler, Message};

pub use actor::ServiceRegistry;
pub use entry::{ServiceInfo, ServiceKind};
pub use error::{RegistryError, ServiceName};
pub use messages::{Register, Unregister};

use crate::{Shutdown, UserError};
use store::{Lookup, Store};

/// The handle of the registry: `Clone + Send + Sync`, cheap to clone.
///
/// Resolving reads a shared map on the calling thread and never waits for
/// the actor. It is synchronous, so it works in async and sync code alike.
/// A factory runs on the thread that first resolves its service; other
/// threads resolving the same singleton meanwhile block until it is
/// created, so factories should be quick (connect elsewhere, in a
/// supervised resource, and register the result).
#[derive(Clone)]
pub struct Registry {
    address: Addr<ServiceRegistry>,
    store: Arc<Store>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("closed", &self.store.is_closed())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Starts the registry actor on `arbiter` and returns its handle.
    ///
    /// Works from any thread: the actor is created on the arbiter's own.
    #[must_use]
    pub fn start_in(arbiter: &ArbiterHandle) -> Self {
        let store = Arc::new(Store::default());
        let actor_store = Arc::clone(&store);
        let address =
            ServiceRegistry::start_in_arbiter(arbiter, move |_| ServiceRegistry::new(actor_store));
        Self { address, store }
    }

    /// The actor's address, for sending [`Register`] and [`Unregister`]
    /// from an application's own actors.
    #[must_use]
    pub fn address(&self) -> &Addr<ServiceRegistry> {
        &self.address
    }

    /// Registers a shared instance of `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register(Arc::new(String::from("eu-west"))).await?;
    /// assert_eq!(*registry.resolve::<String>()?, "eu-west");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RegistryError::AlreadyRegistered`] if `T` is registered already
    /// (see [`Register::replacing`]), [`RegistryError::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes may or may not register the
    /// service; it never registers it twice.
    pub async fn register<T: Send + Sync + 'static>(
        &self,
        instance: Arc<T>,
    ) -> Result<(), RegistryError> {
        self.register_with(Register::instance(instance)).await
    }

    /// Registers a shared instance of `T` under `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register_named("region", Arc::new(String::from("eu-west"))).await?;
    /// assert_eq!(*registry.resolve_named::<String>("region")?, "eu-west");
    /// assert!(registry.try_resolve::<String>()?.is_none(), "the unnamed one is separate");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    ///
    /// # Cancel safety
    ///
    /// As [`register`](Self::register).
    pub async fn register_named<T: Send + Sync + 'static>(
        &self,
        name: impl Into<String>,
        instance: Arc<T>,
    ) -> Result<(), RegistryError> {
        self.register_with(Register::instance(instance).named(name))
            .await
    }

    /// Registers a lazy singleton: `factory` runs once, on first resolve,
    /// even when many threads resolve it at once.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// struct Cache(Vec<u8>);
    /// registry.register_singleton(|_: &Registry| Ok(Cache(vec![0; 1024]))).await?;
    /// let (a, b) = (registry.resolve::<Cache>()?, registry.resolve::<Cache>()?);
    /// assert!(Arc::ptr_eq(&a, &b));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    ///
    /// # Cancel safety
    ///
    /// As [`register`](Self::register).
    pub async fn register_singleton<T, F>(&self, factory: F) -> Result<(), RegistryError>
    where
        T: Send + Sync + 'static,
        F: Fn(&Registry) -> Result<T, UserError> + Send + Sync + 'static,
    {
        self.register_with(Register::singleton(factory)).await
    }

    /// Registers a transient service: `factory` runs on every resolve.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// struct Request(u32);
    /// registry.register_transient(|_: &Registry| Ok(Request(7))).await?;
    /// assert!(!Arc::ptr_eq(&registry.resolve::<Request>()?, &registry.resolve::<Request>()?));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    ///
    /// # Cancel safety
    ///
    /// As [`register`](Self::register).
    pub async fn register_transient<T, F>(&self, factory: F) -> Result<(), RegistryError>
    where
        T: Send + Sync + 'static,
        F: Fn(&Registry) -> Result<T, UserError> + Send + Sync + 'static,
    {
        self.register_with(Register::transient(factory)).await
    }

    /// Registers an actor's address; [`resolve_actor`](Self::resolve_actor)
    /// hands out clones of it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use actix::{Actor, Context};
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// struct Mailer;
    /// impl Actor for Mailer { type Context = Context<Self>; }
    ///
    /// registry.register_actor(Mailer.start()).await?;
    /// let mailer = registry.resolve_actor::<Mailer>()?;
    /// assert!(mailer.connected());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    ///
    /// # Cancel safety
    ///
    /// As [`register`](Self::register).
    pub async fn register_actor<A: Actor>(&self, address: Addr<A>) -> Result<(), RegistryError> {
        self.register_with(Register::actor(address)).await
    }

    /// Sends a [`Register`] built by hand (named, replacing, …).
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::{Register, Registry};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register(Arc::new(1_u16)).await?;
    /// registry.register_with(Register::instance(Arc::new(2_u16)).replacing()).await?;
    /// assert_eq!(*registry.resolve::<u16>()?, 2);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`register`](Self::register).
    ///
    /// # Cancel safety
    ///
    /// As [`register`](Self::register).
    pub async fn register_with(&self, registration: Register) -> Result<(), RegistryError> {
        self.ask(registration).await?
    }

    /// Removes the unnamed service of type `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register(Arc::new(5_u8)).await?;
    /// registry.unregister::<u8>().await?;
    /// assert!(!registry.contains::<u8>());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotRegistered`] if there is none,
    /// [`RegistryError::Closed`] after shutdown.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future may or may not remove the service.
    pub async fn unregister<T: 'static>(&self) -> Result<(), RegistryError> {
        self.ask(Unregister::of::<T>()).await?
    }

    /// Removes the service of type `T` registered under `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::Registry;
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register_named("a", Arc::new(5_u8)).await?;
    /// registry.unregister_named::<u8>("a").await?;
    /// assert!(registry.unregister_named::<u8>("a").await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`unregister`](Self::unregister).
    ///
    /// # Cancel safety
    ///
    /// As [`unregister`](Self::unregister).
    pub async fn unregister_named<T: 'static>(
        &self,
        name: impl Into<String>,
    ) -> Result<(), RegistryError> {
        self.ask(Unregister::named::<T>(name)).await?
    }

    /// The service of type `T`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotRegistered`]; for a factory,
    /// [`RegistryError::FactoryFailed`], [`RegistryError::FactoryPanicked`],
    /// [`RegistryError::Cycle`] or the error of a service it depends on;
    /// [`RegistryError::Closed`] after shutdown.
    pub fn resolve<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, RegistryError> {
        self.try_resolve::<T>()?
            .ok_or_else(|| not_registered::<T>(None))
    }

    /// The service of type `T` registered under `name`.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve).
    pub fn resolve_named<T: Send + Sync + 'static>(
        &self,
        name: &str,
    ) -> Result<Arc<T>, RegistryError> {
        self.try_resolve_named::<T>(name)?
            .ok_or_else(|| not_registered::<T>(Some(name)))
    }

    /// The service of type `T`, or `None` if nothing is registered for it.
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve), but for `NotRegistered`.
    pub fn try_resolve<T: Send + Sync + 'static>(&self) -> Result<Option<Arc<T>>, RegistryError> {
        self.resolve_erased(Lookup::of::<T>(None))
            .map(|found| found.map(downcast::<T>))
    }

    /// The service of type `T` under `name`, or `None` if there is none.
    ///
    /// # Errors
    ///
    /// As [`try_resolve`](Self::try_resolve).
    pub fn try_resolve_named<T: Send + Sync + 'static>(
        &self,
        name: &str,
    ) -> Result<Option<Arc<T>>, RegistryError> {
        self.resolve_erased(Lookup::of::<T>(Some(name)))
            .map(|found| found.map(downcast::<T>))
    }

    /// The address of the actor registered with
    /// [`register_actor`](Self::register_actor).
    ///
    /// # Errors
    ///
    /// As [`resolve`](Self::resolve).
    pub fn resolve_actor<A: Actor>(&self) -> Result<Addr<A>, RegistryError> {
        self.resolve::<Addr<A>>()
            .map(|address| Addr::clone(&address))
    }

    /// Whether an unnamed service of type `T` is registered.
    #[must_use]
    pub fn contains<T: 'static>(&self) -> bool {
        self.store.read(Lookup::of::<T>(None), |_| ()).is_some()
    }

    /// Whether a service of type `T` is registered under `name`.
    #[must_use]
    pub fn contains_named<T: 'static>(&self, name: &str) -> bool {
        self.store
            .read(Lookup::of::<T>(Some(name)), |_| ())
            .is_some()
    }

    /// Every registered service, sorted by type name then name.
    #[must_use]
    pub fn services(&self) -> Vec<ServiceInfo> {
        self.store.services()
    }

    /// Whether the registry was shut down.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.store.is_closed()
    }

    /// Drops every service, newest registration first, and stops the actor.
    /// Later registrations and resolves fail with `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use steward_actors::registry::{Registry, RegistryError};
    /// # #[actix_rt::main]
    /// # async fn main() {
    /// # let registry = Registry::start_in(&actix::Arbiter::current());
    /// registry.register(Arc::new(1_u8)).await.unwrap();
    /// registry.shutdown().await;
    /// assert!(matches!(registry.resolve::<u8>(), Err(RegistryError::Closed)));
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop a shutdown the actor has begun.
    pub async fn shutdown(&self) {
        // An actor that is gone has already dropped its services.
        let _ = self.address.send(Shutdown).await;
    }

    async fn ask<M>(&self, message: M) -> Result<M::Result, RegistryError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        ServiceRegistry: Handler<M>,
        <ServiceRegistry as Actor>::Context: ToEnvelope<ServiceRegistry, M>,
    {
        crate::sync::ask(&self.address, message, || RegistryError::Closed).await
    }
}

fn not_registered<T>(name: Option<&str>) -> RegistryError {
    RegistryError::NotRegistered {
        service: ServiceName::new(std::any::type_name::<T>(), name),
    }
}

fn downcast<T: Send + Sync + 'static>(service: entry::Service) -> Arc<T> {
    match service.downcast::<T>() {
        Ok(value) => value,
        // Entries are keyed by `TypeId::of::<T>()` and hold a `T`, so a
        // mismatch is a bug in this module, not something input can cause.
        Err(_) => unreachable!(
            "registry entry for {} holds another type",
            std::any::type_name::<T>()
        ),
    }
}

#[cfg(test)]
mod tests;
