//! A tracked task: the monitor that records how it ended.

use std::any::{Any, TypeId};
use std::time::{Duration, SystemTime};

use tokio::sync::{oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

use super::error::{Kind, TrackerError};
use super::status::{TaskState, TaskStatus};
use crate::panic_message::panic_message;

/// Asks the monitor for the (type-erased) `JoinHandle` back.
pub(crate) type ReturnHandle = oneshot::Sender<oneshot::Sender<Box<dyn Any + Send>>>;

pub(crate) struct TaskEntry {
    pub(crate) sequence: u64,
    pub(crate) started: SystemTime,
    pub(crate) state: watch::Receiver<TaskState>,
    pub(crate) abort: AbortHandle,
    pub(crate) hand_back: ReturnHandle,
    pub(crate) output: (TypeId, &'static str),
}

impl TaskEntry {
    pub(crate) fn status(&self) -> TaskStatus {
        TaskStatus {
            state: self.state.borrow().clone(),
            started: self.started,
        }
    }

    /// Asks the monitor for the handle back, typed.
    pub(crate) async fn into_handle<T: 'static>(
        self,
        key: &str,
    ) -> Result<tokio::task::JoinHandle<T>, TrackerError> {
        let gone = || TrackerError::NotRegistered {
            kind: Kind::Task,
            key: key.to_owned(),
        };
        let (reply, handle) = oneshot::channel();
        self.hand_back.send(reply).map_err(|_| gone())?;
        let handle = handle.await.map_err(|_| gone())?;
        handle
            .downcast::<tokio::task::JoinHandle<T>>()
            .map(|handle| *handle)
            .map_err(|_| gone())
    }

    /// Aborts the task and waits, at most `timeout`, for it to end; a
    /// timeout is an error naming `key`.
    pub(crate) async fn cancel_within(
        self,
        key: String,
        timeout: Duration,
    ) -> Result<TaskState, TrackerError> {
        self.cancel(timeout).await.ok_or(TrackerError::Timeout {
            kind: Kind::Task,
            key,
            timeout,
        })
    }

    /// Aborts the task and waits, at most `timeout`, for it to end.
    pub(crate) async fn cancel(mut self, timeout: Duration) -> Option<TaskState> {
        self.abort.abort();
        let ended = tokio::time::timeout(
            timeout,
            self.state.wait_for(|state| *state != TaskState::Running),
        )
        .await;
        let state = ended.ok()?.ok()?.clone();
        Some(state)
    }
}

/// Starts the monitor of `handle`: it records the task's end, calls
/// `finished` then, and hands the handle back on request.
pub(crate) fn spawn_watcher<T: Send + 'static>(
    mut handle: JoinHandle<T>,
    finished: impl FnOnce() + Send + 'static,
) -> (watch::Receiver<TaskState>, AbortHandle, ReturnHandle) {
    let (state_tx, state) = watch::channel(TaskState::Running);
    let (hand_back, mut requests) = oneshot::channel::<oneshot::Sender<Box<dyn Any + Send>>>();
    let abort = handle.abort_handle();
    tokio::spawn(async move {
        tokio::select! {
            ended = &mut handle => {
                let state = match ended {
                    Ok(_) => TaskState::Finished,
                    Err(err) if err.is_panic() => TaskState::Panicked { message: panic_message(&*err.into_panic()) },
                    Err(_) => TaskState::Cancelled,
                };
                state_tx.send_replace(state);
                finished();
            }
            request = &mut requests => {
                if let Ok(reply) = request {
                    let _ = reply.send(Box::new(handle));
                }
            }
        }
    });
    (state, abort, hand_back)
}
