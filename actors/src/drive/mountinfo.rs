//! The mount table, from `/proc/self/mountinfo`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// A device number, split as the kernel prints it (`major:minor`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct DeviceNumber {
    /// The driver's number.
    pub major: u32,
    /// The device's number within its driver.
    pub minor: u32,
}

impl DeviceNumber {
    /// Splits a `dev_t` as glibc's `gnu_dev_major`/`gnu_dev_minor` do: the
    /// 12-bit major and 20-bit minor are spread over the 64 bits.
    #[must_use]
    pub fn from_dev_t(dev: u64) -> Self {
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xffff_f000);
        let minor = (dev & 0xff) | ((dev >> 12) & 0xffff_ff00);
        // Both fit in 32 bits by construction of the masks.
        Self {
            major: u32::try_from(major).unwrap_or(u32::MAX),
            minor: u32::try_from(minor).unwrap_or(u32::MAX),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let (major, minor) = text.split_once(':')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl std::fmt::Display for DeviceNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// One line of the mount table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mounted device.
    pub device: DeviceNumber,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The filesystem type (`ext4`, `tmpfs`, …).
    pub fs_type: String,
    /// What was mounted (`/dev/vda`, `tmpfs`, …).
    pub source: String,
}

/// The mount table, in mount order (a later mount shadows an earlier one
/// at the same place).
#[derive(Debug, Clone, Default)]
pub struct MountTable {
    mounts: Vec<Mount>,
}

impl MountTable {
    /// Reads this process's mount table.
    ///
    /// # Errors
    ///
    /// The IO error of reading `/proc/self/mountinfo`.
    pub fn read() -> std::io::Result<Self> {
        let bytes = std::fs::read("/proc/self/mountinfo")?;
        Ok(Self::parse(&bytes))
    }

    /// Parses mountinfo text; malformed lines are skipped.
    #[must_use]
    pub fn parse(text: &[u8]) -> Self {
        Self {
            mounts: text.split(|&b| b == b'\n').filter_map(parse_line).collect(),
        }
    }

    /// Every mount, in mount order.
    #[must_use]
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The mount `path` (absolute, symlinks resolved) lives on, given the
    /// device `stat` reported for it: among mounts of that device the one
    /// whose mount point is the longest prefix of `path` (a bind mount or
    /// a stacked mount shows the device more than once); if no mount shows
    /// the device (btrfs subvolumes report their own), the longest prefix
    /// of all.
    #[must_use]
    pub fn locate(&self, path: &Path, device: DeviceNumber) -> Option<&Mount> {
        let longest = |on_device: bool| {
            self.mounts
                .iter()
                .filter(|mount| !on_device || mount.device == device)
                .filter(|mount| path.starts_with(&mount.mount_point))
                // `max_by_key` keeps the last of equals: the mount on top.
                .max_by_key(|mount| mount.mount_point.as_os_str().len())
        };
        longest(true).or_else(|| longest(false))
    }
}

/// `id parent major:minor root mount_point options [optional…] - fs_type source super_options`
fn parse_line(line: &[u8]) -> Option<Mount> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let separator = fields.iter().position(|&field| field == b"-")?;
    if separator < 6 || fields.len() < separator + 3 {
        return None;
    }
    let device = DeviceNumber::parse(std::str::from_utf8(fields[2]).ok()?)?;
    Some(Mount {
        device,
        mount_point: PathBuf::from(OsString::from_vec(unescape(fields[4]))),
        fs_type: String::from_utf8_lossy(&unescape(fields[separator + 1])).into_owned(),
        source: String::from_utf8_lossy(&unescape(fields[separator + 2])).into_owned(),
    })
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|digits| digits.iter().all(|d| (b'0'..=b'7').contains(d)));
        match (field[i], octal) {
            (b'\\', Some(digits)) => {
                let value = digits
                    .iter()
                    .fold(0_u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}
