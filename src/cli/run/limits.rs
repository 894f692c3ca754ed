//! The system's limits a run must fit in: file descriptors (how many jobs
//! at once) and the argument space (how many inputs a command line).

use std::ffi::OsStr;

use nix::sys::resource::{Resource, getrlimit};
use nix::unistd::{SysconfVar, sysconf};

/// File descriptors steward keeps for itself (runtime, actors, monitor,
/// stdio, the input files).
const RESERVED_FDS: u64 = 64;
/// What a job holds at most: the reading ends of its stdout and stderr
/// pipes and their two spool files (or its two `--results` files).
pub(crate) const FDS_PER_JOB: u64 = 4;
/// The longest single argument Linux takes (`MAX_ARG_STRLEN`, 32 pages),
/// its NUL included.
pub(crate) const WORD_LIMIT: usize = 32 * 4096;
/// Room kept in the argument space for what steward adds to a job's
/// environment and for rounding.
const ARG_MARGIN: usize = 4096;

/// How many jobs may be alive at once (running, or ended and waiting to
/// be printed under `-k`) within the file-descriptor limit.
pub(crate) fn jobs_within_fd_limit() -> usize {
    let soft = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft);
    let usable = soft.saturating_sub(RESERVED_FDS) / FDS_PER_JOB;
    usize::try_from(usable).unwrap_or(usize::MAX).max(1)
}

/// The soft file-descriptor limit, for messages.
pub(crate) fn fd_limit() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

/// The bytes a job's argument vector may take: the system's `ARG_MAX`
/// less the environment the job inherits.
pub(crate) fn argument_space() -> usize {
    let arg_max = sysconf(SysconfVar::ARG_MAX)
        .ok()
        .flatten()
        .and_then(|max| usize::try_from(max).ok())
        // POSIX's smallest allowed, when the system will not say.
        .unwrap_or(4096 * 32);
    let environment: usize = std::env::vars_os()
        .map(|(name, value)| entry_size(&name, &value))
        .sum();
    arg_max
        .saturating_sub(environment)
        .saturating_sub(ARG_MARGIN)
        .max(ARG_MARGIN)
}

/// `NAME=VALUE`, its NUL and its pointer.
fn entry_size(name: &OsStr, value: &OsStr) -> usize {
    name.len() + value.len() + 2 + std::mem::size_of::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_the_systems() {
        let soft = fd_limit();
        let jobs = jobs_within_fd_limit() as u64;
        assert!(jobs >= 1);
        assert!(jobs * FDS_PER_JOB + RESERVED_FDS <= soft.max(RESERVED_FDS + FDS_PER_JOB));
        let space = argument_space();
        assert!(space >= ARG_MARGIN);
        assert!(space < 1 << 40, "below ARG_MAX");
    }
}
