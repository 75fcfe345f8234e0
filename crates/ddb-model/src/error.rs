//! The service error: DynamoDB's error names with a message a person can act on.
//!
//! Every operation of the toolkit that DynamoDB also has fails with the error DynamoDB would
//! return, so scripts written against `aws dynamodb` keep working. The CLI prints these as
//! `An error occurred (<Name>) when calling the <Operation> operation: <message>`.

use std::fmt;

/// Which DynamoDB error this is. The variant names are the exception names without the
/// `Exception` suffix; [`ErrorKind::name`] gives the full name DynamoDB uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or breaks a data-model rule.
    Validation,
    /// The request body could not be deserialised (wrong JSON type, bad base64, ...).
    Serialization,
    ResourceNotFound,
    ResourceInUse,
    TableNotFound,
    TableAlreadyExists,
    TableInUse,
    IndexNotFound,
    BackupNotFound,
    BackupInUse,
    ContinuousBackupsUnavailable,
    PointInTimeRecoveryUnavailable,
    InvalidRestoreTime,
    LimitExceeded,
    ItemCollectionSizeLimitExceeded,
    ConditionalCheckFailed,
    ExportNotFound,
    InvalidExportTime,
    ExportConflict,
    ImportNotFound,
    ImportConflict,
    InternalServerError,
}

impl ErrorKind {
    /// The name DynamoDB reports for this error, e.g. `ValidationException`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Validation => "ValidationException",
            Self::Serialization => "SerializationException",
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ResourceInUse => "ResourceInUseException",
            Self::TableNotFound => "TableNotFoundException",
            Self::TableAlreadyExists => "TableAlreadyExistsException",
            Self::TableInUse => "TableInUseException",
            Self::IndexNotFound => "IndexNotFoundException",
            Self::BackupNotFound => "BackupNotFoundException",
            Self::BackupInUse => "BackupInUseException",
            Self::ContinuousBackupsUnavailable => "ContinuousBackupsUnavailableException",
            Self::PointInTimeRecoveryUnavailable => "PointInTimeRecoveryUnavailableException",
            Self::InvalidRestoreTime => "InvalidRestoreTimeException",
            Self::LimitExceeded => "LimitExceededException",
            Self::ItemCollectionSizeLimitExceeded => "ItemCollectionSizeLimitExceededException",
            Self::ConditionalCheckFailed => "ConditionalCheckFailedException",
            Self::ExportNotFound => "ExportNotFoundException",
            Self::InvalidExportTime => "InvalidExportTimeException",
            Self::ExportConflict => "ExportConflictException",
            Self::ImportNotFound => "ImportNotFoundException",
            Self::ImportConflict => "ImportConflictException",
            Self::InternalServerError => "InternalServerError",
        }
    }

    /// Every kind, for exhaustive tests and for mapping names back to kinds.
    pub const ALL: [ErrorKind; 22] = [
        Self::Validation,
        Self::Serialization,
        Self::ResourceNotFound,
        Self::ResourceInUse,
        Self::TableNotFound,
        Self::TableAlreadyExists,
        Self::TableInUse,
        Self::IndexNotFound,
        Self::BackupNotFound,
        Self::BackupInUse,
        Self::ContinuousBackupsUnavailable,
        Self::PointInTimeRecoveryUnavailable,
        Self::InvalidRestoreTime,
        Self::LimitExceeded,
        Self::ItemCollectionSizeLimitExceeded,
        Self::ConditionalCheckFailed,
        Self::ExportNotFound,
        Self::InvalidExportTime,
        Self::ExportConflict,
        Self::ImportNotFound,
        Self::ImportConflict,
        Self::InternalServerError,
    ];

    /// The kind with DynamoDB name `name`, if there is one.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A DynamoDB service error: its kind, its message, and for a failed condition the item it
/// was checked against when the request asked for it (`ReturnValuesOnConditionCheckFailure`).
///
/// `Display` prints `<Name>: <message>`, the form DynamoDB's SDKs print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.name())]
pub struct DdbError {
    kind: ErrorKind,
    message: String,
    item: Option<Box<crate::value::Item>>,
}

impl DdbError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            item: None,
        }
    }

    /// The same error carrying `item` (the `Item` member of a `ConditionalCheckFailedException`
    /// for `ReturnValuesOnConditionCheckFailure = ALL_OLD`).
    #[must_use]
    pub fn with_item(mut self, item: Option<crate::value::Item>) -> Self {
        self.item = item.map(Box::new);
        self
    }

    /// The item the error carries, if any.
    pub fn item(&self) -> Option<&crate::value::Item> {
        self.item.as_deref()
    }

    /// A `ValidationException`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }

    /// A `SerializationException`: the request JSON does not have the expected shape.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Serialization, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The DynamoDB name of the error, e.g. `ValidationException`.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context` put in front of the message (`"<context>: <message>"`),
    /// e.g. the line of an input file the error came from.
    #[must_use]
    pub fn with_context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

/// Result with a [`DdbError`].
pub type Result<T, E = DdbError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.name()), "duplicate name {}", kind.name());
            assert_eq!(ErrorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ErrorKind::from_name("NoSuchException"), None);
    }

    #[test]
    fn display_is_name_colon_message() {
        let err = DdbError::validation("bad thing");
        assert_eq!(err.to_string(), "ValidationException: bad thing");
        assert_eq!(err.with_context("line 3").message(), "line 3: bad thing");
    }
}
