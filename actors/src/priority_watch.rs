//! A thread that sleeps in `poll(2)` until files it watches signal
//! `POLLPRI` (the kernel's way of saying "changed" for PSI triggers and for
//! `/proc/self/mountinfo`), and hands each signal to a callback. It costs
//! nothing while nothing happens, and it ends when the owner drops the
//! returned [`PriorityWatch`] (the write end of a pipe it also polls).

use std::fs::File;
use std::io::{PipeReader, PipeWriter};
use std::os::fd::AsFd;
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// Keeps a watch thread alive; dropping it ends the thread.
#[derive(Debug)]
pub(crate) struct PriorityWatch {
    _stop: PipeWriter,
}

/// Starts a thread named `name` that polls each of `files` for `POLLPRI`
/// and calls `on_ready` with the file's key, the events the kernel
/// reported (`POLLPRI`, perhaps with `POLLERR`, or `POLLERR`/`POLLNVAL`
/// alone) and when. The file stays watched while `on_ready` returns
/// `true`; the thread ends when no file is left, when the returned
/// handle is dropped, or when `poll` itself fails.
///
/// # Errors
///
/// The error of creating the pipe or the thread.
pub(crate) fn spawn<K, F>(
    name: &str,
    files: Vec<(K, File)>,
    on_ready: F,
) -> std::io::Result<PriorityWatch>
where
    K: Send + 'static,
    F: FnMut(&K, PollFlags, Instant) -> bool + Send + 'static,
{
    let (reader, writer) = std::io::pipe()?;
    let thread_name = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || wait_loop(&thread_name, files, &reader, on_ready))?;
    Ok(PriorityWatch { _stop: writer })
}

fn wait_loop<K, F>(name: &str, mut files: Vec<(K, File)>, stop: &PipeReader, mut on_ready: F)
where
    F: FnMut(&K, PollFlags, Instant) -> bool,
{
    while !files.is_empty() {
        let mut fds: Vec<PollFd<'_>> = files
            .iter()
            .map(|(_, file)| PollFd::new(file.as_fd(), PollFlags::POLLPRI))
            .collect();
        fds.push(PollFd::new(stop.as_fd(), PollFlags::POLLIN));
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(err) => {
                tracing::warn!(target: "steward", thread = name, %err, "poll failed; the watch ends");
                return;
            }
        }
        let now = Instant::now();
        let events: Vec<PollFlags> = fds
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if events.last().is_some_and(|stop| !stop.is_empty()) {
            // The owner dropped its end: it is gone.
            return;
        }
        files = files
            .into_iter()
            .zip(events)
            .filter(|((key, _), revents)| revents.is_empty() || on_ready(key, *revents, now))
            .map(|(entry, _)| entry)
            .collect();
    }
}
