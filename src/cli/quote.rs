//! Names in error messages, quoted as coreutils quote them (`sha256sum:
//! 'a b': No such file or directory`), so a newline or a control byte in a
//! name is never printed raw and the name can be pasted back into a shell.
//!
//! The rules are those of gnulib's `quotef` (the shell-escape style, with
//! `:` quoted too), as `sha256sum` 9.x in a UTF-8 locale applies them:
//!
//! - a name of safe characters is written as it is;
//! - otherwise it is put in single quotes, a single quote inside written
//!   `'\''`, and a control character or a byte that is not UTF-8 written
//!   as `'$'\n''` or `'$'\377''`;
//! - a name whose only trouble is a single quote (and spaces, colons or
//!   printable non-ASCII) is put in double quotes instead: `"it's"`.
//!
//! A character is printable unless it is a control character or a line or
//! paragraph separator (U+2028, U+2029), which is glibc's `iswprint` in
//! the C.UTF-8 locale for every assigned character.

use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `path` as coreutils would write it in an error message.
pub(crate) fn quote(path: &Path) -> String {
    quote_bytes(path.as_os_str().as_bytes())
}

/// How one piece of a name behaves under quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Never needs quoting.
    Safe,
    /// Needs quotes; fine inside double quotes too (space, `:` and the
    /// like).
    Quoted,
    /// Needs quotes; not fine inside double quotes (`$`, `` ` ``, `"`).
    ShellSpecial,
    /// A single quote.
    Apostrophe,
    /// Must be escaped inside `$'...'`.
    Escaped,
}

/// `bytes` as coreutils would write it in an error message.
pub(crate) fn quote_bytes(bytes: &[u8]) -> String {
    let pieces = pieces(bytes);
    if !bytes.is_empty() && pieces.iter().all(|(piece, _)| *piece == Piece::Safe) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let has_apostrophe = pieces.iter().any(|(piece, _)| *piece == Piece::Apostrophe);
    let double_quotable = pieces
        .iter()
        .all(|(piece, _)| matches!(piece, Piece::Safe | Piece::Quoted | Piece::Apostrophe));
    if has_apostrophe && double_quotable {
        let mut quoted = String::from("\"");
        for (_, text) in &pieces {
            quoted.push_str(text);
        }
        quoted.push('"');
        return quoted;
    }
    single_quoted(&pieces)
}

/// `'...'`, with `'\''` for a quote and `'$'...''` runs for escapes.
fn single_quoted(pieces: &[(Piece, String)]) -> String {
    let mut quoted = String::from("'");
    let mut in_escape = false;
    for (piece, text) in pieces {
        match piece {
            Piece::Escaped if !in_escape => {
                quoted.push_str("'$'");
                in_escape = true;
            }
            Piece::Escaped => {}
            _ if in_escape => {
                quoted.push_str("''");
                in_escape = false;
            }
            _ => {}
        }
        if *piece == Piece::Apostrophe {
            quoted.push_str("'\\''");
        } else {
            quoted.push_str(text);
        }
    }
    quoted.push('\'');
    quoted
}

/// Splits `bytes` into characters (or stray bytes), each with its kind and
/// its text as it would be written inside quotes.
fn pieces(bytes: &[u8]) -> Vec<(Piece, String)> {
    let mut pieces = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            pieces.push(character(c, at, bytes.len()));
            at += c.len_utf8();
        }
        for &byte in chunk.invalid() {
            pieces.push((Piece::Escaped, format!("\\{byte:03o}")));
            at += 1;
        }
    }
    pieces
}

fn character(c: char, at: usize, len: usize) -> (Piece, String) {
    let piece = match c {
        '%' | '+' | ',' | '-' | '.' | '/' | ']' | '_' | '@' => Piece::Safe,
        c if c.is_ascii_alphanumeric() => Piece::Safe,
        ' ' | ':' => Piece::Quoted,
        // Special only where a shell would read them specially.
        '{' | '}' if len == 1 => Piece::Quoted,
        '{' | '}' => Piece::Safe,
        '#' | '~' if at == 0 => Piece::Quoted,
        '#' | '~' => Piece::Safe,
        '\'' => Piece::Apostrophe,
        '!' | '"' | '$' | '&' | '(' | ')' | '*' | ';' | '<' | '=' | '>' | '[' | '^' | '`' | '|'
        | '?' | '\\' => Piece::ShellSpecial,
        c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => Piece::Escaped,
        _ => Piece::Quoted,
    };
    let text = match (piece, c) {
        (Piece::Escaped, '\n') => "\\n".to_owned(),
        (Piece::Escaped, '\r') => "\\r".to_owned(),
        (Piece::Escaped, '\t') => "\\t".to_owned(),
        (Piece::Escaped, '\u{7}') => "\\a".to_owned(),
        (Piece::Escaped, '\u{8}') => "\\b".to_owned(),
        (Piece::Escaped, '\u{b}') => "\\v".to_owned(),
        (Piece::Escaped, '\u{c}') => "\\f".to_owned(),
        (Piece::Escaped, c) => {
            let mut octal = String::new();
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                let _ = write!(octal, "\\{byte:03o}");
            }
            octal
        }
        (_, c) => c.to_string(),
    };
    // Printable non-ASCII needs no quotes on its own, as in coreutils.
    let piece = if piece == Piece::Quoted && !c.is_ascii() {
        Piece::Safe
    } else {
        piece
    };
    (piece, text)
}

#[cfg(test)]
mod tests {
    use super::quote_bytes;

    /// What `sha256sum` 9.1 printed for these names in C.UTF-8.
    #[test]
    fn names_are_quoted_as_coreutils_quotes_them() {
        let cases: &[(&[u8], &str)] = &[
            (b"ok", "ok"),
            (b"%+,-./09AZ]_az", "%+,-./09AZ]_az"),
            (b"x@y", "x@y"),
            (b"a b", "'a b'"),
            (b"c:x", "'c:x'"),
            (b":", "':'"),
            (b"miss'ing", "\"miss'ing\""),
            (b"it's:x", "\"it's:x\""),
            (b"a:b'c", "\"a:b'c\""),
            (b"{", "'{'"),
            (b"}", "'}'"),
            (b"{}", "{}"),
            (b"a{b", "a{b"),
            (b"#x", "'#x'"),
            (b"x#", "x#"),
            (b"~x", "'~x'"),
            (b"x~", "x~"),
            (b"?", "'?'"),
            (b"a=b", "'a=b'"),
            (b"a!b", "'a!b'"),
            (b"a\"b", "'a\"b'"),
            (b"a\\b", "'a\\b'"),
            (b"dol$", "'dol$'"),
            (b"a'b\"c", "'a'\\''b\"c'"),
            (b"it's\ttab", "'it'\\''s'$'\\t''tab'"),
            (b"tab\tx", "'tab'$'\\t''x'"),
            (b"new\nline", "'new'$'\\n''line'"),
            (b"a\x01b", "'a'$'\\001''b'"),
            (b"\x7f", "''$'\\177'"),
            (b"a\x80", "'a'$'\\200'"),
            ("ünï".as_bytes(), "ünï"),
            ("ü:".as_bytes(), "'ü:'"),
            ("it's ü".as_bytes(), "\"it's ü\""),
            (b"\xc3\xbc\xff", "'ü'$'\\377'"),
            ("\u{2028}".as_bytes(), "''$'\\342\\200\\250'"),
            ("\u{85}".as_bytes(), "''$'\\302\\205'"),
            ("\u{200b}".as_bytes(), "\u{200b}"),
            ("\u{a0}".as_bytes(), "\u{a0}"),
            (b"", "''"),
        ];
        for (name, expected) in cases {
            assert_eq!(
                quote_bytes(name),
                *expected,
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }
}
