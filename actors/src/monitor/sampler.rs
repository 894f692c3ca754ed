//! The sampler: owns sysinfo's `System` and takes readings.
//! Every call blocks on `/proc` and `statvfs`: run it on a blocking
//! thread, never on an arbiter.

use std::time::{Instant, SystemTime};

use sysinfo::{
    CpuRefreshKind, MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System,
};

use super::disks;
use super::pressure::{Pressure, PressureKind};
use super::readings::{
    CpuReading, LoadAverage, MemoryReading, PressureReadings, ProcessReading, Reading, SwapReading,
};

/// Takes readings of the machine and of this process.
///
/// CPU figures are measured between two refreshes, and sysinfo silently
/// skips CPU refreshes less than [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`]
/// (200 ms on Linux) apart. So the first sample refreshes the CPU figures,
/// waits that interval and refreshes them again, and a later sample that
/// comes sooner than 200 ms after the previous one waits out the rest of
/// the interval (on its thread): every reading's CPU figures, this
/// process's included, are measured over a real interval, never a repeat
/// and never the average since boot.
pub struct Sampler {
    system: System,
    pid: Pid,
    sequence: u64,
    /// When the CPU figures were last refreshed, taken just after
    /// sysinfo's own mark so that waiting 200 ms from it is enough.
    last_cpu_refresh: Option<Instant>,
}

/// A reading and when its pressure figures were read (monotonic).
#[derive(Debug)]
pub(crate) struct Sampled {
    pub(crate) reading: Reading,
    pub(crate) at: Instant,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("pid", &self.pid)
            .field("sequence", &self.sequence)
            .finish_non_exhaustive()
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// A sampler that has read nothing yet (cheap: no system call).
    #[must_use]
    pub fn new() -> Self {
        Self {
            system: System::new(),
            pid: Pid::from_u32(std::process::id()),
            sequence: 0,
            last_cpu_refresh: None,
        }
    }

    /// Takes one reading. Blocking: a few hundred microseconds of `/proc`
    /// reads and one `stat` and `statvfs` per disk, after a wait of up to
    /// 200 ms: the first sample always waits that long, a later one when
    /// the previous sample was that recent.
    pub fn sample(&mut self) -> Reading {
        self.sample_timed().reading
    }

    /// A fresh sampler that goes on numbering after this one: for when a
    /// panic inside sysinfo left this one's state in doubt.
    pub(crate) fn renewed(&self) -> Self {
        Self {
            sequence: self.sequence,
            ..Self::new()
        }
    }

    pub(crate) fn sample_timed(&mut self) -> Sampled {
        if self.last_cpu_refresh.is_none() {
            // sysinfo's first refresh has nothing to measure against: its
            // figures would be the average since boot.
            self.refresh_cpu();
        }
        if let Some(last) = self.last_cpu_refresh {
            let since = last.elapsed();
            if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
                std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since);
            }
        }
        self.refresh_cpu();
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let pressure = pressure();
        let at = Instant::now();
        self.sequence += 1;
        let reading = Reading {
            sequence: self.sequence,
            taken_at: SystemTime::now(),
            cpu: self.cpu(),
            load: load_average(),
            memory: self.memory(),
            swap: self.swap(),
            disks: disks::read(),
            process: self.process(),
            pressure,
        };
        Sampled { reading, at }
    }

    /// Refreshes the CPU figures and, against the same interval, this
    /// process's share (sysinfo computes it from the CPUs' refresh).
    fn refresh_cpu(&mut self) {
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage());
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        self.last_cpu_refresh = Some(Instant::now());
    }

    fn cpu(&self) -> CpuReading {
        CpuReading {
            usage_percent: f64::from(self.system.global_cpu_usage()),
            per_core_percent: self
                .system
                .cpus()
                .iter()
                .map(|cpu| f64::from(cpu.cpu_usage()))
                .collect(),
        }
    }

    fn memory(&self) -> MemoryReading {
        let total_bytes = self.system.total_memory();
        let available_bytes = self.system.available_memory();
        MemoryReading {
            total_bytes,
            used_bytes: total_bytes.saturating_sub(available_bytes),
            available_bytes,
        }
    }

    fn swap(&self) -> SwapReading {
        SwapReading {
            total_bytes: self.system.total_swap(),
            used_bytes: self.system.used_swap(),
            free_bytes: self.system.free_swap(),
        }
    }

    fn process(&self) -> ProcessReading {
        let process = self.system.process(self.pid);
        ProcessReading {
            pid: self.pid.as_u32(),
            rss_bytes: process.map_or(0, sysinfo::Process::memory),
            cpu_percent: process.map_or(0.0, |p| f64::from(p.cpu_usage())),
        }
    }
}

fn load_average() -> LoadAverage {
    let load = System::load_average();
    LoadAverage {
        one: load.one,
        five: load.five,
        fifteen: load.fifteen,
    }
}

fn pressure() -> PressureReadings {
    let read = |kind| Pressure::read(kind).ok();
    PressureReadings {
        memory: read(PressureKind::Memory),
        cpu: read(PressureKind::Cpu),
        io: read(PressureKind::Io),
    }
}
