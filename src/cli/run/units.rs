//! The numbers `steward run` takes, read as GNU parallel reads them:
//! durations, sizes, job counts.

use std::time::Duration;

/// A duration as GNU parallel writes one: seconds, or numbers postfixed
/// with `s`, `m`, `h` or `d`, summed (`1d3.5h16.6m4s`); `ms` too.
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let problem = || format!("{text:?} is not a duration (try 30, 2.5s, 500ms, 1h30m)");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(problem());
    }
    let mut seconds = 0.0_f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().map_err(|_| problem())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit] {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(problem()),
        };
        rest = &rest[unit..];
        seconds += value * factor;
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| problem())
}

/// A size in bytes: a number with an optional unit, `K M G T P` for powers
/// of 1024 and `k m g t p` for powers of 1000, as GNU parallel reads them.
pub(crate) fn size(text: &str) -> Result<u64, String> {
    let problem = || format!("{text:?} is not a size (try 500M, 2G, 1048576)");
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c),
        _ => (text, ' '),
    };
    let factor: f64 = match unit {
        ' ' => 1.0,
        'K' => 1024.0,
        'M' => 1024.0_f64.powi(2),
        'G' => 1024.0_f64.powi(3),
        'T' => 1024.0_f64.powi(4),
        'P' => 1024.0_f64.powi(5),
        'k' => 1e3,
        'm' => 1e6,
        'g' => 1e9,
        't' => 1e12,
        'p' => 1e15,
        _ => return Err(problem()),
    };
    let value: f64 = number.parse().map_err(|_| problem())?;
    let bytes = value * factor;
    if !(bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64) {
        return Err(problem());
    }
    Ok(bytes as u64)
}

/// How many jobs at once, as `-j` takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum JobCount {
    /// `-j N`; `-j 0` is "as many as possible".
    Exactly(usize),
    /// `-j N%`: that share of the CPU threads.
    Percent(f64),
    /// `-j +N`: the CPU threads plus N.
    More(usize),
    /// `-j -N`: the CPU threads less N.
    Fewer(usize),
}

impl JobCount {
    /// Reads `N`, `N%`, `+N` or `-N`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let problem = || format!("-j {text:?}: use N, N%, +N or -N (0: as many as possible)");
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            let value: f64 = percent.parse().map_err(|_| problem())?;
            if !(value.is_finite() && value >= 0.0) {
                return Err(problem());
            }
            return Ok(Self::Percent(value));
        }
        let count = |digits: &str| {
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                digits.parse::<usize>().map_err(|_| problem())
            } else {
                Err(problem())
            }
        };
        if let Some(more) = text.strip_prefix('+') {
            return Ok(Self::More(count(more)?));
        }
        if let Some(fewer) = text.strip_prefix('-') {
            return Ok(Self::Fewer(count(fewer)?));
        }
        Ok(Self::Exactly(count(text)?))
    }

    /// The number of job slots on a machine with `cpus` CPU threads, at
    /// least 1 (GNU parallel rounds up); `None` for "as many as possible".
    pub(crate) fn slots(self, cpus: usize) -> Option<usize> {
        let slots = match self {
            Self::Exactly(0) => return None,
            Self::Exactly(n) => n,
            Self::Percent(percent) => (cpus as f64 * percent / 100.0).ceil() as usize,
            Self::More(n) => cpus.saturating_add(n),
            Self::Fewer(n) => cpus.saturating_sub(n),
        };
        Some(slots.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_parallel_reads_them() {
        let ok =
            |text, millis| assert_eq!(duration(text), Ok(Duration::from_millis(millis)), "{text}");
        ok("30", 30_000);
        ok("2.5", 2_500);
        ok("2.5s", 2_500);
        ok("500ms", 500);
        ok("1m", 60_000);
        ok("1h30m", 5_400_000);
        ok("1d3.5h16.6m4s", 100_000_000);
        ok(" 0 ", 0);
        for bad in ["", "soon", "5 parsecs", "-1s", "1x", "s", "1..2"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(size("1048576"), Ok(1_048_576));
        assert_eq!(size("1K"), Ok(1024));
        assert_eq!(size("1.5M"), Ok(1_572_864));
        assert_eq!(size("2G"), Ok(2 << 30));
        assert_eq!(size("1k"), Ok(1000));
        assert_eq!(size("3g"), Ok(3_000_000_000));
        for bad in ["", "M", "1X", "-1G", "lots"] {
            assert!(size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn job_counts_follow_the_cpu_threads() {
        let slots = |text, cpus| JobCount::parse(text).unwrap().slots(cpus);
        assert_eq!(slots("4", 2), Some(4));
        assert_eq!(slots("0", 2), None);
        assert_eq!(slots("50%", 2), Some(1));
        assert_eq!(slots("150%", 3), Some(5), "4.5 rounds up");
        assert_eq!(slots("1%", 2), Some(1), "at least one");
        assert_eq!(slots("+1", 2), Some(3));
        assert_eq!(slots("-1", 2), Some(1));
        assert_eq!(slots("-5", 2), Some(1), "at least one");
        for bad in ["", "x", "1.5", "+", "-x", "+-1", "%"] {
            assert!(JobCount::parse(bad).is_err(), "{bad:?}");
        }
    }
}
