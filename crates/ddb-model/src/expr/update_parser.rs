//! Parsing UpdateExpressions: `SET`, `REMOVE`, `ADD` and `DELETE` clauses, keywords in any case.
//!
//! ```text
//! update    ::= clause+
//! clause    ::= SET set (',' set)* | REMOVE path (',' path)*
//!             | ADD path :value (',' path :value)* | DELETE path :value (',' path :value)*
//! set       ::= path '=' set_value
//! set_value ::= term (('+' | '-') term)?
//! term      ::= '(' set_value ')' | operand
//! ```
//! A clause keyword cannot start a path, so `SET a = :v REMOVE b` splits where DynamoDB does.

use super::ast::{ClauseKind, Path, SetValue, Update, UpdateAction, ValueRef};
use super::parser::{Parsed, Parser};
use super::token::TokenKind;

pub type ParsedUpdate = Update<Path, ValueRef>;
type ParsedSetValue = SetValue<Path, ValueRef>;

impl Parser<'_> {
    fn clause_keyword(&self) -> Option<ClauseKind> {
        [
            ClauseKind::Set,
            ClauseKind::Remove,
            ClauseKind::Add,
            ClauseKind::Delete,
        ]
        .into_iter()
        .find(|kind| self.peek_keyword(kind.keyword()))
    }

    /// A whole UpdateExpression, to the end of the text.
    pub fn update_expression(&mut self) -> Parsed<ParsedUpdate> {
        let mut clauses = Vec::new();
        loop {
            let Some(kind) = self.clause_keyword() else {
                return Err(self.error());
            };
            self.advance();
            let mut actions = vec![self.update_action(kind)?];
            while self.peek_kind() == TokenKind::Comma {
                self.advance();
                actions.push(self.update_action(kind)?);
            }
            clauses.push((kind, actions));
            if self.peek_kind() == TokenKind::Eof {
                return Ok(Update { clauses });
            }
        }
    }

    fn update_action(&mut self, kind: ClauseKind) -> Parsed<UpdateAction<Path, ValueRef>> {
        let path = self.path()?;
        match kind {
            ClauseKind::Set => {
                self.expect(TokenKind::Eq)?;
                let value = self.set_value()?;
                Ok(UpdateAction::Set { path, value })
            }
            ClauseKind::Remove => Ok(UpdateAction::Remove(path)),
            ClauseKind::Add | ClauseKind::Delete => {
                let token = self.expect(TokenKind::ValuePlaceholder)?;
                let value = ValueRef(self.text(token).to_owned());
                Ok(if kind == ClauseKind::Add {
                    UpdateAction::Add(path, value)
                } else {
                    UpdateAction::Delete(path, value)
                })
            }
        }
    }

    fn set_value(&mut self) -> Parsed<ParsedSetValue> {
        let left = self.term()?;
        match self.peek_kind() {
            TokenKind::Plus => {
                self.advance();
                Ok(SetValue::Plus(Box::new(left), Box::new(self.term()?)))
            }
            TokenKind::Minus => {
                self.advance();
                Ok(SetValue::Minus(Box::new(left), Box::new(self.term()?)))
            }
            _ => Ok(left),
        }
    }

    fn term(&mut self) -> Parsed<ParsedSetValue> {
        if self.peek_kind() == TokenKind::LParen {
            self.advance();
            let inner = self.set_value()?;
            self.expect(TokenKind::RParen)?;
            return Ok(inner);
        }
        Ok(SetValue::Operand(self.operand()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(text: &str) -> Result<String, String> {
        let mut parser = Parser::new(text);
        parser
            .update_expression()
            .map(|u| u.to_string())
            .map_err(|e| parser.syntax_message(e))
    }

    #[test]
    fn clauses_split_on_keywords_in_any_case() {
        assert_eq!(
            update("set a = :v, b.c[1] = if_not_exists(b, :w) remove d ADD e :n delete f :s")
                .unwrap(),
            "SET a = :v, b.c[1] = if_not_exists(b, :w) REMOVE d ADD e :n DELETE f :s"
        );
        assert_eq!(
            update("SET c = (c - :v), d = list_append(:l, d)").unwrap(),
            "SET c = (c) - (:v), d = list_append(:l, d)"
        );
    }

    #[test]
    fn syntax_errors_match_dynamodbs() {
        assert_eq!(
            update("SET path = VALUE 1").unwrap_err(),
            "Syntax error; token: \"1\", near: \"VALUE 1\""
        );
        assert_eq!(
            update("SET _123 = :val1").unwrap_err(),
            "Syntax error; token: \"_\", near: \"SET _123\""
        );
        assert_eq!(
            update("SET foo = ").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \"= \""
        );
        assert_eq!(
            update("SET").unwrap_err(),
            "Syntax error; token: \"<EOF>\", near: \"SET\""
        );
        assert_eq!(
            update("SET numx = numx / :v").unwrap_err(),
            "Syntax error; token: \"/\", near: \"numx / :v\""
        );
        assert!(update("SET :a = :b").is_err());
        assert!(update("ADD a b").is_err());
    }
}
