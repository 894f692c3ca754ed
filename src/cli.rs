//! The subcommands of the `steward` program, and what they share.

pub(crate) mod checksum;
mod escape;
mod jobs;
pub(crate) mod monitor;
pub(crate) mod output;
mod progress;
// Issue 16 moves `run` onto `output`; until then it still prints directly.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(crate) mod run;
mod walk;

use std::process::ExitCode;

use steward::{Config, Steward};

pub(crate) use output::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, stderr};

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

/// Starts steward with `config` and its panic hook, runs `job`, then shuts
/// steward down (bounded) whatever the job came to.
pub(crate) async fn with_steward(
    config: Config,
    job: impl AsyncFnOnce(&Steward) -> ExitCode,
) -> ExitCode {
    let steward = match Steward::builder().config(config).start() {
        Ok(steward) => steward,
        Err(error) => return report(&error),
    };
    steward.install_panic_hook();
    let code = job(&steward).await;
    if let Err(error) = steward.shutdown().await {
        stderr!("steward: shutdown: {error}");
    }
    code
}

/// Prints a startup error and picks the exit code for it.
pub(crate) fn report(error: &dyn std::error::Error) -> ExitCode {
    stderr!("steward: {error}");
    ExitCode::from(EXIT_USAGE)
}
