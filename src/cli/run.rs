//! `steward run`: a drop-in for GNU parallel's core. Its options, input
//! sources, replacement strings, output formats, records and exit codes
//! are GNU parallel's (see [`options::HELP`]); the command runs without a
//! shell, as `parallel -q` runs it; every job is a tracked child, stopped
//! with its descendants when the run stops.
//!
//! The pieces: [`input`] reads records as they arrive, [`combine`] makes
//! the input sources' combinations, [`batch`] groups them into jobs,
//! [`expand`] fills the command's replacement strings, [`spool`] keeps
//! each job's output until it may be printed, [`halt`] judges `--halt`
//! and the exit status, [`joblog`], [`results`] and [`progress`] record.
//! [`feed`] runs the first three on a thread of their own, [`job`] runs
//! one process. The [`Runner`] here only schedules: it starts jobs while
//! slots, memory, load and `--delay` allow, routes their output, and
//! stops them on `--timeout`, `--halt`, a signal or a closed stdout.

mod batch;
mod combine;
mod expand;
mod feed;
mod halt;
mod input;
mod job;
mod joblog;
mod limits;
mod options;
mod progress;
mod quote;
mod results;
mod settings;
mod spool;
mod timeouts;
mod transform;
mod units;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use steward::Steward;
use steward::monitor::MonitorOptions;
use steward::subprocess_pool::SubprocessPool;
use steward::tracker::Tracker;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::output::{self, EXIT_INTERRUPTED, EXIT_TERMINATED, Output, OutputError, stderr};
use batch::{Batch, Batching};
use expand::{Fill, Job};
use feed::{Feed, Plan};
use halt::{Ending, Tally, When};
use job::{End, Event, Launch};
use joblog::{Entry, Joblog};
use options::{HELP, Options};
use progress::{Counts, Display};
use results::Paths;
use settings::{OutputMode, Results, Settings};
use spool::{JobOutput, Printer, Stream};
use timeouts::Timeouts;

/// GNU parallel's status for a bad option, an unreadable input and other
/// errors.
const EXIT_ERROR: u8 = 255;
/// Stopped by SIGHUP (128 + 1).
const EXIT_HANGUP: u8 = 129;

/// `steward run`'s command line, taken whole: its options are GNU
/// parallel's, parsed by [`Options`] (so `--help` is this command's own
/// and a usage error exits 255, as GNU parallel's does).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct RunArgs {
    /// GNU parallel's options, the command, `:::` and the inputs (see
    /// `steward run --help`).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    raw: Vec<OsString>,
}

impl RunArgs {
    /// The words after `run`, as given: clap drops a `--`, which must
    /// stay (it ends the options, and `steward run -- -x` runs `-x`).
    fn words(self) -> Vec<OsString> {
        let mut all = std::env::args_os().skip(1);
        if all.by_ref().any(|word| word == "run") {
            all.collect()
        } else {
            self.raw
        }
    }
}

/// Runs `steward run`.
pub(crate) async fn run(args: RunArgs) -> ExitCode {
    let options = match Options::try_parse_from(args.words()) {
        Ok(options) => options,
        Err(error) => {
            let message = error.render().to_string();
            stderr!(
                "steward run: {}",
                message.trim_end().trim_start_matches("error: ")
            );
            stderr!("steward run: see steward run --help");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if options.help {
        return match output::print(HELP) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => error.exit_code(),
        };
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let settings = match Settings::new(options, cpus) {
        Ok(settings) => settings,
        Err(problem) => {
            stderr!("steward run: {problem}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut config = match super::config(None, None) {
        Ok(config) => config,
        Err(_) => return ExitCode::from(EXIT_ERROR),
    };
    let mut monitor = MonitorOptions::default();
    if settings.memfree.is_some() || settings.load.is_some() {
        // Judged on the Monitor's readings: fresh ones.
        config = config.with_monitor_interval(Duration::from_secs(1));
    } else {
        // Nothing here uses pressure alerts, and each PSI trigger costs
        // the kernel about 10 ms to take down when the program exits.
        monitor.psi_triggers.clear();
    }
    let builder = Steward::builder().config(config).monitor_options(monitor);
    super::with_steward_built(builder, async |steward| {
        match Runner::new(steward, settings, cpus).await {
            Ok(runner) => runner.run().await,
            Err(code) => code,
        }
    })
    .await
}

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

/// Job slots, numbered from 1; a freed slot is reused after the others
/// already freed (GNU parallel's order).
#[derive(Debug, Default)]
struct Slots {
    free: VecDeque<usize>,
    issued: usize,
}

impl Slots {
    fn take(&mut self) -> usize {
        self.free.pop_front().unwrap_or_else(|| {
            self.issued += 1;
            self.issued
        })
    }

    fn give(&mut self, slot: usize) {
        self.free.push_back(slot);
    }
}

/// Stdout through the shared writer, as [`io::Write`] for the printer;
/// keeps how it failed.
struct ToStdout {
    out: Output,
    failure: Option<OutputError>,
    dirty: bool,
}

impl Write for ToStdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self.out.write(bytes) {
            Ok(()) => {
                self.dirty = true;
                Ok(bytes.len())
            }
            Err(error) => {
                self.failure = Some(error);
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.dirty = false;
        self.out.flush().map_err(|error| {
            self.failure = Some(error);
            io::ErrorKind::BrokenPipe.into()
        })
    }
}

/// Schedules a run's jobs.
struct Runner {
    tracker: Tracker,
    monitor: steward::monitor::Monitor,
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
    /// Ended jobs waiting for their turn (`-k`), by seq.
    held: BTreeMap<u64, JobOutput>,
    next_print: u64,
    slots: Slots,
    tally: Tally,
    total: Option<u64>,
    printer: Printer<ToStdout, io::Stderr>,
    joblog: Option<Joblog>,
    progress: Option<Display>,
    timeouts: Option<Timeouts>,
    last_start: Option<Instant>,
    halted: Option<When>,
    stop: Option<Stop>,
    /// A job could not start for memory or load: wait for a reading.
    waiting_for_monitor: bool,
    /// The wait for memory or load was said (until a job starts).
    said_waiting: bool,
}

impl Runner {
    async fn new(steward: &Steward, settings: Settings, cpus: usize) -> Result<Self, ExitCode> {
        let fail = |problem: String| {
            stderr!("steward run: {problem}");
            ExitCode::from(EXIT_ERROR)
        };
        let alive_max = limits::jobs_within_fd_limit();
        let requested = settings.jobs.slots(cpus);
        let slots_max = match requested {
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
        let mut limit = limits::argument_space();
        if let Some(max_chars) = settings.grouping.max_chars {
            limit = limit.min(max_chars);
        }
        let plan = Plan {
            sources: settings.sources.clone(),
            reading: settings.reading.clone(),
            columns: settings.columns.clone(),
            batching: Batching {
                max_records: settings.grouping.max_records,
                fill_up: settings.grouping.fill_up,
                spread_over: settings.grouping.spread.then_some(slots_max),
                limit,
            },
            template: settings.template.clone(),
            fill: settings.fill,
            count: settings.needs_total(),
        };
        let feed =
            feed::start(plan).map_err(|error| fail(format!("cannot read the inputs: {error}")))?;
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
        let mode = match settings.output {
            OutputMode::Spooled(mode) => mode,
            OutputMode::Ungrouped => spool::Mode::Group,
        };
        let stdout = ToStdout {
            out: Output::new(),
            failure: None,
            dirty: false,
        };
        let mut printer = Printer::new(stdout, io::stderr(), mode, settings.tmpdir.clone());
        if matches!(joblog, Some(Joblog::Stdout)) {
            let _ = printer.stdout().write_all(joblog::HEADER.as_bytes());
        }
        let progress = settings.progress.map(|kind| {
            let terminal = io::stderr().is_terminal();
            let width = std::env::var("COLUMNS")
                .ok()
                .and_then(|columns| columns.parse().ok())
                .unwrap_or(80);
            let display = Display::new(kind, terminal, width, Instant::now());
            let _ = io::stderr().write_all(display.header(cpus, slots_max).as_bytes());
            display
        });
        let (events_sender, events) = mpsc::channel(256);
        Ok(Self {
            tracker: steward.tracker().clone(),
            monitor: steward.monitor().clone(),
            pool,
            timeouts: settings.timeout.map(Timeouts::new),
            tally: Tally::new(settings.halt, None),
            settings,
            slots_max,
            alive_max: alive_max.max(slots_max),
            feed: Some(feed),
            pending: VecDeque::new(),
            events,
            events_sender,
            next_id: 0,
            running: HashMap::new(),
            held: BTreeMap::new(),
            next_print: 1,
            slots: Slots::default(),
            total: None,
            printer,
            joblog,
            progress,
            last_start: None,
            halted: None,
            stop: None,
            waiting_for_monitor: false,
            said_waiting: false,
        })
    }

    async fn run(mut self) -> ExitCode {
        let (Ok(mut hangup), Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            stderr!("steward run: cannot catch signals");
            return ExitCode::from(EXIT_ERROR);
        };
        let mut readings = self.monitor.readings();
        let watch_monitor = self.settings.memfree.is_some() || self.settings.load.is_some();
        loop {
            self.start_jobs();
            if self.finished() {
                break;
            }
            self.flush();
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
        self.finish()
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
            || self.running.len() + self.held.len() >= self.alive_max
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
        match self.monitor_refuses() {
            None => true,
            Some(why) => {
                if let Some(why) = why
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

    /// `--memfree`, `--load`: judged on the Monitor's latest reading;
    /// `Some` when a job may not start now, with why (`None` before the
    /// first reading, which comes at once).
    fn monitor_refuses(&self) -> Option<Option<String>> {
        if self.settings.memfree.is_none() && self.settings.load.is_none() {
            return None;
        }
        let Some(reading) = self.monitor.snapshot() else {
            return Some(None);
        };
        let available = reading.memory.available_bytes;
        if let Some(needed) = self.settings.memfree
            && available < needed
        {
            return Some(Some(format!(
                "{available} bytes of memory available, --memfree asks for {needed}"
            )));
        }
        // With no job running, the load cannot be ours to wait out.
        if let Some(max) = self.settings.load
            && !self.running.is_empty()
            && reading.load.one >= max
        {
            return Some(Some(format!(
                "the 1-minute load is {:.2}, --load asks for below {max:.2}",
                reading.load.one
            )));
        }
        None
    }

    /// `--memfree`: under half of it available, the newest job is stopped
    /// and run again later (GNU parallel's rule).
    fn check_memory(&mut self) {
        let (Some(needed), Some(reading)) = (self.settings.memfree, self.monitor.snapshot()) else {
            return;
        };
        if reading.memory.available_bytes >= needed / 2 || self.running.len() < 2 {
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
            Some(Feed::Batch(batch)) => self.pending.push_back(Pending { batch, tried: 0 }),
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
        if let Some(progress) = &mut self.progress {
            progress.started_job(&args.join(&b' '));
        }
        self.tally.started();
        self.last_start = Some(Instant::now());
        self.said_waiting = false;
        if self.settings.dry_run {
            let mut line = shown;
            line.push(b'\n');
            self.write_stdout(&line);
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
        let argv = match self.settings.nice {
            Some(nice) => [
                vec![
                    b"nice".to_vec(),
                    b"-n".to_vec(),
                    nice.to_string().into_bytes(),
                ],
                argv,
            ]
            .concat(),
            None => argv,
        };
        self.next_id += 1;
        let id = self.next_id;
        let launch = Launch {
            id,
            argv,
            env: vec![
                ("PARALLEL_SEQ", pending.batch.seq.to_string()),
                ("PARALLEL_JOBSLOT", slot.to_string()),
                ("PARALLEL_PID", std::process::id().to_string()),
            ],
            piped: self.settings.output != OutputMode::Ungrouped,
        };
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
            let (stdout, stderr) = paths
                .create(batch.seq)
                .map_err(|error| format!("--results {}: {error}", paths.stdout.display()))?;
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
                if let Some(stopped) = job.stopped {
                    job.stopped = None;
                    self.stop_job(id, stopped);
                }
            }
            Event::Output { id, stream, bytes } => {
                let Some(job) = self.running.get_mut(&id) else {
                    return;
                };
                let live = !self.settings.keep_order || job.pending.batch.seq == self.next_print;
                if stream == Stream::Stderr
                    && let Some(progress) = &self.progress
                {
                    let _ = io::stderr().write_all(progress.clear().as_bytes());
                }
                if self
                    .printer
                    .take(&mut job.output, stream, &bytes, live)
                    .is_err()
                {
                    self.stdout_failed();
                }
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
                self.output_done(job.pending.batch.seq, job.output);
                return;
            }
            None => ending,
        };
        let may_retry = self.stop.is_none() && self.halted.is_none();
        let tried = job.pending.tried + 1;
        if ending.failed() && may_retry && self.settings.tries.is_none_or(|tries| tried < tries) {
            // The failed try's output goes; the job runs again, next.
            self.pending.push_front(Pending {
                batch: job.pending.batch,
                tried,
            });
            return;
        }
        let verdict = self.tally.finished(ending);
        if let Some(note) = verdict.note {
            stderr!(
                "steward run: {note}\n{}",
                String::from_utf8_lossy(&job.shown)
            );
        }
        if !ending.failed()
            && let Some(timeouts) = &mut self.timeouts
        {
            timeouts.succeeded(runtime);
        }
        self.log(&job, runtime, ending);
        self.output_done(job.pending.batch.seq, job.output);
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

    /// The joblog's line for an ended job.
    fn log(&mut self, job: &Running, runtime: Duration, ending: Ending) {
        let Some(joblog) = &mut self.joblog else {
            return;
        };
        let line = Entry {
            seq: job.pending.batch.seq,
            started: job.started_at,
            runtime,
            received: job.output.received(),
            exit: ending.exit,
            signal: ending.signal,
            command: &job.shown,
        }
        .line();
        match joblog {
            Joblog::File(file) => {
                if let Err(error) = file.write_all(&line) {
                    stderr!("steward run: --joblog: {error}");
                    self.joblog = None;
                }
            }
            Joblog::Stdout => self.write_stdout(&line),
        }
    }

    /// An ended job's output: printed now, or held for its turn (`-k`).
    fn output_done(&mut self, seq: u64, output: JobOutput) {
        if !self.settings.keep_order {
            self.print(output);
            return;
        }
        self.held.insert(seq, output);
        while let Some(output) = self.held.remove(&self.next_print) {
            self.print(output);
            self.next_print += 1;
        }
        // The job whose turn it is now prints as it goes (line-buffer).
        let next = self.next_print;
        if let Some(job) = self
            .running
            .values_mut()
            .find(|job| job.pending.batch.seq == next)
            && self.printer.release(&mut job.output).is_err()
        {
            self.stdout_failed();
        }
    }

    fn print(&mut self, output: JobOutput) {
        if let Some(progress) = &self.progress {
            let _ = io::stderr().write_all(progress.clear().as_bytes());
        }
        if self.printer.finish(output).is_err() {
            self.stdout_failed();
        }
    }

    fn write_stdout(&mut self, bytes: &[u8]) {
        if self.printer.stdout().write_all(bytes).is_err() {
            self.stdout_failed();
        }
    }

    fn stdout_failed(&mut self) {
        let failure = self.printer.stdout().failure.unwrap_or(OutputError::Failed);
        if self.stop.is_none() {
            self.stop_all(Stop::Stdout(failure));
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

    /// Out with buffered stdout, and the progress line.
    fn flush(&mut self) {
        if self.printer.stdout().dirty && self.printer.stdout().flush().is_err() {
            self.stdout_failed();
        }
        self.draw_progress(false);
    }

    fn draw_progress(&mut self, last: bool) {
        let counts = Counts {
            total: self.total,
            started: self.tally.started_count(),
            running: self.running.len() as u64,
            completed: self.tally.completed_count(),
        };
        if let Some(progress) = &mut self.progress
            && let Some(line) = progress.update(counts, Instant::now(), last)
        {
            let _ = io::stderr().write_all(line.as_bytes());
        }
    }

    /// Prints what is left and picks the exit status.
    fn finish(mut self) -> ExitCode {
        // Jobs held for their turn whose predecessors never came.
        for (_, output) in std::mem::take(&mut self.held) {
            self.print(output);
        }
        self.flush();
        self.draw_progress(true);
        if let Some(progress) = &self.progress
            && !progress.clear().is_empty()
        {
            let _ = io::stderr().write_all(b"\n");
        }
        let status = match self.stop {
            Some(Stop::Signal(status)) => status,
            Some(Stop::Stdout(error)) => return error.exit_code(),
            Some(Stop::Error) => EXIT_ERROR,
            None => self.tally.exit_status(),
        };
        ExitCode::from(status)
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
