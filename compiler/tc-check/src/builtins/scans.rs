//! The scans `cumsum`, `cumprod`, `cummax` and `cummin`: inclusive prefix sums,
//! products, maxima and minima along an axis (the flattened tensor without one).
//!
//! Each is the work-efficient parallel scan (Blelloch's up- and down-sweep, the algorithm
//! of JAX's `associative_scan`) written with primitive ops: combine neighbouring pairs,
//! scan the half-length result, then fill in the even positions, and interleave. That is
//! O(n) work in O(log n) levels, every level a few elementwise ops over whole rows (all
//! rows at once), and the graph has O(log n) nodes. Its gradient is the gradient of those
//! ops, exact everywhere: `cumprod` through zeros, and `cummax`/`cummin` sharing ties as
//! `maximum` and `minimum` do, which is what JAX computes for the same tree.

use tc_ir::{BinaryOp, Graph, NodeId};
use tc_tensor::DType;

use super::Builtin;
use crate::value::Value;

/// The names this file lowers.
pub(crate) const NAMES: &[&str] = &["cumsum", "cumprod", "cummax", "cummin"];

impl Builtin<'_, '_, '_> {
    pub(super) fn scan(&mut self, name: &str) -> Option<Value> {
        let x = self.tensor(0)?;
        let x = self.e.strong(x);
        if x.ty.dtype == DType::Bool {
            let s = self.arg_span(0);
            return Some(self.e.wrong_dtype(self.env, &format!("`{name}`"), "numbers", x.ty.dtype, s, Some("convert first, e.g. `b as i32`")));
        }
        let (node, axis) = match self.bound[1].is_some() {
            true => (x.node, self.axis(1, x.ty.rank())?),
            false => {
                let n = x.ty.num_elements();
                (self.e.graph.reshape(x.node, &[n]), 0)
            }
        };
        let op = match name {
            "cumsum" => BinaryOp::Add,
            "cumprod" => BinaryOp::Mul,
            "cummax" => BinaryOp::Max,
            _ => BinaryOp::Min,
        };
        let node = scan(&mut self.e.graph, op, node, axis);
        Some(self.e.tensor(node))
    }
}

/// The inclusive scan of `x` along `axis` with the associative `op`.
fn scan(g: &mut Graph, op: BinaryOp, x: NodeId, axis: usize) -> NodeId {
    let n = g.ty(x).shape[axis];
    if n < 2 {
        return x;
    }
    let half = n / 2;
    // Positions 0, 2, 4, ... and 1, 3, 5, ... of the first 2·half elements.
    let (evens, odds) = deal(g, x, axis, half);
    let pairs = g.binary(op, evens, odds);
    // The scan at the odd positions is the scan of the pairs.
    let at_odds = scan(g, op, pairs, axis);
    // At an even position 2k (k >= 1): the scan at 2k - 1 combined with element 2k.
    let first = cut(g, x, axis, 0, 1);
    let later = n.div_ceil(2) - 1;
    let at_evens = if later == 0 {
        first
    } else {
        let later_evens = match (n % 2, half) {
            (0, _) => cut(g, evens, axis, 1, half),
            (_, 1) => cut(g, x, axis, n - 1, n),
            _ => {
                let inner = cut(g, evens, axis, 1, half);
                let last = cut(g, x, axis, n - 1, n);
                g.concat(vec![inner, last], axis)
            }
        };
        let before = cut(g, at_odds, axis, 0, later);
        let filled = g.binary(op, before, later_evens);
        g.concat(vec![first, filled], axis)
    };
    interleave(g, at_evens, at_odds, axis, n)
}

/// Elements `lo..hi` of `axis`.
fn cut(g: &mut Graph, x: NodeId, axis: usize, lo: usize, hi: usize) -> NodeId {
    let shape = g.ty(x).shape.clone();
    let mut start = vec![0; shape.len()];
    let mut end = shape;
    start[axis] = lo;
    end[axis] = hi;
    g.slice(x, start, end)
}

/// The even and the odd positions among the first `2 · half` elements of `axis`:
/// a reshape to `[.., half, 2, ..]` and its two columns.
fn deal(g: &mut Graph, x: NodeId, axis: usize, half: usize) -> (NodeId, NodeId) {
    let body = cut(g, x, axis, 0, 2 * half);
    let mut split = g.ty(body).shape.clone();
    split[axis] = half;
    split.insert(axis + 1, 2);
    let pairs = g.reshape(body, &split);
    let mut out = split.clone();
    out.remove(axis + 1);
    let column = |g: &mut Graph, c: usize| {
        let mut start = vec![0; split.len()];
        let mut end = split.clone();
        start[axis + 1] = c;
        end[axis + 1] = c + 1;
        let col = g.slice(pairs, start, end);
        g.reshape(col, &out)
    };
    (column(g, 0), column(g, 1))
}

/// `n` elements alternating from `evens` (`ceil(n/2)` of them) and `odds`.
fn interleave(g: &mut Graph, evens: NodeId, odds: NodeId, axis: usize, n: usize) -> NodeId {
    let half = n / 2;
    let paired_evens = if n.is_multiple_of(2) { evens } else { cut(g, evens, axis, 0, half) };
    let mut shape = g.ty(odds).shape.clone();
    shape.insert(axis + 1, 1);
    let e = g.reshape(paired_evens, &shape);
    let o = g.reshape(odds, &shape);
    let pairs = g.concat(vec![e, o], axis + 1);
    let mut flat = g.ty(odds).shape.clone();
    flat[axis] = 2 * half;
    let body = g.reshape(pairs, &flat);
    match n % 2 {
        0 => body,
        _ => {
            let last = cut(g, evens, axis, half, half + 1);
            g.concat(vec![body, last], axis)
        }
    }
}
