//! Recursive-descent parsing of conditions and projections, and the pieces (paths, operands)
//! the UpdateExpression parser shares.
//!
//! Precedence, loosest first, as DynamoDB documents it: `OR`, `AND`, `NOT`, then the
//! comparisons, `BETWEEN`, `IN` and functions; parentheses group. A `(` can open either a
//! grouped condition or a parenthesised operand (`(a) = :v`); the parser tries the condition
//! first and falls back to the operand, keeping whichever attempt got further for the error.

use super::ast::{Call, Comparator, Condition, Operand, Path, PathElement, ValueRef};
use super::token::{Token, TokenKind, tokenize};

/// A syntax error at token `at`; rendered with [`Parser::syntax_message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    pub at: usize,
}

pub type Parsed<T> = Result<T, SyntaxError>;

/// A parsed condition with the facts validation needs from the text.
pub type ParsedCondition = Condition<Path, ValueRef>;
pub type ParsedOperand = Operand<Path, ValueRef>;

pub struct Parser<'a> {
    pub source: &'a str,
    tokens: Vec<Token>,
    pub pos: usize,
    /// Set when a parenthesised condition or operand directly holds another one: DynamoDB
    /// refuses `((a = :v))` with "The expression has redundant parentheses;".
    pub redundant_parens: bool,
}

impl<'a> Parser<'a> {
    pub fn new(source: &'a str) -> Self {
        Self {
            source,
            tokens: tokenize(source),
            pos: 0,
            redundant_parens: false,
        }
    }

    fn token(&self, index: usize) -> Token {
        self.tokens.get(index).copied().unwrap_or(Token {
            kind: TokenKind::Eof,
            start: self.source.len(),
            end: self.source.len(),
        })
    }

    pub fn peek(&self) -> Token {
        self.token(self.pos)
    }

    pub fn peek_kind(&self) -> TokenKind {
        self.peek().kind
    }

    pub fn peek_nth_kind(&self, n: usize) -> TokenKind {
        self.token(self.pos + n).kind
    }

    pub fn peek_keyword(&self, keyword: &str) -> bool {
        self.peek().is_keyword(self.source, keyword)
    }

    pub fn advance(&mut self) -> Token {
        let token = self.peek();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    pub fn error(&self) -> SyntaxError {
        SyntaxError { at: self.pos }
    }

    pub fn expect(&mut self, kind: TokenKind) -> Parsed<Token> {
        if self.peek_kind() == kind {
            Ok(self.advance())
        } else {
            Err(self.error())
        }
    }

    pub fn expect_end(&self) -> Parsed<()> {
        if self.peek_kind() == TokenKind::Eof {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    pub fn text(&self, token: Token) -> &'a str {
        token.text(self.source)
    }

    /// DynamoDB's `Syntax error; token: "<t>", near: "<text>"`. The "near" text runs from the
    /// token before the offending one to the token after it (to the end at `<EOF>`), which is
    /// what DynamoDB's messages show: `token: "1", near: "VALUE 1"`, `token: "<EOF>", near: "= "`.
    pub fn syntax_message(&self, error: SyntaxError) -> String {
        let bad = self.token(error.at);
        let from = error
            .at
            .checked_sub(1)
            .map_or(bad.start, |prev| self.token(prev).start);
        let next = self.token(error.at + 1);
        let to = match (bad.kind, next.kind) {
            (TokenKind::Eof, _) => self.source.len(),
            (_, TokenKind::Eof) => bad.end,
            _ => next.end,
        };
        let near = self.source.get(from..to).unwrap_or_default();
        format!(
            "Syntax error; token: \"{}\", near: \"{near}\"",
            bad.text(self.source)
        )
    }

    /// Runs `attempt`; on failure restores the position and flags so another reading can be
    /// tried.
    fn attempt<T>(&mut self, attempt: impl FnOnce(&mut Self) -> Parsed<T>) -> Parsed<T> {
        let (pos, flag) = (self.pos, self.redundant_parens);
        let result = attempt(self);
        if result.is_err() {
            self.pos = pos;
            self.redundant_parens = flag;
        }
        result
    }

    // ---- paths and operands -----------------------------------------------------------------

    fn path_name(&mut self) -> Parsed<PathElement> {
        let token = self.peek();
        match token.kind {
            TokenKind::Ident => {
                self.advance();
                Ok(PathElement::Name(self.text(token).to_owned()))
            }
            TokenKind::NamePlaceholder => {
                self.advance();
                Ok(PathElement::Placeholder(self.text(token).to_owned()))
            }
            _ => Err(self.error()),
        }
    }

    /// `name ('.' name | '[' digits ']')*`.
    pub fn path(&mut self) -> Parsed<Path> {
        let mut elements = vec![self.path_name()?];
        loop {
            match self.peek_kind() {
                TokenKind::Dot => {
                    self.advance();
                    elements.push(self.path_name()?);
                }
                TokenKind::LBracket => {
                    self.advance();
                    let digits = self.expect(TokenKind::Digits)?;
                    // An index too large for u32 cannot address any list (lists hold at most
                    // 400 KB); DynamoDB's limit is not known, so it is a syntax error here.
                    let index = self
                        .text(digits)
                        .parse::<u32>()
                        .map_err(|_| SyntaxError { at: self.pos - 1 })?;
                    self.expect(TokenKind::RBracket)?;
                    elements.push(PathElement::Index(index));
                }
                _ => return Ok(Path(elements)),
            }
        }
    }

    /// A path, a `:value`, a function call, or one of those in parentheses.
    pub fn operand(&mut self) -> Parsed<ParsedOperand> {
        self.operand_wrapped().map(|(operand, _)| operand)
    }

    /// An operand and whether it was written in parentheses.
    fn operand_wrapped(&mut self) -> Parsed<(ParsedOperand, bool)> {
        let token = self.peek();
        match token.kind {
            TokenKind::LParen => {
                self.advance();
                let (inner, wrapped) = self.operand_wrapped()?;
                self.expect(TokenKind::RParen)?;
                if wrapped {
                    self.redundant_parens = true;
                }
                Ok((inner, true))
            }
            TokenKind::ValuePlaceholder => {
                self.advance();
                Ok((Operand::Value(ValueRef(self.text(token).to_owned())), false))
            }
            TokenKind::Ident if self.peek_nth_kind(1) == TokenKind::LParen => {
                Ok((Operand::Call(self.call()?), false))
            }
            _ => Ok((Operand::Path(self.path()?), false)),
        }
    }

    /// `name '(' operand (',' operand)* ')'`.
    pub fn call(&mut self) -> Parsed<Call<Path, ValueRef>> {
        let name = self.expect(TokenKind::Ident)?;
        self.expect(TokenKind::LParen)?;
        let args = self.operand_list()?;
        self.expect(TokenKind::RParen)?;
        Ok(Call {
            name: self.text(name).to_owned(),
            args,
        })
    }

    fn operand_list(&mut self) -> Parsed<Vec<ParsedOperand>> {
        let mut list = vec![self.operand()?];
        while self.peek_kind() == TokenKind::Comma {
            self.advance();
            list.push(self.operand()?);
        }
        Ok(list)
    }

    // ---- conditions -------------------------------------------------------------------------

    /// A whole condition, to the end of the text.
    pub fn condition_expression(&mut self) -> Parsed<ParsedCondition> {
        let (condition, _) = self.or()?;
        self.expect_end()?;
        Ok(condition)
    }

    /// Each level returns the condition and whether it is exactly one parenthesised group,
    /// which is how `((…))` is recognised.
    fn or(&mut self) -> Parsed<(ParsedCondition, bool)> {
        let (mut left, mut wrapped) = self.and()?;
        while self.peek_keyword("OR") {
            self.advance();
            let (right, _) = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
            wrapped = false;
        }
        Ok((left, wrapped))
    }

    fn and(&mut self) -> Parsed<(ParsedCondition, bool)> {
        let (mut left, mut wrapped) = self.not()?;
        while self.peek_keyword("AND") {
            self.advance();
            let (right, _) = self.not()?;
            left = Condition::And(Box::new(left), Box::new(right));
            wrapped = false;
        }
        Ok((left, wrapped))
    }

    fn not(&mut self) -> Parsed<(ParsedCondition, bool)> {
        if self.peek_keyword("NOT") {
            self.advance();
            let (inner, _) = self.not()?;
            return Ok((Condition::Not(Box::new(inner)), false));
        }
        self.primary()
    }

    fn primary(&mut self) -> Parsed<(ParsedCondition, bool)> {
        if self.peek_kind() != TokenKind::LParen {
            return self.simple().map(|c| (c, false));
        }
        let grouped = self.attempt(|p| {
            p.advance();
            let (inner, wrapped) = p.or()?;
            p.expect(TokenKind::RParen)?;
            if wrapped {
                p.redundant_parens = true;
            }
            Ok(inner)
        });
        let grouped_error = match grouped {
            Ok(condition) => return Ok((condition, true)),
            Err(error) => error,
        };
        // Not a grouped condition: perhaps a parenthesised operand, `(a) = :v`.
        let grouped_pos = self.pos;
        match self.attempt(Self::simple) {
            Ok(condition) => Ok((condition, false)),
            Err(error) if error.at >= grouped_error.at => Err(error),
            Err(_) => {
                self.pos = grouped_pos;
                Err(grouped_error)
            }
        }
    }

    /// A comparison, `BETWEEN`, `IN`, or a function used as a condition.
    fn simple(&mut self) -> Parsed<ParsedCondition> {
        let left = self.operand()?;
        let token = self.peek();
        let op = match token.kind {
            TokenKind::Eq => Some(Comparator::Eq),
            TokenKind::Ne => Some(Comparator::Ne),
            TokenKind::Lt => Some(Comparator::Lt),
            TokenKind::Le => Some(Comparator::Le),
            TokenKind::Gt => Some(Comparator::Gt),
            TokenKind::Ge => Some(Comparator::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.advance();
            let right = self.operand()?;
            return Ok(Condition::Compare { op, left, right });
        }
        if self.peek_keyword("BETWEEN") {
            self.advance();
            let low = self.operand()?;
            if !self.peek_keyword("AND") {
                return Err(self.error());
            }
            self.advance();
            let high = self.operand()?;
            return Ok(Condition::Between {
                value: left,
                low,
                high,
            });
        }
        if self.peek_keyword("IN") {
            self.advance();
            self.expect(TokenKind::LParen)?;
            let list = self.operand_list()?;
            self.expect(TokenKind::RParen)?;
            return Ok(Condition::In { value: left, list });
        }
        match left {
            Operand::Call(call) => Ok(Condition::Call(call)),
            _ => Err(self.error()),
        }
    }

    // ---- projections ------------------------------------------------------------------------

    /// `path (',' path)*` to the end of the text.
    pub fn projection_expression(&mut self) -> Parsed<Vec<Path>> {
        let mut paths = vec![self.path()?];
        while self.peek_kind() == TokenKind::Comma {
            self.advance();
            paths.push(self.path()?);
        }
        self.expect_end()?;
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(text: &str) -> Result<String, String> {
        let mut parser = Parser::new(text);
        parser
            .condition_expression()
            .map(|c| c.to_string())
            .map_err(|e| parser.syntax_message(e))
    }

    #[test]
    fn precedence_is_or_and_not() {
        assert_eq!(
            condition("a = :a OR b = :b AND NOT c = :c").unwrap(),
            "a = :a OR b = :b AND NOT c = :c"
        );
        assert_eq!(
            condition("(a = :a OR b = :b) AND c = :c").unwrap(),
            "(a = :a OR b = :b) AND c = :c"
        );
        assert_eq!(
            condition("a BETWEEN :x AND :y AND b IN (:p, :q)").unwrap(),
            "a BETWEEN :x AND :y AND b IN (:p, :q)"
        );
        assert_eq!(condition("(a) = (:v)").unwrap(), "a = :v");
        assert_eq!(
            condition("attribute_exists(#n.x[2]) and not begins_with(b, :p)").unwrap(),
            "attribute_exists(#n.x[2]) AND NOT begins_with(b, :p)"
        );
    }

    #[test]
    fn syntax_errors_name_the_token_and_its_neighbours() {
        assert_eq!(
            condition("a = ").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \"= \""
        );
        assert_eq!(
            condition("a b").unwrap_err(),
            "Syntax error; token: \"b\", near: \"a b\""
        );
        assert_eq!(
            condition("p = :p AND __x = :v").unwrap_err(),
            "Syntax error; token: \"_\", near: \"AND __\""
        );
        assert_eq!(
            condition("a != :v").unwrap_err(),
            "Syntax error; token: \"!\", near: \"a !=\""
        );
        assert_eq!(
            condition("(a = :v").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \":v\""
        );
    }

    #[test]
    fn redundant_parentheses_are_noticed() {
        for (text, redundant) in [
            ("((a = :v))", true),
            ("((a)) = :v", true),
            ("(a = :v)", false),
            ("((a = :v) AND b = :w)", false),
            ("(a) = (:v)", false),
        ] {
            let mut parser = Parser::new(text);
            parser.condition_expression().unwrap();
            assert_eq!(parser.redundant_parens, redundant, "{text}");
        }
    }
}
