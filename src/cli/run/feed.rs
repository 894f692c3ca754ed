//! The feed: a thread of its own reads the inputs (they may block: a
//! terminal, `tail -f`), combines and batches them, and hands the batches
//! to the runner through a short channel, so reading stays a few jobs
//! ahead of running and memory stays bounded however long the input.
//!
//! When the number of jobs must be known first (`--bar`, `--eta`,
//! `--halt ...%`), streamed sources are copied to unnamed temporary files
//! (disk, not memory), counted, and read again.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};

use tokio::sync::mpsc;

use crate::cli::output::os_error;

use super::batch::{Batch, Batches, Batching};
use super::combine::{Columns, Combinations};
use super::expand::{Fill, Template};
use super::input::{Origin, Reading, RecordStream, Records, Source};
use super::limits;
use super::settings::Settings;

/// What the feed hands over.
#[derive(Debug)]
pub(crate) enum Feed {
    /// The number of jobs, before the first batch (only when asked).
    Total(u64),
    /// The next job's records.
    Batch(Batch),
    /// The inputs cannot be read (or a command line would not fit): no
    /// more batches.
    Failed(String),
}

/// What the feed needs.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) sources: Vec<Source>,
    pub(crate) reading: Reading,
    pub(crate) columns: Columns,
    pub(crate) batching: Batching,
    pub(crate) template: Template,
    pub(crate) fill: Fill,
    /// Count the jobs first.
    pub(crate) count: bool,
}

impl Plan {
    /// The settings' inputs, batched for `slots` job slots within the
    /// system's limits.
    pub(crate) fn new(settings: &Settings, slots: usize) -> Self {
        let mut limit = limits::argument_space();
        if let Some(max_chars) = settings.grouping.max_chars {
            limit = limit.min(max_chars);
        }
        if settings.shell {
            // The whole command line is one word: `sh -c LINE`.
            limit = limit.min(limits::WORD_LIMIT);
        }
        Self {
            sources: settings.sources.clone(),
            reading: settings.reading.clone(),
            columns: settings.columns.clone(),
            batching: Batching {
                max_records: settings.grouping.max_records,
                fill_up: settings.grouping.fill_up,
                spread_over: settings.grouping.spread.then_some(slots),
                limit,
                word_limit: limits::WORD_LIMIT,
            },
            template: settings.template.clone(),
            fill: settings.fill,
            count: settings.counts_first(),
        }
    }
}

/// Starts the feed's thread; the channel ends after the last batch. The
/// thread ends when the receiver is dropped (at its next batch).
///
/// # Errors
///
/// The thread cannot be started.
pub(crate) fn start(plan: Plan) -> io::Result<mpsc::Receiver<Feed>> {
    // Batches that fill the argument space are big: keep fewer ahead.
    let ahead = if plan.batching.fill_up { 2 } else { 64 };
    let (sender, receiver) = mpsc::channel(ahead);
    std::thread::Builder::new()
        .name("steward-run-feed".to_owned())
        .spawn(move || {
            if let Err(error) = feed(plan, &sender) {
                let _ = sender.blocking_send(Feed::Failed(os_error(&error)));
            }
        })?;
    Ok(receiver)
}

/// A source ready to be read, possibly more than once.
enum Input {
    Origin(Origin),
    /// A streamed source copied to an unnamed temporary file.
    Copy(File),
}

impl Input {
    fn open(&self, reading: &Reading) -> io::Result<RecordStream> {
        match self {
            Self::Origin(origin) => origin.open(reading),
            Self::Copy(file) => {
                // Clones share the offset: rewind for each reading.
                let mut file = file.try_clone()?;
                file.seek(SeekFrom::Start(0))?;
                Ok(Box::new(Records::new(file, reading.clone())))
            }
        }
    }
}

fn feed(plan: Plan, sender: &mpsc::Sender<Feed>) -> io::Result<()> {
    let inputs: Vec<(Input, bool)> = plan
        .sources
        .iter()
        .map(|source| {
            let input = match (&source.origin, plan.count) {
                (Origin::Words(_), _) | (_, false) => Input::Origin(source.origin.clone()),
                (streamed, true) => Input::Copy(copy(streamed)?),
            };
            Ok((input, source.linked))
        })
        .collect::<io::Result<_>>()?;
    if plan.count {
        let mut total = 0;
        for batch in batches(&inputs, &plan)? {
            batch?;
            total += 1;
        }
        if sender.blocking_send(Feed::Total(total)).is_err() {
            return Ok(());
        }
    }
    for batch in batches(&inputs, &plan)? {
        if sender.blocking_send(Feed::Batch(batch?)).is_err() {
            return Ok(()); // the runner stopped
        }
    }
    Ok(())
}

fn batches(inputs: &[(Input, bool)], plan: &Plan) -> io::Result<Batches<Combinations>> {
    let streams = inputs
        .iter()
        .map(|(input, linked)| Ok((input.open(&plan.reading)?, *linked)))
        .collect::<io::Result<Vec<_>>>()?;
    Ok(Batches::new(
        Combinations::new(streams, plan.columns.clone()),
        plan.batching,
        plan.template.clone(),
        plan.fill,
    ))
}

/// Copies a streamed source whole to an unnamed temporary file.
fn copy(origin: &Origin) -> io::Result<File> {
    let mut file = tempfile::tempfile()?;
    // The raw bytes, not records: reading them again splits them again.
    let mut raw = match origin {
        Origin::Stdin => Box::new(io::stdin()) as Box<dyn io::Read>,
        Origin::File(path) if path.as_os_str() == "-" => Box::new(io::stdin()),
        Origin::File(path) => Box::new(File::open(path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("{}: {}", path.display(), os_error(&error)),
            )
        })?),
        Origin::Words(_) => return Err(io::Error::other("words are not copied")),
    };
    io::copy(&mut raw, &mut file)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::run::combine::Trim;
    use crate::cli::run::expand::Names;

    fn plan(sources: Vec<Source>, count: bool) -> Plan {
        Plan {
            sources,
            reading: Reading {
                delimiter: b"\n".to_vec(),
                skip_blank: false,
            },
            columns: Columns {
                separator: None,
                trim: Trim::None,
            },
            batching: Batching {
                max_records: None,
                fill_up: false,
                spread_over: None,
                limit: 1 << 20,
                word_limit: 1 << 17,
            },
            template: Template::command(&[b"echo".to_vec()], &Names::default()),
            fill: Fill::Words,
            count,
        }
    }

    fn words(words: &[&str], linked: bool) -> Source {
        Source {
            origin: Origin::Words(words.iter().map(|w| w.as_bytes().to_vec()).collect()),
            linked,
        }
    }

    fn drain(mut feed: mpsc::Receiver<Feed>) -> Vec<Feed> {
        let mut all = Vec::new();
        while let Some(item) = feed.blocking_recv() {
            all.push(item);
        }
        all
    }

    #[test]
    fn batches_come_in_order_and_the_channel_ends() {
        let feed = start(plan(
            vec![words(&["a", "b"], false), words(&["1"], false)],
            false,
        ))
        .unwrap();
        let all = drain(feed);
        let args: Vec<Vec<Vec<u8>>> = all
            .into_iter()
            .map(|item| match item {
                Feed::Batch(batch) => batch.args(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            args,
            [
                vec![b"a".to_vec(), b"1".to_vec()],
                vec![b"b".to_vec(), b"1".to_vec()]
            ]
        );
    }

    #[test]
    fn the_total_comes_first_when_asked_and_files_are_read_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inputs");
        std::fs::write(&path, "x\ny\nz\n").unwrap();
        let source = Source {
            origin: Origin::File(path),
            linked: false,
        };
        let all = drain(start(plan(vec![source], true)).unwrap());
        assert!(matches!(all[0], Feed::Total(3)), "{:?}", all[0]);
        assert_eq!(all.len(), 4);
        assert!(
            matches!(&all[3], Feed::Batch(batch) if batch.seq == 3 && batch.args() == [b"z".to_vec()])
        );
    }

    #[test]
    fn an_unreadable_source_is_said() {
        let source = Source {
            origin: Origin::File("/nonexistent/inputs".into()),
            linked: false,
        };
        let all = drain(start(plan(vec![source], false)).unwrap());
        assert!(
            matches!(&all[..], [Feed::Failed(why)] if why.contains("/nonexistent/inputs")),
            "{all:?}"
        );
    }
}
