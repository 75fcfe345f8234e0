//! What a table keeps beyond its last checkpoint: the snapshot and log segments each running
//! backup job reads (its *hold*), and the snapshots and log the point-in-time recovery window
//! needs.
//!
//! - A hold names the snapshot the job merges from and implies the log from that snapshot's
//!   LSN + 1. It is taken in [`Table::begin_backup`] under the writer lock (so its marker is
//!   the last acknowledged LSN), recorded durably by the caller in the job's file, re-taken on
//!   open from that file ([`crate::recovery::TableSpec::holds`]), and released when the job's
//!   manifest is published. A held snapshot the table no longer uses is deleted when the hold
//!   is released (the [`Base`] is marked obsolete; its directory goes with the last reference).
//! - With PITR enabled, every checkpoint keeps the newest snapshot whose time is at or before
//!   the window start (the *base*) and the oldest snapshot after it (the next base once the
//!   window moves past it); the log is kept from the base's LSN + 1. `CURRENT` records the kept
//!   snapshots, so an open keeps them too. So the whole window is restorable from at most two
//!   old snapshots and the log since the oldest, whatever the number of checkpoints.
//!
//! Lock order: `checkpoint_lock` → `writer` → `retention` → `trees`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layers::Base;
use crate::table::{Stats, Table, lock};

/// A snapshot kept for the PITR window, as `CURRENT` records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RetainedSnapshot {
    /// The snapshot's LSN (0: the empty table before the first write; no files).
    pub lsn: u64,
    /// Wall time of its cut, ms since the epoch: every change with a commit time at or before
    /// it is in the snapshot or before it.
    pub time_ms: u64,
}

/// The point-in-time recovery window of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PitrPolicy {
    pub period_days: u32,
    /// When PITR was (last) enabled, ms since the epoch.
    pub enabled_at_ms: u64,
}

impl PitrPolicy {
    /// The earliest restorable time at `now_ms`.
    pub fn window_start_ms(&self, now_ms: u64) -> u64 {
        let period_ms = u64::from(self.period_days) * 86_400_000;
        self.enabled_at_ms.max(now_ms.saturating_sub(period_ms))
    }
}

/// A backup job's hold on the table's files.
#[derive(Debug, Clone)]
pub struct Hold {
    /// The snapshot merged from; `None`: the empty table at LSN 0.
    pub snapshot: Option<Arc<Base>>,
    pub marker_lsn: u64,
}

impl Hold {
    pub fn snapshot_lsn(&self) -> u64 {
        self.snapshot.as_ref().map_or(0, |b| b.lsn)
    }
}

/// What [`Table::begin_backup`] saw at the marker.
#[derive(Debug, Clone)]
pub struct BackupStart {
    pub marker_lsn: u64,
    pub snapshot_lsn: u64,
    /// Item count and size at the marker.
    pub stats: Stats,
    /// Per index, at the marker (GSIs as far as applied; they are rebuilt on restore anyway).
    pub index_stats: BTreeMap<String, Stats>,
}

#[derive(Debug, Default)]
pub(crate) struct Retention {
    pub holds: BTreeMap<String, Hold>,
    pub pitr: Option<PitrPolicy>,
    /// Snapshots kept for PITR other than the current one, by LSN.
    pub retained: BTreeMap<u64, Arc<Base>>,
}

impl Drop for Retention {
    /// The table is closing with jobs unfinished: the snapshots they hold stay on disk (the
    /// next open re-takes their holds from the jobs' files), even those no checkpoint uses any
    /// more, which are otherwise removed with their last reference. Only releasing the hold
    /// ([`Table::release_hold`]) lets such a snapshot go.
    fn drop(&mut self) {
        for hold in self.holds.values() {
            if let Some(base) = &hold.snapshot {
                base.keep_files();
            }
        }
    }
}

impl Retention {
    /// The first LSN the log must keep, given the last checkpoint's LSN and the PITR snapshots
    /// `pitr_snapshots` (as `CURRENT` records them).
    pub fn log_keep_from(&self, checkpoint_lsn: u64, pitr_snapshots: &[RetainedSnapshot]) -> u64 {
        let mut from = checkpoint_lsn + 1;
        for hold in self.holds.values() {
            from = from.min(hold.snapshot_lsn() + 1);
        }
        if self.pitr.is_some()
            && let Some(oldest) = pitr_snapshots.iter().map(|s| s.lsn).min()
        {
            from = from.min(oldest + 1);
        }
        from
    }
}

/// The snapshots to keep for PITR after a checkpoint: from `candidates` (the old current
/// snapshot and those already kept), the newest at or before the window start and the oldest
/// after it. Without PITR, none.
pub(crate) fn pitr_keep(
    policy: Option<PitrPolicy>,
    now_ms: u64,
    mut candidates: Vec<RetainedSnapshot>,
) -> Vec<RetainedSnapshot> {
    let Some(policy) = policy else {
        return Vec::new();
    };
    candidates.sort();
    candidates.dedup_by_key(|c| c.lsn);
    let start = policy.window_start_ms(now_ms);
    match candidates.iter().rposition(|c| c.time_ms <= start) {
        Some(base) => candidates.into_iter().skip(base).take(2).collect(),
        // Cannot happen (the snapshot current when PITR was enabled is at or before the window
        // start); keep everything rather than lose restorability.
        None => candidates,
    }
}

impl Table {
    /// Takes the marker of a backup: the last acknowledged LSN, and a hold (named `id`) on the
    /// snapshot the table reads from and the log after it, so checkpoints keep both until
    /// [`Table::release_hold`]. Reads no data: its cost does not depend on the table's size.
    pub fn begin_backup(&self, id: &str) -> BackupStart {
        let mut writer = lock(&self.writer);
        self.install_acknowledged(&mut writer);
        let marker_lsn = writer.installed_lsn;
        let stats = writer.stats;
        let mut index_stats = writer.index_stats.clone();
        index_stats.extend(lock(&self.gsi).stats.clone());
        // Holding `retention` while reading the base: a checkpoint swaps the base and reads the
        // holds under the same lock, so either it sees this hold or this sees its new base.
        let mut retention = lock(&self.retention);
        let base = self.trees_snapshot().table.base;
        let snapshot_lsn = base.as_ref().map_or(0, |b| b.lsn);
        retention.holds.insert(
            id.to_owned(),
            Hold {
                snapshot: base,
                marker_lsn,
            },
        );
        BackupStart {
            marker_lsn,
            snapshot_lsn,
            stats,
            index_stats,
        }
    }

    /// Takes a hold (named `id`) for a restore of the table as of commit time `time_us`: on
    /// the newest snapshot (current or kept for PITR) that holds no commit after it, with
    /// the marker at the last LSN committed at or before `time_us` (at a batch end). `None`
    /// if no kept snapshot is that old. Returns (snapshot LSN, marker LSN).
    pub fn hold_as_of(&self, id: &str, time_us: u64) -> Result<Option<(u64, u64)>> {
        let mut writer = lock(&self.writer);
        self.install_acknowledged(&mut writer);
        let last = writer.installed_lsn;
        let mut retention = lock(&self.retention);
        let current = lock(&self.current).clone();
        let trees = self.trees_snapshot();
        // (lsn, a bound on the commit times it holds, snapshot): the current base and the PITR
        // ones. The current one knows its last commit exactly; a kept one only the millisecond
        // it was published in (floored), so every commit it holds is at most 999 µs past it.
        let published_bound = |time_ms: u64| time_ms.saturating_mul(1000).saturating_add(999);
        let current_bound = if current.last_commit_us > 0 {
            current.last_commit_us
        } else {
            published_bound(current.time_ms)
        };
        let mut candidates: Vec<(u64, u64, Option<Arc<Base>>)> =
            vec![(current.lsn, current_bound, trees.table.base.clone())];
        for kept in &current.retained {
            let base = if kept.lsn == 0 {
                None
            } else {
                match retention.retained.get(&kept.lsn) {
                    Some(base) => Some(Arc::clone(base)),
                    None => continue,
                }
            };
            candidates.push((kept.lsn, published_bound(kept.time_ms), base));
        }
        candidates.sort_by_key(|c| c.0);
        let Some((snapshot_lsn, _, snapshot)) = candidates
            .into_iter()
            .rev()
            .find(|(lsn, bound_us, _)| *lsn == 0 || *bound_us <= time_us)
        else {
            return Ok(None);
        };
        // Pin it (and the log after it) before reading the log.
        retention.holds.insert(
            id.to_owned(),
            Hold {
                snapshot,
                marker_lsn: last,
            },
        );
        drop(retention);
        drop(writer);
        let mut marker = snapshot_lsn;
        if last > snapshot_lsn {
            for record in self.read_log(snapshot_lsn + 1, last)? {
                let record = record?;
                if record.timestamp_us > time_us {
                    break;
                }
                if record.end_of_batch {
                    marker = record.lsn;
                }
            }
        }
        if let Some(hold) = lock(&self.retention).holds.get_mut(id) {
            hold.marker_lsn = marker;
        }
        Ok(Some((snapshot_lsn, marker)))
    }

    /// The hold named `id`, if the table has it.
    pub fn hold(&self, id: &str) -> Option<Hold> {
        lock(&self.retention).holds.get(id).cloned()
    }

    /// Ends the hold named `id` and deletes the log segments nothing needs any more.
    pub fn release_hold(&self, id: &str) -> Result<()> {
        let removed = lock(&self.retention).holds.remove(id);
        drop(removed);
        self.trim_log()
    }

    /// Deletes the log segments before the first LSN the checkpoint, the holds and the PITR
    /// window need.
    pub(crate) fn trim_log(&self) -> Result<()> {
        let current = lock(&self.current).clone();
        let from = lock(&self.retention).log_keep_from(current.lsn, &current.retained);
        self.log.delete_segments_below(from)?;
        Ok(())
    }

    /// Sets the PITR window (`None`: disabled). Snapshots kept for an old window are let go at
    /// the next checkpoint.
    pub fn set_pitr(&self, policy: Option<PitrPolicy>) {
        lock(&self.retention).pitr = policy;
    }

    pub fn pitr(&self) -> Option<PitrPolicy> {
        lock(&self.retention).pitr
    }

    /// Commit time (µs) of the last acknowledged change; 0 if none since open and none logged.
    pub fn last_commit_us(&self) -> u64 {
        let mut writer = lock(&self.writer);
        self.install_acknowledged(&mut writer);
        writer.last_commit_us
    }

    /// The logged records `from..=to` (the log keeps them from the oldest hold, PITR snapshot
    /// or checkpoint on; earlier LSNs are an error).
    pub fn read_log(&self, from: u64, to: u64) -> Result<ddb_log::LogIter> {
        Ok(ddb_log::LogIter::new(
            Arc::clone(&self.io),
            self.log.segments(),
            from,
            to,
        )?)
    }

    /// The snapshots kept for the PITR window (LSN, cut time), and the current checkpoint.
    pub fn pitr_snapshots(&self) -> (Vec<RetainedSnapshot>, RetainedSnapshot) {
        let current = lock(&self.current);
        (
            current.retained.clone(),
            RetainedSnapshot {
                lsn: current.lsn,
                time_ms: current.time_ms,
            },
        )
    }

    /// Whether any backup job holds the table's files.
    pub fn has_holds(&self) -> bool {
        !lock(&self.retention).holds.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(lsn: u64, time_ms: u64) -> RetainedSnapshot {
        RetainedSnapshot { lsn, time_ms }
    }

    #[test]
    fn keeps_the_base_before_the_window_and_the_next_one() {
        let policy = PitrPolicy {
            period_days: 1,
            enabled_at_ms: 1_000,
        };
        let day = 86_400_000;
        // Window start at now - 1 day.
        let now = 10 * day;
        let kept = pitr_keep(
            Some(policy),
            now,
            vec![
                snap(10, 2 * day),
                snap(20, 8 * day),
                snap(30, 9 * day + 1),
                snap(40, 9 * day + 2),
            ],
        );
        assert_eq!(kept, vec![snap(20, 8 * day), snap(30, 9 * day + 1)]);
        assert!(pitr_keep(None, now, vec![snap(1, 1)]).is_empty());
        // Just enabled: the window starts at enabling, the old current snapshot is the base.
        let fresh = PitrPolicy {
            period_days: 35,
            enabled_at_ms: now,
        };
        assert_eq!(
            pitr_keep(Some(fresh), now + 5, vec![snap(7, now - 3)]),
            vec![snap(7, now - 3)]
        );
    }

    #[test]
    fn log_is_kept_from_the_oldest_need() {
        let mut retention = Retention::default();
        assert_eq!(retention.log_keep_from(100, &[]), 101);
        retention.pitr = Some(PitrPolicy {
            period_days: 1,
            enabled_at_ms: 0,
        });
        assert_eq!(
            retention.log_keep_from(100, &[snap(40, 0), snap(70, 1)]),
            41
        );
        retention.holds.insert(
            "b".to_owned(),
            Hold {
                snapshot: None,
                marker_lsn: 90,
            },
        );
        assert_eq!(retention.log_keep_from(100, &[snap(40, 0)]), 1);
    }
}
