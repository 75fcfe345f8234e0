//! Scheduled backups with retention (DynamoDB needs an external scheduler for this; here the
//! database's backup worker runs them while the database is open).
//!
//! A table has at most one schedule, stored in the catalog: an interval or a daily UTC time, a
//! name prefix, and retention by count and/or age. A run is due when the next scheduled time
//! after the last run has passed; a database closed over several due times takes one backup
//! on open, not one per missed time. Retention deletes only AVAILABLE USER backups that this
//! schedule made (recorded in each backup's source facts as `Schedule.Id`), never others.

use ddb_model::{DdbError, Result as DdbResult};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ops::{new_backup_id, now_ms, parse, seconds, table_not_found, validate_backup_name};
use crate::error::Error;

use super::{BackupService, BackupStatus, lock_state};
use crate::error::Result;

const DAY_MS: u64 = 86_400_000;

/// A table's backup schedule (catalog record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupSchedule {
    /// Identifies the schedule's backups; new on every put.
    pub id: String,
    /// Run every this many seconds (≥ 60), or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<u64>,
    /// at this UTC time of day, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_at: Option<String>,
    /// Backups are named `<prefix>-<YYYYMMDDTHHMMSSZ>`.
    pub name_prefix: String,
    /// Keep at most this many of the schedule's backups (newest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Delete the schedule's backups older than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_days: Option<u32>,
    /// When the schedule was put, ms since the epoch.
    pub created_ms: u64,
    /// The last run, ms since the epoch (0: none yet).
    #[serde(default)]
    pub last_run_ms: u64,
}

impl BackupSchedule {
    /// Minutes after midnight UTC of `daily_at`, if it is a valid `HH:MM`.
    pub fn daily_minutes(text: &str) -> Option<u64> {
        let (h, m) = text.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let h: u64 = h.parse().ok()?;
        let m: u64 = m.parse().ok()?;
        (h < 24 && m < 60).then_some(h * 60 + m)
    }

    /// The first scheduled time strictly after `after_ms`.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        if let Some(interval) = self.interval_seconds {
            let step = interval.checked_mul(1000)?.max(1);
            // Times are created + k·step.
            let since = after_ms.saturating_sub(self.created_ms);
            let k = since / step + 1;
            return self.created_ms.checked_add(k.checked_mul(step)?);
        }
        let minutes = Self::daily_minutes(self.daily_at.as_deref()?)?;
        let offset = minutes * 60_000;
        let day_start = after_ms / DAY_MS * DAY_MS;
        let today = day_start + offset;
        Some(if today > after_ms {
            today
        } else {
            today + DAY_MS
        })
    }

    /// Whether a run is due at `now_ms`.
    pub fn due(&self, now_ms: u64) -> bool {
        let from = if self.last_run_ms == 0 {
            self.created_ms
        } else {
            self.last_run_ms
        };
        self.next_after(from).is_some_and(|next| next <= now_ms)
    }
}

impl BackupService {
    /// Periodic work: due scheduled backups, schedule retention, expired SYSTEM backups.
    pub(crate) fn tick(&self, now_ms: u64) -> Result<()> {
        let due: Vec<(String, BackupSchedule)> = self
            .catalog
            .lock()
            .tables
            .iter()
            .filter(|(_, e)| e.status == ddb_model::table::TableStatus::Active)
            .filter_map(|(name, e)| e.backup_schedule.clone().map(|s| (name.clone(), s)))
            .collect();
        for (table, schedule) in due {
            if schedule.due(now_ms) {
                let name = format!("{}-{}", schedule.name_prefix, compact_time(now_ms));
                // Record the run first: a failure is not retried every second.
                self.catalog.update(|catalog| {
                    if let Some(entry) = catalog.tables.get_mut(&table)
                        && let Some(s) = entry.backup_schedule.as_mut()
                        && s.id == schedule.id
                    {
                        s.last_run_ms = now_ms;
                    }
                    Ok(())
                })?;
                let created = self.create(&table, &name, "USER", Some(&schedule.id), false, None);
                let parameters = serde_json::json!({
                    "TableName": table, "BackupName": name, "Trigger": "Schedule",
                    "ScheduleId": schedule.id,
                });
                let outcome = match &created {
                    Ok(entry) => serde_json::json!({"status": "ok", "BackupArn": entry.arn()}),
                    Err(e) => serde_json::json!({"status": "error", "message": e.to_string()}),
                };
                self.audit("CreateBackup", parameters, outcome);
                if let Err(e) = created {
                    eprintln!("ddb-table: scheduled backup of {table} failed: {e}");
                }
            }
            self.apply_retention(&schedule, now_ms)?;
        }
        let expired: Vec<String> = lock_state(&self.state)
            .entries
            .values()
            .filter(|e| {
                e.status == BackupStatus::Available
                    && e.readers == 0
                    && e.expires_at_ms.is_some_and(|t| t <= now_ms)
            })
            .map(|e| e.id.clone())
            .collect();
        for id in expired {
            self.delete_audited(&id, "Expiry")?;
        }
        Ok(())
    }

    /// Deletes backup `id` for the database's own reason `trigger`, with its audit record.
    fn delete_audited(&self, id: &str, trigger: &str) -> Result<()> {
        let deleted = self.delete(id);
        let outcome = match &deleted {
            Ok(entry) => serde_json::json!({"status": "ok", "BackupArn": entry.arn()}),
            Err(e) => serde_json::json!({"status": "error", "message": e.to_string()}),
        };
        self.audit(
            "DeleteBackup",
            serde_json::json!({"BackupId": id, "Trigger": trigger}),
            outcome,
        );
        deleted.map(drop)
    }

    /// Deletes the schedule's AVAILABLE backups beyond its keep-last count or max age.
    fn apply_retention(&self, schedule: &BackupSchedule, now_ms: u64) -> Result<()> {
        let mine: Vec<(String, u64)> = lock_state(&self.state)
            .entries
            .values()
            .filter(|e| {
                e.status == BackupStatus::Available
                    && e.readers == 0
                    && e.identity.backup_type == "USER"
                    && e.schedule_id() == Some(schedule.id.as_str())
            })
            .map(|e| (e.id.clone(), e.identity.request_time_ms))
            .collect();
        // Ids sort by creation time: newest last.
        let keep = schedule
            .keep_last
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let excess = mine.len().saturating_sub(keep);
        for (index, (id, created)) in mine.iter().enumerate() {
            let too_many = index < excess;
            let too_old = schedule
                .max_age_days
                .is_some_and(|d| now_ms.saturating_sub(*created) > u64::from(d) * DAY_MS);
            if too_many || too_old {
                self.delete_audited(id, "ScheduleRetention")?;
            }
        }
        Ok(())
    }
}

/// `YYYYMMDDTHHMMSSZ` (valid in backup names).
pub fn compact_time(ms: u64) -> String {
    let iso = crate::audit::iso8601_ms(ms);
    // 2026-12-02T10:11:12.345Z → 20261202T101112Z
    let digits: String = iso
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    format!("{digits}Z")
}

impl crate::db::Database {
    pub(crate) fn put_backup_schedule(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Spec {
            interval_seconds: Option<u64>,
            daily_at: Option<String>,
            name_prefix: String,
            keep_last: Option<u32>,
            max_age_days: Option<u32>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            #[allow(dead_code)]
            table_name: String,
            schedule: Spec,
        }
        self.check_writable()?;
        let name = crate::db::table_name_of(request)?;
        let input: Input = parse(request)?;
        let spec = input.schedule;
        match (&spec.interval_seconds, &spec.daily_at) {
            (Some(i), None) if *i >= 60 => {}
            (Some(_), None) => {
                return Err(DdbError::validation(
                    "Schedule.IntervalSeconds must be at least 60",
                ));
            }
            (None, Some(t)) if BackupSchedule::daily_minutes(t).is_some() => {}
            (None, Some(t)) => {
                return Err(DdbError::validation(format!(
                    "Schedule.DailyAt must be a UTC time HH:MM, got '{t}'"
                )));
            }
            _ => {
                return Err(DdbError::validation(
                    "Schedule needs exactly one of IntervalSeconds and DailyAt",
                ));
            }
        }
        // The prefix plus `-YYYYMMDDTHHMMSSZ` must be a valid backup name.
        validate_backup_name(&format!("{}-20000101T000000Z", spec.name_prefix))?;
        if spec.keep_last == Some(0) {
            return Err(DdbError::validation("Schedule.KeepLast must be at least 1"));
        }
        if spec.max_age_days == Some(0) {
            return Err(DdbError::validation(
                "Schedule.MaxAgeDays must be at least 1",
            ));
        }
        let now = now_ms();
        let schedule = BackupSchedule {
            id: new_backup_id(&name, now),
            interval_seconds: spec.interval_seconds,
            daily_at: spec.daily_at,
            name_prefix: spec.name_prefix,
            keep_last: spec.keep_last,
            max_age_days: spec.max_age_days,
            created_ms: now,
            last_run_ms: 0,
        };
        self.catalog.update(|catalog| {
            let entry = catalog
                .tables
                .get_mut(&name)
                .ok_or_else(|| Error::Service(table_not_found(&name)))?;
            entry.backup_schedule = Some(schedule.clone());
            Ok(())
        })?;
        self.backups.changed.notify_all();
        Ok(json!({ "BackupSchedule": schedule_json(&schedule) }))
    }

    pub(crate) fn describe_backup_schedule(&self, request: &Value) -> DdbResult<Value> {
        let name = crate::db::table_name_of(request)?;
        let entry = self
            .catalog
            .lock()
            .tables
            .get(&name)
            .cloned()
            .ok_or_else(|| table_not_found(&name))?;
        Ok(match entry.backup_schedule {
            Some(s) => json!({ "BackupSchedule": schedule_json(&s) }),
            None => json!({}),
        })
    }

    pub(crate) fn delete_backup_schedule(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        let name = crate::db::table_name_of(request)?;
        let old = self.catalog.update(|catalog| {
            let entry = catalog
                .tables
                .get_mut(&name)
                .ok_or_else(|| Error::Service(table_not_found(&name)))?;
            Ok(entry.backup_schedule.take())
        })?;
        Ok(match old {
            Some(s) => json!({ "BackupSchedule": schedule_json(&s) }),
            None => json!({}),
        })
    }
}

fn schedule_json(schedule: &BackupSchedule) -> Value {
    let mut value = serde_json::to_value(schedule).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("CreatedDateTime".to_owned(), seconds(schedule.created_ms));
        map.remove("CreatedMs");
        let last = map.remove("LastRunMs");
        if schedule.last_run_ms > 0 {
            map.insert("LastRunDateTime".to_owned(), seconds(schedule.last_run_ms));
        }
        drop(last);
        if let Some(next) = schedule.next_after(if schedule.last_run_ms == 0 {
            schedule.created_ms
        } else {
            schedule.last_run_ms
        }) {
            map.insert("NextRunDateTime".to_owned(), seconds(next));
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(interval: Option<u64>, daily: Option<&str>) -> BackupSchedule {
        BackupSchedule {
            id: "s".to_owned(),
            interval_seconds: interval,
            daily_at: daily.map(str::to_owned),
            name_prefix: "nightly".to_owned(),
            keep_last: None,
            max_age_days: None,
            created_ms: 1_000_000,
            last_run_ms: 0,
        }
    }

    #[test]
    fn interval_runs_are_due_once_whatever_was_missed() {
        let mut s = schedule(Some(60), None);
        assert!(!s.due(1_000_000 + 59_999));
        assert!(s.due(1_000_000 + 60_000));
        // Closed for ten intervals: one run, then the next is an interval after it.
        s.last_run_ms = 1_000_000 + 600_500;
        assert!(!s.due(1_000_000 + 600_600));
        assert_eq!(s.next_after(s.last_run_ms), Some(1_000_000 + 660_000));
    }

    #[test]
    fn daily_time_is_utc_and_validated() {
        assert_eq!(BackupSchedule::daily_minutes("03:30"), Some(210));
        assert_eq!(BackupSchedule::daily_minutes("24:00"), None);
        assert_eq!(BackupSchedule::daily_minutes("3:30"), None);
        let s = schedule(None, Some("00:01"));
        assert_eq!(s.next_after(DAY_MS * 10), Some(DAY_MS * 10 + 60_000));
        assert_eq!(
            s.next_after(DAY_MS * 10 + 60_000),
            Some(DAY_MS * 11 + 60_000)
        );
        assert_eq!(compact_time(0), "19700101T000000Z");
    }
}
