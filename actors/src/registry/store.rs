//! The registry's shared state: what the actor writes and handles read.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;

use super::entry::{Entry, Key, Provider};
use super::type_id_hasher::BuildTypeIdHasher;
use super::{RegistryError, ServiceInfo};

/// A key borrowed for a lookup, so resolving a named service allocates
/// nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lookup<'a> {
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    pub(crate) name: Option<&'a str>,
}

impl Lookup<'_> {
    pub(crate) fn of<T: 'static>(name: Option<&str>) -> Lookup<'_> {
        Lookup {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
            name,
        }
    }

    pub(crate) fn service_name(&self) -> super::ServiceName {
        super::ServiceName::new(self.type_name, self.name)
    }
}

/// Services by type, and named services by type then name.
///
/// Only the registry actor inserts and removes; handles read concurrently.
/// Keys are hashed by [`BuildTypeIdHasher`], which passes a `TypeId` through.
/// Unnamed and named services live in separate maps so the common lookup
/// hashes a bare `TypeId` and a named one borrows its `&str`.
#[derive(Default)]
pub(crate) struct Store {
    unnamed: DashMap<TypeId, Entry, BuildTypeIdHasher>,
    named: DashMap<TypeId, HashMap<Box<str>, Entry>, BuildTypeIdHasher>,
    closed: AtomicBool,
}

impl Store {
    /// Runs `read` on the entry under `lookup` while its shard is locked for
    /// reading. `read` must not call back into the registry.
    #[inline]
    pub(crate) fn read<R>(&self, lookup: Lookup<'_>, read: impl FnOnce(&Entry) -> R) -> Option<R> {
        match lookup.name {
            None => self.unnamed.get(&lookup.type_id).map(|entry| read(&entry)),
            Some(name) => self
                .named
                .get(&lookup.type_id)
                .and_then(|names| names.get(name).map(read)),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Inserts `entry`; returns the entry it replaced, for the caller to
    /// drop once no map lock is held (its `Drop` may use the registry).
    pub(crate) fn insert(
        &self,
        key: Key,
        entry: Entry,
        replace: bool,
    ) -> Result<Option<Entry>, RegistryError> {
        if self.is_closed() {
            return Err(RegistryError::Closed);
        }
        let already = || RegistryError::AlreadyRegistered {
            service: key.service_name(),
        };
        let replaced = match &key.name {
            None => match self.unnamed.entry(key.type_id) {
                MapEntry::Occupied(_) if !replace => return Err(already()),
                MapEntry::Occupied(mut occupied) => Some(occupied.insert(entry)),
                MapEntry::Vacant(vacant) => {
                    vacant.insert(entry);
                    None
                }
            },
            Some(name) => {
                let mut names = self.named.entry(key.type_id).or_default();
                if !replace && names.contains_key(name) {
                    return Err(already());
                }
                names.insert(name.clone(), entry)
            }
        };
        Ok(replaced)
    }

    pub(crate) fn remove(&self, key: &Key) -> Result<Entry, RegistryError> {
        let removed = match &key.name {
            None => self.unnamed.remove(&key.type_id).map(|(_, entry)| entry),
            Some(name) => {
                let removed = self
                    .named
                    .get_mut(&key.type_id)
                    .and_then(|mut names| names.remove(name));
                self.named
                    .remove_if(&key.type_id, |_, names| names.is_empty());
                removed
            }
        };
        removed.ok_or_else(|| RegistryError::NotRegistered {
            service: key.service_name(),
        })
    }

    /// Refuses later registrations and resolves, then takes every entry out,
    /// newest registration first, so services are dropped in reverse order.
    pub(crate) fn close(&self) -> Vec<Entry> {
        self.closed.store(true, Ordering::Release);
        let mut entries: Vec<Entry> = Vec::new();
        let unnamed: Vec<TypeId> = self.unnamed.iter().map(|e| *e.key()).collect();
        for type_id in unnamed {
            entries.extend(self.unnamed.remove(&type_id).map(|(_, entry)| entry));
        }
        let named: Vec<TypeId> = self.named.iter().map(|e| *e.key()).collect();
        for type_id in named {
            entries.extend(
                self.named
                    .remove(&type_id)
                    .into_iter()
                    .flat_map(|(_, names)| names.into_values()),
            );
        }
        entries.sort_by_key(|entry| std::cmp::Reverse(entry.sequence));
        entries
    }

    /// Every registered service, sorted by type name then name.
    pub(crate) fn services(&self) -> Vec<ServiceInfo> {
        let describe = |name: Option<&str>, entry: &Entry| ServiceInfo {
            type_name: entry.type_name,
            name: name.map(str::to_owned),
            kind: entry.provider.kind(),
            created: match &entry.provider {
                Provider::Instance(_) => true,
                Provider::Singleton(singleton) => singleton.value.get().is_some(),
                Provider::Transient(_) => false,
            },
        };
        let mut services: Vec<ServiceInfo> = self
            .unnamed
            .iter()
            .map(|entry| describe(None, entry.value()))
            .collect();
        for names in &self.named {
            services.extend(
                names
                    .value()
                    .iter()
                    .map(|(name, entry)| describe(Some(name), entry)),
            );
        }
        services.sort_by(|a, b| (a.type_name, &a.name).cmp(&(b.type_name, &b.name)));
        services
    }
}
