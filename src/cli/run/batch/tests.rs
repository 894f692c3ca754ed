//! Each expectation is what GNU parallel ran for the same inputs and
//! flags (`-k`, seen with a program that prints its arguments).

use std::io;

use super::*;
use crate::cli::run::expand::Names;

fn records(count: u32) -> impl Iterator<Item = io::Result<Record>> {
    (1..=count).map(|n| Ok(vec![n.to_string().into_bytes()]))
}

fn template() -> Template {
    Template::command(&[b"echo".to_vec()], &Names::default())
}

fn batching(max_records: Option<usize>, fill_up: bool, spread_over: Option<usize>) -> Batching {
    Batching {
        max_records,
        fill_up,
        spread_over,
        limit: 128 * 1024,
        word_limit: 128 * 1024,
    }
}

/// The batches as the numbers they hold: `[[1, 2], [3]]`.
fn sizes(
    records: impl Iterator<Item = io::Result<Record>>,
    batching: Batching,
    fill: Fill,
) -> Vec<Vec<u32>> {
    Batches::new(records, batching, template(), fill)
        .map(|batch| {
            batch
                .unwrap()
                .args()
                .iter()
                .map(|arg| std::str::from_utf8(arg).unwrap().parse().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn one_record_a_job_by_default() {
    let got = sizes(records(3), batching(None, false, None), Fill::Words);
    assert_eq!(got, [vec![1], vec![2], vec![3]]);
    let seqs: Vec<u64> = Batches::new(
        records(3),
        batching(None, false, None),
        template(),
        Fill::Words,
    )
    .map(|batch| batch.unwrap().seq)
    .collect();
    assert_eq!(seqs, [1, 2, 3]);
}

#[test]
fn n_takes_up_to_n_records() {
    // parallel -n2 ... ::: 1 2 3 4 5
    let got = sizes(records(5), batching(Some(2), false, None), Fill::Words);
    assert_eq!(got, [vec![1, 2], vec![3, 4], vec![5]]);
}

#[test]
fn the_last_batch_is_spread_over_the_job_slots() {
    // parallel -j2 -X ... ::: 1 2 3 4 5 6 7 8 9 10
    let got = sizes(records(10), batching(None, true, Some(2)), Fill::Context);
    assert_eq!(got, [vec![1, 2, 3, 4, 5], vec![6, 7, 8, 9, 10]]);
    // parallel -j3 -X ... ::: 1 2 3 4 5 6 7
    let got = sizes(records(7), batching(None, true, Some(3)), Fill::Context);
    assert_eq!(got, [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    // seq 5 | parallel -j4 -m ...
    let got = sizes(records(5), batching(None, true, Some(4)), Fill::Words);
    assert_eq!(got, [vec![1, 2], vec![3, 4], vec![5]]);
    // parallel -j2 -n2 -X ... ::: 1 .. 10: only the batch at the end is spread
    let got = sizes(records(10), batching(Some(2), true, Some(2)), Fill::Context);
    assert_eq!(
        got,
        [
            vec![1, 2],
            vec![3, 4],
            vec![5, 6],
            vec![7, 8],
            vec![9],
            vec![10]
        ]
    );
    // parallel -j2 -n4 -X ... ::: 1 .. 10
    let got = sizes(records(10), batching(Some(4), true, Some(2)), Fill::Context);
    assert_eq!(got, [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9], vec![10]]);
    // parallel -j2 -X ... ::: a
    let got = sizes(records(1), batching(None, true, Some(2)), Fill::Context);
    assert_eq!(got, [vec![1]]);
}

#[test]
fn xargs_fills_without_spreading() {
    let got = sizes(records(5), batching(None, true, None), Fill::Words);
    assert_eq!(got, [vec![1, 2, 3, 4, 5]]);
}

#[test]
fn batches_stay_within_the_argument_space() {
    let limit = 300;
    let got = sizes(
        records(200),
        Batching {
            max_records: None,
            fill_up: true,
            spread_over: None,
            limit,
            word_limit: 1 << 17,
        },
        Fill::Words,
    );
    assert_eq!(
        got.concat(),
        (1..=200).collect::<Vec<u32>>(),
        "every input once, in order"
    );
    assert!(got.len() > 1);
    for batch in &got {
        let args: Vec<Vec<u8>> = batch.iter().map(|n| n.to_string().into_bytes()).collect();
        let words = template().words(
            &crate::cli::run::expand::Job {
                args: &args,
                seq: 1,
                slot: 1,
            },
            Fill::Words,
        );
        let size: usize = words
            .iter()
            .map(|w| w.len() + crate::cli::run::expand::WORD_OVERHEAD)
            .sum();
        assert!(size <= limit, "{size} > {limit}");
    }
}

#[test]
fn a_record_too_long_alone_is_an_error() {
    let huge = vec![
        Ok(vec![b"x".to_vec()]),
        Ok(vec![vec![b'y'; 1000]]),
        Ok(vec![b"z".to_vec()]),
    ];
    let mut batches = Batches::new(
        huge.into_iter(),
        Batching {
            max_records: None,
            fill_up: false,
            spread_over: None,
            limit: 100,
            word_limit: 1 << 17,
        },
        template(),
        Fill::Words,
    );
    assert!(batches.next().unwrap().is_ok());
    let error = batches.next().unwrap().unwrap_err();
    assert!(
        error.to_string().contains("command line too long"),
        "{error}"
    );
    assert!(batches.next().is_none(), "nothing after an error");
}

#[test]
fn n0_reads_a_record_and_gives_none() {
    let batches: Vec<Batch> = Batches::new(
        records(2),
        batching(Some(0), false, None),
        template(),
        Fill::Words,
    )
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        batches,
        [
            Batch {
                seq: 1,
                records: vec![]
            },
            Batch {
                seq: 2,
                records: vec![]
            }
        ]
    );
}

#[test]
fn one_record_a_job_never_reads_ahead() {
    // The second record is never ready: a batcher that peeked would panic.
    let mut first = Some(Ok(vec![b"1".to_vec()]));
    let records =
        std::iter::from_fn(move || Some(first.take().unwrap_or_else(|| panic!("read ahead"))));
    let mut batches = Batches::new(
        records,
        batching(None, false, None),
        template(),
        Fill::Words,
    );
    assert_eq!(batches.next().unwrap().unwrap().args(), [b"1".to_vec()]);
}

#[test]
fn a_word_longer_than_the_system_takes_is_an_error() {
    let records = vec![Ok(vec![b"short".to_vec()]), Ok(vec![vec![b'x'; 200]])];
    let mut batches = Batches::new(
        records.into_iter(),
        Batching {
            max_records: None,
            fill_up: false,
            spread_over: None,
            limit: 1 << 20,
            word_limit: 100,
        },
        template(),
        Fill::Words,
    );
    assert!(batches.next().unwrap().is_ok());
    let error = batches.next().unwrap().unwrap_err();
    assert!(error.to_string().contains("input 2"), "{error}");
}
