use std::io::{self, Read};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

fn lines() -> Reading {
    Reading {
        delimiter: b"\n".to_vec(),
        skip_blank: false,
    }
}

fn all(bytes: &[u8], reading: Reading) -> Vec<Vec<u8>> {
    Records::new(bytes, reading)
        .collect::<io::Result<_>>()
        .unwrap()
}

/// Hands out one byte per read: every record straddles reads.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some((&first, rest)) = self.0.split_first() else {
            return Ok(0);
        };
        buf[0] = first;
        self.0 = rest;
        Ok(1)
    }
}

#[test]
fn records_end_at_the_delimiter_or_the_end() {
    assert_eq!(
        all(b"a\n\nb", lines()),
        [b"a".to_vec(), vec![], b"b".to_vec()]
    );
    assert_eq!(
        all(b"a\r\nb\r\n", lines()),
        [b"a\r".to_vec(), b"b\r".to_vec()],
        "a CR stays, as in parallel"
    );
    assert_eq!(all(b"", lines()), Vec::<Vec<u8>>::new());
    assert_eq!(all(b"\n", lines()), [Vec::<u8>::new()]);
    assert_eq!(
        all(b"bad\xffname\n", lines()),
        [b"bad\xffname".to_vec()],
        "bytes, not UTF-8"
    );
    let nul = Reading {
        delimiter: vec![0],
        skip_blank: false,
    };
    assert_eq!(all(b"a\nb\0c\0", nul), [b"a\nb".to_vec(), b"c".to_vec()]);
}

#[test]
fn a_long_delimiter_may_straddle_reads() {
    let reading = Reading {
        delimiter: b"<>".to_vec(),
        skip_blank: false,
    };
    let records: Vec<Vec<u8>> = Records::new(Trickle(b"a<>b<<>c>"), reading)
        .collect::<io::Result<_>>()
        .unwrap();
    assert_eq!(records, [b"a".to_vec(), b"b<".to_vec(), b"c>".to_vec()]);
    let records: Vec<Vec<u8>> = Records::new(Trickle(b"one\ntwo\n"), lines())
        .collect::<io::Result<_>>()
        .unwrap();
    assert_eq!(records, [b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn blank_records_are_skipped_when_asked() {
    let reading = Reading {
        delimiter: b"\n".to_vec(),
        skip_blank: true,
    };
    assert_eq!(
        all(b"a\n \t\n\nb\n", reading),
        [b"a".to_vec(), b"b".to_vec()]
    );
    let words = Origin::Words(vec![b"x".to_vec(), b" ".to_vec(), b"y".to_vec()]);
    let records: Vec<Vec<u8>> = words
        .open(&Reading {
            delimiter: b"\n".to_vec(),
            skip_blank: true,
        })
        .unwrap()
        .collect::<io::Result<_>>()
        .unwrap();
    assert_eq!(records, [b"x".to_vec(), b"y".to_vec()]);
}

#[test]
fn words_are_records_whole() {
    let words = Origin::Words(vec![b"a\nb".to_vec(), Vec::new()]);
    let records: Vec<Vec<u8>> = words
        .open(&lines())
        .unwrap()
        .collect::<io::Result<_>>()
        .unwrap();
    assert_eq!(
        records,
        [b"a\nb".to_vec(), Vec::new()],
        "GNU parallel splits ::: words at newlines; steward does not"
    );
}

/// Bytes sent by the test as it goes; a read waits (bounded) for them.
struct Fed(mpsc::Receiver<Vec<u8>>, Vec<u8>);

impl Read for Fed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.is_empty() {
            match self.0.recv_timeout(Duration::from_secs(30)) {
                Ok(bytes) => self.1 = bytes,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(io::Error::other(
                        "the reader waited for more than it needed",
                    ));
                }
            }
        }
        let n = self.1.len().min(buf.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

#[test]
fn a_record_is_handed_out_as_soon_as_it_is_complete() {
    let (feed, fed) = mpsc::channel();
    let mut records = Records::new(Fed(fed, Vec::new()), lines());
    feed.send(b"first\nsec".to_vec()).unwrap();
    // Nothing more is sent before "first" is asked for: a reader that
    // waited for more would time out with an error here.
    assert_eq!(records.next().unwrap().unwrap(), b"first");
    feed.send(b"ond\n".to_vec()).unwrap();
    assert_eq!(records.next().unwrap().unwrap(), b"second");
    drop(feed);
    assert!(records.next().is_none());
}

/// Endless lines, made as they are read.
struct Lines(u64, Vec<u8>);

impl Read for Lines {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.is_empty() {
            self.0 += 1;
            self.1 = format!("{}\n", self.0).into_bytes();
        }
        let n = self.1.len().min(buf.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

#[test]
fn memory_stays_bounded_however_long_the_input() {
    let mut records = Records::new(Lines(0, Vec::new()), lines());
    for expected in 1..=300_000_u64 {
        let record = records.next().unwrap().unwrap();
        assert_eq!(record, expected.to_string().as_bytes());
        assert!(records.buffer.len() <= 4 * CHUNK);
    }
}

#[test]
fn a_long_record_does_not_keep_its_room() {
    let mut input = vec![b'x'; 10 * CHUNK];
    input.extend_from_slice(b"\nshort\nend\n");
    let mut records = Records::new(Trickle(&input).chain(io::empty()), lines());
    assert_eq!(records.next().unwrap().unwrap().len(), 10 * CHUNK);
    assert_eq!(records.next().unwrap().unwrap(), b"short");
    assert_eq!(records.next().unwrap().unwrap(), b"end");
    assert!(
        records.buffer.capacity() <= 4 * CHUNK,
        "{}",
        records.buffer.capacity()
    );
}

#[test]
fn delimiters_take_escapes_as_printf_does() {
    assert_eq!(delimiter(b"\\n").unwrap(), b"\n");
    assert_eq!(delimiter(b"\\0").unwrap(), b"\0");
    assert_eq!(delimiter(b",").unwrap(), b",");
    assert_eq!(delimiter(b"\\t\\\\").unwrap(), b"\t\\");
    assert_eq!(delimiter(b"\\x41\\101").unwrap(), b"AA");
    assert_eq!(delimiter(b"\\r\\n").unwrap(), b"\r\n");
    assert_eq!(delimiter(b"a\\").unwrap(), b"a\\");
    assert!(delimiter(b"").is_err());
    assert!(delimiter(b"\\xZZ").is_err());
}
