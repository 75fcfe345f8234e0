//! A read-only, in-memory `Io` holding one file: the fuzz targets decode their input through
//! it, so the real decoders run without disk I/O. Shared by the targets via `#[path]`.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ddb_io::{Io, IoFile, OpenOptions};

/// A read-only file system holding one file, so the scan reads the input without disk I/O.
#[derive(Debug)]
pub struct MemIo {
    pub file: Arc<MemFile>,
}

#[derive(Debug)]
pub struct MemFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

fn read_only() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the fuzz file system is read-only",
    )
}

impl IoFile for MemFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        let n = buf.len().min(self.bytes.len() - start);
        buf[..n].copy_from_slice(&self.bytes[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, _: &[u8], _: u64) -> io::Result<usize> {
        Err(read_only())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        Ok(())
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.len() as u64)
    }

    fn set_len(&self, _: u64) -> io::Result<()> {
        Err(read_only())
    }
}

impl Io for MemIo {
    fn name(&self) -> &'static str {
        "fuzz-mem"
    }

    fn open(&self, path: &Path, _: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        if path == self.file.path {
            Ok(self.file.clone())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        }
    }

    fn create_dir_all(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn read_dir(&self, _: &Path) -> io::Result<Vec<OsString>> {
        Ok(vec![
            self.file.path.file_name().unwrap_or_default().to_owned(),
        ])
    }

    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn remove_file(&self, _: &Path) -> io::Result<()> {
        Err(read_only())
    }

    fn sync_dir(&self, _: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(path == self.file.path)
    }
}

