//! Starting a process contained, or adopting one the application started,
//! and entering it in the table before the caller's future can be dropped.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::runtime::Handle;

use super::{ProcessExit, SpawnedProcess, TrackerState};
use crate::tracker::child::{self, ChildProcess, PidfdChild};
use crate::tracker::command::{CommandSpec, Parts, Readable};
use crate::tracker::containment::Cell;
use crate::tracker::error::{Rejected, TrackerError};
use crate::tracker::options::SpawnOptions;
use crate::tracker::process::{self, ProcessEntry};
use crate::tracker::spawn::{self, NotStarted};
use crate::tracker::status::Usage;

impl TrackerState {
    /// Starts `command` contained, in the caller's thread, and tracks it
    /// before returning.
    pub(crate) fn spawn(
        &self,
        runtime: &Handle,
        key: String,
        command: CommandSpec,
        options: &SpawnOptions,
    ) -> Result<SpawnedProcess, TrackerError> {
        self.reserve(&key)?;
        let id = self.next_id();
        let started = match command.into_readable() {
            Readable::Parts(parts) => self.start_parts(runtime, id, &key, parts, options),
            Readable::Std(command) => self.start_std(runtime, id, &key, command, options),
        };
        let (mut cell, child, pipes) = match started {
            Ok(started) => started,
            Err(error) => {
                self.table().starting.remove(&key);
                return Err(error);
            }
        };
        let Some(pid) = child.id() else {
            self.table().starting.remove(&key);
            return Err(spawn_error(
                &key,
                std::io::Error::other("exited before its pid was read"),
            ));
        };
        cell.started(pid);
        let exit = self.track(runtime, id, key, child, pid, Arc::from(cell));
        Ok(SpawnedProcess {
            pid,
            stdin: pipes.stdin,
            stdout: pipes.stdout,
            stderr: pipes.stderr,
            exit,
        })
    }

    /// Starts a readable command: straight into its cgroup where there is
    /// one, else (or where the kernel cannot) through std.
    fn start_parts(
        &self,
        runtime: &Handle,
        id: u64,
        key: &str,
        parts: Parts,
        options: &SpawnOptions,
    ) -> Result<Started, TrackerError> {
        if !spawn::is_supported() {
            return self.start_std(runtime, id, key, parts.into_std(), options);
        }
        let Some((cell, cgroup)) = self.container.prepare_direct(id, key, options)? else {
            return self.start_std(runtime, id, key, parts.into_std(), options);
        };
        let started = spawn::into_cgroup(&parts, (&self.marker_var, key), cgroup.as_fd());
        drop(cgroup);
        match started {
            Ok(started) => {
                let _runtime = runtime.enter();
                adopt_started(started, cell.as_ref(), key)
                    .map(|(child, pipes)| (cell, child, pipes))
            }
            Err(NotStarted::Unsupported) => {
                cell.release();
                self.start_std(runtime, id, key, parts.into_std(), options)
            }
            Err(NotStarted::Failed(error)) => {
                cell.release();
                Err(spawn_error(key, error))
            }
        }
    }

    /// Starts a std Command: contained by a `pre_exec` hook (cgroups) or
    /// its own process group, its reaping registered with the tracker's
    /// runtime, which outlives the caller's.
    fn start_std(
        &self,
        runtime: &Handle,
        id: u64,
        key: &str,
        mut command: Command,
        options: &SpawnOptions,
    ) -> Result<Started, TrackerError> {
        command.env(&self.marker_var, key).process_group(0);
        let cell = self.container.prepare(id, key, &mut command, options)?;
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(false);
        let spawned = {
            let _runtime = runtime.enter();
            command.spawn()
        };
        // Dropping the command closes our copy of the cgroup file.
        drop(command);
        match spawned {
            Ok(mut child) => {
                let pipes = Pipes {
                    stdin: child.stdin.take(),
                    stdout: child.stdout.take(),
                    stderr: child.stderr.take(),
                };
                Ok((cell, ChildProcess::from(child), pipes))
            }
            Err(source) => {
                cell.release();
                Err(spawn_error(key, source))
            }
        }
    }

    /// Tracks a child the application started.
    pub(crate) fn register_process(
        &self,
        runtime: &Handle,
        key: String,
        child: Child,
    ) -> Result<u32, Rejected<Child>> {
        if let Err(error) = self.reserve(&key) {
            return Err(Rejected {
                error,
                item: Some(Box::new(child)),
            });
        }
        let Some(pid) = child.id() else {
            self.table().starting.remove(&key);
            return Err(Rejected {
                error: TrackerError::AlreadyExited { key },
                item: Some(Box::new(child)),
            });
        };
        let id = self.next_id();
        let cell = self.container.adopt(id, pid);
        self.track(
            runtime,
            id,
            key,
            ChildProcess::from(child),
            pid,
            Arc::from(cell),
        );
        Ok(pid)
    }

    fn track(
        &self,
        runtime: &Handle,
        id: u64,
        key: String,
        child: ChildProcess,
        pid: u32,
        cell: Arc<dyn Cell>,
    ) -> ProcessExit {
        let group = cell.group();
        self.pids.track(pid, group == Some(pid));
        if let (Some(group), Some(watchdog)) = (group, &self.watchdog) {
            self.told().insert(group);
            watchdog.watch_group(group);
        }
        let last_usage = Arc::new(Mutex::new(Usage::default()));
        let (state, hand_back) = {
            let _runtime = runtime.enter();
            process::spawn_reaper(
                child,
                pid,
                Arc::clone(&self.pids),
                Arc::clone(&cell),
                Arc::clone(&last_usage),
            )
        };
        let exit = ProcessExit(state.clone());
        let entry = ProcessEntry {
            id,
            pid,
            started: SystemTime::now(),
            state,
            hand_back,
            cell,
            last_usage,
        };
        tracing::debug!(target: "steward::tracker", %key, pid, "process tracked");
        let mut table = self.table();
        table.starting.remove(&key);
        table.processes.insert(key, entry);
        exit
    }
}

/// A started process: its cell, its leader, the parent's ends of its pipes.
type Started = (Box<dyn Cell>, ChildProcess, Pipes);

/// The pipes a spawn hands back.
struct Pipes {
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
}

fn spawn_error(key: &str, source: std::io::Error) -> TrackerError {
    TrackerError::Spawn {
        key: key.to_owned(),
        source: Arc::new(source),
    }
}

/// Puts a directly started child and its pipes on the current runtime. If
/// that fails (the reactor refuses them), the child is killed with its
/// cell and reaped before the error is returned: nothing runs untracked.
fn adopt_started(
    started: spawn::Started,
    cell: &dyn Cell,
    key: &str,
) -> Result<(ChildProcess, Pipes), TrackerError> {
    let spawn::Started {
        pid,
        pidfd,
        stdin,
        stdout,
        stderr,
    } = started;
    let on_runtime = wrap_pipes(stdin, stdout, stderr)
        .and_then(|pipes| PidfdChild::new(pid, pidfd).map(|child| (child, pipes)));
    match on_runtime {
        Ok((child, pipes)) => Ok((ChildProcess::from_pidfd(child), pipes)),
        Err(error) => {
            cell.kill(pid, false);
            child::reap_blocking(pid);
            cell.release();
            Err(spawn_error(key, error))
        }
    }
}

/// The parent's ends of a direct spawn's pipes, on the current runtime.
fn wrap_pipes(
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
) -> std::io::Result<Pipes> {
    Ok(Pipes {
        stdin: stdin
            .map(|fd| ChildStdin::from_std(std::process::ChildStdin::from(fd)))
            .transpose()?,
        stdout: stdout
            .map(|fd| ChildStdout::from_std(std::process::ChildStdout::from(fd)))
            .transpose()?,
        stderr: stderr
            .map(|fd| ChildStderr::from_std(std::process::ChildStderr::from(fd)))
            .transpose()?,
    })
}
