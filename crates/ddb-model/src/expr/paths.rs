//! Walking document paths through items: read, and the overlap rule of update and projection
//! expressions.

use crate::value::{AttributeValue, Item};

use super::ast::{DocPath, Step};

/// The value at `path` in `item`, if every step exists (a map key in a map, an index inside a
/// list).
pub fn get<'i>(item: &'i Item, path: &DocPath) -> Option<&'i AttributeValue> {
    let (first, rest) = path.0.split_first()?;
    let Step::Key(name) = first else {
        return None;
    };
    get_in(item.get(name)?, rest)
}

/// The value at `steps` below `value`.
pub fn get_in<'v>(value: &'v AttributeValue, steps: &[Step]) -> Option<&'v AttributeValue> {
    steps
        .iter()
        .try_fold(value, |current, step| match (current, step) {
            (AttributeValue::M(map), Step::Key(key)) => map.get(key),
            (AttributeValue::L(list), Step::Index(index)) => list.get(*index),
            _ => None,
        })
}

/// How two paths of one update or projection expression clash, if they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clash {
    /// One is a prefix of the other (or they are equal).
    Overlap,
    /// At the first position where they differ one has a key and the other an index.
    Conflict,
}

pub fn clash(one: &DocPath, two: &DocPath) -> Option<Clash> {
    for (a, b) in one.0.iter().zip(&two.0) {
        match (a, b) {
            (Step::Key(x), Step::Key(y)) if x == y => {}
            (Step::Index(x), Step::Index(y)) if x == y => {}
            (Step::Key(_), Step::Key(_)) | (Step::Index(_), Step::Index(_)) => return None,
            _ => return Some(Clash::Conflict),
        }
    }
    Some(Clash::Overlap)
}

/// The first clash among `paths` in the order written, as DynamoDB's message for it (without
/// the `Invalid <Kind>: ` prefix). Overlaps are reported before conflicts, whatever their
/// positions (dynalite's order; DynamoDB's is not confirmed for that mix).
pub fn first_clash(paths: &[&DocPath]) -> Option<String> {
    let mut conflict = None;
    for (i, later) in paths.iter().enumerate() {
        for earlier in paths.iter().take(i) {
            match clash(earlier, later) {
                Some(Clash::Overlap) => {
                    return Some(format!(
                        "Two document paths overlap with each other; must remove or rewrite one \
                         of these paths; path one: {earlier}, path two: {later}"
                    ));
                }
                Some(Clash::Conflict) if conflict.is_none() => {
                    conflict = Some(format!(
                        "Two document paths conflict with each other; must remove or rewrite one \
                         of these paths; path one: {earlier}, path two: {later}"
                    ));
                }
                _ => {}
            }
        }
    }
    conflict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(steps: &[&str]) -> DocPath {
        DocPath(
            steps
                .iter()
                .map(|s| match s.parse::<usize>() {
                    Ok(i) => Step::Index(i),
                    Err(_) => Step::Key((*s).to_owned()),
                })
                .collect(),
        )
    }

    #[test]
    fn clashes() {
        assert_eq!(
            clash(&path(&["a"]), &path(&["a", "b"])),
            Some(Clash::Overlap)
        );
        assert_eq!(clash(&path(&["a"]), &path(&["a"])), Some(Clash::Overlap));
        assert_eq!(clash(&path(&["a", "b"]), &path(&["a", "c"])), None);
        assert_eq!(clash(&path(&["a", "0"]), &path(&["a", "1"])), None);
        assert_eq!(
            clash(&path(&["a", "0"]), &path(&["a", "b"])),
            Some(Clash::Conflict)
        );
        assert_eq!(
            first_clash(&[&path(&["x"]), &path(&["a", "b"]), &path(&["a"])]).unwrap(),
            "Two document paths overlap with each other; must remove or rewrite one of these \
             paths; path one: [a, b], path two: [a]"
        );
        assert_eq!(
            first_clash(&[&path(&["alist", "0"]), &path(&["alist"])]).unwrap(),
            "Two document paths overlap with each other; must remove or rewrite one of these \
             paths; path one: [alist, [0]], path two: [alist]"
        );
    }
}
