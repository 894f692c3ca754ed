//! The expectations are what GNU parallel printed for the same sources
//! (the manual's examples among them); `tests/it/cli_run.rs` compares
//! with GNU parallel itself.

use std::io;

use regex::bytes::Regex;

use super::*;

fn words(words: &[&str]) -> RecordStream {
    let words: Vec<Vec<u8>> = words.iter().map(|w| w.as_bytes().to_vec()).collect();
    Box::new(words.into_iter().map(Ok))
}

fn plain() -> Columns {
    Columns {
        separator: None,
        trim: Trim::None,
    }
}

fn combine(sources: Vec<(RecordStream, bool)>, columns: Columns) -> Vec<String> {
    Combinations::new(sources, columns)
        .map(|record| {
            let record = record.unwrap();
            record
                .iter()
                .map(|arg| String::from_utf8(arg.clone()).unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[test]
fn one_source_is_its_records() {
    assert_eq!(
        combine(vec![(words(&["a", "b"]), false)], plain()),
        ["a", "b"]
    );
    assert!(combine(vec![(words(&[]), false)], plain()).is_empty());
}

#[test]
fn several_sources_make_every_combination_the_last_fastest() {
    let got = combine(
        vec![
            (words(&["1", "2"]), false),
            (words(&["a", "b", "c"]), false),
        ],
        plain(),
    );
    assert_eq!(got, ["1 a", "1 b", "1 c", "2 a", "2 b", "2 c"]);
    let got = combine(
        vec![
            (words(&["6", "7"]), false),
            (words(&["4", "5"]), false),
            (words(&["1", "2", "3"]), false),
        ],
        plain(),
    );
    assert_eq!(got.len(), 12);
    assert_eq!(got[..4], ["6 4 1", "6 4 2", "6 4 3", "6 5 1"]);
    assert_eq!(got[11], "7 5 3");
}

#[test]
fn linked_sources_go_together_the_shortest_deciding() {
    // parallel echo ::: a b c :::+ 1 2 3 ::: X Y :::+ 11 22
    let got = combine(
        vec![
            (words(&["a", "b", "c"]), false),
            (words(&["1", "2", "3"]), true),
            (words(&["X", "Y"]), false),
            (words(&["11", "22"]), true),
        ],
        plain(),
    );
    assert_eq!(
        got,
        [
            "a 1 X 11", "a 1 Y 22", "b 2 X 11", "b 2 Y 22", "c 3 X 11", "c 3 Y 22"
        ]
    );
    // parallel echo ::: a b c :::+ 1 2
    let got = combine(
        vec![(words(&["a", "b", "c"]), false), (words(&["1", "2"]), true)],
        plain(),
    );
    assert_eq!(got, ["a 1", "b 2"]);
}

#[test]
fn an_empty_source_is_one_empty_argument() {
    // parallel printf '<%s>' ::: a b :::: /dev/null  prints <a><> and <b><>
    let got = combine(
        vec![(words(&["a", "b"]), false), (words(&[]), false)],
        plain(),
    );
    assert_eq!(got, ["a ", "b "]);
    let got = combine(
        vec![(words(&[]), false), (words(&["x", "y"]), false)],
        plain(),
    );
    assert_eq!(got, [" x", " y"]);
    assert!(combine(vec![(words(&[]), false), (words(&[]), false)], plain()).is_empty());
}

#[test]
fn columns_are_split_and_trimmed() {
    // printf ' a - b - \n' | parallel --colsep - printf '<%s>' {1} {2} {3} {4}
    let columns = Columns {
        separator: Some(Regex::new("-").unwrap()),
        trim: Trim::Both,
    };
    let record = Combinations::new(vec![(words(&[" a - b - ", ""]), false)], columns.clone())
        .collect::<io::Result<Vec<_>>>()
        .unwrap();
    assert_eq!(record[0], [b"a".to_vec(), b"b".to_vec(), Vec::new()]);
    assert_eq!(
        record[1],
        [Vec::<u8>::new()],
        "an empty value is one empty column"
    );
    // parallel --colsep '-' echo {4} {3} {2} {1} ::: A-B C-D ::: e-f g-h
    let got = combine(
        vec![
            (words(&["A-B", "C-D"]), false),
            (words(&["e-f", "g-h"]), false),
        ],
        columns,
    );
    assert_eq!(got, ["A B e f", "A B g h", "C D e f", "C D g h"]);
}

#[test]
fn trims() {
    assert_eq!(Trim::Left.apply(b" \ta b\n"), b"a b\n");
    assert_eq!(Trim::Right.apply(b" \ta b\n"), b" \ta b");
    assert_eq!(Trim::Both.apply(b" \ta b\n"), b"a b");
    assert_eq!(Trim::Both.apply(b"  "), b"");
    assert_eq!(Trim::None.apply(b" x "), b" x ");
    assert!(Trim::parse("x").is_err());
    assert_eq!(Trim::parse("rl"), Ok(Trim::Both));
}

/// A source that fails after its first record.
fn failing() -> RecordStream {
    Box::new(vec![Ok(b"a".to_vec()), Err(io::Error::other("disk on fire"))].into_iter())
}

#[test]
fn a_read_error_ends_the_combinations() {
    let mut all = Combinations::new(vec![(failing(), false)], plain());
    assert_eq!(all.next().unwrap().unwrap(), [b"a".to_vec()]);
    assert!(all.next().unwrap().is_err());
    assert!(all.next().is_none());
}

/// The first source streams: a combination is ready before it ends.
#[test]
fn the_first_source_streams() {
    let endless: RecordStream = Box::new((0_u64..).map(|n| Ok(n.to_string().into_bytes())));
    let mut all = Combinations::new(vec![(endless, false), (words(&["x", "y"]), false)], plain());
    let first: Vec<_> = all.by_ref().take(4).map(Result::unwrap).collect();
    assert_eq!(first[3], [b"1".to_vec(), b"y".to_vec()]);
    assert!(
        all.groups[0].kept.is_empty(),
        "the first source's values are not kept"
    );
}
