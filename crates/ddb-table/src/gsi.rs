//! The GSI applier: the queue the write path fills (in LSN order, after acknowledgement), the
//! thread that applies it to every GSI, the freeze a checkpoint asks for, back-pressure, and
//! catch-up and lag.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use crate::error::Result;
use crate::index;
use crate::layers;
use crate::table::{GsiLag, GsiState, Shape, Table, Work, lock};

impl Table {
    /// Changes queued for the GSI applier.
    pub fn gsi_queue_len(&self) -> usize {
        lock(&self.gsi).queue.len()
    }

    /// How far the GSIs are behind the table.
    pub fn gsi_lag(&self) -> GsiLag {
        let gsi = lock(&self.gsi);
        let lsns = gsi.queued_lsn.saturating_sub(gsi.applied_lsn);
        let micros = if lsns == 0 {
            0
        } else {
            self.config
                .clock
                .now_us()
                .saturating_sub(gsi.applied_timestamp_us)
        };
        GsiLag { lsns, micros }
    }

    /// Waits until every change acknowledged before the call is applied to the GSIs (at once
    /// for a table without GSIs). Without background threads nothing applies them meanwhile:
    /// the answer is whether they are applied now.
    pub fn wait_gsi_caught_up(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut gsi = lock(&self.gsi);
        let target = gsi.queued_lsn;
        loop {
            if gsi.applied_lsn >= target {
                return true;
            }
            if !self.config.background {
                return false;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            gsi = self
                .gsi_changed
                .wait_timeout(gsi, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Queues GSI work (in LSN order: called with the writer lock held).
    pub(crate) fn queue_gsi(&self, work: Vec<Work>) {
        let Some(last) = work.last().map(|w| w.lsn) else {
            return;
        };
        let mut gsi = lock(&self.gsi);
        gsi.queue.extend(work);
        gsi.queued_lsn = gsi.queued_lsn.max(last);
        drop(gsi);
        self.gsi_changed.notify_all();
    }

    /// Back-pressure: waits (holding no lock the applier needs) while the GSI queue is over its
    /// limit. Without background threads nothing would drain it, so nothing waits.
    pub(crate) fn wait_for_gsi_room(&self) {
        if !self.config.background {
            return;
        }
        let mut gsi = lock(&self.gsi);
        if gsi.queue.len() > self.config.gsi_queue_max_changes {
            gsi.writer_waits += 1;
            self.gsi_changed.notify_all();
        }
        while gsi.queue.len() > self.config.gsi_queue_max_changes && !gsi.shutdown {
            gsi = self
                .gsi_changed
                .wait(gsi)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stops (or resumes) applying changes to the GSIs: they queue up, reads of the GSIs fall
    /// behind, and writers wait once the queue is full. For tests and operations that need to
    /// hold the GSIs still; a checkpoint waits for a paused applier too.
    pub fn pause_gsi_applier(&self, paused: bool) {
        lock(&self.gsi).paused = paused;
        self.gsi_changed.notify_all();
    }

    /// Times a writer has waited for room in the GSI queue since open.
    pub fn gsi_writer_waits(&self) -> u64 {
        lock(&self.gsi).writer_waits
    }

    /// Waits until `done` holds for the GSI state (woken by every change to it), or `timeout`.
    pub fn wait_gsi_state(
        &self,
        timeout: Duration,
        mut done: impl FnMut(usize, u64) -> bool,
    ) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut gsi = lock(&self.gsi);
        loop {
            if done(gsi.queue.len(), gsi.writer_waits) {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            gsi = self
                .gsi_changed
                .wait_timeout(gsi, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Applies one change to every GSI that started before it.
    pub(crate) fn apply_gsi_work(&self, shape: &Shape, work: &Work) {
        let mut changes = Vec::new();
        let mut stat_changes = Vec::new();
        let mut violations = Vec::new();
        for gsi in shape.gsis() {
            if shape
                .gsi_start
                .get(&gsi.name)
                .is_none_or(|start| work.lsn <= *start)
            {
                continue;
            }
            let (delete, put) =
                index::changes(&shape.schema, gsi, work.old.as_deref(), work.new.as_deref());
            if delete.is_some() || put.is_some() {
                let old_size = work
                    .old
                    .as_deref()
                    .and_then(|o| index::entry_size(&shape.schema, gsi, o));
                stat_changes.push((
                    gsi.name.clone(),
                    old_size,
                    put.as_ref().map(|e| e.item.size_bytes()),
                ));
            }
            if shape.backfilling.contains(&gsi.name)
                && work.new.as_deref().is_some_and(|n| {
                    index::is_violation(gsi, n)
                        && !work
                            .old
                            .as_deref()
                            .is_some_and(|o| index::is_violation(gsi, o))
                })
            {
                violations.push(gsi.name.clone());
            }
            changes.push((gsi.name.clone(), delete, put));
        }
        {
            let trees = self.trees_mut();
            for (name, delete, put) in changes {
                if let Some(tree) = trees.indexes.get(&name) {
                    let mut delta = layers::write(&tree.active);
                    if let Some(delete) = delete {
                        delta.insert(delete, None);
                    }
                    if let Some(put) = put {
                        delta.insert(put.key, Some(put.bytes));
                    }
                }
            }
        }
        let mut gsi = lock(&self.gsi);
        for (name, old, new) in stat_changes {
            let stats = gsi.stats.entry(name).or_default();
            stats.add_size(old, -1);
            stats.add_size(new, 1);
        }
        for name in violations {
            *gsi.violations.entry(name).or_default() += 1;
        }
    }

    /// Freezes the GSI deltas for a checkpoint at `cut` if one asked and the applier is there.
    /// Called with the GSI state locked; takes the trees lock.
    fn freeze_gsis_if_asked(&self, gsi: &mut GsiState) -> bool {
        let Some(cut) = gsi.freeze_at else {
            return false;
        };
        // Every queued change up to the cut is applied: none is being applied or waiting.
        // (Not `applied_lsn >= cut`: the cut need not be an LSN with GSI work.)
        let applied = gsi.in_flight_lsn.is_none_or(|l| l > cut)
            && gsi.queue.front().is_none_or(|w| w.lsn > cut);
        if applied {
            self.freeze_gsis(gsi);
        }
        applied
    }

    /// Freezes the deltas of every GSI that is not being backfilled (a backfilling GSI's
    /// deltas stay active until its contents are built) and records the stats at the freeze.
    pub(crate) fn freeze_gsis(&self, gsi: &mut GsiState) {
        let cut = gsi.freeze_at.take().unwrap_or(gsi.applied_lsn);
        let shape = self.shape();
        let mut trees = self.trees_mut();
        for index in shape
            .gsis()
            .filter(|g| !shape.backfilling.contains(&g.name))
        {
            if let Some(tree) = trees.indexes.get_mut(&index.name) {
                tree.freeze();
            }
        }
        gsi.frozen_at = Some(cut);
        gsi.frozen_stats = gsi.stats.clone();
    }

    pub(crate) fn applier_loop(self: Arc<Self>) {
        let mut gsi = lock(&self.gsi);
        loop {
            if self.freeze_gsis_if_asked(&mut gsi) {
                self.gsi_changed.notify_all();
            }
            if gsi.shutdown {
                return;
            }
            // A checkpoint's freeze comes before any change after its cut.
            let blocked = gsi
                .freeze_at
                .is_some_and(|cut| gsi.queue.front().is_some_and(|w| w.lsn > cut));
            let next = if blocked || gsi.paused {
                None
            } else {
                gsi.queue.pop_front()
            };
            let Some(work) = next else {
                gsi = self
                    .gsi_changed
                    .wait(gsi)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            gsi.in_flight_lsn = Some(work.lsn);
            drop(gsi);
            let shape = self.shape();
            self.apply_gsi_work(&shape, &work);
            gsi = lock(&self.gsi);
            gsi.in_flight_lsn = None;
            gsi.applied_lsn = gsi.applied_lsn.max(work.lsn);
            gsi.applied_timestamp_us = work.timestamp_us;
            self.gsi_changed.notify_all();
            if gsi.queue.is_empty() {
                self.events.notify();
            }
        }
    }

    /// Without background threads: applies queued GSI work and runs requested jobs now.
    pub fn run_pending_work(&self) -> Result<()> {
        loop {
            let work = lock(&self.gsi).queue.pop_front();
            let Some(work) = work else { break };
            let shape = self.shape();
            self.apply_gsi_work(&shape, &work);
            let mut gsi = lock(&self.gsi);
            gsi.applied_lsn = gsi.applied_lsn.max(work.lsn);
            gsi.applied_timestamp_us = work.timestamp_us;
        }
        self.run_jobs_once()
    }
}
