//! The id that names a drive in environment variables.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A drive's name in `STEWARD_DRIVE_<ID>_IO`: upper-case ASCII letters,
/// digits and single underscores.
///
/// # Examples
///
/// ```
/// use steward_actors::config::DriveId;
///
/// assert_eq!(DriveId::from_mount_point("/".as_ref()).as_str(), "ROOT");
/// assert_eq!(DriveId::from_mount_point("/mnt/data".as_ref()).as_str(), "MNT_DATA");
/// assert_eq!(DriveId::from_mount_point("/media/usb stick-2".as_ref()).as_str(), "MEDIA_USB_STICK_2");
/// assert!(DriveId::parse("MNT_DATA").is_ok());
/// assert!(DriveId::parse("mnt/data").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DriveId(String);

impl DriveId {
    /// The id of the drive mounted at `mount_point`.
    ///
    /// ASCII letters and digits are kept (upper-cased), every run of other
    /// characters becomes one `_`, and leading and trailing `_` are dropped;
    /// a byte outside ASCII is written as two hex digits. `/` (and any
    /// mount point with nothing left) is `ROOT`. Two mount points may share
    /// an id (`/mnt/data`, `/mnt-data`); they then share a limit.
    #[must_use]
    pub fn from_mount_point(mount_point: &Path) -> Self {
        let mut id = String::new();
        let mut pending_separator = false;
        for &byte in mount_point.as_os_str().as_bytes() {
            if byte.is_ascii_alphanumeric() || !byte.is_ascii() {
                if pending_separator && !id.is_empty() {
                    id.push('_');
                }
                pending_separator = false;
                if byte.is_ascii() {
                    id.push(char::from(byte.to_ascii_uppercase()));
                } else {
                    id.push_str(&format!("{byte:02X}"));
                }
            } else {
                pending_separator = true;
            }
        }
        if id.is_empty() {
            id.push_str("ROOT");
        }
        Self(id)
    }

    /// Checks an id written by hand, as in an environment variable's name.
    ///
    /// # Errors
    ///
    /// A short reason when `id` is empty, or has characters other than
    /// `A-Z`, `0-9` and single inner underscores.
    pub fn parse(id: &str) -> Result<Self, &'static str> {
        if id.is_empty() {
            return Err("the drive id between STEWARD_DRIVE_ and _IO is empty");
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err("a drive id has only A-Z, 0-9 and _");
        }
        if id.starts_with('_') || id.ends_with('_') || id.contains("__") {
            return Err("a drive id has no leading, trailing or double _");
        }
        Ok(Self(id.to_owned()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DriveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DriveId {
    type Error = &'static str;

    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::parse(&id)
    }
}

impl From<DriveId> for String {
    fn from(id: DriveId) -> Self {
        id.0
    }
}
