//! UpdateExpression: checking (in DynamoDB's order) and applying to an item.
//!
//! Check order, as dynalite's update grammar (built against DynamoDB) reports errors: a
//! reserved word; an unknown function; a clause written twice; an undefined name; an
//! undefined value; overlapping paths; conflicting paths; an `ADD`/`DELETE` operand of the
//! wrong type; a function's operand count or types.
//!
//! Applying: every `SET` right-hand side is evaluated against the item as it was before the
//! update (`SET a = :v, b = a` copies the old `a`); then the actions run clause by clause.
//! `SET` on a list index past the end appends; `REMOVE` of a missing attribute or an index
//! past the end does nothing, and list elements are removed highest index first so that each
//! index names an element of the original list; `ADD` creates a missing attribute; `DELETE`
//! removes the attribute when its set becomes empty.

use std::collections::BTreeSet;

use crate::error::{DdbError, Result};
use crate::schema::KeyDef;
use crate::value::{AttributeValue, Item};

use super::ExpressionKind;
use super::ast::{Call, DocPath, Operand, Path, SetValue, Step, Update, UpdateAction, ValueRef};
use super::attributes::{ExpressionAttributes, Usage};
use super::parser::{ParsedOperand, Parser};
use super::paths::first_clash;
use super::update_apply::{add, delete, evaluate, remove, set};
use super::validate::{reserved_word, resolve_operand, resolve_path};

type ResolvedSetValue = SetValue<DocPath, AttributeValue>;
type Action = UpdateAction<DocPath, AttributeValue>;

/// A checked UpdateExpression.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateExpression {
    actions: Vec<Action>,
}

const UPDATE_FUNCTIONS: [&str; 2] = ["if_not_exists", "list_append"];

impl UpdateExpression {
    pub fn parse(text: &str, attrs: &ExpressionAttributes<'_>, usage: &mut Usage) -> Result<Self> {
        let kind = ExpressionKind::Update;
        kind.check_not_empty(text)?;
        let mut parser = Parser::new(text);
        let parsed = parser
            .update_expression()
            .map_err(|e| kind.invalid(parser.syntax_message(e)))?;
        check(&parsed, attrs, usage).map_err(|message| kind.invalid(message))
    }

    /// The resolved actions, clause by clause.
    pub fn actions(&self) -> &[UpdateAction<DocPath, AttributeValue>] {
        &self.actions
    }

    /// DynamoDB refuses updates of key attributes, before reading the item.
    pub fn check_key_attributes(&self, key: &KeyDef) -> Result<()> {
        for action in &self.actions {
            if let Some(Step::Key(name)) = action.path().0.first()
                && key.contains(name)
            {
                return Err(DdbError::validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute \
                         {name}. This attribute is part of the key"
                )));
            }
        }
        Ok(())
    }

    /// The item after the update (`None`: the item does not exist yet and is created). The
    /// caller adds the key attributes of a new item and validates the result (size, nesting).
    pub fn apply(&self, item: Option<&Item>) -> Result<Item> {
        let original = item.cloned().unwrap_or_default();
        let mut sets = Vec::new();
        for action in &self.actions {
            if let UpdateAction::Set { path, value } = action {
                sets.push((path, evaluate(value, &original)?));
            }
        }
        let mut updated = original;
        for (path, value) in sets {
            set(&mut updated, path, value)?;
        }
        let mut removes: Vec<&DocPath> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                UpdateAction::Remove(path) => Some(path),
                _ => None,
            })
            .collect();
        removes.sort_by(|a, b| b.cmp(a));
        for path in removes {
            remove(&mut updated, path)?;
        }
        for action in &self.actions {
            match action {
                UpdateAction::Add(path, value) => add(&mut updated, path, value)?,
                UpdateAction::Delete(path, value) => delete(&mut updated, path, value)?,
                _ => {}
            }
        }
        Ok(updated)
    }
}

// ---- checking -------------------------------------------------------------------------------

fn set_value_operands<'v>(value: &'v SetValue<Path, ValueRef>, out: &mut Vec<&'v ParsedOperand>) {
    match value {
        SetValue::Operand(operand) => out.push(operand),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            set_value_operands(a, out);
            set_value_operands(b, out);
        }
    }
}

/// Every operand in text order, calls followed by their arguments.
fn flatten<'v>(operand: &'v ParsedOperand, out: &mut Vec<&'v ParsedOperand>) {
    out.push(operand);
    if let Operand::Call(call) = operand {
        for arg in &call.args {
            flatten(arg, out);
        }
    }
}

fn operand_type_name(value: &AttributeValue) -> Option<&'static str> {
    Some(match value {
        AttributeValue::S(_) => "STRING",
        AttributeValue::N(_) => "NUMBER",
        AttributeValue::B(_) => "BINARY",
        AttributeValue::Null => "NULL",
        AttributeValue::Bool(_) => "BOOLEAN",
        AttributeValue::L(_) => "LIST",
        AttributeValue::M(_) => "MAP",
        _ => return None,
    })
}

fn check(
    parsed: &Update<Path, ValueRef>,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<UpdateExpression, String> {
    let actions: Vec<&UpdateAction<Path, ValueRef>> = parsed
        .clauses
        .iter()
        .flat_map(|(_, actions)| actions)
        .collect();
    let mut paths: Vec<&Path> = Vec::new();
    let mut operands: Vec<&ParsedOperand> = Vec::new();
    for action in &actions {
        paths.push(action.path());
        if let UpdateAction::Set { value, .. } = action {
            let mut top = Vec::new();
            set_value_operands(value, &mut top);
            for operand in top {
                flatten(operand, &mut operands);
            }
        }
    }
    let operand_paths = operands.iter().filter_map(|o| match o {
        Operand::Path(path) => Some(path),
        _ => None,
    });
    if let Some(message) = paths
        .iter()
        .copied()
        .chain(operand_paths)
        .find_map(reserved_word)
    {
        return Err(message);
    }
    let calls: Vec<&Call<Path, ValueRef>> = operands
        .iter()
        .filter_map(|o| match o {
            Operand::Call(call) => Some(call),
            _ => None,
        })
        .collect();
    if let Some(call) = calls
        .iter()
        .find(|c| !UPDATE_FUNCTIONS.contains(&c.name.as_str()))
    {
        return Err(format!("Invalid function name; function: {}", call.name));
    }
    let mut seen = BTreeSet::new();
    for (kind, _) in &parsed.clauses {
        if !seen.insert(kind.keyword()) {
            return Err(format!(
                "The \"{}\" section can only be used once in an update expression;",
                kind.keyword()
            ));
        }
    }
    // Names throughout, then values throughout, each in text order.
    let mut targets = Vec::new();
    for path in &paths {
        targets.push(resolve_path(path, attrs, usage)?);
    }
    for operand in &operands {
        if let Operand::Path(path) = operand {
            resolve_path(path, attrs, usage)?;
        }
    }
    for action in &actions {
        if let UpdateAction::Add(_, value) | UpdateAction::Delete(_, value) = action {
            attrs.value(&value.0, usage)?;
        }
        if let UpdateAction::Set { value, .. } = action {
            let mut top = Vec::new();
            set_value_operands(value, &mut top);
            for operand in top {
                resolve_operand(operand, attrs, usage)?;
            }
        }
    }
    if let Some(message) = first_clash(&targets.iter().collect::<Vec<_>>()) {
        return Err(message);
    }
    for action in &actions {
        let (operator, value) = match action {
            UpdateAction::Add(_, value) => ("ADD", value),
            UpdateAction::Delete(_, value) => ("DELETE", value),
            _ => continue,
        };
        let value = attrs.value(&value.0, usage)?;
        let allowed = operator == "ADD" && matches!(value, AttributeValue::N(_));
        if let (Some(name), false) = (operand_type_name(value), allowed) {
            return Err(format!(
                "Incorrect operand type for operator or function; operator: {operator}, operand \
                 type: {name}"
            ));
        }
    }
    for action in &actions {
        if let UpdateAction::Set { value, .. } = action {
            check_set_value(value, attrs)?;
        }
    }
    let mut resolved = Vec::new();
    for (action, path) in actions.iter().zip(targets) {
        resolved.push(match action {
            UpdateAction::Set { value, .. } => UpdateAction::Set {
                path,
                value: resolve_set_value(value, attrs, usage)?,
            },
            UpdateAction::Remove(_) => UpdateAction::Remove(path),
            UpdateAction::Add(_, v) => UpdateAction::Add(path, attrs.value(&v.0, usage)?.clone()),
            UpdateAction::Delete(_, v) => {
                UpdateAction::Delete(path, attrs.value(&v.0, usage)?.clone())
            }
        });
    }
    Ok(UpdateExpression { actions: resolved })
}

/// The type of an operand known without the item (a value's own type).
fn immediate_type(
    operand: &ParsedOperand,
    attrs: &ExpressionAttributes<'_>,
) -> Option<&'static str> {
    match operand {
        Operand::Value(value) => attrs.peek_value(&value.0).map(AttributeValue::type_name),
        _ => None,
    }
}

fn check_set_value(
    value: &SetValue<Path, ValueRef>,
    attrs: &ExpressionAttributes<'_>,
) -> Result<(), String> {
    let type_error = |function: &str, t: &str| {
        format!(
            "Incorrect operand type for operator or function; operator or function: {function}, \
             operand type: {t}"
        )
    };
    match value {
        SetValue::Operand(operand) => check_operand(operand, attrs),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let symbol = if matches!(value, SetValue::Plus(..)) {
                "+"
            } else {
                "-"
            };
            for side in [a, b] {
                check_set_value(side, attrs)?;
                if let SetValue::Operand(operand) = &**side {
                    match immediate_type(operand, attrs) {
                        Some(t) if t != "N" => return Err(type_error(symbol, t)),
                        _ => {}
                    }
                }
            }
            Ok(())
        }
    }
}

fn check_operand(operand: &ParsedOperand, attrs: &ExpressionAttributes<'_>) -> Result<(), String> {
    let Operand::Call(call) = operand else {
        return Ok(());
    };
    if call.args.len() != 2 {
        return Err(format!(
            "Incorrect number of operands for operator or function; operator or function: {}, \
             number of operands: {}",
            call.name,
            call.args.len()
        ));
    }
    if call.name == "if_not_exists" && !matches!(call.args.first(), Some(Operand::Path(_))) {
        return Err(
            "Operator or function requires a document path; operator or function: if_not_exists"
                .to_owned(),
        );
    }
    if call.name == "list_append" {
        for arg in &call.args {
            match immediate_type(arg, attrs) {
                Some(t) if t != "L" => {
                    return Err(format!(
                        "Incorrect operand type for operator or function; operator or function: \
                         list_append, operand type: {t}"
                    ));
                }
                _ => {}
            }
        }
    }
    call.args
        .iter()
        .try_for_each(|arg| check_operand(arg, attrs))
}

fn resolve_set_value(
    value: &SetValue<Path, ValueRef>,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<ResolvedSetValue, String> {
    Ok(match value {
        SetValue::Operand(operand) => SetValue::Operand(resolve_operand(operand, attrs, usage)?),
        SetValue::Plus(a, b) => SetValue::Plus(
            Box::new(resolve_set_value(a, attrs, usage)?),
            Box::new(resolve_set_value(b, attrs, usage)?),
        ),
        SetValue::Minus(a, b) => SetValue::Minus(
            Box::new(resolve_set_value(a, attrs, usage)?),
            Box::new(resolve_set_value(b, attrs, usage)?),
        ),
    })
}
