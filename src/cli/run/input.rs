//! The input reader: records from a byte stream, split at a delimiter and
//! handed out as they arrive (a record is ready as soon as its delimiter
//! is read, so `tail -f log | steward run ...` starts jobs at once). Only
//! the record being read and one read's worth of bytes are held.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::cli::output::os_error;

/// How much is read at a time.
const CHUNK: usize = 64 * 1024;

/// Where an input source's records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `::: WORDS`: each word is a record, newlines and all.
    Words(Vec<Vec<u8>>),
    /// `-a FILE`, `:::: FILE`; `-` is stdin.
    File(PathBuf),
    /// Stdin, when no source is named.
    Stdin,
}

/// One input source of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// Where its records come from.
    pub(crate) origin: Origin,
    /// `:::+` / `::::+`: read alongside the source before it, not
    /// combined with it.
    pub(crate) linked: bool,
}

/// How records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reading {
    /// What ends a record: a newline by default, `-0`, `-d`.
    pub(crate) delimiter: Vec<u8>,
    /// `-r`: records of white space only are skipped.
    pub(crate) skip_blank: bool,
}

/// The records of one source, one at a time.
pub(crate) type RecordStream = Box<dyn Iterator<Item = io::Result<Vec<u8>>> + Send>;

impl Origin {
    /// Opens the source: its records, read lazily.
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub(crate) fn open(&self, reading: &Reading) -> io::Result<RecordStream> {
        let reader: Box<dyn Read + Send> = match self {
            Self::Words(words) => {
                let words = words.clone().into_iter().map(Ok);
                return Ok(if reading.skip_blank {
                    Box::new(words.filter(|word: &io::Result<Vec<u8>>| {
                        word.as_ref().map_or(true, |word| !is_blank(word))
                    }))
                } else {
                    Box::new(words)
                });
            }
            Self::Stdin => Box::new(io::stdin()),
            Self::File(path) if path.as_os_str() == "-" => Box::new(io::stdin()),
            Self::File(path) => Box::new(File::open(path).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("{}: {}", path.display(), os_error(&error)),
                )
            })?),
        };
        Ok(Box::new(Records::new(reader, reading.clone())))
    }
}

/// Perl's `/^\s*$/`.
fn is_blank(record: &[u8]) -> bool {
    record
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
}

/// Records split from a byte stream at a delimiter; a last record without
/// one counts.
pub(crate) struct Records<R> {
    reader: R,
    reading: Reading,
    /// Read bytes in `start..end`; the rest is room for the next read.
    buffer: Vec<u8>,
    /// Where the next record starts in `buffer`.
    start: usize,
    end: usize,
    /// How far from `start` the delimiter has been looked for.
    searched: usize,
    at_end: bool,
}

impl<R: Read> Records<R> {
    /// The records of `reader`.
    pub(crate) fn new(reader: R, reading: Reading) -> Self {
        Self {
            reader,
            reading,
            buffer: Vec::new(),
            start: 0,
            end: 0,
            searched: 0,
            at_end: false,
        }
    }

    /// The next record, blank or not.
    fn next_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        let length = self.reading.delimiter.len();
        loop {
            let pending = &self.buffer[self.start..self.end];
            // A delimiter may straddle what was searched and what came.
            let from = self.searched.saturating_sub(length.saturating_sub(1));
            if let Some(at) = find(&pending[from..], &self.reading.delimiter) {
                let end = self.start + from + at;
                let record = self.buffer[self.start..end].to_vec();
                self.start = end + length;
                self.searched = 0;
                return Ok(Some(record));
            }
            self.searched = pending.len();
            if self.at_end {
                if pending.is_empty() {
                    return Ok(None);
                }
                let record = pending.to_vec();
                self.start = self.end;
                self.searched = 0;
                return Ok(Some(record));
            }
            self.fill()?;
        }
    }

    /// Reads once more into the buffer (after moving out what was
    /// handed out); notes the end of the stream.
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buffer.len() - self.end < CHUNK / 2 {
            // Zeroed only when it grows: a long record doubles it.
            let grown = (self.buffer.len() * 2).max(self.end + CHUNK);
            self.buffer.resize(grown, 0);
        } else if self.buffer.len() > 4 * CHUNK && self.end < CHUNK {
            // A long record is gone: give its room back.
            self.buffer.truncate(2 * CHUNK);
            self.buffer.shrink_to_fit();
        }
        let read = loop {
            match self.reader.read(&mut self.buffer[self.end..]) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                other => break other?,
            }
        };
        self.end += read;
        if read == 0 {
            self.at_end = true;
        }
        Ok(())
    }
}

impl<R: Read> Iterator for Records<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_record() {
                Ok(Some(record)) if self.reading.skip_blank && is_blank(&record) => {}
                Ok(record) => return record.map(Ok),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => None,
        [byte] => haystack.iter().position(|b| b == byte),
        _ => haystack
            .windows(needle.len())
            .position(|window| window == needle),
    }
}

/// A delimiter as `-d` takes it: bytes with C escapes (`\n`, `\t`, `\0`,
/// `\\`, `\a`, `\b`, `\f`, `\r`, `\v`), octal (`\101`) and hex (`\x41`)
/// as printf reads them.
pub(crate) fn delimiter(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut at = 0;
    while at < text.len() {
        if text[at] != b'\\' || at + 1 == text.len() {
            bytes.push(text[at]);
            at += 1;
            continue;
        }
        let escape = text[at + 1];
        at += 2;
        let simple = match escape {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(byte) = simple {
            bytes.push(byte);
        } else if escape == b'x' {
            let digits = hex_digits(&text[at..]);
            let value = u8::from_str_radix(digits, 16).map_err(|_| {
                format!(
                    "-d: \\x needs one or two hex digits in {:?}",
                    String::from_utf8_lossy(text)
                )
            })?;
            bytes.push(value);
            at += digits.len();
        } else if escape.is_ascii_digit() && escape < b'8' {
            let mut value = u32::from(escape - b'0');
            let mut taken = 0;
            while taken < 2 && at < text.len() && (b'0'..b'8').contains(&text[at]) {
                value = value * 8 + u32::from(text[at] - b'0');
                at += 1;
                taken += 1;
            }
            bytes.push(u8::try_from(value).map_err(|_| {
                format!(
                    "-d: octal escape above \\377 in {:?}",
                    String::from_utf8_lossy(text)
                )
            })?);
        } else {
            bytes.push(b'\\');
            bytes.push(escape);
        }
    }
    if bytes.is_empty() {
        return Err("-d: the delimiter is empty".to_owned());
    }
    Ok(bytes)
}

/// Up to two hex digits at the start of `text`.
fn hex_digits(text: &[u8]) -> &str {
    let count = text
        .iter()
        .take(2)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    // ASCII hex digits are UTF-8.
    std::str::from_utf8(&text[..count]).unwrap_or_default()
}

#[cfg(test)]
mod tests;
