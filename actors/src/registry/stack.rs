//! The services this thread is creating right now, to catch a factory that
//! (through others) resolves its own service.

use std::any::TypeId;
use std::cell::RefCell;

use super::store::Lookup;
use super::{RegistryError, ServiceName};

struct Frame {
    /// Which registry (two registries may hold the same type).
    registry: usize,
    type_id: TypeId,
    name: Option<Box<str>>,
    service: ServiceName,
}

impl Frame {
    fn is(&self, registry: usize, lookup: Lookup<'_>) -> bool {
        self.registry == registry
            && self.type_id == lookup.type_id
            && self.name.as_deref() == lookup.name
    }
}

thread_local! {
    static CREATING: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Marks a service as being created on this thread until dropped.
#[derive(Debug)]
#[must_use]
pub(crate) struct Creating(());

impl Drop for Creating {
    fn drop(&mut self) {
        CREATING.with_borrow_mut(|stack| stack.pop());
    }
}

/// Enters the creation of `lookup`.
///
/// # Errors
///
/// [`RegistryError::Cycle`] when this thread is creating it already: the
/// chain runs from its first creation to this one.
pub(crate) fn enter(registry: usize, lookup: Lookup<'_>) -> Result<Creating, RegistryError> {
    CREATING.with_borrow_mut(|stack| {
        if let Some(first) = stack.iter().position(|frame| frame.is(registry, lookup)) {
            let mut chain: Vec<ServiceName> = stack[first..]
                .iter()
                .filter(|frame| frame.registry == registry)
                .map(|frame| frame.service.clone())
                .collect();
            chain.push(lookup.service_name());
            return Err(RegistryError::Cycle { chain });
        }
        stack.push(Frame {
            registry,
            type_id: lookup.type_id,
            name: lookup.name.map(Box::from),
            service: lookup.service_name(),
        });
        Ok(Creating(()))
    })
}

/// The services of `registry` this thread is creating, outermost first.
pub(crate) fn chain(registry: usize) -> Vec<ServiceName> {
    CREATING.with_borrow(|stack| {
        stack
            .iter()
            .filter(|frame| frame.registry == registry)
            .map(|frame| frame.service.clone())
            .collect()
    })
}
