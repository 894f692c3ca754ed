//! The `steward` command-line program.

// Every write goes through `cli::output`: `println!` and `eprintln!` panic
// on a closed pipe or a full disk.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward::Steward;

use cli::output::{self, EXIT_FAILED, EXIT_USAGE, stderr};

/// steward: an actor framework for a process's resources.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the configuration steward would run with: defaults overridden by
    /// STEWARD_* environment variables, validated.
    Config,
    /// SHA-256 of every file under the paths, in sha256sum's format.
    Checksum(cli::checksum::ChecksumArgs),
    /// Run a command once per input, in parallel, every job a tracked child.
    Run(cli::run::RunArgs),
    /// Live CPU, memory and disk readings, with alerts.
    Monitor(cli::monitor::MonitorArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        // Its report of a failed write is an `eprintln!`, which would
        // panic on the same broken stderr.
        .log_internal_errors(false)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    match cli.command {
        Command::Config => print_config(),
        Command::Checksum(args) => run_async(cli::checksum::run(args)),
        Command::Run(args) => run_async(cli::run::run(args)),
        Command::Monitor(args) => run_async(cli::monitor::run(args)),
    }
}

/// What clap's `Error::exit` does, with `--help` and `--version` written
/// through [`output`] so that a write error on stdout is not lost.
fn usage(error: &clap::Error) -> ExitCode {
    if error.use_stderr() {
        // clap writes errors without panicking and ignores a failure.
        let _ = error.print();
        return ExitCode::from(EXIT_USAGE);
    }
    let colour = std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let text = error.render();
    let printed = if colour {
        output::print(text.ansi())
    } else {
        output::print(text)
    };
    match printed {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.exit_code(),
    }
}

/// Runs a subcommand on a single-threaded tokio runtime: the heavy work
/// happens on steward's pools, the runtime only orchestrates.
fn run_async(command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(command),
        Err(error) => {
            stderr!("steward: cannot start a tokio runtime: {error}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn print_config() -> ExitCode {
    let config = match Steward::builder().from_env().build_config() {
        Ok(config) => config,
        Err(err) => {
            stderr!("steward: {err}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match serde_json::to_string_pretty(&config) {
        Ok(json) => match output::print(format_args!("{json}\n")) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => error.exit_code(),
        },
        Err(err) => {
            stderr!("steward: cannot print the configuration: {err}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
