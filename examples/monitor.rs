//! The monitor with custom thresholds: prints a few readings, every alert
//! as it comes (to a stream and to an actor), the availability, and
//! whether a model workload would be admitted; then exits.
//!
//! The memory warning is set just below what is in use now, so at least
//! one alert shows; CPU pressure shows up too when the machine is busy.
//! Then the thresholds are changed on the running monitor (the memory
//! warning clears once, at the next sample), and a job that could never
//! fit is rejected rather than deferred.
//!
//! `cargo run --example monitor [samples]`

use std::time::Duration;

use actix::prelude::*;
use steward::config::{FreeLevels, Levels, Thresholds};
use steward::monitor::{Alert, Reading, WorkloadProfile};
use steward::{Error, Steward};

/// An application actor that wants alerts as messages.
struct Pager;

impl Actor for Pager {
    type Context = Context<Self>;
}

impl Handler<Alert> for Pager {
    type Result = ();
    fn handle(&mut self, alert: Alert, _: &mut Context<Self>) {
        println!("  pager actor got: {alert}");
    }
}

fn print_reading(reading: &Reading) {
    let gib = |bytes: u64| bytes as f64 / f64::from(1 << 30);
    println!(
        "#{} cpu {:.1}% (cores {:?}) load {:.2} | memory {:.1}% of {:.1} GiB ({:.1} GiB available) | \
         swap {:.1} GiB used | this process {:.1} MiB, {:.1}% of a core",
        reading.sequence,
        reading.cpu.usage_percent,
        reading
            .cpu
            .per_core_percent
            .iter()
            .map(|p| format!("{p:.0}"))
            .collect::<Vec<_>>(),
        reading.load.one,
        reading.memory.used_percent(),
        gib(reading.memory.total_bytes),
        gib(reading.memory.available_bytes),
        gib(reading.swap.used_bytes),
        reading.process.rss_bytes as f64 / f64::from(1 << 20),
        reading.process.cpu_percent,
    );
    for disk in &reading.disks {
        println!(
            "   disk {} ({} mount points) {:.1}% used as df counts it, {:.1} GiB used, {:.1} GiB available",
            disk.mount_point.display(),
            disk.mount_points.len(),
            disk.used_percent(),
            gib(disk.used_bytes),
            gib(disk.available_bytes)
        );
    }
    if let Some(cpu) = reading.pressure.cpu {
        println!("   cpu pressure: some avg10 {:.2}%", cpu.some.avg10_percent);
    }
}

#[actix_rt::main]
async fn main() -> Result<(), Error> {
    let samples: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);

    // Probe what memory is in use now, to set a warning that will fire.
    let probe = steward::monitor::Sampler::new().sample();
    let in_use = probe.memory.used_percent().clamp(1.0, 98.0);
    let thresholds = Thresholds {
        memory: Levels::new(in_use - 0.5, 99.5),
        cpu: Levels::new(70.0, 95.0),
        disk_free: FreeLevels::new(2 << 30, 1 << 30),
        hysteresis_percent: 2.0,
        clear_after_samples: 5,
        ..Thresholds::default()
    };
    let steward = Steward::builder()
        .monitor_interval(Duration::from_millis(500))
        .thresholds(thresholds.clone())
        .start()?;
    let monitor = steward.monitor().clone();
    println!("PSI triggers armed: {}", monitor.psi().active.len());
    for (trigger, why) in &monitor.psi().unavailable {
        println!("  not armed: {trigger}: {why}");
    }

    let mut alerts = monitor.subscribe();
    monitor
        .subscribe_recipient(Pager.start().recipient())
        .await?;
    actix_rt::spawn(async move {
        while let Ok(alert) = alerts.recv().await {
            println!("  ALERT {alert}");
        }
    });

    let mut readings = monitor.readings();
    let mut seen = 0;
    while seen < samples {
        let next = tokio::time::timeout(
            Duration::from_secs(10),
            readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence > seen)),
        )
        .await;
        let Ok(Ok(reading)) = next else {
            eprintln!("no reading within 10 s; stopping");
            break;
        };
        let reading = reading.clone().expect("waited for a reading");
        seen = reading.sequence;
        print_reading(&reading);
    }

    // Relax the memory warning on the running monitor: it clears at the
    // next sample, with one alert.
    let relaxed = Thresholds {
        memory: Levels::new(99.0, 99.5),
        ..thresholds
    };
    monitor.set_thresholds(relaxed).await?;
    let after = seen;
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        readings.wait_for(|r| r.as_ref().is_some_and(|r| r.sequence > after + 1)),
    )
    .await;

    let availability = monitor.availability();
    println!("availability: overall {}", availability.overall);
    for resource in &availability.resources {
        println!("  {} {}", resource.resource, resource.level);
    }
    let model = WorkloadProfile::from_gb(2.0, 25.0, 5.0)?;
    println!(
        "a model needing 2 GB, 25% CPU, 5 GB disk: {:?}",
        monitor.admits(&model)
    );
    let total_gb = probe.memory.total_bytes as f64 / 1e9;
    let giant = WorkloadProfile::from_gb(total_gb * 10.0, 25.0, 5.0)?;
    println!(
        "one needing ten times the machine's memory: {:?}",
        monitor.admits(&giant)
    );
    println!(
        "as JSON: {}",
        serde_json::to_string(&*monitor.snapshot().expect("sampled")).unwrap_or_default()
    );
    steward.shutdown().await
}
