//! `--halt` and the exit status: when the run stops early, and what it
//! exits with, as GNU parallel decides both.
//!
//! Without `--halt` the status is the number of failed jobs, 101 for more
//! than 100. `--halt now|soon,fail|success|done=N|P%` stops once N jobs
//! (or P% of all) failed, succeeded or finished: `now` stops the running
//! jobs, `soon` lets them end and starts no more. Then the status is the
//! number of failed jobs (their percentage with `P%`); with `fail=1` and
//! `done=1` the ending job's own (128 + its signal if a signal killed
//! it); 0 when `success` was met.

/// How soon a met `--halt` stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Start no new jobs; let the running end.
    Soon,
    /// Stop the running jobs too.
    Now,
}

/// What `--halt` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    Fail,
    Success,
    Done,
}

impl Why {
    /// GNU parallel's note for each counted job.
    fn note(self) -> &'static str {
        match self {
            Self::Fail => "This job failed:",
            Self::Success => "This job succeeded:",
            Self::Done => "This job finished:",
        }
    }
}

/// A `--halt` condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Halt {
    pub(crate) when: When,
    pub(crate) why: Why,
    /// How many jobs, or (`percent`) what share of all.
    pub(crate) count: f64,
    pub(crate) percent: bool,
}

impl Halt {
    /// Reads `--halt`'s value: `never`, `now|soon,fail|success|done=N|P%`,
    /// `P%` (`soon,fail=P%`), or the old `0 1 2 -1 -2`.
    pub(crate) fn parse(text: &str) -> Result<Option<Self>, String> {
        let expanded = match text {
            "0" | "never" => return Ok(None),
            "1" => "soon,fail=1".to_owned(),
            "2" => "now,fail=1".to_owned(),
            "-1" => "soon,success=1".to_owned(),
            "-2" => "now,success=1".to_owned(),
            percent if percent.ends_with('%') && !percent.contains(',') => {
                format!("soon,fail={percent}")
            }
            other => other.to_owned(),
        };
        let problem = || {
            format!(
                "--halt {text:?}: use never, or now|soon,fail|success|done=N|N% (e.g. now,fail=1)"
            )
        };
        let (when, rest) = expanded.split_once(',').ok_or_else(problem)?;
        let (why, count) = rest.split_once('=').ok_or_else(problem)?;
        let when = match when {
            "now" => When::Now,
            "soon" => When::Soon,
            _ => return Err(problem()),
        };
        let why = match why {
            "fail" => Why::Fail,
            "success" => Why::Success,
            "done" => Why::Done,
            _ => return Err(problem()),
        };
        let (digits, percent) = match count.strip_suffix('%') {
            Some(digits) => (digits, true),
            None => (count, false),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(problem());
        }
        let value: f64 = digits.parse().map_err(|_| problem())?;
        Ok(Some(Self {
            when,
            why,
            count: if percent { value / 100.0 } else { value },
            percent,
        }))
    }

    /// Whether the condition needs the number of jobs before the first
    /// starts.
    pub(crate) fn needs_total(self) -> bool {
        self.percent
    }
}

/// How one job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ending {
    /// Its exit status; -1 when steward stopped it (`--timeout`).
    pub(crate) exit: i32,
    /// The signal that killed it, 0 for none.
    pub(crate) signal: i32,
}

impl Ending {
    /// Whether it counts as failed.
    pub(crate) fn failed(self) -> bool {
        self.exit != 0 || self.signal != 0
    }
}

/// What [`Tally::finished`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// GNU parallel's note for the job, for stderr (with the job's command
    /// after it).
    pub(crate) note: Option<&'static str>,
    /// The run halts.
    pub(crate) halt: Option<When>,
}

/// The jobs' outcomes so far, and what the run exits with.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    halt: Option<Halt>,
    /// All jobs, when known (`P%`).
    total: Option<u64>,
    started: u64,
    completed: u64,
    failed: u64,
    /// Set when the condition was met.
    status: Option<i32>,
}

impl Tally {
    /// A tally under `halt`, with `total` jobs when known.
    pub(crate) fn new(halt: Option<Halt>, total: Option<u64>) -> Self {
        Self {
            halt,
            total,
            started: 0,
            completed: 0,
            failed: 0,
            status: None,
        }
    }

    /// A job started.
    pub(crate) fn started(&mut self) {
        self.started += 1;
    }

    /// How many jobs started.
    pub(crate) fn started_count(&self) -> u64 {
        self.started
    }

    /// How many jobs ended (and were counted).
    pub(crate) fn completed_count(&self) -> u64 {
        self.completed
    }

    /// How many of those failed.
    pub(crate) fn failed_count(&self) -> u64 {
        self.failed
    }

    /// A job ended (not one the run stopped): counts it and judges
    /// `--halt`.
    pub(crate) fn finished(&mut self, ending: Ending) -> Verdict {
        self.completed += 1;
        let failed = ending.failed();
        if failed {
            self.failed += 1;
        }
        let Some(halt) = self.halt else {
            return Verdict {
                note: None,
                halt: None,
            };
        };
        let counted = match halt.why {
            Why::Fail if failed => Some(self.failed),
            Why::Success if !failed => Some(self.completed - self.failed),
            Why::Done => Some(self.completed),
            _ => None,
        };
        let Some(counted) = counted else {
            return Verdict {
                note: None,
                halt: None,
            };
        };
        let needed = if halt.percent {
            self.total.unwrap_or(0) as f64 * halt.count
        } else {
            halt.count
        };
        let mut verdict = Verdict {
            note: Some(halt.why.note()),
            halt: None,
        };
        if (counted as f64) < needed {
            return verdict;
        }
        if self.status.is_none() {
            self.status = Some(match halt.why {
                Why::Success => 0,
                _ if needed == 1.0 => {
                    if ending.exit != 0 {
                        ending.exit
                    } else if ending.signal != 0 {
                        ending.signal + 128
                    } else {
                        0
                    }
                }
                _ if halt.percent => self.failed_percent(self.total.unwrap_or(0)),
                _ => self.failed.min(101) as i32,
            });
        }
        verdict.halt = Some(halt.when);
        verdict
    }

    /// `ceil(failed / of * 100)`.
    fn failed_percent(&self, of: u64) -> i32 {
        (self.failed as f64 / of.max(1) as f64 * 100.0).ceil() as i32
    }

    /// The exit status of the run.
    pub(crate) fn exit_status(&self) -> u8 {
        let status = match (self.status, self.halt) {
            (Some(status), _) => status,
            (None, Some(halt)) if halt.percent => self.failed_percent(self.started),
            (None, _) => self.failed.min(101) as i32,
        };
        // As exit(2) takes it: -1 is 255.
        status as u8
    }
}

#[cfg(test)]
mod tests;
