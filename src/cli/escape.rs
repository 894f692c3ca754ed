//! Lines in the exact format of GNU `sha256sum`.

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
    let escape = name.iter().any(|b| matches!(b, b'\\' | b'\n' | b'\r'));
    let mut line = Vec::with_capacity(hex.len() + name.len() + 4);
    if escape {
        line.push(b'\\');
    }
    line.extend_from_slice(hex.as_bytes());
    line.extend_from_slice(b"  ");
    for &byte in name {
        match byte {
            b'\\' if escape => line.extend_from_slice(b"\\\\"),
            b'\n' if escape => line.extend_from_slice(b"\\n"),
            b'\r' if escape => line.extend_from_slice(b"\\r"),
            other => line.push(other),
        }
    }
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::checksum_line;
    use std::path::Path;

    #[test]
    fn plain_names_are_written_as_they_are() {
        assert_eq!(
            checksum_line("ab", Path::new("./a b.txt")),
            b"ab  ./a b.txt\n"
        );
    }

    #[test]
    fn backslashes_newlines_and_returns_are_escaped() {
        assert_eq!(checksum_line("ab", Path::new("a\nb")), b"\\ab  a\\nb\n");
        assert_eq!(
            checksum_line("ab", Path::new("a\\b\r")),
            b"\\ab  a\\\\b\\r\n"
        );
    }
}
