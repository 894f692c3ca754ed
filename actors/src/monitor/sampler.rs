//! The sampler: owns sysinfo's `System` and `Disks` and takes readings.
//! Every call blocks on `/proc` and `statvfs`: run it on a blocking
//! thread, never on an arbiter.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use sysinfo::{
    CpuRefreshKind, DiskRefreshKind, Disks, MemoryRefreshKind, Pid, ProcessRefreshKind,
    ProcessesToUpdate, System,
};

use super::psi::{Pressure, PressureKind};
use super::readings::{
    CpuReading, DiskReading, LoadAverage, MemoryReading, PressureReadings, ProcessReading, Reading,
    SwapReading,
};

/// Takes readings of the machine and of this process.
///
/// CPU figures are measured between two samples, and sysinfo silently
/// skips CPU refreshes less than [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`]
/// (200 ms on Linux) apart. So a sample that comes sooner first waits out
/// the rest of that interval (on its blocking thread): every reading's CPU
/// figures are fresh, never a repeat. This process's CPU share is 0 in the
/// first sample.
pub struct Sampler {
    system: System,
    disks: Disks,
    pid: Pid,
    sequence: u64,
    last_cpu_refresh: Option<Instant>,
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
            disks: Disks::new(),
            pid: Pid::from_u32(std::process::id()),
            sequence: 0,
            last_cpu_refresh: None,
        }
    }

    /// Takes one reading. Blocking: a few hundred microseconds of `/proc`
    /// reads and one `statvfs` per mounted file system, after a wait of up
    /// to 200 ms when the previous sample was that recent.
    pub fn sample(&mut self) -> Reading {
        if let Some(last) = self.last_cpu_refresh {
            let since = last.elapsed();
            if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
                std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since);
            }
        }
        self.last_cpu_refresh = Some(Instant::now());
        self.system
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_cpu_usage());
        self.system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        // After the CPU refresh: the process's share is computed against
        // the same CPU interval (sysinfo does not refresh the CPUs twice
        // within 200 ms).
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        self.disks
            .refresh_specifics(true, DiskRefreshKind::nothing().with_storage());
        self.sequence += 1;
        Reading {
            sequence: self.sequence,
            taken_at: SystemTime::now(),
            cpu: self.cpu(),
            load: load_average(),
            memory: self.memory(),
            swap: self.swap(),
            disks: self.disk_readings(),
            process: self.process(),
            pressure: pressure(),
        }
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

    /// One reading per mount point (the first listed wins), sorted by
    /// mount point. Read-only and empty file systems (a squashfs snap, an
    /// ISO) are always "full" and say nothing about room to write: left
    /// out.
    fn disk_readings(&self) -> Vec<DiskReading> {
        let mut by_mount = BTreeMap::new();
        for disk in self.disks.list() {
            if disk.is_read_only() || disk.total_space() == 0 {
                continue;
            }
            by_mount
                .entry(disk.mount_point().to_path_buf())
                .or_insert_with(|| DiskReading {
                    mount_point: disk.mount_point().to_path_buf(),
                    total_bytes: disk.total_space(),
                    available_bytes: disk.available_space(),
                });
        }
        by_mount.into_values().collect()
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
