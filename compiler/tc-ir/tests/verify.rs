//! The verifier: well-formed graphs pass, and each kind of malformed graph is caught
//! with a message naming the node.

// `&[x.clone()]` next to `&[x.clone(), y.clone()]` reads better than `from_ref`.
#![allow(clippy::cloned_ref_to_slice_refs)]

use tc_ir::text::parse;
use tc_ir::verify::{infer_type, verify};
use tc_ir::{ArgOp, BinaryOp, Dist, Graph, NodeId, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

fn t(dtype: DType, shape: &[usize]) -> Type {
    Type::new(dtype, shape.to_vec())
}

const F32: DType = DType::F32;
const I32: DType = DType::I32;
const BOOL: DType = DType::Bool;

/// A graph with parameters of `params` and one node `op` of type `ty` on them, output.
fn one_op(params: &[Type], op: Op, ty: Type) -> Graph {
    let mut g = Graph::new("f");
    let inputs: Vec<NodeId> = params.iter().enumerate().map(|(i, p)| g.push(Op::Param(i), vec![], p.clone())).collect();
    let y = g.push(op, inputs, ty);
    g.outputs.push(y);
    g
}

/// The verifier's message for a one-op graph, or "ok".
fn check(params: &[Type], op: Op, ty: Type) -> String {
    match verify(&one_op(params, op, ty)) {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn ok(params: &[Type], op: Op, ty: Type) {
    assert_eq!(check(params, op, ty), "ok");
}

/// The error must mention the node and contain `want`.
#[track_caller]
fn bad(params: &[Type], op: Op, ty: Type, want: &str) {
    let n = params.len();
    let mnemonic = op.mnemonic();
    let got = check(params, op, ty);
    assert!(got.starts_with(&format!("%{n} ({mnemonic}): ")), "{got}");
    assert!(got.contains(want), "want {want:?} in {got:?}");
}

#[test]
fn structure() {
    // Input not defined before its use.
    let mut g = Graph::new("f");
    g.push(Op::Unary(UnaryOp::Neg), vec![NodeId(1)], t(F32, &[]));
    g.push(Op::Param(0), vec![], t(F32, &[]));
    assert_eq!(
        verify(&g).unwrap_err().to_string(),
        "%0 (neg): input %1 is not defined before this node (nodes must be in topological order)"
    );
    // Self-reference.
    let mut g = Graph::new("f");
    g.push(Op::Unary(UnaryOp::Neg), vec![NodeId(0)], t(F32, &[]));
    assert!(verify(&g).unwrap_err().to_string().contains("input %0 is not defined before this node"));
    // Input that does not exist.
    let mut g = Graph::new("f");
    g.push(Op::Unary(UnaryOp::Neg), vec![NodeId(7)], t(F32, &[]));
    assert_eq!(verify(&g).unwrap_err().to_string(), "%0 (neg): input %7 does not exist");
    // Output that does not exist.
    let mut g = Graph::new("f");
    g.push(Op::Param(0), vec![], t(F32, &[]));
    g.outputs = vec![NodeId(0), NodeId(3)];
    assert_eq!(verify(&g).unwrap_err().to_string(), "output 1 is %3, which does not exist");
    // Parameter numbering: a gap, a repeat.
    let mut g = Graph::new("f");
    g.push(Op::Param(0), vec![], t(F32, &[]));
    g.push(Op::Param(2), vec![], t(F32, &[]));
    assert_eq!(
        verify(&g).unwrap_err().to_string(),
        "parameter 1 is missing (parameters must be numbered 0 to n-1; %1 is parameter 2)"
    );
    let mut g = Graph::new("f");
    g.push(Op::Param(0), vec![], t(F32, &[]));
    g.push(Op::Param(1), vec![], t(F32, &[]));
    g.push(Op::Param(0), vec![], t(F32, &[]));
    assert_eq!(verify(&g).unwrap_err().to_string(), "%2 (param): parameter 0 is also %0");
    // Params anywhere in node order are fine, as is an empty graph.
    let mut g = Graph::new("f");
    let c = g.push(Op::Const(Tensor::scalar_f32(1.0)), vec![], t(F32, &[]));
    let p = g.push(Op::Param(0), vec![], t(F32, &[]));
    let s = g.push(Op::Binary(BinaryOp::Add), vec![c, p], t(F32, &[]));
    g.outputs.push(s);
    verify(&g).unwrap();
    verify(&Graph::new("empty")).unwrap();
    // A param with inputs.
    bad(&[t(F32, &[])], Op::Param(1), t(F32, &[]), "expects 0 inputs, found 1");
    // An element count that overflows.
    bad(&[], Op::Iota { axis: 0 }, t(I32, &[usize::MAX, 2]), "overflows");
}

#[test]
fn constants_iota_random() {
    ok(&[], Op::Const(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap()), t(F32, &[2]));
    bad(
        &[],
        Op::Const(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap()),
        t(F32, &[1, 2]),
        "the constant is f32[2], the node's type is f32[1, 2]",
    );
    bad(
        &[],
        Op::Const(Tensor::from_f32(vec![2], vec![1.0, 2.0]).unwrap()),
        t(I32, &[2]),
        "the constant is f32[2], the node's type is i32[2]",
    );
    ok(&[], Op::Iota { axis: 1 }, t(I32, &[2, 3]));
    bad(&[], Op::Iota { axis: 2 }, t(I32, &[2, 3]), "axis 2 is out of range for rank 2");
    ok(&[], Op::Iota { axis: 0 }, t(BOOL, &[2]));
    ok(&[t(DType::I64, &[])], Op::Random(Dist::Normal), t(DType::BF16, &[4]));
    bad(
        &[t(DType::I64, &[1])],
        Op::Random(Dist::Normal),
        t(F32, &[4]),
        "the seed must be an integer scalar, found i64[1]",
    );
    bad(&[t(F32, &[])], Op::Random(Dist::Uniform), t(F32, &[4]), "the seed must be an integer scalar, found f32");
    bad(&[t(I32, &[])], Op::Random(Dist::Uniform), t(I32, &[4]), "random numbers must have a float dtype, found i32");
    bad(&[], Op::Random(Dist::Uniform), t(F32, &[4]), "expects 1 input, found 0");
}

#[test]
fn elementwise() {
    let x = t(F32, &[2, 3]);
    ok(&[x.clone()], Op::Unary(UnaryOp::Exp), x.clone());
    bad(&[t(I32, &[2])], Op::Unary(UnaryOp::Exp), t(I32, &[2]), "`exp` needs a float dtype, found i32");
    ok(&[t(I32, &[2])], Op::Unary(UnaryOp::Neg), t(I32, &[2]));
    bad(&[t(BOOL, &[2])], Op::Unary(UnaryOp::Abs), t(BOOL, &[2]), "`abs` needs a number dtype, found bool");
    bad(&[x.clone()], Op::Unary(UnaryOp::Not), x.clone(), "`not` needs bool, found f32");
    bad(
        &[x.clone()],
        Op::Unary(UnaryOp::Neg),
        t(F32, &[3, 2]),
        "the result type should be f32[2, 3], the node says f32[3, 2]",
    );
    bad(&[x.clone(), x.clone()], Op::Unary(UnaryOp::Neg), x.clone(), "expects 1 input, found 2");

    ok(&[x.clone(), x.clone()], Op::Binary(BinaryOp::Add), x.clone());
    ok(&[x.clone(), x.clone()], Op::Binary(BinaryOp::Lt), x.with_dtype(BOOL));
    bad(
        &[x.clone(), x.clone()],
        Op::Binary(BinaryOp::Lt),
        x.clone(),
        "the result type should be bool[2, 3], the node says f32[2, 3]",
    );
    bad(&[x.clone(), t(F32, &[3])], Op::Binary(BinaryOp::Add), x.clone(), "operand types differ: f32[2, 3] and f32[3]");
    bad(
        &[x.clone(), t(DType::F64, &[2, 3])],
        Op::Binary(BinaryOp::Mul),
        x.clone(),
        "operand types differ: f32[2, 3] and f64[2, 3]",
    );
    bad(&[t(I32, &[]), t(I32, &[])], Op::Binary(BinaryOp::Pow), t(I32, &[]), "`pow` needs a float dtype, found i32");
    bad(&[x.clone(), x.clone()], Op::Binary(BinaryOp::And), x.clone(), "`and` needs bool, found f32");
    bad(
        &[t(BOOL, &[]), t(BOOL, &[])],
        Op::Binary(BinaryOp::Add),
        t(BOOL, &[]),
        "`add` needs a number dtype, found bool",
    );
    ok(&[t(BOOL, &[]), t(BOOL, &[])], Op::Binary(BinaryOp::Max), t(BOOL, &[]));
    ok(&[t(I32, &[]), t(I32, &[])], Op::Binary(BinaryOp::Rem), t(I32, &[]));

    let c = x.with_dtype(BOOL);
    ok(&[c.clone(), x.clone(), x.clone()], Op::Select, x.clone());
    bad(&[x.clone(), x.clone(), x.clone()], Op::Select, x.clone(), "the condition needs bool, found f32");
    bad(&[c.clone(), x.clone(), t(F32, &[3])], Op::Select, x.clone(), "the branches' types differ");
    bad(
        &[t(BOOL, &[3]), t(F32, &[3, 3]), t(F32, &[3, 3])],
        Op::Select,
        t(F32, &[3, 3]),
        "the condition is bool[3], the branches f32[3, 3]",
    );

    ok(&[x.clone()], Op::Cast, x.with_dtype(DType::U8));
    bad(&[x.clone()], Op::Cast, t(DType::U8, &[6]), "a cast keeps the shape");
}

#[test]
fn reductions() {
    let x = t(F32, &[2, 3, 4]);
    ok(&[x.clone()], Op::Reduce { op: ReduceOp::Sum, axes: vec![0, 2] }, t(F32, &[3]));
    ok(&[x.clone()], Op::Reduce { op: ReduceOp::Max, axes: vec![] }, x.clone());
    bad(
        &[x.clone()],
        Op::Reduce { op: ReduceOp::Sum, axes: vec![2, 0] },
        t(F32, &[3]),
        "axes [2, 0] must be sorted and distinct",
    );
    bad(
        &[x.clone()],
        Op::Reduce { op: ReduceOp::Sum, axes: vec![1, 1] },
        t(F32, &[2, 4]),
        "must be sorted and distinct",
    );
    bad(&[x.clone()], Op::Reduce { op: ReduceOp::Sum, axes: vec![3] }, x.clone(), "axis 3 is out of range for rank 3");
    bad(
        &[x.clone()],
        Op::Reduce { op: ReduceOp::Sum, axes: vec![1] },
        t(F32, &[2, 1, 4]),
        "the result type should be f32[2, 4]",
    );
    ok(&[t(BOOL, &[2])], Op::Reduce { op: ReduceOp::Sum, axes: vec![0] }, t(BOOL, &[]));
    ok(&[t(BOOL, &[2])], Op::Reduce { op: ReduceOp::Max, axes: vec![0] }, t(BOOL, &[]));

    ok(&[x.clone()], Op::ArgReduce { op: ArgOp::ArgMax, axis: 1 }, t(I32, &[2, 4]));
    bad(
        &[x.clone()],
        Op::ArgReduce { op: ArgOp::ArgMin, axis: 1 },
        t(DType::I64, &[2, 4]),
        "the result type should be i32[2, 4]",
    );
    bad(&[x.clone()], Op::ArgReduce { op: ArgOp::ArgMin, axis: 3 }, t(I32, &[2, 3]), "axis 3 is out of range");
    bad(&[t(F32, &[2, 0])], Op::ArgReduce { op: ArgOp::ArgMax, axis: 1 }, t(I32, &[2]), "axis 1 of f32[2, 0] is empty");
}

#[test]
fn shape_ops() {
    let x = t(F32, &[3, 1]);
    ok(&[x.clone()], Op::Broadcast { dims: vec![0, 2] }, t(F32, &[3, 4, 5]));
    ok(&[t(F32, &[])], Op::Broadcast { dims: vec![] }, t(F32, &[4]));
    bad(
        &[x.clone()],
        Op::Broadcast { dims: vec![2, 0] },
        t(F32, &[3, 4, 5]),
        "dims [2, 0] must be strictly increasing",
    );
    bad(&[x.clone()], Op::Broadcast { dims: vec![0, 0] }, t(F32, &[3, 4, 5]), "must be strictly increasing");
    bad(&[x.clone()], Op::Broadcast { dims: vec![0] }, t(F32, &[3, 4]), "dims has 1 entries for an input of rank 2");
    bad(
        &[x.clone()],
        Op::Broadcast { dims: vec![1, 2] },
        t(F32, &[3, 4, 5]),
        "input axis 0 of size 3 cannot broadcast to output axis 1 of size 4",
    );
    bad(
        &[x.clone()],
        Op::Broadcast { dims: vec![0, 3] },
        t(F32, &[3, 4, 5]),
        "dims entry 3 is out of range for rank 3",
    );
    bad(&[x.clone()], Op::Broadcast { dims: vec![0, 1] }, t(I32, &[3, 4]), "dtypes differ: f32 and i32");

    ok(&[x.clone()], Op::Reshape, t(F32, &[1, 3]));
    bad(&[x.clone()], Op::Reshape, t(F32, &[4]), "cannot reshape f32[3, 1] to f32[4]: the element counts differ");

    let y = t(F32, &[2, 3, 4]);
    ok(&[y.clone()], Op::Transpose { perm: vec![2, 0, 1] }, t(F32, &[4, 2, 3]));
    bad(
        &[y.clone()],
        Op::Transpose { perm: vec![0, 0, 1] },
        y.clone(),
        "perm [0, 0, 1] is not a permutation of the 3 axes",
    );
    bad(&[y.clone()], Op::Transpose { perm: vec![0, 1] }, y.clone(), "is not a permutation");
    bad(&[y.clone()], Op::Transpose { perm: vec![0, 1, 3] }, y.clone(), "is not a permutation");
    bad(&[y.clone()], Op::Transpose { perm: vec![1, 0, 2] }, y.clone(), "the result type should be f32[3, 2, 4]");

    ok(&[y.clone()], Op::Reverse { axes: vec![2, 0] }, y.clone());
    bad(&[y.clone()], Op::Reverse { axes: vec![0, 0] }, y.clone(), "axis 0 is repeated");
    bad(&[y.clone()], Op::Reverse { axes: vec![3] }, y.clone(), "axis 3 is out of range");

    ok(&[y.clone()], Op::Slice { start: vec![0, 1, 4], end: vec![2, 3, 4] }, t(F32, &[2, 2, 0]));
    bad(
        &[y.clone()],
        Op::Slice { start: vec![0, 2, 0], end: vec![2, 1, 4] },
        y.clone(),
        "axis 1: the slice 2..1 is not within 0..3",
    );
    bad(
        &[y.clone()],
        Op::Slice { start: vec![0, 0, 0], end: vec![2, 3, 5] },
        y.clone(),
        "axis 2: the slice 0..5 is not within 0..4",
    );
    bad(&[y.clone()], Op::Slice { start: vec![0, 0], end: vec![2, 3] }, y.clone(), "start and end need 3 entries");

    ok(&[x.clone(), t(F32, &[])], Op::Pad { lo: vec![1, 0], hi: vec![2, 3] }, t(F32, &[6, 4]));
    bad(
        &[x.clone(), t(F32, &[1])],
        Op::Pad { lo: vec![1, 0], hi: vec![2, 3] },
        t(F32, &[6, 4]),
        "the padding value must be a f32 scalar, found f32[1]",
    );
    bad(
        &[x.clone(), t(DType::F64, &[])],
        Op::Pad { lo: vec![1, 0], hi: vec![2, 3] },
        t(F32, &[6, 4]),
        "the padding value must be a f32 scalar, found f64",
    );
    bad(
        &[x.clone(), t(F32, &[])],
        Op::Pad { lo: vec![1], hi: vec![2, 3] },
        t(F32, &[6, 4]),
        "lo and hi need 2 entries",
    );
    bad(
        &[x.clone(), t(F32, &[])],
        Op::Pad { lo: vec![usize::MAX, 0], hi: vec![2, 3] },
        t(F32, &[6, 4]),
        "the padded size overflows",
    );

    ok(&[t(F32, &[2, 3]), t(F32, &[2, 5])], Op::Concat { axis: 1 }, t(F32, &[2, 8]));
    ok(&[t(F32, &[2, 3])], Op::Concat { axis: 0 }, t(F32, &[2, 3]));
    bad(&[], Op::Concat { axis: 0 }, t(F32, &[0]), "concat needs at least one input");
    bad(
        &[t(F32, &[2, 3]), t(F32, &[3, 3])],
        Op::Concat { axis: 1 },
        t(F32, &[2, 6]),
        "input 1 is f32[3, 3], which does not match f32[2, 3] except along axis 1",
    );
    bad(&[t(F32, &[2, 3]), t(F32, &[2])], Op::Concat { axis: 0 }, t(F32, &[4, 3]), "input 1 is f32[2]");
    bad(&[t(F32, &[2, 3]), t(I32, &[2, 3])], Op::Concat { axis: 0 }, t(F32, &[4, 3]), "dtypes differ: i32 and f32");
    bad(&[t(F32, &[2, 3])], Op::Concat { axis: 2 }, t(F32, &[2, 3]), "axis 2 is out of range");
}

#[test]
fn indexing() {
    let x = t(F32, &[5, 3]);
    ok(&[x.clone(), t(I32, &[2, 2])], Op::Gather { axis: 0 }, t(F32, &[2, 2, 3]));
    ok(&[x.clone(), t(DType::U8, &[])], Op::Gather { axis: 1 }, t(F32, &[5]));
    bad(
        &[x.clone(), t(F32, &[2])],
        Op::Gather { axis: 0 },
        t(F32, &[2, 3]),
        "the indices must have an integer dtype, found f32",
    );
    bad(&[x.clone(), t(I32, &[2])], Op::Gather { axis: 2 }, t(F32, &[2, 3]), "axis 2 is out of range");
    bad(&[x.clone(), t(I32, &[2])], Op::Gather { axis: 0 }, t(F32, &[3, 2]), "the result type should be f32[2, 3]");
    bad(&[t(F32, &[0, 3]), t(I32, &[2])], Op::Gather { axis: 0 }, t(F32, &[2, 3]), "gathers from axis 0 of size 0");

    ok(&[t(I32, &[2, 2]), t(F32, &[2, 2, 3])], Op::ScatterAdd { axis: 0 }, x.clone());
    bad(
        &[t(F32, &[2]), t(F32, &[2, 3])],
        Op::ScatterAdd { axis: 0 },
        x.clone(),
        "the indices must have an integer dtype",
    );
    bad(
        &[t(I32, &[2]), t(F32, &[3, 3])],
        Op::ScatterAdd { axis: 0 },
        x.clone(),
        "the updates must be f32[2, 3] for indices i32[2] into f32[5, 3], found f32[3, 3]",
    );
    bad(&[t(I32, &[2]), t(DType::F64, &[2, 3])], Op::ScatterAdd { axis: 0 }, x.clone(), "dtypes differ");
    bad(&[t(I32, &[2]), t(F32, &[2, 3])], Op::ScatterAdd { axis: 2 }, x.clone(), "axis 2 is out of range");
    bad(&[t(I32, &[2]), t(BOOL, &[2, 3])], Op::ScatterAdd { axis: 0 }, t(BOOL, &[5, 3]), "needs a number dtype");
}

#[test]
fn linear_algebra_and_windows() {
    ok(&[t(F32, &[7, 2, 3]), t(F32, &[7, 3, 4])], Op::MatMul, t(F32, &[7, 2, 4]));
    bad(&[t(F32, &[7, 2, 3]), t(F32, &[1, 3, 4])], Op::MatMul, t(F32, &[7, 2, 4]), "batch dimensions differ");
    bad(&[t(F32, &[2, 3]), t(F32, &[7, 3, 4])], Op::MatMul, t(F32, &[7, 2, 4]), "batch dimensions differ");
    bad(
        &[t(F32, &[2, 3]), t(F32, &[2, 4])],
        Op::MatMul,
        t(F32, &[2, 4]),
        "inner dimensions differ: f32[2, 3] @ f32[2, 4]",
    );
    bad(&[t(F32, &[3]), t(F32, &[3, 4])], Op::MatMul, t(F32, &[4]), "both operands need rank >= 2");
    bad(&[t(F32, &[2, 3]), t(I32, &[3, 4])], Op::MatMul, t(F32, &[2, 4]), "dtypes differ");

    let x = t(F32, &[1, 2, 5, 5]);
    let w = t(F32, &[3, 2, 3, 3]);
    let conv = |stride, pad, dilation| Op::Conv2d { stride, pad, dilation };
    ok(&[x.clone(), w.clone()], conv([1, 1], [(0, 0); 2], [1, 1]), t(F32, &[1, 3, 3, 3]));
    ok(&[x.clone(), w.clone()], conv([2, 2], [(1, 1), (0, 2)], [1, 2]), t(F32, &[1, 3, 3, 2]));
    bad(
        &[x.clone(), t(F32, &[3, 4, 3, 3])],
        conv([1, 1], [(0, 0); 2], [1, 1]),
        t(F32, &[1, 3, 3, 3]),
        "channels differ",
    );
    bad(
        &[x.clone(), w.clone()],
        conv([0, 1], [(0, 0); 2], [1, 1]),
        t(F32, &[1, 3, 3, 3]),
        "stride [0, 1] must be positive",
    );
    bad(
        &[x.clone(), w.clone()],
        conv([1, 1], [(0, 0); 2], [1, 0]),
        t(F32, &[1, 3, 3, 3]),
        "dilation [1, 0] must be positive",
    );
    bad(
        &[x.clone(), w.clone()],
        conv([1, 1], [(0, 0); 2], [3, 1]),
        t(F32, &[1, 3, 3, 3]),
        "axis 2: the dilated kernel is larger than the padded input",
    );
    bad(
        &[t(F32, &[2, 5, 5]), w.clone()],
        conv([1, 1], [(0, 0); 2], [1, 1]),
        t(F32, &[1, 3, 3, 3]),
        "x must be [N, C, H, W]",
    );
    bad(
        &[x.clone(), w.clone()],
        conv([1, 1], [(0, 0); 2], [1, 1]),
        t(F32, &[1, 3, 5, 5]),
        "the result type should be f32[1, 3, 3, 3]",
    );

    ok(&[x.clone()], Op::Pool { kind: PoolKind::Max, size: [2, 3], stride: [1, 2] }, t(F32, &[1, 2, 4, 2]));
    ok(&[t(I32, &[1, 1, 2, 2])], Op::Pool { kind: PoolKind::Max, size: [2, 2], stride: [2, 2] }, t(I32, &[1, 1, 1, 1]));
    bad(
        &[t(I32, &[1, 1, 2, 2])],
        Op::Pool { kind: PoolKind::Avg, size: [2, 2], stride: [2, 2] },
        t(I32, &[1, 1, 1, 1]),
        "average `pool` needs a float dtype",
    );
    bad(
        &[x.clone()],
        Op::Pool { kind: PoolKind::Max, size: [6, 1], stride: [1, 1] },
        x.clone(),
        "axis 2: the window 6 is larger than the input 5",
    );
    bad(
        &[x.clone()],
        Op::Pool { kind: PoolKind::Max, size: [0, 1], stride: [1, 1] },
        x.clone(),
        "size [0, 1] must be positive",
    );
    bad(
        &[t(F32, &[5, 5])],
        Op::Pool { kind: PoolKind::Max, size: [1, 1], stride: [1, 1] },
        x.clone(),
        "x must be [N, C, H, W]",
    );

    let pg = Op::PoolGrad { kind: PoolKind::Max, size: [2, 2], stride: [2, 2] };
    ok(&[x.clone(), t(F32, &[1, 2, 2, 2])], pg.clone(), x.clone());
    bad(
        &[x.clone(), t(F32, &[1, 2, 3, 3])],
        pg.clone(),
        x.clone(),
        "dy must be shaped like the pool's result f32[1, 2, 2, 2], found f32[1, 2, 3, 3]",
    );
    bad(
        &[x.clone(), t(F32, &[1, 2, 2, 2])],
        pg.clone(),
        t(F32, &[1, 2, 2, 2]),
        "the result type should be f32[1, 2, 5, 5]",
    );
    bad(&[t(I32, &[1, 2, 5, 5]), t(I32, &[1, 2, 2, 2])], pg, t(I32, &[1, 2, 5, 5]), "`pool_grad` needs a float dtype");
}

#[test]
fn infer_type_answers_for_inferable_ops_only() {
    let x = t(F32, &[2, 3]);
    assert_eq!(infer_type(&Op::Transpose { perm: vec![1, 0] }, &[&x]).unwrap(), t(F32, &[3, 2]));
    assert_eq!(infer_type(&Op::Binary(BinaryOp::Eq), &[&x, &x]).unwrap(), x.with_dtype(BOOL));
    assert_eq!(infer_type(&Op::Reduce { op: ReduceOp::Sum, axes: vec![0, 1] }, &[&x]).unwrap(), t(F32, &[]));
    assert!(infer_type(&Op::Reshape, &[&x]).unwrap_err().contains("given by its node"));
    assert!(infer_type(&Op::Param(0), &[]).unwrap_err().contains("given by its node"));
}

#[test]
fn verify_parsed_text() {
    let g = parse(
        "fn f(%0: f32[2]) -> (f32[3]) {\n  %1 = const [1.0, 2.0] : f32[2]\n  %2 = add %0, %1 : f32[3]\n  return %2\n}\n",
    )
    .unwrap();
    assert_eq!(verify(&g).unwrap_err().to_string(), "%2 (add): the result type should be f32[2], the node says f32[3]");
}
