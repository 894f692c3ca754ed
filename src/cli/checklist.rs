//! Lines of a checksum list, read as `sha256sum -c` reads them.
//!
//! Three forms are accepted, each optionally preceded by spaces or tabs and
//! by a backslash that marks an escaped name (`\\`, `\n`, `\r`):
//!
//! - `HEX  name` (text) or `HEX *name` (binary): `sha256sum`'s own;
//! - `SHA256 (name) = HEX`: `sha256sum --tag`'s, the BSD tagged form;
//! - `HEX name`: the reversed BSD form. A list may not mix it with the
//!   first (a name with a leading space or `*` would be read two ways);
//!   whichever comes first wins for the rest of the run, as in coreutils.
//!
//! `HEX` is 64 hex digits of either case. Lines starting with `#` and
//! empty lines are skipped; a trailing carriage return is dropped.

use super::escape::unescape;

/// Hex digits in a SHA-256 digest.
const HEX_DIGITS: usize = 64;
/// The tag of the BSD tagged form.
const TAG: &[u8] = b"SHA256";

/// One line of a list, read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A comment or an empty line.
    Skip,
    /// A file to check: its expected digest (lower-case hex) and name.
    Entry { hex: String, name: Vec<u8> },
    /// Not a checksum line.
    Malformed,
}

/// What the lines read so far fixed: whether names follow the digest after
/// one separator (the reversed BSD form) or after a space and a marker.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    reversed: Option<bool>,
}

impl Reader {
    /// Reads one line, newline included or not. `list_is_stdin`: the list
    /// is standard input, so an entry may not name `-`.
    pub(crate) fn read(&mut self, line: &[u8], list_is_stdin: bool) -> Line {
        if line.first() == Some(&b'#') {
            return Line::Skip;
        }
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Line::Skip;
        }
        match self.entry(line) {
            Some((_, name)) if list_is_stdin && name == b"-" => Line::Malformed,
            Some((hex, name)) => Line::Entry { hex, name },
            None => Line::Malformed,
        }
    }

    fn entry(&mut self, line: &[u8]) -> Option<(String, Vec<u8>)> {
        let mut at = line
            .iter()
            .position(|&b| !is_blank(b))
            .unwrap_or(line.len());
        let escaped = byte(line, at) == b'\\';
        if escaped {
            at += 1;
        }
        if line[at..].starts_with(TAG) {
            return tagged(&line[at + TAG.len()..], escaped);
        }
        // The shortest line: the digest, a blank and a one-byte name.
        if line.len() - at < HEX_DIGITS + 2 {
            return None;
        }
        let digest_start = at;
        while at < line.len() && !is_blank(line[at]) {
            at += 1;
        }
        if at == line.len() {
            return None;
        }
        let hex = hex(&line[digest_start..at])?;
        at += 1;
        let marker = byte(line, at);
        if line.len() - at == 1 || !matches!(marker, b' ' | b'*') {
            if self.reversed == Some(false) {
                return None;
            }
            self.reversed = Some(true);
        } else if self.reversed != Some(true) {
            self.reversed = Some(false);
            at += 1;
        }
        Some((hex, name(&line[at..], escaped)?))
    }
}

/// `(name) = HEX`, after the tag.
fn tagged(rest: &[u8], escaped: bool) -> Option<(String, Vec<u8>)> {
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let rest = rest.strip_prefix(b"(")?;
    let close = rest.iter().rposition(|&b| b == b')')?;
    let name = name(&rest[..close], escaped)?;
    let digest = trim_blanks(&rest[close + 1..]).strip_prefix(b"=")?;
    Some((hex(trim_blanks(digest))?, name))
}

/// The name, read back if escaped; an unescaped name ends at a NUL byte,
/// as the C string it is in coreutils.
fn name(raw: &[u8], escaped: bool) -> Option<Vec<u8>> {
    if escaped {
        return unescape(raw);
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Some(raw[..end].to_vec())
}

/// The digest in lower case, if `text` is one.
fn hex(text: &[u8]) -> Option<String> {
    if text.len() != HEX_DIGITS || !text.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(String::from_utf8_lossy(text).to_ascii_lowercase())
}

fn trim_blanks(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(text.len());
    &text[start..]
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// The byte at `at`, or NUL past the end (as in the C string).
fn byte(line: &[u8], at: usize) -> u8 {
    line.get(at).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{Line, Reader};

    const A: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";

    fn entry(name: &[u8]) -> Line {
        Line::Entry {
            hex: A.to_owned(),
            name: name.to_vec(),
        }
    }

    #[test]
    fn the_three_forms_are_read() {
        let upper = A.to_ascii_uppercase();
        let cases: Vec<(String, Line)> = vec![
            (format!("{A}  good\n"), entry(b"good")),
            (format!("{A} *good"), entry(b"good")),
            (format!("{upper}  good"), entry(b"good")),
            (format!(" \t{A}  good\r\n"), entry(b"good")),
            (format!("{A}  sp ace "), entry(b"sp ace ")),
            (format!("\\{A}  new\\nline\\\\"), entry(b"new\nline\\")),
            (format!("SHA256 (a (b)) = {A}"), entry(b"a (b)")),
            (format!("SHA256(x)={A}"), entry(b"x")),
            (format!("\\SHA256 (a\\nb) = {A}"), entry(b"a\nb")),
            ("# comment".to_owned(), Line::Skip),
            ("\n".to_owned(), Line::Skip),
            ("\r\n".to_owned(), Line::Skip),
        ];
        for (line, expected) in cases {
            assert_eq!(
                Reader::default().read(line.as_bytes(), false),
                expected,
                "{line:?}"
            );
        }
    }

    #[test]
    fn malformed_lines_are_refused() {
        let cases = [
            "not a checksum line".to_owned(),
            format!("{}  short", &A[..8]),
            format!("{A}x  long"),
            format!("g{}  nothex", &A[1..]),
            A.to_owned(),
            format!("\\{A}  bad\\escape"),
            format!("\\{A}  trailing\\"),
            format!("SHA256 (x) = {}", &A[..60]),
            format!("SHA256 (x) {A}"),
            format!("SHA512 (x) = {A}"),
        ];
        for line in cases {
            assert_eq!(
                Reader::default().read(line.as_bytes(), false),
                Line::Malformed,
                "{line:?}"
            );
        }
    }

    #[test]
    fn reversed_and_standard_forms_do_not_mix() {
        let mut reader = Reader::default();
        assert_eq!(reader.read(format!("{A} x").as_bytes(), false), entry(b"x"));
        // Now a leading space is part of the name.
        assert_eq!(
            reader.read(format!("{A}  y").as_bytes(), false),
            entry(b" y")
        );
        let mut reader = Reader::default();
        assert_eq!(
            reader.read(format!("{A}  y").as_bytes(), false),
            entry(b"y")
        );
        assert_eq!(
            reader.read(format!("{A} x").as_bytes(), false),
            Line::Malformed
        );
    }

    #[test]
    fn a_list_on_stdin_may_not_name_stdin() {
        let line = format!("{A}  -");
        assert_eq!(
            Reader::default().read(line.as_bytes(), true),
            Line::Malformed
        );
        assert_eq!(Reader::default().read(line.as_bytes(), false), entry(b"-"));
    }
}
