//! The std backend: `pread`/`pwrite`/`fdatasync` through `std::fs`. Works everywhere; the
//! reference the other backends are tested against.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Io, IoFile, OpenOptions, error_at};

/// The std backend.
#[derive(Debug, Default, Clone, Copy)]
pub struct StdIo;

impl StdIo {
    pub fn new() -> Self {
        Self
    }
}

/// Opens `path` with `options` through std (shared with the io_uring backend, which opens
/// files the same way and only changes how reads and writes are issued).
pub(crate) fn open_std(path: &Path, options: OpenOptions) -> io::Result<File> {
    let mut open = fs::OpenOptions::new();
    open.read(options.read)
        .write(options.write)
        .create(options.create)
        .create_new(options.create_new)
        .truncate(options.truncate);
    if options.direct {
        open.custom_flags(libc::O_DIRECT);
    }
    open.open(path).map_err(|e| error_at("open", path, e))
}

/// A file of the std backend.
#[derive(Debug)]
pub struct StdFile {
    pub(crate) file: File,
    pub(crate) path: PathBuf,
}

impl IoFile for StdFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file
            .read_at(buf, offset)
            .map_err(|e| error_at("read", &self.path, e))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.file
            .write_at(buf, offset)
            .map_err(|e| error_at("write", &self.path, e))
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file
            .sync_data()
            .map_err(|e| error_at("fdatasync", &self.path, e))
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file
            .sync_all()
            .map_err(|e| error_at("fsync", &self.path, e))
    }

    fn len(&self) -> io::Result<u64> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| error_at("stat", &self.path, e))
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file
            .set_len(len)
            .map_err(|e| error_at("truncate", &self.path, e))
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.file.as_fd())
    }
}

impl Io for StdIo {
    fn name(&self) -> &'static str {
        "std"
    }

    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        let file = open_std(path, options)?;
        Ok(Arc::new(StdFile {
            file,
            path: path.to_owned(),
        }))
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        fs::create_dir_all(path).map_err(|e| error_at("mkdir", path, e))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        read_dir_sorted(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to).map_err(|e| error_at("rename", from, e))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path).map_err(|e| error_at("remove", path, e))
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path).map_err(|e| error_at("remove directory", path, e))
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        sync_dir_std(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists().map_err(|e| error_at("stat", path, e))
    }
}

fn read_dir_sorted(path: &Path) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| error_at("read_dir", path, e))? {
        names.push(
            entry
                .map_err(|e| error_at("read_dir", path, e))?
                .file_name(),
        );
    }
    names.sort();
    Ok(names)
}

fn sync_dir_std(path: &Path) -> io::Result<()> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| error_at("fsync directory", path, e))
}
