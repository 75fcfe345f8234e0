//! Buffers aligned to [`ALIGNMENT`] bytes, as `O_DIRECT` requires, without `unsafe`: the
//! buffer over-allocates by one alignment unit and starts at the first aligned byte.

use std::fmt;
use std::io;

/// Alignment (and size granularity) of `O_DIRECT` I/O: 4 KiB covers every common block size.
pub const ALIGNMENT: usize = 4096;

/// A zero-initialised byte buffer whose first byte sits on an [`ALIGNMENT`] boundary.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    /// A buffer of `len` zero bytes.
    pub fn zeroed(len: usize) -> io::Result<Self> {
        let capacity = len.checked_add(ALIGNMENT).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("aligned buffer of {len} bytes is too large"),
            )
        })?;
        let storage = vec![0u8; capacity];
        let start = storage.as_ptr().align_offset(ALIGNMENT);
        if start > ALIGNMENT {
            return Err(io::Error::other("cannot align a heap buffer"));
        }
        Ok(Self {
            storage,
            start,
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        self.storage
            .get(self.start..self.start + self.len)
            .unwrap_or_default()
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.storage
            .get_mut(self.start..self.start + self.len)
            .unwrap_or_default()
    }
}

impl fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_sized() {
        for len in [0, 1, 4095, 4096, 1 << 20] {
            let mut buf = AlignedBuf::zeroed(len).unwrap();
            assert_eq!(buf.len(), len);
            assert_eq!(buf.as_slice().as_ptr() as usize % ALIGNMENT, 0);
            assert!(buf.as_slice().iter().all(|&b| b == 0));
            buf.as_mut_slice().fill(7);
            assert!(buf.as_slice().iter().all(|&b| b == 7));
        }
    }
}
