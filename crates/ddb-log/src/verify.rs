//! Verification of a segment file or a whole log directory: every byte read and checked, every
//! finding named by file, offset and expectation. Never modifies anything.

use std::path::{Path, PathBuf};

use ddb_io::Io;
use ddb_model::{decode_key, parse_item};

use crate::error::{LogError, Result};
use crate::format::{Frame, HEADER_BYTES, RecordType, SegmentHeader, parse_segment_file_name};
use crate::layout::list_segments;
use crate::segment::{SegmentEnd, SegmentScan, scan_segment};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A torn final write of the newest segment: recovery truncates it; nothing acknowledged is
    /// lost (unless the damage hit an acknowledged final frame, which no reader can tell apart).
    Recoverable,
    /// Damage recovery refuses to guess about.
    Damage,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: PathBuf,
    pub offset: u64,
    pub severity: Severity,
    pub expected: String,
    pub found: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.severity {
            Severity::Recoverable => "torn tail (recoverable: opening the log truncates it here)",
            Severity::Damage => "damage",
        };
        write!(
            f,
            "{}: byte {}: {what}: expected {}, found {}",
            self.path.display(),
            self.offset,
            self.expected,
            self.found
        )
    }
}

/// What verification found in one segment.
#[derive(Debug, Clone)]
pub struct SegmentReport {
    pub path: PathBuf,
    /// The scan, unless the header itself is unreadable.
    pub scan: Option<SegmentScan>,
    pub records: u64,
    pub puts: u64,
    pub deletes: u64,
    pub skipped: u64,
    pub first_lsn: Option<u64>,
    pub last_lsn: Option<u64>,
    pub first_timestamp_us: Option<u64>,
    pub last_timestamp_us: Option<u64>,
    pub findings: Vec<Finding>,
}

/// What verification found in a log directory.
#[derive(Debug, Clone)]
pub struct LogReport {
    pub dir: PathBuf,
    pub segments: Vec<SegmentReport>,
    pub findings: Vec<Finding>,
}

impl LogReport {
    /// Sound: no finding at all (a torn tail is a finding too).
    pub fn is_sound(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Verifies one segment file. `deep` also checks that every key decodes and every put's value is
/// an item in canonical item JSON. `newest` says whether a torn tail is recoverable (it is only
/// in the newest segment of a log).
pub fn verify_segment(io: &dyn Io, path: &Path, deep: bool, newest: bool) -> Result<SegmentReport> {
    let mut report = SegmentReport {
        path: path.to_owned(),
        scan: None,
        records: 0,
        puts: 0,
        deletes: 0,
        skipped: 0,
        first_lsn: None,
        last_lsn: None,
        first_timestamp_us: None,
        last_timestamp_us: None,
        findings: Vec::new(),
    };
    let named_first = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_segment_file_name);
    let expected_first = match named_first {
        Some(lsn) => Ok(lsn),
        // A segment copied under another name: trust its header for the first LSN.
        None => header_first_lsn(io, path),
    };
    let mut findings = Vec::new();
    let scan = expected_first.and_then(|expected_first| {
        scan_segment(io, path, expected_first, |frame, offset| {
            tally(&mut report, frame);
            if deep {
                check_deep(path, frame, offset, &mut findings);
            }
            Ok(())
        })
    });
    let scan = match scan {
        Ok(scan) => scan,
        Err(LogError::Corrupt {
            path,
            offset,
            expected,
            found,
        }) => {
            report.findings.push(Finding {
                path,
                offset,
                severity: Severity::Damage,
                expected,
                found,
            });
            return Ok(report);
        }
        Err(other) => return Err(other),
    };
    report.findings.extend(findings);
    match &scan.end {
        SegmentEnd::Clean | SegmentEnd::Sealed => {}
        SegmentEnd::TornTail { error, .. } => report.findings.push(Finding {
            path: path.to_owned(),
            offset: error.offset,
            severity: if newest {
                Severity::Recoverable
            } else {
                Severity::Damage
            },
            expected: error.expected.clone(),
            found: error.found.clone(),
        }),
        SegmentEnd::Corrupt { error, .. } => report.findings.push(Finding {
            path: path.to_owned(),
            offset: error.offset,
            severity: Severity::Damage,
            expected: error.expected.clone(),
            found: error.found.clone(),
        }),
    }
    report.scan = Some(scan);
    Ok(report)
}

/// Verifies a log directory: every segment read whole, the seal chain, and continuity.
pub fn verify_log(io: &dyn Io, dir: &Path, deep: bool) -> Result<LogReport> {
    let names = list_segments(io, dir)?;
    let mut report = LogReport {
        dir: dir.to_owned(),
        segments: Vec::new(),
        findings: Vec::new(),
    };
    let count = names.len();
    let mut expected_next: Option<u64> = None;
    for (index, (first_lsn, path)) in names.into_iter().enumerate() {
        let newest = index + 1 == count;
        if let Some(expected) = expected_next
            && expected != first_lsn
        {
            report.findings.push(Finding {
                path: path.clone(),
                offset: 0,
                severity: Severity::Damage,
                expected: format!(
                    "the segment starting at LSN {expected} (where the previous one ends)"
                ),
                found: format!("a segment starting at LSN {first_lsn}"),
            });
        }
        let segment = verify_segment(io, &path, deep, newest)?;
        let sealed = segment.scan.as_ref().is_some_and(SegmentScan::is_sealed);
        if !newest && segment.findings.is_empty() && !sealed {
            report.findings.push(Finding {
                path: path.clone(),
                offset: segment.scan.as_ref().map_or(0, |s| s.valid_end),
                severity: Severity::Damage,
                expected: "a seal frame (a newer segment follows this one)".into(),
                found: "the end of the file".into(),
            });
        }
        expected_next = segment.scan.as_ref().map(SegmentScan::next_lsn);
        report.findings.extend(segment.findings.iter().cloned());
        report.segments.push(segment);
    }
    Ok(report)
}

fn tally(report: &mut SegmentReport, frame: &Frame) {
    for record in &frame.records {
        report.records += 1;
        match record.record_type {
            RecordType::Put => report.puts += 1,
            RecordType::Delete => report.deletes += 1,
            RecordType::Skippable(_) => report.skipped += 1,
        }
        report.first_lsn.get_or_insert(record.lsn);
        report.last_lsn = Some(record.lsn);
        report.first_timestamp_us.get_or_insert(record.timestamp_us);
        report.last_timestamp_us = Some(record.timestamp_us);
    }
}

/// Keys must decode; a put's value must be an item whose canonical form is exactly its bytes.
fn check_deep(path: &Path, frame: &Frame, frame_offset: u64, findings: &mut Vec<Finding>) {
    let mut offset = frame_offset + crate::format::FRAME_HEADER_BYTES as u64;
    for record in &frame.records {
        let key_offset = offset + crate::format::RECORD_HEADER_BYTES as u64;
        let value_offset = key_offset + record.key.len() as u64;
        let mut finding = |at: u64, expected: &str, found: String| {
            findings.push(Finding {
                path: path.to_owned(),
                offset: at,
                severity: Severity::Damage,
                expected: expected.into(),
                found,
            });
        };
        if let Err(e) = decode_key(&record.key) {
            finding(
                key_offset + e.offset as u64,
                "a key in the order-preserving encoding",
                format!("{e} (LSN {})", record.lsn),
            );
        }
        if record.record_type == RecordType::Put {
            match std::str::from_utf8(&record.value)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    parse_item(text)
                        .map_err(|e| e.to_string())
                        .map(|item| (item.to_canonical_json(), text))
                }) {
                Ok((canonical, text)) if canonical != text => {
                    finding(
                        value_offset,
                        "an item in canonical item JSON",
                        format!("non-canonical JSON (LSN {})", record.lsn),
                    );
                }
                Ok(_) => {}
                Err(e) => finding(
                    value_offset,
                    "an item in canonical item JSON",
                    format!("{e} (LSN {})", record.lsn),
                ),
            }
        }
        offset = value_offset + record.value.len() as u64;
    }
}

fn header_first_lsn(io: &dyn Io, path: &Path) -> Result<u64> {
    let file = io.open(path, ddb_io::OpenOptions::read_only())?;
    let mut bytes = [0u8; HEADER_BYTES];
    let read = file.read_at(&mut bytes, 0)?;
    let header = SegmentHeader::decode(bytes.get(..read).unwrap_or_default())
        .map_err(|e| LogError::corrupt(path, e.offset, e.expected, e.found))?;
    Ok(header.first_lsn)
}
