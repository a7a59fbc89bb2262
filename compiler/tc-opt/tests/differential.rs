//! Optimised equals unoptimised: random small graphs of elementwise and layout ops
//! over parameters and constants (zeros, ones, NaN, infinities included, so the
//! algebraic identities fire and the float traps are there) compute the same values in
//! the reference interpreter before and after `simplify`, and every pass keeps the
//! graph valid.

use proptest::prelude::*;
use tc_ir::text::print;
use tc_ir::verify::verify;
use tc_ir::{BinaryOp, Graph, NodeId, Op, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

const SHAPE: [usize; 2] = [2, 3];
const DTYPES: [DType; 5] = [DType::F32, DType::F64, DType::F16, DType::I32, DType::U8];
const FLOATS: [f64; 10] = [0.0, 1.0, -1.0, 2.0, 0.5, -0.0, f64::NAN, f64::INFINITY, -3.25, 1e-3];
const INTS: [i64; 7] = [0, 1, -1, 2, 7, -128, 255];

fn value(dtype: DType, pick: u16) -> f64 {
    if dtype.is_float() {
        FLOATS[pick as usize % FLOATS.len()]
    } else {
        INTS[pick as usize % INTS.len()] as f64
    }
}

fn tensor(dtype: DType, shape: Vec<usize>, picks: &[u16]) -> Tensor {
    let n: usize = shape.iter().product();
    let vals: Vec<f64> = (0..n).map(|i| value(dtype, picks[i % picks.len()].wrapping_add(i as u16))).collect();
    let data = if dtype.is_float() {
        Data::from_f64(dtype, &vals)
    } else {
        Data::from_i64(dtype, &vals.iter().map(|&v| v as i64).collect::<Vec<_>>())
    };
    Tensor::new(shape, data).unwrap()
}

/// One step of graph building: an op kind, two operand choices and a value choice.
type Step = (u8, u16, u16, u16);

/// Build a graph of `dtype[2, 3]` values from the steps; every step adds one value.
fn build(dtype: DType, n_params: usize, steps: &[Step], max_outputs: usize) -> Graph {
    let ty = Type::new(dtype, SHAPE.to_vec());
    let mut g = Graph::new("random");
    let mut values: Vec<NodeId> = (0..n_params).map(|i| g.push(Op::Param(i), vec![], ty.clone())).collect();
    let float = dtype.is_float();
    for &(kind, a, b, v) in steps {
        let pick = |k: u16| values[k as usize % values.len()];
        let (x, y) = (pick(a), pick(b));
        let new = match kind % 16 {
            0..=2 => {
                // Splats are mostly the identities' 0 and 1.
                let v = if v % 2 == 0 { v / 2 % 2 } else { v };
                let c = g.push(Op::Const(tensor(dtype, vec![], &[v])), vec![], Type::scalar(dtype));
                g.push(Op::Broadcast { dims: vec![] }, vec![c], ty.clone())
            }
            3 => g.push(Op::Const(tensor(dtype, SHAPE.to_vec(), &[v, a, b])), vec![], ty.clone()),
            4..=7 => {
                let ops = [
                    BinaryOp::Add,
                    BinaryOp::Sub,
                    BinaryOp::Mul,
                    BinaryOp::Div,
                    BinaryOp::Rem,
                    BinaryOp::Max,
                    BinaryOp::Min,
                    BinaryOp::Pow,
                ];
                let mut op = ops[v as usize % ops.len()];
                if op == BinaryOp::Pow && !float {
                    op = BinaryOp::Mul;
                }
                g.push(Op::Binary(op), vec![x, y], ty.clone())
            }
            8 | 9 => {
                let ops = if float {
                    &[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Floor][..]
                } else {
                    &[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign][..]
                };
                g.push(Op::Unary(ops[v as usize % ops.len()]), vec![x], ty.clone())
            }
            10 => {
                let mid = if v % 2 == 0 { vec![3, 2] } else { vec![6] };
                let r = g.push(Op::Reshape, vec![x], Type::new(dtype, mid));
                g.push(Op::Reshape, vec![r], ty.clone())
            }
            11 => {
                let t = g.push(Op::Transpose { perm: vec![1, 0] }, vec![x], Type::new(dtype, vec![3, 2]));
                g.push(Op::Transpose { perm: vec![1, 0] }, vec![t], ty.clone())
            }
            12 => g.push(Op::Cast, vec![x], ty.clone()),
            13 => {
                let c = g.push(Op::Binary(BinaryOp::Lt), vec![x, y], ty.with_dtype(DType::Bool));
                g.push(Op::Select, vec![c, x, y], ty.clone())
            }
            14 => g.push(Op::Slice { start: vec![0, 0], end: SHAPE.to_vec() }, vec![x], ty.clone()),
            _ => {
                // A round trip through another shape with a reduction of size-1 axes.
                let b = g.push(Op::Broadcast { dims: vec![0, 2] }, vec![x], Type::new(dtype, vec![2, 1, 3]));
                g.push(Op::Reduce { op: tc_ir::ReduceOp::Sum, axes: vec![1] }, vec![b], ty.clone())
            }
        };
        values.push(new);
    }
    // Outputs: every built value nothing else uses (so no step is dead code), newest
    // first, at most `max_outputs`.
    let mut used = vec![false; g.nodes.len()];
    for node in &g.nodes {
        for i in &node.inputs {
            used[i.index()] = true;
        }
    }
    g.outputs = values[n_params..].iter().rev().filter(|v| !used[v.index()]).take(max_outputs).copied().collect();
    if g.outputs.is_empty() {
        g.outputs.push(values[0]);
    }
    g
}

/// Equal values: bit for bit, except that any NaN equals any NaN.
fn same_tensor(a: &Tensor, b: &Tensor) -> bool {
    if a.dtype() != b.dtype() || a.shape() != b.shape() {
        return false;
    }
    if a.dtype().is_float() {
        let (x, y) = (a.data().to_f64_vec(), b.data().to_f64_vec());
        x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
    } else {
        a.data().to_le_bytes() == b.data().to_le_bytes()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn simplify_keeps_values(
        dtype in 0usize..DTYPES.len(),
        n_params in 1usize..4,
        steps in proptest::collection::vec((any::<u8>(), any::<u16>(), any::<u16>(), any::<u16>()), 1..24),
        input_picks in proptest::collection::vec(any::<u16>(), 1..8),
    ) {
        let dtype = DTYPES[dtype];
        let g = build(dtype, n_params, &steps, 8);
        verify(&g).unwrap();
        let s = tc_opt::simplify(&g);
        verify(&s).unwrap();
        prop_assert_eq!(s.param_types(), g.param_types());
        prop_assert_eq!(s.output_types(), g.output_types());
        prop_assert!(s.nodes.len() <= g.nodes.len() + 2, "simplify grew the graph:\n{}\n{}", print(&g), print(&s));
        let inputs: Vec<Tensor> = (0..n_params)
            .map(|k| tensor(dtype, SHAPE.to_vec(), &input_picks.iter().map(|p| p.wrapping_add(k as u16 * 3)).collect::<Vec<_>>()))
            .collect();
        let want = tc_interp::run(&g, &inputs).unwrap();
        let got = tc_interp::run(&s, &inputs).unwrap();
        for (w, o) in want.iter().zip(&got) {
            prop_assert!(same_tensor(w, o), "before:\n{}after:\n{}inputs {:?}\nwant {:?}\ngot  {:?}", print(&g), print(&s), inputs, w, o);
        }
        // A second simplify finds nothing more to do.
        let again = tc_opt::simplify(&s);
        prop_assert!(again.bitwise_eq(&s), "not a fixed point:\n{}\n{}", print(&s), print(&again));
    }
}
