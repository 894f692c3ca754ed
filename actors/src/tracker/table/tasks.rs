//! Tasks in the table: registered with a monitor on the tracker's
//! runtime, kept in a short history once finished, taken out by key.

use std::any::TypeId;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::TrackerState;
use crate::tracker::error::{Kind, Rejected, TrackerError, refusal};
use crate::tracker::task::{self, TaskEntry};

/// Finished tasks kept in the status.
const TASK_HISTORY: usize = 256;

impl TrackerState {
    /// Tracks a task; its monitor runs on the tracker's runtime.
    pub(crate) fn register_task<T: Send + 'static>(
        self: &Arc<Self>,
        runtime: &Handle,
        key: String,
        handle: JoinHandle<T>,
    ) -> Result<(), Rejected<JoinHandle<T>>> {
        let mut table = self.table();
        let taken = table.tasks.contains_key(&key);
        if let Some(error) = refusal(self.is_closed(), taken, Kind::Task, &key) {
            return Err(Rejected {
                error,
                item: Some(Box::new(handle)),
            });
        }
        let sequence = self.next_id();
        let me: Weak<Self> = Arc::downgrade(self);
        let ended_key = key.clone();
        let (state, abort, hand_back) = {
            let _runtime = runtime.enter();
            task::spawn_watcher(handle, move || {
                if let Some(shared) = me.upgrade() {
                    shared.task_ended(&ended_key, sequence);
                }
            })
        };
        table.tasks.insert(
            key,
            TaskEntry {
                sequence,
                started: SystemTime::now(),
                state,
                abort,
                hand_back,
                output: (TypeId::of::<T>(), std::any::type_name::<T>()),
            },
        );
        Ok(())
    }

    /// A task's monitor saw it end: it moves to the finished list.
    fn task_ended(&self, key: &str, sequence: u64) {
        let mut table = self.table();
        if table
            .tasks
            .get(key)
            .is_some_and(|entry| entry.sequence == sequence)
            && let Some(entry) = table.tasks.remove(key)
        {
            if table.finished_tasks.len() == TASK_HISTORY {
                table.finished_tasks.pop_front();
            }
            table
                .finished_tasks
                .push_back((key.to_owned(), entry.status()));
        }
    }

    /// Takes the task under `key` out.
    pub(crate) fn take_task(&self, key: &str) -> Result<TaskEntry, TrackerError> {
        self.table()
            .tasks
            .remove(key)
            .ok_or_else(|| TrackerError::NotRegistered {
                kind: Kind::Task,
                key: key.to_owned(),
            })
    }

    /// Takes the task under `key` out if it holds a `T`.
    pub(crate) fn take_task_of<T: 'static>(&self, key: &str) -> Result<TaskEntry, TrackerError> {
        let mut table = self.table();
        match table.tasks.get(key) {
            Some(entry) if entry.output.0 != TypeId::of::<T>() => Err(TrackerError::WrongType {
                kind: Kind::Task,
                key: key.to_owned(),
                expected: std::any::type_name::<T>(),
                actual: entry.output.1,
            }),
            Some(_) => table
                .tasks
                .remove(key)
                .ok_or_else(|| unreachable_missing(key)),
            None => Err(unreachable_missing(key)),
        }
    }
}

fn unreachable_missing(key: &str) -> TrackerError {
    TrackerError::NotRegistered {
        kind: Kind::Task,
        key: key.to_owned(),
    }
}
