//! `steward monitor`: live readings, thresholds and alerts.
//!
//! On a terminal the readings redraw one screen, with the latest alerts
//! kept in an area under the table (a redraw never wipes them); anywhere
//! else each reading and each alert is printed once, as text or JSON
//! lines. Ctrl-C ends it with status 130, as it ends the other
//! subcommands; so does `--count N` after N readings (N at least 1).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::num::NonZeroU64;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use steward::monitor::{Alert, Reading};
use steward::{Config, Steward};
use steward_actors::config::Levels;

use super::output::{EXIT_INTERRUPTED, Output, OutputError, reader_gone};
use super::{EXIT_FAILED, Flag, interrupts, report, stderr, validate};

/// Options of `steward monitor`.
#[derive(Debug, clap::Args)]
pub(crate) struct MonitorArgs {
    /// Take one reading, print it and exit.
    #[arg(long, conflicts_with = "count")]
    once: bool,
    /// Print readings and alerts as JSON, one object per line.
    #[arg(long)]
    json: bool,
    /// Milliseconds between readings (overrides STEWARD_MONITOR_INTERVAL_MS;
    /// at least 200).
    #[arg(long, value_name = "MS")]
    interval: Option<u64>,
    /// Stop after this many readings, at least 1 (default: until Ctrl-C).
    #[arg(long, value_name = "N")]
    count: Option<NonZeroU64>,
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

/// The alerts the live screen keeps under the table.
const ALERTS_SHOWN: usize = 10;

/// The settings `--memory`, `--cpu` and `--disk` set, as `ConfigError`
/// names them, and what each is to the user.
const MEMORY: &[(&str, &str)] = &[
    ("thresholds.memory.warning_percent", "the warning level "),
    ("thresholds.memory.critical_percent", "the critical level "),
];
const CPU: &[(&str, &str)] = &[
    ("thresholds.cpu.warning_percent", "the warning level "),
    ("thresholds.cpu.critical_percent", "the critical level "),
];
const DISK: &[(&str, &str)] = &[
    ("thresholds.disk.warning_percent", "the warning level "),
    ("thresholds.disk.critical_percent", "the critical level "),
];

fn configure(args: &MonitorArgs) -> Result<Config, ExitCode> {
    let mut config = Config::from_env().map_err(|error| report(&error))?;
    let mut flags = Vec::new();
    if let Some(interval) = args.interval {
        config = config.with_monitor_interval(Duration::from_millis(interval));
        flags.push(Flag {
            name: "--interval",
            typed: interval.to_string(),
            fields: &[("monitor_interval_ms", "")],
            resource: None,
        });
    }
    let mut thresholds = config.thresholds().clone();
    for (typed, name, resource, fields, levels) in [
        (
            &args.memory,
            "--memory",
            "memory",
            MEMORY,
            &mut thresholds.memory,
        ),
        (&args.cpu, "--cpu", "cpu", CPU, &mut thresholds.cpu),
        (&args.disk, "--disk", "disk", DISK, &mut thresholds.disk),
    ] {
        if let Some([warning, critical]) = typed.as_deref() {
            *levels = Levels::new(*warning, *critical);
            flags.push(Flag {
                name,
                typed: format!("{warning} {critical}"),
                fields,
                resource: Some(resource),
            });
        }
    }
    config = config.with_thresholds(thresholds);
    validate(&config, &flags)?;
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
    let mut interrupt = match interrupts() {
        Ok(interrupt) => interrupt,
        Err(code) => return code,
    };
    if let Err(code) = super::serve::start(steward, &args.serve).await {
        return code;
    }
    let monitor = steward.monitor();
    let mut alerts = monitor.subscribe();
    let mut readings = monitor.readings();
    let mut screen = Screen::new(args.json, args.once);
    let limit = if args.once {
        1
    } else {
        args.count.map_or(u64::MAX, NonZeroU64::get)
    };
    let mut printed = 0_u64;
    let first = match monitor.refresh().await {
        Ok(reading) => reading,
        Err(error) => {
            stderr!("steward: cannot read the machine: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    // The receiver may still hold the reading just printed as unseen.
    let mut last_printed = first.sequence;
    if let Err(error) = screen.reading(first) {
        return error.exit_code();
    }
    printed += 1;
    if printed >= limit {
        return ExitCode::SUCCESS;
    }
    loop {
        let shown = tokio::select! {
            _ = interrupt.recv() => return ExitCode::from(EXIT_INTERRUPTED),
            () = reader_gone() => return OutputError::BrokenPipe.exit_code(),
            alert = alerts.recv() => match alert {
                Ok(alert) => screen.alert(&alert),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    stderr!("steward: {missed} alerts missed");
                    Ok(())
                }
                Err(_) => return ExitCode::SUCCESS,
            },
            changed = readings.changed() => {
                if changed.is_err() {
                    return ExitCode::SUCCESS;
                }
                let reading = readings.borrow_and_update().clone();
                match reading.filter(|reading| reading.sequence > last_printed) {
                    Some(reading) => {
                        last_printed = reading.sequence;
                        printed += 1;
                        screen.reading(reading)
                    }
                    None => Ok(()),
                }
            }
        };
        if let Err(error) = shown {
            return error.exit_code();
        }
        if printed >= limit {
            return ExitCode::SUCCESS;
        }
    }
}

/// Where readings and alerts go: a redrawn terminal screen, or lines.
struct Screen {
    out: Output,
    json: bool,
    /// Redraw one screen (stdout is a terminal, text, more than one
    /// reading).
    live: bool,
    last: Option<Arc<Reading>>,
    alerts: VecDeque<String>,
}

impl Screen {
    fn new(json: bool, once: bool) -> Self {
        let out = Output::new();
        Self {
            live: !json && !once && out.is_terminal(),
            out,
            json,
            last: None,
            alerts: VecDeque::with_capacity(ALERTS_SHOWN),
        }
    }

    fn reading(&mut self, reading: Arc<Reading>) -> Result<(), OutputError> {
        if self.json {
            self.out.line(serde_json::json!({ "reading": &*reading }))?;
        } else if !self.live {
            self.out.write(table(&reading).as_bytes())?;
        }
        self.last = Some(reading);
        if self.live {
            self.redraw()?;
        }
        self.out.flush()
    }

    fn alert(&mut self, alert: &Alert) -> Result<(), OutputError> {
        if self.json {
            self.out.line(serde_json::json!({ "alert": alert }))?;
            return self.out.flush();
        }
        let line = format!("alert: {} {alert}", clock(alert.at));
        if !self.live {
            self.out.line(line)?;
            return self.out.flush();
        }
        if self.alerts.len() == ALERTS_SHOWN {
            self.alerts.pop_front();
        }
        self.alerts.push_back(line);
        self.redraw()?;
        self.out.flush()
    }

    /// Clears the terminal and draws the last reading, then the alerts.
    fn redraw(&mut self) -> Result<(), OutputError> {
        let mut text = String::from("\x1b[2J\x1b[H");
        if let Some(reading) = &self.last {
            text.push_str(&table(reading));
        }
        if !self.alerts.is_empty() {
            text.push('\n');
            for alert in &self.alerts {
                text.push_str(alert);
                text.push('\n');
            }
        }
        self.out.write(text.as_bytes())
    }
}

/// `HH:MM:SS UTC` of `at`.
fn clock(at: SystemTime) -> String {
    let seconds = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
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
