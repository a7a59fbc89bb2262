//! The lexer (SPEC §2): source text to a stream of spanned tokens, built on logos.
//!
//! [`Lexer`] is an iterator of `Result<(start, Tok, end), LexError>` and can be handed to
//! the generated lalrpop parser as its external lexer. Errors are reported in-stream and
//! lexing always continues after them:
//! - a run of characters that start no token is one [`LexErrorKind::InvalidChar`] and is
//!   skipped;
//! - a numeric literal that does not fit is [`LexErrorKind::LiteralOutOfRange`], followed
//!   by the token with a saturated value, so that the parser still sees a literal.
//!
//! The lexer also settles two things that are awkward in the grammar:
//! - `///` doc comments are kept only when the next token is `fn` or `pub` (they document
//!   the next function); elsewhere they are dropped like ordinary comments;
//! - after a `.`, a float literal such as the `0.1` of `t.0.1` is split into `0`, `.`, `1`,
//!   so that nested tuple fields work.
//!
//! A UTF-8 byte-order mark at the start of the text (some Windows editors write one) is
//! skipped; spans still count its bytes, so they stay offsets into the text as given.

use std::collections::VecDeque;
use std::fmt;

use logos::Logos;

use crate::ast::Span;
use crate::diag::{Diagnostic, FileId, Loc};

/// A token. Identifier-like payloads borrow from the source text.
#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexErrorKind)]
#[logos(skip r"[ \t\r\n\x0C]+")]
#[logos(skip(r"//[^\n]*", allow_greedy = true))]
pub enum Tok<'s> {
    /// A `///` comment; the payload is the text after `///` without one leading space.
    #[regex(r"///([^/\n][^\n]*)?", doc_text, priority = 10, allow_greedy = true)]
    Doc(&'s str),

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice())]
    Ident(&'s str),
    #[regex(r"[0-9][0-9_]*", parse_int)]
    Int(u64),
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9][0-9_]*)?", parse_float)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9][0-9_]*", parse_float)]
    Float(f64),
    /// A keyword kept for a later version of the language; never valid.
    #[token("if", |lex| lex.slice())]
    #[token("else", |lex| lex.slice())]
    #[token("for", |lex| lex.slice())]
    #[token("in", |lex| lex.slice())]
    #[token("struct", |lex| lex.slice())]
    #[token("return", |lex| lex.slice())]
    Reserved(&'s str),

    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("use")]
    Use,
    #[token("pub")]
    Pub,
    #[token("const")]
    Const,
    #[token("as")]
    As,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("_", priority = 3)]
    Underscore,

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token("->")]
    Arrow,
    #[token("=")]
    Assign,
    #[token("..")]
    DotDot,
    #[token(".")]
    Dot,
    #[token("@")]
    At,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("**")]
    StarStar,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("!")]
    Bang,
}

impl fmt::Display for Tok<'_> {
    /// How a token is named in a message: the source form of fixed tokens, the kind and
    /// value of the others.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fixed = match self {
            Tok::Doc(_) => "doc comment",
            Tok::Ident(name) => return write!(f, "identifier `{name}`"),
            Tok::Int(value) => return write!(f, "integer `{value}`"),
            Tok::Float(value) => return write!(f, "float `{value:?}`"),
            Tok::Reserved(word) => return write!(f, "`{word}`"),
            Tok::Fn => "`fn`",
            Tok::Let => "`let`",
            Tok::Use => "`use`",
            Tok::Pub => "`pub`",
            Tok::Const => "`const`",
            Tok::As => "`as`",
            Tok::True => "`true`",
            Tok::False => "`false`",
            Tok::Underscore => "`_`",
            Tok::LParen => "`(`",
            Tok::RParen => "`)`",
            Tok::LBracket => "`[`",
            Tok::RBracket => "`]`",
            Tok::LBrace => "`{`",
            Tok::RBrace => "`}`",
            Tok::Comma => "`,`",
            Tok::Semi => "`;`",
            Tok::Colon => "`:`",
            Tok::ColonColon => "`::`",
            Tok::Arrow => "`->`",
            Tok::Assign => "`=`",
            Tok::DotDot => "`..`",
            Tok::Dot => "`.`",
            Tok::At => "`@`",
            Tok::Plus => "`+`",
            Tok::Minus => "`-`",
            Tok::Star => "`*`",
            Tok::Slash => "`/`",
            Tok::Percent => "`%`",
            Tok::StarStar => "`**`",
            Tok::EqEq => "`==`",
            Tok::NotEq => "`!=`",
            Tok::Lt => "`<`",
            Tok::Le => "`<=`",
            Tok::Gt => "`>`",
            Tok::Ge => "`>=`",
            Tok::AndAnd => "`&&`",
            Tok::OrOr => "`||`",
            Tok::Bang => "`!`",
        };
        f.write_str(fixed)
    }
}

/// What went wrong in a [`LexError`].
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LexErrorKind {
    /// Characters that start no token.
    #[default]
    InvalidChar,
    /// A numeric literal whose value does not fit (`u64` for integers, finite `f64` for
    /// floats).
    LiteralOutOfRange,
}

/// A lexical error with the span of the offending text.
#[derive(Clone, Debug, PartialEq)]
pub struct LexError {
    pub kind: LexErrorKind,
    pub span: Span,
}

impl LexError {
    /// The diagnostic for this error: E0002 for invalid characters, E0004 for literals
    /// out of range. `src` is the text that was lexed.
    pub fn to_diagnostic(&self, file: FileId, src: &str) -> Diagnostic {
        let text = src.get(self.span.start..self.span.end).unwrap_or_default();
        let loc = Loc {
            file,
            span: self.span,
        };
        match self.kind {
            LexErrorKind::InvalidChar => {
                let shown: String = text
                    .chars()
                    .map(|c| {
                        if c.is_control() || c.is_whitespace() {
                            c.escape_debug().to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                let noun = if text.chars().count() == 1 {
                    "character"
                } else {
                    "characters"
                };
                let diag = Diagnostic::new("E0002", loc, format!("unexpected {noun} `{shown}`"))
                    .with_label("not part of any token");
                match text {
                    "&" => diag.with_hint("the logical and operator is `&&`"),
                    "|" => diag.with_hint("the logical or operator is `||`"),
                    _ => diag,
                }
            }
            LexErrorKind::LiteralOutOfRange => {
                let (kind, limit) = if text.contains(['.', 'e', 'E']) {
                    ("float", format!("{:e}", f64::MAX))
                } else {
                    ("integer", u64::MAX.to_string())
                };
                Diagnostic::new(
                    "E0004",
                    loc,
                    format!("{kind} literal `{text}` is out of range"),
                )
                .with_label(format!("the largest {kind} literal is {limit}"))
            }
        }
    }
}

/// One token with its byte span, as the lalrpop parser takes it.
pub type Spanned<'s> = Result<(usize, Tok<'s>, usize), LexError>;

/// The token stream of one source text. See the module documentation.
pub struct Lexer<'s> {
    inner: logos::SpannedIter<'s, Tok<'s>>,
    /// A logos item read too far while merging invalid characters.
    peeked: Option<(Result<Tok<'s>, LexErrorKind>, Span)>,
    src: &'s str,
    /// Items looked at ahead of time (doc comments waiting for their item, split floats,
    /// the token after a run of invalid characters), emitted before `inner` is read again.
    pending: VecDeque<Spanned<'s>>,
    /// Whether the last token emitted was a `.`.
    after_dot: bool,
}

/// The byte length of the UTF-8 byte-order mark `src` starts with; 0 without one. The
/// lexer skips these bytes and columns do not count them ([`crate::diag::SourceMap::line_col`]).
pub fn bom_len(src: &str) -> usize {
    const BOM: char = '\u{feff}';
    if src.starts_with(BOM) {
        BOM.len_utf8()
    } else {
        0
    }
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Lexer<'s> {
        let mut inner = Tok::lexer(src);
        inner.bump(bom_len(src));
        Lexer {
            inner: inner.spanned(),
            peeked: None,
            src,
            pending: VecDeque::new(),
            after_dot: false,
        }
    }

    fn logos_next(&mut self) -> Option<(Result<Tok<'s>, LexErrorKind>, Span)> {
        self.peeked.take().or_else(|| {
            let (result, range) = self.inner.next()?;
            Some((result, Span::new(range.start, range.end)))
        })
    }

    /// The next item from logos with neighbouring invalid characters merged into one
    /// error and out-of-range literals followed by a saturated token.
    fn raw(&mut self) -> Option<Spanned<'s>> {
        if let Some(item) = self.pending.pop_front() {
            return Some(item);
        }
        let (result, span) = self.logos_next()?;
        match result {
            Ok(tok) => Some(Ok((span.start, tok, span.end))),
            Err(LexErrorKind::LiteralOutOfRange) => {
                let text = &self.src[span.start..span.end];
                let saturated = if text.contains(['.', 'e', 'E']) {
                    Tok::Float(f64::MAX)
                } else {
                    Tok::Int(u64::MAX)
                };
                self.pending
                    .push_back(Ok((span.start, saturated, span.end)));
                Some(Err(LexError {
                    kind: LexErrorKind::LiteralOutOfRange,
                    span,
                }))
            }
            Err(LexErrorKind::InvalidChar) => {
                let mut end = span.end;
                while let Some((next, next_span)) = self.logos_next() {
                    if next == Err(LexErrorKind::InvalidChar) && next_span.start == end {
                        end = next_span.end;
                    } else {
                        self.peeked = Some((next, next_span));
                        break;
                    }
                }
                Some(Err(LexError {
                    kind: LexErrorKind::InvalidChar,
                    span: Span::new(span.start, end),
                }))
            }
        }
    }

    /// Splits a float such as `0.1` right after a `.` into `0`, `.`, `1`.
    fn split_field_float(&mut self, start: usize, end: usize) -> Option<Spanned<'s>> {
        let text = &self.src[start..end];
        let dot = text.find('.')?;
        if text.contains(['e', 'E']) {
            return None;
        }
        let (first, second) = (parse_digits(&text[..dot])?, parse_digits(&text[dot + 1..])?);
        self.pending
            .push_front(Ok((start + dot + 1, Tok::Int(second), end)));
        self.pending
            .push_front(Ok((start + dot, Tok::Dot, start + dot + 1)));
        Some(Ok((start, Tok::Int(first), start + dot)))
    }
}

impl<'s> Iterator for Lexer<'s> {
    type Item = Spanned<'s>;

    fn next(&mut self) -> Option<Spanned<'s>> {
        let mut item = self.raw()?;
        if let Ok((_, Tok::Doc(_), _)) = item {
            // Collect the doc comments (and any errors among them) up to the next token;
            // keep the comments only if that token starts a function.
            let mut batch = vec![item];
            let next = loop {
                match self.raw() {
                    Some(doc @ Ok((_, Tok::Doc(_), _))) | Some(doc @ Err(_)) => batch.push(doc),
                    other => break other,
                }
            };
            let keep = matches!(next, Some(Ok((_, Tok::Fn | Tok::Pub, _))));
            batch.retain(|doc| keep || doc.is_err());
            batch.extend(next);
            for queued in batch.into_iter().rev() {
                self.pending.push_front(queued);
            }
            item = self.pending.pop_front()?;
        }
        if let Ok((start, Tok::Float(_), end)) = item {
            if self.after_dot {
                item = self.split_field_float(start, end).unwrap_or(item);
            }
        }
        if let Ok((_, tok, _)) = &item {
            self.after_dot = *tok == Tok::Dot;
        }
        Some(item)
    }
}

fn doc_text<'s>(lex: &mut logos::Lexer<'s, Tok<'s>>) -> &'s str {
    let text = &lex.slice()[3..];
    let text = text.strip_prefix(' ').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

fn parse_digits(text: &str) -> Option<u64> {
    text.chars()
        .filter(|&c| c != '_')
        .collect::<String>()
        .parse()
        .ok()
}

fn parse_int<'s>(lex: &mut logos::Lexer<'s, Tok<'s>>) -> Result<u64, LexErrorKind> {
    parse_digits(lex.slice()).ok_or(LexErrorKind::LiteralOutOfRange)
}

fn parse_float<'s>(lex: &mut logos::Lexer<'s, Tok<'s>>) -> Result<f64, LexErrorKind> {
    let text: String = lex.slice().chars().filter(|&c| c != '_').collect();
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(LexErrorKind::LiteralOutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Result<Tok<'_>, LexErrorKind>> {
        Lexer::new(src)
            .map(|item| item.map(|(_, tok, _)| tok).map_err(|e| e.kind))
            .collect()
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("42 1_000 1.0 0.5e-3 2e10 1_000.5 1..B"),
            vec![
                Ok(Tok::Int(42)),
                Ok(Tok::Int(1000)),
                Ok(Tok::Float(1.0)),
                Ok(Tok::Float(0.5e-3)),
                Ok(Tok::Float(2e10)),
                Ok(Tok::Float(1000.5)),
                Ok(Tok::Int(1)),
                Ok(Tok::DotDot),
                Ok(Tok::Ident("B")),
            ]
        );
    }

    #[test]
    fn out_of_range_literal_is_reported_then_saturated() {
        assert_eq!(
            toks("99999999999999999999 1e999 #99999999999999999999"),
            vec![
                Err(LexErrorKind::LiteralOutOfRange),
                Ok(Tok::Int(u64::MAX)),
                Err(LexErrorKind::LiteralOutOfRange),
                Ok(Tok::Float(f64::MAX)),
                Err(LexErrorKind::InvalidChar),
                Err(LexErrorKind::LiteralOutOfRange),
                Ok(Tok::Int(u64::MAX)),
            ]
        );
    }

    #[test]
    fn keywords_reserved_and_underscore() {
        assert_eq!(
            toks("fn fnord if _ _x"),
            vec![
                Ok(Tok::Fn),
                Ok(Tok::Ident("fnord")),
                Ok(Tok::Reserved("if")),
                Ok(Tok::Underscore),
                Ok(Tok::Ident("_x")),
            ]
        );
    }

    #[test]
    fn operators_take_the_longest_match() {
        assert_eq!(
            toks("** * :: : -> - == = != ! <= < >= > && || .. ."),
            vec![
                Ok(Tok::StarStar),
                Ok(Tok::Star),
                Ok(Tok::ColonColon),
                Ok(Tok::Colon),
                Ok(Tok::Arrow),
                Ok(Tok::Minus),
                Ok(Tok::EqEq),
                Ok(Tok::Assign),
                Ok(Tok::NotEq),
                Ok(Tok::Bang),
                Ok(Tok::Le),
                Ok(Tok::Lt),
                Ok(Tok::Ge),
                Ok(Tok::Gt),
                Ok(Tok::AndAnd),
                Ok(Tok::OrOr),
                Ok(Tok::DotDot),
                Ok(Tok::Dot),
            ]
        );
    }

    #[test]
    fn invalid_characters_are_merged_and_lexing_continues() {
        let items: Vec<_> = Lexer::new("a #€$ b ? c").collect();
        assert_eq!(
            items,
            vec![
                Ok((0, Tok::Ident("a"), 1)),
                Err(LexError {
                    kind: LexErrorKind::InvalidChar,
                    span: Span::new(2, 7)
                }),
                Ok((8, Tok::Ident("b"), 9)),
                Err(LexError {
                    kind: LexErrorKind::InvalidChar,
                    span: Span::new(10, 11)
                }),
                Ok((12, Tok::Ident("c"), 13)),
            ]
        );
    }

    #[test]
    fn doc_comments_are_kept_only_before_functions() {
        assert_eq!(
            toks("/// One.\n///Two\r\n//// not a doc\npub fn /// dropped\nx // plain\n///"),
            vec![
                Ok(Tok::Doc("One.")),
                Ok(Tok::Doc("Two")),
                Ok(Tok::Pub),
                Ok(Tok::Fn),
                Ok(Tok::Ident("x")),
            ]
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        let items: Vec<_> = Lexer::new("\u{feff}fn f").collect();
        assert_eq!(items, vec![Ok((3, Tok::Fn, 5)), Ok((6, Tok::Ident("f"), 7))]);
        // Anywhere else it is a character that starts no token.
        assert_eq!(
            toks("a \u{feff}"),
            vec![Ok(Tok::Ident("a")), Err(LexErrorKind::InvalidChar)]
        );
    }

    #[test]
    fn float_after_dot_is_split_into_fields() {
        let items: Vec<_> = Lexer::new("t.0.1 + 0.5").map(Result::unwrap).collect();
        assert_eq!(
            items,
            vec![
                (0, Tok::Ident("t"), 1),
                (1, Tok::Dot, 2),
                (2, Tok::Int(0), 3),
                (3, Tok::Dot, 4),
                (4, Tok::Int(1), 5),
                (6, Tok::Plus, 7),
                (8, Tok::Float(0.5), 11),
            ]
        );
    }
}
