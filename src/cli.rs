//! The subcommands of the `steward` program, and what they share.

mod check;
mod checklist;
pub(crate) mod checksum;
mod digest;
mod escape;
pub(crate) mod monitor;
pub(crate) mod output;
mod progress;
mod quote;
pub(crate) mod run;
pub(crate) mod serve;
mod walk;

use std::num::NonZeroUsize;
use std::process::ExitCode;

use steward::{Config, ConfigError, Steward, StewardBuilder};

pub(crate) use output::{EXIT_FAILED, EXIT_USAGE, stderr};

/// A flag that overrides a setting, as the user typed it, so that a
/// refused value is reported under the flag's name, not the setting's.
#[derive(Debug)]
pub(crate) struct Flag {
    /// `--io-limit`.
    pub(crate) name: &'static str,
    /// The value(s) typed: `0`, `90 80`.
    pub(crate) typed: String,
    /// The settings it sets (`Config` field names, as `ConfigError`
    /// reports them), each with what it is to the user: `""` for a flag's
    /// only value, `"the warning level "` for one of two.
    pub(crate) fields: &'static [(&'static str, &'static str)],
    /// For a pair of thresholds: their resource (`memory`).
    pub(crate) resource: Option<&'static str>,
}

/// Checks `config`; a refused value that came from one of `flags` is
/// reported as that flag (`--io-limit 0: must not be zero`), anything else
/// as the configuration error it is.
pub(crate) fn validate(config: &Config, flags: &[Flag]) -> Result<(), ExitCode> {
    let Err(error) = config.validate() else {
        return Ok(());
    };
    let flagged = flags.iter().find_map(|flag| match &error {
        ConfigError::InvalidValue { key, problem, .. } => flag
            .fields
            .iter()
            .find(|(field, _)| field == key)
            .map(|(_, label)| format!("{} {}: {label}{problem}", flag.name, flag.typed)),
        ConfigError::ThresholdOrder { resource, .. } if flag.resource == Some(*resource) => {
            Some(format!(
                "{} {}: the warning level must be below the critical level",
                flag.name, flag.typed
            ))
        }
        _ => None,
    });
    Err(match flagged {
        Some(message) => {
            stderr!("steward: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        None => report(&error),
    })
}

/// The environment's configuration with the command line's overrides on
/// top: flags win over `STEWARD_*` variables.
pub(crate) fn config(
    io_limit: Option<NonZeroUsize>,
    cpu_workers: Option<NonZeroUsize>,
) -> Result<Config, ExitCode> {
    let mut config = Config::from_env().map_err(|error| report(&error))?;
    let mut flags = Vec::new();
    if let Some(limit) = io_limit {
        config = config.with_default_io_limit(limit.get());
        flags.push(Flag {
            name: "--io-limit",
            typed: limit.to_string(),
            fields: &[("default_io_limit", "")],
            resource: None,
        });
    }
    if let Some(workers) = cpu_workers {
        config = config.with_cpu_workers(workers.get());
        flags.push(Flag {
            name: "--cpu-workers",
            typed: workers.to_string(),
            fields: &[("cpu_workers", "")],
            resource: None,
        });
    }
    validate(&config, &flags)?;
    Ok(config)
}

/// Starts steward with `config`, runs `job`, then shuts
/// steward down (bounded) whatever the job came to.
pub(crate) async fn with_steward(
    config: Config,
    job: impl AsyncFnOnce(&Steward) -> ExitCode,
) -> ExitCode {
    with_steward_built(Steward::builder().config(config), job).await
}

/// As [`with_steward`], from a builder with more than a configuration.
pub(crate) async fn with_steward_built(
    builder: StewardBuilder,
    job: impl AsyncFnOnce(&Steward) -> ExitCode,
) -> ExitCode {
    let steward = match builder.start() {
        Ok(steward) => steward,
        Err(error) => return report(&error),
    };
    let code = job(&steward).await;
    if let Err(error) = steward.shutdown().await {
        stderr!("steward: shutdown: {error}");
    }
    code
}

/// Runs `job` on a thread of its own and hands its result over: for work
/// that may block for long or forever (a walk of `/`, a FIFO nobody writes
/// to). Unlike tokio's blocking pool, such a thread does not hold up the
/// runtime's shutdown: the program can end (Ctrl-C) while it still runs.
pub(crate) fn on_own_thread<T: Send + 'static>(
    name: &str,
    job: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<tokio::sync::oneshot::Receiver<T>> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("steward-{name}"))
        .spawn(move || {
            let _ = done.send(job());
        })?;
    Ok(result)
}

/// SIGINT (Ctrl-C), caught from now on.
pub(crate) fn interrupts() -> Result<tokio::signal::unix::Signal, ExitCode> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).map_err(|error| {
        stderr!("steward: cannot catch Ctrl-C: {error}");
        ExitCode::from(EXIT_FAILED)
    })
}

/// Prints a startup error and picks the exit code for it.
pub(crate) fn report(error: &dyn std::error::Error) -> ExitCode {
    stderr!("steward: {error}");
    ExitCode::from(EXIT_USAGE)
}
