//! The `steward` command-line program.

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
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Config => print_config(),
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
