//! The tokenizer shared by every expression kind.
//!
//! DynamoDB's lexical rules, as its error messages and the behaviour of bare names show:
//! a bare name is `[A-Za-z][A-Za-z0-9_]*`; a name placeholder is `#` followed by
//! `[A-Za-z0-9_]+`; a value placeholder is `:` followed by `[A-Za-z0-9_]+`; a list index is
//! `[0-9]+`. Anything else that is not an operator or punctuation becomes a one-character
//! token that the parser rejects with DynamoDB's `Syntax error; token: "<t>", near: "<text>"`.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare name, keyword or function name (`a`, `AND`, `begins_with`).
    Ident,
    /// `#name`.
    NamePlaceholder,
    /// `:value`.
    ValuePlaceholder,
    /// Decimal digits (list indexes).
    Digits,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// A character no rule accepts.
    Unknown,
    /// The end of the text.
    Eof,
}

/// One token: its kind and the byte range of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token's text in `source` (`<EOF>` for the end, as DynamoDB prints it).
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        if self.kind == TokenKind::Eof {
            return "<EOF>";
        }
        source.get(self.start..self.end).unwrap_or_default()
    }

    /// Whether this is the bare word `keyword`, ignoring ASCII case (keywords are
    /// case-insensitive in DynamoDB: `and`, `AnD` and `AND` are one keyword).
    pub fn is_keyword(&self, source: &str, keyword: &str) -> bool {
        self.kind == TokenKind::Ident && self.text(source).eq_ignore_ascii_case(keyword)
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `source` into tokens; the last one is always [`TokenKind::Eof`].
pub fn tokenize(source: &str) -> Vec<Token> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let word_end = |from: usize| {
            from + bytes
                .get(from..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&c| is_word_byte(c))
                .count()
        };
        let next = bytes.get(i + 1).copied();
        let (kind, end) = match b {
            b'a'..=b'z' | b'A'..=b'Z' => (TokenKind::Ident, word_end(i)),
            b'0'..=b'9' => {
                let digits = bytes
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| c.is_ascii_digit())
                    .count();
                (TokenKind::Digits, i + digits)
            }
            b'#' | b':' if next.is_some_and(is_word_byte) => {
                let kind = if b == b'#' {
                    TokenKind::NamePlaceholder
                } else {
                    TokenKind::ValuePlaceholder
                };
                (kind, word_end(i + 1))
            }
            b'(' => (TokenKind::LParen, i + 1),
            b')' => (TokenKind::RParen, i + 1),
            b'[' => (TokenKind::LBracket, i + 1),
            b']' => (TokenKind::RBracket, i + 1),
            b',' => (TokenKind::Comma, i + 1),
            b'.' => (TokenKind::Dot, i + 1),
            b'+' => (TokenKind::Plus, i + 1),
            b'-' => (TokenKind::Minus, i + 1),
            b'=' => (TokenKind::Eq, i + 1),
            b'<' if next == Some(b'>') => (TokenKind::Ne, i + 2),
            b'<' if next == Some(b'=') => (TokenKind::Le, i + 2),
            b'<' => (TokenKind::Lt, i + 1),
            b'>' if next == Some(b'=') => (TokenKind::Ge, i + 2),
            b'>' => (TokenKind::Gt, i + 1),
            _ => {
                // One whole character, so that the error names it and slicing stays on a
                // character boundary.
                let len = source
                    .get(i..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(1, char::len_utf8);
                (TokenKind::Unknown, i + len)
            }
        };
        tokens.push(Token { kind, start, end });
        i = end;
    }
    tokens.push(Token {
        kind: TokenKind::Eof,
        start: source.len(),
        end: source.len(),
    });
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(TokenKind, &str)> {
        tokenize(source)
            .into_iter()
            .map(|t| (t.kind, t.text(source)))
            .collect()
    }

    #[test]
    fn splits_operators_names_and_placeholders() {
        use TokenKind::*;
        assert_eq!(
            kinds("a.b[10] <> :v1 AND #n_2>=:_"),
            vec![
                (Ident, "a"),
                (Dot, "."),
                (Ident, "b"),
                (LBracket, "["),
                (Digits, "10"),
                (RBracket, "]"),
                (Ne, "<>"),
                (ValuePlaceholder, ":v1"),
                (Ident, "AND"),
                (NamePlaceholder, "#n_2"),
                (Ge, ">="),
                (ValuePlaceholder, ":_"),
                (Eof, "<EOF>"),
            ]
        );
    }

    #[test]
    fn names_cannot_start_with_underscore_and_bare_sigils_are_unknown() {
        use TokenKind::*;
        assert_eq!(kinds("_a")[0], (Unknown, "_"));
        assert_eq!(kinds("# ")[0], (Unknown, "#"));
        assert_eq!(kinds(":")[0], (Unknown, ":"));
        assert_eq!(kinds("é")[0], (Unknown, "é"));
        assert_eq!(kinds("1a")[..2], [(Digits, "1"), (Ident, "a")]);
    }
}
