//! File images and the writes not yet synced to them: how a sync makes writes durable, and
//! how a crash tears them.

use super::rng::SplitMix64;

/// Sector size of the simulated disk: the unit a crash persists or loses atomically when it
/// reorders writes. 512 bytes is the smallest sector real disks expose, so it is the finest
/// tearing a real disk can show.
pub const SECTOR_BYTES: usize = 512;

/// A change to a file not yet made durable, kept so that a crash can persist any part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    Write { offset: usize, data: Vec<u8> },
    SetLen(usize),
}

/// Writes `data` at `offset`, extending `image` with zeros when the write starts past its end.
pub(crate) fn write_into(image: &mut Vec<u8>, offset: usize, data: &[u8]) {
    let end = offset.saturating_add(data.len());
    if image.len() < end {
        image.resize(end, 0);
    }
    if let Some(target) = image.get_mut(offset..end) {
        target.copy_from_slice(data);
    }
}

pub(crate) fn apply(image: &mut Vec<u8>, change: &Pending) {
    match change {
        Pending::Write { offset, data } => write_into(image, *offset, data),
        Pending::SetLen(len) => image.resize(*len, 0),
    }
}

/// `durable` with every change applied in order: what a successful sync leaves on disk.
pub(crate) fn replay(durable: &[u8], pending: &[Pending]) -> Vec<u8> {
    let mut image = durable.to_vec();
    for change in pending {
        apply(&mut image, change);
    }
    image
}

/// What a crash leaves on disk of a file whose last durable image is `durable` and whose
/// unsynced changes are `pending`.
///
/// Usually (a page cache flushing in order, a journal) a prefix of the changes reaches the
/// disk, the last one possibly cut at any byte. With probability `reorder_sectors_percent`
/// the writeback went out of order instead: each 512-byte sector the changes touched is
/// independently either the new content or the old, and the length is either the old or the
/// new one. Either way every byte is one the file held durably or one some pending write
/// wrote, or a zero where the file grew.
pub(crate) fn torn_image(
    durable: &[u8],
    pending: &[Pending],
    reorder_sectors_percent: u8,
    rng: &mut SplitMix64,
) -> Vec<u8> {
    if rng.chance_percent(reorder_sectors_percent) {
        sector_subset(durable, pending, rng)
    } else {
        prefix(durable, pending, rng)
    }
}

fn prefix(durable: &[u8], pending: &[Pending], rng: &mut SplitMix64) -> Vec<u8> {
    let applied = rng.below_usize(pending.len().saturating_add(1));
    let mut image = replay(durable, pending.get(..applied).unwrap_or_default());
    if let Some(Pending::Write { offset, data }) = pending.get(applied) {
        // Cut strictly inside the write: a whole write is the `applied + 1` case.
        let cut = rng.below_usize(data.len());
        if cut > 0 {
            write_into(&mut image, *offset, data.get(..cut).unwrap_or_default());
        }
    }
    image
}

fn sector_subset(durable: &[u8], pending: &[Pending], rng: &mut SplitMix64) -> Vec<u8> {
    let target = replay(durable, pending);
    let len = if target.len() != durable.len() && rng.coin() {
        target.len()
    } else if target.len() != durable.len() {
        durable.len()
    } else {
        target.len()
    };
    let mut image = durable.to_vec();
    image.resize(len, 0);
    let mut sectors = std::collections::BTreeSet::new();
    for change in pending {
        if let Pending::Write { offset, data } = change
            && let Some(last) = data.len().checked_sub(1)
        {
            let first_sector = offset / SECTOR_BYTES;
            let last_sector = offset.saturating_add(last) / SECTOR_BYTES;
            sectors.extend(first_sector..=last_sector);
        }
    }
    for sector in sectors {
        if !rng.coin() {
            continue;
        }
        let start = sector.saturating_mul(SECTOR_BYTES);
        let end = start
            .saturating_add(SECTOR_BYTES)
            .min(len)
            .min(target.len());
        if let (Some(dst), Some(src)) = (image.get_mut(start..end), target.get(start..end)) {
            dst.copy_from_slice(src);
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(offset: usize, byte: u8, len: usize) -> Pending {
        Pending::Write {
            offset,
            data: vec![byte; len],
        }
    }

    #[test]
    fn writes_past_the_end_extend_with_zeros_and_set_len_truncates() {
        let image = replay(b"ab", &[write(4, b'x', 2), Pending::SetLen(5)]);
        assert_eq!(image, b"ab\0\0x");
        assert_eq!(replay(b"abc", &[Pending::SetLen(1)]), b"a");
    }

    #[test]
    fn prefix_tears_are_prefixes_of_the_write_sequence() {
        let durable = vec![b'd'; 100];
        let pending = [write(50, b'1', 100), write(0, b'2', 30)];
        let mut seen_cut = false;
        for seed in 0..500 {
            let image = torn_image(&durable, &pending, 0, &mut SplitMix64::new(seed));
            // The second write can only be present if the first one is complete.
            let second_started = image.first() == Some(&b'2');
            let first_len = image.iter().skip(50).take_while(|&&b| b == b'1').count();
            if second_started {
                assert_eq!(first_len, 100, "seed {seed}");
            }
            if first_len > 0 && first_len < 50 {
                seen_cut = true;
                // A write cut short leaves the old bytes after the cut.
                assert_eq!(image.get(50 + first_len), Some(&b'd'), "seed {seed}");
            }
            assert!(
                image.iter().all(|b| b"d12".contains(b)),
                "seed {seed}: {image:?}"
            );
        }
        assert!(seen_cut, "no seed cut the first write inside the old data");
    }

    #[test]
    fn sector_tears_persist_whole_sectors_only() {
        let durable = vec![0xAAu8; SECTOR_BYTES * 4];
        let pending = [write(0, 0x55, SECTOR_BYTES * 4)];
        let mut mixed = false;
        for seed in 0..200 {
            let image = torn_image(&durable, &pending, 100, &mut SplitMix64::new(seed));
            assert_eq!(image.len(), durable.len());
            let sectors: Vec<u8> = image
                .chunks(SECTOR_BYTES)
                .map(|sector| {
                    assert!(sector.iter().all(|&b| b == sector[0]), "seed {seed}");
                    sector[0]
                })
                .collect();
            mixed |= sectors.contains(&0xAA) && sectors.contains(&0x55) && sectors[0] == 0xAA;
        }
        assert!(
            mixed,
            "no seed persisted a later sector without an earlier one"
        );
    }
}
