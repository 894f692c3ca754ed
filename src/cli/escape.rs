//! Names on `sha256sum`'s output lines, escaped as GNU `sha256sum` escapes
//! them, and read back.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One `sha256sum` line for `path` with digest `hex`, newline included.
///
/// Like coreutils (9.x), a name holding a backslash, a newline or a
/// carriage return is escaped (`\\`, `\n`, `\r`) and the line starts with
/// a backslash, so `sha256sum -c` reads it back; other bytes, invalid
/// UTF-8 included, are written as they are.
pub(crate) fn checksum_line(hex: &str, path: &Path) -> Vec<u8> {
    let name = path.as_os_str().as_bytes();
    let mut line = Vec::with_capacity(hex.len() + name.len() + 4);
    let escape = needs_escape(name);
    if escape {
        line.push(b'\\');
    }
    line.extend_from_slice(hex.as_bytes());
    line.extend_from_slice(b"  ");
    push_name(&mut line, name, escape);
    line.push(b'\n');
    line
}

/// One line of `sha256sum -c`'s report: `name: OK`, `name: FAILED`,
/// `name: FAILED open or read`.
///
/// As coreutils 9.1 does, the name is escaped (as on a checksum line, with
/// the leading backslash) only when it holds a newline: a backslash or a
/// carriage return alone leaves it as it is. (Later coreutils escape on
/// all three, as on checksum lines.)
pub(crate) fn verdict_line(name: &[u8], verdict: &str) -> Vec<u8> {
    let mut line = Vec::with_capacity(name.len() + verdict.len() + 4);
    let escape = name.contains(&b'\n');
    if escape {
        line.push(b'\\');
    }
    push_name(&mut line, name, escape);
    line.extend_from_slice(b": ");
    line.extend_from_slice(verdict.as_bytes());
    line.push(b'\n');
    line
}

fn needs_escape(name: &[u8]) -> bool {
    name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'))
}

fn push_name(line: &mut Vec<u8>, name: &[u8], escape: bool) {
    if !escape {
        line.extend_from_slice(name);
        return;
    }
    for &byte in name {
        match byte {
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            other => line.push(other),
        }
    }
}

/// An escaped name read back: `\\`, `\n` and `\r` become the byte they
/// stand for. `None` if the name is not a valid escaped name (a backslash
/// before anything else or at the end, or a NUL byte), as `sha256sum -c`
/// judges it.
pub(crate) fn unescape(escaped: &[u8]) -> Option<Vec<u8>> {
    let mut name = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => name.push(match bytes.next()? {
                b'\\' => b'\\',
                b'n' => b'\n',
                b'r' => b'\r',
                _ => return None,
            }),
            0 => return None,
            other => name.push(other),
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::{checksum_line, unescape, verdict_line};
    use std::path::Path;

    #[test]
    fn plain_names_are_written_as_they_are() {
        assert_eq!(
            checksum_line("ab", Path::new("./a b.txt")),
            b"ab  ./a b.txt\n"
        );
        assert_eq!(verdict_line(b"a b", "OK"), b"a b: OK\n");
    }

    #[test]
    fn backslashes_newlines_and_returns_are_escaped() {
        assert_eq!(checksum_line("ab", Path::new("a\nb")), b"\\ab  a\\nb\n");
        assert_eq!(
            checksum_line("ab", Path::new("a\\b\r")),
            b"\\ab  a\\\\b\\r\n"
        );
        assert_eq!(
            verdict_line(b"a\\b\nc", "FAILED"),
            b"\\a\\\\b\\nc: FAILED\n"
        );
        assert_eq!(verdict_line(b"a\\b\r", "OK"), b"a\\b\r: OK\n");
    }

    #[test]
    fn escaped_names_read_back_and_bad_escapes_are_refused() {
        assert_eq!(unescape(b"a\\\\b\\n\\r").unwrap(), b"a\\b\n\r");
        assert_eq!(unescape(b"plain").unwrap(), b"plain");
        assert_eq!(unescape(b"bad\\escape"), None);
        assert_eq!(unescape(b"trailing\\"), None);
        assert_eq!(unescape(b"nul\0"), None);
    }
}
