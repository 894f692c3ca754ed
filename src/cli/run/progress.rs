//! `--progress`, `--eta` and `--bar`: the run's progress on stderr (never
//! on stdout, where the jobs' output goes), in GNU parallel's words.
//!
//! On a terminal the status line is redrawn in place. Elsewhere (a file,
//! a pipe) GNU parallel writes a redraw (`\r...`) dozens of times a
//! second; steward writes a plain line at most once a second, and a last
//! one at the end.

use std::time::{Duration, Instant};

/// Which display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `--progress`: running and completed jobs.
    Progress,
    /// `--eta`: the estimated time left, then `--progress`'s status.
    Eta,
    /// `--bar`: a bar with the share done and the time left.
    Bar,
}

/// How a plain (not a terminal) display is paced.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// Where the run is.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    /// All jobs, when known.
    pub(crate) total: Option<u64>,
    pub(crate) started: u64,
    pub(crate) running: u64,
    pub(crate) completed: u64,
}

/// A progress display.
#[derive(Debug)]
pub(crate) struct Display {
    kind: Kind,
    terminal: bool,
    width: usize,
    started: Instant,
    first_completed: Option<Instant>,
    smoothed: f64,
    last_eta: u64,
    last_plain: Option<Instant>,
    /// The newest job's arguments (`--bar`).
    newest: String,
}

impl Display {
    /// A display of `kind`, redrawn in place on a `terminal` of `width`
    /// columns.
    pub(crate) fn new(kind: Kind, terminal: bool, width: usize, now: Instant) -> Self {
        Self {
            kind,
            terminal,
            width: width.max(20),
            started: now,
            first_completed: None,
            smoothed: 0.0,
            last_eta: 0,
            last_plain: None,
            newest: String::new(),
        }
    }

    /// The lines written before the first status (not for `--bar`).
    pub(crate) fn header(&self, cpus: usize, slots: usize) -> String {
        if self.kind == Kind::Bar {
            return String::new();
        }
        format!(
            "\nComputers / CPU cores / Max jobs to run\n1:local / {cpus} / {slots}\n\n\
             Computer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
        )
    }

    /// The newest job started with these arguments.
    pub(crate) fn started_job(&mut self, args: &[u8]) {
        self.newest = String::from_utf8_lossy(args).into_owned();
    }

    /// What to write now (nothing when a plain display wrote less than a
    /// second ago, unless `last`).
    pub(crate) fn update(&mut self, counts: Counts, now: Instant, last: bool) -> Option<String> {
        if counts.completed > 0 && self.first_completed.is_none() {
            self.first_completed = Some(now);
        }
        if !self.terminal {
            let due = self
                .last_plain
                .is_none_or(|then| now.duration_since(then) >= PLAIN_EVERY);
            if !(due || last) {
                return None;
            }
            self.last_plain = Some(now);
        }
        let status = match self.kind {
            Kind::Progress => self.progress(counts, now),
            Kind::Eta => {
                let (left, average, eta) = self.eta(counts, now);
                format!(
                    "ETA: {eta}s Left: {left} AVG: {average:.2}s  {}",
                    self.progress(counts, now)
                )
            }
            Kind::Bar => return Some(self.bar(counts, now)),
        };
        Some(if self.terminal {
            format!("\r{status}")
        } else {
            format!("{}\n", status.trim_end())
        })
    }

    /// What clears the status line before other output goes to stderr.
    pub(crate) fn clear(&self) -> &'static str {
        if self.terminal { "\r\x1b[K" } else { "" }
    }

    fn progress(&self, counts: Counts, now: Instant) -> String {
        let average = if counts.completed > 0 {
            now.duration_since(self.started).as_secs_f64() / counts.completed as f64
        } else {
            0.0
        };
        let share = ((counts.running + counts.completed) * 100)
            .checked_div(counts.started)
            .unwrap_or(0);
        format!(
            "local:{}/{}/{share}%/{average:.1}s ",
            counts.running, counts.completed
        )
    }

    /// Jobs left, the average time a job, and the smoothed seconds left,
    /// as GNU parallel computes them.
    fn eta(&mut self, counts: Counts, now: Instant) -> (u64, f64, u64) {
        let total = counts.total.unwrap_or(counts.started).max(counts.completed);
        let left = total - counts.completed;
        let (Some(first), true) = (self.first_completed, counts.completed > 0) else {
            return (left, 0.0, 0);
        };
        let done = counts.completed as f64 / total.max(1) as f64;
        let average = now.duration_since(first).as_secs_f64() / counts.completed as f64;
        if self.smoothed == 0.0 {
            self.smoothed = average;
        }
        self.smoothed = (1.0 - done) * self.smoothed + done * average;
        let mut eta = (left as f64 * self.smoothed) as u64;
        // A rise of less than 10% keeps the last estimate.
        if (eta as f64) * 0.9 < self.last_eta as f64 && self.last_eta < eta {
            eta = self.last_eta;
        } else {
            self.last_eta = eta;
        }
        (left, average, eta)
    }

    fn bar(&mut self, counts: Counts, now: Instant) -> String {
        let total = counts.total.unwrap_or(counts.started).max(counts.completed);
        let (left, _, eta) = self.eta(counts, now);
        let done = if total == 0 {
            0.0
        } else {
            counts.completed as f64 / total as f64
        };
        let text = format!(
            "{}% {}:{left}={} {}",
            (done * 100.0) as u64,
            counts.completed,
            time_units(eta),
            self.newest
        );
        if !self.terminal {
            return format!("{}\n", text.trim_end());
        }
        let mut line: Vec<char> = text.chars().take(self.width).collect();
        line.resize(self.width, ' ');
        let filled = ((self.width as f64) * done) as usize;
        let (bar, rest): (String, String) = (
            line[..filled.min(self.width)].iter().collect(),
            line[filled.min(self.width)..].iter().collect(),
        );
        format!("\r\x1b[7m{bar}\x1b[0m{rest}")
    }
}

/// Seconds as GNU parallel writes them: `42s`, `3m07s`, `1h02m03s`,
/// `2d01h00m00s`.
fn time_units(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d}d{h:02}h{m:02}m{s:02}s")
    } else if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(total: u64, running: u64, completed: u64) -> Counts {
        Counts {
            total: Some(total),
            started: running + completed,
            running,
            completed,
        }
    }

    #[test]
    fn progress_reads_as_gnu_parallels() {
        let start = Instant::now();
        let mut display = Display::new(Kind::Progress, true, 80, start);
        assert_eq!(
            display.header(2, 2),
            "\nComputers / CPU cores / Max jobs to run\n1:local / 2 / 2\n\n\
             Computer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
        );
        let line = display.update(counts(4, 2, 2), start + Duration::from_secs(1), false);
        assert_eq!(line.as_deref(), Some("\rlocal:2/2/100%/0.5s "));
    }

    #[test]
    fn eta_counts_down() {
        let start = Instant::now();
        let mut display = Display::new(Kind::Eta, true, 80, start);
        display.update(counts(10, 2, 1), start, false);
        let line = display
            .update(counts(10, 2, 5), start + Duration::from_secs(4), false)
            .unwrap();
        assert!(line.starts_with("\rETA: "), "{line}");
        assert!(line.contains(" Left: 5 AVG: 0.80s  local:2/5/"), "{line}");
    }

    #[test]
    fn a_plain_display_writes_lines_at_most_once_a_second() {
        let start = Instant::now();
        let mut display = Display::new(Kind::Progress, false, 80, start);
        let first = display.update(counts(4, 1, 0), start, false).unwrap();
        assert_eq!(
            first, "local:1/0/100%/0.0s\n",
            "no carriage return off a terminal"
        );
        assert!(
            display
                .update(counts(4, 1, 1), start + Duration::from_millis(10), false)
                .is_none()
        );
        assert!(
            display
                .update(counts(4, 0, 4), start + Duration::from_millis(20), true)
                .is_some(),
            "the last one always"
        );
        assert!(
            display
                .update(counts(4, 1, 2), start + Duration::from_secs(2), false)
                .is_some()
        );
        assert_eq!(display.clear(), "");
    }

    #[test]
    fn the_bar_shows_the_share_done_and_the_newest_job() {
        let start = Instant::now();
        let mut display = Display::new(Kind::Bar, false, 40, start);
        display.started_job(b"file.txt");
        assert_eq!(display.header(2, 2), "");
        let line = display.update(counts(4, 0, 0), start, false).unwrap();
        assert_eq!(line, "0% 0:4=0s file.txt\n");
        let mut display = Display::new(Kind::Bar, true, 20, start);
        display.update(counts(4, 1, 1), start, false);
        let line = display
            .update(counts(4, 1, 2), start + Duration::from_secs(2), false)
            .unwrap();
        assert!(
            line.starts_with("\r\x1b[7m50% 2:2=2s\x1b[0m"),
            "{line:?}: half of 20 columns inverted"
        );
    }

    #[test]
    fn time_units_read_as_gnu_parallels() {
        assert_eq!(time_units(42), "42s");
        assert_eq!(time_units(187), "3m07s");
        assert_eq!(time_units(3723), "1h02m03s");
        assert_eq!(time_units(176_400), "2d01h00m00s");
    }
}
