//! Building and starting a supervisor.

use std::collections::HashSet;
use std::time::Duration;

use actix::{Actor, ArbiterHandle};

use super::messages::StartChildren;
use super::{ChildSpec, Strategy, Supervisor, SupervisorError, SupervisorHandle};

/// Builds a [`Supervisor`]: its strategy, restart intensity and
/// children (started in the order added).
///
/// Defaults: [`Strategy::OneForOne`], at most 3 restarts in 5 s.
#[derive(Debug)]
#[must_use = "a builder does nothing until started"]
pub struct SupervisorBuilder {
    pub(super) name: String,
    pub(super) strategy: Strategy,
    pub(super) max_restarts: u32,
    pub(super) window: Duration,
    pub(super) children: Vec<ChildSpec>,
}

impl SupervisorBuilder {
    pub(super) fn new(name: String) -> Self {
        Self {
            name,
            strategy: Strategy::OneForOne,
            max_restarts: 3,
            window: Duration::from_secs(5),
            children: Vec::new(),
        }
    }

    /// Which children restart when one ends.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// More than `max_restarts` restarts within `window` escalate.
    pub fn intensity(mut self, max_restarts: u32, window: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.window = window;
        self
    }

    /// Adds a child; children start in the order added and stop in
    /// reverse.
    pub fn child(mut self, child: ChildSpec) -> Self {
        self.children.push(child);
        self
    }

    fn validate(&self) -> Result<(), SupervisorError> {
        if self.window.is_zero() {
            return Err(SupervisorError::InvalidSettings {
                supervisor: self.name.clone(),
                problem: "the restart window must be above zero".to_owned(),
            });
        }
        let mut ids = HashSet::new();
        for child in &self.children {
            if !ids.insert(child.id.as_str()) {
                return Err(SupervisorError::DuplicateChild {
                    supervisor: self.name.clone(),
                    child: child.id.clone(),
                });
            }
        }
        Ok(())
    }

    /// Starts the supervisor on the current thread's arbiter and its
    /// children in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::supervisor::{ChildSpec, Supervisor, SupervisorError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), SupervisorError> {
    /// let supervisor = Supervisor::builder("workers")
    ///     .child(ChildSpec::task("ticker", |mut stop| async move {
    ///         stop.requested().await;
    ///         Ok(())
    ///     }))
    ///     .start()
    ///     .await?;
    /// assert_eq!(supervisor.children().await?.len(), 1);
    /// supervisor.stop().await;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SupervisorError::StartFailed`] naming the child whose start
    /// failed (those started before it are stopped again, newest first),
    /// [`SupervisorError::DuplicateChild`],
    /// [`SupervisorError::InvalidSettings`], or
    /// [`SupervisorError::NoArbiter`] outside an actix System.
    pub async fn start(self) -> Result<SupervisorHandle, SupervisorError> {
        let Some(arbiter) = actix::Arbiter::try_current() else {
            return Err(SupervisorError::NoArbiter {
                supervisor: self.name,
            });
        };
        self.start_in(&arbiter).await
    }

    /// Like [`start`](Self::start), on `arbiter`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::supervisor::{ChildSpec, Supervisor, SupervisorError};
    /// # #[actix_rt::main]
    /// # async fn main() -> Result<(), SupervisorError> {
    /// let arbiter = actix::Arbiter::new(); // a thread of its own
    /// let supervisor = Supervisor::builder("elsewhere")
    ///     .child(ChildSpec::task("idle", |mut stop| async move {
    ///         stop.requested().await;
    ///         Ok(())
    ///     }))
    ///     .start_in(&arbiter.handle())
    ///     .await?;
    /// supervisor.stop().await;
    /// arbiter.stop();
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), without `NoArbiter`.
    pub async fn start_in(
        self,
        arbiter: &ArbiterHandle,
    ) -> Result<SupervisorHandle, SupervisorError> {
        self.validate()?;
        let name = self.name.clone();
        let supervisor = Supervisor::new(self);
        let view = supervisor.view();
        let exit = supervisor.exit_receiver();
        let kill = supervisor.kill_switch();
        let addr = Supervisor::start_in_arbiter(arbiter, move |_| supervisor);
        let handle = SupervisorHandle::new(&name, addr.clone(), view, exit, kill);
        let stopped = || SupervisorError::Stopped {
            supervisor: name.clone(),
        };
        addr.send(StartChildren).await.map_err(|_| stopped())??;
        Ok(handle)
    }
}
