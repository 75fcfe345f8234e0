//! The I/O layer: the only crate of the workspace that talks to the kernel.
//!
//! Storage code is written against [`Io`] and [`IoFile`] (trait objects, so the backend is
//! chosen at run time) and never against `std::fs` directly:
//! - [`std_backend::StdIo`]: `pread`/`pwrite`/`fdatasync`, available everywhere;
//! - [`uring::UringIo`]: io_uring, with a write and its `fdatasync` linked into one submission,
//!   read-ahead for sequential reads and write-behind for sequential writes (where the kernel
//!   allows it);
//! - [`sim::SimIo`]: a simulated disk for tests that keeps written bytes apart from durable bytes
//!   and can crash, tear writes and flip bits, seeded and replayable.
//!
//! [`select_backend`] picks io_uring when the kernel allows it and falls back to std with one
//! log line saying why; `DDB_IO_BACKEND=std|io_uring` forces either.
//!
//! Architecture invariant: every error this crate returns names the operation and the path.
#![deny(unsafe_code)]

pub mod aligned;
pub mod lock;
pub mod publish;
pub mod sequential;
pub mod sim;
pub mod std_backend;
pub mod uring;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::sync::Arc;

pub use aligned::{ALIGNMENT, AlignedBuf};
pub use lock::{DirLock, LockError};
pub use publish::publish_atomically;
pub use sequential::{
    ChunkReader, ChunkWriter, ReadAhead, SyncChunkReader, SyncChunkWriter, WriteBehind,
};
pub use sim::{CrashOptions, SimIo};
pub use std_backend::StdIo;
pub use uring::UringIo;

/// How to open a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    pub read: bool,
    pub write: bool,
    /// Create the file if it does not exist.
    pub create: bool,
    /// Fail if the file exists (implies `create`).
    pub create_new: bool,
    pub truncate: bool,
    /// `O_DIRECT`: bypass the page cache. Buffers, offsets and lengths must then be multiples
    /// of [`ALIGNMENT`] (use [`AlignedBuf`]).
    pub direct: bool,
}

impl OpenOptions {
    pub fn read_only() -> Self {
        Self {
            read: true,
            ..Self::default()
        }
    }

    pub fn read_write() -> Self {
        Self {
            read: true,
            write: true,
            ..Self::default()
        }
    }

    /// Read-write, creating the file, failing if it already exists.
    pub fn create_new() -> Self {
        Self {
            read: true,
            write: true,
            create_new: true,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn direct(mut self, direct: bool) -> Self {
        self.direct = direct;
        self
    }
}

/// An open file. Positioned I/O only: there is no shared cursor, so one file can serve many
/// threads.
// `len`/`set_len` mirror `std::fs::File`; an `is_empty` would be one more fallible syscall
// nobody needs.
#[allow(clippy::len_without_is_empty)]
pub trait IoFile: Send + Sync + fmt::Debug {
    /// The path the file was opened with (for error messages).
    fn path(&self) -> &Path;

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at end of file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes up to `buf.len()` bytes at `offset`, returning how many were written.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;

    /// Makes written data (and the size, if it changed) durable: `fdatasync`.
    fn sync_data(&self) -> io::Result<()>;

    /// Makes data and all metadata durable: `fsync`.
    fn sync_all(&self) -> io::Result<()>;

    /// The file's current length in bytes.
    fn len(&self) -> io::Result<u64>;

    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// The kernel file descriptor behind this file, for a backend that issues its own I/O on it
    /// (the io_uring sequential reader); `None` for a file that has none (the simulated disk).
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Fills `buf` from `offset`, looping over short reads; end of file first is
    /// `UnexpectedEof`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let rest = buf.get_mut(done..).unwrap_or_default();
            let at = offset + done as u64;
            match self.read_at(rest, at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "read {}: end of file at byte {at}, wanted {} more bytes",
                            self.path().display(),
                            rest.len()
                        ),
                    ));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`, looping over short writes.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let rest = buf.get(done..).unwrap_or_default();
            let at = offset + done as u64;
            match self.write_at(rest, at) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!(
                            "write {}: wrote nothing at byte {at}",
                            self.path().display()
                        ),
                    ));
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset` and makes it durable before returning. Backends may
    /// link the write and the `fdatasync` into one submission (io_uring).
    fn write_all_at_durable(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.write_all_at(buf, offset)?;
        self.sync_data()
    }
}

/// A file system: the operations storage code needs, and nothing else.
pub trait Io: Send + Sync + fmt::Debug {
    /// `"std"`, `"io_uring"` or `"sim"`.
    fn name(&self) -> &'static str;

    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>>;

    fn create_dir_all(&self, path: &Path) -> io::Result<()>;

    /// The names of the entries of a directory, sorted.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;

    /// Renames `from` to `to`, replacing `to` if it exists. Durable only after
    /// [`Io::sync_dir`] of both parents.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file. Durable only after [`Io::sync_dir`] of its parent.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Removes an empty directory. Durable only after [`Io::sync_dir`] of its parent.
    fn remove_dir(&self, path: &Path) -> io::Result<()>;

    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;

    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// A reader of `range` of `file` in chunks of `read_ahead.chunk_bytes`. The default reads
    /// synchronously, one chunk at a time; backends that can keep reads in flight override it.
    fn read_sequential(
        &self,
        file: Arc<dyn IoFile>,
        range: Range<u64>,
        read_ahead: ReadAhead,
    ) -> io::Result<Box<dyn ChunkReader>> {
        Ok(Box::new(SyncChunkReader::new(
            file,
            range,
            read_ahead.chunk_bytes,
        )?))
    }

    /// A writer that appends to `file` from offset `start` in chunks of
    /// `write_behind.chunk_bytes`. The default writes each full chunk synchronously; backends
    /// that can keep writes in flight override it. Nothing is made durable: sync the file after
    /// [`ChunkWriter::finish`].
    fn write_sequential(
        &self,
        file: Arc<dyn IoFile>,
        start: u64,
        write_behind: WriteBehind,
    ) -> io::Result<Box<dyn ChunkWriter>> {
        Ok(Box::new(SyncChunkWriter::new(file, start, write_behind)?))
    }
}

/// An I/O error with the operation and path in front of its message, keeping its kind.
pub fn error_at(op: &str, path: &Path, err: io::Error) -> io::Error {
    io::Error::new(err.kind(), format!("{op} {}: {err}", path.display()))
}

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// io_uring if the kernel allows it, else std.
    Auto,
    Std,
    IoUring,
}

impl BackendChoice {
    /// From `DDB_IO_BACKEND` (`std`, `io_uring`/`uring`, `auto`); unset is `Auto`.
    pub fn from_env() -> io::Result<Self> {
        match std::env::var("DDB_IO_BACKEND") {
            Err(_) => Ok(Self::Auto),
            Ok(value) => match value.as_str() {
                "" | "auto" => Ok(Self::Auto),
                "std" => Ok(Self::Std),
                "io_uring" | "uring" => Ok(Self::IoUring),
                other => Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("DDB_IO_BACKEND={other}: expected std, io_uring or auto"),
                )),
            },
        }
    }
}

/// Picks the backend for `choice`. `Auto` probes io_uring and falls back to std, writing one
/// line to stderr that says why; `IoUring` fails if the kernel refuses io_uring.
pub fn select_backend(choice: BackendChoice) -> io::Result<Arc<dyn Io>> {
    match choice {
        BackendChoice::Std => Ok(Arc::new(StdIo::new())),
        BackendChoice::IoUring => uring_backend(),
        BackendChoice::Auto => match uring_backend() {
            Ok(io) => Ok(io),
            Err(why) => {
                eprintln!(
                    "ddb-io: io_uring unavailable ({why}); using the std (pread/pwrite) backend"
                );
                Ok(Arc::new(StdIo::new()))
            }
        },
    }
}

/// The io_uring backend, or why the kernel refuses it.
///
/// `kernel.io_uring_disabled` is read first only to explain a refusal: 2 disables io_uring for
/// everyone, 1 allows it only for members of `kernel.io_uring_group`, and there (and under
/// seccomp or in containers) the outcome of actually setting up a ring is the truth. The ring
/// is then asked which opcodes it supports, so an old kernel is refused here rather than
/// failing on the first read.
fn uring_backend() -> io::Result<Arc<dyn Io>> {
    let sysctl = "/proc/sys/kernel/io_uring_disabled";
    let disabled = std::fs::read_to_string(sysctl)
        .ok()
        .and_then(|text| text.trim().parse::<u8>().ok());
    if disabled == Some(2) {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{sysctl} is 2: io_uring is disabled for all processes"),
        ));
    }
    match UringIo::new() {
        Ok(io) => Ok(Arc::new(io)),
        Err(e) if disabled == Some(1) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{sysctl} is 1 (io_uring only for kernel.io_uring_group) and this process \
                 was refused: {e}"
            ),
        )),
        Err(e) => Err(e),
    }
}
