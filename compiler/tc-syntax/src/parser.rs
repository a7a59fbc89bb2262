//! Runs the generated parser: lexes, guards against deep nesting, feeds the tokens to
//! lalrpop and turns everything that went wrong into [`Diagnostic`]s (SPEC §8).
//!
//! Codes: E0001 syntax error, E0002 invalid character, E0003 reserved keyword, E0004
//! literal out of range, E0005 positional argument after keyword argument, E0006 nesting
//! too deep. They are documented with examples in `docs/errors-syntax.md`.

use std::collections::HashSet;

use lalrpop_util::{ErrorRecovery, ParseError};

use crate::ast::{BinOp, Dim, Expr, ExprKind, File, Ident, KwArg, Path, Span, UnOp};
use crate::diag::{Diagnostic, FileId, Loc};
use crate::lexer::{LexError, LexErrorKind, Lexer, Tok};

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_qualifications)]
    grammar
);

/// The deepest nesting accepted, counting each bracket and each operator of an
/// expression as one level; deeper input is E0006.
pub const MAX_NESTING: usize = 256;

type Token<'s> = (usize, Tok<'s>, usize);
type Error<'s> = ParseError<usize, Tok<'s>, LexError>;

/// Parses a whole file; see [`crate::parse_file`].
pub fn parse_file(file: FileId, src: &str) -> (File, Vec<Diagnostic>) {
    let (ast, diags) = run(file, src, |sink, tokens| {
        grammar::FileParser::new().parse(sink, tokens)
    });
    (ast.unwrap_or(File { items: Vec::new() }), diags)
}

/// Parses one expression; see [`crate::parse_expr`].
pub fn parse_expr(file: FileId, src: &str) -> Result<Expr, Vec<Diagnostic>> {
    match run(file, src, |sink, tokens| {
        grammar::ExprParser::new().parse(sink, tokens)
    }) {
        (Some(expr), diags) if diags.is_empty() => Ok(expr),
        (_, diags) => Err(diags),
    }
}

/// Lexes `src`, checks its nesting and runs `parse` on the tokens. The result is `None`
/// when the nesting check failed or the parser could not recover.
fn run<'s, T>(
    file: FileId,
    src: &'s str,
    parse: impl FnOnce(&mut Sink, std::vec::IntoIter<Token<'s>>) -> Result<T, Error<'s>>,
) -> (Option<T>, Vec<Diagnostic>) {
    let mut sink = Sink::new(file, src.len());
    if let Some(at) = src.find(char::REPLACEMENT_CHARACTER) {
        sink.diags.push(invalid_utf8(file, at));
    }
    let mut tokens = Vec::new();
    let mut after_invalid = false;
    for item in Lexer::new(src) {
        match item {
            Ok(token) => {
                if std::mem::take(&mut after_invalid) {
                    sink.quiet_offsets.insert(token.0);
                }
                tokens.push(token);
            }
            Err(error) => {
                if error.kind == LexErrorKind::InvalidChar {
                    after_invalid = true;
                }
                sink.diags.push(error.to_diagnostic(file, src));
            }
        }
    }
    sink.floor_div_suspects = floor_div_suspects(src, &tokens);
    if let Some(diag) = check_nesting(file, &tokens) {
        sink.diags.push(diag);
        return (None, sink.finish());
    }
    let ast = parse(&mut sink, tokens.into_iter())
        .map_err(|error| sink.parse_error(error))
        .ok();
    (ast, sink.finish())
}

/// One argument of a call as written, before positional and keyword arguments are
/// separated.
pub enum Arg {
    Positional(Expr),
    Keyword(KwArg),
}

/// The node of `a op b`, spanning `start..end`.
pub fn binary(op: BinOp, a: Expr, b: Expr, start: usize, end: usize) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        span: Span::new(start, end),
    }
}

/// The node of `op e`, spanning `start..end`.
pub fn unary(op: UnOp, e: Expr, start: usize, end: usize) -> Expr {
    Expr {
        kind: ExprKind::Unary(op, Box::new(e)),
        span: Span::new(start, end),
    }
}

/// What the grammar's actions report besides the tree: errors recovered from and
/// diagnostics of their own checks.
pub struct Sink {
    file: FileId,
    /// The length of the text: where errors at its end point.
    end: usize,
    diags: Vec<Diagnostic>,
    /// Offsets of the first token after invalid characters: a syntax error there is a
    /// consequence of the E0002 already reported, and is not reported again.
    quiet_offsets: HashSet<usize>,
    /// Offsets of the first token after a line whose `//` comment may have been meant
    /// as floor division: a syntax error there gets a hint.
    floor_div_suspects: HashSet<usize>,
}

impl Sink {
    fn new(file: FileId, end: usize) -> Sink {
        Sink {
            file,
            end,
            diags: Vec::new(),
            quiet_offsets: HashSet::new(),
            floor_div_suspects: HashSet::new(),
        }
    }

    fn loc(&self, span: Span) -> Loc {
        Loc {
            file: self.file,
            span,
        }
    }

    /// Reports an error the parser recovered from.
    pub fn recovered(&mut self, recovery: ErrorRecovery<usize, Tok<'_>, LexError>) {
        self.parse_error(recovery.error);
    }

    /// Reports a parse error as E0001, or E0003 when the unexpected token is a reserved
    /// word. Lexer errors are not reported here: they were when lexing.
    fn parse_error(&mut self, error: Error<'_>) {
        let (span, found, expected) = match error {
            ParseError::UnrecognizedToken {
                token: (start, tok, end),
                expected,
            } => (Span::new(start, end), Some(tok), expected),
            ParseError::ExtraToken {
                token: (start, tok, end),
            } => (Span::new(start, end), Some(tok), Vec::new()),
            ParseError::UnrecognizedEof { expected, .. } => {
                (Span::new(self.end, self.end), None, expected)
            }
            ParseError::InvalidToken { location } => {
                (Span::new(location, location), None, Vec::new())
            }
            ParseError::User { .. } => return,
        };
        let mut diag = syntax_error(self.loc(span), found, &expected);
        if diag.code == "E0001" && diag.hint.is_none() && self.floor_div_suspects.contains(&span.start) {
            diag = diag.with_hint(
                "`//` starts a comment, so the line above ends before it; floor division is `floor_div(a, b)`",
            );
        }
        self.diags.push(diag);
    }

    /// Reports every `..` dimension after the first of a type (E0001).
    pub fn check_rest_dims(&mut self, dims: &[Dim]) {
        let mut rests = dims.iter().filter_map(|dim| match dim {
            Dim::Rest(name) => Some(name.span),
            _ => None,
        });
        let Some(first) = rests.next() else { return };
        for extra in rests {
            let diag = Diagnostic::new(
                "E0001",
                self.loc(extra),
                "a type can have at most one `..` dimension",
            )
            .with_label("second rest dimension")
            .with_secondary(self.loc(first), "first rest dimension");
            self.diags.push(diag);
        }
    }

    /// Builds a call, reporting positional arguments after keyword ones (E0005).
    pub fn call(&mut self, callee: Expr, args: Vec<Arg>, span: Span) -> Expr {
        let mut positional = Vec::new();
        let mut kwargs: Vec<KwArg> = Vec::new();
        for arg in args {
            match arg {
                Arg::Positional(expr) => {
                    if let (Some(keyword), false) = (kwargs.last(), expr.kind == ExprKind::Error) {
                        let diag = Diagnostic::new(
                            "E0005",
                            self.loc(expr.span),
                            "positional argument after keyword argument",
                        )
                        .with_label("positional argument")
                        .with_secondary(self.loc(keyword.name.span), "keyword argument")
                        .with_hint("keyword arguments go after all positional arguments");
                        self.diags.push(diag);
                    }
                    positional.push(expr);
                }
                Arg::Keyword(kwarg) => kwargs.push(kwarg),
            }
        }
        Expr {
            kind: ExprKind::Call {
                callee: Box::new(callee),
                args: positional,
                kwargs,
            },
            span,
        }
    }

    /// `base.N`; an index beyond `u32` is E0004.
    pub fn field(&mut self, base: Expr, index: u64, index_span: Span, span: Span) -> Expr {
        match u32::try_from(index) {
            Ok(index) => Expr {
                kind: ExprKind::Field(Box::new(base), index, index_span),
                span,
            },
            Err(_) => {
                let diag = Diagnostic::new(
                    "E0004",
                    self.loc(index_span),
                    format!("tuple index `{index}` is out of range"),
                )
                .with_label(format!("the largest tuple index is {}", u32::MAX));
                self.diags.push(diag);
                Expr {
                    kind: ExprKind::Error,
                    span,
                }
            }
        }
    }

    /// `base.T`, and `base.shape` (the call `shape(base)`); any other name after `.` is
    /// E0001.
    pub fn named_field(&mut self, base: Expr, name: Ident, span: Span) -> Expr {
        if name.name == "T" {
            return Expr {
                kind: ExprKind::TransposeAll(Box::new(base)),
                span,
            };
        }
        if name.name == "shape" {
            let path = Path { span: name.span, segments: vec![name] };
            let callee = Expr { span: path.span, kind: ExprKind::Path(path) };
            return Expr {
                kind: ExprKind::Call { callee: Box::new(callee), args: vec![base], kwargs: Vec::new() },
                span,
            };
        }
        let diag = Diagnostic::new(
            "E0001",
            self.loc(name.span),
            format!(
                "expected a tuple index, `T` or `shape` after `.` but found identifier `{}`",
                name.name
            ),
        )
        .with_hint("tuple elements are `.0`, `.1`, ...; `.T` reverses the axes of a tensor and `.shape` is its shape");
        self.diags.push(diag);
        Expr {
            kind: ExprKind::Error,
            span,
        }
    }

    /// All diagnostics, recovered syntax errors included, sorted by position. Of several
    /// syntax errors (E0001, E0003) at one offset only the first is kept, and so is only
    /// the first of several diagnostics with one code at one offset.
    fn finish(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|diag| diag.primary.loc.span.start);
        let mut syntax_offsets = self.quiet_offsets;
        let mut seen = HashSet::new();
        self.diags.retain(|diag| {
            let start = diag.primary.loc.span.start;
            seen.insert((diag.code, start))
                && (!matches!(diag.code, "E0001" | "E0003") || syntax_offsets.insert(start))
        });
        self.diags
    }
}

/// The diagnostic for an unexpected token (`None`: the end of the text) where one of
/// `expected` (lalrpop's names of terminals) would have been valid.
fn syntax_error(loc: Loc, found: Option<Tok<'_>>, expected: &[String]) -> Diagnostic {
    if let Some(Tok::Reserved(word)) = found {
        let diag = Diagnostic::new(
            "E0003",
            loc,
            format!("`{word}` is reserved for a later version"),
        )
        .with_label("reserved keyword");
        return match word {
            "if" | "else" => diag.with_hint("select between values with `where(cond, a, b)`"),
            "return" => diag.with_hint("a block's value is its last expression"),
            _ => diag,
        };
    }
    let found_text = found
        .as_ref()
        .map_or_else(|| "end of file".to_string(), Tok::to_string);
    let diag = Diagnostic::new(
        "E0001",
        loc,
        format!(
            "expected {} but found {found_text}",
            describe_expected(expected)
        ),
    );
    let chained = matches!(
        found,
        Some(Tok::EqEq | Tok::NotEq | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
    ) && expected.iter().any(|name| name == "\"&&\"");
    if chained {
        diag.with_hint("comparisons cannot be chained; combine them with `&&` or add parentheses")
    } else {
        diag
    }
}

/// E0002 for text that was not UTF-8: the edge reads such bytes as U+FFFD, so the first
/// U+FFFD (at byte `at`) is where the first bad byte was.
fn invalid_utf8(file: FileId, at: usize) -> Diagnostic {
    let span = Span::new(at, at + char::REPLACEMENT_CHARACTER.len_utf8());
    Diagnostic::new("E0002", Loc { file, span }, "invalid UTF-8")
        .with_label("bytes that are not UTF-8 (shown as `\u{FFFD}`)")
        .with_hint("source files are UTF-8 text; U+FFFD stands for the bytes that were not")
}

/// The offsets of the first token (or the end of the text) after each line whose code
/// is followed by a `//` comment that reads like the rest of an expression: the code
/// ends with a binary operator (`x * // 2`), or the comment starts like an operand
/// (`x // 2`, `x // (n + 1)`, `x // n`). Someone writing Python's floor division gets
/// a comment instead, and the syntax error then comes at the next line.
fn floor_div_suspects(src: &str, tokens: &[Token<'_>]) -> HashSet<usize> {
    let mut suspects = HashSet::new();
    let mut line_start = 0;
    for line in src.split_inclusive('\n') {
        let line_end = line_start + line.len();
        if let Some((code, comment)) = line.split_once("//") {
            let code = code.trim_end();
            let comment = comment.trim();
            let ends_with_operator = code.ends_with(['+', '-', '*', '/', '%', '@', '<', '>', '=', '&', '|']);
            let operand_like = comment.starts_with(|c: char| c.is_ascii_digit() || c == '(')
                || (!comment.is_empty()
                    && comment
                        .trim_end_matches([';', ')', ']', ','])
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if !code.trim_start().is_empty() && !comment.starts_with('/') && (ends_with_operator || operand_like) {
                let next = tokens.partition_point(|(start, _, _)| *start < line_end);
                suspects.insert(tokens.get(next).map_or(src.len(), |(start, _, _)| *start));
            }
        }
        line_start = line_end;
    }
    suspects
}

/// Tokens that can start an expression, as lalrpop names them.
const EXPRESSION_START: &[&str] = &[
    "IDENT",
    "INT",
    "FLOAT",
    "\"true\"",
    "\"false\"",
    "\"(\"",
    "\"[\"",
    "\"{\"",
    "\"-\"",
    "\"!\"",
];

/// Binary operators that every state after a complete operand of `+` expects (the
/// tighter ones may have been reduced away already, as after `a < b`).
const OPERATOR_CORE: &[&str] = &["\"||\"", "\"&&\"", "\"+\"", "\"-\""];

/// Everything that may follow an operand, summed up as "an operator" when the core is
/// expected.
const OPERATORS: &[&str] = &[
    "\"||\"", "\"&&\"", "\"==\"", "\"!=\"", "\"<\"", "\"<=\"", "\">\"", "\">=\"", "\"+\"", "\"-\"",
    "\"*\"", "\"/\"", "\"%\"", "\"@\"", "\"**\"", "\"as\"", "\".\"", "\"(\"", "\"[\"",
];

/// The order in which expected tokens are listed: closers and separators first.
const ORDER: &[&str] = &[
    ")", "]", "}", ",", ";", ":", "::", "=", "->", "..", "(", "[", "{", "_", "use", "const", "pub",
    "fn", "let", "true", "false", "as", ".", "||", "&&", "==", "!=", "<", "<=", ">", ">=", "+",
    "-", "*", "/", "%", "@", "**", "!",
];

/// "`)`", "one of `)`, `,` or an operator", ... from lalrpop's list of expected
/// terminals.
fn describe_expected(expected: &[String]) -> String {
    let mut names: Vec<&str> = expected.iter().map(String::as_str).collect();
    let mut classes = Vec::new();
    if EXPRESSION_START.iter().all(|t| names.contains(t)) {
        names.retain(|name| !EXPRESSION_START.contains(name));
        classes.push("an expression".to_string());
    }
    if OPERATOR_CORE.iter().all(|t| names.contains(t)) {
        names.retain(|name| !OPERATORS.contains(name));
        classes.push("an operator".to_string());
    }
    let mut fixed: Vec<&str> = names
        .iter()
        .filter_map(|name| name.strip_prefix('"')?.strip_suffix('"'))
        .collect();
    fixed.sort_by_key(|token| ORDER.iter().position(|t| t == token).unwrap_or(ORDER.len()));
    let mut items: Vec<String> = fixed.iter().map(|token| format!("`{token}`")).collect();
    for (name, class) in [
        ("IDENT", "an identifier"),
        ("INT", "an integer"),
        ("FLOAT", "a float"),
    ] {
        if names.contains(&name) {
            items.push(class.to_string());
        }
    }
    items.extend(classes);
    match items.as_slice() {
        [] => "end of file".to_string(),
        [one] => one.clone(),
        [first, second] => format!("{first} or {second}"),
        [init @ .., last] => format!("one of {} or {last}", init.join(", ")),
    }
}

/// Rejects token streams whose syntax tree would nest deeper than [`MAX_NESTING`], so
/// that the recursive passes after the parser (and dropping the tree) cannot overflow the
/// stack.
///
/// The measure is computed on tokens: in each bracket group, every comma- or
/// semicolon-separated element costs its operators (postfix brackets of calls and
/// indexing included) plus the cost of its dearest nested group, and a group costs one
/// more than its dearest element. So `((x))` costs 2 and `f(x)(y)` costs 3. An expression
/// tree is at most a small constant times deeper than this, while long flat lists (a
/// large tensor literal, many items) cost nothing extra.
fn check_nesting(file: FileId, tokens: &[Token<'_>]) -> Option<Diagnostic> {
    #[derive(Default)]
    struct Group {
        /// Operators and postfix brackets of the current element.
        ops: usize,
        /// Cost of the dearest group nested in the current element.
        child: usize,
        /// Cost of the dearest finished element.
        widest: usize,
    }
    let mut stack = vec![Group::default()];
    let mut after_operand = false;
    for (start, tok, end) in tokens {
        let depth = stack.len();
        let group = stack.last_mut()?;
        let postfix = std::mem::replace(
            &mut after_operand,
            matches!(
                tok,
                Tok::Ident(_)
                    | Tok::Int(_)
                    | Tok::Float(_)
                    | Tok::True
                    | Tok::False
                    | Tok::RParen
                    | Tok::RBracket
                    | Tok::RBrace
            ),
        );
        match tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                group.ops += usize::from(postfix);
                let cost = group.ops + group.child;
                stack.push(Group::default());
                if stack.len() > MAX_NESTING || cost > MAX_NESTING {
                    return Some(too_deep(file, Span::new(*start, *end)));
                }
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace if depth > 1 => {
                let closed = stack.pop()?;
                let cost = closed.widest.max(closed.ops + closed.child) + 1;
                let group = stack.last_mut()?;
                group.child = group.child.max(cost);
                if group.ops + group.child > MAX_NESTING {
                    return Some(too_deep(file, Span::new(*start, *end)));
                }
            }
            Tok::Comma | Tok::Semi | Tok::Fn | Tok::Use | Tok::Const | Tok::Let => {
                group.widest = group.widest.max(group.ops + group.child);
                group.ops = 0;
                group.child = 0;
            }
            Tok::OrOr
            | Tok::AndAnd
            | Tok::EqEq
            | Tok::NotEq
            | Tok::Lt
            | Tok::Le
            | Tok::Gt
            | Tok::Ge
            | Tok::Plus
            | Tok::Minus
            | Tok::Star
            | Tok::Slash
            | Tok::Percent
            | Tok::At
            | Tok::StarStar
            | Tok::Bang
            | Tok::As
            | Tok::Dot => {
                group.ops += 1;
                if group.ops + group.child > MAX_NESTING {
                    return Some(too_deep(file, Span::new(*start, *end)));
                }
            }
            _ => {}
        }
    }
    None
}

fn too_deep(file: FileId, span: Span) -> Diagnostic {
    Diagnostic::new(
        "E0006",
        Loc { file, span },
        format!("nesting too deep: more than {MAX_NESTING} levels of brackets and operators"),
    )
    .with_label("the limit is reached here")
    .with_hint("split the expression with `let` bindings")
}
