//! Batching: records grouped into jobs. One record a job by default;
//! `-n N` takes up to N; `-X`, `-m` and `--xargs` take as many as the
//! system's argument space holds. As in GNU parallel, with `-X` or `-m`
//! the batch that meets the end of the input is spread evenly over the
//! job slots (`-j2 -X` on 10 inputs runs two jobs of 5), and from then on
//! batches are no bigger than that share.

use std::collections::VecDeque;
use std::io;

use super::combine::Record;
use super::expand::{Fill, Template};

/// How records are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Batching {
    /// `-n`, `-N`: at most this many records a job; 0 reads one record
    /// and gives the job none.
    pub(crate) max_records: Option<usize>,
    /// `-X`, `-m`, `--xargs`: as many records as fit in `limit`.
    pub(crate) fill_up: bool,
    /// `-X`, `-m`: the job slots the last batch is spread over.
    pub(crate) spread_over: Option<usize>,
    /// The argument space a job's words may take, in bytes.
    pub(crate) limit: usize,
    /// The longest word the system takes, in bytes (Linux: 128 KiB).
    pub(crate) word_limit: usize,
}

/// One job's records, numbered from 1 (`{#}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    /// `{#}`.
    pub(crate) seq: u64,
    /// Its records in order (none for `-n 0`).
    pub(crate) records: Vec<Record>,
}

impl Batch {
    /// Its arguments: each record's, in order.
    pub(crate) fn args(&self) -> Vec<Vec<u8>> {
        self.records.iter().flatten().cloned().collect()
    }
}

/// The batches of a stream of records.
pub(crate) struct Batches<I> {
    records: I,
    /// Records read but not batched yet.
    ahead: VecDeque<Record>,
    at_end: bool,
    batching: Batching,
    /// The record bound now (`-n`, or the spread share).
    max_records: Option<usize>,
    spread: bool,
    template: Template,
    fill: Fill,
    next_seq: u64,
}

impl<I: Iterator<Item = io::Result<Record>>> Batches<I> {
    /// Batches of `records` for jobs of `template`.
    pub(crate) fn new(records: I, batching: Batching, template: Template, fill: Fill) -> Self {
        Self {
            records,
            ahead: VecDeque::new(),
            at_end: false,
            max_records: batching.max_records,
            batching,
            spread: false,
            template,
            fill,
            next_seq: 1,
        }
    }

    fn pull(&mut self) -> io::Result<Option<Record>> {
        if let Some(record) = self.ahead.pop_front() {
            return Ok(Some(record));
        }
        if self.at_end {
            return Ok(None);
        }
        let record = self.records.next().transpose()?;
        self.at_end = record.is_none();
        Ok(record)
    }

    /// Whether no record is left (reads one ahead to know).
    fn input_ended(&mut self) -> io::Result<bool> {
        if !self.ahead.is_empty() {
            return Ok(false);
        }
        match self.pull()? {
            Some(record) => {
                self.ahead.push_front(record);
                Ok(false)
            }
            None => Ok(true),
        }
    }

    fn next_batch(&mut self) -> io::Result<Option<Batch>> {
        if self.batching.max_records == Some(0) {
            return Ok(self.pull()?.map(|_| self.numbered(Vec::new())));
        }
        let one_each = !self.batching.fill_up && self.max_records.is_none();
        let mut records = Vec::new();
        let mut size = self.template.fixed_size();
        loop {
            let full = if one_each {
                !records.is_empty()
            } else {
                self.max_records.is_some_and(|max| records.len() >= max)
            };
            if full {
                break;
            }
            let Some(record) = self.pull()? else {
                break;
            };
            // A word holds an argument and its template word's text.
            let longest = record.iter().map(Vec::len).max().unwrap_or(0);
            if longest + self.template.longest_text() >= self.batching.word_limit {
                return Err(io::Error::other(format!(
                    "command line too long: input {} makes a word of more than {} bytes",
                    self.next_seq + u64::try_from(records.len()).unwrap_or(0),
                    self.batching.word_limit
                )));
            }
            let more: usize = record
                .iter()
                .map(|arg| self.template.size_of_arg(arg, self.fill))
                .sum();
            if size + more > self.batching.limit {
                if records.is_empty() {
                    return Err(io::Error::other(format!(
                        "command line too long ({} bytes, the system takes {}) at input {}",
                        size + more,
                        self.batching.limit,
                        self.next_seq
                    )));
                }
                self.ahead.push_front(record);
                break;
            }
            size += more;
            records.push(record);
        }
        if records.is_empty() {
            return Ok(None);
        }
        if let Some(slots) = self.batching.spread_over
            && !self.spread
            && self.input_ended()?
        {
            self.spread = true;
            if records.len() > 1 {
                let share = records.len().div_ceil(slots.max(1));
                self.max_records = Some(share);
                for record in records.split_off(share).into_iter().rev() {
                    self.ahead.push_front(record);
                }
            }
        }
        Ok(Some(self.numbered(records)))
    }

    fn numbered(&mut self, records: Vec<Record>) -> Batch {
        let seq = self.next_seq;
        self.next_seq += 1;
        Batch { seq, records }
    }
}

impl<I: Iterator<Item = io::Result<Record>>> Iterator for Batches<I> {
    type Item = io::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.next_batch();
        if batch.is_err() {
            // Nothing after an error.
            self.at_end = true;
            self.ahead.clear();
        }
        batch.transpose()
    }
}

#[cfg(test)]
mod tests;
