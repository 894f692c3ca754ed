//! `steward monitor`: live readings, thresholds and alerts.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use steward::monitor::Reading;
use steward::{Config, Steward};
use steward_actors::config::Levels;

use super::{EXIT_FAILED, report};

/// Options of `steward monitor`.
#[derive(Debug, clap::Args)]
pub(crate) struct MonitorArgs {
    /// Take one reading, print it and exit.
    #[arg(long)]
    once: bool,
    /// Print readings and alerts as JSON, one object per line.
    #[arg(long)]
    json: bool,
    /// Milliseconds between readings (overrides STEWARD_MONITOR_INTERVAL_MS;
    /// at least 200).
    #[arg(long, value_name = "MS")]
    interval: Option<u64>,
    /// Stop after this many readings (default: until Ctrl-C).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Memory warning and critical thresholds, percent used.
    #[arg(long, num_args = 2, value_names = ["WARN", "CRIT"])]
    memory: Option<Vec<f64>>,
    /// CPU warning and critical thresholds, percent used.
    #[arg(long, num_args = 2, value_names = ["WARN", "CRIT"])]
    cpu: Option<Vec<f64>>,
    /// Disk warning and critical thresholds, percent used.
    #[arg(long, num_args = 2, value_names = ["WARN", "CRIT"])]
    disk: Option<Vec<f64>>,
    #[command(flatten)]
    serve: super::serve::ServeArgs,
}

fn levels(pair: Option<&Vec<f64>>) -> Option<Levels> {
    match pair.map(Vec::as_slice) {
        Some([warning, critical]) => Some(Levels::new(*warning, *critical)),
        _ => None,
    }
}

fn configure(args: &MonitorArgs) -> Result<Config, ExitCode> {
    let mut config = Config::from_env().map_err(|error| report(&error))?;
    if let Some(interval) = args.interval {
        config = config.with_monitor_interval(Duration::from_millis(interval));
    }
    let mut thresholds = config.thresholds().clone();
    if let Some(memory) = levels(args.memory.as_ref()) {
        thresholds.memory = memory;
    }
    if let Some(cpu) = levels(args.cpu.as_ref()) {
        thresholds.cpu = cpu;
    }
    if let Some(disk) = levels(args.disk.as_ref()) {
        thresholds.disk = disk;
    }
    config = config.with_thresholds(thresholds);
    config.validate().map_err(|error| report(&error))?;
    Ok(config)
}

/// Runs `steward monitor`.
pub(crate) async fn run(args: MonitorArgs) -> ExitCode {
    let config = match configure(&args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    super::with_steward(config, async |steward| watch(steward, &args).await).await
}

async fn watch(steward: &Steward, args: &MonitorArgs) -> ExitCode {
    if let Err(code) = super::serve::start(steward, &args.serve).await {
        return code;
    }
    let monitor = steward.monitor();
    let mut alerts = monitor.subscribe();
    let mut readings = monitor.readings();
    let live = !args.json && !args.once && std::io::stdout().is_terminal();
    let mut printed = 0_u64;
    let first = match monitor.refresh().await {
        Ok(reading) => reading,
        Err(error) => {
            eprintln!("steward: cannot read the machine: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    print_reading(&first, args.json, live);
    printed += 1;
    if args.once || args.count.is_some_and(|count| printed >= count) {
        return ExitCode::SUCCESS;
    }
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            _ = &mut interrupt => return ExitCode::SUCCESS,
            alert = alerts.recv() => match alert {
                Ok(alert) if args.json => println!("{}", serde_json::json!({ "alert": alert })),
                Ok(alert) => println!("alert: {alert}"),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    eprintln!("steward: {missed} alerts missed");
                }
                Err(_) => return ExitCode::SUCCESS,
            },
            changed = readings.changed() => {
                if changed.is_err() {
                    return ExitCode::SUCCESS;
                }
                let reading = readings.borrow_and_update().clone();
                if let Some(reading) = reading {
                    print_reading(&reading, args.json, live);
                    printed += 1;
                    if args.count.is_some_and(|count| printed >= count) {
                        return ExitCode::SUCCESS;
                    }
                }
            }
        }
    }
}

fn print_reading(reading: &Reading, json: bool, live: bool) {
    let mut out = std::io::stdout().lock();
    // A closed stdout ends nothing here: the loop ends on Ctrl-C or count.
    let _ = if json {
        writeln!(out, "{}", serde_json::json!({ "reading": reading }))
    } else {
        if live {
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        write!(out, "{}", table(reading))
    };
    let _ = out.flush();
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn table(reading: &Reading) -> String {
    let mut text = String::new();
    let memory = &reading.memory;
    let _ = writeln!(
        text,
        "cpu     {:5.1}%  load {:.2} {:.2} {:.2}",
        reading.cpu.usage_percent, reading.load.one, reading.load.five, reading.load.fifteen
    );
    let _ = writeln!(
        text,
        "memory  {:5.1}%  {:.1} of {:.1} GiB used, {:.1} GiB available",
        memory.used_percent(),
        memory.used_bytes as f64 / GIB,
        memory.total_bytes as f64 / GIB,
        memory.available_bytes as f64 / GIB
    );
    for disk in &reading.disks {
        let _ = writeln!(
            text,
            "disk    {:5.1}%  {} ({:.1} GiB free of {:.1})",
            disk.used_percent(),
            disk.mount_point.display(),
            disk.available_bytes as f64 / GIB,
            disk.total_bytes as f64 / GIB
        );
    }
    let _ = writeln!(
        text,
        "process {:5.1}%  rss {:.1} MiB",
        reading.process.cpu_percent,
        reading.process.rss_bytes as f64 / (1024.0 * 1024.0)
    );
    text
}
