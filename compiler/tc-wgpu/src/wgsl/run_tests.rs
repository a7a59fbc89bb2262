//! The generated shaders run on this machine's adapter (Mesa's llvmpipe in CI) through
//! the crate's runtime, against the interpreter: every op on every dtype it accepts, on
//! inputs with the edge cases of `tc_ir::ops` (NaN, ±inf, ±0, subnormals, halfway
//! cases, integer extremes, zero divisors), plus row kernels and library calls of
//! several sizes. Ints, bools and exact ops must match bit for bit; floats within the
//! tolerances the module docs of `loops`, `gemm`, `calls` and `math` state.

use super::tests::{graph_of, op_graph, t};
use crate::compile;
use tc_ir::{ArgOp, BinaryOp, Dist, Graph, Op, PoolKind, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Data, Tensor};

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Float edge values, then a spread of ordinary ones.
fn float_values(n: usize, seed: u64) -> Vec<f64> {
    let mut v = vec![0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-40, -3e-39, 1e-8, 100.0, -100.0, 65504.0, 3.0e38, 7.0, -0.75, 0.1];
    let mut rng = Rng(seed | 1);
    while v.len() < n {
        v.push(rng.uniform(-10.0, 10.0));
    }
    v.truncate(n);
    v
}

fn int_values(dtype: DType, n: usize, seed: u64) -> Vec<i64> {
    let (min, max) = if dtype == DType::U8 { (0, 255) } else { (i32::MIN as i64, i32::MAX as i64) };
    let mut v = vec![0, 1, max, min, 2, 3, 7, 100, max - 1, min + 1, 5];
    if dtype != DType::U8 {
        v.extend([-1, -2, -3, -7, -100]);
    }
    let mut rng = Rng(seed | 1);
    while v.len() < n {
        v.push((rng.next() % 200) as i64 - if dtype == DType::U8 { 0 } else { 100 });
    }
    v.truncate(n);
    v
}

/// Edge-case values of `ty` (the values rotate with `seed`).
fn edge_tensor(ty: &Type, seed: u64) -> Tensor {
    let n = ty.num_elements();
    let rot = |mut v: Vec<f64>| {
        if !v.is_empty() {
            let k = seed as usize % v.len();
            v.rotate_left(k);
        }
        v
    };
    let data = match ty.dtype {
        DType::Bool => Data::Bool((0..n as u64).map(|i| (i * 7 + seed).is_multiple_of(3)).collect()),
        d if d.is_float() => Data::from_f64(d, &rot(float_values(n, seed))),
        d => Data::from_i64(d, &rot(int_values(d, n, seed).into_iter().map(|x| x as f64).collect()).into_iter().map(|x| x as i64).collect::<Vec<_>>()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Ordinary values of `ty`: floats in [-3, 3), ints in [-20, 20) (u8 in [0, 40)).
fn random_tensor(ty: &Type, seed: u64) -> Tensor {
    let mut rng = Rng(seed | 1);
    let n = ty.num_elements();
    let data = match ty.dtype {
        DType::Bool => Data::Bool((0..n).map(|_| rng.next().is_multiple_of(2)).collect()),
        d if d.is_float() => Data::from_f64(d, &(0..n).map(|_| rng.uniform(-3.0, 3.0)).collect::<Vec<_>>()),
        DType::U8 => Data::U8((0..n).map(|_| (rng.next() % 40) as u8).collect()),
        d => Data::from_i64(d, &(0..n).map(|_| (rng.next() % 40) as i64 - 20).collect::<Vec<_>>()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Run `graph` on the GPU and the interpreter; ints and bools must agree exactly,
/// floats within `rtol` relative (of the larger magnitude) or `atol` absolute; NaN
/// matches NaN.
fn check(graph: &Graph, inputs: &[Tensor], rtol: f64, atol: f64, what: &str) {
    let want = tc_interp::run(graph, inputs).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let program = compile(graph).unwrap_or_else(|e| panic!("{what}: compile: {e}"));
    let got = program.run(inputs).unwrap_or_else(|e| panic!("{what}: run: {e}"));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.dtype(), w.dtype(), "{what}");
        assert_eq!(g.shape(), w.shape(), "{what}");
        if !w.dtype().is_float() {
            assert_eq!(g.data(), w.data(), "{what}: inputs {inputs:?}");
            continue;
        }
        let (gv, wv) = (g.data().to_f64_vec(), w.data().to_f64_vec());
        for (k, (&a, &b)) in gv.iter().zip(&wv).enumerate() {
            let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * a.abs().max(b.abs());
            if !ok {
                let input: Vec<String> = inputs.iter().filter(|x| x.len() == wv.len()).map(|x| format!("{:?}", x.data().to_f64_vec()[k])).collect();
                panic!("{what}: element {k} (inputs {input:?}): gpu {a:e} vs interp {b:e}");
            }
        }
    }
}

/// Whether this machine's adapter offers f16.
fn has_f16() -> bool {
    crate::gpu().map(|g| g.features.shader_f16).unwrap_or(false)
}

fn float_dtypes() -> Vec<DType> {
    if has_f16() {
        vec![DType::F32, DType::F16]
    } else {
        vec![DType::F32]
    }
}

/// Relative tolerance of a few ulp.
fn rtol(d: DType) -> f64 {
    if d == DType::F16 {
        2e-3
    } else {
        4e-7
    }
}

#[test]
fn exact_unary_ops_and_transcendentals() {
    for op in UnaryOp::ALL {
        let mut dtypes = float_dtypes();
        match op {
            UnaryOp::Not => dtypes = vec![DType::Bool],
            o if !o.float_only() => dtypes.extend([DType::I32, DType::U8]),
            _ => {}
        }
        for d in dtypes {
            let ty = t(d, &[300]);
            let g = op_graph(Op::Unary(op), std::slice::from_ref(&ty), ty.clone());
            // Subnormal results may differ by one subnormal step.
            check(&g, &[edge_tensor(&ty, 3)], rtol(d) * 4.0, 1e-44, &format!("{} {d}", op.name()));
        }
    }
}

#[test]
fn binary_ops() {
    for op in BinaryOp::ALL {
        let mut dtypes = float_dtypes();
        match op {
            BinaryOp::And | BinaryOp::Or => dtypes = vec![DType::Bool],
            BinaryOp::Pow => {}
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => dtypes.extend([DType::I32, DType::U8]),
            _ => dtypes.extend([DType::I32, DType::U8, DType::Bool]),
        }
        for d in dtypes {
            let ty = t(d, &[500]);
            let g = op_graph(Op::Binary(op), &[ty.clone(), ty.clone()], t(op.result_dtype(d), &[500]));
            // pow is exp(b log a): its error grows with |b ln a|.
            let r = if op == BinaryOp::Pow { 1e-5 } else { rtol(d) };
            for (sa, sb) in [(1, 2), (5, 5), (7, 11)] {
                check(&g, &[edge_tensor(&ty, sa), edge_tensor(&ty, sb)], r, 1e-44, &format!("{} {d}", op.name()));
            }
        }
    }
}

#[test]
fn casts() {
    let mut dtypes = float_dtypes();
    dtypes.extend([DType::I32, DType::U8, DType::Bool]);
    for &from in &dtypes {
        for &to in &dtypes {
            let g = op_graph(Op::Cast, &[t(from, &[64])], t(to, &[64]));
            check(&g, &[edge_tensor(&t(from, &[64]), 1)], 0.0, 0.0, &format!("cast {from} -> {to}"));
        }
    }
}

#[test]
fn reductions() {
    let mut dtypes = float_dtypes();
    dtypes.extend([DType::I32, DType::U8, DType::Bool]);
    for d in dtypes {
        for op in [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min] {
            for (shape, axes) in [(vec![300, 7], vec![1]), (vec![3, 1000], vec![1]), (vec![10, 20, 30], vec![0, 2]), (vec![5000], vec![0]), (vec![4, 0], vec![1])] {
                let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).map(|a| shape[a]).collect();
                let g = op_graph(Op::Reduce { op, axes: axes.clone() }, &[t(d, &shape)], t(d, &kept));
                // Products of many ordinary values overflow; use values near 1 for them.
                let x = random_tensor(&t(d, &shape), 9);
                let x = if op == ReduceOp::Prod && d.is_float() { Tensor::new(shape.clone(), Data::from_f64(d, &x.data().to_f64_vec().iter().map(|v| 1.0 + v / 3000.0).collect::<Vec<_>>())).unwrap() } else { x };
                let r = if op == ReduceOp::Sum || op == ReduceOp::Prod { 1e-4 } else { 0.0 };
                check(&g, &[x], if d == DType::F16 { 4e-3 } else { r }, 1e-3, &format!("{} {d} {shape:?} over {axes:?}", op.name()));
                if d.is_float() && op != ReduceOp::Prod {
                    check(&g, &[edge_tensor(&t(d, &shape), 4)], 1e-4, 1e-3, &format!("{} {d} {shape:?} edge values", op.name()));
                }
            }
        }
    }
}

#[test]
fn products_and_convolutions() {
    let mut dtypes = float_dtypes();
    dtypes.extend([DType::I32, DType::U8]);
    for d in dtypes {
        let r = if d == DType::F16 { 4e-3 } else { 1e-5 };
        for (a, b, out) in [(vec![5, 7], vec![7, 3], vec![5, 3]), (vec![2, 3, 70, 65], vec![2, 3, 65, 130], vec![2, 3, 70, 130]), (vec![1, 0], vec![0, 4], vec![1, 4])] {
            let g = op_graph(Op::MatMul, &[t(d, &a), t(d, &b)], t(d, &out));
            check(&g, &[random_tensor(&t(d, &a), 1), random_tensor(&t(d, &b), 2)], r, 1e-4, &format!("matmul {d} {a:?} {b:?}"));
        }
        let op = Op::Conv2d { stride: [2, 1], pad: [(1, 2), (0, 1)], dilation: [1, 2] };
        let (xt, wt) = (t(d, &[2, 3, 9, 8]), t(d, &[4, 3, 3, 3]));
        let g = op_graph(op, &[xt.clone(), wt.clone()], t(d, &[2, 4, 5, 5]));
        check(&g, &[random_tensor(&xt, 3), random_tensor(&wt, 4)], r, 1e-4, &format!("conv2d {d}"));
    }
    // Operands read transposed, in place.
    let mut g = Graph::new("mt");
    let a = g.param(0, t(DType::F32, &[3, 100, 70]));
    let b = g.param(1, t(DType::F32, &[3, 90, 100]));
    let at = g.transpose(a, &[0, 2, 1]);
    let bt = g.transpose(b, &[0, 2, 1]);
    let c = g.matmul(at, bt);
    g.outputs.push(c);
    check(&g, &[random_tensor(&t(DType::F32, &[3, 100, 70]), 5), random_tensor(&t(DType::F32, &[3, 90, 100]), 6)], 1e-5, 1e-4, "matmul transposed");
}

#[test]
fn pooling_gathers_and_layout_calls() {
    let mut dtypes = float_dtypes();
    dtypes.extend([DType::I32, DType::U8]);
    for d in dtypes.iter().copied().chain([DType::Bool]) {
        let number = d != DType::Bool;
        let (size, stride) = ([3, 2], [2, 1]);
        let (x, y) = (t(d, &[2, 3, 7, 5]), t(d, &[2, 3, 3, 4]));
        for kind in [PoolKind::Max, PoolKind::Avg] {
            if !number || (kind == PoolKind::Avg && !d.is_float()) {
                continue;
            }
            check(&op_graph(Op::Pool { kind, size, stride }, std::slice::from_ref(&x), y.clone()), &[edge_tensor(&x, 2)], 1e-6, 1e-6, &format!("pool {d}"));
            if d.is_float() {
                // Ties in windows: small integers.
                let xi = Tensor::new(x.shape.clone(), Data::from_f64(d, &(0..x.num_elements()).map(|i| ((i * 7) % 5) as f64).collect::<Vec<_>>())).unwrap();
                let g = op_graph(Op::PoolGrad { kind, size, stride }, &[x.clone(), y.clone()], x.clone());
                let r = if d == DType::F16 { 2e-3 } else { 1e-5 };
                check(&g, &[xi, random_tensor(&y, 3)], r, 1e-5, &format!("pool_grad {d}"));
                check(&g, &[edge_tensor(&x, 5), random_tensor(&y, 3)], r, 1e-5, &format!("pool_grad {d} edge"));
            }
        }
        for idx in [DType::I32, DType::U8] {
            let it = t(idx, &[2, 4]);
            let iv = Tensor::new(vec![2, 4], Data::from_i64(idx, &[0i64, 4, 250, -1, 2, -7, 9, 1].map(|v| if idx == DType::U8 { v.rem_euclid(256) } else { v }))).unwrap();
            let g = op_graph(Op::Gather { axis: 1 }, &[t(d, &[3, 5, 2]), it.clone()], t(d, &[3, 2, 4, 2]));
            check(&g, &[edge_tensor(&t(d, &[3, 5, 2]), 1), iv.clone()], 0.0, 0.0, &format!("gather {d} by {idx}"));
            if number {
                let g = op_graph(Op::ScatterAdd { axis: 1 }, &[it.clone(), t(d, &[3, 2, 4, 2])], t(d, &[3, 5, 2]));
                check(&g, &[iv, random_tensor(&t(d, &[3, 2, 4, 2]), 4)], 1e-5, 1e-5, &format!("scatter_add {d} by {idx}"));
            }
        }
        let g = op_graph(Op::Pad { lo: vec![1, 0], hi: vec![2, 3] }, &[t(d, &[2, 3]), t(d, &[])], t(d, &[5, 6]));
        check(&g, &[edge_tensor(&t(d, &[2, 3]), 1), edge_tensor(&t(d, &[]), 2)], 0.0, 0.0, &format!("pad {d}"));
        let g = op_graph(Op::Concat { axis: 1 }, &[t(d, &[2, 3]), t(d, &[2, 0]), t(d, &[2, 1])], t(d, &[2, 4]));
        check(&g, &[edge_tensor(&t(d, &[2, 3]), 1), edge_tensor(&t(d, &[2, 0]), 1), edge_tensor(&t(d, &[2, 1]), 3)], 0.0, 0.0, &format!("concat {d}"));
        for op in [ArgOp::ArgMax, ArgOp::ArgMin] {
            let g = op_graph(Op::ArgReduce { op, axis: 1 }, &[t(d, &[4, 6, 3])], t(DType::I32, &[4, 3]));
            for seed in [1, 2, 3] {
                check(&g, &[edge_tensor(&t(d, &[4, 6, 3]), seed)], 0.0, 0.0, &format!("{} {d}", op.name()));
            }
        }
    }
}

#[test]
fn random_numbers_match_the_interpreter() {
    for d in float_dtypes() {
        for dist in [Dist::Uniform, Dist::Normal] {
            for seed in [0i64, 42, -3, 1 << 40] {
                let mut g = Graph::new("r");
                let s = g.constant(Tensor::new(vec![], Data::I64(vec![seed])).unwrap());
                let r = g.random(dist, s, t(d, &[2000]));
                g.outputs.push(r);
                let (rt, at) = if dist == Dist::Uniform { (0.0, 0.0) } else { (2e-6, 2e-6) };
                check(&g, &[], if d == DType::F16 { 1e-3 } else { rt }, at, &format!("{} {d} seed {seed}", dist.name()));
            }
            let g = op_graph(Op::Random(dist), &[t(DType::I32, &[])], t(d, &[300]));
            check(&g, &[Tensor::new(vec![], Data::I32(vec![-5])).unwrap()], 2e-6, 2e-6, &format!("{} {d} runtime seed", dist.name()));
        }
    }
}

#[test]
fn fused_programs_and_row_kernels() {
    let src = "use nn;
fn main(x, g, b, labels) {
    let m = x - mean(x, axis=0, keepdims=true);
    (nn::softmax(x), nn::layernorm(x, g, b), nn::log_softmax(x), nn::cross_entropy(x, labels), sum(m * m), nn::gelu(x) * sigmoid(x), argmax(x, axis=-1))
}";
    for [rows, cols] in [[33, 10], [5, 700], [2, 3000]] {
        let types = [t(DType::F32, &[rows, cols]), t(DType::F32, &[cols]), t(DType::F32, &[cols]), t(DType::I32, &[rows])];
        let g = graph_of(src, "main", &types.iter().cloned().map(Some).collect::<Vec<_>>()).unwrap();
        let labels = Tensor::new(vec![rows], Data::I32((0..rows).map(|i| ((i * 7) % cols) as i32).collect())).unwrap();
        let inputs = [random_tensor(&types[0], 1), random_tensor(&types[1], 2), random_tensor(&types[2], 3), labels];
        check(&g, &inputs, 1e-4, 1e-4, &format!("nn programs on [{rows}, {cols}]"));
    }
}

#[test]
fn a_domain_beyond_one_grid_row() {
    let n = 65535 * 256 + 1000;
    let ty = t(DType::F32, &[n]);
    let g = op_graph(Op::Unary(UnaryOp::Neg), std::slice::from_ref(&ty), ty.clone());
    let x = Tensor::new(vec![n], Data::F32((0..n).map(|i| i as f32).collect())).unwrap();
    check(&g, &[x], 0.0, 0.0, "neg over a 2D grid");
}

#[test]
fn vectorised_and_scalar_pointwise_kernels() {
    let src = "fn main(x, y, r, c) { (where(x > c, x * y + r, 0.5 - x), maximum(x, y) - c) }";
    let ints = "fn main(a, b, r) { (a * b + r, a > b, (a - r) % 7) }";
    // Inner extents 4, 8 and 1024 vectorise; 1023 and 6 do not.
    for shape in [vec![4], vec![8], vec![1024], vec![1023], vec![3, 8], vec![5, 6], vec![2, 3, 4]] {
        let inner = *shape.last().unwrap();
        let mut col = shape.clone();
        *col.last_mut().unwrap() = 1;
        let (ty, row, col) = (t(DType::F32, &shape), t(DType::F32, &[inner]), t(DType::F32, &col));
        let types = [ty.clone(), ty.clone(), row.clone(), col.clone()];
        let g = graph_of(src, "main", &types.iter().cloned().map(Some).collect::<Vec<_>>()).unwrap();
        let inputs = [edge_tensor(&ty, 1), random_tensor(&ty, 2), random_tensor(&row, 3), random_tensor(&col, 4)];
        check(&g, &inputs, 0.0, 0.0, &format!("f32 broadcasts on {shape:?}"));
        for d in [DType::I32, DType::U8] {
            let (a, r) = (t(d, &shape), t(d, &[inner]));
            let g = graph_of(ints, "main", &[Some(a.clone()), Some(a.clone()), Some(r.clone())]).unwrap();
            check(&g, &[edge_tensor(&a, 5), random_tensor(&a, 6), random_tensor(&r, 7)], 0.0, 0.0, &format!("{d} on {shape:?}"));
        }
        let b = t(DType::Bool, &shape);
        let g = op_graph(Op::Binary(BinaryOp::Or), &[b.clone(), b.clone()], b.clone());
        check(&g, &[edge_tensor(&b, 1), random_tensor(&b, 2)], 0.0, 0.0, &format!("bool on {shape:?}"));
    }
    // In place: a product biased and activated in its own memory; a softmax's output
    // divided in place; iota per lane.
    let src = "use nn;\nfn main(a, b, c) { (nn::relu(a @ b + c), nn::softmax(a) * 2.0, a + arange(16) as f32) }";
    let types = [t(DType::F32, &[8, 16]), t(DType::F32, &[16, 16]), t(DType::F32, &[16])];
    let g = graph_of(src, "main", &types.iter().cloned().map(Some).collect::<Vec<_>>()).unwrap();
    let inputs: Vec<Tensor> = types.iter().enumerate().map(|(i, ty)| random_tensor(ty, i as u64 + 1)).collect();
    check(&g, &inputs, 1e-5, 1e-5, "in-place chains");
}

/// The repository's program cases on ordinary random inputs of their argument types.
#[test]
fn program_cases_run() {
    for (path, g) in super::tests::case_graphs() {
        let inputs: Vec<Tensor> = g.param_types().iter().enumerate().map(|(i, ty)| random_tensor(ty, i as u64 + 1)).collect();
        check(&g, &inputs, 1e-4, 1e-4, &path);
    }
}
