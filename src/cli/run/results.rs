//! `--results DIR`: each job's output in files, in GNU parallel's layout:
//! `DIR/1/<first argument>/2/<second argument>.../{stdout,stderr,seq}`,
//! an argument's `\`, tab, NUL and `/` written `\\`, `\t`, `\0`, `\_`.
//!
//! Where GNU parallel writes outside its own layout, steward does not:
//! an argument that is empty, `.` or `..` (which GNU parallel turns into
//! `DIR/1//`, `DIR/1/.` and `DIR/1/..`, the last one writing into `DIR`
//! itself) is written `\empty`, `\.` and `\..`.
//!
//! A name with replacement strings is expanded per job: ending in `/`, it
//! is the job's directory; otherwise the job's stdout file, with `.err`
//! and `.seq` beside it.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::combine::Record;

/// The longest file name most file systems take.
const NAME_MAX: usize = 255;

/// Where one job's results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Paths {
    pub(crate) stdout: PathBuf,
    pub(crate) stderr: PathBuf,
    pub(crate) seq: PathBuf,
}

impl Paths {
    /// The files of a job with `records` under `dir` (a name without
    /// replacement strings).
    pub(crate) fn in_tree(dir: &Path, records: &[Record]) -> Self {
        let mut path = dir.to_path_buf();
        for record in records {
            for (column, value) in record.iter().enumerate() {
                path.push((column + 1).to_string());
                path.push(OsStr::from_bytes(&component(value)));
            }
        }
        Self::in_dir(path)
    }

    /// `stdout`, `stderr` and `seq` in `dir`.
    pub(crate) fn in_dir(dir: PathBuf) -> Self {
        Self {
            stdout: dir.join("stdout"),
            stderr: dir.join("stderr"),
            seq: dir.join("seq"),
        }
    }

    /// From a name expanded for the job: a directory if it ends in `/`,
    /// else the stdout file with `.err` and `.seq` beside it.
    pub(crate) fn expanded(name: &[u8]) -> Self {
        if name.ends_with(b"/") {
            return Self::in_dir(PathBuf::from(OsStr::from_bytes(name)));
        }
        let with = |suffix: &[u8]| PathBuf::from(OsStr::from_bytes(&[name, suffix].concat()));
        Self {
            stdout: with(b""),
            stderr: with(b".err"),
            seq: with(b".seq"),
        }
    }

    /// Makes the directories, writes `seq` and opens (truncating) the
    /// output files.
    ///
    /// # Errors
    ///
    /// A directory or file cannot be made.
    pub(crate) fn create(&self, seq: u64) -> io::Result<(File, File)> {
        for path in [&self.stdout, &self.stderr, &self.seq] {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)?;
            }
        }
        File::create(&self.seq)?.write_all(seq.to_string().as_bytes())?;
        Ok((File::create(&self.stdout)?, File::create(&self.stderr)?))
    }
}

/// An argument as one directory name.
fn component(value: &[u8]) -> Vec<u8> {
    match value {
        b"" => return b"\\empty".to_vec(),
        b"." => return b"\\.".to_vec(),
        b".." => return b"\\..".to_vec(),
        _ => {}
    }
    let mut name = Vec::with_capacity(value.len());
    for &byte in value {
        match byte {
            b'\\' => name.extend_from_slice(b"\\\\"),
            b'\t' => name.extend_from_slice(b"\\t"),
            0 => name.extend_from_slice(b"\\0"),
            b'/' => name.extend_from_slice(b"\\_"),
            other => name.push(other),
        }
    }
    name.truncate(NAME_MAX);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(values: &[&str]) -> Record {
        values.iter().map(|v| v.as_bytes().to_vec()).collect()
    }

    #[test]
    fn the_tree_is_gnu_parallels() {
        // parallel --results res ... ::: 'a b' 'x/y' 'q\z'
        let paths = Paths::in_tree(Path::new("res"), &[record(&["x/y"])]);
        assert_eq!(paths.stdout, Path::new("res/1/x\\_y/stdout"));
        assert_eq!(paths.seq, Path::new("res/1/x\\_y/seq"));
        let paths = Paths::in_tree(Path::new("res"), &[record(&["q\\z\t"])]);
        assert_eq!(paths.stderr, Path::new("res/1/q\\\\z\\t/stderr"));
        // parallel --results res2 ... ::: a b ::: 1 2
        let paths = Paths::in_tree(Path::new("res2"), &[record(&["a", "1"])]);
        assert_eq!(paths.stdout, Path::new("res2/1/a/2/1/stdout"));
    }

    #[test]
    fn no_argument_leaves_the_tree() {
        for (value, name) in [
            ("", "\\empty"),
            (".", "\\."),
            ("..", "\\.."),
            ("...", "..."),
        ] {
            let paths = Paths::in_tree(Path::new("res"), &[record(&[value])]);
            assert_eq!(paths.stdout, Path::new("res/1").join(name).join("stdout"));
        }
        let long = "x".repeat(1000);
        let paths = Paths::in_tree(Path::new("res"), &[record(&[&long])]);
        assert_eq!(
            paths.stdout.parent().unwrap().file_name().unwrap().len(),
            NAME_MAX
        );
    }

    #[test]
    fn expanded_names_are_a_directory_or_a_file() {
        assert_eq!(
            Paths::expanded(b"my_foo/").stdout,
            Path::new("my_foo/stdout")
        );
        let paths = Paths::expanded(b"my_foo");
        assert_eq!(
            (paths.stdout, paths.stderr, paths.seq),
            (
                PathBuf::from("my_foo"),
                PathBuf::from("my_foo.err"),
                PathBuf::from("my_foo.seq")
            )
        );
    }

    #[test]
    fn creating_writes_the_seq_and_empties_old_output() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_tree(dir.path(), &[record(&["a"])]);
        fs::create_dir_all(paths.stdout.parent().unwrap()).unwrap();
        fs::write(&paths.stdout, "old").unwrap();
        let (mut stdout, _) = paths.create(7).unwrap();
        stdout.write_all(b"new").unwrap();
        assert_eq!(fs::read_to_string(&paths.seq).unwrap(), "7");
        assert_eq!(fs::read_to_string(&paths.stdout).unwrap(), "new");
    }
}
