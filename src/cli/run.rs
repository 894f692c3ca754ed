//! `steward run`: a resource-aware parallel runner, like `xargs -P` and
//! GNU parallel, with every job a tracked child in its own process group.

mod batch;
mod combine;
mod expand;
mod halt;
mod input;
mod joblog;
mod progress;
mod quote;
mod results;
mod spool;
mod transform;
mod units;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use steward::Steward;
use steward::subprocess_pool::SubprocessPool;
use tokio::signal::unix::{SignalKind, signal};

use super::jobs::{Plan, arguments, duration, inputs, plan};
use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, report};

/// Options of `steward run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Jobs at once (default: the CPU workers).
    #[arg(short = 'j', long, value_name = "N")]
    jobs: Option<usize>,
    /// Stop a job that runs longer than this (SIGTERM, then SIGKILL after
    /// --grace): 30s, 500ms, 2m.
    #[arg(long, value_name = "D")]
    timeout: Option<String>,
    /// How long a stopped job gets between SIGTERM and SIGKILL.
    #[arg(long, value_name = "D", default_value = "5s")]
    grace: String,
    /// Start no new job while memory use is above this percent.
    #[arg(long, value_name = "P")]
    max_memory_percent: Option<f64>,
    /// Print the jobs' output in input order (each job's output is whole
    /// either way).
    #[arg(long)]
    keep_order: bool,
    /// Print a JSON summary (each job's input, exit code, duration and
    /// output) instead of the jobs' output.
    #[arg(long)]
    json: bool,
    /// The command, `{}` standing for the input, then optionally `:::` and
    /// the inputs (otherwise one per stdin line).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// The settings of one run, checked.
struct Settings {
    plan: Plan,
    jobs: usize,
    timeout: Option<Duration>,
    grace: Duration,
    max_memory_percent: Option<f64>,
    keep_order: bool,
    json: bool,
}

fn settings(args: RunArgs, cpu_workers: usize) -> Result<Settings, String> {
    let timeout = args.timeout.as_deref().map(duration).transpose()?;
    let grace = duration(&args.grace)?;
    if let Some(percent) = args.max_memory_percent
        && !(percent > 0.0 && percent <= 100.0)
    {
        return Err(format!(
            "--max-memory-percent {percent} must be above 0 and at most 100"
        ));
    }
    if args.jobs == Some(0) {
        return Err("-j 0: at least one job must run at a time".to_owned());
    }
    Ok(Settings {
        plan: plan(args.command)?,
        jobs: args.jobs.unwrap_or(cpu_workers),
        timeout,
        grace,
        max_memory_percent: args.max_memory_percent,
        keep_order: args.keep_order,
        json: args.json,
    })
}

/// How one job ended.
#[derive(Debug)]
struct Finished {
    index: usize,
    input: String,
    exit_code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    error: Option<String>,
    duration: Duration,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Finished {
    fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.error.is_none()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "input": self.input,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "timed_out": self.timed_out,
            "error": self.error,
            "duration_seconds": self.duration.as_secs_f64(),
            "stdout": String::from_utf8_lossy(&self.stdout),
            "stderr": String::from_utf8_lossy(&self.stderr),
        })
    }
}

/// Runs `steward run`.
pub(crate) async fn run(args: RunArgs) -> ExitCode {
    let config = match super::config(None, None) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let settings = match settings(args, config.cpu_workers()) {
        Ok(settings) => settings,
        Err(problem) => {
            eprintln!("steward run: {problem}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let inputs = match inputs(&settings.plan) {
        Ok(inputs) => inputs,
        Err(error) => {
            eprintln!("steward run: cannot read the inputs: {error}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    super::with_steward(config, async |steward| {
        match steward.start_subprocess_pool("run", settings.jobs).await {
            Ok(pool) => Runner::new(steward, pool, settings).run(inputs).await,
            Err(error) => report(&error),
        }
    })
    .await
}

/// Why the run stopped early.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Interrupt,
    Terminate,
}

struct Runner<'a> {
    steward: &'a Steward,
    pool: SubprocessPool,
    settings: Settings,
    printed_upto: usize,
    held: BTreeMap<usize, Finished>,
    finished: Vec<Finished>,
    progress: bool,
    waiting_for_memory: bool,
}

impl<'a> Runner<'a> {
    fn new(steward: &'a Steward, pool: SubprocessPool, settings: Settings) -> Self {
        Self {
            steward,
            pool,
            progress: !settings.json && std::io::stderr().is_terminal(),
            settings,
            printed_upto: 0,
            held: BTreeMap::new(),
            finished: Vec::new(),
            waiting_for_memory: false,
        }
    }

    async fn run(mut self, inputs: Vec<String>) -> ExitCode {
        let (mut interrupt, mut terminate) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
            (Err(error), _) | (_, Err(error)) => {
                eprintln!("steward run: cannot handle signals: {error}");
                return ExitCode::from(EXIT_FAILED);
            }
        };
        let total = inputs.len();
        let mut pending = inputs.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        let mut readings = self.steward.monitor().readings();
        let mut stopped = None;
        let mut next = pending.next();
        loop {
            let can_start = next.is_some() && running.len() < self.settings.jobs;
            let memory_ok = self.memory_allows();
            if can_start && memory_ok {
                if let Some((index, input)) = next.take() {
                    running.push(self.job(index, input));
                }
                next = pending.next();
                continue;
            }
            if next.is_none() && running.is_empty() {
                break;
            }
            self.draw(total, running.len());
            tokio::select! {
                _ = interrupt.recv() => { stopped = Some(Stop::Interrupt); break; }
                _ = terminate.recv() => { stopped = Some(Stop::Terminate); break; }
                Some(done) = running.next(), if !running.is_empty() => self.finish(done),
                changed = readings.changed(), if can_start && !memory_ok => {
                    if changed.is_err() {
                        self.settings.max_memory_percent = None; // the monitor is gone
                    }
                }
            }
        }
        if let Some(stop) = stopped {
            self.clear_progress();
            eprintln!("steward run: stopping {} running job(s)", running.len());
            // SIGTERM to every job's process group, SIGKILL after the grace;
            // descendants that left the group are found by their mark.
            if let Err(error) = self
                .steward
                .tracker()
                .cleanup_all(self.settings.grace)
                .await
            {
                eprintln!("steward run: stopping the jobs: {error}");
            }
            while let Some(done) = running.next().await {
                self.finish(done);
            }
            self.summary(total, true);
            return ExitCode::from(match stop {
                Stop::Interrupt => EXIT_INTERRUPTED,
                Stop::Terminate => EXIT_TERMINATED,
            });
        }
        self.clear_progress();
        self.summary(total, false);
        let failed = self.finished.iter().filter(|job| !job.succeeded()).count();
        ExitCode::from(u8::try_from(failed.min(100)).unwrap_or(100))
    }

    fn memory_allows(&mut self) -> bool {
        let Some(limit) = self.settings.max_memory_percent else {
            return true;
        };
        let used = self
            .steward
            .monitor()
            .snapshot()
            .map_or(0.0, |reading| reading.memory.used_percent());
        let allows = used <= limit;
        if !allows && !self.waiting_for_memory && !self.progress {
            eprintln!(
                "steward run: memory at {used:.1}% (limit {limit}%): waiting to start more jobs"
            );
        }
        self.waiting_for_memory = !allows;
        allows
    }

    fn job(&self, index: usize, input: String) -> impl Future<Output = Finished> + use<> {
        let pool = self.pool.clone();
        let tracker = self.steward.tracker().clone();
        let (timeout, grace) = (self.settings.timeout, self.settings.grace);
        let words = arguments(&self.settings.plan.template, &input);
        async move {
            let started = Instant::now();
            let mut finished = Finished {
                index,
                input,
                exit_code: None,
                signal: None,
                timed_out: false,
                error: None,
                duration: Duration::ZERO,
                stdout: Vec::new(),
                stderr: Vec::new(),
            };
            let mut command = Command::new(&words[0]);
            command
                .args(&words[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = match pool.spawn(command).await {
                Ok(child) => child,
                Err(error) => {
                    finished.error = Some(format!("could not start: {error}"));
                    finished.duration = started.elapsed();
                    return finished;
                }
            };
            let ended = match timeout {
                Some(limit) => tokio::time::timeout(limit, child.wait_with_output())
                    .await
                    .ok(),
                None => Some(child.wait_with_output().await),
            };
            let status = match ended {
                Some(Ok(output)) => {
                    finished.stdout = output.stdout;
                    finished.stderr = output.stderr;
                    output.status
                }
                Some(Err(error)) => {
                    finished.error = Some(format!("reading its output: {error}"));
                    child.wait().await
                }
                None => {
                    finished.timed_out = true;
                    let _ = tracker.stop_process(&child.key, grace).await;
                    child.wait().await
                }
            };
            finished.exit_code = status.code();
            finished.signal = std::os::unix::process::ExitStatusExt::signal(&status);
            finished.duration = started.elapsed();
            finished
        }
    }

    fn finish(&mut self, done: Finished) {
        if self.settings.json {
            self.finished.push(done);
            return;
        }
        if self.settings.keep_order {
            self.held.insert(done.index, done);
            while let Some(next) = self.held.remove(&self.printed_upto) {
                self.print(&next);
                self.printed_upto += 1;
                self.finished.push(next);
            }
        } else {
            self.print(&done);
            self.finished.push(done);
        }
    }

    fn print(&self, job: &Finished) {
        self.clear_progress();
        // Each job's output goes out in one write per stream, so jobs never
        // interleave; a closed stdout only loses output.
        let _ = std::io::stdout().lock().write_all(&job.stdout);
        let _ = std::io::stderr().lock().write_all(&job.stderr);
        if job.timed_out {
            eprintln!("steward run: job {:?} timed out", job.input);
        } else if let Some(error) = &job.error {
            eprintln!("steward run: job {:?} {error}", job.input);
        }
    }

    fn summary(&mut self, total: usize, stopped: bool) {
        // Jobs held back for order are printed as they are.
        for (_, job) in std::mem::take(&mut self.held) {
            self.print(&job);
            self.finished.push(job);
        }
        self.finished.sort_by_key(|job| job.index);
        let failed = self.finished.iter().filter(|job| !job.succeeded()).count();
        let done = self.finished.len();
        if self.settings.json {
            let jobs: Vec<_> = self.finished.iter().map(Finished::json).collect();
            let summary = serde_json::json!({
                "jobs": jobs, "total": total, "done": done, "failed": failed, "stopped": stopped,
            });
            println!("{summary}");
        } else if stopped || failed > 0 {
            eprintln!("steward run: {done} of {total} job(s) ran, {failed} failed");
        }
    }

    fn draw(&self, total: usize, running: usize) {
        if !self.progress {
            return;
        }
        let waiting = if self.waiting_for_memory {
            ", waiting: memory above limit"
        } else {
            ""
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[K{} of {total} done, {running} running{waiting}",
            self.finished.len()
        );
        let _ = stderr.flush();
    }

    fn clear_progress(&self) {
        if self.progress {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
        }
    }
}
