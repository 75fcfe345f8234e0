//! Checking a parsed condition in DynamoDB's order and resolving its placeholders.
//!
//! DynamoDB reports one error per request, so the order of the checks decides the message.
//! The order, as dynalite (built by testing against DynamoDB) and ExtendDB's dual-target
//! tests show it: redundant parentheses; an unknown function; a function used where it is not
//! allowed; a reserved word; then, one simple condition at a time in the order written, the
//! first of: an undefined placeholder, a wrong operand count, identical operands, a wrong
//! operand type.

use crate::value::AttributeValue;

use super::ast::{
    Call, Comparator, Condition, DocPath, Operand, Path, PathElement, Step, ValueRef,
};
use super::attributes::{ExpressionAttributes, Usage};
use super::parser::{ParsedCondition, ParsedOperand};
use super::reserved::is_reserved;

/// A condition ready to evaluate.
pub type ResolvedCondition = Condition<DocPath, AttributeValue>;
pub type ResolvedOperand = Operand<DocPath, AttributeValue>;
type ParsedCall = Call<Path, ValueRef>;

/// The functions a condition may call, with their operand counts.
const CONDITION_FUNCTIONS: [(&str, usize); 6] = [
    ("attribute_exists", 1),
    ("attribute_not_exists", 1),
    ("attribute_type", 2),
    ("begins_with", 2),
    ("contains", 2),
    ("size", 1),
];

/// The type names `attribute_type` accepts, in the order DynamoDB lists them.
const TYPE_NAMES: &str = "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}";

pub fn reserved_word(path: &Path) -> Option<String> {
    path.0.iter().find_map(|element| match element {
        PathElement::Name(name) if is_reserved(name) => Some(format!(
            "Attribute name is a reserved keyword; reserved keyword: {name}"
        )),
        _ => None,
    })
}

/// Substitutes `#names` in a path.
pub fn resolve_path(
    path: &Path,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<DocPath, String> {
    path.0
        .iter()
        .map(|element| {
            Ok(match element {
                PathElement::Name(name) => Step::Key(name.clone()),
                PathElement::Placeholder(placeholder) => {
                    Step::Key(attrs.name(placeholder, usage)?.to_owned())
                }
                PathElement::Index(index) => {
                    Step::Index(usize::try_from(*index).map_err(|_| "index".to_owned())?)
                }
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(DocPath)
}

pub fn resolve_operand(
    operand: &ParsedOperand,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<ResolvedOperand, String> {
    Ok(match operand {
        Operand::Path(path) => Operand::Path(resolve_path(path, attrs, usage)?),
        Operand::Value(value) => Operand::Value(attrs.value(&value.0, usage)?.clone()),
        Operand::Call(call) => Operand::Call(Call {
            name: call.name.clone(),
            args: call
                .args
                .iter()
                .map(|arg| resolve_operand(arg, attrs, usage))
                .collect::<Result<_, _>>()?,
        }),
    })
}

/// Validates `condition` and resolves it; the error is the message without its
/// `Invalid <Kind>: ` prefix.
pub fn check_condition(
    condition: &ParsedCondition,
    redundant_parens: bool,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<ResolvedCondition, String> {
    if redundant_parens {
        return Err("The expression has redundant parentheses;".to_owned());
    }
    let mut leaves = Vec::new();
    collect_leaves(condition, &mut leaves);
    let operands = || leaves.iter().flat_map(|leaf| leaf_operands(leaf));
    // Calls in text order: a leaf's own call comes before the calls in its operands.
    let mut calls = Vec::new();
    for leaf in &leaves {
        leaf_calls(leaf, &mut calls);
    }
    if let Some(call) = calls.iter().find(|c| function_arity(&c.name).is_none()) {
        return Err(format!("Invalid function name; function: {}", call.name));
    }
    for leaf in &leaves {
        if let Some(message) = misused_function(leaf) {
            return Err(message);
        }
    }
    for operand in operands() {
        if let Some(message) = operand_paths(operand).find_map(reserved_word) {
            return Err(message);
        }
    }
    for leaf in &leaves {
        check_leaf(leaf, attrs, usage)?;
    }
    resolve_condition(condition, attrs, usage)
}

fn function_arity(name: &str) -> Option<usize> {
    CONDITION_FUNCTIONS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, arity)| *arity)
}

/// The simple conditions (everything but AND/OR/NOT), in text order.
fn collect_leaves<'c>(condition: &'c ParsedCondition, out: &mut Vec<&'c ParsedCondition>) {
    match condition {
        Condition::And(a, b) | Condition::Or(a, b) => {
            collect_leaves(a, out);
            collect_leaves(b, out);
        }
        Condition::Not(inner) => collect_leaves(inner, out),
        leaf => out.push(leaf),
    }
}

fn leaf_operands(leaf: &ParsedCondition) -> Vec<&ParsedOperand> {
    match leaf {
        Condition::Compare { left, right, .. } => vec![left, right],
        Condition::Between { value, low, high } => vec![value, low, high],
        Condition::In { value, list } => std::iter::once(value).chain(list).collect(),
        Condition::Call(call) => call.args.iter().collect(),
        _ => Vec::new(),
    }
}

fn collect_calls<'c>(operand: &'c ParsedOperand, out: &mut Vec<&'c ParsedCall>) {
    if let Operand::Call(call) = operand {
        out.push(call);
        for arg in &call.args {
            collect_calls(arg, out);
        }
    }
}

fn leaf_calls<'c>(leaf: &'c ParsedCondition, out: &mut Vec<&'c ParsedCall>) {
    if let Condition::Call(call) = leaf {
        out.push(call);
    }
    for operand in leaf_operands(leaf) {
        collect_calls(operand, out);
    }
}

fn operand_paths(operand: &ParsedOperand) -> Box<dyn Iterator<Item = &Path> + '_> {
    match operand {
        Operand::Path(path) => Box::new(std::iter::once(path)),
        Operand::Value(_) => Box::new(std::iter::empty()),
        Operand::Call(call) => Box::new(call.args.iter().flat_map(operand_paths)),
    }
}

/// Only `size` may be an operand, and `size` may not be a condition.
fn misused_function(leaf: &ParsedCondition) -> Option<String> {
    let message = |name: &str| {
        format!(
            "The function is not allowed to be used this way in an expression; function: {name}"
        )
    };
    if let Condition::Call(call) = leaf
        && call.name == "size"
    {
        return Some(message("size"));
    }
    let mut calls = Vec::new();
    for operand in leaf_operands(leaf) {
        collect_calls(operand, &mut calls);
    }
    calls
        .iter()
        .find(|call| call.name != "size")
        .map(|call| message(&call.name))
}

/// The type an operand is known to have before any item is seen: a value's own type, and
/// `N` for `size(...)`.
fn known_type(operand: &ParsedOperand, attrs: &ExpressionAttributes<'_>) -> Option<&'static str> {
    match operand {
        Operand::Value(value) => attrs.peek_value(&value.0).map(AttributeValue::type_name),
        Operand::Call(call) if call.name == "size" => Some("N"),
        _ => None,
    }
}

fn operand_type_error(function: &str, operand_type: &str) -> String {
    format!(
        "Incorrect operand type for operator or function; operator or function: {function}, \
         operand type: {operand_type}"
    )
}

/// DynamoDB's rendering of a value in BETWEEN messages: `AttributeValue: {N:5}`. How binary
/// and composite values render is not confirmed; binary prints as base64 here.
fn render_value(value: &AttributeValue) -> String {
    use base64::Engine as _;
    let body = match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => base64::engine::general_purpose::STANDARD.encode(b),
        other => format!("{other:?}"),
    };
    format!("AttributeValue: {{{}:{body}}}", value.type_name())
}

fn check_leaf(
    leaf: &ParsedCondition,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<(), String> {
    // (a) every placeholder defined, in text order.
    let operands = leaf_operands(leaf);
    let resolved: Vec<ResolvedOperand> = operands
        .iter()
        .map(|operand| resolve_operand(operand, attrs, usage))
        .collect::<Result<_, _>>()?;
    // (b) operand counts.
    let mut calls = Vec::new();
    leaf_calls(leaf, &mut calls);
    for call in &calls {
        if function_arity(&call.name) != Some(call.args.len()) {
            return Err(format!(
                "Incorrect number of operands for operator or function; operator or function: \
                 {}, number of operands: {}",
                call.name,
                call.args.len()
            ));
        }
    }
    if let Condition::In { list, .. } = leaf
        && list.len() > 100
    {
        return Err(format!(
            "The IN operator is provided with too many operands; number of operands: {}",
            list.len()
        ));
    }
    // (c) the first operand distinct from the others.
    let distinct = |operator: &str, a: &ResolvedOperand, b: &ResolvedOperand| match (a, b) {
        (Operand::Path(x), Operand::Path(y)) if x == y => Err(format!(
            "The first operand must be distinct from the remaining operands for this operator \
             or function; operator: {operator}, first operand: {x}"
        )),
        _ => Ok(()),
    };
    match (leaf, resolved.as_slice()) {
        (Condition::Compare { op, .. }, [a, b]) => distinct(op.symbol(), a, b)?,
        (Condition::Call(call), [a, b]) => distinct(&call.name, a, b)?,
        _ => {}
    }
    // (d) operand types.
    for call in &calls {
        check_call_types(call, attrs)?;
    }
    match leaf {
        Condition::Compare { op, left, right }
            if *op != Comparator::Eq && *op != Comparator::Ne =>
        {
            for operand in [left, right] {
                check_orderable(op.symbol(), operand, attrs)?;
            }
        }
        Condition::Between { value, low, high } => {
            for operand in [value, low, high] {
                check_orderable("BETWEEN", operand, attrs)?;
            }
            if let (Some(ResolvedOperand::Value(low)), Some(ResolvedOperand::Value(high))) =
                (resolved.get(1), resolved.get(2))
            {
                let bounds = format!(
                    "lower bound operand: {}, upper bound operand: {}",
                    render_value(low),
                    render_value(high)
                );
                if low.type_name() != high.type_name() {
                    return Err(format!(
                        "The BETWEEN operator requires same data type for lower and upper \
                         bounds; {bounds}"
                    ));
                }
                if super::eval::compare_values(low, high) == Some(std::cmp::Ordering::Greater) {
                    return Err(format!(
                        "The BETWEEN operator requires upper bound to be greater than or equal \
                         to lower bound; {bounds}"
                    ));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_orderable(
    operator: &str,
    operand: &ParsedOperand,
    attrs: &ExpressionAttributes<'_>,
) -> Result<(), String> {
    match known_type(operand, attrs) {
        Some(t @ ("BOOL" | "NULL" | "SS" | "NS" | "BS" | "L" | "M")) => {
            Err(operand_type_error(operator, t))
        }
        _ => Ok(()),
    }
}

fn check_call_types(call: &ParsedCall, attrs: &ExpressionAttributes<'_>) -> Result<(), String> {
    let name = call.name.as_str();
    match name {
        "attribute_exists" | "attribute_not_exists" => match call.args.first() {
            Some(Operand::Path(_)) => Ok(()),
            _ => Err(format!(
                "Operator or function requires a document path; operator or function: {name}"
            )),
        },
        "begins_with" => call
            .args
            .iter()
            .try_for_each(|arg| match known_type(arg, attrs) {
                Some(t) if t != "S" && t != "B" => Err(operand_type_error(name, t)),
                _ => Ok(()),
            }),
        "size" => match call.args.first().and_then(|arg| known_type(arg, attrs)) {
            Some(t @ ("N" | "BOOL" | "NULL")) => Err(operand_type_error(name, t)),
            _ => Ok(()),
        },
        "attribute_type" => {
            let type_arg = call.args.get(1);
            match type_arg {
                Some(Operand::Value(value)) => match attrs.peek_value(&value.0) {
                    Some(AttributeValue::S(type_name)) => {
                        if TYPE_NAMES
                            .trim_matches(|c| c == '{' || c == '}')
                            .split(',')
                            .any(|t| t == type_name)
                        {
                            Ok(())
                        } else {
                            Err(format!(
                                "Invalid attribute type name found; type: {type_name}, valid \
                                 types: {TYPE_NAMES}"
                            ))
                        }
                    }
                    Some(other) => Err(operand_type_error(name, other.type_name())),
                    None => Ok(()),
                },
                // A path or a call could be anything: DynamoDB lists every type.
                _ => Err(operand_type_error(name, "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")),
            }
        }
        _ => Ok(()),
    }
}

fn resolve_condition(
    condition: &ParsedCondition,
    attrs: &ExpressionAttributes<'_>,
    usage: &mut Usage,
) -> Result<ResolvedCondition, String> {
    let mut op = |operand: &ParsedOperand| resolve_operand(operand, attrs, usage);
    Ok(match condition {
        Condition::Compare {
            op: cmp,
            left,
            right,
        } => Condition::Compare {
            op: *cmp,
            left: op(left)?,
            right: op(right)?,
        },
        Condition::Between { value, low, high } => Condition::Between {
            value: op(value)?,
            low: op(low)?,
            high: op(high)?,
        },
        Condition::In { value, list } => Condition::In {
            value: op(value)?,
            list: list.iter().map(op).collect::<Result<_, _>>()?,
        },
        Condition::Call(call) => Condition::Call(Call {
            name: call.name.clone(),
            args: call.args.iter().map(op).collect::<Result<_, _>>()?,
        }),
        Condition::Not(inner) => Condition::Not(Box::new(resolve_condition(inner, attrs, usage)?)),
        Condition::And(a, b) => Condition::And(
            Box::new(resolve_condition(a, attrs, usage)?),
            Box::new(resolve_condition(b, attrs, usage)?),
        ),
        Condition::Or(a, b) => Condition::Or(
            Box::new(resolve_condition(a, attrs, usage)?),
            Box::new(resolve_condition(b, attrs, usage)?),
        ),
    })
}
