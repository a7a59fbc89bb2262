//! Whole-graph tests of `run` and `eval_op`.

use super::*;
use tc_ir::{BinaryOp, Dist, ReduceOp, UnaryOp};
use tc_tensor::Data;

fn f32t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), v.to_vec()).unwrap()
}

/// `f(x: f32[2, 3], b: f32[3]) = (sum(relu(x + b), axis 1), x)`
fn small_graph() -> Graph {
    let mut g = Graph::new("f");
    let x = g.push(Op::Param(0), vec![], Type::new(DType::F32, vec![2, 3]));
    let b = g.push(Op::Param(1), vec![], Type::new(DType::F32, vec![3]));
    let bb = g.push(Op::Broadcast { dims: vec![1] }, vec![b], Type::new(DType::F32, vec![2, 3]));
    let s = g.push(Op::Binary(BinaryOp::Add), vec![x, bb], Type::new(DType::F32, vec![2, 3]));
    let zero = g.push(Op::Const(Tensor::scalar_f32(0.0)), vec![], Type::scalar(DType::F32));
    let zb = g.push(Op::Broadcast { dims: vec![] }, vec![zero], Type::new(DType::F32, vec![2, 3]));
    let r = g.push(Op::Binary(BinaryOp::Max), vec![s, zb], Type::new(DType::F32, vec![2, 3]));
    let sum = g.push(Op::Reduce { op: ReduceOp::Sum, axes: vec![1] }, vec![r], Type::new(DType::F32, vec![2]));
    g.outputs = vec![sum, x];
    g
}

#[test]
fn runs_a_small_graph() {
    let g = small_graph();
    let x = f32t(&[2, 3], &[1.0, -2.0, 3.0, -4.0, 5.0, -6.0]);
    let b = f32t(&[3], &[1.0, 1.0, 1.0]);
    let out = run(&g, &[x.clone(), b]).unwrap();
    // relu(x + 1) = [[2, 0, 4], [0, 6, 0]]
    assert_eq!(out, vec![f32t(&[2], &[6.0, 6.0]), x]);
}

#[test]
fn input_checks_name_the_parameter() {
    let g = small_graph();
    let x = f32t(&[2, 3], &[0.0; 6]);
    let err = run(&g, std::slice::from_ref(&x)).unwrap_err();
    assert_eq!(err, InterpError::InputCount { expected: 2, got: 1 });
    assert_eq!(err.to_string(), "expected 2 input(s), got 1");
    let err = run(&g, &[x.clone(), f32t(&[2], &[0.0; 2])]).unwrap_err();
    assert_eq!(err.to_string(), "parameter 1: expected f32[3], got f32[2]");
    let wrong = Tensor::new(vec![2, 3], Data::F64(vec![0.0; 6])).unwrap();
    let err = run(&g, &[wrong, f32t(&[3], &[0.0; 3])]).unwrap_err();
    assert_eq!(
        err,
        InterpError::InputType { index: 0, expected: Type::new(DType::F32, vec![2, 3]), got: Type::new(DType::F64, vec![2, 3]) }
    );
}

#[test]
fn errors_name_the_node() {
    let mut g = Graph::new("bad");
    let x = g.push(Op::Param(0), vec![], Type::new(DType::I32, vec![2]));
    let e = g.push(Op::Unary(UnaryOp::Exp), vec![x], Type::new(DType::I32, vec![2]));
    g.outputs = vec![e];
    let err = run(&g, &[Tensor::from_i32(vec![2], vec![1, 2]).unwrap()]).unwrap_err();
    assert_eq!(err.to_string(), "at node %1 (`exp`): `exp` is not defined on i32");
    // A node whose declared type disagrees with its value.
    let mut g = Graph::new("bad");
    let x = g.push(Op::Param(0), vec![], Type::new(DType::I32, vec![2]));
    let n = g.push(Op::Unary(UnaryOp::Neg), vec![x], Type::new(DType::I64, vec![2]));
    g.outputs = vec![n];
    assert!(run(&g, &[Tensor::from_i32(vec![2], vec![1, 2]).unwrap()]).is_err());
    // Inputs must come before their users.
    let mut g = Graph::new("bad");
    g.nodes.push(tc_ir::Node { op: Op::Unary(UnaryOp::Neg), inputs: vec![NodeId(0)], ty: Type::scalar(DType::F32) });
    g.outputs = vec![NodeId(0)];
    assert!(matches!(run(&g, &[]), Err(InterpError::Graph(_))));
    let mut g = Graph::new("bad");
    g.outputs = vec![NodeId(3)];
    assert!(matches!(run(&g, &[]), Err(InterpError::Graph(_))));
}

#[test]
fn eval_op_single_ops() {
    let ty = Type::new(DType::F32, vec![2]);
    let a = f32t(&[2], &[1.5, -2.0]);
    let b = f32t(&[2], &[0.5, 4.0]);
    assert_eq!(eval_op(&Op::Binary(BinaryOp::Mul), &[&a, &b], &ty).unwrap(), f32t(&[2], &[0.75, -8.0]));
    assert_eq!(eval_op(&Op::Param(0), &[], &ty).unwrap_err(), InterpError::Param(0));
    assert!(eval_op(&Op::Binary(BinaryOp::Mul), &[&a], &ty).is_err());
    // The declared type is checked.
    assert!(eval_op(&Op::Binary(BinaryOp::Lt), &[&a, &b], &ty).is_err());
    let lt = eval_op(&Op::Binary(BinaryOp::Lt), &[&a, &b], &Type::new(DType::Bool, vec![2])).unwrap();
    assert_eq!(lt.data(), &Data::Bool(vec![false, true]));
    let c = eval_op(&Op::Cast, &[&a], &Type::new(DType::I32, vec![2])).unwrap();
    assert_eq!(c.data(), &Data::I32(vec![1, -2]));
    let k = Op::Const(f32t(&[2], &[1.0, 2.0]));
    assert_eq!(eval_op(&k, &[], &ty).unwrap(), f32t(&[2], &[1.0, 2.0]));
    assert!(eval_op(&k, &[], &Type::new(DType::F32, vec![3])).is_err());
    let i = eval_op(&Op::Iota { axis: 0 }, &[], &Type::new(DType::I64, vec![3])).unwrap();
    assert_eq!(i.data(), &Data::I64(vec![0, 1, 2]));
    let cat = eval_op(&Op::Concat { axis: 0 }, &[&a, &b, &a], &Type::new(DType::F32, vec![6])).unwrap();
    assert_eq!(cat, f32t(&[6], &[1.5, -2.0, 0.5, 4.0, 1.5, -2.0]));
    let seed = Tensor::new(vec![], Data::I64(vec![3])).unwrap();
    let r = eval_op(&Op::Random(Dist::Uniform), &[&seed], &Type::new(DType::F32, vec![4])).unwrap();
    assert_eq!(r.shape(), &[4]);
}

#[test]
fn frees_intermediates_and_handles_shared_outputs() {
    // A chain of 200 doublings of a 1 MiB tensor: only a couple of values are alive at a
    // time (the test checks results; the free logic is exercised along the way).
    let mut g = Graph::new("chain");
    let ty = Type::new(DType::F64, vec![1 << 17]);
    let mut v = g.push(Op::Param(0), vec![], ty.clone());
    let first = v;
    for _ in 0..200 {
        v = g.push(Op::Binary(BinaryOp::Add), vec![v, v], ty.clone());
    }
    // Dead node: computed and dropped.
    g.push(Op::Unary(UnaryOp::Neg), vec![first], ty.clone());
    g.outputs = vec![v, v, first];
    let x = Tensor::new(vec![1 << 17], Data::F64(vec![2f64.powi(-300); 1 << 17])).unwrap();
    let out = run(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[0], out[1]);
    assert_eq!(out[0].data().to_f64_vec()[5], 2f64.powi(-100));
    assert_eq!(out[2], x);
}

#[test]
fn param_used_only_as_output_and_reordered_params() {
    let mut g = Graph::new("swap");
    let b = g.push(Op::Param(1), vec![], Type::scalar(DType::I32));
    let a = g.push(Op::Param(0), vec![], Type::scalar(DType::F32));
    g.outputs = vec![b, a];
    let x = Tensor::scalar_f32(1.0);
    let y = Tensor::from_i32(vec![], vec![7]).unwrap();
    assert_eq!(run(&g, &[x.clone(), y.clone()]).unwrap(), vec![y, x]);
}

