//! [`SupervisorHandle`]: the handle of a running supervisor.

use std::sync::Arc;

use actix::{Addr, Recipient};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::messages::{ReportChildren, StopChildren, SubscribeSupervisorState};
use super::{Exit, Restart, Supervisor, SupervisorError};
use crate::lifecycle::{State, StateChanged, StateView};
use crate::sync::DropGuard;

/// How a supervisor ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SupervisorExit {
    /// It was stopped, or its System went down.
    Stopped,
    /// Its children restarted more often than its intensity allows; it
    /// stopped them all and gave up.
    Escalated(String),
}

impl SupervisorExit {
    /// The [`Exit`] a parent supervisor sees.
    #[must_use]
    pub fn into_exit(self) -> Exit {
        match self {
            SupervisorExit::Stopped => Exit::Normal,
            SupervisorExit::Escalated(reason) => Exit::Failed(format!("escalated: {reason}")),
        }
    }
}

/// One child, as its supervisor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChildStatus {
    /// The child's id.
    pub id: String,
    /// Whether it is running now.
    pub running: bool,
    /// Its restart type.
    pub restart: Restart,
    /// How often it was restarted.
    pub restarts: u32,
    /// How it ended last, if it ever did.
    pub last_exit: Option<Exit>,
}

/// The handle of a running [`Supervisor`].
///
/// Cheap to clone. When the last clone is dropped, the supervisor stops
/// its children (newest first) and stops.
#[derive(Clone)]
pub struct SupervisorHandle {
    name: Arc<str>,
    addr: Addr<Supervisor>,
    view: StateView,
    exit: watch::Receiver<Option<SupervisorExit>>,
    kill: Arc<watch::Sender<bool>>,
    /// Stops the supervisor when the last clone of the handle goes.
    _stopper: Arc<DropGuard<Box<dyn FnOnce() + Send + Sync>>>,
}

impl std::fmt::Debug for SupervisorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorHandle")
            .field("name", &self.name)
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl SupervisorHandle {
    pub(super) fn new(
        name: &str,
        addr: Addr<Supervisor>,
        view: StateView,
        exit: watch::Receiver<Option<SupervisorExit>>,
        kill: Arc<watch::Sender<bool>>,
    ) -> Self {
        Self {
            kill,
            name: name.into(),
            _stopper: Arc::new(DropGuard::boxed({
                let addr = addr.clone();
                move || {
                    // Lost only when the supervisor is already gone.
                    addr.do_send(StopChildren {
                        brutal: false,
                        reply: None,
                    });
                }
            })),
            addr,
            view,
            exit,
        }
    }

    /// The supervisor's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its state: `Ready`, `Degraded` while restarts are recent, `Error`
    /// once escalated, `Closed` once stopped. Read without a message.
    #[must_use]
    pub fn state(&self) -> State {
        self.view.state()
    }

    /// A view of the state to wait on.
    #[must_use]
    pub fn view(&self) -> &StateView {
        &self.view
    }

    /// Every later [`StateChanged`].
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<StateChanged> {
        self.view.subscribe()
    }

    /// Delivers every later [`StateChanged`] to an actor.
    pub fn subscribe_recipient(&self, recipient: Recipient<StateChanged>) {
        // Lost only when the supervisor is gone: then no move would come.
        self.addr.do_send(SubscribeSupervisorState(recipient));
    }

    /// The supervisor actor's address, for an application's actors
    /// ([`StopChildren`](super::StopChildren),
    /// [`ReportChildren`](super::ReportChildren)).
    #[must_use]
    pub fn address(&self) -> &Addr<Supervisor> {
        &self.addr
    }

    /// The children, in start order.
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
    /// let children = supervisor.children().await?;
    /// assert_eq!((children[0].id.as_str(), children[0].running, children[0].restarts), ("ticker", true, 0));
    /// supervisor.stop().await;
    /// assert!(supervisor.children().await.is_err(), "stopped");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`SupervisorError::Stopped`] once the supervisor has stopped.
    pub async fn children(&self) -> Result<Vec<ChildStatus>, SupervisorError> {
        crate::sync::ask(&self.addr, ReportChildren, || self.stopped()).await
    }

    /// Stops every child in reverse start order (each by its
    /// [`ChildShutdown`](super::ChildShutdown)), then the supervisor.
    /// Returns at once when it has already stopped (that is not an
    /// error: a stop cannot fail).
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
    /// supervisor.stop().await;
    /// supervisor.stop().await; // already stopped: returns at once
    /// assert_eq!(supervisor.state(), steward_actors::State::Closed);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Dropping the future does not stop the stop.
    pub async fn stop(&self) {
        let (reply, done) = tokio::sync::oneshot::channel();
        let message = StopChildren {
            brutal: false,
            reply: Some(reply),
        };
        if self.addr.send(message).await.is_ok() {
            // A dropped reply means the supervisor stopped meanwhile.
            let _ = done.await;
        }
    }

    /// Resolves when the supervisor has ended, with how.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::supervisor::SupervisorExit;
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
    /// let stopping = supervisor.clone();
    /// tokio::spawn(async move { stopping.stop().await });
    /// assert!(matches!(supervisor.exited().await, SupervisorExit::Stopped));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn exited(&self) -> SupervisorExit {
        let mut exit = self.exit.clone();
        let ended = exit
            .wait_for(Option::is_some)
            .await
            .map(|exit| exit.clone());
        match ended {
            Ok(Some(exit)) => exit,
            // The supervisor's sender is gone: it stopped with its System.
            _ => exit.borrow().clone().unwrap_or(SupervisorExit::Stopped),
        }
    }

    /// Asks the supervisor to stop without waiting (a parent's stop or
    /// kill of a nested supervisor).
    pub(crate) fn request_stop(&self, brutal: bool) {
        if brutal {
            // Reaches a stop already in progress, which the mailbox would
            // not deliver to until it is done.
            self.kill.send_replace(true);
        }
        self.addr.do_send(StopChildren {
            brutal,
            reply: None,
        });
    }

    fn stopped(&self) -> SupervisorError {
        SupervisorError::Stopped {
            supervisor: self.name.to_string(),
        }
    }
}
