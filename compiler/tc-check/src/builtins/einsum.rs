//! `einsum("ij,jk->ik", a, b, ...)`: NumPy's explicit form, lowered to the primitive ops
//! so that it fuses and uses the matmul kernels.
//!
//! Each operand first loses its diagonals (a label repeated in one operand) and the
//! labels no one else needs (summed at once); the operands are then contracted left to
//! right, each pair as one batched matmul: `[batch, free_a, contracted] @ [batch,
//! contracted, free_b]` after a transpose and a reshape of each side. A label of size 1
//! broadcasts against the same label elsewhere; `...` stands for the broadcast axes of
//! every operand, right-aligned, as in NumPy.

use tc_ir::{BinaryOp, NodeId, ReduceOp, Type};
use tc_syntax::ast::{self, Expr, ExprKind, Span};
use tc_syntax::diag::Diagnostic;
use tc_tensor::DType;

use crate::elab::{Elab, Env};
use crate::value::{TVal, Value};

/// An operand during lowering: its node, and the label of each axis.
#[derive(Clone)]
struct Term {
    node: NodeId,
    labels: Vec<char>,
}

/// The subscripts after parsing: one label list per operand and the output's, `...`
/// already replaced by labels of its own (from `'0'` up, which no user label can be).
struct Subscripts {
    inputs: Vec<Vec<char>>,
    output: Vec<char>,
}

pub(crate) fn einsum(e: &mut Elab, env: &mut Env, args: &[Expr], kwargs: &[ast::KwArg], span: Span) -> Value {
    if !kwargs.is_empty() || args.len() < 2 {
        return e.error(
            Diagnostic::new("E0203", e.loc(env, span), "`einsum` takes its subscripts and one or more tensors")
                .with_hint("e.g. `einsum(\"ij,jk->ik\", a, b)`"),
        );
    }
    let ExprKind::Str(spec) = &args[0].kind else {
        return e.error(
            Diagnostic::new("E0208", e.loc(env, args[0].span), "`einsum`'s subscripts must be a string literal")
                .with_label("not a string")
                .with_hint("e.g. `einsum(\"ij,jk->ik\", a, b)`"),
        );
    };
    let mut ts = Vec::new();
    for a in &args[1..] {
        let v = e.expr(env, a);
        ts.push(e.expect_tensor(env, v, a.span));
    }
    let Some(ts): Option<Vec<TVal>> = ts.into_iter().collect() else { return Value::Error };
    let ranks: Vec<usize> = ts.iter().map(|t| t.ty.rank()).collect();
    let subs = match parse(spec, &ranks) {
        Ok(s) => s,
        Err((offset, msg)) => {
            // The literal's span starts at its opening quote.
            let at = Span::new(args[0].span.start + 1 + offset, args[0].span.start + 2 + offset);
            return e.error(Diagnostic::new("E0317", e.loc(env, at), msg).with_label("here").with_hint("NumPy's explicit form: `\"ij,jk->ik\"`, `\"...ij,...jk->...ik\"`"));
        }
    };
    let Some(dtype) = e.common_dtype(env, &ts, span) else { return Value::Error };
    if dtype == DType::Bool {
        return e.wrong_dtype(env, "`einsum`", "numbers", dtype, span, None);
    }
    // Every label's size; a size of 1 broadcasts.
    let mut sizes: Vec<(char, usize)> = Vec::new();
    for (t, labels) in ts.iter().zip(&subs.inputs) {
        for (&l, &d) in labels.iter().zip(&t.ty.shape) {
            match sizes.iter_mut().find(|(k, _)| *k == l) {
                None => sizes.push((l, d)),
                Some((_, s)) if *s == d || d == 1 => {}
                Some((_, s)) if *s == 1 => *s = d,
                Some((_, s)) => {
                    let shown = if l.is_ascii_digit() { "`...`".to_string() } else { format!("`{l}`") };
                    let msg = format!("{shown} is {s} in one operand and {d} in another");
                    return e.error(Diagnostic::new("E0301", e.loc(env, span), msg).with_label("sizes differ"));
                }
            }
        }
    }
    let size = |l: char| sizes.iter().find(|(k, _)| *k == l).map_or(1, |&(_, s)| s);
    let mut terms: Vec<Term> = Vec::new();
    for (t, labels) in ts.iter().zip(&subs.inputs) {
        let t = e.convert(t, dtype);
        terms.push(Term { node: t.node, labels: labels.clone() });
    }
    let g = &mut e.graph;
    // Labels each operand must keep: those of the output and of any other operand.
    let needed_after = |terms: &[Term], i: usize| -> Vec<char> {
        let mut keep = subs.output.clone();
        for (j, t) in terms.iter().enumerate() {
            if j != i {
                keep.extend(&t.labels);
            }
        }
        keep
    };
    for i in 0..terms.len() {
        let term = diagonals(g, &terms[i]);
        let keep = needed_after(&terms, i);
        terms[i] = sum_out(g, &term, &keep);
    }
    let mut acc = terms[0].clone();
    for i in 1..terms.len() {
        let mut keep = subs.output.clone();
        for t in &terms[i + 1..] {
            keep.extend(&t.labels);
        }
        acc = contract(g, &acc, &terms[i], &keep, &size);
    }
    let acc = sum_out(g, &acc, &subs.output);
    // To the output's order and sizes.
    let perm: Vec<usize> = subs.output.iter().map(|l| acc.labels.iter().position(|k| k == l).expect("every output label survives")).collect();
    let node = g.transpose(acc.node, &perm);
    let shape: Vec<usize> = subs.output.iter().map(|&l| size(l)).collect();
    let node = g.broadcast(node, &shape);
    e.tensor(node)
}

/// Parse `spec` for operands of `ranks`; an error is the byte offset of the bad
/// character and a message.
fn parse(spec: &str, ranks: &[usize]) -> Result<Subscripts, (usize, String)> {
    let Some(arrow) = spec.find("->") else {
        return Err((spec.len().saturating_sub(1), "the subscripts need `->` and the output's labels (the explicit form)".to_string()));
    };
    let (lhs, rhs) = (&spec[..arrow], &spec[arrow + 2..]);
    let mut parts: Vec<(usize, &str)> = Vec::new();
    let mut start = 0;
    for piece in lhs.split(',') {
        parts.push((start, piece));
        start += piece.len() + 1;
    }
    if parts.len() != ranks.len() {
        let msg = format!("the subscripts name {} operands, but {} tensors follow", parts.len(), ranks.len());
        return Err((arrow, msg));
    }
    // `...` covers the same number of axes in every operand that has one: the most any needs.
    let mut inputs = Vec::new();
    let mut ellipsis_rank = 0;
    let mut raw = Vec::new();
    for ((offset, piece), &rank) in parts.iter().zip(ranks) {
        let (labels, has_ellipsis) = labels(piece, *offset)?;
        let named = labels.iter().filter(|&&l| l != '.').count();
        if has_ellipsis {
            if named > rank {
                return Err((*offset, format!("`{piece}` names {named} axes of a tensor of rank {rank}")));
            }
            ellipsis_rank = ellipsis_rank.max(rank - named);
        } else if named != rank {
            return Err((*offset, format!("`{piece}` names {named} axes, but its tensor has rank {rank}")));
        }
        raw.push((labels, rank - named));
    }
    let broadcast: Vec<char> = (0..ellipsis_rank).map(|i| char::from(b'0' + i as u8)).collect();
    for (labels, covered) in raw {
        let mut full = Vec::new();
        for l in labels {
            match l {
                // Right-aligned: an operand's `...` takes the last of the broadcast axes.
                '.' => full.extend(&broadcast[ellipsis_rank - covered..]),
                l => full.push(l),
            }
        }
        inputs.push(full);
    }
    let out_offset = arrow + 2;
    let (out_labels, out_ellipsis) = labels(rhs, out_offset)?;
    let mut output = Vec::new();
    for (i, l) in out_labels.into_iter().enumerate() {
        if l == '.' {
            output.extend(&broadcast);
            continue;
        }
        if output.contains(&l) {
            return Err((out_offset + i, format!("`{l}` appears twice in the output")));
        }
        if !inputs.iter().any(|inp| inp.contains(&l)) {
            return Err((out_offset + i, format!("`{l}` is in the output but in no operand")));
        }
        output.push(l);
    }
    if !out_ellipsis && ellipsis_rank > 0 {
        return Err((out_offset, "the operands have `...` but the output does not".to_string()));
    }
    Ok(Subscripts { inputs, output })
}

/// The labels of one operand's subscripts, `...` as one `'.'`; whether it had `...`.
fn labels(piece: &str, offset: usize) -> Result<(Vec<char>, bool), (usize, String)> {
    let mut out = Vec::new();
    let mut ellipsis = false;
    let mut chars = piece.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_ascii_alphabetic() => out.push(c),
            ' ' => {}
            '.' if piece[i..].starts_with("...") && !ellipsis => {
                ellipsis = true;
                out.push('.');
                chars.next();
                chars.next();
            }
            '.' => return Err((offset + i, "`...` may appear once per operand, as three dots".to_string())),
            c => return Err((offset + i, format!("`{c}` is not a subscript: use letters a-z and A-Z"))),
        }
    }
    Ok((out, ellipsis))
}

/// The term with each repeated label kept once: its diagonal.
fn diagonals(g: &mut tc_ir::Graph, t: &Term) -> Term {
    let mut t = t.clone();
    while let Some((a, b)) = repeated(&t.labels) {
        let ty = g.ty(t.node).clone();
        // Zero off the diagonal of axes a and b, then sum b away.
        let index_ty = Type::new(DType::I32, ty.shape.clone());
        let (ia, ib) = (g.iota(index_ty.clone(), a), g.iota(index_ty, b));
        let on = g.binary(BinaryOp::Eq, ia, ib);
        let zero = g.full(&ty, 0.0);
        let masked = g.select(on, t.node, zero);
        t.node = g.reduce(ReduceOp::Sum, masked, &[b]);
        t.labels.remove(b);
    }
    t
}

fn repeated(labels: &[char]) -> Option<(usize, usize)> {
    (0..labels.len()).find_map(|a| (a + 1..labels.len()).find(|&b| labels[b] == labels[a]).map(|b| (a, b)))
}

/// The term with every label outside `keep` summed away.
fn sum_out(g: &mut tc_ir::Graph, t: &Term, keep: &[char]) -> Term {
    let axes: Vec<usize> = (0..t.labels.len()).filter(|&a| !keep.contains(&t.labels[a])).collect();
    if axes.is_empty() {
        return t.clone();
    }
    let node = g.reduce(ReduceOp::Sum, t.node, &axes);
    Term { node, labels: t.labels.iter().filter(|l| keep.contains(l)).copied().collect() }
}

/// `a` and `b` contracted over their shared labels that `keep` lacks, as one batched
/// matmul; the result's labels are batch, then a's free, then b's free.
fn contract(g: &mut tc_ir::Graph, a: &Term, b: &Term, keep: &[char], size: &dyn Fn(char) -> usize) -> Term {
    let shared: Vec<char> = a.labels.iter().filter(|l| b.labels.contains(l)).copied().collect();
    let batch: Vec<char> = shared.iter().filter(|l| keep.contains(l)).copied().collect();
    let contracted: Vec<char> = shared.iter().filter(|l| !keep.contains(l)).copied().collect();
    let free_a: Vec<char> = a.labels.iter().filter(|l| !shared.contains(l)).copied().collect();
    let free_b: Vec<char> = b.labels.iter().filter(|l| !shared.contains(l)).copied().collect();
    let product = |ls: &[char]| ls.iter().map(|&l| size(l)).product::<usize>();
    let (nb, m, k, n) = (product(&batch), product(&free_a), product(&contracted), product(&free_b));
    let side = |g: &mut tc_ir::Graph, t: &Term, order: &[&[char]], shape: [usize; 3]| -> NodeId {
        let labels: Vec<char> = order.iter().flat_map(|o| o.iter().copied()).collect();
        let perm: Vec<usize> = labels.iter().map(|l| t.labels.iter().position(|k| k == l).expect("label of this term")).collect();
        let node = g.transpose(t.node, &perm);
        let full: Vec<usize> = labels.iter().map(|&l| size(l)).collect();
        let node = g.broadcast(node, &full);
        g.reshape(node, &shape)
    };
    let an = side(g, a, &[&batch, &free_a, &contracted], [nb, m, k]);
    let bn = side(g, b, &[&batch, &contracted, &free_b], [nb, k, n]);
    let prod = g.matmul(an, bn);
    let labels: Vec<char> = batch.iter().chain(&free_a).chain(&free_b).copied().collect();
    let shape: Vec<usize> = labels.iter().map(|&l| size(l)).collect();
    let node = g.reshape(prod, &shape);
    Term { node, labels }
}
