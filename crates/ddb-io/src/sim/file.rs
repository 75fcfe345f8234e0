//! Open files of the simulated disk.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Shared;
use super::image::{self, Pending};
use super::state::{InodeId, MAX_FILE_BYTES, Mutation, State, error};
use crate::{ALIGNMENT, IoFile};

/// A file of [`super::SimIo`]. It names its inode, not its path, so it keeps working after
/// the file is renamed or removed, like a POSIX file descriptor, until the next crash.
pub struct SimFile {
    pub(crate) shared: Arc<Shared>,
    pub(crate) path: PathBuf,
    pub(crate) inode: InodeId,
    pub(crate) epoch: u64,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) direct: bool,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("path", &self.path)
            .field("inode", &self.inode)
            .field("epoch", &self.epoch)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl SimFile {
    /// Runs `f` on the file's inode, failing if the handle is from before a crash.
    fn with_inode<R>(
        &self,
        op: &str,
        f: impl FnOnce(&mut State, &Path, InodeId) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut state = self.shared.lock();
        if state.epoch != self.epoch {
            return Err(error(
                op,
                &self.path,
                io::ErrorKind::Other,
                "file handle from before the simulated crash",
            ));
        }
        f(&mut state, &self.path, self.inode)
    }

    /// The kernel's `O_DIRECT` rule: memory address, file offset and length all aligned.
    fn check_direct(&self, op: &str, address: usize, len: usize, offset: u64) -> io::Result<()> {
        let alignment = u64::try_from(ALIGNMENT).unwrap_or(u64::MAX);
        if !self.direct
            || (address.is_multiple_of(ALIGNMENT)
                && len.is_multiple_of(ALIGNMENT)
                && offset.is_multiple_of(alignment))
        {
            return Ok(());
        }
        Err(error(
            op,
            &self.path,
            io::ErrorKind::InvalidInput,
            &format!(
                "O_DIRECT needs buffer address, offset and length aligned to {ALIGNMENT} bytes \
                 (address {address:#x}, offset {offset}, length {len}) (EINVAL)"
            ),
        ))
    }

    fn check_mode(&self, op: &str, allowed: bool, mode: &str) -> io::Result<()> {
        if allowed {
            Ok(())
        } else {
            Err(error(
                op,
                &self.path,
                io::ErrorKind::PermissionDenied,
                &format!("file not opened for {mode} (EBADF)"),
            ))
        }
    }

    fn sync(&self, op: &str) -> io::Result<()> {
        self.with_inode(op, |state, path, id| {
            let result = state.mutate(Mutation::Sync, op, path);
            // A power cut in this fsync may have taken the inode with it: report the cut.
            let inode = match (state.inode_mut(op, path, id), &result) {
                (Ok(inode), _) => inode,
                (Err(_), Err(_)) => return result,
                (Err(e), Ok(())) => return Err(e),
            };
            match result {
                Ok(()) => State::sync_inode(inode),
                Err(_) => {
                    // A failed fsync on Linux reports the error once and marks the dirty
                    // pages clean: the writes stay visible but never reach the disk, and a
                    // later fsync succeeds without them. Code must not retry and trust it.
                    inode.pending.clear();
                    inode.lost_writes = true;
                }
            }
            result
        })
    }
}

/// Checks that `offset..offset + len` stays within the simulated maximum file size.
fn byte_range(op: &str, path: &Path, offset: u64, len: usize) -> io::Result<usize> {
    let start = usize::try_from(offset).ok().filter(|start| {
        start
            .checked_add(len)
            .is_some_and(|end| end <= MAX_FILE_BYTES)
    });
    start.ok_or_else(|| {
        error(
            op,
            path,
            io::ErrorKind::FileTooLarge,
            &format!(
                "offset {offset} + {len} bytes exceeds the simulated maximum file size (EFBIG)"
            ),
        )
    })
}

impl IoFile for SimFile {
    fn path(&self) -> &Path {
        &self.path
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.check_mode("read", self.read, "reading")?;
        self.check_direct("read", buf.as_ptr().addr(), buf.len(), offset)?;
        self.with_inode("read", |state, path, id| {
            let inode = state.inode_mut("read", path, id)?;
            let Ok(start) = usize::try_from(offset) else {
                return Ok(0);
            };
            let available = inode.written.get(start..).unwrap_or_default();
            let n = available.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            Ok(n)
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.check_mode("write", self.write, "writing")?;
        self.check_direct("write", buf.as_ptr().addr(), buf.len(), offset)?;
        self.with_inode("write", |state, path, id| {
            let start = byte_range("write", path, offset, buf.len())?;
            state.mutate(Mutation::Write, "write", path)?;
            let inode = state.inode_mut("write", path, id)?;
            if !buf.is_empty() {
                image::write_into(&mut inode.written, start, buf);
                inode.pending.push(Pending::Write {
                    offset: start,
                    data: buf.to_vec(),
                });
            }
            Ok(buf.len())
        })
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync("fdatasync")
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync("fsync")
    }

    fn len(&self) -> io::Result<u64> {
        self.with_inode("stat", |state, path, id| {
            let inode = state.inode_mut("stat", path, id)?;
            Ok(u64::try_from(inode.written.len()).unwrap_or(u64::MAX))
        })
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_mode("truncate", self.write, "writing")?;
        self.with_inode("truncate", |state, path, id| {
            let len = byte_range("truncate", path, len, 0)?;
            state.mutate(Mutation::Other, "truncate", path)?;
            let inode = state.inode_mut("truncate", path, id)?;
            inode.written.resize(len, 0);
            inode.pending.push(Pending::SetLen(len));
            Ok(())
        })
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        // Handles from before a crash were already forgotten by it.
        if state.epoch == self.epoch {
            if let Some(inode) = state.inodes.get_mut(&self.inode) {
                inode.handles = inode.handles.saturating_sub(1);
            }
            state.collect_garbage();
        }
    }
}
