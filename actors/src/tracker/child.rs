//! [`ChildProcess`]: a tracked process's leader, as the tracker waits for
//! it and hands it back. Either a `tokio::process::Child` (started by std,
//! or registered by the application) or a child the tracker started itself
//! straight into its cgroup (`spawn.rs`), waited for through its pidfd:
//! readable on the reactor once it has exited, then reaped with
//! `waitid(P_PIDFD)`, which names that one child and no other.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Mutex;

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;
use tokio::process::Child;

/// A child process handed back by the tracker
/// ([`Tracker::unregister_process`](super::Tracker::unregister_process)):
/// wait for it, kill it, or take the `tokio::process::Child` it is, if it
/// is one. Dropped before it exits, it is reaped later (as tokio does), never
/// left a zombie.
#[derive(Debug)]
pub struct ChildProcess {
    leader: Leader,
}

#[derive(Debug)]
enum Leader {
    Tokio(Child),
    Pidfd(PidfdChild),
}

impl From<Child> for ChildProcess {
    fn from(child: Child) -> Self {
        Self {
            leader: Leader::Tokio(child),
        }
    }
}

impl ChildProcess {
    pub(crate) fn from_pidfd(child: PidfdChild) -> Self {
        Self {
            leader: Leader::Pidfd(child),
        }
    }

    /// Its pid, until it has been waited for.
    #[must_use]
    pub fn id(&self) -> Option<u32> {
        match &self.leader {
            Leader::Tokio(child) => child.id(),
            Leader::Pidfd(child) => child.status.is_none().then_some(child.pid),
        }
    }

    /// Waits for it to exit (and reaps it).
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::ChildProcess;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut child = ChildProcess::from(tokio::process::Command::new("true").spawn()?);
    /// assert!(child.wait().await?.success());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The OS's, from `waitid`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.leader {
            Leader::Tokio(child) => child.wait().await,
            Leader::Pidfd(child) => child.wait().await,
        }
    }

    /// Its exit status if it has exited (reaping it), without waiting.
    ///
    /// # Errors
    ///
    /// The OS's, from `waitid`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match &mut self.leader {
            Leader::Tokio(child) => child.try_wait(),
            Leader::Pidfd(child) => child.try_wait(),
        }
    }

    /// Sends it SIGKILL, without waiting.
    ///
    /// # Errors
    ///
    /// The OS's; none if it has exited already.
    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.leader {
            Leader::Tokio(child) => child.start_kill(),
            Leader::Pidfd(child) => child.start_kill(),
        }
    }

    /// Sends it SIGKILL and waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// # use steward_actors::tracker::ChildProcess;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let sleeper = tokio::process::Command::new("sleep").arg("300").spawn()?;
    /// let mut child = ChildProcess::from(sleeper);
    /// child.kill().await?;
    /// assert!(child.id().is_none(), "reaped");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`start_kill`](Self::start_kill) and [`wait`](Self::wait).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: once the signal is sent, a dropped future only stops
    /// waiting.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// The `tokio::process::Child` it is, if std started it (or the
    /// application registered it); itself otherwise.
    ///
    /// # Errors
    ///
    /// Itself, for a child the tracker started directly.
    #[allow(clippy::result_large_err)] // itself, by value, as `Arc::try_unwrap`
    pub fn into_tokio(self) -> Result<Child, Self> {
        match self.leader {
            Leader::Tokio(child) => Ok(child),
            leader @ Leader::Pidfd(_) => Err(Self { leader }),
        }
    }
}

/// A child the tracker started itself: its pid, its pidfd on the reactor,
/// and its status once reaped.
#[derive(Debug)]
pub(crate) struct PidfdChild {
    pid: u32,
    /// `None` only after `drop` moved it to the orphans.
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
}

impl PidfdChild {
    /// Puts `pidfd`, the pidfd of our child `pid`, on the current runtime's
    /// reactor; reaps orphans dropped before.
    ///
    /// # Errors
    ///
    /// The reactor's (no runtime with IO enabled is current).
    #[allow(unsafe_code)]
    pub(crate) fn new(pid: u32, pidfd: OwnedFd) -> io::Result<Self> {
        reap_orphans();
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(io::Error::other(
                "no tokio runtime to wait for the child on",
            ));
        }
        // SAFETY: an `OwnedFd` returns the same open descriptor from every
        // `as_raw_fd` and closes it only when dropped, which `AsyncFd`
        // does after deregistering it: the contract `register` asks for.
        let pidfd =
            unsafe { AsyncFd::register(pidfd) }.map_err(|refused| refused.into_parts().1)?;
        Ok(Self {
            pid,
            pidfd: Some(pidfd),
            status: None,
        })
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            let Some(pidfd) = &self.pidfd else {
                return Err(io::Error::other("the child's pidfd is gone"));
            };
            // Readable once the child has exited; a wakeup that finds it
            // running (spurious) clears the readiness and waits again.
            let mut ready = pidfd.readable().await?;
            ready.clear_ready();
        }
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(pidfd) = &self.pidfd else {
            return Ok(None);
        };
        let status = reap(pidfd.get_ref())?;
        self.status = status;
        Ok(status)
    }

    fn start_kill(&mut self) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        // Unreaped, so the pid is still this child's.
        let pid = i32::try_from(self.pid).map_err(|_| io::Error::other("pid out of range"))?;
        kill(Pid::from_raw(pid), Signal::SIGKILL).map_err(io::Error::from)
    }
}

impl Drop for PidfdChild {
    fn drop(&mut self) {
        if self.status.is_none()
            && let Some(pidfd) = self.pidfd.take()
        {
            // Not reaped yet: by a later spawn or housekeeping, once it
            // has exited.
            orphans().push(pidfd.into_inner());
        }
    }
}

/// Pidfds of children dropped before they exited.
static ORPHANS: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

fn orphans() -> std::sync::MutexGuard<'static, Vec<OwnedFd>> {
    crate::sync::lock(&ORPHANS)
}

/// Reaps the dropped children that have exited since.
pub(crate) fn reap_orphans() {
    let mut orphans = orphans();
    if !orphans.is_empty() {
        orphans.retain(|pidfd| matches!(reap(pidfd), Ok(None)));
    }
}

/// Waits for our unreaped child `pid` and reaps it: for one just killed.
pub(crate) fn reap_blocking(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    }
}

/// Reaps the child of `pidfd` if it has exited.
fn reap(pidfd: &OwnedFd) -> io::Result<Option<ExitStatus>> {
    let status = waitid(
        Id::PIDFd(pidfd.as_fd()),
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG,
    )?;
    Ok(match status {
        WaitStatus::Exited(_, code) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
        WaitStatus::Signaled(_, signal, dumped) => Some(ExitStatus::from_raw(
            signal as i32 | if dumped { 0x80 } else { 0 },
        )),
        _ => None,
    })
}
