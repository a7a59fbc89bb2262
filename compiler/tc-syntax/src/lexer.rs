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
//! A float literal becomes a [`FloatLit`]: the f64 nearest its decimal value and the same
//! decimal rounded to odd, found by comparing the decimal digits with the f64's exact
//! expansion, so that the checker can round it once into f32, f16 or bf16 as well.
//!
//! The lexer also settles two things that are awkward in the grammar:
//! - `///` doc comments are kept only when the next token is `fn` or `pub` (they document
//!   the next function); elsewhere they are dropped like ordinary comments;
//! - after a `.`, a float literal such as the `0.1` of `t.0.1` is split into `0`, `.`, `1`,
//!   so that nested tuple fields work.
//!
//! A UTF-8 byte-order mark at the start of the text (some Windows editors write one) is
//! skipped; spans still count its bytes, so they stay offsets into the text as given.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fmt;

use logos::Logos;

use crate::ast::{FloatLit, Span};
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
    Float(FloatLit),
    /// A string literal, without its quotes: `einsum`'s subscripts. No escapes, one line.
    #[regex(r#""[^"\n]*""#, |lex| { let s = lex.slice(); &s[1..s.len() - 1] })]
    Str(&'s str),
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
    #[token("...")]
    Ellipsis,
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
            Tok::Float(value) => return write!(f, "float `{:?}`", value.nearest),
            Tok::Str(text) => return write!(f, "string `\"{text}\"`"),
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
            Tok::Ellipsis => "`...`",
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
                if text.starts_with('"') {
                    return Diagnostic::new("E0002", loc, "unterminated string")
                        .with_label("no closing `\"` on this line")
                        .with_hint("a string literal ends on the line it starts, e.g. `\"ij,jk->ik\"`");
                }
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
    /// The previous token was `[` or `,`, where no path can continue.
    after_open: bool,
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
            after_open: false,
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
                    Tok::Float(FloatLit::exact(f64::MAX))
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
        if let Ok((start, Tok::ColonColon, end)) = item {
            // `::` separates path segments after a name and before a name, `{` or `*`;
            // elsewhere (`x[::2]`, `x[::k]`, `x[1::-1]`) it is the two colons of a step
            // slice.
            let rest = self.src[end..].trim_start();
            let path_follows = rest.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '{' || c == '*');
            if self.after_open || !path_follows {
                self.pending.push_front(Ok((start + 1, Tok::Colon, end)));
                item = Ok((start, Tok::Colon, start + 1));
            }
        }
        if let Ok((_, tok, _)) = &item {
            self.after_dot = *tok == Tok::Dot;
            self.after_open = matches!(tok, Tok::LBracket | Tok::Comma);
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

fn parse_float<'s>(lex: &mut logos::Lexer<'s, Tok<'s>>) -> Result<FloatLit, LexErrorKind> {
    let text: String = lex.slice().chars().filter(|&c| c != '_').collect();
    float_literal(&text).ok_or(LexErrorKind::LiteralOutOfRange)
}

/// The [`FloatLit`] of a float literal's text (digits with an optional `.` and exponent,
/// no `_`); `None` when the value overflows f64.
pub fn float_literal(text: &str) -> Option<FloatLit> {
    let nearest = text.parse::<f64>().ok().filter(|v| v.is_finite())?;
    let bits = nearest.to_bits();
    // Two f64s next to each other differ by one in their bit patterns (both are >= 0).
    let to_odd = match decimal_cmp_f64(text, nearest) {
        Ordering::Equal => nearest,
        _ if bits & 1 == 1 => nearest,
        Ordering::Greater => f64::from_bits(bits + 1),
        Ordering::Less => f64::from_bits(bits - 1),
    };
    Some(FloatLit { nearest, to_odd })
}

/// How the decimal `text` compares with the finite `value >= 0`, exactly.
fn decimal_cmp_f64(text: &str, value: f64) -> Ordering {
    let (decimal_digits, decimal_exp) = decimal_scientific(text);
    if decimal_digits.is_empty() {
        return 0.0.partial_cmp(&value).unwrap_or(Ordering::Equal);
    }
    if value == 0.0 {
        return Ordering::Greater;
    }
    // Every f64 has a finite decimal expansion of at most 767 significant digits, which
    // Rust's exact formatting writes out in full.
    let (value_digits, value_exp) = decimal_scientific(&format!("{value:.800e}"));
    decimal_exp.cmp(&value_exp).then_with(|| decimal_digits.cmp(&value_digits))
}

/// A decimal `d.ddd`, `ddd.dde±x` or `d.dddex` as its significant digits (no leading or
/// trailing zeros; empty for zero) and the decimal exponent of the first of them.
fn decimal_scientific(text: &str) -> (String, i64) {
    let (mantissa, exp) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    // An exponent too long for i64 is far beyond any f64 either way.
    let exp = exp.parse::<i64>().unwrap_or(if exp.starts_with('-') { -(1 << 40) } else { 1 << 40 });
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int}{frac}");
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    // The first significant digit is digit number `leading` of `all`, whose first digit
    // has the exponent `int.len() - 1 + exp`.
    let first_exp = exp + int.len() as i64 - 1 - leading as i64;
    (digits, first_exp)
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
                Ok(Tok::Float(FloatLit::exact(1.0))),
                Ok(Tok::Float(float_literal("0.5e-3").unwrap())),
                Ok(Tok::Float(FloatLit::exact(2e10))),
                Ok(Tok::Float(FloatLit::exact(1000.5))),
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
                Ok(Tok::Float(FloatLit::exact(f64::MAX))),
                Err(LexErrorKind::InvalidChar),
                Err(LexErrorKind::LiteralOutOfRange),
                Ok(Tok::Int(u64::MAX)),
            ]
        );
    }

    #[test]
    fn float_literals_keep_which_side_of_their_f64_they_lie() {
        // 0.1 lies below the f64 nearest it, whose last mantissa bit is even (...9a).
        let tenth = float_literal("0.1").unwrap();
        assert_eq!(tenth.nearest, 0.1);
        assert_eq!(tenth.to_odd.to_bits(), 0.1f64.to_bits() - 1);
        assert_eq!(float_literal("0.100").unwrap(), tenth);
        assert_eq!(float_literal("1e-1").unwrap(), tenth);
        assert_eq!(float_literal("00.01e1").unwrap(), tenth);
        // Exact decimals are their own f64.
        for text in ["0.5", "1.0", "1e3", "0.000244140625", "1.5e300", "0e0", "0.0"] {
            let lit = float_literal(text).unwrap();
            assert_eq!((lit.nearest, lit.to_odd), (lit.nearest, lit.nearest), "{text}");
        }
        // 1 + 2^-24 is halfway between two f32s, so its f64 rounds to f32 as 1.0 (ties to
        // even); a decimal a hair above it must round up to 1 + 2^-23.
        let above = "1.00000005960464477539062500000000001";
        let lit = float_literal(above).unwrap();
        assert_eq!(lit.nearest, 1.0 + f64::powi(2.0, -24));
        assert_eq!(lit.nearest as f32, 1.0);
        assert_eq!(lit.to_odd as f32, 1.0 + f32::powi(2.0, -23));
        assert_eq!(above.parse::<f32>().unwrap(), lit.to_odd as f32);
        let below = "1.00000005960464477539062499999999999";
        assert_eq!(float_literal(below).unwrap().to_odd as f32, 1.0);
        // Beyond f64's range: an error; below it: zero, rounded to odd as the least subnormal.
        assert_eq!(float_literal("1e400"), None);
        let tiny = float_literal("1e-400").unwrap();
        assert_eq!((tiny.nearest, tiny.to_odd), (0.0, f64::from_bits(1)));
        assert_eq!(float_literal("1e-99999999999999999999999").unwrap().to_odd, f64::from_bits(1));
    }

    proptest::proptest! {
        /// For any digits, rounding `to_odd` to f32 is the correct rounding of the decimal,
        /// which Rust's own parser gives directly.
        #[test]
        fn to_odd_rounds_to_f32_like_a_direct_parse(int in 0u64..1_000_000, frac in "[0-9]{0,30}", exp in -50i32..50) {
            let text = format!("{int}.{frac}0e{exp}");
            let lit = float_literal(&text).unwrap();
            proptest::prop_assert_eq!(lit.nearest, text.parse::<f64>().unwrap());
            proptest::prop_assert_eq!((lit.to_odd as f32).to_bits(), text.parse::<f32>().unwrap().to_bits());
        }

        /// Halfway cases between f32s, nudged by a tiny decimal tail either way.
        #[test]
        fn to_odd_settles_f32_ties(m in 1u32..(1 << 24), e in -30i32..30, up in proptest::bool::ANY) {
            let tie = (f64::from(m) + 0.5) * f64::powi(2.0, e - 24);
            let exact = format!("{tie:.800e}");
            let (mantissa, exponent) = exact.split_once('e').unwrap();
            let nudged = format!("{}{}e{exponent}", mantissa.trim_end_matches('0'), if up { "000000000000000000000001" } else { "" });
            let text = if up { nudged } else { format!("{}e{exponent}", mantissa.trim_end_matches('0')) };
            let lit = float_literal(&text).unwrap();
            proptest::prop_assert_eq!((lit.to_odd as f32).to_bits(), text.parse::<f32>().unwrap().to_bits());
        }
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
            toks("** * a::b : -> - == = != ! <= < >= > && || .. ."),
            vec![
                Ok(Tok::StarStar),
                Ok(Tok::Star),
                Ok(Tok::Ident("a")),
                Ok(Tok::ColonColon),
                Ok(Tok::Ident("b")),
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
    fn double_colon_is_a_path_separator_only_between_names() {
        let ok = |src| toks(src).into_iter().collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(ok("nn::relu")[1], Tok::ColonColon);
        assert_eq!(ok("use nn::{a}")[2], Tok::ColonColon);
        assert_eq!(ok("use nn::*")[2], Tok::ColonColon);
        for src in ["x[::2]", "x[::k]", "x[1::-1]", "x[0, ::n]", "x[a:: 2]"] {
            let t = ok(src);
            assert!(!t.contains(&Tok::ColonColon), "{src}: {t:?}");
            assert_eq!(t.iter().filter(|t| **t == Tok::Colon).count(), 2, "{src}");
        }
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
                (8, Tok::Float(FloatLit::exact(0.5)), 11),
            ]
        );
    }
}
