//! The text form of the graph IR: [`print()`] writes a graph, [`parse`] reads one back,
//! and `parse(&print(&g))` is `g` again (bit for bit, see [`Graph::bitwise_eq`]) for
//! every graph whose inputs come before their nodes, whose outputs exist and whose
//! constants have their node's type: every graph that verifies, and the malformed ones
//! the verifier is tested on.
//!
//! ```text
//! fn main(%0: f32[2, 3], %1: f32[3]) -> (f32[2, 3]) {
//!   %2 = broadcast[dims=[1]] %1 : f32[2, 3]
//!   %3 = add %0, %2 : f32[2, 3]
//!   return %3
//! }
//! ```
//!
//! - A value's name `%k` is its node index, so the text fixes the node order exactly.
//!   Body lines appear in increasing index order and may only use smaller indices.
//! - Parameters are listed in the header in parameter order (`%k` is where the
//!   `Param(i)` node sits, `i` its position in the list). A graph whose parameter indices
//!   are not exactly `0..n` prints them inline instead (`%0 = param[1] : f32`); the
//!   parser accepts both forms, also mixed.
//! - A line is `%k = MNEMONIC[ATTRS] %a, %b : TYPE`. Attributes are `key=value` with
//!   values that are words, integers, lists `[..]` and pairs `(lo, hi)`; `param[0]` and
//!   `random[normal]` have one positional attribute.
//! - Constants carry their values, nested by axis as in NumPy: `const 3.0 : f32`,
//!   `const [[1, 2], [3, 4]] : i32[2, 2]`. Floats use Rust's shortest round-trip
//!   spelling (f16 and bf16 through their exact f32 value); `inf`, `-inf` and `nan` are
//!   words, and a NaN other than the dtype's canonical quiet NaN is `nan(0x7fc00001)`
//!   with its raw bits. Large constants are printed in full.
//! - Donations ([`Graph::donations`]) follow the result types as
//!   `donate(PARAM -> OUTPUT, ...)`, by parameter and output position; nothing when
//!   there are none.
//! - `// comment` runs to the end of the line. The graph name is a bare word or a
//!   quoted string.
//!
//! The parser checks syntax, names and the agreement of constants with their types;
//! the typing rules of the ops are the verifier's job ([`crate::verify`]). It never
//! panics and reports the first problem with its 1-based line and column.

use crate::graph::{Donation, Graph, Node, NodeId, Type};
use crate::ops::{ArgOp, BinaryOp, Dist, Op, PoolKind, ReduceOp, UnaryOp};
use half::{bf16, f16};
use std::fmt::Write as _;
use tc_tensor::{DType, Data, Tensor};

// ---------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------

/// The text form of `graph`. Total: a malformed graph prints too (a dangling reference
/// prints its number and `?` as its type), though it may not parse back.
pub fn print(graph: &Graph) -> String {
    let mut out = String::new();
    let header_params = header_params(graph);
    out.push_str("fn ");
    out.push_str(&print_name(&graph.name));
    out.push('(');
    if let Some(params) = &header_params {
        for (i, id) in params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}: {}", id, graph.nodes[id.index()].ty);
        }
    }
    out.push_str(") -> (");
    for (i, &o) in graph.outputs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match graph.nodes.get(o.index()) {
            Some(n) => out.push_str(&n.ty.to_string()),
            None => out.push('?'),
        }
    }
    out.push(')');
    if !graph.donations.is_empty() {
        let pairs: Vec<String> = graph.donations.iter().map(|d| format!("{} -> {}", d.param, d.output)).collect();
        let _ = write!(out, " donate({})", pairs.join(", "));
    }
    out.push_str(" {\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        if header_params.is_some() && matches!(node.op, Op::Param(_)) {
            continue;
        }
        out.push_str("  ");
        out.push_str(&print_node(NodeId(i as u32), node));
        out.push('\n');
    }
    out.push_str("  return");
    for (i, o) in graph.outputs.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        let _ = write!(out, "{o}");
    }
    out.push_str("\n}\n");
    out
}

/// One node as a body line without indentation: `%3 = add %0, %2 : f32[2, 3]`.
pub fn print_node(id: NodeId, node: &Node) -> String {
    let mut s = format!("{id} = {}", node.op.mnemonic());
    match &node.op {
        Op::Const(t) => {
            s.push(' ');
            print_tensor_value(&mut s, t);
        }
        op => {
            s.push_str(&print_attrs(op));
            for (i, input) in node.inputs.iter().enumerate() {
                s.push_str(if i == 0 { " " } else { ", " });
                let _ = write!(s, "{input}");
            }
        }
    }
    let _ = write!(s, " : {}", node.ty);
    s
}

/// The parameter nodes in parameter order, if their indices are exactly `0..n`.
fn header_params(graph: &Graph) -> Option<Vec<NodeId>> {
    let params: Vec<(usize, NodeId)> = graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(k, n)| match n.op {
            Op::Param(i) => Some((i, NodeId(k as u32))),
            _ => None,
        })
        .collect();
    let mut slots = vec![None; params.len()];
    for &(i, id) in &params {
        match slots.get_mut(i) {
            Some(slot @ None) => *slot = Some(id),
            _ => return None,
        }
    }
    slots.into_iter().collect()
}

fn is_bare_word(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn print_name(name: &str) -> String {
    if is_bare_word(name) {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

fn list(items: &[usize]) -> String {
    let items: Vec<String> = items.iter().map(|x| x.to_string()).collect();
    format!("[{}]", items.join(", "))
}

fn print_attrs(op: &Op) -> String {
    match op {
        Op::Param(i) => format!("[{i}]"),
        Op::Random(d) => format!("[{}]", d.name()),
        Op::Iota { axis } => format!("[axis={axis}]"),
        Op::Reduce { op, axes } => format!("[op={}, axes={}]", op.name(), list(axes)),
        Op::ArgReduce { op, axis } => format!("[op={}, axis={axis}]", op.name()),
        Op::ArgSort { axis, descending } => format!("[axis={axis}, descending={descending}]"),
        Op::Broadcast { dims } => format!("[dims={}]", list(dims)),
        Op::Transpose { perm } => format!("[perm={}]", list(perm)),
        Op::Reverse { axes } => format!("[axes={}]", list(axes)),
        Op::Slice { start, end } => format!("[start={}, end={}]", list(start), list(end)),
        Op::Pad { lo, hi } => format!("[lo={}, hi={}]", list(lo), list(hi)),
        Op::Concat { axis } | Op::Gather { axis } | Op::ScatterAdd { axis } => format!("[axis={axis}]"),
        Op::Conv2d { stride, pad, dilation } => format!(
            "[stride={}, pad=[({}, {}), ({}, {})], dilation={}]",
            list(stride),
            pad[0].0,
            pad[0].1,
            pad[1].0,
            pad[1].1,
            list(dilation)
        ),
        Op::Pool { kind, size, stride } | Op::PoolGrad { kind, size, stride } => {
            format!("[kind={}, size={}, stride={}]", kind.name(), list(size), list(stride))
        }
        Op::Const(_) | Op::Unary(_) | Op::Binary(_) | Op::Select | Op::Cast | Op::Reshape | Op::MatMul => String::new(),
    }
}

/// The value of a tensor, nested by axis: `3.0`, `[1, 2]`, `[[true], [false]]`.
pub fn print_tensor_value(out: &mut String, t: &Tensor) {
    let elems = element_strings(t.data());
    if t.shape().is_empty() {
        // A rank-0 tensor holds one element; a malformed one prints as an empty list.
        match elems.first() {
            Some(e) => out.push_str(e),
            None => out.push_str("[]"),
        }
        return;
    }
    let mut next = 0;
    nest(out, t.shape(), &elems, &mut next);
}

fn nest(out: &mut String, shape: &[usize], elems: &[String], next: &mut usize) {
    out.push('[');
    for i in 0..shape[0] {
        if i > 0 {
            out.push_str(", ");
        }
        if shape.len() == 1 {
            out.push_str(elems.get(*next).map(String::as_str).unwrap_or("?"));
            *next += 1;
        } else {
            nest(out, &shape[1..], elems, next);
        }
    }
    out.push(']');
}

fn element_strings(data: &Data) -> Vec<String> {
    match data {
        Data::F64(v) => v
            .iter()
            .map(|&x| {
                float_string(
                    x.is_nan(),
                    x,
                    x.to_bits() == f64::NAN.to_bits(),
                    || format!("{:#018x}", x.to_bits()),
                    || format!("{x:?}"),
                )
            })
            .collect(),
        Data::F32(v) => v.iter().map(|&x| f32_string(x)).collect(),
        Data::F16(v) => v
            .iter()
            .map(|x| {
                let bits = x.to_bits();
                float_string(
                    x.is_nan(),
                    x.to_f64(),
                    bits == f16::NAN.to_bits(),
                    || format!("{bits:#06x}"),
                    || format!("{:?}", x.to_f32()),
                )
            })
            .collect(),
        Data::BF16(v) => v
            .iter()
            .map(|x| {
                let bits = x.to_bits();
                float_string(
                    x.is_nan(),
                    x.to_f64(),
                    bits == bf16::NAN.to_bits(),
                    || format!("{bits:#06x}"),
                    || format!("{:?}", x.to_f32()),
                )
            })
            .collect(),
        Data::I64(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::I32(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::U8(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::Bool(v) => v.iter().map(|x| x.to_string()).collect(),
    }
}

fn f32_string(x: f32) -> String {
    float_string(
        x.is_nan(),
        x as f64,
        x.to_bits() == f32::NAN.to_bits(),
        || format!("{:#010x}", x.to_bits()),
        || format!("{x:?}"),
    )
}

fn float_string(
    is_nan: bool,
    value: f64,
    canonical_nan: bool,
    bits: impl Fn() -> String,
    finite: impl Fn() -> String,
) -> String {
    if is_nan {
        if canonical_nan {
            "nan".to_string()
        } else {
            format!("nan({})", bits())
        }
    } else if value == f64::INFINITY {
        "inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-inf".to_string()
    } else {
        finite()
    }
}

// ---------------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------------

/// Why a text did not parse, at a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    line: usize,
    col: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// Identifiers, numbers and other literals: a run of `[A-Za-z0-9_.]`, possibly with
    /// a leading sign and an exponent sign.
    Word(String),
    /// `%k`.
    Value(u32),
    Str(String),
    Punct(char),
    Arrow,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Value(v) => format!("`%{v}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Arrow => "`->`".to_string(),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { line: pos.line, col: pos.col, message: message.into() })
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn lex(text: &str) -> Result<Vec<(Tok, Pos)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    // Advance over `n` characters, none of them a newline.
    macro_rules! bump {
        ($n:expr) => {{
            let n = $n;
            i += n;
            col += n;
        }};
    }
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, col };
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
        } else if c.is_whitespace() {
            bump!(1);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                bump!(1);
            }
        } else if c == '%' {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let digits: String = chars[start..j].iter().collect();
            let Ok(n) = digits.parse::<u32>() else {
                return err(
                    pos,
                    if digits.is_empty() {
                        "expected a number after `%`".to_string()
                    } else {
                        format!("value number %{digits} is too large")
                    },
                );
            };
            if j < chars.len() && is_word_char(chars[j]) {
                return err(Pos { line, col: col + (j - i) }, "a value name is `%` and digits");
            }
            toks.push((Tok::Value(n), pos));
            bump!(j - i);
        } else if c == '-' && chars.get(i + 1) == Some(&'>') {
            toks.push((Tok::Arrow, pos));
            bump!(2);
        } else if is_word_char(c) || ((c == '-' || c == '+') && chars.get(i + 1).is_some_and(|&d| is_word_char(d))) {
            let start = i;
            // In a number, a sign may follow the exponent's `e`: `1e-5`, `-2.5E+3`.
            let numeric = chars[start].is_ascii_digit()
                || (chars[start] == '-' || chars[start] == '+')
                    && chars.get(start + 1).is_some_and(|c| c.is_ascii_digit() || *c == '.');
            let mut j = i + 1;
            while j < chars.len() {
                let d = chars[j];
                if is_word_char(d) || (numeric && (d == '-' || d == '+') && matches!(chars[j - 1], 'e' | 'E')) {
                    j += 1;
                } else {
                    break;
                }
            }
            toks.push((Tok::Word(chars[start..j].iter().collect()), pos));
            bump!(j - i);
        } else if c == '"' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                let Some(&d) = chars.get(j) else {
                    return err(pos, "unterminated string");
                };
                match d {
                    '"' => break,
                    '\n' => return err(pos, "unterminated string"),
                    '\\' => {
                        let Some(&e) = chars.get(j + 1) else {
                            return err(pos, "unterminated string");
                        };
                        j += 2;
                        match e {
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            '0' => s.push('\0'),
                            '\\' => s.push('\\'),
                            '"' => s.push('"'),
                            '\'' => s.push('\''),
                            'u' => {
                                let close = chars[j..].iter().position(|&c| c == '}');
                                let ok = chars.get(j) == Some(&'{') && close.is_some();
                                let code = close.filter(|_| ok).and_then(|k| {
                                    let hex: String = chars[j + 1..j + k].iter().collect();
                                    u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).map(|c| (c, k))
                                });
                                let Some((ch, k)) = code else {
                                    return err(Pos { line, col: col + (j - i) }, "bad `\\u{..}` escape");
                                };
                                s.push(ch);
                                j += k + 1;
                            }
                            other => {
                                return err(Pos { line, col: col + (j - 1 - i) }, format!("unknown escape `\\{other}`"))
                            }
                        }
                    }
                    d => {
                        s.push(d);
                        j += 1;
                    }
                }
            }
            toks.push((Tok::Str(s), pos));
            bump!(j + 1 - i);
        } else if "()[]{},:=".contains(c) {
            toks.push((Tok::Punct(c), pos));
            bump!(1);
        } else {
            return err(pos, format!("unexpected character {c:?}"));
        }
    }
    toks.push((Tok::Eof, Pos { line, col }));
    Ok(toks)
}

// ---------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------

/// Parse the text form of one graph (see the module documentation).
pub fn parse(text: &str) -> Result<Graph, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser { toks, at: 0 };
    p.graph()
}

struct Parser {
    toks: Vec<(Tok, Pos)>,
    at: usize,
}

/// One attribute as written: `key=value` (the key with its position) or a value.
type AttrItem = (Option<(String, Pos)>, Attr);

/// An attribute value before it is interpreted by its op.
#[derive(Debug)]
enum Attr {
    Word(String, Pos),
    List(Vec<Attr>, Pos),
    Tuple(Vec<Attr>, Pos),
}

impl Attr {
    fn pos(&self) -> Pos {
        match self {
            Attr::Word(_, p) | Attr::List(_, p) | Attr::Tuple(_, p) => *p,
        }
    }
}

/// A constant's value before its type is known.
enum Lit {
    Leaf(String, Pos),
    List(Vec<Lit>, Pos),
}

/// One parsed line of the body (or a header parameter).
struct Def {
    id: u32,
    pos: Pos,
    op: Op,
    inputs: Vec<(NodeId, Pos)>,
    ty: Type,
}

/// How deeply constant values may nest (more than any tensor rank in practice); keeps
/// the recursive parser's stack bounded on hostile input.
const MAX_NESTING: usize = 64;

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn pos(&self) -> Pos {
        self.toks[self.at].1
    }

    fn next(&mut self) -> (Tok, Pos) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if *self.peek() == Tok::Punct(c) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> Result<Pos, ParseError> {
        let (t, pos) = self.next();
        if t == Tok::Punct(c) {
            Ok(pos)
        } else {
            err(pos, format!("expected `{c}`, found {}", t.describe()))
        }
    }

    fn expect_word(&mut self, what: &str) -> Result<(String, Pos), ParseError> {
        match self.next() {
            (Tok::Word(w), pos) => Ok((w, pos)),
            (t, pos) => err(pos, format!("expected {what}, found {}", t.describe())),
        }
    }

    fn expect_value(&mut self) -> Result<(u32, Pos), ParseError> {
        match self.next() {
            (Tok::Value(v), pos) => Ok((v, pos)),
            (t, pos) => err(pos, format!("expected a value `%k`, found {}", t.describe())),
        }
    }

    fn graph(&mut self) -> Result<Graph, ParseError> {
        let (kw, pos) = self.expect_word("`fn`")?;
        if kw != "fn" {
            return err(pos, format!("expected `fn`, found `{kw}`"));
        }
        let name = match self.next() {
            (Tok::Word(w), pos) => {
                if !is_bare_word(&w) {
                    return err(pos, format!("`{w}` is not a function name (quote it)"));
                }
                w
            }
            (Tok::Str(s), _) => s,
            (t, pos) => return err(pos, format!("expected the function name, found {}", t.describe())),
        };
        // Header: parameters in parameter order.
        let mut defs: Vec<Def> = Vec::new();
        self.expect_punct('(')?;
        if !self.eat_punct(')') {
            let mut index = 0;
            loop {
                let (id, pos) = self.expect_value()?;
                self.expect_punct(':')?;
                let ty = self.ty()?;
                defs.push(Def { id, pos, op: Op::Param(index), inputs: vec![], ty });
                index += 1;
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        let n_header = defs.len();
        match self.next() {
            (Tok::Arrow, _) => {}
            (t, pos) => return err(pos, format!("expected `->`, found {}", t.describe())),
        }
        let mut out_types = Vec::new();
        self.expect_punct('(')?;
        if !self.eat_punct(')') {
            loop {
                let pos = self.pos();
                out_types.push((self.ty()?, pos));
                if self.eat_punct(')') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        let donations = self.donations()?;
        self.expect_punct('{')?;
        // Body.
        let (outputs, return_pos) = loop {
            match self.peek().clone() {
                Tok::Value(_) => {
                    let def = self.line()?;
                    if let Some(prev) = defs[n_header..].last() {
                        if def.id <= prev.id {
                            return err(
                                def.pos,
                                format!("%{} follows %{}: lines must be in increasing order", def.id, prev.id),
                            );
                        }
                    }
                    defs.push(def);
                }
                Tok::Word(w) if w == "return" => {
                    let (_, return_pos) = self.next();
                    let mut outputs = Vec::new();
                    if matches!(self.peek(), Tok::Value(_)) {
                        loop {
                            outputs.push(self.expect_value()?);
                            if !self.eat_punct(',') {
                                break;
                            }
                        }
                    }
                    break (outputs, return_pos);
                }
                t => return err(self.pos(), format!("expected a line `%k = ...` or `return`, found {}", t.describe())),
            }
        };
        self.expect_punct('}')?;
        let (t, pos) = self.next();
        if t != Tok::Eof {
            return err(pos, format!("expected the end of the input after `}}`, found {}", t.describe()));
        }
        let mut graph = assemble(name, defs, outputs, return_pos, out_types)?;
        graph.donations = donations;
        Ok(graph)
    }

    /// The optional `donate(PARAM -> OUTPUT, ...)` after the result types.
    fn donations(&mut self) -> Result<Vec<Donation>, ParseError> {
        if *self.peek() != Tok::Word("donate".into()) {
            return Ok(Vec::new());
        }
        self.next();
        self.expect_punct('(')?;
        let mut donations = Vec::new();
        while !self.eat_punct(')') {
            if !donations.is_empty() {
                self.expect_punct(',')?;
            }
            let (w, pos) = self.expect_word("a parameter number")?;
            let param = parse_usize(&w, pos)?;
            match self.next() {
                (Tok::Arrow, _) => {}
                (t, pos) => return err(pos, format!("expected `->`, found {}", t.describe())),
            }
            let (w, pos) = self.expect_word("an output number")?;
            donations.push(Donation { param, output: parse_usize(&w, pos)? });
        }
        Ok(donations)
    }

    /// `%k = mnemonic[attrs] inputs : type`
    fn line(&mut self) -> Result<Def, ParseError> {
        let (id, pos) = self.expect_value()?;
        self.expect_punct('=')?;
        let (mnemonic, mpos) = self.expect_word("an op")?;
        if mnemonic == "const" {
            let lit = self.literal(0)?;
            self.expect_punct(':')?;
            let ty = self.ty()?;
            let tensor = tensor_from_literal(&lit, &ty)?;
            return Ok(Def { id, pos, op: Op::Const(tensor), inputs: vec![], ty });
        }
        let attrs = if *self.peek() == Tok::Punct('[') { self.attrs()? } else { Vec::new() };
        let mut inputs = Vec::new();
        if matches!(self.peek(), Tok::Value(_)) {
            loop {
                let (v, vpos) = self.expect_value()?;
                inputs.push((NodeId(v), vpos));
                if !self.eat_punct(',') {
                    break;
                }
            }
        }
        self.expect_punct(':')?;
        let ty = self.ty()?;
        let op = build_op(&mnemonic, mpos, attrs)?;
        Ok(Def { id, pos, op, inputs, ty })
    }

    fn ty(&mut self) -> Result<Type, ParseError> {
        let (name, pos) = self.expect_word("a type")?;
        let Some(dtype) = DType::from_name(&name) else {
            return err(pos, format!("unknown dtype `{name}`"));
        };
        let mut shape = Vec::new();
        if self.eat_punct('[') && !self.eat_punct(']') {
            loop {
                let (w, wpos) = self.expect_word("a dimension")?;
                shape.push(parse_usize(&w, wpos)?);
                if self.eat_punct(']') {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        if shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).is_none() {
            return err(pos, "the shape has too many elements");
        }
        Ok(Type { dtype, shape })
    }

    /// `[item, ...]` where an item is `key=value` or a positional value.
    fn attrs(&mut self) -> Result<Vec<AttrItem>, ParseError> {
        self.expect_punct('[')?;
        let mut items = Vec::new();
        if self.eat_punct(']') {
            return Ok(items);
        }
        loop {
            let key = match (self.peek().clone(), self.toks.get(self.at + 1).map(|t| &t.0)) {
                (Tok::Word(w), Some(Tok::Punct('='))) => {
                    let pos = self.pos();
                    self.next();
                    self.next();
                    Some((w, pos))
                }
                _ => None,
            };
            let value = self.attr_value(0)?;
            items.push((key, value));
            if self.eat_punct(']') {
                return Ok(items);
            }
            self.expect_punct(',')?;
        }
    }

    fn attr_value(&mut self, depth: usize) -> Result<Attr, ParseError> {
        let (t, pos) = self.next();
        if depth > MAX_NESTING {
            return err(pos, "attribute nested too deeply");
        }
        let close = match t {
            Tok::Word(w) => return Ok(Attr::Word(w, pos)),
            Tok::Punct('[') => ']',
            Tok::Punct('(') => ')',
            t => return err(pos, format!("expected an attribute value, found {}", t.describe())),
        };
        let mut items = Vec::new();
        if !self.eat_punct(close) {
            loop {
                items.push(self.attr_value(depth + 1)?);
                if self.eat_punct(close) {
                    break;
                }
                self.expect_punct(',')?;
            }
        }
        Ok(if close == ']' { Attr::List(items, pos) } else { Attr::Tuple(items, pos) })
    }

    fn literal(&mut self, depth: usize) -> Result<Lit, ParseError> {
        let (t, pos) = self.next();
        if depth > MAX_NESTING {
            return err(pos, "constant nested too deeply");
        }
        match t {
            Tok::Word(w) => {
                // `nan(0x...)`: a NaN with explicit bits.
                if w == "nan" && *self.peek() == Tok::Punct('(') {
                    self.next();
                    let (bits, _) = self.expect_word("the bits of a NaN")?;
                    self.expect_punct(')')?;
                    return Ok(Lit::Leaf(format!("{w}({bits})"), pos));
                }
                Ok(Lit::Leaf(w, pos))
            }
            Tok::Punct('[') => {
                let mut items = Vec::new();
                if !self.eat_punct(']') {
                    loop {
                        items.push(self.literal(depth + 1)?);
                        if self.eat_punct(']') {
                            break;
                        }
                        self.expect_punct(',')?;
                    }
                }
                Ok(Lit::List(items, pos))
            }
            t => err(pos, format!("expected a constant value, found {}", t.describe())),
        }
    }
}

fn parse_usize(w: &str, pos: Pos) -> Result<usize, ParseError> {
    if !w.bytes().all(|b| b.is_ascii_digit()) {
        return err(pos, format!("expected a non-negative integer, found `{w}`"));
    }
    w.parse::<usize>().or_else(|_| err(pos, format!("integer `{w}` is too large")))
}

/// Put the parsed definitions in node order and check the references.
fn assemble(
    name: String,
    defs: Vec<Def>,
    outputs: Vec<(u32, Pos)>,
    return_pos: Pos,
    out_types: Vec<(Type, Pos)>,
) -> Result<Graph, ParseError> {
    let n = defs.len();
    let mut slots: Vec<Option<Def>> = (0..n).map(|_| None).collect();
    for def in defs {
        let id = def.id as usize;
        if id >= n {
            return err(
                def.pos,
                format!(
                    "%{id} is out of sequence: the graph has {n} values, so they are %0 to %{}",
                    n.saturating_sub(1)
                ),
            );
        }
        if slots[id].is_some() {
            return err(def.pos, format!("%{id} is defined twice"));
        }
        slots[id] = Some(def);
    }
    let mut graph = Graph::new(name);
    for (k, slot) in slots.into_iter().enumerate() {
        // `n` distinct ids below `n` fill every slot; the error is only a safeguard.
        let Some(def) = slot else {
            return err(return_pos, format!("%{k} is not defined"));
        };
        let mut inputs = Vec::with_capacity(def.inputs.len());
        for (input, pos) in def.inputs {
            if input.index() >= n {
                return err(pos, format!("{input} is not defined"));
            }
            if input.index() >= k {
                return err(pos, format!("{input} is used before its definition"));
            }
            inputs.push(input);
        }
        graph.nodes.push(Node { op: def.op, inputs, ty: def.ty });
    }
    if outputs.len() != out_types.len() {
        return err(
            return_pos,
            format!("the signature has {} results, `return` has {}", out_types.len(), outputs.len()),
        );
    }
    for ((o, pos), (ty, _)) in outputs.into_iter().zip(out_types) {
        let Some(node) = graph.nodes.get(o as usize) else {
            return err(pos, format!("%{o} is not defined"));
        };
        if node.ty != ty {
            return err(pos, format!("%{o} has type {}, the signature says {ty}", node.ty));
        }
        graph.outputs.push(NodeId(o));
    }
    Ok(graph)
}

// ---------------------------------------------------------------------------------
// Ops from mnemonics and attributes
// ---------------------------------------------------------------------------------

/// The attributes of one op, taken out by name; complains about missing, repeated and
/// unknown ones.
struct Attrs {
    op: String,
    pos: Pos,
    items: Vec<AttrItem>,
}

impl Attrs {
    fn take(&mut self, key: &str) -> Result<Attr, ParseError> {
        let found: Vec<usize> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| k.as_ref().is_some_and(|(k, _)| k == key))
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [] => err(self.pos, format!("`{}` needs the attribute `{key}`", self.op)),
            [i] => Ok(self.items.remove(*i).1),
            [_, second, ..] => {
                let pos = self.items[*second].0.as_ref().map_or(self.pos, |(_, p)| *p);
                err(pos, format!("attribute `{key}` is given twice"))
            }
        }
    }

    fn positional(&mut self, what: &str) -> Result<Attr, ParseError> {
        match self.items.iter().position(|(k, _)| k.is_none()) {
            Some(i) => Ok(self.items.remove(i).1),
            None => err(self.pos, format!("`{}` needs {what} in brackets", self.op)),
        }
    }

    fn finish(self) -> Result<(), ParseError> {
        match self.items.first() {
            None => Ok(()),
            Some((Some((k, pos)), _)) => err(*pos, format!("`{}` has no attribute `{k}`", self.op)),
            Some((None, a)) => err(a.pos(), format!("unexpected attribute for `{}`", self.op)),
        }
    }

    fn usize(&mut self, key: &str) -> Result<usize, ParseError> {
        attr_usize(&self.take(key)?)
    }

    fn list(&mut self, key: &str) -> Result<Vec<usize>, ParseError> {
        attr_list(&self.take(key)?)
    }

    fn pair(&mut self, key: &str) -> Result<[usize; 2], ParseError> {
        let a = self.take(key)?;
        let v = attr_list(&a)?;
        v.try_into().or_else(|v: Vec<usize>| err(a.pos(), format!("`{key}` needs 2 entries, found {}", v.len())))
    }

    fn word(&mut self, key: &str) -> Result<(String, Pos), ParseError> {
        attr_word(self.take(key)?)
    }
}

fn attr_word(a: Attr) -> Result<(String, Pos), ParseError> {
    match a {
        Attr::Word(w, pos) => Ok((w, pos)),
        other => err(other.pos(), "expected a word"),
    }
}

fn attr_usize(a: &Attr) -> Result<usize, ParseError> {
    match a {
        Attr::Word(w, pos) => parse_usize(w, *pos),
        other => err(other.pos(), "expected an integer"),
    }
}

fn attr_list(a: &Attr) -> Result<Vec<usize>, ParseError> {
    match a {
        Attr::List(items, _) => items.iter().map(attr_usize).collect(),
        other => err(other.pos(), "expected a list of integers `[..]`"),
    }
}

fn attr_pads(a: &Attr) -> Result<[(usize, usize); 2], ParseError> {
    let Attr::List(items, pos) = a else {
        return err(a.pos(), "expected `[(lo, hi), (lo, hi)]`");
    };
    if items.len() != 2 {
        return err(*pos, format!("`pad` needs 2 pairs, found {}", items.len()));
    }
    let mut pads = [(0, 0); 2];
    for (slot, item) in pads.iter_mut().zip(items) {
        match item {
            Attr::Tuple(v, _) if v.len() == 2 => *slot = (attr_usize(&v[0])?, attr_usize(&v[1])?),
            other => return err(other.pos(), "expected a pair `(lo, hi)`"),
        }
    }
    Ok(pads)
}

fn build_op(mnemonic: &str, pos: Pos, items: Vec<AttrItem>) -> Result<Op, ParseError> {
    let mut a = Attrs { op: mnemonic.to_string(), pos, items };
    let op = match mnemonic {
        "param" => Op::Param(attr_usize(&a.positional("the parameter number")?)?),
        "iota" => Op::Iota { axis: a.usize("axis")? },
        "random" => {
            let (w, wpos) = attr_word(a.positional("a distribution")?)?;
            Op::Random(match w.as_str() {
                "uniform" => Dist::Uniform,
                "normal" => Dist::Normal,
                _ => return err(wpos, format!("unknown distribution `{w}` (uniform or normal)")),
            })
        }
        "select" => Op::Select,
        "cast" => Op::Cast,
        "reshape" => Op::Reshape,
        "matmul" => Op::MatMul,
        "reduce" => {
            let (w, wpos) = a.word("op")?;
            let op = match w.as_str() {
                "sum" => ReduceOp::Sum,
                "prod" => ReduceOp::Prod,
                "max" => ReduceOp::Max,
                "min" => ReduceOp::Min,
                _ => return err(wpos, format!("unknown reduction `{w}` (sum, prod, max or min)")),
            };
            Op::Reduce { op, axes: a.list("axes")? }
        }
        "argreduce" => {
            let (w, wpos) = a.word("op")?;
            let op = match w.as_str() {
                "argmax" => ArgOp::ArgMax,
                "argmin" => ArgOp::ArgMin,
                _ => return err(wpos, format!("unknown arg-reduction `{w}` (argmax or argmin)")),
            };
            Op::ArgReduce { op, axis: a.usize("axis")? }
        }
        "argsort" => {
            let axis = a.usize("axis")?;
            let (w, wpos) = a.word("descending")?;
            let descending = match w.as_str() {
                "true" => true,
                "false" => false,
                _ => return err(wpos, format!("`descending` is `true` or `false`, not `{w}`")),
            };
            Op::ArgSort { axis, descending }
        }
        "broadcast" => Op::Broadcast { dims: a.list("dims")? },
        "transpose" => Op::Transpose { perm: a.list("perm")? },
        "reverse" => Op::Reverse { axes: a.list("axes")? },
        "slice" => Op::Slice { start: a.list("start")?, end: a.list("end")? },
        "pad" => Op::Pad { lo: a.list("lo")?, hi: a.list("hi")? },
        "concat" => Op::Concat { axis: a.usize("axis")? },
        "gather" => Op::Gather { axis: a.usize("axis")? },
        "scatter_add" => Op::ScatterAdd { axis: a.usize("axis")? },
        "conv2d" => {
            let stride = a.pair("stride")?;
            let pad = attr_pads(&a.take("pad")?)?;
            let dilation = a.pair("dilation")?;
            Op::Conv2d { stride, pad, dilation }
        }
        "pool" | "pool_grad" => {
            let (w, wpos) = a.word("kind")?;
            let kind = match w.as_str() {
                "max" => PoolKind::Max,
                "avg" => PoolKind::Avg,
                _ => return err(wpos, format!("unknown pooling `{w}` (max or avg)")),
            };
            let size = a.pair("size")?;
            let stride = a.pair("stride")?;
            if mnemonic == "pool" {
                Op::Pool { kind, size, stride }
            } else {
                Op::PoolGrad { kind, size, stride }
            }
        }
        other => {
            if let Some(u) = UnaryOp::ALL.into_iter().find(|u| u.name() == other) {
                Op::Unary(u)
            } else if let Some(b) = BinaryOp::ALL.into_iter().find(|b| b.name() == other) {
                Op::Binary(b)
            } else {
                return err(pos, format!("unknown op `{other}`"));
            }
        }
    };
    a.finish()?;
    Ok(op)
}

// ---------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------

fn tensor_from_literal(lit: &Lit, ty: &Type) -> Result<Tensor, ParseError> {
    let mut leaves = Vec::new();
    flatten(lit, &ty.shape, ty, &mut leaves)?;
    let data = match ty.dtype {
        DType::F64 => Data::F64(collect(&leaves, |w, p| float_value(w, p, 64).map(f64::from_bits))?),
        DType::F32 => Data::F32(collect(&leaves, |w, p| float_value(w, p, 32).map(|b| f32::from_bits(b as u32)))?),
        DType::F16 => Data::F16(collect(&leaves, |w, p| float_value(w, p, 16).map(|b| f16::from_bits(b as u16)))?),
        DType::BF16 => Data::BF16(collect(&leaves, |w, p| float_value(w, p, 8).map(|b| bf16::from_bits(b as u16)))?),
        DType::I64 => {
            Data::I64(collect(&leaves, |w, p| int_value(w, p, i64::MIN as i128, i64::MAX as i128).map(|v| v as i64))?)
        }
        DType::I32 => {
            Data::I32(collect(&leaves, |w, p| int_value(w, p, i32::MIN as i128, i32::MAX as i128).map(|v| v as i32))?)
        }
        DType::U8 => Data::U8(collect(&leaves, |w, p| int_value(w, p, 0, u8::MAX as i128).map(|v| v as u8))?),
        DType::Bool => Data::Bool(collect(&leaves, |w, p| match w {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => err(p, format!("expected `true` or `false`, found `{w}`")),
        })?),
    };
    Tensor::new(ty.shape.clone(), data).or_else(|e| err(lit_pos(lit), e.to_string()))
}

fn lit_pos(lit: &Lit) -> Pos {
    match lit {
        Lit::Leaf(_, p) | Lit::List(_, p) => *p,
    }
}

fn collect<T>(leaves: &[(&str, Pos)], f: impl Fn(&str, Pos) -> Result<T, ParseError>) -> Result<Vec<T>, ParseError> {
    leaves.iter().map(|&(w, p)| f(w, p)).collect()
}

/// Check the nesting of `lit` against `shape` and collect its leaves in C order.
fn flatten<'a>(lit: &'a Lit, shape: &[usize], ty: &Type, out: &mut Vec<(&'a str, Pos)>) -> Result<(), ParseError> {
    match (lit, shape.split_first()) {
        (Lit::Leaf(w, p), None) => {
            out.push((w, *p));
            Ok(())
        }
        (Lit::List(items, p), Some((&n, rest))) => {
            if items.len() != n {
                return err(*p, format!("this axis has {} elements, the type {ty} says {n}", items.len()));
            }
            items.iter().try_for_each(|item| flatten(item, rest, ty, out))
        }
        (Lit::Leaf(w, p), Some(_)) => err(*p, format!("expected a list here (type {ty}), found `{w}`")),
        (Lit::List(_, p), None) => err(*p, format!("expected a single element here (type {ty}), found a list")),
    }
}

/// The bits of a float literal for a float type of `width` bits (8 means bf16).
fn float_value(w: &str, pos: Pos, width: u32) -> Result<u64, ParseError> {
    // From an f32 value, exactly representable in f16/bf16 when printed by `print`.
    let from_f32 = |x: f32| -> u64 {
        match width {
            32 => x.to_bits() as u64,
            16 => f16::from_f32(x).to_bits() as u64,
            _ => bf16::from_f32(x).to_bits() as u64,
        }
    };
    let from_f64 = |x: f64| -> u64 {
        if width == 64 {
            x.to_bits()
        } else {
            from_f32(x as f32)
        }
    };
    if let Some(rest) = w.strip_prefix("nan(") {
        let hex = rest.strip_suffix(')').unwrap_or(rest);
        let digits = hex.strip_prefix("0x").unwrap_or("");
        let bits = u64::from_str_radix(digits, 16)
            .or_else(|_| err(pos, format!("expected hexadecimal bits `0x..`, found `{hex}`")))?;
        let storage = if width == 8 { 16 } else { width };
        let is_nan = match storage {
            64 => f64::from_bits(bits).is_nan(),
            32 => bits <= u32::MAX as u64 && f32::from_bits(bits as u32).is_nan(),
            _ => {
                bits <= u16::MAX as u64
                    && (if width == 8 {
                        bf16::from_bits(bits as u16).is_nan()
                    } else {
                        f16::from_bits(bits as u16).is_nan()
                    })
            }
        };
        if !is_nan {
            return err(pos, format!("`{hex}` is not the bits of a {storage}-bit NaN"));
        }
        return Ok(bits);
    }
    match w {
        "nan" => return Ok(from_f64(f64::NAN)),
        "inf" | "+inf" => return Ok(from_f64(f64::INFINITY)),
        "-inf" => return Ok(from_f64(f64::NEG_INFINITY)),
        _ => {}
    }
    let body = w.strip_prefix(['-', '+']).unwrap_or(w);
    let plausible = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if plausible {
        if width == 64 {
            if let Ok(x) = w.parse::<f64>() {
                return Ok(x.to_bits());
            }
        } else if let Ok(x) = w.parse::<f32>() {
            return Ok(from_f32(x));
        }
    }
    err(pos, format!("expected a float, found `{w}`"))
}

fn int_value(w: &str, pos: Pos, min: i128, max: i128) -> Result<i128, ParseError> {
    let body = w.strip_prefix(['-', '+']).unwrap_or(w);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return err(pos, format!("expected an integer, found `{w}`"));
    }
    match w.parse::<i128>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        _ => err(pos, format!("`{w}` is out of range [{min}, {max}]")),
    }
}
