//! Reverse-mode automatic differentiation on the graph IR.
//!
//! [`vjp`] appends to a graph the nodes computing `dy/dx` for a scalar node `y` and
//! nodes `xs`. The gradient nodes are ordinary primitive ops, so a gradient can be
//! differentiated again (higher order), and every backend runs them unchanged.
//! Conventions follow JAX: comparisons, integer values, `floor`/`ceil`/`round`/`sign`
//! and arg-reductions pass no gradient; ties of `max`/`min` (reductions and
//! elementwise) share the gradient equally.

use std::collections::HashMap;

use tc_ir::{BinaryOp, Graph, NodeId, Op, PoolKind, ReduceOp, UnaryOp};

/// Gradients of scalar `y` with respect to each of `xs`, in order. A node of `xs`
/// that `y` does not depend on gets zeros.
pub fn vjp(g: &mut Graph, y: NodeId, xs: &[NodeId]) -> Result<Vec<NodeId>, String> {
    let relevant = relevant_nodes(g, y, xs);
    let mut adjoint: HashMap<NodeId, NodeId> = HashMap::new();
    let one = g.scalar(g.ty(y).dtype, 1.0);
    adjoint.insert(y, one);
    for index in (0..=y.index()).rev() {
        let node = NodeId(index as u32);
        let Some(&dy) = adjoint.get(&node) else { continue };
        let contributions = input_adjoints(g, node, dy)?;
        for (input, d) in contributions {
            if !relevant[input.index()] {
                continue;
            }
            let total = match adjoint.get(&input) {
                Some(&prev) => g.add(prev, d),
                None => d,
            };
            adjoint.insert(input, total);
        }
    }
    Ok(xs
        .iter()
        .map(|&x| match adjoint.get(&x) {
            Some(&d) => d,
            None => {
                let ty = g.ty(x).clone();
                g.full(&ty, 0.0)
            }
        })
        .collect())
}

/// Float nodes that depend on some `x` and that `y` depends on.
fn relevant_nodes(g: &Graph, y: NodeId, xs: &[NodeId]) -> Vec<bool> {
    let n = y.index() + 1;
    let mut from_x = vec![false; n];
    for &x in xs {
        if x.index() < n {
            from_x[x.index()] = true;
        }
    }
    for i in 0..n {
        if !from_x[i] && g.nodes[i].inputs.iter().any(|inp| from_x[inp.index()]) {
            from_x[i] = true;
        }
    }
    let mut to_y = vec![false; n];
    to_y[y.index()] = true;
    for i in (0..n).rev() {
        if to_y[i] {
            for inp in &g.nodes[i].inputs {
                to_y[inp.index()] = true;
            }
        }
    }
    (0..n).map(|i| from_x[i] && to_y[i] && g.nodes[i].ty.dtype.is_float()).collect()
}

/// The adjoint contributions of `node`'s inputs, given the node's adjoint `dy`.
fn input_adjoints(g: &mut Graph, node: NodeId, dy: NodeId) -> Result<Vec<(NodeId, NodeId)>, String> {
    let n = g.node(node).clone();
    let inp = &n.inputs;
    let out = node;
    let contributions = match &n.op {
        Op::Param(_) | Op::Const(_) | Op::Iota { .. } | Op::Random(_) | Op::ArgReduce { .. } | Op::ArgSort { .. } => vec![],
        Op::Unary(u) => match unary(g, *u, inp[0], out, dy) {
            Some(d) => vec![(inp[0], d)],
            None => vec![],
        },
        Op::Binary(b) => binary(g, *b, inp[0], inp[1], out, dy),
        Op::Select => {
            let zero = g.full(&n.ty, 0.0);
            let da = g.select(inp[0], dy, zero);
            let db = g.select(inp[0], zero, dy);
            vec![(inp[1], da), (inp[2], db)]
        }
        Op::Cast => {
            let in_dtype = g.ty(inp[0]).dtype;
            if in_dtype.is_float() {
                vec![(inp[0], g.cast(dy, in_dtype))]
            } else {
                vec![]
            }
        }
        Op::Reduce { op, axes } => vec![(inp[0], reduce(g, *op, axes, inp[0], out, dy))],
        Op::Broadcast { dims } => {
            let in_ty = g.ty(inp[0]).clone();
            let out_rank = n.ty.rank();
            let summed: Vec<usize> = (0..out_rank)
                .filter(|a| match dims.iter().position(|d| d == a) {
                    None => true,
                    Some(i) => in_ty.shape[i] == 1 && n.ty.shape[*a] != 1,
                })
                .collect();
            let s = g.reduce(ReduceOp::Sum, dy, &summed);
            vec![(inp[0], g.reshape(s, &in_ty.shape))]
        }
        Op::Reshape => {
            let shape = g.ty(inp[0]).shape.clone();
            vec![(inp[0], g.reshape(dy, &shape))]
        }
        Op::Transpose { perm } => {
            let mut inverse = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            vec![(inp[0], g.transpose(dy, &inverse))]
        }
        Op::Reverse { axes } => vec![(inp[0], g.reverse(dy, axes.clone()))],
        Op::Slice { start, end } => {
            let in_shape = g.ty(inp[0]).shape.clone();
            let zero = g.scalar(n.ty.dtype, 0.0);
            let hi = in_shape.iter().zip(end).map(|(s, e)| s - e).collect();
            vec![(inp[0], g.pad(dy, zero, start.clone(), hi))]
        }
        Op::Pad { lo, .. } => {
            let in_shape = g.ty(inp[0]).shape.clone();
            let end = lo.iter().zip(&in_shape).map(|(l, s)| l + s).collect();
            let dx = g.slice(dy, lo.clone(), end);
            let all: Vec<usize> = (0..n.ty.rank()).collect();
            let total = g.reduce(ReduceOp::Sum, dy, &all);
            let inner = g.reduce(ReduceOp::Sum, dx, &all);
            let dvalue = g.sub(total, inner);
            vec![(inp[0], dx), (inp[1], dvalue)]
        }
        Op::Concat { axis } => {
            let mut offset = 0;
            let mut out = Vec::new();
            for &x in inp {
                let shape = g.ty(x).shape.clone();
                let mut start = vec![0; shape.len()];
                let mut end = n.ty.shape.clone();
                start[*axis] = offset;
                end[*axis] = offset + shape[*axis];
                offset += shape[*axis];
                out.push((x, g.slice(dy, start, end)));
            }
            out
        }
        Op::Gather { axis } => {
            let ty = g.ty(inp[0]).clone();
            vec![(inp[0], g.scatter_add(inp[1], dy, *axis, ty))]
        }
        Op::ScatterAdd { axis } => vec![(inp[1], g.gather(dy, inp[0], *axis))],
        Op::MatMul => {
            let rank = n.ty.rank();
            let mut perm: Vec<usize> = (0..rank).collect();
            perm.swap(rank - 2, rank - 1);
            let bt = g.transpose(inp[1], &perm);
            let at = g.transpose(inp[0], &perm);
            let da = g.matmul(dy, bt);
            let db = g.matmul(at, dy);
            vec![(inp[0], da), (inp[1], db)]
        }
        Op::Conv2d { stride, pad, dilation } => conv2d(g, inp[0], inp[1], dy, *stride, *pad, *dilation),
        Op::Pool { kind, size, stride } => vec![(inp[0], g.pool_grad(*kind, inp[0], dy, *size, *stride))],
        Op::PoolGrad { kind, .. } => {
            let what = if *kind == PoolKind::Max { "max_pool2d" } else { "avg_pool2d" };
            return Err(format!("second-order gradients through `{what}` are not supported"));
        }
    };
    Ok(contributions)
}

fn unary(g: &mut Graph, u: UnaryOp, x: NodeId, out: NodeId, dy: NodeId) -> Option<NodeId> {
    let ty = g.ty(x).clone();
    Some(match u {
        UnaryOp::Neg => g.neg(dy),
        UnaryOp::Abs => {
            let s = g.unary(UnaryOp::Sign, x);
            g.mul(dy, s)
        }
        UnaryOp::Exp => g.mul(dy, out),
        UnaryOp::Log => g.div(dy, x),
        UnaryOp::Sqrt => {
            let half = g.binary_scalar(BinaryOp::Mul, dy, 0.5);
            g.div(half, out)
        }
        UnaryOp::Rsqrt => {
            // d/dx x^-1/2 = -1/2 · x^-1/2 / x
            let t = g.div(out, x);
            let t = g.binary_scalar(BinaryOp::Mul, t, -0.5);
            g.mul(dy, t)
        }
        UnaryOp::Sin => {
            let c = g.unary(UnaryOp::Cos, x);
            g.mul(dy, c)
        }
        UnaryOp::Cos => {
            let s = g.unary(UnaryOp::Sin, x);
            let d = g.mul(dy, s);
            g.neg(d)
        }
        UnaryOp::Tanh => {
            let sq = g.mul(out, out);
            let one = g.full(&ty, 1.0);
            let d = g.sub(one, sq);
            g.mul(dy, d)
        }
        UnaryOp::Sigmoid => {
            let one = g.full(&ty, 1.0);
            let rest = g.sub(one, out);
            let d = g.mul(out, rest);
            g.mul(dy, d)
        }
        UnaryOp::Erf => {
            // d/dx erf(x) = 2/√π · exp(-x²)
            let sq = g.mul(x, x);
            let neg = g.neg(sq);
            let e = g.unary(UnaryOp::Exp, neg);
            let d = g.binary_scalar(BinaryOp::Mul, e, std::f64::consts::FRAC_2_SQRT_PI);
            g.mul(dy, d)
        }
        UnaryOp::Atan => {
            // d/dx atan(x) = 1 / (1 + x²)
            let sq = g.mul(x, x);
            let one = g.full(&ty, 1.0);
            let den = g.add(one, sq);
            g.div(dy, den)
        }
        UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round | UnaryOp::Not => return None,
    })
}

fn binary(g: &mut Graph, op: BinaryOp, a: NodeId, b: NodeId, out: NodeId, dy: NodeId) -> Vec<(NodeId, NodeId)> {
    let ty = g.ty(a).clone();
    match op {
        BinaryOp::Add => vec![(a, dy), (b, dy)],
        BinaryOp::Sub => vec![(a, dy), (b, g.neg(dy))],
        BinaryOp::Mul => vec![(a, g.mul(dy, b)), (b, g.mul(dy, a))],
        BinaryOp::Div => {
            let da = g.div(dy, b);
            let q = g.div(out, b);
            let db = g.mul(dy, q);
            vec![(a, da), (b, g.neg(db))]
        }
        BinaryOp::Pow => {
            // d/da = b·a^(b-1) (0 where b = 0); d/db = out·ln(a) (0 where a = 0).
            let zero = g.full(&ty, 0.0);
            let one = g.full(&ty, 1.0);
            let bm1 = g.sub(b, one);
            let p = g.binary(BinaryOp::Pow, a, bm1);
            let da = g.mul(b, p);
            let b_zero = g.binary(BinaryOp::Eq, b, zero);
            let da = g.select(b_zero, zero, da);
            let a_zero = g.binary(BinaryOp::Eq, a, zero);
            let safe_a = g.select(a_zero, one, a);
            let ln = g.unary(UnaryOp::Log, safe_a);
            let db = g.mul(out, ln);
            let db = g.select(a_zero, zero, db);
            vec![(a, g.mul(dy, da)), (b, g.mul(dy, db))]
        }
        BinaryOp::Max | BinaryOp::Min => {
            // The winner takes the gradient; ties share it equally.
            let wins = if op == BinaryOp::Max { BinaryOp::Gt } else { BinaryOp::Lt };
            let zero = g.full(&ty, 0.0);
            let half = g.full(&ty, 0.5);
            let one = g.full(&ty, 1.0);
            let tie = g.binary(BinaryOp::Eq, a, b);
            let a_wins = g.binary(wins, a, b);
            let b_wins = g.binary(wins, b, a);
            let wa = g.select(a_wins, one, zero);
            let wa = g.select(tie, half, wa);
            let wb = g.select(b_wins, one, zero);
            let wb = g.select(tie, half, wb);
            vec![(a, g.mul(dy, wa)), (b, g.mul(dy, wb))]
        }
        BinaryOp::Rem => {
            // a mod b = a - b·floor(a / b)
            let q = g.div(a, b);
            let f = g.unary(UnaryOp::Floor, q);
            let db = g.mul(dy, f);
            vec![(a, dy), (b, g.neg(db))]
        }
        _ => vec![],
    }
}

fn reduce(g: &mut Graph, op: ReduceOp, axes: &[usize], x: NodeId, out: NodeId, dy: NodeId) -> NodeId {
    let x_ty = g.ty(x).clone();
    let kept: Vec<usize> = (0..x_ty.rank()).filter(|a| !axes.contains(a)).collect();
    let spread = |g: &mut Graph, v: NodeId| g.broadcast_in_dim(v, &x_ty.shape, kept.clone());
    match op {
        ReduceOp::Sum => spread(g, dy),
        ReduceOp::Prod => {
            // ∂/∂xᵢ Π x = the product of the others (JAX's convention), which is out/xᵢ
            // only where the slice has no zero: with one zero, the zero's gradient is the
            // product of the rest and every other element's is 0; with two, all are 0.
            let zero = g.binary_scalar(BinaryOp::Eq, x, 0.0);
            let ones = g.full(&x_ty, 1.0);
            let nonzero = g.select(zero, ones, x);
            let rest = g.reduce(ReduceOp::Prod, nonzero, axes);
            let zero_count = {
                let z = g.cast(zero, x_ty.dtype);
                g.reduce(ReduceOp::Sum, z, axes)
            };
            let none = g.binary_scalar(BinaryOp::Eq, zero_count, 0.0);
            let one = g.binary_scalar(BinaryOp::Eq, zero_count, 1.0);
            let (rest, none, one) = (spread(g, rest), spread(g, none), spread(g, one));
            let zeros = g.full(&x_ty, 0.0);
            let others = g.div(rest, nonzero);
            let if_nonzero = g.select(none, others, zeros);
            let if_zero = g.select(one, rest, zeros);
            let local = g.select(zero, if_zero, if_nonzero);
            let dy = spread(g, dy);
            g.mul(dy, local)
        }
        ReduceOp::Max | ReduceOp::Min => {
            let o = spread(g, out);
            let hit = g.binary(BinaryOp::Eq, x, o);
            let mask = g.cast(hit, x_ty.dtype);
            let count = g.reduce(ReduceOp::Sum, mask, axes);
            let share = g.div(dy, count);
            let share = spread(g, share);
            g.mul(mask, share)
        }
    }
}

fn conv2d(g: &mut Graph, x: NodeId, w: NodeId, dy: NodeId, stride: [usize; 2], pad: [(usize, usize); 2], dilation: [usize; 2]) -> Vec<(NodeId, NodeId)> {
    let x_ty = g.ty(x).clone();
    let w_ty = g.ty(w).clone();
    let dy_ty = g.ty(dy).clone();
    let dtype = x_ty.dtype;
    let (n, k) = (dy_ty.shape[0], dy_ty.shape[1]);
    let (ho, wo) = (dy_ty.shape[2], dy_ty.shape[3]);

    // dx: full correlation of the stride-dilated dy with the flipped kernel.
    let zero = g.scalar(dtype, 0.0);
    let spaced = g.reshape(dy, &[n, k, ho, 1, wo, 1]);
    let spaced = g.pad(spaced, zero, vec![0; 6], vec![0, 0, 0, stride[0] - 1, 0, stride[1] - 1]);
    let spaced = g.reshape(spaced, &[n, k, ho * stride[0], wo * stride[1]]);
    let dilated_h = (ho - 1) * stride[0] + 1;
    let dilated_w = (wo - 1) * stride[1] + 1;
    let spaced = g.slice(spaced, vec![0; 4], vec![n, k, dilated_h, dilated_w]);
    let mut lo = [0i64; 2];
    let mut hi = [0i64; 2];
    for i in 0..2 {
        let window = (dilation[i] * (w_ty.shape[2 + i] - 1) + 1) as i64;
        let dilated = [dilated_h, dilated_w][i] as i64;
        lo[i] = window - 1 - pad[i].0 as i64;
        hi[i] = x_ty.shape[2 + i] as i64 - dilated - lo[i] + window - 1;
    }
    let padded = g.pad(spaced, zero, vec![0, 0, lo[0].max(0) as usize, lo[1].max(0) as usize], vec![0, 0, hi[0].max(0) as usize, hi[1].max(0) as usize]);
    let p_shape = g.ty(padded).shape.clone();
    let start = vec![0, 0, (-lo[0]).max(0) as usize, (-lo[1]).max(0) as usize];
    let end = vec![n, k, p_shape[2] - (-hi[0]).max(0) as usize, p_shape[3] - (-hi[1]).max(0) as usize];
    let cropped = g.slice(padded, start, end);
    let flipped = g.reverse(w, vec![2, 3]);
    let flipped = g.transpose(flipped, &[1, 0, 2, 3]);
    let dx = g.conv2d(cropped, flipped, [1, 1], [(0, 0), (0, 0)], dilation);

    // dw: correlation of the input (channels as batch) with dy (as kernel).
    let xt = g.transpose(x, &[1, 0, 2, 3]);
    let dyt = g.transpose(dy, &[1, 0, 2, 3]);
    let dw = g.conv2d(xt, dyt, dilation, pad, stride);
    let dw = g.slice(dw, vec![0; 4], vec![x_ty.shape[1], k, w_ty.shape[2], w_ty.shape[3]]);
    let dw = g.transpose(dw, &[1, 0, 2, 3]);
    vec![(x, dx), (w, dw)]
}
