//! The replacement-string expander: a command template and one job's
//! arguments make the job's words, as `parallel -q` makes them.
//!
//! A template word is text, blanks and replacement strings: `{}`, `{.}`,
//! `{/}`, `{//}`, `{/.}` for a part of each argument, `{n}` ... `{n/.}`
//! for a part of the n-th (counted from the end when negative), `{#}` for
//! the job's number and `{%}` for its slot. A command with none of them
//! gets `{}` appended as a word of its own.
//!
//! With several arguments (several input sources, `-n`, `-m`, `-X`), a
//! replacement string for "each argument" makes one word per argument
//! ([`Fill::Words`]: `pre{}post` with `a b` is `prea`, `bpost`), or, with
//! `-X`, repeats the blank-delimited text around it ([`Fill::Context`]:
//! `preapost`, `prebpost`). `{n}`, `{#}` and `{%}` are filled once.

use super::quote::quote;
use super::transform::Part;

/// What a replacement string stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// A part of each argument in turn (`None`), or of the n-th (`{n}`:
    /// from 1; 0 and below count back from past the last).
    Arg { part: Part, position: Option<i64> },
    /// `{#}`: the job's sequence number.
    Seq,
    /// `{%}`: the job's slot.
    Slot,
}

impl Value {
    /// Whether it takes each argument in turn.
    fn is_each(self) -> bool {
        matches!(self, Self::Arg { position: None, .. })
    }
}

/// A piece of a template word.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Text(Vec<u8>),
    /// A space or tab inside a word: it delimits `-X`'s context.
    Blank(u8),
    Replace(Value),
}

/// The replacement strings' names: `{}` ... by default; `-I` and its kin
/// rename them.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// `{}` (`-I`).
    pub(crate) whole: Vec<u8>,
    /// `{.}` (`--er`).
    pub(crate) without_extension: Vec<u8>,
    /// `{/}` (`--bnr`).
    pub(crate) basename: Vec<u8>,
    /// `{//}` (`--dnr`).
    pub(crate) dirname: Vec<u8>,
    /// `{/.}` (`--bner`).
    pub(crate) basename_without_extension: Vec<u8>,
    /// `{#}` (`--seqreplace`).
    pub(crate) seq: Vec<u8>,
    /// `{%}` (`--slotreplace`).
    pub(crate) slot: Vec<u8>,
}

impl Default for Names {
    fn default() -> Self {
        Self {
            whole: b"{}".to_vec(),
            without_extension: b"{.}".to_vec(),
            basename: b"{/}".to_vec(),
            dirname: b"{//}".to_vec(),
            basename_without_extension: b"{/.}".to_vec(),
            seq: b"{#}".to_vec(),
            slot: b"{%}".to_vec(),
        }
    }
}

impl Names {
    /// Every name with its value, longest first (a short name may be
    /// part of a longer one).
    fn all(&self) -> Vec<(&[u8], Value)> {
        let each = |part| Value::Arg {
            part,
            position: None,
        };
        let mut all = vec![
            (self.whole.as_slice(), each(Part::Whole)),
            (&self.without_extension, each(Part::WithoutExtension)),
            (&self.basename, each(Part::Basename)),
            (&self.dirname, each(Part::Dirname)),
            (
                &self.basename_without_extension,
                each(Part::BasenameWithoutExtension),
            ),
            (&self.seq, Value::Seq),
            (&self.slot, Value::Slot),
        ];
        all.retain(|(name, _)| !name.is_empty());
        all.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        all
    }

    /// What follows `{n` in the positional form of each part's name
    /// (`}` for `{n}`, `.}` for `{n.}`): names that start with `{` have
    /// one. Longest first.
    fn positional(&self) -> Vec<(&[u8], Part)> {
        let mut all: Vec<(&[u8], Part)> = [
            (&self.whole, Part::Whole),
            (&self.without_extension, Part::WithoutExtension),
            (&self.basename, Part::Basename),
            (&self.dirname, Part::Dirname),
            (
                &self.basename_without_extension,
                Part::BasenameWithoutExtension,
            ),
        ]
        .into_iter()
        .filter_map(|(name, part)| Some((name.strip_prefix(b"{")?, part)))
        .filter(|(rest, _)| !rest.is_empty())
        .collect();
        all.sort_by_key(|(rest, _)| std::cmp::Reverse(rest.len()));
        all
    }
}

/// How a job's arguments fill the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// A replacement string makes one word per argument (the default,
    /// `-n`, `-m`).
    Words,
    /// The blank-delimited text around a replacement string is repeated
    /// for each argument (`-X`, `-N`).
    Context,
}

/// What one job fills a template with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job<'a> {
    /// Its arguments, in order: every input source's (or column's) for
    /// each of its records. Empty for `-n 0`.
    pub(crate) args: &'a [Vec<u8>],
    /// `{#}`.
    pub(crate) seq: u64,
    /// `{%}`.
    pub(crate) slot: usize,
}

impl Job<'_> {
    /// The `position`-th argument as `{n}` counts (`None`: out of range).
    fn nth(&self, position: i64) -> Option<&[u8]> {
        let index = if position > 0 {
            usize::try_from(position - 1).ok()?
        } else {
            let back = usize::try_from(position.unsigned_abs()).ok()?;
            self.args.len().checked_sub(back)?
        };
        self.args.get(index).map(Vec::as_slice)
    }
}

/// A command template: its words with their replacement strings found.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    words: Vec<Vec<Token>>,
}

impl Template {
    /// The template of a command's words; `{}` is appended as a word of
    /// its own when no word has a replacement string.
    pub(crate) fn command(words: &[Vec<u8>], names: &Names) -> Self {
        let mut template = Self::text(words, names);
        if !template.has_replacements() {
            template.words.push(vec![Token::Replace(Value::Arg {
                part: Part::Whole,
                position: None,
            })]);
        }
        template
    }

    /// The template of `words` as they are (`--tagstring`, `--results`).
    pub(crate) fn text(words: &[Vec<u8>], names: &Names) -> Self {
        let (all, positional) = (names.all(), names.positional());
        Self {
            words: words
                .iter()
                .map(|word| tokenize(word, &all, &positional))
                .collect(),
        }
    }

    /// Whether any word has a replacement string.
    pub(crate) fn has_replacements(&self) -> bool {
        self.words
            .iter()
            .flatten()
            .any(|token| matches!(token, Token::Replace(_)))
    }

    /// The job's words: its argument vector, program first.
    pub(crate) fn words(&self, job: &Job<'_>, fill: Fill) -> Vec<Vec<u8>> {
        let mut words = Words::default();
        self.fill(job, fill, &mut words);
        words.finish()
    }

    /// The job as one shell command line (`--shell`): the template's text
    /// as written, each value quoted, unless the command itself starts
    /// with a replacement string (GNU parallel's rule).
    pub(crate) fn shell_line(&self, job: &Job<'_>, fill: Fill) -> Vec<u8> {
        let quote_values = !self.starts_with_replacement();
        let mut line = Line {
            line: Vec::new(),
            quote_values,
        };
        self.fill(job, fill, &mut line);
        line.line
    }

    /// The words joined by spaces, unquoted (`--tag`, `--tagstring`).
    pub(crate) fn joined(&self, job: &Job<'_>, fill: Fill) -> Vec<u8> {
        let mut line = Line {
            line: Vec::new(),
            quote_values: false,
        };
        self.fill(job, fill, &mut line);
        line.line
    }

    /// GNU parallel's `^[^ \t\n=]*{`: a replacement string in the first
    /// word before any blank, newline or `=`.
    fn starts_with_replacement(&self) -> bool {
        let Some(first) = self.words.first() else {
            return false;
        };
        for token in first {
            match token {
                Token::Replace(_) => return true,
                Token::Blank(_) => return false,
                Token::Text(text) if text.iter().any(|b| matches!(b, b'\n' | b'=')) => {
                    return false;
                }
                Token::Text(_) => {}
            }
        }
        false
    }

    /// The most text any one word has besides its values.
    pub(crate) fn longest_text(&self) -> usize {
        self.words
            .iter()
            .map(|word| {
                word.iter()
                    .map(|token| match token {
                        Token::Text(text) => text.len(),
                        Token::Blank(_) => 1,
                        Token::Replace(_) => 0,
                    })
                    .sum::<usize>()
            })
            .max()
            .unwrap_or(0)
    }

    /// An upper bound of what the job's words take of the system's
    /// argument space without its arguments: text, a pointer and a NUL a
    /// word, room for numbers.
    pub(crate) fn fixed_size(&self) -> usize {
        self.words
            .iter()
            .map(|word| {
                WORD_OVERHEAD
                    + word
                        .iter()
                        .map(|token| match token {
                            Token::Text(text) => text.len(),
                            Token::Blank(_) => 1,
                            Token::Replace(Value::Seq | Value::Slot) => 20,
                            Token::Replace(Value::Arg { .. }) => 0,
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// An upper bound of what one more argument adds to the job's words.
    pub(crate) fn size_of_arg(&self, arg: &[u8], fill: Fill) -> usize {
        // Every part of an argument is at most one byte longer than it
        // (`{//}` of `a` is `.`).
        let value = arg.len() + 1;
        let mut size = 0;
        for word in &self.words {
            for group in word.split(|token| matches!(token, Token::Blank(_))) {
                let values = group
                    .iter()
                    .filter(|token| matches!(token, Token::Replace(Value::Arg { .. })))
                    .count();
                let each = group
                    .iter()
                    .any(|token| matches!(token, Token::Replace(value) if value.is_each()));
                if !each {
                    // Filled once; `{-1}` may take this argument.
                    size += values * value;
                    continue;
                }
                size += match fill {
                    Fill::Words => values * (value + WORD_OVERHEAD),
                    Fill::Context => {
                        let text: usize = group
                            .iter()
                            .map(|token| match token {
                                Token::Text(text) => text.len(),
                                _ => 20,
                            })
                            .sum();
                        text + values * value + WORD_OVERHEAD
                    }
                };
            }
        }
        size
    }

    fn fill(&self, job: &Job<'_>, fill: Fill, sink: &mut impl Sink) {
        for (index, word) in self.words.iter().enumerate() {
            if index > 0 {
                sink.split();
            }
            if word.is_empty() {
                sink.text(b"");
                continue;
            }
            match fill {
                Fill::Words => {
                    for token in word {
                        fill_token(token, job, None, sink);
                    }
                }
                Fill::Context => {
                    for (at, group) in word
                        .split(|token| matches!(token, Token::Blank(_)))
                        .enumerate()
                    {
                        if at > 0 {
                            // The blank that ended the previous group.
                            let blank = blank_before(word, at);
                            sink.text(&[blank]);
                        }
                        fill_group(group, job, sink);
                    }
                }
            }
        }
    }
}

/// What each word takes of the argument space besides its bytes: its NUL
/// and its pointer.
pub(crate) const WORD_OVERHEAD: usize = 1 + std::mem::size_of::<usize>();

/// The blank that ends group `at - 1` of `word`.
fn blank_before(word: &[Token], at: usize) -> u8 {
    word.iter()
        .filter_map(|token| match token {
            Token::Blank(blank) => Some(*blank),
            _ => None,
        })
        .nth(at - 1)
        .unwrap_or(b' ')
}

/// One token; `each` is the argument an each-argument replacement string
/// takes (`None`: all of them, one word each).
fn fill_token(token: &Token, job: &Job<'_>, each: Option<&[u8]>, sink: &mut impl Sink) {
    match token {
        Token::Text(text) => sink.text(text),
        Token::Blank(blank) => sink.text(&[*blank]),
        Token::Replace(Value::Seq) => sink.value(job.seq.to_string().as_bytes()),
        Token::Replace(Value::Slot) => sink.value(job.slot.to_string().as_bytes()),
        Token::Replace(Value::Arg {
            part,
            position: Some(position),
        }) => {
            if job.args.is_empty() {
                return; // `-n 0`: nothing to fill in
            }
            sink.value(&part.of(job.nth(*position).unwrap_or_default()));
        }
        Token::Replace(Value::Arg {
            part,
            position: None,
        }) => match each {
            Some(arg) => sink.value(&part.of(arg)),
            None => {
                for (index, arg) in job.args.iter().enumerate() {
                    if index > 0 {
                        sink.split();
                    }
                    sink.value(&part.of(arg));
                }
            }
        },
    }
}

/// A blank-delimited group under `-X`: repeated once per argument when it
/// has an each-argument replacement string, otherwise filled once.
fn fill_group(group: &[Token], job: &Job<'_>, sink: &mut impl Sink) {
    let each = group
        .iter()
        .any(|token| matches!(token, Token::Replace(value) if value.is_each()));
    if !each {
        for token in group {
            fill_token(token, job, None, sink);
        }
        return;
    }
    for (index, arg) in job.args.iter().enumerate() {
        if index > 0 {
            sink.split();
        }
        for token in group {
            fill_token(token, job, Some(arg), sink);
        }
    }
    if job.args.is_empty() {
        // `-n 0`: the group's text stays, its values are empty.
        for token in group {
            if let Token::Text(text) = token {
                sink.text(text);
            }
        }
    }
}

/// Splits `word` into tokens: the names in `all` (longest first), the
/// positional forms `{n...}` of `positional`, blanks, and text.
fn tokenize(word: &[u8], all: &[(&[u8], Value)], positional: &[(&[u8], Part)]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut text = Vec::new();
    let mut at = 0;
    'scan: while at < word.len() {
        let rest = &word[at..];
        let mut found = None;
        if let Some((name, value)) = all.iter().find(|(name, _)| rest.starts_with(name)) {
            found = Some((name.len(), *value));
        } else if let Some((length, value)) = positional_at(rest, positional) {
            found = Some((length, value));
        }
        if let Some((length, value)) = found {
            if !text.is_empty() {
                tokens.push(Token::Text(std::mem::take(&mut text)));
            }
            tokens.push(Token::Replace(value));
            at += length;
            continue 'scan;
        }
        let byte = word[at];
        if byte == b' ' || byte == b'\t' {
            if !text.is_empty() {
                tokens.push(Token::Text(std::mem::take(&mut text)));
            }
            tokens.push(Token::Blank(byte));
        } else {
            text.push(byte);
        }
        at += 1;
    }
    if !text.is_empty() {
        tokens.push(Token::Text(text));
    }
    tokens
}

/// `{`, an optionally negative number, optional white space, then the
/// rest of a part's name: its length and value. `{0}` is `{}`, as in GNU
/// parallel.
fn positional_at(rest: &[u8], positional: &[(&[u8], Part)]) -> Option<(usize, Value)> {
    let after_brace = rest.strip_prefix(b"{")?;
    let sign = usize::from(after_brace.first() == Some(&b'-'));
    let digits = after_brace[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let number = &after_brace[..sign + digits];
    let mut at = sign + digits;
    // Perl's `\s`.
    while after_brace
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        at += 1;
    }
    let (suffix, part) = positional
        .iter()
        .find(|(suffix, _)| after_brace[at..].starts_with(suffix))?;
    let position = if number == b"0" {
        None
    } else {
        // Digits only: parsing fails only on overflow, which is out of
        // range either way.
        let value = std::str::from_utf8(number)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        Some(value)
    };
    Some((
        1 + at + suffix.len(),
        Value::Arg {
            part: *part,
            position,
        },
    ))
}

/// Where filled-in pieces go.
trait Sink {
    /// Template text.
    fn text(&mut self, text: &[u8]);
    /// A replaced value.
    fn value(&mut self, value: &[u8]);
    /// A word ends.
    fn split(&mut self);
}

/// Pieces as words: GNU parallel's quote groups.
#[derive(Default)]
struct Words {
    words: Vec<Vec<u8>>,
    word: Vec<u8>,
    /// Whether the current word has a piece (an empty one counts: `''`).
    started: bool,
}

impl Words {
    fn finish(mut self) -> Vec<Vec<u8>> {
        self.split();
        self.words
    }
}

impl Sink for Words {
    fn text(&mut self, text: &[u8]) {
        self.word.extend_from_slice(text);
        self.started = true;
    }

    fn value(&mut self, value: &[u8]) {
        self.text(value);
    }

    fn split(&mut self) {
        if self.started {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.started = false;
    }
}

/// Pieces as one line, words joined by spaces.
struct Line {
    line: Vec<u8>,
    quote_values: bool,
}

impl Sink for Line {
    fn text(&mut self, text: &[u8]) {
        self.line.extend_from_slice(text);
    }

    fn value(&mut self, value: &[u8]) {
        if self.quote_values {
            self.line.extend_from_slice(&quote(value));
        } else {
            self.line.extend_from_slice(value);
        }
    }

    fn split(&mut self) {
        self.line.push(b' ');
    }
}

#[cfg(test)]
mod tests;
