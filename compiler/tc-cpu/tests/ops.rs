//! Every primitive op on every dtype it accepts, compiled alone by the CPU backend and
//! compared with the interpreter, on inputs that include the edge cases of ops.rs:
//! NaN, ±inf, ±0, subnormals, halfway cases for rounding, integer extremes, zero
//! divisors. Ints and bools must match exactly, floats within a few ulp.

mod common;

use common::{check_graph, random_tensor, Rng};
use half::{bf16, f16};
use tc_ir::{ArgOp, BinaryOp, Dist, Graph, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

const FLOATS: [DType; 4] = [DType::F64, DType::F32, DType::F16, DType::BF16];
const INTS: [DType; 3] = [DType::I64, DType::I32, DType::U8];

/// Float edge values, then a spread of ordinary ones (37 in all: vector body + tail).
fn float_values(seed: u64) -> Vec<f64> {
    let mut v = vec![0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-40, -3e-39, 1e-8, 100.0, -100.0, 65504.0, 3.0e38, 7.0, -0.75, 0.1];
    let mut rng = Rng(seed);
    while v.len() < 37 {
        v.push(rng.uniform(-10.0, 10.0));
    }
    v
}

fn int_values(dtype: DType, seed: u64) -> Vec<i64> {
    let (min, max) = match dtype {
        DType::I64 => (i64::MIN, i64::MAX),
        DType::I32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (0, 255),
    };
    let mut v = vec![0, 1, max, min, 2, 3, 7, 100, max - 1, min + 1, 5];
    if dtype != DType::U8 {
        v.extend([-1, -2, -3, -7, -100]);
    }
    let mut rng = Rng(seed);
    while v.len() < 37 {
        v.push((rng.next() % 200) as i64 - if dtype == DType::U8 { 0 } else { 100 });
    }
    v
}

fn tensor(dtype: DType, seed: u64) -> Tensor {
    let data = match dtype {
        DType::F64 => Data::F64(float_values(seed)),
        DType::F32 => Data::F32(float_values(seed).iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(float_values(seed).iter().map(|&x| f16::from_f64(x)).collect()),
        DType::BF16 => Data::BF16(float_values(seed).iter().map(|&x| bf16::from_f64(x)).collect()),
        DType::Bool => Data::Bool((0..37).map(|i| (i * 7 + seed).is_multiple_of(3)).collect()),
        d => Data::from_i64(d, &int_values(d, seed)),
    };
    let n = data.len();
    Tensor::new(vec![n], data).unwrap()
}

/// A graph applying `op` to parameters of `types`, with result type `ty`.
fn op_graph(op: Op, types: &[Type], ty: Type) -> Graph {
    let mut g = Graph::new("op");
    let params: Vec<_> = types.iter().enumerate().map(|(i, t)| g.param(i, t.clone())).collect();
    let out = g.push(op, params, ty);
    g.outputs.push(out);
    tc_ir::verify::verify(&g).unwrap();
    g
}

#[test]
fn unary_ops() {
    for op in UnaryOp::ALL {
        let dtypes: Vec<DType> = match op {
            UnaryOp::Not => vec![DType::Bool],
            o if o.float_only() => FLOATS.to_vec(),
            _ => FLOATS.iter().chain(&INTS).copied().collect(),
        };
        for d in dtypes {
            let x = tensor(d, 3);
            let ty = Type::new(d, x.shape().to_vec());
            let g = op_graph(Op::Unary(op), std::slice::from_ref(&ty), ty.clone());
            // Subnormal results of the f32 polynomials may differ by one subnormal step.
            check_graph(&g, &[x], 1e-44, &format!("{} {d}", op.name()));
        }
    }
}

#[test]
fn binary_ops() {
    for op in BinaryOp::ALL {
        let dtypes: Vec<DType> = if op.is_logical() {
            vec![DType::Bool]
        } else if op == BinaryOp::Pow {
            FLOATS.to_vec()
        } else if op.is_comparison() || matches!(op, BinaryOp::Max | BinaryOp::Min) {
            FLOATS.iter().chain(&INTS).chain(&[DType::Bool]).copied().collect()
        } else {
            FLOATS.iter().chain(&INTS).copied().collect()
        };
        for d in dtypes {
            let (a, b) = (tensor(d, 5), tensor(d, 11));
            let ty = Type::new(d, a.shape().to_vec());
            let g = op_graph(Op::Binary(op), &[ty.clone(), ty.clone()], ty.with_dtype(op.result_dtype(d)));
            check_graph(&g, &[a.clone(), b.clone()], 0.0, &format!("{} {d}", op.name()));
            // Operands swapped, and an operand with itself (equal values).
            check_graph(&g, &[b, a.clone()], 0.0, &format!("{} {d} swapped", op.name()));
            check_graph(&g, &[a.clone(), a], 0.0, &format!("{} {d} self", op.name()));
        }
    }
}

#[test]
fn select_on_every_dtype() {
    for d in DType::ALL {
        let (a, b) = (tensor(d, 2), tensor(d, 9));
        let c = tensor(DType::Bool, 4);
        let ty = Type::new(d, a.shape().to_vec());
        let g = op_graph(Op::Select, &[Type::new(DType::Bool, c.shape().to_vec()), ty.clone(), ty.clone()], ty);
        check_graph(&g, &[c, a, b], 0.0, &format!("select {d}"));
    }
}

#[test]
fn casts_between_every_pair() {
    for from in DType::ALL {
        for to in DType::ALL {
            let x = tensor(from, 7);
            let ty = Type::new(from, x.shape().to_vec());
            let g = op_graph(Op::Cast, std::slice::from_ref(&ty), ty.with_dtype(to));
            check_graph(&g, &[x], 0.0, &format!("cast {from} -> {to}"));
        }
    }
}

#[test]
fn reductions() {
    let mut rng = Rng(17);
    for d in DType::ALL {
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min] {
            if d == DType::Bool && matches!(op, ReduceOp::Sum | ReduceOp::Prod) {
                continue;
            }
            for (shape, axes) in [(vec![3, 37], vec![1]), (vec![3, 37], vec![0]), (vec![2, 3, 5], vec![0, 2]), (vec![6, 7], vec![0, 1]), (vec![4, 0], vec![1]), (vec![5], vec![])] {
                let ty = Type::new(d, shape.clone());
                let out_shape = shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &s)| s).collect();
                let g = op_graph(Op::Reduce { op, axes: axes.clone() }, std::slice::from_ref(&ty), Type::new(d, out_shape));
                let mut x = random_tensor(&mut rng, &ty);
                if op == ReduceOp::Prod && d.is_float() {
                    // Keep products of many factors in range: values near 1.
                    let v: Vec<f64> = x.data().to_f64_vec().iter().map(|v| 1.0 + v / 8.0).collect();
                    x = Tensor::from_f64_values(d, shape.clone(), &v).unwrap();
                }
                check_graph(&g, &[x.clone()], 1e-12, &format!("reduce {} {d} {shape:?} {axes:?}", op.name()));
                if d.is_float() && shape.iter().product::<usize>() > 5 {
                    // NaN and infinities propagate.
                    let mut v = x.data().to_f64_vec();
                    v[1] = f64::NAN;
                    v[4] = f64::INFINITY;
                    let x = Tensor::from_f64_values(d, shape.clone(), &v).unwrap();
                    check_graph(&g, &[x], 1e-12, &format!("reduce {} {d} with NaN", op.name()));
                }
            }
        }
    }
}

#[test]
fn arg_reductions() {
    for d in DType::ALL {
        for op in [ArgOp::ArgMax, ArgOp::ArgMin] {
            for axis in [0, 1] {
                let x = Tensor::new(vec![37, 1], tensor(d, 13).into_data()).unwrap().reshaped(vec![1, 37]).unwrap();
                let x = if axis == 0 { x.reshaped(vec![37, 1]).unwrap() } else { x };
                let ty = Type::new(d, x.shape().to_vec());
                let mut out = x.shape().to_vec();
                out.remove(axis);
                let g = op_graph(Op::ArgReduce { op, axis }, &[ty], Type::new(DType::I32, out));
                check_graph(&g, &[x], 0.0, &format!("{} {d} axis {axis}", op.name()));
            }
        }
    }
}

#[test]
fn layout_ops_on_every_dtype() {
    let mut rng = Rng(23);
    for d in DType::ALL {
        let ty = Type::new(d, vec![2, 3, 4]);
        let x = random_tensor(&mut rng, &ty);
        let cases: Vec<(Op, Type)> = vec![
            (Op::Transpose { perm: vec![2, 0, 1] }, Type::new(d, vec![4, 2, 3])),
            (Op::Reverse { axes: vec![0, 2] }, ty.clone()),
            (Op::Slice { start: vec![1, 0, 1], end: vec![2, 3, 4] }, Type::new(d, vec![1, 3, 3])),
            (Op::Reshape, Type::new(d, vec![6, 4])),
            (Op::Reshape, Type::new(d, vec![4, 6])),
            (Op::Broadcast { dims: vec![0, 2, 3] }, Type::new(d, vec![2, 5, 3, 4])),
        ];
        for (op, out) in cases {
            let g = op_graph(op.clone(), std::slice::from_ref(&ty), out);
            check_graph(&g, std::slice::from_ref(&x), 0.0, &format!("{} {d}", op.mnemonic()));
        }
        // Pad with a scalar, concat with itself.
        let v = random_tensor(&mut rng, &Type::scalar(d));
        let g = op_graph(Op::Pad { lo: vec![1, 0, 2], hi: vec![0, 1, 1] }, &[ty.clone(), Type::scalar(d)], Type::new(d, vec![3, 4, 7]));
        check_graph(&g, &[x.clone(), v], 0.0, &format!("pad {d}"));
        let g = op_graph(Op::Concat { axis: 1 }, &[ty.clone(), ty.clone()], Type::new(d, vec![2, 6, 4]));
        check_graph(&g, &[x.clone(), x.clone()], 0.0, &format!("concat {d}"));
        if d != DType::Bool {
            let g = op_graph(Op::Iota { axis: 1 }, &[], Type::new(d, vec![2, 300]));
            check_graph(&g, &[], 0.0, &format!("iota {d}"));
        }
    }
}

#[test]
fn gather_and_scatter_add() {
    let mut rng = Rng(29);
    for d in DType::ALL {
        let x = random_tensor(&mut rng, &Type::new(d, vec![3, 5]));
        for id in INTS {
            let idx = Tensor::new(vec![4], Data::from_i64(id, &[0, 4, if id == DType::U8 { 9 } else { -1 }, 2])).unwrap();
            let g = op_graph(Op::Gather { axis: 1 }, &[Type::new(d, vec![3, 5]), Type::new(id, vec![4])], Type::new(d, vec![3, 4]));
            check_graph(&g, &[x.clone(), idx.clone()], 0.0, &format!("gather {d} by {id}"));
            if d != DType::Bool {
                let upd = random_tensor(&mut rng, &Type::new(d, vec![3, 4]));
                let g = op_graph(Op::ScatterAdd { axis: 1 }, &[Type::new(id, vec![4]), Type::new(d, vec![3, 4])], Type::new(d, vec![3, 5]));
                check_graph(&g, &[idx, upd], 1e-12, &format!("scatter_add {d} by {id}"));
            }
        }
    }
}

#[test]
fn matmul_on_every_number_dtype() {
    let mut rng = Rng(31);
    for d in FLOATS.iter().chain(&INTS).copied() {
        for (a, b, out) in [
            (vec![5, 7], vec![7, 3], vec![5, 3]),
            (vec![2, 4, 9], vec![2, 9, 6], vec![2, 4, 6]),
            (vec![3, 0], vec![0, 2], vec![3, 2]),
            (vec![1, 64, 64], vec![1, 64, 80], vec![1, 64, 80]),
        ] {
            let (ta, tb) = (Type::new(d, a), Type::new(d, b));
            let g = op_graph(Op::MatMul, &[ta.clone(), tb.clone()], Type::new(d, out));
            let inputs = [random_tensor(&mut rng, &ta), random_tensor(&mut rng, &tb)];
            check_graph(&g, &inputs, 1e-4, &format!("matmul {d} {:?}", ta.shape));
        }
    }
}

#[test]
fn matmul_with_transposed_operands() {
    let mut rng = Rng(41);
    for d in FLOATS.iter().chain(&INTS).copied() {
        for (ta, tb) in [(true, false), (false, true), (true, true)] {
            let (m, k, n) = (5, 7, 3);
            let sa = if ta { vec![2, k, m] } else { vec![2, m, k] };
            let sb = if tb { vec![2, n, k] } else { vec![2, k, n] };
            let mut g = Graph::new("mm");
            let a = g.param(0, Type::new(d, sa.clone()));
            let b = g.param(1, Type::new(d, sb.clone()));
            let a2 = if ta { g.transpose(a, &[0, 2, 1]) } else { a };
            let b2 = if tb { g.transpose(b, &[0, 2, 1]) } else { b };
            let y = g.matmul(a2, b2);
            g.outputs.push(y);
            let inputs = [random_tensor(&mut rng, &Type::new(d, sa)), random_tensor(&mut rng, &Type::new(d, sb))];
            let p = tc_cpu::compile(&g).unwrap();
            assert_eq!(p.kernel_program().kernels.len(), 1, "no transpose copies:\n{}", p.kernels_text());
            check_graph(&g, &inputs, 1e-4, &format!("matmul {d} transposed {ta} {tb}"));
        }
    }
}

#[test]
fn conv_and_pools() {
    let mut rng = Rng(37);
    for d in FLOATS.iter().chain(&[DType::I32]).copied() {
        let tx = Type::new(d, vec![2, 3, 7, 6]);
        let tw = Type::new(d, vec![4, 3, 3, 2]);
        let x = random_tensor(&mut rng, &tx);
        let w = random_tensor(&mut rng, &tw);
        for (stride, pad, dil) in [([1, 1], [(0, 0), (0, 0)], [1, 1]), ([2, 1], [(1, 2), (0, 1)], [1, 2])] {
            let mut g = Graph::new("conv");
            let (px, pw) = (g.param(0, tx.clone()), g.param(1, tw.clone()));
            let y = g.conv2d(px, pw, stride, pad, dil);
            g.outputs.push(y);
            check_graph(&g, &[x.clone(), w.clone()], 1e-4, &format!("conv2d {d}"));
        }
        let kinds: &[PoolKind] = if d.is_float() { &[PoolKind::Max, PoolKind::Avg] } else { &[PoolKind::Max] };
        for &kind in kinds {
            let mut g = Graph::new("pool");
            let px = g.param(0, tx.clone());
            let y = g.pool(kind, px, [2, 2], [2, 1]);
            let dy = g.param(1, g.ty(y).clone());
            let gx = g.pool_grad(kind, px, dy, [2, 2], [2, 1]);
            g.outputs.extend([y, gx]);
            let dyv = random_tensor(&mut rng, &g.ty(dy).clone());
            if d.is_float() {
                check_graph(&g, &[x.clone(), dyv], 1e-12, &format!("pool {d}"));
            }
        }
    }
}

#[test]
fn random_numbers() {
    for d in FLOATS {
        for dist in [Dist::Uniform, Dist::Normal] {
            let g = op_graph(Op::Random(dist), &[Type::scalar(DType::I64)], Type::new(d, vec![3, 50]));
            check_graph(&g, &[Tensor::scalar(42i64)], 0.0, &format!("random {} {d}", dist.name()));
        }
    }
}

#[test]
fn wrong_inputs_are_errors_not_panics() {
    let ty = Type::new(DType::F32, vec![3]);
    let g = op_graph(Op::Unary(UnaryOp::Neg), &[ty], Type::new(DType::F32, vec![3]));
    let p = tc_cpu::compile(&g).unwrap();
    assert!(matches!(p.run(&[]), Err(tc_cpu::CpuError::InputCount { expected: 1, got: 0 })));
    let bad = Tensor::from_f32(vec![4], vec![0.0; 4]).unwrap();
    assert!(matches!(p.run(&[bad]), Err(tc_cpu::CpuError::InputType { index: 0, .. })));
    let bad = Tensor::from_i32(vec![3], vec![0; 3]).unwrap();
    assert!(p.run(&[bad]).is_err());
    // An ill-typed graph is refused at compile time.
    let mut g = Graph::new("bad");
    let x = g.param(0, Type::new(DType::I32, vec![2]));
    let y = g.push(Op::Unary(UnaryOp::Exp), vec![x], Type::new(DType::I32, vec![2]));
    g.outputs.push(y);
    assert!(matches!(tc_cpu::compile(&g), Err(tc_cpu::CpuError::Verify(_))));
}

/// Compile `graph`, run it and the interpreter, and require identical outputs (NaN
/// matching NaN): the native library kernels round exactly where the interpreter does.
fn check_exact(graph: &Graph, inputs: &[Tensor], what: &str) {
    let want = tc_interp::run(graph, inputs).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let got = tc_cpu::compile(graph).unwrap().run(inputs).unwrap_or_else(|e| panic!("{what}: run: {e}"));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.shape(), w.shape(), "{what}");
        let (g, w) = (g.data().to_f64_vec(), w.data().to_f64_vec());
        for (k, (a, b)) in g.iter().zip(&w).enumerate() {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{what}: element {k}: cpu {a} vs interp {b}");
        }
    }
}

/// The native kernels (pool, pool_grad, pad, concat, gather, scatter_add, argreduce) on
/// inputs large enough to be split over threads, with ties, NaN and overlapping windows.
#[test]
fn native_library_kernels_equal_the_interpreter_on_large_inputs() {
    let mut rng = Rng(43);
    for d in [DType::F32, DType::F64] {
        // Integers in a small range give ties in every pooling window; a few NaN.
        let tx = Type::new(d, vec![4, 6, 30, 29]);
        let mut x = random_tensor(&mut rng, &tx).data().to_f64_vec();
        for (k, v) in x.iter_mut().enumerate() {
            *v = if k % 997 == 5 { f64::NAN } else { (*v * 3.0).round() };
        }
        let x = Tensor::new(tx.shape.clone(), Data::from_f64(d, &x)).unwrap();
        for kind in [PoolKind::Max, PoolKind::Avg] {
            for (size, stride) in [([2, 2], [2, 2]), ([3, 3], [1, 2]), ([3, 2], [2, 1])] {
                let mut g = Graph::new("pool");
                let px = g.param(0, tx.clone());
                let y = g.pool(kind, px, size, stride);
                let dy = g.param(1, g.ty(y).clone());
                let gx = g.pool_grad(kind, px, dy, size, stride);
                g.outputs.extend([y, gx]);
                let dyv = random_tensor(&mut rng, &g.ty(dy).clone());
                check_exact(&g, &[x.clone(), dyv], &format!("pool {kind:?} {size:?} {stride:?} {d}"));
            }
        }
        for axis in 0..4 {
            let mut out_shape = tx.shape.clone();
            out_shape.remove(axis);
            for op in [ArgOp::ArgMax, ArgOp::ArgMin] {
                let g = op_graph(Op::ArgReduce { op, axis }, std::slice::from_ref(&tx), Type::new(DType::I32, out_shape.clone()));
                check_exact(&g, std::slice::from_ref(&x), &format!("{op:?} axis {axis} {d}"));
            }
        }
        let idx = Tensor::new(vec![7], Data::I64(vec![3, -1, 0, 3, 29, -40, 3])).unwrap();
        let g = op_graph(Op::Gather { axis: 2 }, &[tx.clone(), Type::new(DType::I64, vec![7])], Type::new(d, vec![4, 6, 7, 29]));
        check_exact(&g, &[x.clone(), idx.clone()], &format!("gather {d}"));
        for axis in [0, 2] {
            let mut upd_shape = tx.shape.clone();
            upd_shape[axis] = 7;
            let upd = random_tensor(&mut rng, &Type::new(d, upd_shape.clone()));
            let g = op_graph(Op::ScatterAdd { axis }, &[Type::new(DType::I64, vec![7]), Type::new(d, upd_shape)], tx.clone());
            check_exact(&g, &[idx.clone(), upd], &format!("scatter_add axis {axis} {d}"));
        }
    }
    for d in DType::ALL {
        let ty = Type::new(d, vec![5, 40, 130]);
        let x = random_tensor(&mut rng, &ty);
        let v = random_tensor(&mut rng, &Type::scalar(d));
        let g = op_graph(Op::Pad { lo: vec![1, 0, 3], hi: vec![2, 5, 0] }, &[ty.clone(), Type::scalar(d)], Type::new(d, vec![8, 45, 133]));
        check_exact(&g, &[x.clone(), v], &format!("pad {d}"));
        let ty2 = Type::new(d, vec![5, 3, 130]);
        let x2 = random_tensor(&mut rng, &ty2);
        let g = op_graph(Op::Concat { axis: 1 }, &[ty.clone(), ty2.clone(), ty.clone()], Type::new(d, vec![5, 83, 130]));
        check_exact(&g, &[x.clone(), x2, x.clone()], &format!("concat {d}"));
    }
}
