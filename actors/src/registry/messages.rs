//! The messages the registry actor handles, and its handlers, which only
//! dispatch.

use std::sync::{Arc, OnceLock};

use actix::{Actor, ActorContext, Addr, Context, Handler, Message};

use super::actor::ServiceRegistry;
use super::entry::{Key, Provider, Singleton, erase};
use super::{Registry, RegistryError};
use crate::Shutdown;
use crate::UserError;

/// Registers a service. Build it with [`instance`](Self::instance),
/// [`singleton`](Self::singleton), [`transient`](Self::transient) or
/// [`actor`](Self::actor), then optionally [`named`](Self::named) and
/// [`replacing`](Self::replacing).
///
/// # Examples
///
/// ```
/// # use std::sync::Arc;
/// # use steward_actors::registry::{Register, Registry};
/// # #[actix_rt::main]
/// # async fn main() -> Result<(), steward_actors::registry::RegistryError> {
/// # let registry = Registry::start_in(&actix::Arbiter::current());
/// struct Pool(&'static str);
///
/// registry.register_with(Register::instance(Arc::new(Pool("primary"))).named("primary")).await?;
/// registry.register_with(Register::instance(Arc::new(Pool("replica"))).named("replica")).await?;
/// assert_eq!(registry.resolve_named::<Pool>("replica")?.0, "replica");
/// # Ok(())
/// # }
/// ```
#[derive(Message)]
#[rtype(result = "Result<(), RegistryError>")]
pub struct Register {
    pub(crate) key: Key,
    pub(crate) provider: Provider,
    pub(crate) replace: bool,
}

impl Register {
    /// A value shared as it is.
    #[must_use]
    pub fn instance<T: Send + Sync + 'static>(value: Arc<T>) -> Self {
        Self::new::<T>(Provider::Instance(value))
    }

    /// A value created by `factory` on first resolve, once, then shared.
    ///
    /// `factory` receives the registry and may resolve other services.
    #[must_use]
    pub fn singleton<T, F>(factory: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(&Registry) -> Result<T, UserError> + Send + Sync + 'static,
    {
        let singleton = Singleton {
            factory: erase(factory),
            value: OnceLock::new(),
        };
        Self::new::<T>(Provider::Singleton(Arc::new(singleton)))
    }

    /// A value created by `factory` anew on every resolve.
    #[must_use]
    pub fn transient<T, F>(factory: F) -> Self
    where
        T: Send + Sync + 'static,
        F: Fn(&Registry) -> Result<T, UserError> + Send + Sync + 'static,
    {
        Self::new::<T>(Provider::Transient(Arc::from(erase(factory))))
    }

    /// An actor's address, resolved with
    /// [`Registry::resolve_actor`](super::Registry::resolve_actor).
    #[must_use]
    pub fn actor<A: Actor>(address: Addr<A>) -> Self {
        Self::instance(Arc::new(address))
    }

    /// Registers under `name`, beside (not instead of) an unnamed service
    /// of the same type.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.key.name = Some(name.into().into_boxed_str());
        self
    }

    /// Replaces a service registered under the same type and name instead
    /// of failing with `AlreadyRegistered`.
    #[must_use]
    pub fn replacing(mut self) -> Self {
        self.replace = true;
        self
    }

    fn new<T: 'static>(provider: Provider) -> Self {
        Self {
            key: Key::of::<T>(None),
            provider,
            replace: false,
        }
    }
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("service", &self.key.service_name().to_string())
            .field("kind", &self.provider.kind())
            .field("replace", &self.replace)
            .finish()
    }
}

/// Removes a service; resolving it afterwards fails with `NotRegistered`.
/// A value already handed out lives on in its holders.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), RegistryError>")]
pub struct Unregister {
    pub(crate) key: Key,
}

impl Unregister {
    /// Removes the unnamed service of type `T`.
    #[must_use]
    pub fn of<T: 'static>() -> Self {
        Self {
            key: Key::of::<T>(None),
        }
    }

    /// Removes the service of type `T` registered under `name`.
    #[must_use]
    pub fn named<T: 'static>(name: impl Into<String>) -> Self {
        Self {
            key: Key::of::<T>(Some(name.into().into_boxed_str())),
        }
    }
}

impl Handler<Register> for ServiceRegistry {
    type Result = Result<(), RegistryError>;

    fn handle(&mut self, message: Register, _: &mut Context<Self>) -> Self::Result {
        self.register(message.key, message.provider, message.replace)
    }
}

impl Handler<Unregister> for ServiceRegistry {
    type Result = Result<(), RegistryError>;

    fn handle(&mut self, message: Unregister, _: &mut Context<Self>) -> Self::Result {
        self.unregister(&message.key)
    }
}

impl Handler<Shutdown> for ServiceRegistry {
    type Result = ();

    fn handle(&mut self, _: Shutdown, ctx: &mut Context<Self>) {
        self.shut_down();
        ctx.stop();
    }
}
