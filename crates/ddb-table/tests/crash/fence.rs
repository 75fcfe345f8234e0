//! The simulated disk as one process sees it: every operation fails once the power was cut
//! after the process opened it.
//!
//! `SimIo::cut_power_after_ops` crashes the disk in the middle of an engine call, and handles
//! opened before the crash fail from then on; but path operations (open, rename, remove,
//! `sync_dir`) would still reach the rebooted disk, as if the process had survived the power
//! cut. A real process is gone at that instant, so this wrapper fences it: from the crash on,
//! nothing it does touches the disk — not the rest of the interrupted call, not its error
//! handling, not the `Drop` of its tables. (`SimIo::fail_after_ops(0)` fails only one
//! operation, so it cannot fence a process that tries again.)

use std::ffi::OsString;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ddb_io::sim::SimIo;
use ddb_io::{ChunkReader, ChunkWriter, Io, IoFile, OpenOptions, ReadAhead, WriteBehind};

/// `sim` for a process started while the disk had had `epoch` crashes.
#[derive(Debug, Clone)]
pub struct Fenced {
    sim: SimIo,
    epoch: u64,
}

impl Fenced {
    /// The disk for a process starting now.
    pub fn new(sim: &SimIo) -> Fenced {
        Fenced {
            sim: sim.clone(),
            epoch: sim.crashes(),
        }
    }

    /// Whether the power was cut since the process started.
    pub fn dead(&self) -> bool {
        self.sim.crashes() != self.epoch
    }

    fn alive(&self, op: &str, path: &Path) -> io::Result<()> {
        if self.dead() {
            return Err(io::Error::other(format!(
                "{op} {}: the process died in the simulated power cut",
                path.display()
            )));
        }
        Ok(())
    }
}

impl Io for Fenced {
    fn name(&self) -> &'static str {
        self.sim.name()
    }

    fn open(&self, path: &Path, options: OpenOptions) -> io::Result<Arc<dyn IoFile>> {
        self.alive("open", path)?;
        self.sim.open(path, options)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.alive("mkdir", path)?;
        self.sim.create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        self.alive("read_dir", path)?;
        self.sim.read_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.alive("rename", from)?;
        self.sim.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.alive("remove", path)?;
        self.sim.remove_file(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        self.alive("remove directory", path)?;
        self.sim.remove_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.alive("fsync directory", path)?;
        self.sim.sync_dir(path)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.alive("stat", path)?;
        self.sim.exists(path)
    }

    fn read_sequential(
        &self,
        file: Arc<dyn IoFile>,
        range: Range<u64>,
        read_ahead: ReadAhead,
    ) -> io::Result<Box<dyn ChunkReader>> {
        self.alive("read", file.path())?;
        self.sim.read_sequential(file, range, read_ahead)
    }

    fn write_sequential(
        &self,
        file: Arc<dyn IoFile>,
        start: u64,
        write_behind: WriteBehind,
    ) -> io::Result<Box<dyn ChunkWriter>> {
        self.alive("write", file.path())?;
        self.sim.write_sequential(file, start, write_behind)
    }
}
