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
//! one process, [`report`] shows the output and the records. The
//! [`runner`] only schedules: it starts jobs while slots, memory, load
//! and `--delay` allow, and stops them on `--timeout`, `--halt`, a signal
//! or a closed stdout.

mod admission;
mod batch;
mod board;
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
mod report;
mod results;
mod runner;
mod settings;
mod slots;
mod spool;
mod timeouts;
mod transform;
mod units;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use steward::Steward;
use steward::monitor::MonitorOptions;

use super::output::{self, stderr};
use options::{HELP, Options};
use runner::{EXIT_ERROR, Runner};
use settings::Settings;

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
    let serve = super::serve::ServeArgs {
        serve: settings.serve,
        serve_public: settings.serve_public,
    };
    super::with_steward_built(builder, async |steward| {
        if super::serve::start(steward, &serve).await.is_err() {
            return ExitCode::from(EXIT_ERROR);
        }
        match Runner::new(steward, settings, cpus).await {
            Ok(runner) => runner.run().await,
            Err(code) => code,
        }
    })
    .await
}
