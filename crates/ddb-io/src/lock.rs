//! The exclusive lock of a directory owned by one process: an advisory `flock` on a lock file
//! that holds the owner's process id, so a second opener can say who holds it.
//!
//! The lock is the kernel's, not the file's: it is released when the process exits, however it
//! exits, and a stale lock file left by a killed process does not lock anything.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it; `pid` is what the lock file says (may be empty if the holder
    /// is still writing it).
    #[error("{path}: locked by process {pid}")]
    Held { path: PathBuf, pid: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the exclusive lock of `path` (created if missing) without waiting, and writes this
    /// process's id into it.
    pub fn acquire(path: &Path) -> Result<DirLock, LockError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| crate::error_at("open lock file", path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                // Best effort: the holder may be between truncate and write.
                let _ = file.read_to_string(&mut pid);
                return Err(LockError::Held {
                    path: path.to_owned(),
                    pid: pid.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(LockError::Io(crate::error_at("lock", path, e)));
            }
        }
        let write_pid = |file: &mut File| -> io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            writeln!(file, "{}", std::process::id())?;
            file.sync_data()
        };
        write_pid(&mut file).map_err(|e| crate::error_at("write lock file", path, e))?;
        Ok(DirLock {
            file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_lock_is_free_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        let held = DirLock::acquire(&path).unwrap();
        match DirLock::acquire(&path) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        DirLock::acquire(&path).unwrap();
    }
}
