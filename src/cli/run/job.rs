//! One job's process: started through the subprocess pool (so it is
//! tracked and stopped with its descendants), its output read as it comes
//! and handed to the runner, its end reported.
//!
//! A job ends when its process ends: what it wrote before exiting is taken
//! from the pipes without waiting for them to close, so a background
//! grandchild that keeps them open does not keep the job "running" (it is
//! stopped when the job's tracked process is let go).

use std::os::fd::AsFd;
use std::process::ExitStatus;

use steward::subprocess_pool::{SubprocessError, SubprocessPool};
use steward::tracker::{ChildIo, CommandSpec, TrackerError};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::spool::Stream;

/// How much is read from a pipe at a time.
const READ_CHUNK: usize = 16 * 1024;
/// How much is taken from a pipe after the job exited: what a pipe holds,
/// not what a grandchild may still be writing.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// What a job tells the runner.
#[derive(Debug)]
pub(crate) enum Event {
    /// It started; `key` is its tracker key (to stop it).
    Started { id: u64, key: String },
    /// It wrote `bytes`.
    Output {
        id: u64,
        stream: Stream,
        bytes: Vec<u8>,
    },
    /// It ended.
    Ended { id: u64, end: End },
}

/// How a job ended.
#[derive(Debug)]
pub(crate) enum End {
    /// Its process exited.
    Exited(ExitStatus),
    /// It could not start: the shell's status for it (127 not found, 126
    /// not executable) and why.
    NotStarted { status: i32, why: String },
}

/// A job to start.
#[derive(Debug)]
pub(crate) struct Launch {
    id: u64,
    /// Program and arguments.
    argv: Vec<Vec<u8>>,
    /// Extra environment: `PARALLEL_SEQ` and the like.
    env: Vec<(&'static str, String)>,
    /// Pipe stdout and stderr (`false`: `-u`, the job writes to steward's).
    piped: bool,
}

impl Launch {
    /// Job `id`, number `seq` in slot `slot`, running `argv` (at niceness
    /// `nice`: through `nice -n`, as GNU parallel does), its output piped.
    pub(crate) fn new(
        id: u64,
        argv: Vec<Vec<u8>>,
        nice: Option<i32>,
        seq: u64,
        slot: usize,
    ) -> Self {
        let argv = match nice {
            Some(nice) => {
                let nice = [
                    b"nice".to_vec(),
                    b"-n".to_vec(),
                    nice.to_string().into_bytes(),
                ];
                [nice.to_vec(), argv].concat()
            }
            None => argv,
        };
        Self {
            id,
            argv,
            env: vec![
                ("PARALLEL_SEQ", seq.to_string()),
                ("PARALLEL_JOBSLOT", slot.to_string()),
                ("PARALLEL_PID", std::process::id().to_string()),
            ],
            piped: true,
        }
    }

    /// Whether stdout and stderr are piped (`false`: `-u`).
    pub(crate) fn piped(mut self, piped: bool) -> Self {
        self.piped = piped;
        self
    }

    /// The job as the tracker reads it (so under cgroups it starts the
    /// process itself, straight into its cgroup).
    fn command(&self) -> CommandSpec {
        use std::os::unix::ffi::OsStrExt;
        let word = |bytes: &Vec<u8>| std::ffi::OsStr::from_bytes(bytes).to_owned();
        let mut command = CommandSpec::new(self.argv.first().map(word).unwrap_or_default());
        command.args(self.argv.iter().skip(1).map(word));
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        command.stdin(ChildIo::Null);
        if self.piped {
            command.stdout(ChildIo::Piped).stderr(ChildIo::Piped);
        }
        command
    }
}

/// Runs the job to its end, telling `events` as it goes.
pub(crate) async fn run(pool: SubprocessPool, launch: Launch, events: mpsc::Sender<Event>) {
    let id = launch.id;
    let program = launch
        .argv
        .first()
        .map(|program| String::from_utf8_lossy(program).into_owned())
        .unwrap_or_default();
    let mut child = match pool.spawn(launch.command()).await {
        Ok(child) => child,
        Err(error) => {
            let end = not_started(&program, &error);
            let _ = events.send(Event::Ended { id, end }).await;
            return;
        }
    };
    let key = child.key.clone();
    if events.send(Event::Started { id, key }).await.is_err() {
        return; // the runner is gone; dropping the child stops it
    }
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let (mut out_buffer, mut err_buffer) = (Vec::new(), Vec::new());
    if stdout.is_some() {
        out_buffer = vec![0; READ_CHUNK];
        err_buffer = vec![0; READ_CHUNK];
    }
    let status = loop {
        tokio::select! {
            read = read_some(&mut stdout, &mut out_buffer) => {
                if !forward(id, Stream::Stdout, read, &mut stdout, &out_buffer, &events).await {
                    return;
                }
            }
            read = read_some(&mut stderr, &mut err_buffer) => {
                if !forward(id, Stream::Stderr, read, &mut stderr, &err_buffer, &events).await {
                    return;
                }
            }
            status = child.wait() => break status,
        }
    };
    // What it wrote before it exited is in the pipes; take it without
    // waiting for them to close.
    let mut left = Vec::new();
    if let Some(pipe) = stdout.take() {
        left.extend(
            drain(&pipe, &mut out_buffer)
                .into_iter()
                .map(|bytes| (Stream::Stdout, bytes)),
        );
    }
    if let Some(pipe) = stderr.take() {
        left.extend(
            drain(&pipe, &mut out_buffer)
                .into_iter()
                .map(|bytes| (Stream::Stderr, bytes)),
        );
    }
    for (stream, bytes) in left {
        if events
            .send(Event::Output { id, stream, bytes })
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = events
        .send(Event::Ended {
            id,
            end: End::Exited(status),
        })
        .await;
}

/// Reads what `pipe` has (a pipe that is gone never resolves).
async fn read_some<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(buffer).await,
        None => std::future::pending().await,
    }
}

/// Hands a read on; at the end of the pipe (or a failed read) stops
/// reading it. `false`: the runner is gone.
async fn forward<R>(
    id: u64,
    stream: Stream,
    read: std::io::Result<usize>,
    pipe: &mut Option<R>,
    buffer: &[u8],
    events: &mpsc::Sender<Event>,
) -> bool {
    match read {
        Ok(0) | Err(_) => {
            *pipe = None;
            true
        }
        Ok(count) => events
            .send(Event::Output {
                id,
                stream,
                bytes: buffer[..count].to_vec(),
            })
            .await
            .is_ok(),
    }
}

/// What `pipe` holds now, without waiting (its descriptor is
/// non-blocking), up to [`DRAIN_LIMIT`].
fn drain(pipe: &impl AsFd, buffer: &mut Vec<u8>) -> Vec<Vec<u8>> {
    if buffer.is_empty() {
        buffer.resize(READ_CHUNK, 0);
    }
    let mut chunks = Vec::new();
    let mut taken = 0;
    while taken < DRAIN_LIMIT {
        match nix::unistd::read(pipe.as_fd(), buffer) {
            Ok(0) => break,
            Ok(count) => {
                chunks.push(buffer[..count].to_vec());
                taken += count;
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => break, // EAGAIN: empty for now
        }
    }
    chunks
}

/// What a shell would have said and exited with for a command it could
/// not start.
fn not_started(program: &str, error: &SubprocessError) -> End {
    if let SubprocessError::Tracker(TrackerError::Spawn { source, .. }) = error {
        let (status, why) = match source.kind() {
            std::io::ErrorKind::NotFound => (127, "command not found".to_owned()),
            std::io::ErrorKind::PermissionDenied => (126, "Permission denied".to_owned()),
            _ => (126, source.to_string()),
        };
        return End::NotStarted {
            status,
            why: format!("{program}: {why}"),
        };
    }
    End::NotStarted {
        status: 255,
        why: format!("{program}: {error}"),
    }
}
