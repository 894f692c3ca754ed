//! The subcommands of the `steward` program, and what they share.

pub(crate) mod checksum;
mod escape;
mod jobs;
pub(crate) mod monitor;
mod progress;
pub(crate) mod run;
mod walk;

use std::process::ExitCode;

use steward::{Config, Steward};

/// A run that finished with errors (some files unreadable, a job failed).
pub(crate) const EXIT_FAILED: u8 = 1;
/// Bad configuration or usage.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Stopped by SIGINT (128 + 2).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM (128 + 15).
pub(crate) const EXIT_TERMINATED: u8 = 143;

/// The environment's configuration with the command line's overrides on
/// top: flags win over `STEWARD_*` variables.
pub(crate) fn config(
    io_limit: Option<usize>,
    cpu_workers: Option<usize>,
) -> Result<Config, ExitCode> {
    let mut config = Config::from_env().map_err(|error| report(&error))?;
    if let Some(limit) = io_limit {
        config = config.with_default_io_limit(limit);
    }
    if let Some(workers) = cpu_workers {
        config = config.with_cpu_workers(workers);
    }
    config.validate().map_err(|error| report(&error))?;
    Ok(config)
}

/// Starts steward with `config`, runs `job`, then shuts
/// steward down (bounded) whatever the job came to.
pub(crate) async fn with_steward(
    config: Config,
    job: impl AsyncFnOnce(&Steward) -> ExitCode,
) -> ExitCode {
    let steward = match Steward::builder().config(config).start() {
        Ok(steward) => steward,
        Err(error) => return report(&error),
    };
    let code = job(&steward).await;
    if let Err(error) = steward.shutdown().await {
        eprintln!("steward: shutdown: {error}");
    }
    code
}

/// Prints a startup error and picks the exit code for it.
pub(crate) fn report(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("steward: {error}");
    ExitCode::from(EXIT_USAGE)
}
