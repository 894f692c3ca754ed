//! Shell quoting as GNU parallel writes it, for showing a job's command
//! (`--dry-run`, `--joblog`, messages) and for `--shell`.

/// `word` quoted for a POSIX shell the way GNU parallel's `Q` quotes it:
/// bare when it has only `[-_.+a-zA-Z0-9/]`, `''` when empty, otherwise in
/// single quotes with each `'` written `'"'"'` (and no `''` left at the
/// ends).
pub(crate) fn quote(word: &[u8]) -> Vec<u8> {
    let bare = |b: &u8| b.is_ascii_alphanumeric() || b"-_.+/".contains(b);
    if word.is_empty() {
        return b"''".to_vec();
    }
    if word.iter().all(bare) {
        return word.to_vec();
    }
    let mut quoted = Vec::with_capacity(word.len() + 2);
    quoted.push(b'\'');
    for &byte in word {
        if byte == b'\'' {
            quoted.extend_from_slice(b"'\"'\"'");
        } else {
            quoted.push(byte);
        }
    }
    quoted.push(b'\'');
    let start = if quoted.starts_with(b"''") { 2 } else { 0 };
    let end = if quoted.len() >= start + 2 && quoted.ends_with(b"''") {
        quoted.len() - 2
    } else {
        quoted.len()
    };
    quoted[start..end].to_vec()
}

/// `words` as one shell command line: each quoted, joined by spaces.
pub(crate) fn command_line(words: &[Vec<u8>]) -> Vec<u8> {
    let mut line = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(&quote(word));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(word: &[u8]) -> String {
        String::from_utf8_lossy(&quote(word)).into_owned()
    }

    #[test]
    fn quotes_as_gnu_parallel_does() {
        // Each expectation is what `parallel -q --dry-run echo ::: WORD` prints.
        assert_eq!(q(b"A+b-c_d.e/f"), "A+b-c_d.e/f");
        assert_eq!(q(b""), "''");
        assert_eq!(q(b"a b"), "'a b'");
        assert_eq!(q(b"it's"), "'it'\"'\"'s'");
        assert_eq!(q(b"'x'"), "\"'\"'x'\"'\"");
        assert_eq!(q(b"$HOME"), "'$HOME'");
        assert_eq!(q(b"\xff"), "'\u{fffd}'");
        assert_eq!(quote(b"\xff"), b"'\xff'");
        assert_eq!(q(b"'"), "\"'\"");
    }

    #[test]
    fn a_command_line_is_its_quoted_words() {
        let words = [b"echo".to_vec(), b"a b".to_vec(), b"x".to_vec()];
        assert_eq!(command_line(&words), b"echo 'a b' x");
    }
}
