//! Named resources with dependencies, initialized in dependency order and
//! cleaned up in reverse.
//!
//! - Validation before anything starts: a duplicate name, an unknown
//!   dependency or a cycle is a [`GroupError`] naming it.
//! - [`ResourceGroup::initialize`]: each member starts as soon as its
//!   dependencies are `Ready`, independent members concurrently. If one
//!   fails (after its own retries), nothing more starts; the members that
//!   came up are cleaned up newest dependency first, and the error names
//!   the failed member. The failed member itself is not cleaned up: as an
//!   OTP supervisor does not terminate a child whose start failed, its
//!   `cleanup` does not run (its `initialize` is to release what it took
//!   before failing); it is closed without it. A later `initialize`
//!   starts every member afresh.
//! - [`ResourceGroup::cleanup`]: reverse dependency order.
//! - [`ResourceGroup::health`]: the worst state of the members, and each
//!   member's. [`ResourceGroup::get`] returns a member's typed handle.
//!
//! Each member is a [`ResourceKeeper`](crate::resource::ResourceKeeper)
//! of its own. The group itself is not an actor: it has no state of its
//! own to guard between calls beyond its lifecycle, which a lock
//! serializes, and its work is orchestration its owner awaits.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use steward_actors::group::ResourceGroup;
//! use steward_actors::resource::{Resource, ResourceKeeper};
//! use steward_actors::{State, UserError};
//!
//! #[derive(Debug)]
//! struct Service(&'static str);
//!
//! impl Resource for Service {
//!     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
//!     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
//! }
//!
//! # #[actix_rt::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let group = ResourceGroup::builder("user_service")
//!     .resource("db", &[], || ResourceKeeper::builder("db", Service("postgres")))
//!     .resource("cache", &["db"], || ResourceKeeper::builder("cache", Service("redis")))
//!     .resource("api", &["db", "cache"], || ResourceKeeper::builder("api", Service("https")))
//!     .build()?;
//! group.initialize().await?;
//! assert_eq!(group.health().state, State::Ready);
//! assert_eq!(group.get::<Service>("cache")?.resource()?.0, "redis");
//! group.cleanup(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```

mod builder;
mod error;
mod graph;
mod health;
mod member;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Mutex;

pub use builder::GroupBuilder;
pub use error::GroupError;
pub use health::{GroupHealth, MemberHealth};

use crate::lifecycle::{Lifecycle, State, StateView};
use crate::resource::{Managed, Resource, ResourceError};
use member::{Member, Slot};

/// Named resources with dependencies; see the [module docs](self).
pub struct ResourceGroup {
    name: String,
    slots: Vec<Slot>,
    /// Dependencies first.
    order: Vec<usize>,
    lifecycle: Mutex<Lifecycle>,
    view: StateView,
}

impl std::fmt::Debug for ResourceGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceGroup")
            .field("name", &self.name)
            .field(
                "members",
                &self.slots.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("state", &self.view.state())
            .finish()
    }
}

impl ResourceGroup {
    /// A builder for a group named `name`.
    pub fn builder(name: impl Into<String>) -> GroupBuilder {
        GroupBuilder::new(name.into())
    }

    /// The group's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The group's own lifecycle state.
    #[must_use]
    pub fn state(&self) -> State {
        self.view.state()
    }

    /// A view of the group's state, with its event stream.
    #[must_use]
    pub fn view(&self) -> &StateView {
        &self.view
    }

    /// The members' names, dependencies first.
    #[must_use]
    pub fn initialization_order(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.slots[i].name.as_str())
            .collect()
    }

    /// Initializes every member in dependency order, independent members
    /// concurrently; on a failure cleans up what came up (newest
    /// dependency first), closes the member that failed without its
    /// `cleanup` (it never came up), and names it.
    ///
    /// # Examples
    ///
    /// See the [module documentation](self).
    ///
    /// # Errors
    ///
    /// [`GroupError::Initialize`] or [`GroupError::StartPanicked`] naming
    /// the member; [`GroupError::Closed`] after [`cleanup`](Self::cleanup).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future stops launching members; those started are
    /// closed by their keepers once the group drops them (at the next
    /// `initialize`, or when the group is dropped).
    pub async fn initialize(&self) -> Result<(), GroupError> {
        let mut lifecycle = self.lifecycle.lock().await;
        match lifecycle.state() {
            State::Ready | State::Degraded => return Ok(()),
            State::Closing | State::Closed => return Err(self.closed()),
            _ => {}
        }
        lifecycle.advance_expected(State::Initializing, "initializing members");
        match self.bring_up().await {
            Ok(()) => {
                lifecycle.advance_expected(State::Ready, "every member is ready");
                Ok(())
            }
            Err(error) => {
                lifecycle.advance_expected(State::Error, error.to_string());
                Err(error)
            }
        }
    }

    async fn bring_up(&self) -> Result<(), GroupError> {
        let mut waiting: Vec<usize> = self.slots.iter().map(|slot| slot.deps.len()).collect();
        let mut running = FuturesUnordered::new();
        let mut started = Vec::new();
        let mut failed = Vec::new();
        let mut failure = None;
        let launch = |index: usize, started: &mut Vec<usize>| {
            let slot = &self.slots[index];
            let member = slot.start();
            if member.is_ok() {
                started.push(index);
            }
            async move {
                let outcome = match member {
                    Ok(member) => {
                        member
                            .initialize()
                            .await
                            .map_err(|source| GroupError::Initialize {
                                resource: slot.name.clone(),
                                source,
                            })
                    }
                    Err(error) => Err(error),
                };
                (index, outcome)
            }
        };
        for index in self.order.iter().copied().filter(|&i| waiting[i] == 0) {
            running.push(launch(index, &mut started));
        }
        while let Some((index, outcome)) = running.next().await {
            if let Err(error) = outcome {
                tracing::warn!(target: "steward::group", group = %self.name, resource = %self.slots[index].name, %error, "member failed to initialize");
                failed.push(index);
                failure.get_or_insert(error);
                continue;
            }
            if failure.is_some() {
                continue; // launch nothing more; let what runs finish
            }
            for dependent in self.dependents(index) {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 {
                    running.push(launch(dependent, &mut started));
                }
            }
        }
        drop(running);
        let Some(failure) = failure else {
            return Ok(());
        };
        // A member whose start failed is closed without its cleanup (OTP's
        // rule); the ones that came up are cleaned up, newest dependency
        // first. The failure is the error worth reporting.
        for &index in &failed {
            if let Some(member) = self.slots[index].current() {
                member.discard().await;
            }
        }
        started.retain(|index| !failed.contains(index));
        let _ = self.close_in_reverse(&started, CLEANUP_ON_FAILURE).await;
        Err(failure)
    }

    fn dependents(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.order
            .iter()
            .copied()
            .filter(move |&i| self.slots[i].deps.contains(&index))
    }

    /// Closes the members among `members`, in reverse dependency order,
    /// one after another.
    async fn close_in_reverse(
        &self,
        members: &[usize],
        timeout: Duration,
    ) -> Vec<(String, ResourceError)> {
        let mut failures = Vec::new();
        for &index in self.order.iter().rev() {
            if !members.contains(&index) {
                continue;
            }
            let slot = &self.slots[index];
            if let Some(member) = slot.current()
                && let Err(error) = member.close(timeout).await
            {
                failures.push((slot.name.clone(), error));
            }
        }
        failures
    }

    /// Cleans every member up in reverse dependency order, each within
    /// `timeout`. The group is `Closed` afterwards, whatever failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use steward_actors::group::ResourceGroup;
    /// # use steward_actors::resource::{Resource, ResourceKeeper};
    /// # use steward_actors::{State, UserError};
    /// # struct Service;
    /// # impl Resource for Service {
    /// #     async fn initialize(&self) -> Result<(), UserError> { Ok(()) }
    /// #     async fn cleanup(&self) -> Result<(), UserError> { Ok(()) }
    /// # }
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let group = ResourceGroup::builder("app")
    ///     .resource("db", &[], || ResourceKeeper::builder("db", Service))
    ///     .resource("api", &["db"], || ResourceKeeper::builder("api", Service))
    ///     .build()?;
    /// group.initialize().await?;
    /// group.cleanup(Duration::from_secs(5)).await?; // api first, then db
    /// assert_eq!(group.health().state, State::Closed);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`GroupError::Cleanup`] listing each member that failed.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future leaves later members open until the group is
    /// dropped (their keepers then close them).
    pub async fn cleanup(&self, timeout: Duration) -> Result<(), GroupError> {
        let mut lifecycle = self.lifecycle.lock().await;
        if matches!(lifecycle.state(), State::Closing | State::Closed) {
            return Ok(());
        }
        lifecycle.advance_expected(State::Closing, "cleaning up members");
        let all: Vec<usize> = (0..self.slots.len()).collect();
        let failures = self.close_in_reverse(&all, timeout).await;
        lifecycle.advance_expected(State::Closed, "members cleaned up");
        if failures.is_empty() {
            Ok(())
        } else {
            Err(GroupError::Cleanup { failures })
        }
    }

    /// The worst state among the members, and each member's.
    #[must_use]
    pub fn health(&self) -> GroupHealth {
        let members: Vec<MemberHealth> = self
            .order
            .iter()
            .map(|&index| {
                let slot = &self.slots[index];
                MemberHealth {
                    name: slot.name.clone(),
                    state: slot.current().map_or(State::Uninitialized, |m| m.state()),
                }
            })
            .collect();
        GroupHealth::of(members)
    }

    /// The typed handle of member `name`.
    ///
    /// # Errors
    ///
    /// [`GroupError::UnknownResource`], [`GroupError::WrongType`] when the
    /// member holds another type, [`GroupError::NotStarted`] before the
    /// first [`initialize`](Self::initialize).
    pub fn get<R: Resource>(&self, name: &str) -> Result<Managed<R>, GroupError> {
        let slot = self
            .slots
            .iter()
            .find(|slot| slot.name == name)
            .ok_or_else(|| GroupError::UnknownResource {
                resource: name.to_owned(),
            })?;
        let member: Arc<dyn Member> = slot.current().ok_or_else(|| GroupError::NotStarted {
            resource: name.to_owned(),
        })?;
        member
            .as_any()
            .downcast_ref::<Managed<R>>()
            .cloned()
            .ok_or_else(|| GroupError::WrongType {
                resource: name.to_owned(),
                expected: std::any::type_name::<R>(),
            })
    }

    fn closed(&self) -> GroupError {
        GroupError::Closed {
            group: self.name.clone(),
        }
    }
}

/// How long each member may take to clean up after a failed initialize.
const CLEANUP_ON_FAILURE: Duration = crate::budget::CLOSE;

#[cfg(test)]
mod tests;
