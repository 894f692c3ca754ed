//! `--memfree` and `--load`: whether a job may start now, judged on a
//! reading of steward's Monitor, and (`--memfree`) when a running job must
//! give its memory back.

use steward::monitor::Reading;

/// The limits a run starts jobs under.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Admission {
    /// `--memfree`: bytes of memory that must be available.
    pub(crate) memfree: Option<u64>,
    /// `--load`: the 1-minute load must be below this.
    pub(crate) load: Option<f64>,
}

/// Why a job may not start now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Wait {
    /// No reading yet (the first comes at once).
    ForReading,
    /// The reading is short of a limit: what to say.
    Short(String),
}

impl Admission {
    /// Whether the Monitor is needed at all.
    pub(crate) fn is_active(self) -> bool {
        self.memfree.is_some() || self.load.is_some()
    }

    /// Whether a job may start with `running` jobs under `reading`.
    pub(crate) fn judge(self, reading: Option<&Reading>, running: usize) -> Result<(), Wait> {
        if !self.is_active() {
            return Ok(());
        }
        let Some(reading) = reading else {
            return Err(Wait::ForReading);
        };
        let available = reading.memory.available_bytes;
        if let Some(needed) = self.memfree
            && available < needed
        {
            return Err(Wait::Short(format!(
                "{available} bytes of memory available, --memfree asks for {needed}"
            )));
        }
        // With no job running, the load cannot be ours to wait out.
        if let Some(max) = self.load
            && running > 0
            && reading.load.one >= max
        {
            return Err(Wait::Short(format!(
                "the 1-minute load is {:.2}, --load asks for below {max:.2}",
                reading.load.one
            )));
        }
        Ok(())
    }

    /// GNU parallel's rule: below half of `--memfree` available, the
    /// newest job is stopped (and run again later), unless it is the only
    /// one.
    pub(crate) fn must_free_memory(self, reading: Option<&Reading>, running: usize) -> bool {
        match (self.memfree, reading) {
            (Some(needed), Some(reading)) => {
                running >= 2 && reading.memory.available_bytes < needed / 2
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(available_bytes: u64, load: f64) -> Reading {
        use steward::monitor::{CpuReading, LoadAverage, MemoryReading};
        Reading {
            sequence: 1,
            taken_at: std::time::SystemTime::now(),
            cpu: CpuReading::default(),
            load: LoadAverage {
                one: load,
                ..LoadAverage::default()
            },
            memory: MemoryReading {
                available_bytes,
                ..MemoryReading::default()
            },
            swap: Default::default(),
            disks: Vec::new(),
            process: Default::default(),
            pressure: Default::default(),
        }
    }

    #[test]
    fn without_limits_everything_starts() {
        assert_eq!(Admission::default().judge(None, 5), Ok(()));
        assert!(!Admission::default().must_free_memory(Some(&reading(0, 99.0)), 5));
    }

    #[test]
    fn memory_and_load_hold_jobs_back() {
        let admission = Admission {
            memfree: Some(1000),
            load: Some(2.0),
        };
        assert_eq!(admission.judge(None, 0), Err(Wait::ForReading));
        assert_eq!(admission.judge(Some(&reading(1000, 0.5)), 3), Ok(()));
        assert!(
            matches!(admission.judge(Some(&reading(999, 0.5)), 0), Err(Wait::Short(why)) if why.contains("--memfree"))
        );
        assert!(
            matches!(admission.judge(Some(&reading(5000, 2.0)), 1), Err(Wait::Short(why)) if why.contains("--load"))
        );
        assert_eq!(
            admission.judge(Some(&reading(5000, 9.0)), 0),
            Ok(()),
            "no job of ours to wait for"
        );
    }

    #[test]
    fn below_half_the_memory_the_newest_job_goes() {
        let admission = Admission {
            memfree: Some(1000),
            load: None,
        };
        assert!(admission.must_free_memory(Some(&reading(499, 0.0)), 2));
        assert!(
            !admission.must_free_memory(Some(&reading(499, 0.0)), 1),
            "not the only one"
        );
        assert!(!admission.must_free_memory(Some(&reading(500, 0.0)), 4));
        assert!(!admission.must_free_memory(None, 4));
    }
}
