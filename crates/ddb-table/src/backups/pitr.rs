//! Point-in-time recovery settings: UpdateContinuousBackups and DescribeContinuousBackups.
//! The window's retention is the tables' ([`crate::retention`]).

use ddb_model::table::TableStatus;
use ddb_model::{DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ops::{now_ms, parse, seconds, table_not_found};
use crate::catalog::PitrSettings;
use crate::db::Database;
use crate::retention::PitrPolicy;
use crate::table::lock;

impl Database {
    pub(crate) fn update_continuous_backups(&self, request: &Value) -> DdbResult<Value> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Spec {
            point_in_time_recovery_enabled: bool,
            recovery_period_in_days: Option<i64>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", deny_unknown_fields)]
        struct Input {
            #[allow(dead_code)]
            table_name: String,
            point_in_time_recovery_specification: Option<Spec>,
        }
        self.check_writable()?;
        let name = crate::db::table_name_of(request)?;
        let input: Input = parse(request)?;
        let Some(spec) = input.point_in_time_recovery_specification else {
            return Err(DdbError::validation(
                "1 validation error detected: Value null at 'pointInTimeRecoverySpecification' \
                 failed to satisfy constraint: Member must not be null",
            ));
        };
        if let Some(days) = spec.recovery_period_in_days {
            if !spec.point_in_time_recovery_enabled {
                return Err(DdbError::validation(
                    "RecoveryPeriodInDays can only be set when PointInTimeRecoveryEnabled is true",
                ));
            }
            if !(1..=35).contains(&days) {
                return Err(DdbError::validation(format!(
                    "1 validation error detected: Value '{days}' at \
                     'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy \
                     constraint: Member must have value between 1 and 35"
                )));
            }
        }
        let _control = lock(&self.backups.control);
        let entry = self
            .catalog
            .lock()
            .tables
            .get(&name)
            .cloned()
            .ok_or_else(|| table_not_found(&name))?;
        if entry.status != TableStatus::Active {
            return Err(DdbError::new(
                ErrorKind::TableInUse,
                format!("Table is not ACTIVE: {name}"),
            ));
        }
        if !spec.point_in_time_recovery_enabled && self.backups.table_busy(&entry.id) {
            return Err(DdbError::new(
                ErrorKind::TableInUse,
                format!(
                    "A backup of table {name} is in progress: point in time recovery cannot be \
                     disabled until it completes"
                ),
            ));
        }
        let now = now_ms();
        let next = match (spec.point_in_time_recovery_enabled, &entry.pitr) {
            (false, _) => None,
            (true, Some(old)) => Some(PitrSettings {
                recovery_period_in_days: spec
                    .recovery_period_in_days
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(old.recovery_period_in_days),
                enabled_at_ms: old.enabled_at_ms,
            }),
            (true, None) => Some(PitrSettings {
                recovery_period_in_days: spec
                    .recovery_period_in_days
                    .and_then(|d| u32::try_from(d).ok())
                    .unwrap_or(35),
                enabled_at_ms: now,
            }),
        };
        self.catalog.update(|catalog| {
            if let Some(e) = catalog.tables.get_mut(&name) {
                e.pitr = next.clone();
            }
            Ok(())
        })?;
        if let Some(table) = lock(&self.tables).get(&name) {
            table.set_pitr(next.as_ref().map(PitrSettings::policy));
        }
        self.continuous_backups(&name)
    }

    pub(crate) fn describe_continuous_backups(&self, request: &Value) -> DdbResult<Value> {
        let name = crate::db::table_name_of(request)?;
        self.continuous_backups(&name)
    }

    fn continuous_backups(&self, name: &str) -> DdbResult<Value> {
        let entry = self
            .catalog
            .lock()
            .tables
            .get(name)
            .cloned()
            .ok_or_else(|| table_not_found(name))?;
        let pitr = match &entry.pitr {
            None => json!({ "PointInTimeRecoveryStatus": "DISABLED" }),
            Some(settings) => {
                let (earliest, latest) = self.restorable_window(name, settings)?;
                json!({
                    "PointInTimeRecoveryStatus": "ENABLED",
                    "RecoveryPeriodInDays": settings.recovery_period_in_days,
                    "EarliestRestorableDateTime": seconds(earliest),
                    "LatestRestorableDateTime": seconds(latest),
                })
            }
        };
        Ok(json!({
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": pitr,
            }
        }))
    }

    /// `[EarliestRestorableDateTime, LatestRestorableDateTime]` in ms: the window start, and
    /// the last commit (no artificial lag), never before the start.
    pub fn restorable_window(&self, name: &str, settings: &PitrSettings) -> DdbResult<(u64, u64)> {
        let earliest = settings.policy().window_start_ms(now_ms());
        let last_commit_ms = lock(&self.tables)
            .get(name)
            .map_or(0, |t| t.last_commit_us() / 1000);
        Ok((earliest, last_commit_ms.max(earliest)))
    }
}

impl PitrSettings {
    pub fn policy(&self) -> PitrPolicy {
        PitrPolicy {
            period_days: self.recovery_period_in_days,
            enabled_at_ms: self.enabled_at_ms,
        }
    }
}
