//! What the parent prepares for a direct spawn, with ordinary safe code:
//! the argument and environment arrays as C strings, the program's path as
//! `execvp` would find it, the standard streams' descriptors.

use std::ffi::{CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::fcntl::OFlag;
use nix::unistd::{AccessFlags, access, pipe2};

use crate::tracker::command::ChildIo;

pub(super) fn c_string(bytes: Vec<u8>) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "nul byte found in provided data",
        )
    })
}

pub(super) fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|string| string.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The file `execve` is given for `program`, as `execvp` finds it: as it
/// is if it has a `/`, else the first executable file named so in a `PATH`
/// directory (the child's `PATH`, or `/bin:/usr/bin` without one; an
/// empty or relative entry is relative to the child's working directory).
///
/// # Errors
///
/// `ENOENT` if there is none; `EACCES` if the only ones are not
/// executable; `InvalidInput` for a nul byte.
pub(super) fn resolve(
    program: &OsStr,
    path: Option<&[u8]>,
    cwd: Option<&Path>,
) -> io::Result<CString> {
    let name = program.as_bytes();
    if name.contains(&b'/') {
        return c_string(name.to_vec());
    }
    if name.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    let mut denied = false;
    for dir in path.unwrap_or(b"/bin:/usr/bin").split(|&byte| byte == b':') {
        let dir = if dir.is_empty() { b".".as_slice() } else { dir };
        let candidate = Path::new(OsStr::from_bytes(dir)).join(program);
        let seen_from_here = match cwd {
            Some(cwd) if candidate.is_relative() => cwd.join(&candidate),
            _ => candidate.clone(),
        };
        match std::fs::metadata(&seen_from_here) {
            Ok(found) if found.is_file() && access(&seen_from_here, AccessFlags::X_OK).is_ok() => {
                return c_string(candidate.into_os_string().into_vec());
            }
            Ok(_) => denied = true,
            Err(_) => {}
        }
    }
    Err(io::Error::from_raw_os_error(if denied {
        libc::EACCES
    } else {
        libc::ENOENT
    }))
}

/// One standard stream: the descriptor the child gets (if not inherited)
/// and the parent's end of a pipe.
pub(super) struct Stream<'a> {
    child: Option<ChildEnd<'a>>,
    pub(super) parent: Option<OwnedFd>,
}

enum ChildEnd<'a> {
    Owned(OwnedFd),
    Borrowed(BorrowedFd<'a>),
}

impl<'a> Stream<'a> {
    pub(super) fn new(io: &'a ChildIo, input: bool) -> io::Result<Self> {
        let (child, parent) = match io {
            ChildIo::Inherit => (None, None),
            ChildIo::Null => {
                let null = if input {
                    File::open("/dev/null")?
                } else {
                    OpenOptions::new().write(true).open("/dev/null")?
                };
                (Some(ChildEnd::Owned(null.into())), None)
            }
            ChildIo::Piped => {
                let (read, write) = pipe2(OFlag::O_CLOEXEC)?;
                if input {
                    (Some(ChildEnd::Owned(read)), Some(write))
                } else {
                    (Some(ChildEnd::Owned(write)), Some(read))
                }
            }
            ChildIo::Fd(fd) => (Some(ChildEnd::Borrowed(fd.as_fd())), None),
        };
        // Above 2, so that no dup2 in the child overwrites another's
        // source (`try_clone_to_owned` is F_DUPFD_CLOEXEC from 3).
        let child = match child {
            Some(end) if end.as_fd().as_raw_fd() <= 2 => {
                Some(ChildEnd::Owned(end.as_fd().try_clone_to_owned()?))
            }
            other => other,
        };
        Ok(Self { child, parent })
    }

    pub(super) fn child(&self) -> Option<BorrowedFd<'_>> {
        self.child.as_ref().map(ChildEnd::as_fd)
    }
}

impl ChildEnd<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            ChildEnd::Owned(fd) => fd.as_fd(),
            ChildEnd::Borrowed(fd) => *fd,
        }
    }
}
