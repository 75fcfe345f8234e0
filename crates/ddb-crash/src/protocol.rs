//! The child's stdout protocol: one line per event, flushed as it happens.
//!
//! ```text
//! START <generation> <pid>                    before Database::open
//! OPENED <generation>                         after it
//! BEGIN <seq> <summary>\t<op JSON>            before a request
//! ACK <seq> <summary>\t<ack JSON>             after the engine acknowledged it
//! ERR <seq> <error name>: <message>           the request was refused (no effect)
//! MARK <table> <time µs> <seq>                a PITR restore time, taken after ACK <seq>
//! FATAL <message>                             an unexpected error; the child exits 2
//! DONE <generation> <ops>                     the workload ended
//! ```
//!
//! The parent's model applies an op on its ACK; the op of a BEGIN without an ACK (or ERR) when
//! the child died may have happened or not, and the check resolves it by what the database
//! shows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One logical operation of the workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// CreateTable of a base table (its definition is [`crate::schema::definition`]).
    CreateTable {
        table: String,
    },
    Put {
        table: String,
        item: Value,
    },
    /// UpdateItem `SET` of each member of `set`, `REMOVE` of each of `remove`.
    Update {
        table: String,
        key: Value,
        set: BTreeMap<String, Value>,
        remove: Vec<String>,
    },
    Delete {
        table: String,
        key: Value,
    },
    /// BatchWriteItem: atomic per table.
    Batch {
        writes: Vec<BatchWrite>,
    },
    Checkpoint {
        table: String,
    },
    /// CreateBackup; its cut is the table at the request.
    Backup {
        table: String,
        name: String,
    },
    DeleteBackup {
        arn: String,
    },
    /// RestoreTableFromBackup.
    Restore {
        target: String,
        arn: String,
    },
    /// UpdateContinuousBackups (enable).
    EnablePitr {
        table: String,
    },
    /// RestoreTableToPointInTime at `time_us` (a MARK), or the latest restorable time.
    Pitr {
        target: String,
        source: String,
        time_us: Option<u64>,
    },
    CreateGsi {
        table: String,
        index: String,
    },
    DeleteGsi {
        table: String,
        index: String,
    },
    /// DeleteTable of a restored table.
    DeleteTable {
        table: String,
    },
    /// Waits for background work (no effect on the model).
    Wait {
        what: WaitWhat,
    },
}

/// One request of a BatchWriteItem: a put (`item`) or a delete (`key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchWrite {
    pub table: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Value>,
}

/// What a Wait op waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitWhat {
    Backup(String),
    Restore(String),
    Gsi { table: String, index: String },
}

/// What an ACK carries besides its sequence number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// CreateBackup's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// A Wait's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Start {
        generation: u64,
    },
    Opened,
    Begin {
        seq: String,
        summary: String,
        op: Op,
    },
    Ack {
        seq: String,
        summary: String,
        ack: Ack,
    },
    Err {
        seq: String,
        message: String,
    },
    Mark {
        table: String,
        time_us: u64,
        seq: String,
    },
    Fatal(String),
    Done,
}

impl Op {
    /// A short human-readable description (the line's summary).
    pub fn summary(&self) -> String {
        let key = |key: &Value| -> String {
            let part = |name: &str| {
                key.get(name)
                    .and_then(|v| v.as_object())
                    .and_then(|m| m.values().next())
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            match (part("pk"), part("sk")) {
                (Some(pk), Some(sk)) => format!("{pk}/{sk}"),
                (Some(pk), None) => pk,
                _ => "?".to_owned(),
            }
        };
        let v = |item: &Value| {
            item.get("v")
                .and_then(|v| v.get("N"))
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        match self {
            Op::CreateTable { table } => format!("create-table {table}"),
            Op::Put { table, item } => format!("put {table} {} v={}", key(item), v(item)),
            Op::Update {
                table,
                key: k,
                set,
                remove,
            } => format!(
                "update {table} {} set={} remove={}",
                key(k),
                set.keys().cloned().collect::<Vec<_>>().join(","),
                remove.join(",")
            ),
            Op::Delete { table, key: k } => format!("delete {table} {}", key(k)),
            Op::Batch { writes } => {
                let mut per: BTreeMap<&str, usize> = BTreeMap::new();
                for w in writes {
                    *per.entry(w.table.as_str()).or_default() += 1;
                }
                let parts: Vec<String> = per.iter().map(|(t, n)| format!("{t}:{n}")).collect();
                format!("batch {}", parts.join(" "))
            }
            Op::Checkpoint { table } => format!("checkpoint {table}"),
            Op::Backup { table, name } => format!("backup {table} {name}"),
            Op::DeleteBackup { arn } => format!("delete-backup {arn}"),
            Op::Restore { target, arn } => format!("restore {target} {arn}"),
            Op::EnablePitr { table } => format!("enable-pitr {table}"),
            Op::Pitr {
                target,
                source,
                time_us,
            } => match time_us {
                Some(t) => format!("pitr {target} {source} {t}"),
                None => format!("pitr {target} {source} latest"),
            },
            Op::CreateGsi { table, index } => format!("gsi {table} {index}"),
            Op::DeleteGsi { table, index } => format!("delete-gsi {table} {index}"),
            Op::DeleteTable { table } => format!("delete-table {table}"),
            Op::Wait { what } => match what {
                WaitWhat::Backup(arn) => format!("wait backup {arn}"),
                WaitWhat::Restore(t) => format!("wait restore {t}"),
                WaitWhat::Gsi { table, index } => format!("wait gsi {table} {index}"),
            },
        }
    }
}

pub fn begin_line(seq: &str, op: &Op) -> String {
    let json = serde_json::to_string(op).unwrap_or_default();
    format!("BEGIN {seq} {}\t{json}", op.summary())
}

pub fn ack_line(seq: &str, summary: &str, ack: &Ack) -> String {
    let json = serde_json::to_string(ack).unwrap_or_default();
    format!("ACK {seq} {summary}\t{json}")
}

/// Parses one complete line (without its newline).
pub fn parse_line(line: &str) -> Result<Line, String> {
    let bad = || format!("unparsable child line: {line:?}");
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let mut fields = rest.split(' ');
    let mut next = || fields.next().map(str::to_owned).ok_or_else(bad);
    match word {
        "START" => Ok(Line::Start {
            generation: next()?.parse().map_err(|_| bad())?,
        }),
        "OPENED" => Ok(Line::Opened),
        "DONE" => Ok(Line::Done),
        "FATAL" => Ok(Line::Fatal(rest.to_owned())),
        "MARK" => Ok(Line::Mark {
            table: next()?,
            time_us: next()?.parse().map_err(|_| bad())?,
            seq: next()?,
        }),
        "ERR" => {
            let (seq, message) = rest.split_once(' ').ok_or_else(bad)?;
            Ok(Line::Err {
                seq: seq.to_owned(),
                message: message.to_owned(),
            })
        }
        "BEGIN" | "ACK" => {
            let (head, json) = rest.rsplit_once('\t').ok_or_else(bad)?;
            let (seq, summary) = head.split_once(' ').unwrap_or((head, ""));
            let (seq, summary) = (seq.to_owned(), summary.to_owned());
            if word == "BEGIN" {
                let op = serde_json::from_str(json).map_err(|e| format!("{}: {e}", bad()))?;
                Ok(Line::Begin { seq, summary, op })
            } else {
                let ack = serde_json::from_str(json).map_err(|e| format!("{}: {e}", bad()))?;
                Ok(Line::Ack { seq, summary, ack })
            }
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_line_parses_back() {
        let op = Op::Put {
            table: "tb1".into(),
            item: json!({"pk": {"S": "p01"}, "sk": {"N": "3"}, "v": {"N": "7"}, "pay": {"S": "a\tb"}}),
        };
        assert_eq!(op.summary(), "put tb1 p01/3 v=7");
        assert_eq!(
            parse_line(&begin_line("0.1", &op)).unwrap(),
            Line::Begin {
                seq: "0.1".into(),
                summary: op.summary(),
                op
            }
        );
        let ack = Ack {
            arn: Some("arn:aws:dynamodb:ddblocal:000000000000:table/tb1/backup/1-2".into()),
            done: None,
        };
        assert_eq!(
            parse_line(&ack_line("3.9", "backup tb1 b3_9", &ack)).unwrap(),
            Line::Ack {
                seq: "3.9".into(),
                summary: "backup tb1 b3_9".into(),
                ack
            }
        );
        assert_eq!(
            parse_line("MARK tb2 1796226025666501 2.17").unwrap(),
            Line::Mark {
                table: "tb2".into(),
                time_us: 1_796_226_025_666_501,
                seq: "2.17".into()
            }
        );
        assert_eq!(
            parse_line("ERR 1.4 BackupInUseException: in use").unwrap(),
            Line::Err {
                seq: "1.4".into(),
                message: "BackupInUseException: in use".into()
            }
        );
        assert_eq!(
            parse_line("START 4 123").unwrap(),
            Line::Start { generation: 4 }
        );
        assert!(parse_line("BEGIN 1.1 put tb1 {\"op\":").is_err());
        assert!(parse_line("HELLO").is_err());
    }
}
