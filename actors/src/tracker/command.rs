//! [`CommandSpec`]: what the tracker starts, readable to the end.
//!
//! A `std::process::Command` cannot be read back (its standard streams,
//! `env_clear`, `arg0` and `pre_exec` hooks have no getters), so the only
//! way to start one is std's own spawn; and under cgroup containment, where
//! the child must enter its cgroup before it execs, that means a
//! `pre_exec` hook, which turns std's `posix_spawn` into a `fork` of the
//! whole program. A [`CommandSpec`] built with its own methods is read by
//! the tracker, which starts it straight into its cgroup (see `spawn.rs`):
//! no `fork`, no migration.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One standard stream of a process a [`CommandSpec`] starts: std's
/// `Stdio`, in a form the tracker can read.
#[derive(Debug, Default)]
#[non_exhaustive]
pub enum ChildIo {
    /// The program's own stream (the default).
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A pipe, handed back in [`SpawnedProcess`](super::SpawnedProcess).
    Piped,
    /// This open file or pipe end.
    Fd(OwnedFd),
}

impl ChildIo {
    fn into_stdio(self) -> Stdio {
        match self {
            ChildIo::Inherit => Stdio::inherit(),
            ChildIo::Null => Stdio::null(),
            ChildIo::Piped => Stdio::piped(),
            ChildIo::Fd(fd) => Stdio::from(fd),
        }
    }
}

impl From<OwnedFd> for ChildIo {
    fn from(fd: OwnedFd) -> Self {
        ChildIo::Fd(fd)
    }
}

impl From<File> for ChildIo {
    fn from(file: File) -> Self {
        ChildIo::Fd(file.into())
    }
}

/// What [`Tracker::spawn`](super::Tracker::spawn) starts: a program, its
/// arguments, environment, working directory and standard streams, built
/// with the methods `std::process::Command` has.
///
/// Built this way, the tracker can read all of it and, under cgroup
/// containment, start the process straight into its cgroup
/// (`clone3(CLONE_INTO_CGROUP)`, as systemd and crun do): about as fast as
/// a bare `tokio::process::Command`. Converted from a
/// `std::process::Command` (which cannot be read back), it is started by
/// std with a `pre_exec` hook that moves the child into its cgroup: as
/// contained, but each spawn is a `fork` of the whole program, several
/// times slower. Under process-group containment both are started by std
/// (`posix_spawn`).
///
/// As with std, the program is looked up in the child's `PATH` when it has
/// no `/`, and a program that cannot be found or run is a spawn error
/// (never an exit status). The process always leads a process group of
/// its own, and carries the tracker's marker variable
/// ([`Tracker::marker_var`](super::Tracker::marker_var)).
///
/// # Examples
///
/// ```
/// use steward_actors::tracker::{ChildIo, CommandSpec};
///
/// let mut echo = CommandSpec::new("echo");
/// echo.arg("hi").env("LANG", "C").stdout(ChildIo::Piped);
/// assert_eq!(echo.get_program(), "echo");
/// // A std Command converts too (then std starts it).
/// let _from_std = CommandSpec::from(std::process::Command::new("true"));
/// ```
pub struct CommandSpec {
    inner: Inner,
}

enum Inner {
    Parts(Parts),
    Std(Command),
}

/// A [`CommandSpec`] built with its own methods.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) program: OsString,
    pub(crate) arg0: Option<OsString>,
    pub(crate) args: Vec<OsString>,
    pub(crate) env_clear: bool,
    /// Set (`Some`) or removed (`None`), after `env_clear`.
    pub(crate) env: BTreeMap<OsString, Option<OsString>>,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdin: ChildIo,
    pub(crate) stdout: ChildIo,
    pub(crate) stderr: ChildIo,
}

/// What the tracker gets out of a [`CommandSpec`].
pub(crate) enum Readable {
    /// Everything, to start it itself.
    Parts(Parts),
    /// A std Command, for std to start.
    Std(Command),
}

impl From<Command> for CommandSpec {
    fn from(command: Command) -> Self {
        Self {
            inner: Inner::Std(command),
        }
    }
}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Parts(parts) => parts.fmt(f),
            Inner::Std(command) => f.debug_tuple("Std").field(command).finish(),
        }
    }
}

impl CommandSpec {
    /// Runs `program` (looked up in `PATH` if it has no `/`), with no
    /// arguments, the program's environment, working directory and
    /// standard streams.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            inner: Inner::Parts(Parts {
                program: program.as_ref().to_owned(),
                arg0: None,
                args: Vec::new(),
                env_clear: false,
                env: BTreeMap::new(),
                cwd: None,
                stdin: ChildIo::Inherit,
                stdout: ChildIo::Inherit,
                stderr: ChildIo::Inherit,
            }),
        }
    }

    /// Applies `readable` to the parts, or `std` to a std Command.
    fn with(
        &mut self,
        readable: impl FnOnce(&mut Parts),
        std: impl FnOnce(&mut Command),
    ) -> &mut Self {
        match &mut self.inner {
            Inner::Parts(parts) => readable(parts),
            Inner::Std(command) => std(command),
        }
        self
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        let arg = arg.as_ref();
        self.with(
            |parts| parts.args.push(arg.to_owned()),
            |command| {
                command.arg(arg);
            },
        )
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    /// Sets `argv[0]` (the program's name as it sees it; the file run is
    /// still the program).
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Self {
        let arg0 = arg0.as_ref();
        self.with(
            |parts| parts.arg0 = Some(arg0.to_owned()),
            |command| {
                command.arg0(arg0);
            },
        )
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let (key, value) = (key.as_ref(), value.as_ref());
        self.with(
            |parts| {
                parts.env.insert(key.to_owned(), Some(value.to_owned()));
            },
            |command| {
                command.env(key, value);
            },
        )
    }

    /// Sets environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, value) in vars {
            self.env(key, value);
        }
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref();
        self.with(
            |parts| {
                parts.env.insert(key.to_owned(), None);
            },
            |command| {
                command.env_remove(key);
            },
        )
    }

    /// Starts from an empty environment (variables set afterwards stay).
    pub fn env_clear(&mut self) -> &mut Self {
        self.with(
            |parts| {
                parts.env_clear = true;
                parts.env.clear();
            },
            |command| {
                command.env_clear();
            },
        )
    }

    /// Sets the working directory (a relative program path or `PATH` entry
    /// is then relative to it).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        let dir = dir.as_ref();
        self.with(
            |parts| parts.cwd = Some(dir.to_owned()),
            |command| {
                command.current_dir(dir);
            },
        )
    }

    /// Sets standard input.
    pub fn stdin(&mut self, io: impl Into<ChildIo>) -> &mut Self {
        self.stream(
            io.into(),
            |parts| &mut parts.stdin,
            |command, stdio| {
                command.stdin(stdio);
            },
        )
    }

    /// Sets standard output.
    pub fn stdout(&mut self, io: impl Into<ChildIo>) -> &mut Self {
        self.stream(
            io.into(),
            |parts| &mut parts.stdout,
            |command, stdio| {
                command.stdout(stdio);
            },
        )
    }

    /// Sets standard error.
    pub fn stderr(&mut self, io: impl Into<ChildIo>) -> &mut Self {
        self.stream(
            io.into(),
            |parts| &mut parts.stderr,
            |command, stdio| {
                command.stderr(stdio);
            },
        )
    }

    fn stream(
        &mut self,
        io: ChildIo,
        field: impl FnOnce(&mut Parts) -> &mut ChildIo,
        std: impl FnOnce(&mut Command, Stdio),
    ) -> &mut Self {
        match &mut self.inner {
            Inner::Parts(parts) => *field(parts) = io,
            Inner::Std(command) => std(command, io.into_stdio()),
        }
        self
    }

    /// The program.
    #[must_use]
    pub fn get_program(&self) -> &OsStr {
        match &self.inner {
            Inner::Parts(parts) => &parts.program,
            Inner::Std(command) => command.get_program(),
        }
    }

    /// The arguments (without `argv[0]`).
    #[must_use]
    pub fn get_args(&self) -> Vec<&OsStr> {
        match &self.inner {
            Inner::Parts(parts) => parts.args.iter().map(OsString::as_os_str).collect(),
            Inner::Std(command) => command.get_args().collect(),
        }
    }

    /// Whether the tracker can read all of it (built with its own methods,
    /// not converted from a `std::process::Command`).
    #[must_use]
    pub fn is_readable(&self) -> bool {
        matches!(self.inner, Inner::Parts(_))
    }

    /// The same, as a `std::process::Command`.
    #[must_use]
    pub fn into_std(self) -> Command {
        match self.inner {
            Inner::Parts(parts) => parts.into_std(),
            Inner::Std(command) => command,
        }
    }

    pub(crate) fn into_readable(self) -> Readable {
        match self.inner {
            Inner::Parts(parts) => Readable::Parts(parts),
            Inner::Std(command) => Readable::Std(command),
        }
    }
}

impl Parts {
    pub(crate) fn into_std(self) -> Command {
        let mut command = Command::new(&self.program);
        if let Some(arg0) = &self.arg0 {
            command.arg0(arg0);
        }
        command.args(&self.args);
        if self.env_clear {
            command.env_clear();
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .stdin(self.stdin.into_stdio())
            .stdout(self.stdout.into_stdio())
            .stderr(self.stderr.into_stdio());
        command
    }

    /// The child's environment: the program's (unless cleared) with the
    /// changes applied, sorted by name as std passes it.
    pub(crate) fn environment(&self) -> BTreeMap<OsString, OsString> {
        let mut environment: BTreeMap<OsString, OsString> = if self.env_clear {
            BTreeMap::new()
        } else {
            std::env::vars_os().collect()
        };
        for (key, value) in &self.env {
            match value {
                Some(value) => environment.insert(key.clone(), value.clone()),
                None => environment.remove(key),
            };
        }
        environment
    }
}

#[cfg(test)]
mod tests;
