//! The audit log (the CloudTrail analogue): every control-plane action, one JSON line each, in
//! the file `AUDIT` at the root of the database directory, hash-chained with SHA-256 so that an
//! edit, deletion, insertion or reordering of lines is detected (`formats/database/SPEC.md`,
//! "Audit log").
//!
//! Line `n` is the compact JSON of [`AuditRecord`] with its fields in declared order (`hash`
//! last) and `\n`. Its `hash` is the lowercase hex SHA-256 of the previous record's hash (64
//! zeros for the first), a `\n`, and the line's bytes without its `,"hash":"…"` member (the
//! record's canonical JSON without `hash`). The hash covers the bytes as written, so a verifier
//! needs no JSON serialiser of its own.
//!
//! What the chain does not catch: truncation of the tail, and a wholesale rewrite by someone who
//! recomputes every hash. A head (`seq:hash`) recorded elsewhere catches both
//! ([`AuditReport::check_head`], `ddbfmt audit --verify --expect-head`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ddb_io::{Io, IoFile, OpenOptions};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The audit log's file name, at the root of the database directory.
pub const AUDIT_FILE: &str = "AUDIT";

/// The `prev` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex digits of a SHA-256.
const HASH_HEX_LEN: usize = 64;
/// The hash member every line ends with: `,"hash":"` 64 hex digits `"}`.
const HASH_MEMBER_PREFIX: &[u8] = b",\"hash\":\"";
const HASH_MEMBER_LEN: usize = HASH_MEMBER_PREFIX.len() + HASH_HEX_LEN + 2;

/// One control-plane action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    /// `time_ms` as ISO 8601 UTC with milliseconds, e.g. `2026-12-02T10:11:12.345Z`.
    pub time: String,
    /// Milliseconds since the Unix epoch (the database clock; not guaranteed monotonic).
    pub time_ms: u64,
    /// The API operation name, e.g. `CreateBackup`.
    pub action: String,
    /// The request as given.
    pub parameters: Value,
    /// `{"status":"ok", …}` or `{"status":"error","error":"<kind>","message":"…"}`.
    pub outcome: Value,
    /// The previous record's hash ([`GENESIS_HASH`] for seq 1).
    pub prev: String,
    /// SHA-256 over `prev`, `\n` and this record's canonical JSON without `hash`.
    pub hash: String,
}

/// The record without its hash, in the same field order: the canonical bytes that are hashed.
#[derive(Serialize)]
struct Unhashed<'a> {
    seq: u64,
    time: &'a str,
    time_ms: u64,
    action: &'a str,
    parameters: &'a Value,
    outcome: &'a Value,
    prev: &'a str,
}

fn encode_error(e: &serde_json::Error) -> Error {
    Error::Unavailable(format!("cannot encode an audit record: {e}"))
}

impl AuditRecord {
    /// Record `seq` after the record whose hash is `prev`, with its hash computed.
    pub fn new(
        seq: u64,
        prev: &str,
        time_ms: u64,
        action: &str,
        parameters: Value,
        outcome: Value,
    ) -> Result<Self> {
        let mut record = Self {
            seq,
            time: iso8601_ms(time_ms),
            time_ms,
            action: action.to_owned(),
            parameters,
            outcome,
            prev: prev.to_owned(),
            hash: String::new(),
        };
        record.hash = chain_hash(&record.prev, &record.unhashed_json()?);
        Ok(record)
    }

    /// The canonical JSON of the record without `hash`: serde_json's compact form, fields in
    /// declared order, object keys inside `parameters` and `outcome` sorted.
    pub fn unhashed_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&Unhashed {
            seq: self.seq,
            time: &self.time,
            time_ms: self.time_ms,
            action: &self.action,
            parameters: &self.parameters,
            outcome: &self.outcome,
            prev: &self.prev,
        })
        .map_err(|e| encode_error(&e))
    }

    /// The line as the file holds it: the canonical JSON with `hash`, then `\n`.
    pub fn to_line(&self) -> Result<Vec<u8>> {
        let mut line = serde_json::to_vec(self).map_err(|e| encode_error(&e))?;
        line.push(b'\n');
        Ok(line)
    }
}

/// `hex(sha256(prev ‖ "\n" ‖ unhashed))`.
pub fn chain_hash(prev: &str, unhashed: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(unhashed);
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_hash_hex(text: &[u8]) -> bool {
    text.len() == HASH_HEX_LEN
        && text
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Milliseconds since the Unix epoch as ISO 8601 UTC with milliseconds.
pub fn iso8601_ms(time_ms: u64) -> String {
    let ms = time_ms % 1_000;
    let total_s = time_ms / 1_000;
    let (hour, minute, second) = (total_s / 3_600 % 24, total_s / 60 % 60, total_s % 60);
    // At most u64::MAX / 86_400_000 days: an i64 with room for the arithmetic below.
    let days = i64::try_from(total_s / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// One thing wrong with a line of the audit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's start.
    pub offset: u64,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, byte {}: expected {}, found {}",
            self.line, self.offset, self.expected, self.found
        )
    }
}

/// What reading the whole audit file found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditReport {
    /// Every line that decodes as a record, in file order (also those with problems).
    pub records: Vec<AuditRecord>,
    /// [`Self::findings`] as text: each names the line number, byte offset, expected and found.
    pub problems: Vec<String>,
    /// The offset of a torn last line (an interrupted append, which opening truncates away).
    pub torn_tail: Option<u64>,
    /// The problems, structured.
    pub findings: Vec<AuditProblem>,
}

impl AuditReport {
    /// No problems and no torn tail.
    pub fn is_sound(&self) -> bool {
        self.findings.is_empty() && self.torn_tail.is_none()
    }

    /// The last record's `(seq, hash)`; `(0, 64 zeros)` for an empty log.
    pub fn head(&self) -> (u64, String) {
        self.records
            .last()
            .map_or_else(|| (0, GENESIS_HASH.to_owned()), |r| (r.seq, r.hash.clone()))
    }

    /// Checks a head recorded earlier (`seq`, `hash`): the log must still hold record `seq`
    /// with that hash (later records may follow it). Catches truncation and a rewritten chain,
    /// which the chain alone cannot. The error says what was found instead.
    pub fn check_head(&self, seq: u64, hash: &str) -> std::result::Result<(), String> {
        if seq == 0 {
            return if hash == GENESIS_HASH {
                Ok(())
            } else {
                Err(format!(
                    "head 0:{hash}: the empty log's head is 0:{GENESIS_HASH}"
                ))
            };
        }
        match self.records.iter().find(|r| r.seq == seq) {
            Some(r) if r.hash == hash => Ok(()),
            Some(r) => Err(format!(
                "expected record {seq} to have the recorded hash {hash}, found {}: the log was rewritten",
                r.hash
            )),
            None => Err(format!(
                "expected a record {seq} with hash {hash} (the recorded head), found the log ends at record {}: it was truncated",
                self.head().0
            )),
        }
    }
}

/// Decodes one line (without its `\n`): the record and the bytes its hash covers.
fn decode_line(line: &[u8]) -> std::result::Result<(AuditRecord, Vec<u8>), (String, String)> {
    let expected_record = || {
        "a JSON audit record (seq, time, time_ms, action, parameters, outcome, prev, hash)"
            .to_owned()
    };
    if let Err(e) = std::str::from_utf8(line) {
        return Err((
            "UTF-8 text".to_owned(),
            format!("an invalid byte at byte {} of the line", e.valid_up_to()),
        ));
    }
    let record: AuditRecord =
        serde_json::from_slice(line).map_err(|e| (expected_record(), e.to_string()))?;
    let split = line.len().saturating_sub(HASH_MEMBER_LEN);
    let member = line.get(split..).unwrap_or_default();
    let framed = member
        .strip_prefix(HASH_MEMBER_PREFIX)
        .and_then(|rest| rest.strip_suffix(b"\"}"))
        .filter(|hex| is_hash_hex(hex) && *hex == record.hash.as_bytes());
    if framed.is_none() {
        return Err((
            "the line to end with its hash member `,\"hash\":\"<64 lowercase hex digits>\"}`"
                .to_owned(),
            format!("`{}`", String::from_utf8_lossy(member)),
        ));
    }
    let mut body = line.get(..split).unwrap_or_default().to_vec();
    body.push(b'}');
    Ok((record, body))
}

/// Checks the bytes of an audit file (read from `path`, named in nothing: the caller does).
pub fn check_bytes(bytes: &[u8]) -> AuditReport {
    let mut report = AuditReport::default();
    // The next record's seq and prev, unless a line that does not decode broke the chain.
    let mut expect: Option<(u64, String)> = Some((1, GENESIS_HASH.to_owned()));
    let mut offset = 0usize;
    let mut line_no = 0u64;
    while let Some(rest) = bytes.get(offset..).filter(|rest| !rest.is_empty()) {
        line_no += 1;
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            report.torn_tail = Some(offset as u64);
            break;
        };
        let line = rest.get(..end).unwrap_or_default();
        let next = offset + end + 1;
        let mut problem = |expected: String, found: String| {
            report.findings.push(AuditProblem {
                line: line_no,
                offset: offset as u64,
                expected,
                found,
            });
        };
        match decode_line(line) {
            Err(_) if next == bytes.len() => {
                report.torn_tail = Some(offset as u64);
                break;
            }
            Err((expected, found)) => {
                problem(expected, found);
                expect = None;
            }
            Ok((record, body)) => {
                if let Some((seq, prev)) = &expect {
                    if record.seq != *seq {
                        problem(
                            format!("seq {seq} (one after the previous record's)"),
                            format!("seq {}", record.seq),
                        );
                    }
                    if record.prev != *prev {
                        let which = if *seq == 1 && line_no == 1 {
                            "64 zeros, the first record's"
                        } else {
                            "the previous record's hash"
                        };
                        problem(
                            format!("prev {prev} ({which})"),
                            format!("prev {}", record.prev),
                        );
                    }
                }
                let computed = chain_hash(&record.prev, &body);
                if computed != record.hash {
                    problem(
                        format!(
                            "hash {computed} (SHA-256 of prev, a newline and the line without its hash member)"
                        ),
                        format!("hash {}", record.hash),
                    );
                }
                let time = iso8601_ms(record.time_ms);
                if record.time != time {
                    problem(
                        format!("time {time} (time_ms {} in ISO 8601)", record.time_ms),
                        format!("time {}", record.time),
                    );
                }
                expect = Some((record.seq.saturating_add(1), record.hash.clone()));
                report.records.push(record);
            }
        }
        offset = next;
    }
    report.problems = report.findings.iter().map(ToString::to_string).collect();
    report
}

fn read_all(file: &dyn IoFile, path: &Path) -> Result<Vec<u8>> {
    let len = usize::try_from(file.len()?).map_err(|_| Error::Corrupt {
        path: path.to_owned(),
        message: "larger than memory".to_owned(),
    })?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

/// Reads and checks the whole audit file at `path` without modifying it. A missing file is an
/// I/O error (`NotFound`): callers that treat it as an empty log check first.
pub fn read(io: &dyn Io, path: &Path) -> Result<AuditReport> {
    let file = io.open(path, OpenOptions::read_only())?;
    Ok(check_bytes(&read_all(file.as_ref(), path)?))
}

/// The appender of `dir/AUDIT`. Appends are serialised internally; each is durable on return.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    state: Mutex<Appender>,
}

#[derive(Debug)]
struct Appender {
    file: Arc<dyn IoFile>,
    /// The file's length: where the next line goes.
    len: u64,
    seq: u64,
    hash: String,
    /// Why an earlier append failed: the file's tail is then unknown, so appends stop.
    failed: Option<String>,
}

impl AuditLog {
    /// Opens (creating if missing) `dir/AUDIT` through `io` and validates the chain. A torn last
    /// line (no trailing newline, or a final line that does not decode: an interrupted append)
    /// is truncated away and the file fsynced; any other damage is [`Error::CorruptState`]
    /// naming the offset and line, and the file is left as it is.
    pub fn open(io: Arc<dyn Io>, dir: &Path) -> Result<Self> {
        let path = dir.join(AUDIT_FILE);
        let existed = io.exists(&path)?;
        let file = io.open(
            &path,
            OpenOptions {
                create: true,
                ..OpenOptions::read_write()
            },
        )?;
        if !existed {
            file.sync_all()?;
            io.sync_dir(dir)?;
        }
        let bytes = read_all(file.as_ref(), &path)?;
        let report = check_bytes(&bytes);
        if let Some(p) = report.findings.first() {
            return Err(Error::CorruptState {
                path,
                offset: p.offset,
                expected: format!("{} (line {}), found {}", p.expected, p.line, p.found),
            });
        }
        let mut len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if let Some(torn) = report.torn_tail {
            file.set_len(torn)?;
            file.sync_all()?;
            len = torn;
        }
        let (seq, hash) = report.head();
        Ok(Self {
            path,
            state: Mutex::new(Appender {
                file,
                len,
                seq,
                hash,
                failed: None,
            }),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Appender>> {
        self.state.lock().map_err(|_| {
            Error::Unavailable(format!(
                "{}: an append panicked; the audit log is closed",
                self.path.display()
            ))
        })
    }

    /// Appends one record durably (write + fdatasync before returning). `now_ms` is the
    /// caller's clock. After a failed write the log refuses further appends (the file's tail is
    /// unknown until it is reopened, which truncates a torn line).
    pub fn append(
        &self,
        now_ms: u64,
        action: &str,
        parameters: Value,
        outcome: Value,
    ) -> Result<AuditRecord> {
        let mut state = self.lock()?;
        if let Some(why) = &state.failed {
            return Err(Error::Unavailable(format!(
                "{}: an earlier append failed ({why}); reopen the database",
                self.path.display()
            )));
        }
        let seq = state
            .seq
            .checked_add(1)
            .ok_or_else(|| Error::Unavailable(format!("{}: seq overflow", self.path.display())))?;
        let record = AuditRecord::new(seq, &state.hash, now_ms, action, parameters, outcome)?;
        let line = record.to_line()?;
        let line_len = u64::try_from(line.len()).unwrap_or(u64::MAX);
        match state.file.write_all_at_durable(&line, state.len) {
            Ok(()) => {
                state.len = state.len.saturating_add(line_len);
                state.seq = seq;
                state.hash.clone_from(&record.hash);
                Ok(record)
            }
            Err(e) => {
                // Best effort: cut what may have been written; reopening truncates a torn line
                // in any case.
                let _ = state.file.set_len(state.len);
                state.failed = Some(e.to_string());
                Err(Error::Io(ddb_io::error_at("append to", &self.path, e)))
            }
        }
    }

    /// The last record's `(seq, hash)`; `(0, 64 zeros)` before the first.
    pub fn head(&self) -> (u64, String) {
        // A poisoned lock still holds the last durable head: appends update it only on success.
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (state.seq, state.hash.clone())
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn log_in(dir: &Path) -> AuditLog {
        AuditLog::open(Arc::new(ddb_io::StdIo::new()), dir).unwrap()
    }

    fn three(dir: &Path) -> Vec<u8> {
        let log = log_in(dir);
        log.append(
            1_764_633_600_123,
            "CreateTable",
            json!({"TableName": "Movies", "BillingMode": "PAY_PER_REQUEST"}),
            json!({"status": "ok", "TableArn": "arn:aws:dynamodb:ddblocal:000000000000:table/Movies"}),
        )
        .unwrap();
        log.append(
            1_764_633_601_000,
            "CreateBackup",
            json!({"TableName": "Movies", "BackupName": "nightly"}),
            json!({"status": "ok"}),
        )
        .unwrap();
        log.append(
            1_764_633_602_500,
            "DeleteTable",
            json!({"TableName": "Nope"}),
            json!({"status": "error", "error": "ResourceNotFoundException", "message": "no table"}),
        )
        .unwrap();
        std::fs::read(dir.join(AUDIT_FILE)).unwrap()
    }

    #[test]
    fn time_is_iso8601_utc_with_milliseconds() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(1_709_210_096_500), "2024-02-29T12:34:56.500Z");
        assert_eq!(iso8601_ms(1_796_206_272_345), "2026-12-02T10:11:12.345Z");
        // The largest time does not overflow.
        assert!(iso8601_ms(u64::MAX).ends_with(".615Z"));
    }

    #[test]
    fn the_line_is_the_canonical_json_with_the_hash_last_and_keys_sorted() {
        let record = AuditRecord::new(
            1,
            GENESIS_HASH,
            5,
            "UpdateTable",
            json!({"b": 1, "a": {"z": true, "y": null}}),
            json!({"status": "ok"}),
        )
        .unwrap();
        let line = String::from_utf8(record.to_line().unwrap()).unwrap();
        let unhashed = String::from_utf8(record.unhashed_json().unwrap()).unwrap();
        assert_eq!(
            unhashed,
            format!(
                r#"{{"seq":1,"time":"1970-01-01T00:00:00.005Z","time_ms":5,"action":"UpdateTable","parameters":{{"a":{{"y":null,"z":true}},"b":1}},"outcome":{{"status":"ok"}},"prev":"{GENESIS_HASH}"}}"#
            ),
            "serde_json must not preserve insertion order (feature `preserve_order`)"
        );
        let hashed = format!(
            "{},\"hash\":\"{}\"}}\n",
            &unhashed[..unhashed.len() - 1],
            record.hash
        );
        assert_eq!(line, hashed);
        assert_eq!(
            record.hash,
            chain_hash(GENESIS_HASH, unhashed.as_bytes()),
            "hash over prev, newline, unhashed"
        );
    }

    #[test]
    fn appends_survive_reopening_and_the_chain_continues() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = three(dir.path());
        let report = check_bytes(&bytes);
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!(report.records.len(), 3);
        let log = log_in(dir.path());
        assert_eq!(log.head(), report.head());
        assert_eq!(log.head().0, 3);
        let fourth = log
            .append(
                1_764_633_700_000,
                "DeleteBackup",
                json!({"BackupArn": "x"}),
                json!({"status": "ok"}),
            )
            .unwrap();
        assert_eq!(fourth.seq, 4);
        assert_eq!(fourth.prev, report.records[2].hash);
        assert_eq!(log.head(), (4, fourth.hash.clone()));
        let report = read(&ddb_io::StdIo::new(), &dir.path().join(AUDIT_FILE)).unwrap();
        assert!(report.is_sound(), "{:?}", report.problems);
        assert_eq!(report.records.last(), Some(&fourth));
        assert_eq!(report.records[0].action, "CreateTable");
        assert_eq!(report.records[0].time, "2025-12-02T00:00:00.123Z");
    }

    #[test]
    fn an_empty_or_new_log_starts_at_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_in(dir.path());
        assert_eq!(log.head(), (0, GENESIS_HASH.to_owned()));
        assert!(dir.path().join(AUDIT_FILE).exists());
        let first = log
            .append(1, "CreateTable", json!({}), json!({"status": "ok"}))
            .unwrap();
        assert_eq!((first.seq, first.prev.as_str()), (1, GENESIS_HASH));
    }

    #[test]
    fn seq_gaps_are_detected_and_refused_on_open() {
        let dir = tempfile::tempdir().unwrap();
        three(dir.path());
        let path = dir.path().join(AUDIT_FILE);
        // A record 5 after record 3, correctly chained and hashed: only the gap is wrong.
        let (_, hash) = log_in(dir.path()).head();
        let gap = AuditRecord::new(
            5,
            &hash,
            9,
            "CreateBackup",
            json!({}),
            json!({"status":"ok"}),
        )
        .unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let offset = bytes.len() as u64;
        bytes.extend_from_slice(&gap.to_line().unwrap());
        std::fs::write(&path, &bytes).unwrap();
        let report = check_bytes(&bytes);
        assert_eq!(report.findings.len(), 1, "{:?}", report.problems);
        assert_eq!(
            (report.findings[0].line, report.findings[0].offset),
            (4, offset)
        );
        assert!(
            report.problems[0].contains("expected seq 4"),
            "{}",
            report.problems[0]
        );
        match AuditLog::open(Arc::new(ddb_io::StdIo::new()), dir.path()) {
            Err(Error::CorruptState {
                path: p,
                offset: o,
                expected,
            }) => {
                assert_eq!((p, o), (path.clone(), offset));
                assert!(expected.contains("line 4"), "{expected}");
            }
            other => panic!("expected CorruptState, got {other:?}"),
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "open leaves damage alone"
        );
    }

    #[test]
    fn a_torn_tail_is_reported_by_read_and_truncated_by_open() {
        let dir = tempfile::tempdir().unwrap();
        let good = three(dir.path());
        let path = dir.path().join(AUDIT_FILE);
        for tail in [
            &b"{\"seq\":4,\"time\":\"20"[..],
            b"\0\0\0\0",
            b"{\"seq\":4}\n",
            b"\n",
        ] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(tail);
            std::fs::write(&path, &bytes).unwrap();
            let report = read(&ddb_io::StdIo::new(), &path).unwrap();
            assert_eq!(report.torn_tail, Some(good.len() as u64));
            assert!(report.findings.is_empty(), "{:?}", report.problems);
            assert_eq!(report.records.len(), 3);
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "read does not modify");
            let log = log_in(dir.path());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                good,
                "open truncates the torn line"
            );
            assert_eq!(log.head().0, 3);
            let next = log
                .append(2, "UpdateTable", json!({}), json!({"status":"ok"}))
                .unwrap();
            assert_eq!(next.seq, 4);
            assert!(read(&ddb_io::StdIo::new(), &path).unwrap().is_sound());
            std::fs::write(&path, &good).unwrap();
        }
    }

    #[test]
    fn every_single_byte_change_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let good = three(dir.path());
        assert!(check_bytes(&good).is_sound());
        let mut checked = 0u64;
        for i in 0..good.len() {
            for value in 0..=255u8 {
                if value == good[i] {
                    continue;
                }
                let mut damaged = good.clone();
                damaged[i] = value;
                let report = check_bytes(&damaged);
                assert!(
                    !report.findings.is_empty() || report.torn_tail.is_some(),
                    "byte {i} set to {value:#04x} was accepted"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, good.len() as u64 * 255);
    }

    #[test]
    fn deletions_insertions_and_reordering_are_detected() {
        let dir = tempfile::tempdir().unwrap();
        let good = three(dir.path());
        let lines: Vec<&[u8]> = good.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 3);
        let join = |order: &[usize]| {
            order
                .iter()
                .flat_map(|&i| lines[i].to_vec())
                .collect::<Vec<u8>>()
        };
        for order in [
            &[0, 2][..],
            &[1, 2],
            &[0, 2, 1],
            &[1, 0, 2],
            &[0, 1, 1, 2],
            &[0, 0, 1, 2],
        ] {
            let report = check_bytes(&join(order));
            assert!(!report.findings.is_empty(), "{order:?} accepted");
        }
        // Truncation of whole records is not detected by the chain; a recorded head catches it.
        let report = check_bytes(&join(&[0, 1]));
        assert!(report.is_sound());
        let (seq, hash) = check_bytes(&good).head();
        assert!(check_bytes(&good).check_head(seq, &hash).is_ok());
        assert!(
            check_bytes(&good).check_head(2, &report.head().1).is_ok(),
            "an older head still checks"
        );
        let err = report.check_head(seq, &hash).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }
}
