//! The `steward` command-line program.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use steward::Steward;

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
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Config => print_config(),
        Command::Checksum(args) => run_async(cli::checksum::run(args)),
        Command::Run(args) => run_async(cli::run::run(args)),
        Command::Monitor(args) => run_async(cli::monitor::run(args)),
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
            eprintln!("steward: cannot start a tokio runtime: {error}");
            ExitCode::from(cli::EXIT_FAILED)
        }
    }
}

fn print_config() -> ExitCode {
    let config = match Steward::builder().from_env().build_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("steward: {err}");
            return ExitCode::from(2);
        }
    };
    match serde_json::to_string_pretty(&config) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("steward: cannot print the configuration: {err}");
            ExitCode::FAILURE
        }
    }
}
