//! `--joblog FILE`: one line per finished job, in GNU parallel's exact
//! format, tab-separated: `Seq Host Starttime JobRuntime Send Receive
//! Exitval Signal Command` (host `:` for this machine; the command as the
//! shell would read it, newlines written as NUL).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The header line.
pub(crate) const HEADER: &str =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// One finished job, as the joblog records it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) seq: u64,
    pub(crate) started: SystemTime,
    pub(crate) runtime: Duration,
    /// Bytes of output received.
    pub(crate) received: u64,
    /// -1 when steward stopped it.
    pub(crate) exit: i32,
    pub(crate) signal: i32,
    /// The command line as shown (quoted).
    pub(crate) command: &'a [u8],
}

impl Entry<'_> {
    /// The entry's line, newline included.
    pub(crate) fn line(&self) -> Vec<u8> {
        let started = self
            .started
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        // GNU parallel truncates the runtime to milliseconds.
        let runtime = (self.runtime.as_millis() as f64) / 1000.0;
        let mut line = format!(
            "{}\t:\t{started:.3}\t{runtime:10.3}\t0\t{}\t{}\t{}\t",
            self.seq, self.received, self.exit, self.signal
        )
        .into_bytes();
        line.extend(self.command.iter().map(|&b| if b == b'\n' { 0 } else { b }));
        line.push(b'\n');
        line
    }
}

/// An open joblog.
#[derive(Debug)]
pub(crate) enum Joblog {
    File(File),
    /// `--joblog -`: lines on stdout.
    Stdout,
}

impl Joblog {
    /// Opens `path` and writes the header; `+path` appends, without a
    /// header; `-` is stdout (whose header is the caller's to write).
    ///
    /// # Errors
    ///
    /// The file cannot be created or written.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        if path.as_os_str() == "-" {
            return Ok(Self::Stdout);
        }
        if let Some(rest) = path.as_os_str().as_bytes().strip_prefix(b"+") {
            if rest.is_empty() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no file name after +",
                ));
            }
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(OsStr::from_bytes(rest))?;
            return Ok(Self::File(file));
        }
        let mut file = File::create(path)?;
        file.write_all(HEADER.as_bytes())?;
        Ok(Self::File(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_joblog_starts_with_the_header_an_appended_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        Joblog::open(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
        let mut plus = std::ffi::OsString::from("+");
        plus.push(path.as_os_str());
        if let Joblog::File(mut file) = Joblog::open(Path::new(&plus)).unwrap() {
            file.write_all(b"more\n").unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}more\n")
        );
        assert!(matches!(
            Joblog::open(Path::new("-")).unwrap(),
            Joblog::Stdout
        ));
        assert!(Joblog::open(Path::new("+")).is_err());
    }

    #[test]
    fn lines_read_as_gnu_parallels() {
        let entry = Entry {
            seq: 2,
            started: SystemTime::UNIX_EPOCH + Duration::from_micros(1_796_084_153_678_400),
            runtime: Duration::from_micros(5_999),
            received: 8,
            exit: 0,
            signal: 0,
            command: b"echo 'a b' 'y z'",
        };
        // From `parallel -q --joblog jl echo 'a b' {} ::: x 'y z'`.
        assert_eq!(
            String::from_utf8(entry.line()).unwrap(),
            "2\t:\t1796084153.678\t     0.005\t0\t8\t0\t0\techo 'a b' 'y z'\n"
        );
        let killed = Entry {
            exit: -1,
            signal: 15,
            command: b"a\nb",
            ..entry
        };
        assert!(killed.line().ends_with(b"\t-1\t15\ta\0b\n"));
    }
}
