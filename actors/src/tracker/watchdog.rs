//! The watchdog: a small process that stops the tracker's trees when the
//! program dies without unwinding (SIGKILL, `abort()`, the OOM killer), so
//! that nothing it started outlives it.
//!
//! It is `/bin/sh` running a short script, chosen over a re-exec of the
//! program (a library cannot take over its host's `main`) and over a
//! thread (which dies with the program). It holds the read end of a pipe
//! whose write end only the program has: std opens pipes close-on-exec, so
//! no child inherits it. When the program is gone, however it went, the
//! kernel closes that end and the watchdog reads EOF; then it SIGKILLs the
//! process groups the program told it of (`+<pgid>` lines; `-<pgid>` once
//! a group is stopped, or empty with its leader reaped, since its id may
//! then be reused), and the tracker's cgroup subtree with one write to
//! `cgroup.kill` (removing the directories), or, with process-group
//! containment, the processes carrying the tracker's marker.
//!
//! It leads a process group of its own and ignores the terminal's signals
//! (SIGINT, SIGHUP, SIGQUIT, SIGTSTP), so a Ctrl-C that reaches the
//! program's group does not take it first. On a clean shutdown the program
//! writes `q`: it exits at once, killing nothing, and the program reaps it.
//! If it dies while the program lives, the tracker starts another and
//! tells it the groups again (see [`Watchdog::ensure_running`]).

use std::io::{self, PipeWriter, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// How long a clean stop waits for the watchdog to exit.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// The script: `$1` is `cgroup` (then `$2` the tracker's cgroup, `$3` the
/// program's) or `groups` (then `$2` the marker variable).
const SCRIPT: &str = r#"trap '' INT HUP QUIT TSTP TTIN TTOU PIPE
groups=
while IFS= read -r line; do
    case $line in
        q) exit 0 ;;
        +*) groups="$groups ${line#+}" ;;
        -*) kept=; for g in $groups; do [ "$g" = "${line#-}" ] || kept="$kept $g"; done; groups=$kept ;;
    esac
done
for g in $groups; do kill -s KILL -- "-$g"; done
if [ "$1" = cgroup ]; then
    echo 1 > "$2/cgroup.kill"
    n=0
    while [ $n -lt 200 ] && grep -q '^populated 1' "$2/cgroup.events"; do sleep 0.01; n=$((n + 1)); done
    for cell in "$2"/*/; do rmdir "$cell"; done
    rmdir "$2" && rmdir "$3"
else
    n=0
    while [ $n -lt 20 ]; do
        pids=$(grep -lsz "^$2=" /proc/[0-9]*/environ | sed 's|^/proc/\([0-9]*\)/environ$|\1|')
        [ -n "$pids" ] || break
        kill -s KILL $pids
        sleep 0.05
        n=$((n + 1))
    done
fi 2>/dev/null
"#;

/// What the watchdog kills at the program's death.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The tracker's cgroup (and the program's, if it is then empty).
    Cgroup {
        /// `steward-<pid>/<tracker>`.
        dir: PathBuf,
        /// `steward-<pid>`.
        program: PathBuf,
    },
    /// The process groups it is told of, and the processes marked with
    /// `marker_var`.
    Groups {
        /// The tracker's marker variable.
        marker_var: String,
    },
}

#[derive(Debug)]
struct Running {
    child: Child,
    pipe: PipeWriter,
}

/// The running watchdog of one tracker.
#[derive(Debug)]
pub(crate) struct Watchdog {
    target: Target,
    running: Mutex<Option<Running>>,
}

impl Watchdog {
    /// Starts the watchdog.
    ///
    /// # Errors
    ///
    /// When `/bin/sh` cannot be started or the pipe made.
    pub(crate) fn start(target: Target) -> io::Result<Self> {
        let running = launch(&target)?;
        Ok(Self {
            target,
            running: Mutex::new(Some(running)),
        })
    }

    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        crate::sync::lock(&self.running)
    }

    /// Its pid, while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.running().as_ref().map(|running| running.child.id())
    }

    /// Tells it to kill process group `pgid` if the program dies.
    pub(crate) fn watch_group(&self, pgid: u32) {
        self.tell(&format!("+{pgid}\n"));
    }

    /// Tells it `pgid` was stopped: not to be killed any more (its id may
    /// be reused).
    pub(crate) fn forget_group(&self, pgid: u32) {
        self.tell(&format!("-{pgid}\n"));
    }

    fn tell(&self, line: &str) {
        if let Some(running) = self.running().as_mut() {
            // Non-blocking: a watchdog that stopped reading must not stall
            // a spawn; a lost line is logged.
            if let Err(error) = running.pipe.write_all(line.as_bytes()) {
                tracing::warn!(target: "steward::tracker", %error, line = line.trim_end(), "cannot tell the watchdog");
            }
        }
    }

    /// Starts a new watchdog if this one has died, and tells it `groups`.
    /// Returns whether it had to.
    pub(crate) fn ensure_running(&self, groups: impl FnOnce() -> Vec<u32>) -> bool {
        let mut running = self.running();
        // None: stopped on purpose. A dead one is reaped by `try_wait`.
        let alive = match running.as_mut() {
            None => return false,
            Some(running) => matches!(running.child.try_wait(), Ok(None)),
        };
        if alive {
            return false;
        }
        match launch(&self.target) {
            Ok(mut fresh) => {
                for group in groups() {
                    let _ = writeln!(fresh.pipe, "+{group}");
                }
                tracing::warn!(target: "steward::tracker", pid = fresh.child.id(), "the watchdog had died; started another");
                *running = Some(fresh);
                true
            }
            Err(error) => {
                tracing::error!(target: "steward::tracker", %error, "the watchdog died and cannot be restarted");
                false
            }
        }
    }

    /// Stops it cleanly (it kills nothing) and reaps it. Blocking, at most
    /// about two seconds.
    pub(crate) fn stop(&self) {
        let Some(Running {
            mut child,
            mut pipe,
        }) = self.running().take()
        else {
            return;
        };
        let _ = pipe.write_all(b"q\n");
        drop(pipe);
        let deadline = Instant::now() + EXIT_WAIT;
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Dropped without a clean stop: closing the pipe makes it kill
        // what is left, then it exits; a thread reaps it.
        if let Some(Running { mut child, pipe }) = self.running().take() {
            drop(pipe);
            let reaping = std::thread::Builder::new()
                .name("steward-watchdog-reaper".into())
                .spawn(move || child.wait());
            if let Err(error) = reaping {
                tracing::warn!(target: "steward::tracker", %error, "cannot reap the watchdog");
            }
        }
    }
}

fn launch(target: &Target) -> io::Result<Running> {
    let (reader, pipe) = io::pipe()?;
    fcntl(&pipe, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", SCRIPT, "steward-watchdog"])
        .stdin(reader)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    match target {
        Target::Cgroup { dir, program } => {
            command.arg("cgroup").arg(dir).arg(program);
        }
        Target::Groups { marker_var } => {
            command.args(["groups", marker_var]);
        }
    }
    let child = command.spawn()?;
    tracing::debug!(target: "steward::tracker", pid = child.id(), "watchdog started");
    Ok(Running { child, pipe })
}
