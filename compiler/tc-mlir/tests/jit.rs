//! `--backend mlir` against the interpreter: programs through the whole MLIR pipeline.
#![cfg(feature = "jit")]

mod common;
use common::{close, graph_of, t, values};
use tc_ir::{BinaryOp, Graph, Op, Type, UnaryOp};
use tc_mlir::tiles::{TileOptions, TileUnit};
use tc_tensor::{DType, Tensor};

fn check(src: &str, types: &[Type]) {
    let inputs: Vec<_> = types.iter().enumerate().map(|(i, ty)| values(ty, i as u64 + 1)).collect();
    check_on(src, &inputs);
}

fn check_on(src: &str, inputs: &[Tensor]) {
    let types: Vec<Type> = inputs.iter().map(|x| Type::new(x.dtype(), x.shape().to_vec())).collect();
    let g = graph_of(src, "main", &types);
    let want = tc_interp::run(&g, inputs).unwrap();
    let p = tc_mlir::jit::compile(&g).unwrap_or_else(|e| panic!("{e}\n{}", tc_mlir::entry::jit_module(&tc_mlir::kernel_program(&g).unwrap(), None).unwrap()));
    let got = p.run(inputs).unwrap();
    assert_eq!(got.len(), want.len());
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        close(a, b, 1e-6, 1e-6).unwrap_or_else(|e| panic!("output {i}: {e}\n{}", p.mlir()));
    }
}

#[test]
fn elementwise_and_softmax() {
    check("fn main(x: f32[4, 6], y: f32[6]) -> f32[4, 6] { exp(x) * y + tanh(x) }", &[t(DType::F32, &[4, 6]), t(DType::F32, &[6])]);
    check("use nn;\nfn main(x: f32[5, 7]) -> f32[5, 7] { nn::softmax(x, 1) }", &[t(DType::F32, &[5, 7])]);
}

const F32: DType = DType::F32;

#[test]
fn reductions_and_argreduce() {
    let m = t(F32, &[5, 7]);
    check("fn main(m) { (sum(m), sum(m, axis=0), mean(m, axis=-1, keepdims=true), max(m, axis=1), min(m, axis=0), prod(m, axis=1)) }", std::slice::from_ref(&m));
    check("fn main(m) { (argmax(m, axis=1), argmin(m, axis=0)) }", &[m]);
    check("fn main(m) { (sum(m, axis=1), max(m), argmax(m, axis=0)) }", &[t(DType::I32, &[4, 6])]);
}

#[test]
fn matmuls() {
    check("fn main(a, b) { a @ b }", &[t(F32, &[3, 5]), t(F32, &[5, 4])]);
    check("fn main(a, b) { a @ b }", &[t(F32, &[2, 3, 5]), t(F32, &[2, 5, 4])]);
    check("fn main(a, b) { a.T @ b.T }", &[t(F32, &[5, 3]), t(F32, &[4, 5])]);
    check("fn main(a, b) { a @ b }", &[t(DType::I32, &[3, 5]), t(DType::I32, &[5, 4])]);
    check("fn main(x) { let y = sum(x @ x.T); grad(y, x) }", &[t(F32, &[4, 3])]);
}

#[test]
fn layout_ops() {
    let m = t(F32, &[4, 6]);
    check("fn main(m) { (reshape(m, (3, -1)), transpose(m, (1, 0)), m.T) }", std::slice::from_ref(&m));
    check("fn main(m) { (m[1:3, :], m[0], m[-1, 2:]) }", std::slice::from_ref(&m));
    check("fn main(a, b) { (concat((a, b), 0), stack((a, b), 1)) }", &[m.clone(), m.clone()]);
    check("fn main(m) { pad(m, ((1, 2), (0, 3)), value=1.5) }", std::slice::from_ref(&m));
    check("fn main(m, i) { (take(m, i, axis=0), take(m, i, axis=1)) }", &[m.clone(), t(DType::I32, &[3])]);
    check("fn main(m, i) { grad(sum(take(m, i, axis=1) * 2.0), m) }", &[m, t(DType::I32, &[5])]);
}

#[test]
fn convolution_and_pooling() {
    let x = t(F32, &[2, 3, 8, 8]);
    check("fn main(x, w) { conv2d(x, w, stride=1, padding=1) }", &[x.clone(), t(F32, &[4, 3, 3, 3])]);
    check("fn main(x, w) { conv2d(x, w, stride=2, padding=0) }", &[x.clone(), t(F32, &[2, 3, 3, 3])]);
    check("fn main(x) { (max_pool2d(x, 2), avg_pool2d(x, 2), max_pool2d(x, 3, stride=2)) }", std::slice::from_ref(&x));
    check("fn main(x) { (grad(sum(max_pool2d(x, 2) * 3.0), x), grad(sum(avg_pool2d(x, 3, stride=2)), x)) }", std::slice::from_ref(&x));
    check("fn main(x, w) { grad(sum(conv2d(x, w, stride=1, padding=1)), w) }", &[x, t(F32, &[4, 3, 3, 3])]);
}

#[test]
fn ints_bools_casts_random() {
    let i = t(DType::I32, &[3, 8]);
    check("fn main(a, b) { (a % b, a * b - a, maximum(a, b), a < b, -a, abs(a)) }", &[i.clone(), i.clone()]);
    check("fn main(x) { (x as i32, (x as i32) % 3, x as u8, x > 0.0, (x > 0.0) as f32) }", &[t(F32, &[10])]);
    check("fn main(x) { (x as f32, x + x, x % (x + 1)) }", &[t(DType::U8, &[10])]);
    check("fn main(x) { (x * 2.0 + 1.0, exp(x), x as f32) }", &[t(DType::F16, &[9])]);
    check("fn main(x) { (random_uniform(7, (3, 4)), random_normal(11, (5,)) + x) }", &[t(F32, &[5])]);
    check("fn main(x) { (floor(x), ceil(x), round(x * 2.0), sign(x), x % 1.5, x ** 2.0, rsqrt(abs(x) + 1.0), erf(x), sigmoid(x)) }", &[t(F32, &[16])]);
}

#[test]
fn training_step() {
    let src = "use nn;\nfn main(w, b, x, y) { let l = nn::cross_entropy(nn::relu(x @ w + b), y); let (gw, gb) = grad(l, (w, b)); (l, w - 0.1 * gw, b - 0.1 * gb) }";
    let labels = Tensor::from_i32(vec![8], vec![0, 1, 2, 3, 3, 2, 1, 0]).unwrap();
    check_on(src, &[values(&t(F32, &[6, 4]), 1), values(&t(F32, &[4]), 2), values(&t(F32, &[8, 6]), 3), labels]);
}

#[test]
fn zero_size_tensors() {
    let i32t = |shape: &[usize]| t(DType::I32, shape);
    let cases: [(&str, Vec<Type>); 11] = [
        ("fn main(x) { (expand_dims(x, 0), reshape(x, (0, 5)), stack((x,), 0), stack((x, x), 1), concat((x, ones((3,)), x), 0)) }", vec![t(F32, &[0])]),
        ("fn main(x) { (exp(x) * 2.0 + 1.0, sum(x), prod(x), max(x), min(x), mean(x), x @ x) }", vec![t(F32, &[0])]),
        ("fn main(x) { (reshape(x, (0, 12)), transpose(x, (2, 1, 0)), x[:, 1], sum(x, axis=2)) }", vec![t(F32, &[0, 3, 4])]),
        ("fn main(x) { (sum(x, axis=0), max(x, axis=0), min(x, axis=(0, 2)), mean(x, axis=0), prod(x, axis=0)) }", vec![t(F32, &[0, 3, 4])]),
        ("use nn;\nfn main(x, w) { (x @ w, grad(sum(x @ w), w), nn::softmax(x), nn::layernorm(x, w[:, 0], w[:, 1])) }", vec![t(F32, &[0, 3, 4]), t(F32, &[4, 2])]),
        ("fn main(a, b) { (a @ b, grad(sum(a @ b), a)) }", vec![t(F32, &[2, 0]), t(F32, &[0, 3])]),
        ("fn main(a, b) { a @ b }", vec![i32t(&[2, 0]), i32t(&[0, 3])]),
        ("fn main(x, k) { (conv2d(x, k), max_pool2d(x, 2), avg_pool2d(x, 2), grad(sum(conv2d(x, k, padding=1)), k)) }", vec![t(F32, &[0, 1, 4, 4]), t(F32, &[2, 1, 3, 3])]),
        ("fn main(x, k) { conv2d(x, k) }", vec![t(F32, &[1, 0, 4, 4]), t(F32, &[2, 0, 3, 3])]),
        ("fn main(m, i) { (take(m, i), grad(sum(take(m, i)), m), one_hot(i, 4), take(m[:0], i, axis=1)) }", vec![t(F32, &[3, 4]), i32t(&[0])]),
        ("fn main(i, u) { (sum(i), prod(i), max(i), min(i), max(u, axis=1), min(u, axis=1), i % 3) }", vec![i32t(&[0]), t(DType::U8, &[2, 0])]),
    ];
    for (src, types) in cases {
        check(src, &types);
    }
}

#[test]
fn nan_propagates_through_relu_maximum_minimum_and_max_reductions() {
    let n = 37;
    // Row k has its NaN at column k; the last row has none.
    let values: Vec<f32> = (0..n * n).map(|i| if i / n == i % n && i / n + 1 < n { f32::NAN } else { (i % 11) as f32 - 5.0 }).collect();
    let r = Tensor::from_f32(vec![n, n], values).unwrap();
    let src = "use nn;\nfn main(r) { (max(r, axis=1), min(r, axis=1), max(r, axis=0), nn::relu(r), maximum(r, 0.5), minimum(0.5, r), nn::softmax(r), max_pool2d(reshape(r[:36, :36], (1, 1, 36, 36)), 2), argmax(r, axis=1), argmin(r, axis=0)) }";
    check_on(src, &[r]);
}

#[test]
fn run_time_indices_out_of_range_are_clamped() {
    let x = Tensor::from_f32(vec![4], vec![10.0, 11.0, 12.0, 13.0]).unwrap();
    let z = values(&t(F32, &[5, 4]), 3);
    let src = "use nn;\nfn main(x, i, z) { (take(x, i), take(stack((x, x), 0), i, axis=1), grad(sum(take(x, i) * [1.0, 2.0, 3.0, 4.0, 5.0]), x), one_hot(i, 4), nn::cross_entropy(z, i), grad(nn::cross_entropy(z, i), z)) }";
    let indices = [
        Tensor::from_i32(vec![5], vec![-1, -5, 4, 100, 1]).unwrap(),
        Tensor::new(vec![5], tc_tensor::Data::I64(vec![-1, i64::MIN, 4, i64::MAX, 1])).unwrap(),
        Tensor::new(vec![5], tc_tensor::Data::U8(vec![255, 0, 4, 3, 1])).unwrap(),
    ];
    for i in indices {
        check_on(src, &[x.clone(), i, z.clone()]);
    }
}

#[test]
fn integer_division_by_zero_is_zero() {
    let a = Tensor::from_i32(vec![5], vec![7, -7, 0, i32::MIN, i32::MIN]).unwrap();
    let b = Tensor::from_i32(vec![5], vec![0, 0, 0, -1, 0]).unwrap();
    check_on("fn main(a, b) { (a % b, floor_div(a, b)) }", &[a, b]);
}

/// Edge values of a dtype: zeros, ones, halves, infinities, NaN, subnormals, extremes.
fn edge(d: DType, n: usize, rot: usize) -> Tensor {
    let mut v: Vec<f64> = if d.is_float() {
        vec![0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-40, -3e-39, 1e-8, 100.0, -100.0, 65504.0, 3.0e38, 7.0, -0.75, 0.1, 1e300, -7.25]
    } else if d == DType::U8 {
        vec![0.0, 1.0, 255.0, 254.0, 2.0, 3.0, 7.0, 100.0, 128.0, 127.0]
    } else if d == DType::Bool {
        vec![0.0, 1.0, 1.0, 0.0, 1.0]
    } else {
        let (lo, hi) = if d == DType::I32 { (i32::MIN as f64, i32::MAX as f64) } else { (-9.0e15, 9.0e15) };
        vec![0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 7.0, -7.0, 100.0, -100.0, lo, hi, lo + 1.0, hi - 1.0]
    };
    let len = v.len();
    v.rotate_left(rot % len);
    let vals: Vec<f64> = (0..n).map(|i| v[i % v.len()]).collect();
    let data = match d {
        DType::Bool => tc_tensor::Data::Bool(vals.iter().map(|&x| x != 0.0).collect()),
        d if d.is_float() => tc_tensor::Data::from_f64(d, &vals),
        d => tc_tensor::Data::from_i64(d, &vals.iter().map(|&x| x as i64).collect::<Vec<_>>()),
    };
    Tensor::new(vec![n], data).unwrap()
}

fn op_graph(op: Op, types: &[Type], ty: Type) -> Graph {
    let mut g = Graph::new("op");
    let params: Vec<_> = types.iter().enumerate().map(|(i, t)| g.param(i, t.clone())).collect();
    let out = g.push(op, params, ty);
    g.outputs.push(out);
    tc_ir::verify::verify(&g).unwrap();
    g
}

fn check_graph(g: &Graph, inputs: &[Tensor], what: &str) {
    let want = tc_interp::run(g, inputs).unwrap();
    let p = tc_mlir::jit::compile(g).unwrap_or_else(|e| panic!("{what}: {e}"));
    let got = p.run(inputs).unwrap();
    for (a, b) in got.iter().zip(&want) {
        close(a, b, 1e-6, 0.0).unwrap_or_else(|e| panic!("{what}: {e}\ninputs {inputs:?}"));
    }
}

const ALL: [DType; 8] = [DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::U8, DType::Bool];

#[test]
fn every_unary_op_on_every_dtype_at_edge_values() {
    for op in UnaryOp::ALL {
        for d in ALL {
            let ok = match op {
                UnaryOp::Not => d == DType::Bool,
                o if o.float_only() => d.is_float(),
                _ => d != DType::Bool,
            };
            if ok {
                let ty = t(d, &[23]);
                check_graph(&op_graph(Op::Unary(op), std::slice::from_ref(&ty), ty.clone()), &[edge(d, 23, 0)], &format!("{} on {d}", op.name()));
            }
        }
    }
}

#[test]
fn every_binary_op_on_every_dtype_at_edge_values() {
    for op in BinaryOp::ALL {
        for d in ALL {
            let ok = if op.is_logical() { d == DType::Bool } else if op == BinaryOp::Pow { d.is_float() } else if op.is_comparison() || matches!(op, BinaryOp::Max | BinaryOp::Min) { true } else { d != DType::Bool };
            if !ok {
                continue;
            }
            // Every pair of edge values: x repeats each value, y cycles through them.
            let base = edge(d, 23, 0).data().to_f64_vec();
            let n = base.len();
            let xs: Vec<f64> = (0..n * n).map(|i| base[i / n]).collect();
            let ys: Vec<f64> = (0..n * n).map(|i| base[i % n]).collect();
            let mk = |v: &[f64]| {
                let data = match d {
                    DType::Bool => tc_tensor::Data::Bool(v.iter().map(|&x| x != 0.0).collect()),
                    d if d.is_float() => tc_tensor::Data::from_f64(d, v),
                    d => tc_tensor::Data::from_i64(d, &v.iter().map(|&x| x as i64).collect::<Vec<_>>()),
                };
                Tensor::new(vec![v.len()], data).unwrap()
            };
            let ty = t(d, &[n * n]);
            let out = t(op.result_dtype(d), &[n * n]);
            check_graph(&op_graph(Op::Binary(op), &[ty.clone(), ty], out), &[mk(&xs), mk(&ys)], &format!("{} on {d}", op.name()));
        }
    }
}

#[test]
fn every_cast_at_edge_values() {
    for from in ALL {
        for to in ALL {
            let x = edge(from, 23, 3);
            check_graph(&op_graph(Op::Cast, &[t(from, &[23])], t(to, &[23])), &[x], &format!("cast {from} to {to}"));
        }
    }
}

/// Tiled matmuls: `src` (whose matmuls go to the tiles) against the interpreter on
/// `reference` (the same program with the operands' rounding to bf16 written out).
fn check_tiled(unit: TileUnit, src: &str, reference: &str, types: &[Type], rtol: f64, atol: f64) {
    let inputs: Vec<_> = types.iter().enumerate().map(|(i, ty)| values(ty, i as u64 + 7)).collect();
    let want = tc_interp::run(&graph_of(reference, "main", types), &inputs).unwrap();
    let g = graph_of(src, "main", types);
    let opts = TileOptions { unit, f32_matmuls: true };
    let p = tc_mlir::jit::compile_with(&g, Some(opts)).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert!(p.mlir().contains(if unit == TileUnit::Amx { "amx.tile_mulf" } else { "memref.subview" }), "{src}: not tiled");
    let got = p.run(&inputs).unwrap();
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        close(a, b, rtol, atol).unwrap_or_else(|e| panic!("{src}, output {i}: {e}"));
    }
}

/// Every tiled shape: whole tiles, ragged edges in m, n and k, transposed operands,
/// batches, and more than one block and k-step.
fn tiled_cases(unit: TileUnit) {
    let bf = DType::BF16;
    for (a, b) in [([32, 32], [32, 32]), ([5, 7], [7, 3]), ([70, 65], [65, 33]), ([1, 100], [100, 1])] {
        let types = [t(F32, &a), t(F32, &b)];
        check_tiled(unit, "fn main(a, b) { a @ b }", "fn main(a, b) { (a as bf16 as f32) @ (b as bf16 as f32) }", &types, 1e-5, 1e-4);
        let types = [t(bf, &a), t(bf, &b)];
        // bf16 results: the tiles accumulate in f32 and round once more than the
        // interpreter's f64 sum, so they may differ by one bf16 step.
        check_tiled(unit, "fn main(a, b) { a @ b }", "fn main(a, b) { a @ b }", &types, 2.0f64.powi(-7), 1e-3);
    }
    let types = [t(F32, &[33, 17]), t(F32, &[40, 33])];
    check_tiled(unit, "fn main(a, b) { (a.T @ b.T, a.T @ a) }", "fn main(a, b) { let (x, y) = (a as bf16 as f32, b as bf16 as f32); (x.T @ y.T, x.T @ x) }", &types, 1e-5, 1e-4);
    let types = [t(F32, &[3, 20, 50]), t(F32, &[3, 50, 36])];
    check_tiled(unit, "fn main(a, b) { a @ b }", "fn main(a, b) { (a as bf16 as f32) @ (b as bf16 as f32) }", &types, 1e-5, 1e-4);
}

#[test]
fn tiled_matmuls_emulated_equal_the_interpreter() {
    tiled_cases(TileUnit::Emulated);
}

/// Row blocks run as tasks of MLIR's process-wide async runtime: programs compiled,
/// dropped and run from several threads at once all keep it.
#[test]
fn tiled_programs_share_the_async_runtime() {
    let types = [t(F32, &[200, 40]), t(F32, &[40, 64])];
    let inputs: Vec<_> = types.iter().enumerate().map(|(i, ty)| values(ty, i as u64 + 3)).collect();
    let want = tc_interp::run(&graph_of("fn main(a, b) { (a as bf16 as f32) @ (b as bf16 as f32) }", "main", &types), &inputs).unwrap();
    let g = graph_of("fn main(a, b) { a @ b }", "main", &types);
    let opts = Some(TileOptions { unit: TileUnit::Emulated, f32_matmuls: true });
    drop(tc_mlir::jit::compile_with(&g, opts).unwrap());
    let programs: Vec<_> = (0..2).map(|_| tc_mlir::jit::compile_with(&g, opts).unwrap()).collect();
    std::thread::scope(|s| {
        for p in &programs {
            for _ in 0..2 {
                s.spawn(|| close(&p.run(&inputs).unwrap()[0], &want[0], 1e-5, 1e-4).unwrap());
            }
        }
    });
}

/// On an AMX CPU the real tiles run the same cases; elsewhere asking for them is a
/// clear error naming what the CPU lacks.
#[test]
fn amx_runs_where_the_cpu_has_it_and_is_a_clear_error_elsewhere() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let has_amx = cpuinfo.lines().any(|l| l.starts_with("flags") && l.contains(" amx_tile") && l.contains(" amx_bf16"));
    if has_amx {
        tiled_cases(TileUnit::Amx);
        assert!(tc_mlir::jit::amx_peak_gflops(1000, 1).unwrap() > 0.0);
    } else {
        let e = tc_mlir::jit::amx_peak_gflops(1000, 1).unwrap_err().to_string();
        assert!(e.starts_with("AMX: this CPU (") && e.contains("has no AMX"), "{e}");
        let g = graph_of("fn main(a, b) { a @ b }", "main", &[t(F32, &[4, 4]), t(F32, &[4, 4])]);
        let e = tc_mlir::jit::compile_with(&g, Some(TileOptions { unit: TileUnit::Amx, f32_matmuls: true })).err().expect("no AMX here");
        let msg = e.to_string();
        assert!(msg.starts_with("AMX: this CPU (") && msg.contains("has no AMX: it lacks amx-tile"), "{msg}");
    }
}
