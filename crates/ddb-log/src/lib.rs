//! The segmented log of item mutations: every committed change of a table, in order, in
//! checksummed segment files. The source of truth that backups, checkpoints and point-in-time
//! restores are built from. Normative format: `formats/log/SPEC.md`.
//!
//! - [`format`]: the byte layout (encode/decode, no I/O);
//! - [`segment`]: scanning one segment and classifying how it ends (clean, sealed, torn, corrupt);
//! - [`layout`]: checking a log directory and recovering its newest segment;
//! - [`writer::Log`]: appends with group commit, rotation, durability modes, retention;
//! - [`reader`]: streaming reads from any LSN, seek by time, read-only opens;
//! - [`verify`]: whole-segment and whole-log verification for `ddbfmt verify`;
//!
//! Architecture invariant: all file access goes through `ddb_io::Io`; this crate never touches
//! `std::fs`.
#![forbid(unsafe_code)]

pub mod error;
pub mod format;
pub mod layout;
pub mod reader;
pub mod segment;
pub mod verify;
pub mod writer;

pub use error::{LogError, Result};
pub use format::{Mutation, MutationKind, Record, RecordType};
pub use reader::{LogIter, LogReader};
pub use writer::{Clock, Committed, Durability, Log, LogOptions, SystemClock, Ticket};
