//! Atomic publication of a whole file: readers see either the old file (or none) or the
//! complete new one, before and after a crash.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Io, OpenOptions, error_at};

static NONCE: AtomicU64 = AtomicU64::new(0);

/// Publishes `bytes` as `dir/name`: write a temporary file in `dir`, fsync it, rename it over
/// `name`, fsync `dir`. When this returns `Ok`, the file is durable under its name; if it
/// fails or the process crashes first, `name` is untouched (a stray temporary file, named
/// `.<name>.tmp-…`, may remain for the caller's cleanup).
pub fn publish_atomically(io: &dyn Io, dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let nonce = NONCE.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.tmp-{}-{nonce}", std::process::id()));
    let target = dir.join(name);
    let file = io.open(&temp, OpenOptions::create_new())?;
    let written = file.write_all_at(bytes, 0).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = io.remove_file(&temp);
        return Err(e);
    }
    io.rename(&temp, &target)
        .map_err(|e| error_at("publish", &target, e))?;
    io.sync_dir(dir)
}

/// Whether `name` is a temporary file left by an interrupted [`publish_atomically`].
pub fn is_publish_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}
