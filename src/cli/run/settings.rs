//! The options, checked and put together: what one run does.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::time::Duration;

use regex::bytes::Regex;

use super::combine::{Columns, Trim};
use super::expand::{Fill, Names, Template};
use super::halt::Halt;
use super::input::{self, Origin, Reading, Source};
use super::options::Options;
use super::progress::Kind;
use super::spool::Mode;
use super::units::{self, JobCount};

/// How the jobs' output comes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputMode {
    /// Spooled: [`Mode::Group`] or [`Mode::LineBuffer`].
    Spooled(Mode),
    /// `-u`: the jobs write to steward's stdout and stderr themselves.
    Ungrouped,
}

/// `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Timeout {
    /// A fixed time.
    After(Duration),
    /// This share of the median run time of the jobs that succeeded.
    OfMedian(f64),
}

/// `--results`.
#[derive(Debug, Clone)]
pub(crate) enum Results {
    /// A directory: GNU parallel's tree under it.
    Tree(PathBuf),
    /// A name with replacement strings, expanded per job.
    Named(Template),
}

/// How records are batched, before the job slots and the system's limit
/// are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grouping {
    pub(crate) max_records: Option<usize>,
    pub(crate) fill_up: bool,
    pub(crate) spread: bool,
    /// `-s`.
    pub(crate) max_chars: Option<usize>,
}

/// What one run does.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) template: Template,
    pub(crate) fill: Fill,
    pub(crate) sources: Vec<Source>,
    pub(crate) reading: Reading,
    pub(crate) columns: Columns,
    pub(crate) grouping: Grouping,
    pub(crate) jobs: JobCount,
    pub(crate) output: OutputMode,
    pub(crate) keep_order: bool,
    /// `--tag` / `--tagstring`.
    pub(crate) tag: Option<Template>,
    pub(crate) tmpdir: Option<PathBuf>,
    pub(crate) halt: Option<Halt>,
    /// Tries a job gets: 1 by default, `None` for "until it succeeds".
    pub(crate) tries: Option<u32>,
    pub(crate) timeout: Option<Timeout>,
    pub(crate) delay: Option<Duration>,
    pub(crate) memfree: Option<u64>,
    pub(crate) load: Option<f64>,
    pub(crate) nice: Option<i32>,
    pub(crate) grace: Duration,
    pub(crate) shell: bool,
    pub(crate) joblog: Option<PathBuf>,
    pub(crate) results: Option<Results>,
    pub(crate) dry_run: bool,
    pub(crate) progress: Option<Kind>,
    /// `--serve`.
    pub(crate) serve: Option<SocketAddr>,
    /// `--serve-public`.
    pub(crate) serve_public: bool,
}

/// GNU parallel's term-seq ends with a SIGKILL 350 ms after the first
/// SIGTERM.
const DEFAULT_GRACE: Duration = Duration::from_millis(350);

impl Settings {
    /// Checks `options`; `cpus` is the number of CPU threads (for `--load
    /// N%`).
    pub(crate) fn new(options: Options, cpus: usize) -> Result<Self, String> {
        let names = names(&options)?;
        let separators = Separators::new(&options)?;
        let (command, mut sources) = split_command(options.command, &separators);
        let mut all_sources: Vec<Source> = options
            .arg_files
            .into_iter()
            .map(|path| Source {
                origin: Origin::File(path),
                linked: false,
            })
            .collect();
        all_sources.append(&mut sources);
        if all_sources.is_empty() {
            all_sources.push(Source {
                origin: Origin::Stdin,
                linked: false,
            });
        }
        let delimiter = match (&options.delimiter, options.null) {
            (Some(delimiter), _) => input::delimiter(delimiter.as_bytes())?,
            (None, true) => vec![0],
            (None, false) => b"\n".to_vec(),
        };
        let separator = options
            .colsep
            .as_ref()
            .map(|colsep| {
                let pattern = colsep
                    .to_str()
                    .ok_or_else(|| format!("--colsep {colsep:?}: not UTF-8"))?;
                Regex::new(pattern).map_err(|error| format!("--colsep {pattern:?}: {error}"))
            })
            .transpose()?;
        let trim = match (&options.trim, separator.is_some()) {
            (Some(trim), _) => Trim::parse(trim)?,
            (None, true) => Trim::Both,
            (None, false) => Trim::None,
        };
        let fill = if options.context_replace || options.max_replace_args.is_some() {
            Fill::Context
        } else {
            Fill::Words
        };
        let template = Template::command(&command, &names);
        let output = match (options.ungroup, options.line_buffer) {
            (true, _) => OutputMode::Ungrouped,
            (false, true) => OutputMode::Spooled(Mode::LineBuffer),
            (false, false) => OutputMode::Spooled(Mode::Group),
        };
        let tag = match (&options.tagstring, options.tag) {
            (Some(tagstring), _) => Some(Template::text(&[tagstring.as_bytes().to_vec()], &names)),
            (None, true) => Some(Template::text(std::slice::from_ref(&names.whole), &names)),
            (None, false) => None,
        };
        let results = options.results.map(|name| {
            let template = Template::text(&[name.as_bytes().to_vec()], &names);
            if template.has_replacements() {
                Results::Named(template)
            } else {
                Results::Tree(PathBuf::from(name))
            }
        });
        let progress = if options.bar {
            Some(Kind::Bar)
        } else if options.eta {
            Some(Kind::Eta)
        } else if options.progress {
            Some(Kind::Progress)
        } else {
            None
        };
        Ok(Self {
            template,
            fill,
            sources: all_sources,
            reading: Reading {
                delimiter,
                skip_blank: options.no_run_if_empty,
            },
            columns: Columns { separator, trim },
            grouping: Grouping {
                max_records: options.max_replace_args.or(options.max_args),
                fill_up: options.context_replace || options.multiple || options.xargs,
                spread: (options.context_replace || options.multiple) && !options.xargs,
                max_chars: options.max_chars,
            },
            jobs: match &options.jobs {
                Some(jobs) => JobCount::parse(jobs)?,
                None => JobCount::Percent(100.0),
            },
            output,
            keep_order: options.keep_order,
            tag,
            tmpdir: options.tmpdir,
            halt: options
                .halt
                .as_deref()
                .map(Halt::parse)
                .transpose()?
                .flatten(),
            tries: match options.retries {
                None => Some(1),
                Some(0) => None,
                Some(tries) => Some(tries),
            },
            timeout: options.timeout.as_deref().map(timeout).transpose()?,
            delay: options.delay.as_deref().map(units::duration).transpose()?,
            memfree: options.memfree.as_deref().map(units::size).transpose()?,
            load: options
                .load
                .as_deref()
                .map(|load| load_limit(load, cpus))
                .transpose()?,
            nice: options.nice,
            grace: options
                .grace
                .as_deref()
                .map(units::duration)
                .transpose()?
                .unwrap_or(DEFAULT_GRACE),
            shell: options.shell,
            joblog: options.joblog,
            results,
            dry_run: options.dry_run,
            progress,
            serve: options.serve,
            serve_public: options.serve_public,
        })
    }

    /// Whether the number of jobs must be known before the first starts.
    pub(crate) fn needs_total(&self) -> bool {
        matches!(self.progress, Some(Kind::Bar | Kind::Eta))
            || self.halt.is_some_and(Halt::needs_total)
    }

    /// Whether the feed counts the jobs first: when they must be known,
    /// and for `--serve`'s time left when counting costs nothing (every
    /// source is `:::` words, already in memory; a file or stdin would
    /// have to be read whole before the first job).
    pub(crate) fn counts_first(&self) -> bool {
        self.needs_total()
            || (self.serve.is_some()
                && self
                    .sources
                    .iter()
                    .all(|source| matches!(source.origin, Origin::Words(_))))
    }
}

/// The replacement strings' names, with `-I` and its kin.
fn names(options: &Options) -> Result<Names, String> {
    let mut names = Names::default();
    for (flag, given, name) in [
        ("-I", &options.replace, &mut names.whole),
        (
            "--er",
            &options.extension_replace,
            &mut names.without_extension,
        ),
        ("--bnr", &options.basename_replace, &mut names.basename),
        ("--dnr", &options.dirname_replace, &mut names.dirname),
        (
            "--bner",
            &options.basename_extension_replace,
            &mut names.basename_without_extension,
        ),
        ("--seqreplace", &options.seq_replace, &mut names.seq),
        ("--slotreplace", &options.slot_replace, &mut names.slot),
    ] {
        if let Some(given) = given {
            if given.is_empty() {
                return Err(format!("{flag}: the replacement string is empty"));
            }
            *name = given.as_bytes().to_vec();
        }
    }
    Ok(names)
}

/// `:::`, `::::` and their linked forms.
struct Separators {
    words: Vec<u8>,
    files: Vec<u8>,
}

impl Separators {
    fn new(options: &Options) -> Result<Self, String> {
        let pick = |given: &Option<OsString>, default: &str, flag: &str| match given {
            Some(given) if given.is_empty() => Err(format!("{flag}: the separator is empty")),
            Some(given) => Ok(given.as_bytes().to_vec()),
            None => Ok(default.as_bytes().to_vec()),
        };
        Ok(Self {
            words: pick(&options.arg_sep, ":::", "--arg-sep")?,
            files: pick(&options.arg_file_sep, "::::", "--arg-file-sep")?,
        })
    }

    /// What `word` separates: `Some((files, linked))`.
    fn kind(&self, word: &[u8]) -> Option<(bool, bool)> {
        let linked = |separator: &[u8]| {
            word.strip_prefix(separator)
                .is_some_and(|rest| rest == b"+")
        };
        if word == self.words {
            Some((false, false))
        } else if linked(&self.words) {
            Some((false, true))
        } else if word == self.files {
            Some((true, false))
        } else if linked(&self.files) {
            Some((true, true))
        } else {
            None
        }
    }
}

/// `COMMAND... [::: WORDS...] [:::: FILES...]...`: the command's words and
/// the sources after them.
fn split_command(words: Vec<OsString>, separators: &Separators) -> (Vec<Vec<u8>>, Vec<Source>) {
    let mut command = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    // The kind of the section being read: `None` for the command.
    let mut section: Option<(bool, bool)> = None;
    for word in words {
        let word = word.into_vec();
        if let Some(kind) = separators.kind(&word) {
            if !kind.0 {
                // A word section is one source, even when empty.
                sources.push(Source {
                    origin: Origin::Words(Vec::new()),
                    linked: kind.1,
                });
            }
            section = Some(kind);
            continue;
        }
        match section {
            None => command.push(word),
            Some((false, _)) => {
                if let Some(Source {
                    origin: Origin::Words(words),
                    ..
                }) = sources.last_mut()
                {
                    words.push(word);
                }
            }
            // After `::::+` every file is linked, each to the one before
            // it, as in GNU parallel.
            Some((true, linked)) => sources.push(Source {
                origin: Origin::File(PathBuf::from(OsString::from_vec(word))),
                linked,
            }),
        }
    }
    (command, sources)
}

/// `--timeout`: a duration, or `N%` of the median run time.
fn timeout(text: &str) -> Result<Timeout, String> {
    if let Some(percent) = text.strip_suffix('%') {
        let value: f64 = percent
            .parse()
            .map_err(|_| format!("--timeout {text:?}: use a duration or N%"))?;
        if !(value.is_finite() && value > 0.0) {
            return Err(format!("--timeout {text:?}: the share must be above 0"));
        }
        return Ok(Timeout::OfMedian(value / 100.0));
    }
    let limit = units::duration(text).map_err(|problem| format!("--timeout: {problem}"))?;
    if limit.is_zero() {
        return Err("--timeout 0: a job would be stopped before it starts".to_owned());
    }
    Ok(Timeout::After(limit))
}

/// `--load`: as `-j` reads its value (`N`, `N%`, `+N`, `-N`), 0 is 0.01.
fn load_limit(text: &str, cpus: usize) -> Result<f64, String> {
    let parsed = JobCount::parse(text).map_err(|problem| problem.replacen("-j", "--load", 1))?;
    Ok(match parsed {
        JobCount::Exactly(0) => 0.01,
        JobCount::Percent(percent) => cpus as f64 * percent / 100.0,
        other => other.slots(cpus).unwrap_or(1) as f64,
    })
}

#[cfg(test)]
mod tests;
