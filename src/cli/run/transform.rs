//! What `{}`, `{.}`, `{/}`, `{//}` and `{/.}` make of an input: byte for
//! byte what GNU parallel's Perl makes of it, newlines included (Perl's
//! `.` does not match one).

use std::borrow::Cow;

/// Which part of an input a replacement string stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// `{}`: all of it.
    Whole,
    /// `{.}`: without its extension.
    WithoutExtension,
    /// `{/}`: without its directories.
    Basename,
    /// `{//}`: its directory.
    Dirname,
    /// `{/.}`: without directories and extension.
    BasenameWithoutExtension,
}

impl Part {
    /// This part of `input`.
    pub(crate) fn of(self, input: &[u8]) -> Cow<'_, [u8]> {
        match self {
            Self::Whole => Cow::Borrowed(input),
            Self::WithoutExtension => Cow::Borrowed(without_extension(input)),
            Self::Basename => basename(input),
            Self::Dirname => Cow::Owned(dirname(input)),
            Self::BasenameWithoutExtension => match basename(input) {
                Cow::Borrowed(base) => Cow::Borrowed(without_extension(base)),
                Cow::Owned(base) => Cow::Owned(without_extension(&base).to_vec()),
            },
        }
    }
}

/// `{/}`: Perl's `s:.*/::`. In the first line that has a `/`, everything
/// from the line's start to its last `/` goes (in a one-line input: all
/// the directories).
fn basename(input: &[u8]) -> Cow<'_, [u8]> {
    let mut line_start = 0;
    for line in input.split(|&b| b == b'\n') {
        if let Some(slash) = line.iter().rposition(|&b| b == b'/') {
            let cut_end = line_start + slash + 1;
            return if line_start == 0 {
                Cow::Borrowed(&input[cut_end..])
            } else {
                let mut kept = input[..line_start].to_vec();
                kept.extend_from_slice(&input[cut_end..]);
                Cow::Owned(kept)
            };
        }
        line_start += line.len() + 1;
    }
    Cow::Borrowed(input)
}

/// `{.}`: Perl's `s:\.[^/.]*$::`: from the last `.` on, unless a `/`
/// follows it.
fn without_extension(input: &[u8]) -> &[u8] {
    match input.iter().rposition(|&b| b == b'.') {
        Some(dot) if !input[dot..].contains(&b'/') => &input[..dot],
        _ => input,
    }
}

/// `{//}`: Perl's `File::Basename::dirname`: `.` for a bare name, `/` for
/// the root, trailing slashes dropped.
fn dirname(input: &[u8]) -> Vec<u8> {
    let (dir, base) = split_last_slash(input);
    let dir = strip_trailing_slashes(dir);
    if !base.is_empty() {
        return dir.to_vec();
    }
    let (again, _) = split_last_slash(dir);
    strip_trailing_slashes(again).to_vec()
}

/// Perl's `fileparse`: everything up to the last `/` (with it, or `./`
/// when there is none), and the rest.
fn split_last_slash(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&path[..=slash], &path[slash + 1..]),
        None => (b"./", path),
    }
}

/// Perl's `s{(.)/*\z}{$1}s`: trailing slashes go, never the first byte.
fn strip_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

#[cfg(test)]
mod tests;
