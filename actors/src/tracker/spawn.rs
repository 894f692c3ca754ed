//! Starting a [`CommandSpec`](super::CommandSpec) straight into its cgroup:
//! `clone3(2)` with `CLONE_INTO_CGROUP | CLONE_VM | CLONE_VFORK |
//! CLONE_PIDFD`, then `execve(2)`, as systemd and crun start their units.
//!
//! Why not std: a child must be in its cgroup before it execs, and std can
//! only do that through a `pre_exec` hook, which makes it `fork` the whole
//! program (its page tables copied, each page it writes afterwards faulting
//! once) and migrate the child with a write to `cgroup.procs` (which takes
//! the kernel's cgroup threadgroup lock for writing). Here the kernel
//! creates the child in its cgroup (no migration), sharing the program's
//! memory (no copy) while the calling thread waits, as `posix_spawn` does.
//!
//! Everything is prepared beforehand in the parent, with ordinary safe
//! code: the program looked up in the child's `PATH` (so a missing program
//! is an error here, as with std), the argument and environment arrays,
//! the standard streams' descriptors (all above 2, so the child's `dup2`s
//! cannot clobber one another). The child then only makes system calls on
//! that prepared data, in [`child`]: handlers reset, own process group,
//! standard streams, working directory, the caller's signal mask, `execve`.
//! If any of it fails, the child stores the error where the parent reads it
//! and exits; the parent reaps it and returns the error.
//!
//! The `unsafe` is in two places, each with its proof: the `clone3` call
//! (inline assembly, since the child must start on a stack of its own) and
//! the child's side.

use std::ffi::{CStr, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask, sigprocmask};
use nix::unistd::{Pid, setpgid};

use super::command::Parts;

mod prepare;

use prepare::{Stream, c_string, null_terminated, resolve};

/// What a direct spawn gives back: the child and the parent's ends of the
/// pipes it asked for.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) pid: u32,
    pub(crate) pidfd: OwnedFd,
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// Why a direct spawn did not start anything.
#[derive(Debug)]
pub(crate) enum NotStarted {
    /// This kernel or architecture cannot: start it another way.
    Unsupported,
    /// It failed as std's spawn would (program not found, bad directory).
    Failed(io::Error),
}

impl From<io::Error> for NotStarted {
    fn from(error: io::Error) -> Self {
        NotStarted::Failed(error)
    }
}

impl From<nix::Error> for NotStarted {
    fn from(error: nix::Error) -> Self {
        NotStarted::Failed(error.into())
    }
}

/// Set once the kernel refused `clone3` or `CLONE_INTO_CGROUP` (before
/// Linux 5.7): later spawns go another way at once.
static UNSUPPORTED: AtomicBool = AtomicBool::new(!cfg!(target_arch = "x86_64"));

/// Whether direct spawns may work here.
pub(crate) fn is_supported() -> bool {
    !UNSUPPORTED.load(Ordering::Relaxed)
}

/// Starts `parts`, with `marker` added to its environment, in the cgroup
/// whose directory `cgroup` is open.
///
/// # Errors
///
/// [`NotStarted::Unsupported`] if the kernel cannot (nothing is started);
/// [`NotStarted::Failed`] as std's spawn fails.
pub(crate) fn into_cgroup(
    parts: &Parts,
    marker: (&str, &str),
    cgroup: BorrowedFd<'_>,
) -> Result<Started, NotStarted> {
    if !is_supported() {
        return Err(NotStarted::Unsupported);
    }
    let mut environment = parts.environment();
    environment.insert(marker.0.into(), marker.1.into());
    let envp = environment
        .iter()
        .map(|(key, value)| c_string([key.as_bytes(), b"=", value.as_bytes()].concat()))
        .collect::<io::Result<Vec<_>>>()?;
    let path = resolve(
        &parts.program,
        environment
            .get(OsStr::new("PATH"))
            .map(|path| path.as_bytes()),
        parts.cwd.as_deref(),
    )?;
    let argv = std::iter::once(parts.arg0.as_ref().unwrap_or(&parts.program))
        .chain(&parts.args)
        .map(|arg| c_string(arg.as_bytes().to_vec()))
        .collect::<io::Result<Vec<_>>>()?;
    let cwd = parts
        .cwd
        .as_ref()
        .map(|cwd| c_string(cwd.as_os_str().as_bytes().to_vec()))
        .transpose()?;
    let stdin = Stream::new(&parts.stdin, true)?;
    let stdout = Stream::new(&parts.stdout, false)?;
    let stderr = Stream::new(&parts.stderr, false)?;
    let argv_pointers = null_terminated(&argv);
    let envp_pointers = null_terminated(&envp);
    // Blocked in this thread until the child runs its own code with the
    // program's handlers reset: see `child`.
    let mut mask = SigSet::empty();
    pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut mask),
    )?;
    // std spawns through glibc's posix_spawn unless the command changes
    // PATH for a program without a `/` (then it forks and execvp's): the
    // two leave glibc's internal signals differently (see `reset_handler`).
    let changes_path = parts.env_clear || parts.env.contains_key(OsStr::new("PATH"));
    let exec = Exec {
        ignore_internal: !changes_path || parts.program.as_bytes().contains(&b'/'),
        path: &path,
        argv: argv_pointers.as_ptr(),
        envp: envp_pointers.as_ptr(),
        cwd: cwd.as_deref(),
        stdio: [stdin.child(), stdout.child(), stderr.child()],
        mask,
        error: AtomicI32::new(0),
    };
    let cloned = clone_into(&exec, cgroup);
    let restored = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&mask), None);
    let (pid, pidfd) = cloned?;
    match exec.error.load(Ordering::Acquire) {
        0 => {}
        errno => {
            // It exited (or is exiting) without exec: reap it.
            let _ = nix::sys::wait::waitid(
                nix::sys::wait::Id::PIDFd(pidfd.as_fd()),
                nix::sys::wait::WaitPidFlag::WEXITED,
            );
            return Err(NotStarted::Failed(io::Error::from_raw_os_error(errno)));
        }
    }
    if let Err(error) = restored {
        tracing::warn!(target: "steward::tracker", %error, "cannot restore the signal mask after a spawn");
    }
    Ok(Started {
        pid,
        pidfd,
        stdin: stdin.parent,
        stdout: stdout.parent,
        stderr: stderr.parent,
    })
}

/// What the child needs, prepared by the parent; lives in the parent's
/// frame, which `CLONE_VFORK` keeps in place until the child has exec'd or
/// exited.
struct Exec<'a> {
    path: &'a CStr,
    /// Null-terminated arrays of pointers into the parent's `CString`s.
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: Option<&'a CStr>,
    stdio: [Option<BorrowedFd<'a>>; 3],
    /// The signal mask the caller had, restored just before `execve`.
    mask: SigSet,
    /// Whether glibc's internal signals are left ignored, as its
    /// `posix_spawn` leaves them.
    ignore_internal: bool,
    /// The errno of the step that failed, 0 while none has.
    error: AtomicI32,
}

const CLONE_VM: u64 = 0x100;
const CLONE_VFORK: u64 = 0x4000;
const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` (`linux/sched.h`), up to `cgroup` (Linux 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// The child's stack: it runs only [`child`], a few small frames deep, no
/// recursion, nothing allocated on it beyond its locals.
const STACK: usize = 16 * 1024;

#[repr(C, align(16))]
struct ChildStack([std::mem::MaybeUninit<u8>; STACK]);

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn clone_into(exec: &Exec<'_>, cgroup: BorrowedFd<'_>) -> Result<(u32, OwnedFd), NotStarted> {
    use std::os::fd::FromRawFd;

    let mut stack = ChildStack([std::mem::MaybeUninit::uninit(); STACK]);
    let mut pidfd: libc::c_int = -1;
    let args = CloneArgs {
        flags: CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_INTO_CGROUP,
        pidfd: std::ptr::addr_of_mut!(pidfd) as usize as u64,
        exit_signal: libc::SIGCHLD as u64,
        stack: stack.0.as_mut_ptr() as usize as u64,
        stack_size: STACK as u64,
        cgroup: u64::try_from(cgroup.as_raw_fd()).map_err(|_| NotStarted::Unsupported)?,
        ..CloneArgs::default()
    };
    let entry: extern "C" fn(*const Exec<'_>) -> ! = child;
    let returned: i64;
    // SAFETY: the `syscall` instruction with rax = SYS_clone3, rdi = a
    // valid `clone_args` of the size in rsi. In this (the parent's) thread
    // it returns like any system call: rax holds the child's pid or
    // -errno, rcx and r11 are clobbered (declared), every other register is
    // kept, and the default memory clobber tells the compiler the kernel
    // wrote `pidfd`; `test` and `jnz` only read rax. With CLONE_VFORK the
    // kernel resumes this thread only once the child has exec'd or exited,
    // so `exec`, `stack` and the strings `exec` points into, all borrowed
    // from frames below this one, outlive every use the child makes of
    // them.
    //
    // The child resumes at the same instruction with rax = 0 and, as
    // CLONE_VM with a stack asks, rsp = the top of `stack` (16-aligned:
    // `ChildStack` is); it falls into the three instructions after `jnz`,
    // which never reach code the compiler emitted for this function: rdi
    // gets `exec` from r12 (kept across the system call), rbp is cleared
    // (no frame to unwind into), and `call` enters `child` with the stack
    // aligned as the C ABI wants (16 + 8 for the return address). `child`
    // never returns (`-> !`: it execs or exits); `ud2` is there only to
    // trap if it ever did. The memory the child shares with the program is
    // read by `child` only through `exec`, which no other thread touches
    // (it is this frame's), and written only at `exec.error`, an atomic
    // this thread reads after it resumes; see `child` for the rest.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 => returned,
            in("rdi") std::ptr::addr_of!(args),
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") std::ptr::from_ref(exec),
            in("r13") entry,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    if returned < 0 {
        let errno = i32::try_from(-returned).unwrap_or(libc::EINVAL);
        // No clone3 (before 5.3), or no CLONE_INTO_CGROUP (before 5.7);
        // or a seccomp filter that refuses clone3 (container runtimes'
        // default profiles answer ENOSYS so that callers fall back, some
        // answer EPERM): std's spawn does without it.
        if matches!(
            errno,
            libc::ENOSYS | libc::E2BIG | libc::EINVAL | libc::EPERM
        ) {
            UNSUPPORTED.store(true, Ordering::Relaxed);
            return Err(NotStarted::Unsupported);
        }
        return Err(NotStarted::Failed(io::Error::from_raw_os_error(errno)));
    }
    let pid = u32::try_from(returned)
        .map_err(|_| io::Error::other("clone3 returned a pid out of range"))?;
    // SAFETY: the child exists (clone3 returned its pid), so with
    // CLONE_PIDFD the kernel stored a new descriptor in `pidfd` (opened
    // close-on-exec), which nothing else in the program knows of: it is
    // ours to own and close.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    Ok((pid, pidfd))
}

#[cfg(not(target_arch = "x86_64"))]
fn clone_into(_: &Exec<'_>, _: BorrowedFd<'_>) -> Result<(u32, OwnedFd), NotStarted> {
    Err(NotStarted::Unsupported)
}

/// The child, between `clone3` and `execve`: a process of its own that
/// still shares the program's memory, on its own small stack, with every
/// signal blocked (the mask of the parent's thread, which blocked them all
/// before cloning). It may only make system calls on `exec`: no heap, no
/// locks, no panics (nothing here indexes, unwraps or overflows), and the
/// only memory it writes is its stack and `exec.error`. The calls it makes
/// through `nix` are plain wrappers of one system call each on data
/// borrowed from `exec` (no allocation: a `&CStr` path is passed as is).
/// glibc's wrappers may set `errno`, the parent thread's thread-local
/// (the child runs with its TLS): harmless, that thread is suspended and
/// reads no `errno` before its next call sets one.
#[allow(unsafe_code)]
extern "C" fn child(exec: *const Exec<'_>) -> ! {
    // SAFETY: `exec` is the pointer `clone_into` passed, to an `Exec` in
    // the frame of the parent's thread, which CLONE_VFORK keeps suspended
    // (and so the `Exec` valid and unchanged) until this process execs or
    // exits; nothing else mutates it (its one mutable field is an atomic).
    let exec = unsafe { &*exec };
    let errno = run(exec);
    exec.error.store(
        if errno == 0 { libc::EIO } else { errno },
        Ordering::Release,
    );
    // SAFETY: `_exit` ends this process at once (exit_group), running no
    // handlers or destructors, which would be the program's.
    unsafe { libc::_exit(127) }
}

/// The child's steps; returns the errno of the one that failed (`execve`
/// returns only on failure).
#[allow(unsafe_code)]
fn run(exec: &Exec<'_>) -> i32 {
    // Handlers first, while every signal is still blocked: one of the
    // program's handlers running here would run on the program's memory.
    for signal in 1..=64 {
        reset_handler(signal, exec.ignore_internal);
    }
    let steps = setpgid(Pid::from_raw(0), Pid::from_raw(0))
        .and_then(|()| match exec.stdio[0] {
            Some(fd) => nix::unistd::dup2_stdin(fd),
            None => Ok(()),
        })
        .and_then(|()| match exec.stdio[1] {
            Some(fd) => nix::unistd::dup2_stdout(fd),
            None => Ok(()),
        })
        .and_then(|()| match exec.stdio[2] {
            Some(fd) => nix::unistd::dup2_stderr(fd),
            None => Ok(()),
        })
        .and_then(|()| match exec.cwd {
            Some(cwd) => nix::unistd::chdir(cwd),
            None => Ok(()),
        })
        .and_then(|()| sigprocmask(SigmaskHow::SIG_SETMASK, Some(&exec.mask), None));
    if let Err(errno) = steps {
        return errno as i32;
    }
    // SAFETY: `path` is a nul-terminated string, `argv` and `envp` are
    // null-terminated arrays of pointers to nul-terminated strings, all
    // owned by the parent's suspended frame; `execve` only reads them.
    unsafe { libc::execve(exec.path.as_ptr(), exec.argv, exec.envp) };
    nix::errno::Errno::last_raw()
}

/// The kernel's `struct sigaction` on x86_64 (`rt_sigaction(2)`).
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Sets `signal`'s disposition as std's spawn leaves it: the default if
/// the program handles it (an ignored one stays ignored, as across
/// `execve`), and SIGPIPE's the default always (Rust programs ignore it;
/// std resets it for children). With `ignore_internal`, glibc's two
/// internal signals (32, its thread cancellation, and 33, its `setxid`
/// broadcast) are ignored, as glibc's `posix_spawn` leaves them (std's
/// fork path leaves them to `execve`, which resets a handled one).
#[allow(unsafe_code)]
fn reset_handler(signal: libc::c_int, ignore_internal: bool) {
    const DEFAULT: usize = 0;
    const IGNORE: usize = 1;
    if signal == libc::SIGKILL || signal == libc::SIGSTOP {
        return;
    }
    if ignore_internal && (signal == 32 || signal == 33) {
        set_disposition(signal, IGNORE);
        return;
    }
    let mut old = KernelSigaction {
        handler: DEFAULT,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction with a null new action only writes the current
    // one into `old`, a live local of the size given (8 = the kernel's
    // sigset size).
    let read = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            std::ptr::null::<KernelSigaction>(),
            std::ptr::addr_of_mut!(old),
            8_usize,
        )
    };
    let handled = read == 0 && old.handler != DEFAULT && old.handler != IGNORE;
    if handled || signal == Signal::SIGPIPE as libc::c_int {
        set_disposition(signal, DEFAULT);
    }
}

/// Sets `signal`'s disposition to SIG_DFL (0) or SIG_IGN (1).
#[allow(unsafe_code)]
fn set_disposition(signal: libc::c_int, disposition: usize) {
    let action = KernelSigaction {
        handler: disposition,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: installs SIG_DFL or SIG_IGN (no handler code) from a live
    // local; this process's handler table is its own (no CLONE_SIGHAND),
    // so the program's handlers are untouched.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            std::ptr::addr_of!(action),
            std::ptr::null_mut::<KernelSigaction>(),
            8_usize,
        );
    }
}

#[cfg(test)]
mod tests;
