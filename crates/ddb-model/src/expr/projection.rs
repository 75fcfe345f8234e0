//! ProjectionExpression: which attributes, or parts of them, a read returns.
//!
//! DynamoDB's shape of a projected item (captured by ExtendDB's dual-target
//! `test_nested_projection.py`): maps keep only the projected keys, at any depth; lists keep
//! only the projected elements, compacted and in index order whatever order they were asked
//! for; a path that reaches nothing contributes nothing (a map or list left with no projected
//! part disappears).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::value::{AttributeValue, Item};

use super::ExpressionKind;
use super::ast::{DocPath, Step};
use super::attributes::{ExpressionAttributes, Usage};
use super::parser::Parser;
use super::paths::first_clash;
use super::validate::{reserved_word, resolve_path};

/// A checked ProjectionExpression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionExpression {
    paths: Vec<DocPath>,
}

/// What to keep of a value: all of it, or some of its parts.
#[derive(Debug, Default)]
struct Node {
    whole: bool,
    children: BTreeMap<Step, Node>,
}

impl ProjectionExpression {
    /// Parses and checks: syntax, reserved words, undefined names, then overlapping and
    /// conflicting paths (`a, a.b` and `a[0], a.b` are refused).
    pub fn parse(text: &str, attrs: &ExpressionAttributes<'_>, usage: &mut Usage) -> Result<Self> {
        let kind = ExpressionKind::Projection;
        kind.check_not_empty(text)?;
        let mut parser = Parser::new(text);
        let parsed = parser
            .projection_expression()
            .map_err(|e| kind.invalid(parser.syntax_message(e)))?;
        if let Some(message) = parsed.iter().find_map(reserved_word) {
            return Err(kind.invalid(message));
        }
        let paths = parsed
            .iter()
            .map(|path| resolve_path(path, attrs, usage))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|message| kind.invalid(message))?;
        if let Some(message) = first_clash(&paths.iter().collect::<Vec<_>>()) {
            return Err(kind.invalid(message));
        }
        Ok(Self { paths })
    }

    /// The resolved paths, in the order written.
    pub fn paths(&self) -> &[DocPath] {
        &self.paths
    }

    /// The names of the top-level attributes the projection reads.
    pub fn top_level_names(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().filter_map(|path| match path.0.first() {
            Some(Step::Key(name)) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The projected copy of `item`.
    pub fn apply(&self, item: &Item) -> Item {
        project_paths(item, &self.paths)
    }
}

/// The part of `item` that `paths` reach, in DynamoDB's shape (the module documentation):
/// what a ProjectionExpression returns, and what `ReturnValues` `UPDATED_*` returns for the
/// paths an update touched.
pub fn project_paths<'p>(item: &Item, paths: impl IntoIterator<Item = &'p DocPath>) -> Item {
    let mut root = Node::default();
    for path in paths {
        let mut node = &mut root;
        for step in &path.0 {
            node = node.children.entry(step.clone()).or_default();
        }
        node.whole = true;
    }
    root.children
        .iter()
        .filter_map(|(step, node)| match step {
            Step::Key(name) => Some((name.clone(), project(item.get(name)?, node)?)),
            Step::Index(_) => None,
        })
        .collect()
}

fn project(value: &AttributeValue, node: &Node) -> Option<AttributeValue> {
    if node.whole {
        return Some(value.clone());
    }
    match value {
        AttributeValue::M(map) => {
            let kept: BTreeMap<String, AttributeValue> = node
                .children
                .iter()
                .filter_map(|(step, child)| match step {
                    Step::Key(key) => Some((key.clone(), project(map.get(key)?, child)?)),
                    Step::Index(_) => None,
                })
                .collect();
            (!kept.is_empty()).then_some(AttributeValue::M(kept))
        }
        AttributeValue::L(list) => {
            // BTreeMap order is index order, so the kept elements come out compacted and sorted.
            let kept: Vec<AttributeValue> = node
                .children
                .iter()
                .filter_map(|(step, child)| match step {
                    Step::Index(index) => project(list.get(*index)?, child),
                    Step::Key(_) => None,
                })
                .collect();
            (!kept.is_empty()).then_some(AttributeValue::L(kept))
        }
        _ => None,
    }
}
