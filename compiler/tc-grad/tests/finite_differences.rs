//! `vjp` checked against central finite differences, in f64, on every differentiable
//! primitive and on random compositions of them.

use proptest::prelude::*;
use tc_ir::{BinaryOp, Graph, NodeId, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

/// Builds a scalar from the parameters of a graph.
type Build = dyn Fn(&mut Graph, &[NodeId]) -> NodeId;

fn sum_all(g: &mut Graph, x: NodeId) -> NodeId {
    let axes: Vec<usize> = (0..g.ty(x).rank()).collect();
    g.reduce(ReduceOp::Sum, x, &axes)
}

/// Deterministic inputs with distinct values (no ties), in `lo..hi`.
fn inputs(shapes: &[Vec<usize>], lo: f64, hi: f64, salt: u64) -> Vec<Tensor> {
    shapes
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let n: usize = s.iter().product();
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    let h = ((i as u64 + 1) * 2654435761 + (k as u64 + salt) * 40503) % 10007;
                    lo + (hi - lo) * (h as f64 + 0.5) / 10007.0
                })
                .collect();
            Tensor::from_f64_values(DType::F64, s.clone(), &v).unwrap()
        })
        .collect()
}

fn check(shapes: &[Vec<usize>], values: Vec<Tensor>, build: &Build) {
    let mut g = Graph::new("f");
    let params: Vec<NodeId> = shapes.iter().enumerate().map(|(i, s)| g.param(i, Type::new(DType::F64, s.clone()))).collect();
    let y = build(&mut g, &params);
    let grads = tc_grad::vjp(&mut g, y, &params).expect("differentiable");
    g.outputs = std::iter::once(y).chain(grads.iter().copied()).collect();
    let out = tc_interp::run(&g, &values).expect("runs");
    let h = 1e-6;
    for (p, grad) in out[1..].iter().enumerate() {
        let analytic = grad.data().to_f64_vec();
        let base = values[p].data().to_f64_vec();
        for i in 0..base.len() {
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[i] += delta;
                let mut vals = values.clone();
                vals[p] = Tensor::from_f64_values(DType::F64, shapes[p].clone(), &v).unwrap();
                tc_interp::run(&g, &vals).unwrap()[0].data().to_f64_vec()[0]
            };
            let numeric = (eval(h) - eval(-h)) / (2.0 * h);
            let tol = 1e-5 * (1.0 + numeric.abs());
            assert!((analytic[i] - numeric).abs() <= tol, "param {p} element {i}: analytic {} numeric {numeric}", analytic[i]);
        }
    }
}

fn check_unary(op: UnaryOp, lo: f64, hi: f64) {
    check(&[vec![2, 3]], inputs(&[vec![2, 3]], lo, hi, 1), &move |g, p| {
        let u = g.unary(op, p[0]);
        sum_all(g, u)
    });
}

#[test]
fn unary_ops_match_finite_differences() {
    for op in [UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Erf] {
        check_unary(op, -2.0, 2.0);
    }
    for op in [UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Rsqrt] {
        check_unary(op, 0.5, 3.0);
    }
}

#[test]
fn binary_ops_with_broadcast_match_finite_differences() {
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min, BinaryOp::Rem] {
        let shapes = [vec![2, 3], vec![3]];
        check(&shapes, inputs(&shapes, 0.5, 2.5, 7), &move |g, p| {
            let b = g.broadcast(p[1], &[2, 3]);
            let r = g.binary(op, p[0], b);
            let r = g.mul(r, r);
            sum_all(g, r)
        });
    }
}

#[test]
fn reductions_match_finite_differences() {
    for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod] {
        check(&[vec![3, 4]], inputs(&[vec![3, 4]], 0.5, 1.5, 3), &move |g, p| {
            let r = g.reduce(op, p[0], &[1]);
            let r = g.mul(r, r);
            sum_all(g, r)
        });
    }
}

#[test]
fn max_ties_share_the_gradient_equally() {
    let mut g = Graph::new("f");
    let x = g.param(0, Type::new(DType::F64, vec![4]));
    let m = g.reduce(ReduceOp::Max, x, &[0]);
    let d = tc_grad::vjp(&mut g, m, &[x]).unwrap();
    g.outputs = d;
    let x = Tensor::from_f64_values(DType::F64, vec![4], &[1.0, 3.0, 3.0, 2.0]).unwrap();
    let out = tc_interp::run(&g, &[x]).unwrap();
    assert_eq!(out[0].data().to_f64_vec(), vec![0.0, 0.5, 0.5, 0.0]);
}

/// The gradient of a product is the product of the other elements, zeros included
/// (JAX's convention; `out / x` would give NaN). A product is linear in each element, so
/// central differences are exact even at zero.
#[test]
fn product_gradients_with_zeros_are_the_products_of_the_others() {
    // Rows: no zero, one zero, two zeros, all zeros.
    let values = [2.0, 3.0, 4.0, 0.0, 2.0, 5.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0];
    let x = Tensor::from_f64_values(DType::F64, vec![4, 3], &values).unwrap();
    let mut g = Graph::new("f");
    let xp = g.param(0, Type::new(DType::F64, vec![4, 3]));
    let p = g.reduce(ReduceOp::Prod, xp, &[1]);
    let y = sum_all(&mut g, p);
    g.outputs = tc_grad::vjp(&mut g, y, &[xp]).unwrap();
    let out = tc_interp::run(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(out[0].data().to_f64_vec(), vec![12.0, 8.0, 6.0, 10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    check(&[vec![4, 3]], vec![x], &|g, p| {
        let q = g.reduce(ReduceOp::Prod, p[0], &[1]);
        sum_all(g, q)
    });
    let whole = Tensor::from_f64_values(DType::F64, vec![2, 2], &[0.0, 2.0, 3.0, 4.0]).unwrap();
    check(&[vec![2, 2]], vec![whole], &|g, p| g.reduce(ReduceOp::Prod, p[0], &[0, 1]));
}

#[test]
fn layout_ops_match_finite_differences() {
    let shapes = [vec![2, 3, 4]];
    let vals = inputs(&shapes, -1.0, 1.0, 11);
    let weights = |g: &mut Graph, x: NodeId| {
        // A weighted sum so that every element's gradient differs.
        let ty = g.ty(x).clone();
        let w = g.iota(ty.clone(), ty.rank() - 1);
        let w = g.binary_scalar(BinaryOp::Add, w, 1.5);
        let p = g.mul(x, w);
        let p = g.mul(p, x);
        sum_all(g, p)
    };
    check(&shapes, vals.clone(), &move |g, p| {
        let t = g.transpose(p[0], &[2, 0, 1]);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let t = g.reshape(p[0], &[6, 4]);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let t = g.slice(p[0], vec![0, 1, 1], vec![2, 3, 3]);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let z = g.scalar(DType::F64, 0.25);
        let t = g.pad(p[0], z, vec![1, 0, 2], vec![0, 1, 1]);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let t = g.reverse(p[0], vec![0, 2]);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let t = g.concat(vec![p[0], p[0]], 1);
        weights(g, t)
    });
    check(&shapes, vals.clone(), &move |g, p| {
        let idx = g.constant(Tensor::from_i32(vec![3], vec![2, 0, 2]).unwrap());
        let t = g.gather(p[0], idx, 1);
        weights(g, t)
    });
    check(&shapes, vals, &move |g, p| {
        let c = g.scalar(DType::F64, 0.0);
        let c = g.broadcast(c, &[2, 3, 4]);
        let cond = g.binary(BinaryOp::Gt, p[0], c);
        let s = g.unary(UnaryOp::Sin, p[0]);
        let t = g.select(cond, p[0], s);
        weights(g, t)
    });
}

#[test]
fn matmul_matches_finite_differences() {
    let shapes = [vec![2, 3, 4], vec![2, 4, 5]];
    check(&shapes, inputs(&shapes, -1.0, 1.0, 5), &|g, p| {
        let m = g.matmul(p[0], p[1]);
        let m = g.unary(UnaryOp::Tanh, m);
        sum_all(g, m)
    });
}

#[test]
fn conv2d_matches_finite_differences() {
    for (stride, pad, dilation) in [([1, 1], [(0, 0), (0, 0)], [1, 1]), ([2, 1], [(1, 1), (0, 2)], [1, 1]), ([2, 2], [(1, 0), (1, 1)], [2, 1])] {
        let shapes = [vec![2, 2, 6, 5], vec![3, 2, 2, 3]];
        check(&shapes, inputs(&shapes, -1.0, 1.0, 9), &move |g, p| {
            let c = g.conv2d(p[0], p[1], stride, pad, dilation);
            let c = g.unary(UnaryOp::Tanh, c);
            sum_all(g, c)
        });
    }
}

#[test]
fn pooling_matches_finite_differences() {
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for (size, stride) in [([2, 2], [2, 2]), ([3, 2], [1, 2])] {
            let shapes = [vec![1, 2, 5, 4]];
            check(&shapes, inputs(&shapes, -1.0, 1.0, 13), &move |g, p| {
                let c = g.pool(kind, p[0], size, stride);
                let c = g.mul(c, c);
                sum_all(g, c)
            });
        }
    }
}

#[test]
fn second_order_gradient_of_a_cube_is_six_x() {
    let mut g = Graph::new("f");
    let x = g.param(0, Type::new(DType::F64, vec![3]));
    let sq = g.mul(x, x);
    let cube = g.mul(sq, x);
    let y = sum_all(&mut g, cube);
    let d = tc_grad::vjp(&mut g, y, &[x]).unwrap()[0];
    let dy = sum_all(&mut g, d);
    let dd = tc_grad::vjp(&mut g, dy, &[x]).unwrap()[0];
    g.outputs = vec![d, dd];
    let xv = Tensor::from_f64_values(DType::F64, vec![3], &[1.0, -2.0, 0.5]).unwrap();
    let out = tc_interp::run(&g, &[xv]).unwrap();
    assert_eq!(out[0].data().to_f64_vec(), vec![3.0, 12.0, 0.75]);
    assert_eq!(out[1].data().to_f64_vec(), vec![6.0, -12.0, 3.0]);
}

#[test]
fn unrelated_parameter_gets_zeros() {
    let mut g = Graph::new("f");
    let x = g.param(0, Type::new(DType::F64, vec![2]));
    let z = g.param(1, Type::new(DType::F64, vec![3]));
    let y = sum_all(&mut g, x);
    let d = tc_grad::vjp(&mut g, y, &[z]).unwrap();
    g.outputs = d;
    let out = tc_interp::run(&g, &[Tensor::zeros(DType::F64, vec![2]), Tensor::zeros(DType::F64, vec![3])]).unwrap();
    assert_eq!(out[0].data().to_f64_vec(), vec![0.0; 3]);
}

/// One step of a random program over a [2, 3] value.
#[derive(Clone, Debug)]
enum Step {
    Unary(usize),
    MulParam,
    AddBroadcastRow,
    SumRowsAndBroadcast,
    MaxWithHalf,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![(0usize..6).prop_map(Step::Unary), Just(Step::MulParam), Just(Step::AddBroadcastRow), Just(Step::SumRowsAndBroadcast), Just(Step::MaxWithHalf)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_programs_match_finite_differences(steps in prop::collection::vec(step(), 1..6), salt in 0u64..1000) {
        let shapes = [vec![2, 3], vec![3]];
        let vals = inputs(&shapes, -1.0, 1.0, salt);
        let steps2 = steps.clone();
        check(&shapes, vals, &move |g, p| {
            let mut v = p[0];
            for s in &steps2 {
                v = match s {
                    Step::Unary(k) => g.unary([UnaryOp::Tanh, UnaryOp::Sin, UnaryOp::Sigmoid, UnaryOp::Exp, UnaryOp::Cos, UnaryOp::Erf][*k], v),
                    Step::MulParam => g.mul(v, p[0]),
                    Step::AddBroadcastRow => {
                        let b = g.broadcast(p[1], &[2, 3]);
                        g.add(v, b)
                    }
                    Step::SumRowsAndBroadcast => {
                        let s = g.reduce(ReduceOp::Sum, v, &[0]);
                        g.broadcast(s, &[2, 3])
                    }
                    Step::MaxWithHalf => {
                        let h = g.full(&Type::new(DType::F64, vec![2, 3]), 0.5);
                        g.binary(BinaryOp::Max, v, h)
                    }
                };
            }
            let v = g.unary(UnaryOp::Tanh, v);
            sum_all(g, v)
        });
    }
}
