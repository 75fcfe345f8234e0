//! DynamoDB's expression language: condition, filter, key-condition, projection and update
//! expressions, parsed and evaluated with DynamoDB's semantics and error messages. No I/O.
//!
//! Each expression goes through the same stages: [`token`] splits the text, [`parser`] and
//! [`update_parser`] build an [`ast`] that still holds the placeholders as written, a check
//! pass reports the first error in DynamoDB's order and resolves `#names` and `:values`, and
//! the resolved tree is evaluated ([`eval`]) or applied (update, projection).
//!
//! A request with several expressions shares one [`ExpressionAttributes`] and one [`Usage`];
//! after parsing all of them (DynamoDB's order: update, condition, key condition, filter,
//! projection) the request layer calls [`ExpressionAttributes::check_unused`].
//!
//! Errors raised while parsing and checking carry DynamoDB's `Invalid <Parameter>: ` prefix;
//! errors raised while applying an update to an item (a missing operand, a path through a
//! missing map, a wrong type) do not, as in DynamoDB.

mod arith;
pub mod ast;
mod attributes;
mod eval;
mod key_condition;
mod parser;
mod paths;
mod projection;
pub mod reserved;
mod token;
mod update;
mod update_apply;
mod update_parser;
mod validate;

pub use ast::{DocPath, Step};
pub use attributes::{ExpressionAttributes, PLACEHOLDER_BYTES_MAX, Usage};
pub use eval::compare_values;
pub use key_condition::{KeyCondition, SortCondition};
pub use projection::{ProjectionExpression, project_paths};
pub use update::UpdateExpression;
pub use validate::{ResolvedCondition, ResolvedOperand};

use crate::error::{DdbError, ErrorKind, Result};
use crate::value::Item;

/// Which request parameter an expression came from; it names the error prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionKind {
    Condition,
    Filter,
    KeyCondition,
    Projection,
    Update,
}

impl ExpressionKind {
    /// The request parameter, e.g. `ConditionExpression`.
    pub fn parameter(self) -> &'static str {
        match self {
            Self::Condition => "ConditionExpression",
            Self::Filter => "FilterExpression",
            Self::KeyCondition => "KeyConditionExpression",
            Self::Projection => "ProjectionExpression",
            Self::Update => "UpdateExpression",
        }
    }

    /// A `ValidationException` with this expression's `Invalid <Parameter>: ` prefix.
    pub(crate) fn invalid(self, message: impl std::fmt::Display) -> DdbError {
        DdbError::validation(format!("Invalid {}: {message}", self.parameter()))
    }

    /// The empty-expression error, or nothing. A text of only whitespace counts as empty
    /// (DynamoDB's answer for that case is not confirmed; for `""` it is).
    pub(crate) fn check_not_empty(self, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(self.invalid("The expression can not be empty;"));
        }
        Ok(())
    }
}

/// A ConditionExpression or FilterExpression, checked and resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionExpression {
    condition: ResolvedCondition,
}

impl ConditionExpression {
    /// Parses and checks `text` as the expression `kind` (use [`ExpressionKind::Condition`]
    /// or [`ExpressionKind::Filter`]; key conditions have [`KeyCondition::parse`]).
    pub fn parse(
        text: &str,
        kind: ExpressionKind,
        attrs: &ExpressionAttributes<'_>,
        usage: &mut Usage,
    ) -> Result<Self> {
        let condition = parse_checked_condition(text, kind, attrs, usage)?;
        Ok(Self { condition })
    }

    /// Whether the condition holds for `item` (`None`: no such item).
    pub fn evaluate(&self, item: Option<&Item>) -> bool {
        eval::evaluate(&self.condition, item)
    }

    /// [`Self::evaluate`] as a write's condition check: `ConditionalCheckFailedException`
    /// when the condition does not hold.
    pub fn check(&self, item: Option<&Item>) -> Result<()> {
        if self.evaluate(item) {
            Ok(())
        } else {
            Err(DdbError::new(
                ErrorKind::ConditionalCheckFailed,
                "The conditional request failed",
            ))
        }
    }

    pub fn condition(&self) -> &ResolvedCondition {
        &self.condition
    }
}

pub(crate) fn parse_checked_condition(
    text: &str,
    kind: ExpressionKind,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<ResolvedCondition> {
    kind.check_not_empty(text)?;
    let mut parser = parser::Parser::new(text);
    let parsed = parser
        .condition_expression()
        .map_err(|e| kind.invalid(parser.syntax_message(e)))?;
    validate::check_condition(&parsed, parser.redundant_parens, attrs, usage)
        .map_err(|message| kind.invalid(message))
}

/// The parsed (unresolved) tree of a condition, for tools and property tests; the error is the
/// syntax message without prefix.
pub fn parse_condition_syntax(
    text: &str,
) -> Result<ast::Condition<ast::Path, ast::ValueRef>, String> {
    let mut parser = parser::Parser::new(text);
    parser
        .condition_expression()
        .map_err(|e| parser.syntax_message(e))
}

/// The parsed (unresolved) tree of an update expression; the error is the syntax message.
pub fn parse_update_syntax(text: &str) -> Result<ast::Update<ast::Path, ast::ValueRef>, String> {
    let mut parser = parser::Parser::new(text);
    parser
        .update_expression()
        .map_err(|e| parser.syntax_message(e))
}
