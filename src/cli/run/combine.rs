//! The argument combinator: the input sources' records combined into the
//! jobs' arguments, in GNU parallel's order.
//!
//! Several sources make every combination, the last source varying
//! fastest (`::: 1 2 ::: a b` is `1 a`, `1 b`, `2 a`, `2 b`); a linked
//! source (`:::+`, `::::+`) is read alongside the one before it, the
//! shortest deciding how many. The first source (or linked group) is read
//! as it streams; the others are kept, since every one of their values
//! is used again for each of the first's. A source with no records at all
//! counts as one empty argument, as in GNU parallel, unless all are empty.
//!
//! With `--colsep`, each value is split into columns (each a separate
//! argument, `{1}`, `{2}`...); `--trim` (implied by `--colsep`) takes the
//! white space off each.

use std::io;

use regex::bytes::Regex;

use super::input::RecordStream;

/// The arguments of one combination: one per source (or column).
pub(crate) type Record = Vec<Vec<u8>>;

/// White space taken off each argument (`--trim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trim {
    /// `n`: none.
    None,
    /// `l`: at the start.
    Left,
    /// `r`: at the end.
    Right,
    /// `lr`, `rl`: both.
    Both,
}

impl Trim {
    /// Reads `n`, `l`, `r`, `lr` or `rl`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "n" => Ok(Self::None),
            "l" => Ok(Self::Left),
            "r" => Ok(Self::Right),
            "lr" | "rl" => Ok(Self::Both),
            other => Err(format!("--trim {other:?}: use n, l, r, lr or rl")),
        }
    }

    fn apply(self, mut value: &[u8]) -> &[u8] {
        // Perl's `\s`.
        let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        if matches!(self, Self::Left | Self::Both) {
            let start = value.iter().position(|b| !space(b)).unwrap_or(value.len());
            value = &value[start..];
        }
        if matches!(self, Self::Right | Self::Both) {
            let end = value.iter().rposition(|b| !space(b)).map_or(0, |at| at + 1);
            value = &value[..end];
        }
        value
    }
}

/// How each value becomes arguments.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    /// `--colsep`: the pattern between columns.
    pub(crate) separator: Option<Regex>,
    /// `--trim`.
    pub(crate) trim: Trim,
}

/// Linked sources read together: one value of the group is one value of
/// each.
struct Group {
    members: Vec<RecordStream>,
    /// Every value read so far (not for the first group: it streams).
    kept: Vec<Vec<Vec<u8>>>,
    /// Which kept value the current combination uses.
    index: usize,
    at_end: bool,
}

impl Group {
    /// The next value of each member; `None` once any has none.
    fn read(&mut self) -> io::Result<Option<Vec<Vec<u8>>>> {
        if self.at_end {
            return Ok(None);
        }
        let mut value = Vec::with_capacity(self.members.len());
        for member in &mut self.members {
            match member.next().transpose()? {
                Some(record) => value.push(record),
                None => {
                    self.at_end = true;
                    return Ok(None);
                }
            }
        }
        Ok(Some(value))
    }
}

/// Every combination of the sources, read lazily.
pub(crate) struct Combinations {
    groups: Vec<Group>,
    columns: Columns,
    /// The first group's current value.
    first: Vec<Vec<u8>>,
    started: bool,
    finished: bool,
}

impl Combinations {
    /// The combinations of `sources`, each `(records, linked to the one
    /// before)`.
    pub(crate) fn new(sources: Vec<(RecordStream, bool)>, columns: Columns) -> Self {
        let mut groups: Vec<Group> = Vec::new();
        for (records, linked) in sources {
            match groups.last_mut() {
                Some(group) if linked => group.members.push(records),
                _ => groups.push(Group {
                    members: vec![records],
                    kept: Vec::new(),
                    index: 0,
                    at_end: false,
                }),
            }
        }
        Self {
            groups,
            columns,
            first: Vec::new(),
            started: false,
            finished: false,
        }
    }

    /// The first combination: each group's first value (one empty
    /// argument a member for a group with none).
    fn start(&mut self) -> io::Result<bool> {
        self.started = true;
        let mut any = false;
        for (number, group) in self.groups.iter_mut().enumerate() {
            let value = match group.read()? {
                Some(value) => {
                    any = true;
                    value
                }
                None => vec![Vec::new(); group.members.len()],
            };
            if number == 0 {
                self.first = value;
            } else {
                group.kept.push(value);
            }
        }
        Ok(any)
    }

    /// Moves to the next combination, like an odometer: the last group
    /// first; a group at its end starts over and the one before moves.
    fn advance(&mut self) -> io::Result<bool> {
        for number in (1..self.groups.len()).rev() {
            let group = &mut self.groups[number];
            if group.index + 1 < group.kept.len() {
                group.index += 1;
                return Ok(true);
            }
            if let Some(value) = group.read()? {
                group.kept.push(value);
                group.index += 1;
                return Ok(true);
            }
            group.index = 0;
        }
        match self
            .groups
            .first_mut()
            .map(Group::read)
            .transpose()?
            .flatten()
        {
            Some(value) => {
                self.first = value;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The current combination's arguments.
    fn record(&self) -> Record {
        let values = self.first.iter().chain(
            self.groups[1..]
                .iter()
                .flat_map(|group| &group.kept[group.index]),
        );
        let mut record = Vec::new();
        for value in values {
            match &self.columns.separator {
                // GNU parallel does not split an empty value.
                Some(separator) if !value.is_empty() => {
                    record.extend(
                        separator
                            .split(value)
                            .map(|column| self.columns.trim.apply(column).to_vec()),
                    );
                }
                _ => record.push(self.columns.trim.apply(value).to_vec()),
            }
        }
        record
    }
}

impl Iterator for Combinations {
    type Item = io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished || self.groups.is_empty() {
            return None;
        }
        let more = if self.started {
            self.advance()
        } else {
            self.start()
        };
        match more {
            Ok(true) => Some(Ok(self.record())),
            Ok(false) => {
                self.finished = true;
                None
            }
            Err(error) => {
                self.finished = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests;
