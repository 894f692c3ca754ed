//! The runner: it only schedules. Jobs start while slots, the
//! file-descriptor budget, `--delay`, `--memfree` and `--load` allow; their
//! output goes to the [`Report`]; they are stopped on `--timeout`, `--halt
//! now`, SIGHUP, SIGINT, SIGTERM or a closed stdout; a failed one runs
//! again under `--retries`.

use std::collections::{HashMap, VecDeque};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use steward::Steward;
use steward::monitor::Monitor;
use steward::subprocess_pool::SubprocessPool;
use steward::tracker::Tracker;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::admission::{Admission, Wait};
use super::batch::Batch;
use super::board::Board;
use super::expand::{Fill, Job};
use super::feed::{self, Feed, Plan};
use super::halt::{Ending, Tally, When};
use super::job::{self, End, Event, Launch};
use super::joblog::{Entry, Joblog};
use super::limits;
use super::progress::Counts;
use super::quote;
use super::report::{Report, Showing};
use super::results::Paths;
use super::settings::{OutputMode, Results, Settings};
use super::slots::Slots;
use super::spool::{JobOutput, Mode};
use super::timeouts::Timeouts;
use crate::cli::output::{self, EXIT_INTERRUPTED, EXIT_TERMINATED, OutputError, stderr};

/// GNU parallel's status for a bad option, an unreadable input and other
/// errors.
pub(crate) const EXIT_ERROR: u8 = 255;
/// Stopped by SIGHUP (128 + 1).
const EXIT_HANGUP: u8 = 129;

/// Why a job is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// `--timeout`: it counts as failed (exit -1).
    Timeout,
    /// `--memfree`: it is run again later.
    Memory,
    /// `--halt now`, a signal, a closed stdout: it does not count.
    Run,
}

/// Why the run stops before its inputs are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// SIGHUP, SIGINT, SIGTERM: exits with this (128 + the signal).
    Signal(u8),
    /// Stdout failed: its error decides the status.
    Stdout(OutputError),
    /// An input could not be read (or a job's results written): 255.
    Error,
}

/// A job waiting to start (again).
#[derive(Debug)]
struct Pending {
    batch: Batch,
    /// Tries it already had.
    tried: u32,
}

/// A started job.
#[derive(Debug)]
struct Running {
    pending: Pending,
    slot: usize,
    started: Instant,
    started_at: SystemTime,
    /// Its tracker key, once it started.
    key: Option<String>,
    /// The command as shown (joblog, messages).
    shown: Vec<u8>,
    output: JobOutput,
    stopped: Option<Stopped>,
}

/// Schedules a run's jobs.
#[derive(Debug)]
pub(crate) struct Runner {
    tracker: Tracker,
    monitor: Monitor,
    pool: SubprocessPool,
    settings: Settings,
    slots_max: usize,
    /// Jobs alive at most: running, and ended but not printed (`-k`).
    alive_max: usize,
    feed: Option<mpsc::Receiver<Feed>>,
    pending: VecDeque<Pending>,
    events: mpsc::Receiver<Event>,
    events_sender: mpsc::Sender<Event>,
    next_id: u64,
    running: HashMap<u64, Running>,
    slots: Slots,
    tally: Tally,
    total: Option<u64>,
    report: Report,
    timeouts: Option<Timeouts>,
    last_start: Option<Instant>,
    halted: Option<When>,
    stop: Option<Stop>,
    /// `--memfree`, `--load`.
    admission: Admission,
    /// A job could not start for memory or load: wait for a reading.
    waiting_for_monitor: bool,
    /// The wait for memory or load was said (until a job starts).
    said_waiting: bool,
    /// `--serve`: the jobs panel.
    board: Option<Board>,
    /// Jobs the feed gave so far.
    fed: u64,
}

impl Runner {
    /// Clamps the job slots, starts the feed, the pool and the joblog.
    ///
    /// # Errors
    ///
    /// What could not start, said on stderr; the status to exit with.
    pub(crate) async fn new(
        steward: &Steward,
        settings: Settings,
        cpus: usize,
    ) -> Result<Self, ExitCode> {
        let fail = |problem: String| {
            stderr!("steward run: {problem}");
            ExitCode::from(EXIT_ERROR)
        };
        let alive_max = limits::jobs_within_fd_limit();
        let slots_max = match settings.jobs.slots(cpus) {
            Some(asked) if asked > alive_max => {
                stderr!(
                    "steward run: Warning: Only enough file handles to run {alive_max} jobs in parallel \
                     (ulimit -n is {}); raise it to run more.",
                    limits::fd_limit()
                );
                alive_max
            }
            Some(asked) => asked,
            None => alive_max,
        };
        let feed = feed::start(Plan::new(&settings, slots_max))
            .map_err(|error| fail(format!("cannot read the inputs: {error}")))?;
        let pool = steward
            .start_subprocess_pool("run", slots_max)
            .await
            .map_err(|error| fail(error.to_string()))?;
        let joblog = match (&settings.joblog, settings.dry_run) {
            (Some(path), false) => Some(
                Joblog::open(path)
                    .map_err(|error| fail(format!("--joblog {}: {error}", path.display())))?,
            ),
            _ => None,
        };
        let showing = Showing {
            mode: match settings.output {
                OutputMode::Spooled(mode) => mode,
                OutputMode::Ungrouped => Mode::Group,
            },
            keep_order: settings.keep_order,
            joblog,
            progress: settings.progress,
            tmpdir: settings.tmpdir.clone(),
        };
        let (events_sender, events) = mpsc::channel(256);
        let (settings_memfree, settings_load) = (settings.memfree, settings.load);
        let board = settings.serve.is_some().then(|| Board::publish(steward));
        Ok(Self {
            tracker: steward.tracker().clone(),
            monitor: steward.monitor().clone(),
            pool,
            timeouts: settings.timeout.map(Timeouts::new),
            tally: Tally::new(settings.halt, None),
            report: Report::new(showing, cpus, slots_max),
            settings,
            slots_max,
            alive_max: alive_max.max(slots_max),
            feed: Some(feed),
            pending: VecDeque::new(),
            events,
            events_sender,
            next_id: 0,
            running: HashMap::new(),
            slots: Slots::default(),
            total: None,
            last_start: None,
            halted: None,
            stop: None,
            admission: Admission {
                memfree: settings_memfree,
                load: settings_load,
            },
            waiting_for_monitor: false,
            said_waiting: false,
            board,
            fed: 0,
        })
    }

    /// Runs every job; the exit status.
    pub(crate) async fn run(mut self) -> ExitCode {
        let (Ok(mut hangup), Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            stderr!("steward run: cannot catch signals");
            return ExitCode::from(EXIT_ERROR);
        };
        let mut readings = self.monitor.readings();
        let watch_monitor = self.admission.is_active();
        loop {
            self.start_jobs();
            // Before the check: a flush that finds stdout gone stops the
            // run, and a run stopped with no job left must not wait.
            let flushed = self.report.flush(self.counts());
            self.failed_if(flushed);
            if self.finished() {
                break;
            }
            self.update_board();
            let wake = self.wake_at();
            let wants_feed = self.wants_feed();
            tokio::select! {
                Some(event) = self.events.recv() => self.on_event(event),
                fed = recv(&mut self.feed), if wants_feed => self.on_feed(fed),
                _ = hangup.recv() => self.stop_all(Stop::Signal(EXIT_HANGUP)),
                _ = interrupt.recv() => self.stop_all(Stop::Signal(EXIT_INTERRUPTED)),
                _ = terminate.recv() => self.stop_all(Stop::Signal(EXIT_TERMINATED)),
                () = output::reader_gone(), if self.stop.is_none() => {
                    self.stop_all(Stop::Stdout(OutputError::BrokenPipe));
                }
                () = sleep_until(wake), if wake.is_some() => self.stop_overdue(),
                _ = readings.changed(), if watch_monitor => {
                    self.waiting_for_monitor = false;
                    self.check_memory();
                }
            }
        }
        let finished = self.report.finish(self.counts());
        self.failed_if(finished);
        self.update_board();
        ExitCode::from(match self.stop {
            Some(Stop::Signal(status)) => status,
            Some(Stop::Stdout(error)) => return error.exit_code(),
            Some(Stop::Error) => EXIT_ERROR,
            None => self.tally.exit_status(),
        })
    }

    fn counts(&self) -> Counts {
        Counts {
            total: self.total,
            started: self.tally.started_count(),
            running: self.running.len() as u64,
            completed: self.tally.completed_count(),
        }
    }

    /// `--serve`: the jobs panel shows the counts now; the total is
    /// known once counted, or once the feed has given every job.
    fn update_board(&self) {
        if let Some(board) = &self.board {
            let fed_all = (self.feed.is_none() && self.stop.is_none()).then_some(self.fed);
            board.update(self.counts(), self.tally.failed_count(), fed_all);
        }
    }

    /// Whether there is nothing left to do.
    fn finished(&self) -> bool {
        if !self.running.is_empty() {
            return false;
        }
        self.stop.is_some()
            || self.halted.is_some()
            || (self.feed.is_none() && self.pending.is_empty())
    }

    /// Whether a new job may start now (inputs aside).
    fn may_start(&mut self) -> bool {
        if self.stop.is_some() || self.halted.is_some() {
            return false;
        }
        if self.running.len() >= self.slots_max
            || self.running.len() + self.report.held() >= self.alive_max
        {
            return false;
        }
        if let (Some(delay), Some(last)) = (self.settings.delay, self.last_start)
            && last.elapsed() < delay
        {
            return false;
        }
        if self.waiting_for_monitor {
            return false;
        }
        let reading = self.monitor.snapshot();
        match self.admission.judge(reading.as_deref(), self.running.len()) {
            Ok(()) => true,
            Err(wait) => {
                if let Wait::Short(why) = wait
                    && !self.said_waiting
                {
                    stderr!("steward run: waiting to start jobs: {why}");
                    self.said_waiting = true;
                }
                self.waiting_for_monitor = true;
                false
            }
        }
    }

    /// `--memfree`: below half of it, the newest job is stopped and run
    /// again later.
    fn check_memory(&mut self) {
        let reading = self.monitor.snapshot();
        if !self
            .admission
            .must_free_memory(reading.as_deref(), self.running.len())
        {
            return;
        }
        let newest = self
            .running
            .iter()
            .filter(|(_, job)| job.stopped.is_none())
            .max_by_key(|(_, job)| job.started)
            .map(|(id, _)| *id);
        if let Some(id) = newest {
            self.stop_job(id, Stopped::Memory);
        }
    }

    fn wants_feed(&self) -> bool {
        self.feed.is_some()
            && self.pending.is_empty()
            && self.stop.is_none()
            && self.halted.is_none()
    }

    fn start_jobs(&mut self) {
        while self.may_start() {
            if self.pending.is_empty() {
                match self.feed.as_mut().map(mpsc::Receiver::try_recv) {
                    Some(Ok(fed)) => self.on_feed(Some(fed)),
                    Some(Err(mpsc::error::TryRecvError::Disconnected)) => self.on_feed(None),
                    Some(Err(mpsc::error::TryRecvError::Empty)) | None => {}
                }
            }
            let Some(pending) = self.pending.pop_front() else {
                return;
            };
            self.start(pending);
        }
    }

    fn on_feed(&mut self, fed: Option<Feed>) {
        match fed {
            Some(Feed::Batch(batch)) => {
                self.fed += 1;
                self.pending.push_back(Pending { batch, tried: 0 });
            }
            Some(Feed::Total(total)) => {
                self.total = Some(total);
                self.tally = Tally::new(self.settings.halt, Some(total));
            }
            Some(Feed::Failed(problem)) => {
                stderr!("steward run: {problem}");
                self.feed = None;
                self.stop = self.stop.or(Some(Stop::Error));
            }
            None => self.feed = None,
        }
    }

    fn start(&mut self, pending: Pending) {
        let slot = self.slots.take();
        let args = pending.batch.args();
        let job = Job {
            args: &args,
            seq: pending.batch.seq,
            slot,
        };
        let (argv, shown) = if self.settings.shell {
            let line = self.settings.template.shell_line(&job, self.settings.fill);
            (vec![b"sh".to_vec(), b"-c".to_vec(), line.clone()], line)
        } else {
            let words = self.settings.template.words(&job, self.settings.fill);
            let shown = quote::command_line(&words);
            (words, shown)
        };
        self.report.started_job(&args);
        self.tally.started();
        self.last_start = Some(Instant::now());
        self.said_waiting = false;
        if self.settings.dry_run {
            let printed = self.report.line(shown);
            self.failed_if(printed);
            self.slots.give(slot);
            self.tally.finished(Ending { exit: 0, signal: 0 });
            return;
        }
        let output = match self.job_output(&pending.batch, &job) {
            Ok(output) => output,
            Err(problem) => {
                stderr!("steward run: {problem}");
                self.slots.give(slot);
                self.stop = self.stop.or(Some(Stop::Error));
                return;
            }
        };
        self.next_id += 1;
        let id = self.next_id;
        let launch = Launch::new(id, argv, self.settings.nice, pending.batch.seq, slot)
            .piped(self.settings.output != OutputMode::Ungrouped);
        tokio::spawn(job::run(
            self.pool.clone(),
            launch,
            self.events_sender.clone(),
        ));
        self.running.insert(
            id,
            Running {
                pending,
                slot,
                started: Instant::now(),
                started_at: SystemTime::now(),
                key: None,
                shown,
                output,
                stopped: None,
            },
        );
    }

    /// Where the job's output goes: its `--results` files, or the spool
    /// with its tag.
    fn job_output(&self, batch: &Batch, job: &Job<'_>) -> Result<JobOutput, String> {
        if let Some(results) = &self.settings.results {
            let paths = match results {
                Results::Tree(dir) => Paths::in_tree(dir, &batch.records),
                Results::Named(template) => Paths::expanded(&template.joined(job, Fill::Words)),
            };
            let (stdout, stderr) = paths.create(batch.seq).map_err(|error| {
                format!(
                    "--results {}: {}",
                    paths.stdout.display(),
                    output::os_error(&error)
                )
            })?;
            return Ok(JobOutput::into_files(stdout, stderr));
        }
        let tag = match &self.settings.tag {
            Some(tag) => {
                let mut tag = tag.joined(job, Fill::Words);
                tag.push(b'\t');
                tag
            }
            None => Vec::new(),
        };
        Ok(JobOutput::new(tag))
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Started { id, key } => {
                let Some(job) = self.running.get_mut(&id) else {
                    return;
                };
                job.key = Some(key);
                // Asked to stop before it started.
                if let Some(stopped) = job.stopped.take() {
                    self.stop_job(id, stopped);
                }
            }
            Event::Output { id, stream, bytes } => {
                let Some(job) = self.running.get_mut(&id) else {
                    return;
                };
                let live = self.report.live(job.pending.batch.seq);
                let taken = self.report.output(&mut job.output, stream, &bytes, live);
                self.failed_if(taken);
            }
            Event::Ended { id, end } => self.on_end(id, end),
        }
    }

    fn on_end(&mut self, id: u64, end: End) {
        let Some(job) = self.running.remove(&id) else {
            return;
        };
        self.slots.give(job.slot);
        let runtime = job.started.elapsed();
        let ending = match &end {
            End::Exited(status) => Ending {
                exit: status.code().unwrap_or(0),
                signal: status.signal().unwrap_or(0),
            },
            End::NotStarted { status, why } => {
                stderr!("steward run: {why}");
                Ending {
                    exit: *status,
                    signal: 0,
                }
            }
        };
        let ending = match job.stopped {
            Some(Stopped::Timeout) => Ending {
                exit: -1,
                signal: ending.signal,
            },
            Some(Stopped::Memory) => {
                self.pending.push_front(job.pending);
                return;
            }
            Some(Stopped::Run) => {
                // Its partial output is printed; it counts for nothing.
                self.output_ended(job.pending.batch.seq, job.output, None);
                return;
            }
            None => ending,
        };
        let tried = job.pending.tried + 1;
        let may_retry = self.stop.is_none() && self.halted.is_none();
        if ending.failed() && may_retry && self.settings.tries.is_none_or(|tries| tried < tries) {
            // The failed try's output goes; the job runs again, next.
            self.pending.push_front(Pending {
                batch: job.pending.batch,
                tried,
            });
            return;
        }
        let verdict = self.tally.finished(ending);
        if !ending.failed()
            && let Some(timeouts) = &mut self.timeouts
        {
            timeouts.succeeded(runtime);
        }
        let entry = Entry {
            seq: job.pending.batch.seq,
            started: job.started_at,
            runtime,
            received: job.output.received(),
            exit: ending.exit,
            signal: ending.signal,
            command: &job.shown,
        };
        // Its output, then its joblog line, then --halt's note about it,
        // in GNU parallel's order.
        self.output_ended(job.pending.batch.seq, job.output, Some(&entry));
        if let Some(note) = verdict.note {
            let flushed = self.report.flush(self.counts());
            self.failed_if(flushed);
            stderr!(
                "steward run: {note}\n{}",
                String::from_utf8_lossy(&job.shown)
            );
        }
        match verdict.halt {
            Some(When::Now) => {
                self.halted = Some(When::Now);
                let ids: Vec<u64> = self.running.keys().copied().collect();
                for id in ids {
                    self.stop_job(id, Stopped::Run);
                }
            }
            Some(When::Soon) => {
                if self.halted.is_none() && !self.running.is_empty() {
                    stderr!(
                        "steward run: Starting no more jobs. Waiting for {} jobs to finish.",
                        self.running.len()
                    );
                }
                self.halted = self.halted.or(Some(When::Soon));
            }
            None => {}
        }
    }

    /// An ended job's output (and joblog entry) to the report; under
    /// `-k`, the job whose turn came prints as it goes from now on.
    fn output_ended(&mut self, seq: u64, output: JobOutput, entry: Option<&Entry<'_>>) {
        let next = match self.report.ended(seq, output, entry) {
            Ok(next) => next,
            Err(error) => return self.stdout_failed(error),
        };
        let Some(next) = next else {
            return;
        };
        if let Some(job) = self
            .running
            .values_mut()
            .find(|job| job.pending.batch.seq == next)
        {
            let released = self.report.release(&mut job.output);
            self.failed_if(released);
        }
    }

    fn failed_if(&mut self, result: Result<(), OutputError>) {
        if let Err(error) = result {
            self.stdout_failed(error);
        }
    }

    fn stdout_failed(&mut self, error: OutputError) {
        if self.stop.is_none() {
            self.stop_all(Stop::Stdout(error));
        }
    }

    /// Stops every running job (and starts no more).
    fn stop_all(&mut self, stop: Stop) {
        if self.stop.is_none() {
            self.stop = Some(stop);
        }
        // What is not read yet is not needed: the feed's thread ends.
        self.feed = None;
        let ids: Vec<u64> = self.running.keys().copied().collect();
        for id in ids {
            self.stop_job(id, Stopped::Run);
        }
    }

    /// SIGTERM to the job's group, SIGKILL after `--grace`; descendants
    /// that left the group are found by their mark.
    fn stop_job(&mut self, id: u64, why: Stopped) {
        let Some(job) = self.running.get_mut(&id) else {
            return;
        };
        if job.stopped.is_some() && job.key.is_some() {
            return; // being stopped already
        }
        job.stopped = Some(why);
        let Some(key) = job.key.clone() else {
            return; // stopped as soon as it has started
        };
        let (tracker, grace) = (self.tracker.clone(), self.settings.grace);
        tokio::spawn(async move {
            // Gone already: nothing to stop.
            let _ = tracker.stop_process(&key, grace).await;
        });
    }

    /// When the loop must wake up by itself: the next `--timeout` or
    /// `--delay`.
    fn wake_at(&self) -> Option<Instant> {
        let timeout = self
            .timeouts
            .as_ref()
            .and_then(Timeouts::limit)
            .and_then(|limit| {
                self.running
                    .values()
                    .filter(|job| job.stopped.is_none())
                    .map(|job| job.started + limit)
                    .min()
            });
        let delay = match (self.settings.delay, self.last_start) {
            (Some(delay), Some(last)) if !self.pending.is_empty() || self.feed.is_some() => {
                Some(last + delay).filter(|at| *at > Instant::now())
            }
            _ => None,
        };
        match (timeout, delay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `--timeout`: stops the jobs past it.
    fn stop_overdue(&mut self) {
        let Some(limit) = self.timeouts.as_ref().and_then(Timeouts::limit) else {
            return;
        };
        let overdue: Vec<u64> = self
            .running
            .iter()
            .filter(|(_, job)| job.stopped.is_none() && job.started.elapsed() >= limit)
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            if let Some(job) = self.running.get(&id) {
                stderr!(
                    "steward run: Warning: This job was killed because it timed out:\n{}",
                    String::from_utf8_lossy(&job.shown)
                );
            }
            self.stop_job(id, Stopped::Timeout);
        }
    }
}

/// The next item of the feed (`None` once it ended).
async fn recv(feed: &mut Option<mpsc::Receiver<Feed>>) -> Option<Feed> {
    match feed {
        Some(feed) => feed.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `at` (never without one).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
