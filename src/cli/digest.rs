//! The SHA-256 of one file: a regular file read under its drive's IO limit
//! and hashed in one CPU job; standard input, a FIFO or a device read on a
//! thread of its own, outside the drive limits (it may never end, and it
//! is not the drive's bandwidth it uses).

use std::cell::RefCell;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use sha2::{Digest as _, Sha256};
use steward::Steward;

use super::on_own_thread;
use super::output::os_error;

/// What to hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file by name.
    Path(PathBuf),
}

/// A file's digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest {
    /// Lower-case hex.
    pub(crate) hex: String,
    /// Bytes read.
    pub(crate) bytes: u64,
}

/// Why a file could not be hashed.
#[derive(Debug)]
pub(crate) enum DigestError {
    /// Opening or reading it failed.
    Io(io::Error),
    /// steward could not run the read (a drive limiter or the CPU pool
    /// shut down).
    Steward(String),
}

impl DigestError {
    /// The file does not exist (what `--ignore-missing` ignores).
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Self::Io(error) if error.kind() == io::ErrorKind::NotFound)
    }
}

impl fmt::Display for DigestError {
    /// As coreutils words it: `No such file or directory`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => f.write_str(&os_error(error)),
            Self::Steward(error) => f.write_str(error),
        }
    }
}

/// Read size; one buffer per CPU worker, reused.
const CHUNK: usize = 256 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Hashes files through steward's drive limits and CPU pool.
///
/// Each file's drive is looked up by its own path, never by its
/// directory's: a symlink in a directory may point to another drive. The
/// drives' path cache makes a path seen before cost no system call, and a
/// new one in a known directory two `lstat`s.
pub(crate) struct Hasher<'a> {
    steward: &'a Steward,
    /// Ends when the digest asked for last, and every one before it, is
    /// done (or dropped): where a stream waits for its turn.
    last_stream: RefCell<Option<Turn>>,
}

/// A digest's place in the queue of streams: resolves (with an error,
/// which is the point) when that digest's future is gone.
type Turn = tokio::sync::oneshot::Receiver<()>;

impl fmt::Debug for Hasher<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher").finish_non_exhaustive()
    }
}

/// What the CPU job found when it opened the file.
enum Opened {
    Hashed(Digest),
    /// Not a regular file: to be opened (unless it is already) and read
    /// off the CPU pool.
    Stream(Option<File>),
}

impl<'a> Hasher<'a> {
    pub(crate) fn new(steward: &'a Steward) -> Self {
        Self {
            steward,
            last_stream: RefCell::new(None),
        }
    }

    /// The digest of `source`.
    ///
    /// Streams (standard input, FIFOs, devices) are read one at a time, in
    /// the order this is called, as `sha256sum` reads them: `- /dev/stdin`
    /// gives stdin's digest, then the empty one's. The order is fixed here,
    /// when the future is made, not when it first runs.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the drive permit is released, the next stream may go;
    /// a CPU job already running finishes and its result is dropped.
    pub(crate) fn digest(
        &self,
        source: &Source,
    ) -> impl Future<Output = Result<Digest, DigestError>> + use<'_, 'a> {
        let (turn, done) = tokio::sync::oneshot::channel::<()>();
        let mut previous = self.last_stream.replace(Some(done));
        let source = source.clone();
        async move {
            let digest = self.read(source, &mut previous).await;
            // Hand the turn on only once every earlier digest is done, so
            // a later stream never overtakes an earlier one.
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            drop(turn);
            digest
        }
    }

    async fn read(
        &self,
        source: Source,
        previous: &mut Option<Turn>,
    ) -> Result<Digest, DigestError> {
        let path = match source {
            Source::Stdin => return stream(previous, || Ok(io::stdin())).await,
            Source::Path(path) => path,
        };
        let permit = self
            .steward
            .drives()
            .acquire(&path)
            .await
            .map_err(|error| DigestError::Steward(error.to_string()))?;
        // The permit bounds concurrent reads on the file's drive; the
        // open, the read and the hash then run in one CPU job.
        let opened = self
            .steward
            .cpu()
            .run({
                let path = path.clone();
                move || open_and_hash(&path)
            })
            .await
            .map_err(|error| DigestError::Steward(error.to_string()))?
            .map_err(DigestError::Io)?;
        drop(permit);
        match opened {
            Opened::Hashed(digest) => Ok(digest),
            Opened::Stream(Some(file)) => stream(previous, move || Ok(file)).await,
            Opened::Stream(None) => stream(previous, move || File::open(path)).await,
        }
    }
}

/// Hashes `path` if it is a regular file. Anything else is left to
/// [`stream`], unopened: opening a FIFO waits for a writer, and opening it
/// without waiting (`O_NONBLOCK`) then closing it would let a waiting
/// writer in only to break its pipe.
fn open_and_hash(path: &Path) -> io::Result<Opened> {
    if !std::fs::metadata(path)?.is_file() {
        return Ok(Opened::Stream(None));
    }
    // O_NONBLOCK in case the file was swapped for a FIFO since: the open
    // must not block a CPU worker.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)?;
    if !file.metadata()?.is_file() {
        fcntl(&file, FcntlArg::F_SETFL(OFlag::empty())).map_err(io::Error::from)?;
        return Ok(Opened::Stream(Some(file)));
    }
    BUFFER
        .with_borrow_mut(|buffer| {
            buffer.resize(CHUNK, 0);
            hash_reader(file, buffer)
        })
        .map(Opened::Hashed)
}

/// Opens and reads a stream to its end on a thread of its own, once every
/// earlier digest is done: it may take forever (a FIFO nobody writes to,
/// `/dev/zero`), so it holds neither a drive permit nor a CPU worker, and
/// a thread of tokio's blocking pool would hold up the runtime's shutdown.
async fn stream<R: Read>(
    previous: &mut Option<Turn>,
    open: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> Result<Digest, DigestError> {
    if let Some(previous) = previous.take() {
        let _ = previous.await;
    }
    let result = on_own_thread("stream", move || {
        let mut buffer = vec![0; CHUNK];
        open().and_then(|reader| hash_reader(reader, &mut buffer))
    })
    .map_err(DigestError::Io)?;
    result
        .await
        .map_err(|_| DigestError::Steward("the reading thread ended early".to_owned()))?
        .map_err(DigestError::Io)
}

fn hash_reader(mut reader: impl Read, buffer: &mut [u8]) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut bytes = 0_u64;
    loop {
        match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                bytes += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Digest {
        hex: format!("{:x}", hasher.finalize()),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use steward::Steward;

    use super::{Hasher, Source};

    /// A scratch directory on the disk the sources are on.
    fn disk_dir(name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(format!("digest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_file_is_read_under_its_own_drive_s_limit_beside_a_symlink_to_another() {
        let steward = Steward::builder().start().unwrap();
        let disk = disk_dir("symlink");
        let shm = Path::new("/dev/shm").join(format!("steward-digest-{}", std::process::id()));
        std::fs::create_dir_all(&shm).unwrap();
        let (on_disk, on_shm) = (
            steward.drives().drive(&disk).unwrap(),
            steward.drives().drive(&shm).unwrap(),
        );
        assert_ne!(
            on_disk.mount_point(),
            on_shm.mount_point(),
            "{} and /dev/shm are on one drive here",
            disk.display()
        );
        std::fs::write(shm.join("data"), b"on tmpfs").unwrap();
        // In one directory: a symlink to tmpfs, then a file on the disk.
        std::os::unix::fs::symlink(shm.join("data"), disk.join("a-link")).unwrap();
        std::fs::write(disk.join("b-file"), b"on the disk").unwrap();

        let hasher = Hasher::new(&steward);
        for name in ["a-link", "b-file"] {
            hasher.digest(&Source::Path(disk.join(name))).await.unwrap();
        }
        assert_eq!(
            (on_shm.stats().completed, on_disk.stats().completed),
            (1, 1),
            "one read on each drive"
        );
        steward.shutdown().await.unwrap();
        std::fs::remove_dir_all(disk).unwrap();
        std::fs::remove_dir_all(shm).unwrap();
    }
}
