//! The io_uring backend: files are opened exactly as by the std backend (so `O_DIRECT` behaves
//! the same), reads, writes and syncs go through io_uring, and directory operations reuse the
//! std helpers (they are rare and gain nothing from a ring).
//!
//! - Individual operations use a pool of rings, each held by one thread from submission to
//!   completion (the `ring` module explains why).
//! - [`IoFile::write_all_at_durable`] is one submission: a write linked to an `fdatasync`.
//! - [`Io::read_sequential`] returns a reader with its own ring that keeps `depth` reads in
//!   flight (the `reader` module).
//! - [`Io::write_sequential`] returns a writer with its own ring that keeps `depth` chunk writes
//!   in flight behind the producer (the `writer` module).

mod reader;
mod ring;
#[cfg(test)]
mod tests;
mod writer;
#[cfg(test)]
mod writer_tests;

use std::ffi::OsString;
use std::io;
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::Arc;

use io_uring::{IoUring, Probe, opcode};

use crate::std_backend::{StdFile, StdIo, open_std};
use crate::{
    ChunkReader, ChunkWriter, Io, IoFile, OpenOptions, ReadAhead, SyncChunkReader, SyncChunkWriter,
    WriteBehind, error_at,
};
use reader::UringChunkReader;
use ring::{Op, RingPool};
use writer::UringChunkWriter;

/// The io_uring backend.
#[derive(Debug, Clone)]
pub struct UringIo {
    pool: Arc<RingPool>,
}

impl UringIo {
    /// Sets up a ring and checks that the kernel supports every opcode this backend submits;
    /// an `Unsupported` error says which step failed.
    pub fn new() -> io::Result<Self> {
        let ring = IoUring::new(RingPool::ring_entries()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring_setup failed: {e}"),
            )
        })?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe).map_err(|e| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("IORING_REGISTER_PROBE failed (kernel older than 5.6?): {e}"),
            )
        })?;
        let missing: Vec<&str> = [
            (opcode::Read::CODE, "READ"),
            (opcode::Write::CODE, "WRITE"),
            (opcode::Fsync::CODE, "FSYNC"),
        ]
        .into_iter()
        .filter(|(code, _)| !probe.is_supported(*code))
        .map(|(_, name)| name)
        .collect();
        if !missing.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the kernel's io_uring lacks opcodes {}", missing.join(", ")),
            ));
        }
        Ok(Self {
            pool: Arc::new(RingPool::new(ring)),
        })
    }
}

/// A file of the io_uring backend.
#[derive(Debug)]
pub struct UringFile {
    /// The descriptor and path; metadata calls (`len`, `set_len`) go through it unchanged.
    std: StdFile,
    pool: Arc<RingPool>,
}

/// A CQE result as a byte count, or the error it carries (errno kept) naming `op` and `path`.
fn completed(op: &str, path: &Path, result: i32) -> io::Result<usize> {
    usize::try_from(result).map_err(|_| {
        error_at(
            op,
            path,
            io::Error::from_raw_os_error(result.saturating_neg()),
        )
    })
}

impl UringFile {
    fn sync(&self, datasync: bool) -> io::Result<()> {
        let op = if datasync { "fdatasync" } else { "fsync" };
        loop {
            let [result] = self
                .pool
                .run(
                    [Op::Fsync {
                        fd: self.std.file.as_fd(),
                        datasync,
                    }],
                    false,
                )
                .map_err(|e| error_at(op, &self.std.path, e))?;
            match completed(op, &self.std.path, result) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other.map(drop),
            }
        }
    }
}

/// The loop of [`IoFile::write_all_at_durable`], apart from the ring so that tests can feed it
/// short writes: `submit(rest, offset)` issues a write of `rest` linked to an `fdatasync` and
/// returns both CQE results; `sync` is a plain `fdatasync`.
fn write_durable_loop(
    path: &Path,
    buf: &[u8],
    offset: u64,
    mut submit: impl FnMut(&[u8], u64) -> io::Result<[i32; 2]>,
    mut sync: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    let mut done = 0usize;
    while let Some(rest) = buf.get(done..).filter(|rest| !rest.is_empty()) {
        let at = offset + done as u64;
        let [written, synced] = submit(rest, at)?;
        let written = match completed("write", path, written) {
            Ok(0) => {
                return Err(error_at(
                    "write",
                    path,
                    io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("wrote nothing at byte {at}"),
                    ),
                ));
            }
            Ok(n) => n.min(rest.len()),
            // The linked fsync was cancelled with the write; the loop submits both again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        done += written;
        if done < buf.len() {
            // A short write breaks the link: the kernel cancelled the fsync (-ECANCELED). The
            // rest goes out with a fresh linked fsync, which covers the earlier bytes too.
            continue;
        }
        return match completed("fdatasync", path, synced) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => sync(),
            Err(e) => Err(e),
        };
    }
    // Nothing to write: still a durability point for earlier writes.
    sync()
}

impl IoFile for UringFile {
    fn path(&self) -> &Path {
        &self.std.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let fd = self.std.file.as_fd();
        let [result] = self
            .pool
            .run([Op::Read { fd, buf, offset }], false)
            .map_err(|e| error_at("read", &self.std.path, e))?;
        completed("read", &self.std.path, result)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let fd = self.std.file.as_fd();
        let [result] = self
            .pool
            .run([Op::Write { fd, buf, offset }], false)
            .map_err(|e| error_at("write", &self.std.path, e))?;
        completed("write", &self.std.path, result)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync(true)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync(false)
    }

    fn len(&self) -> io::Result<u64> {
        self.std.len()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.std.set_len(len)
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.std.file.as_fd())
    }

    /// One submission per attempt: the write linked (`IO_LINK`) to an `fdatasync`, so the
    /// durable write costs one `io_uring_enter` instead of a `pwrite` and an `fdatasync`.
    fn write_all_at_durable(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let fd = self.std.file.as_fd();
        write_durable_loop(
            &self.std.path,
            buf,
            offset,
            |rest, at| {
                self.pool
                    .run(
                        [
                            Op::Write {
                                fd,
                                buf: rest,
                                offset: at,
                            },
                            Op::Fsync { fd, datasync: true },
                        ],
                        true,
                    )
                    .map_err(|e| error_at("write+fdatasync", &self.std.path, e))
            },
            || self.sync_data(),
        )
    }
}

impl Io for UringIo {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        let file = open_std(path, options)?;
        Ok(Arc::new(UringFile {
            std: StdFile {
                file,
                path: path.to_owned(),
            },
            pool: Arc::clone(&self.pool),
        }))
    }

    // Directory operations have no io_uring advantage worth the ring round trip; the std
    // backend does them.
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        StdIo.create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        StdIo.read_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdIo.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        StdIo.remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        StdIo.remove_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        StdIo.sync_dir(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        StdIo.exists(path)
    }

    fn read_sequential(
        &self,
        file: Arc<dyn IoFile>,
        range: Range<u64>,
        read_ahead: ReadAhead,
    ) -> io::Result<Box<dyn ChunkReader>> {
        if file.fd().is_none() {
            // Not a kernel file (the simulated disk): nothing for a ring to read from.
            return Ok(Box::new(SyncChunkReader::new(
                file,
                range,
                read_ahead.chunk_bytes,
            )?));
        }
        Ok(Box::new(UringChunkReader::new(file, range, read_ahead)?))
    }

    fn write_sequential(
        &self,
        file: Arc<dyn IoFile>,
        start: u64,
        write_behind: WriteBehind,
    ) -> io::Result<Box<dyn ChunkWriter>> {
        if file.fd().is_none() {
            // Not a kernel file (the simulated disk): nothing for a ring to write to.
            return Ok(Box::new(SyncChunkWriter::new(file, start, write_behind)?));
        }
        Ok(Box::new(UringChunkWriter::new(file, start, write_behind)?))
    }
}
