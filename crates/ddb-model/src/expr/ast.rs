//! The syntax trees of every expression kind.
//!
//! The trees are generic over how a document path (`P`) and a value (`V`) are held: the parser
//! produces [`Path`] and [`ValueRef`] (placeholders as written), resolution turns them into
//! [`DocPath`] and [`AttributeValue`](crate::AttributeValue). One shape, two stages, so the
//! evaluator never sees an unresolved placeholder.
//!
//! `Display` prints the parsed form back as expression text that parses to the same tree
//! (fully parenthesised where precedence needs it); the property tests rely on that.

use std::fmt;

/// One element of a document path as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// A bare attribute name (`a`).
    Name(String),
    /// An `ExpressionAttributeNames` placeholder, `#` included (`#n`).
    Placeholder(String),
    /// A list index (`[3]`).
    Index(u32),
}

/// A document path as written: `a.#b[3].c`. Never empty; the first element is a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<PathElement>);

/// An `ExpressionAttributeValues` placeholder as written, `:` included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueRef(pub String);

/// One step of a resolved document path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A resolved document path: attribute names substituted, ready to walk an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocPath(pub Vec<Step>);

/// An operand: a path, a value, or a function call (`size(a)`, `if_not_exists(a, :v)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand<P, V> {
    Path(P),
    Value(V),
    Call(Call<P, V>),
}

/// A function call; the name is kept as written and checked after parsing, as DynamoDB does
/// (an unknown function is `Invalid function name`, not a syntax error).
#[derive(Debug, Clone, PartialEq)]
pub struct Call<P, V> {
    pub name: String,
    pub args: Vec<Operand<P, V>>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "<>",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// The operator that means the same with its operands swapped (`:v < a` is `a > :v`).
    pub fn flipped(self) -> Comparator {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            same => same,
        }
    }
}

/// A condition (ConditionExpression, FilterExpression, KeyConditionExpression).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition<P, V> {
    Compare {
        op: Comparator,
        left: Operand<P, V>,
        right: Operand<P, V>,
    },
    Between {
        value: Operand<P, V>,
        low: Operand<P, V>,
        high: Operand<P, V>,
    },
    In {
        value: Operand<P, V>,
        list: Vec<Operand<P, V>>,
    },
    /// A function used as a condition (`attribute_exists(a)`).
    Call(Call<P, V>),
    Not(Box<Condition<P, V>>),
    And(Box<Condition<P, V>>, Box<Condition<P, V>>),
    Or(Box<Condition<P, V>>, Box<Condition<P, V>>),
}

/// The right-hand side of a `SET` action.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue<P, V> {
    Operand(Operand<P, V>),
    Plus(Box<SetValue<P, V>>, Box<SetValue<P, V>>),
    Minus(Box<SetValue<P, V>>, Box<SetValue<P, V>>),
}

/// The four clauses of an UpdateExpression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClauseKind {
    Set,
    Remove,
    Add,
    Delete,
}

impl ClauseKind {
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Set => "SET",
            Self::Remove => "REMOVE",
            Self::Add => "ADD",
            Self::Delete => "DELETE",
        }
    }
}

/// One action of an UpdateExpression.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction<P, V> {
    Set { path: P, value: SetValue<P, V> },
    Remove(P),
    Add(P, V),
    Delete(P, V),
}

impl<P, V> UpdateAction<P, V> {
    pub fn path(&self) -> &P {
        match self {
            Self::Set { path, .. } | Self::Remove(path) | Self::Add(path, _) => path,
            Self::Delete(path, _) => path,
        }
    }
}

/// An UpdateExpression: its clauses in the order written (a clause may appear twice in the
/// text; that is an error reported after parsing, in DynamoDB's order).
#[derive(Debug, Clone, PartialEq)]
pub struct Update<P, V> {
    pub clauses: Vec<(ClauseKind, Vec<UpdateAction<P, V>>)>,
}

// ---- printing -------------------------------------------------------------------------------

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, element) in self.0.iter().enumerate() {
            match element {
                PathElement::Name(name) | PathElement::Placeholder(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                PathElement::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// DynamoDB's rendering of a path in messages: `[a, b, [0]]`.
impl fmt::Display for DocPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, step) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match step {
                Step::Key(name) => f.write_str(name)?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        f.write_str("]")
    }
}

impl<P: fmt::Display, V: fmt::Display> fmt::Display for Operand<P, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(path) => path.fmt(f),
            Self::Value(value) => value.fmt(f),
            Self::Call(call) => call.fmt(f),
        }
    }
}

impl<P: fmt::Display, V: fmt::Display> fmt::Display for Call<P, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            arg.fmt(f)?;
        }
        f.write_str(")")
    }
}

impl<P: fmt::Display, V: fmt::Display> fmt::Display for Condition<P, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { op, left, right } => write!(f, "{left} {} {right}", op.symbol()),
            Self::Between { value, low, high } => write!(f, "{value} BETWEEN {low} AND {high}"),
            Self::In { value, list } => {
                write!(f, "{value} IN (")?;
                for (i, item) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    item.fmt(f)?;
                }
                f.write_str(")")
            }
            Self::Call(call) => call.fmt(f),
            // NOT binds tighter than AND and OR, so its operand is parenthesised unless it is
            // a simple condition; AND and OR operands are parenthesised when they bind looser.
            Self::Not(inner) => match **inner {
                Self::And(..) | Self::Or(..) | Self::Not(..) => write!(f, "NOT ({inner})"),
                _ => write!(f, "NOT {inner}"),
            },
            Self::And(left, right) => {
                let wrap = |c: &Self| matches!(c, Self::Or(..) | Self::And(..));
                write_side(f, left, matches!(**left, Self::Or(..)))?;
                f.write_str(" AND ")?;
                write_side(f, right, wrap(right))
            }
            Self::Or(left, right) => {
                write_side(f, left, false)?;
                f.write_str(" OR ")?;
                write_side(f, right, matches!(**right, Self::Or(..)))
            }
        }
    }
}

/// Writes one side of AND/OR, in parentheses when needed to keep the tree's shape (the
/// parser groups chains to the left, so a right operand of the same operator needs them).
fn write_side<P: fmt::Display, V: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    side: &Condition<P, V>,
    parenthesise: bool,
) -> fmt::Result {
    if parenthesise {
        write!(f, "({side})")
    } else {
        write!(f, "{side}")
    }
}

impl<P: fmt::Display, V: fmt::Display> fmt::Display for SetValue<P, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Operand(operand) => operand.fmt(f),
            Self::Plus(a, b) => write!(f, "({a}) + ({b})"),
            Self::Minus(a, b) => write!(f, "({a}) - ({b})"),
        }
    }
}

impl<P: fmt::Display, V: fmt::Display> fmt::Display for Update<P, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, actions)) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{} ", kind.keyword())?;
            for (j, action) in actions.iter().enumerate() {
                if j > 0 {
                    f.write_str(", ")?;
                }
                match action {
                    UpdateAction::Set { path, value } => write!(f, "{path} = {value}")?,
                    UpdateAction::Remove(path) => write!(f, "{path}")?,
                    UpdateAction::Add(path, value) | UpdateAction::Delete(path, value) => {
                        write!(f, "{path} {value}")?;
                    }
                }
            }
        }
        Ok(())
    }
}
