//! Programs whose results hinge on NaN, infinities, signed zeros, rounding order and
//! out-of-range integers, run on this machine's adapter (Mesa's llvmpipe in CI) against
//! the interpreter, bit for bit: every result here is exact on the interpreter, so the
//! GPU must give the same bits (any NaN matches any NaN; -0 and +0 differ). Each
//! constant sits in the kernel as the driver's optimiser would see it, which is where a
//! driver that assumes no NaN, infinity or signed zero folds `x * 0.0` to 0.

use super::tests::{graph_of, t};
use crate::compile;
use tc_tensor::{Data, Tensor};

/// Float edge values: zeros, halfway cases, infinities, NaN, a subnormal, huge values.
const EDGES: [f32; 20] = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, -0.5, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-40, 3e38, 7.0, -7.5, 1e10, -3e9, 2147483648.0, -300.0];

fn same_bits(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Run `main(...)` of `src` on `args` on the GPU and the interpreter; every result
/// must have the same bits.
fn check(src: &str, args: &[Tensor]) {
    let types: Vec<_> = args.iter().map(|a| Some(t(a.dtype(), a.shape()))).collect();
    let g = graph_of(src, "main", &types).unwrap_or_else(|e| panic!("{src}: {e}"));
    let want = tc_interp::run(&g, args).unwrap_or_else(|e| panic!("{src}: interpreter: {e}"));
    let got = compile(&g).and_then(|p| p.run(args)).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert_eq!(got.len(), want.len(), "{src}");
    for (r, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!((g.dtype(), g.shape()), (w.dtype(), w.shape()), "{src}: result {r}");
        let (gv, wv) = (g.data().to_f64_vec(), w.data().to_f64_vec());
        let wrong: Vec<String> = gv.iter().zip(&wv).enumerate().filter(|(_, (a, b))| !same_bits(**a, **b)).map(|(k, (a, b))| format!("[{k}] gpu {a:?}, interpreter {b:?}")).collect();
        assert!(wrong.is_empty(), "{src}: result {r}: {}", wrong.join(", "));
    }
}

fn edges() -> Tensor {
    Tensor::new(vec![EDGES.len()], Data::F32(EDGES.to_vec())).unwrap()
}

/// `EDGES` rotated, so that each edge value meets several others.
fn edges_rotated(k: usize) -> Tensor {
    let mut v = EDGES.to_vec();
    v.rotate_left(k);
    Tensor::new(vec![v.len()], Data::F32(v)).unwrap()
}

/// Ordinary values in [-10, 10).
fn ordinary(n: usize, seed: u64) -> Tensor {
    let mut r = seed | 1;
    let v = (0..n)
        .map(|_| {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            ((r >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0) as f32
        })
        .collect();
    Tensor::new(vec![n], Data::F32(v)).unwrap()
}

#[test]
fn division_by_zero_gives_infinities_and_nan() {
    for body in ["x / 0.0", "x / -0.0", "0.0 / x", "1.0 / x", "x / x", "x / y", "mean(x[0:0])", "mean(x[3:3]) + x", "sum(x[0:0]) / 0.0"] {
        check(&format!("fn main(x, y) {{ {body} }}"), &[edges(), edges_rotated(3)]);
    }
}

#[test]
fn products_and_differences_with_nan_and_infinities() {
    for body in ["x * 0.0", "0.0 * x", "x * -0.0", "x - x", "x + -x", "x * y", "x - y", "(x - x) * 0.0", "floor_div(x, y)", "floor_div(x, 0.0)", "x % y"] {
        check(&format!("fn main(x, y) {{ {body} }}"), &[edges(), edges_rotated(5)]);
    }
}

#[test]
fn signed_zeros() {
    for body in ["x + 0.0", "x - 0.0", "0.0 - x", "-x", "x * -1.0", "sign(x)", "abs(x)", "floor(x)", "ceil(x)", "round(x)", "x % 2.0", "x % -2.0"] {
        check(&format!("fn main(x) {{ {body} }}"), &[edges()]);
    }
    // Transcendentals are a few ulp off elsewhere, exact at zero and at the infinities.
    let special = Tensor::new(vec![5], Data::F32(vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN])).unwrap();
    for body in ["sin(x)", "cos(x)", "tanh(x)", "erf(x)", "sqrt(x)", "rsqrt(x)", "exp(x)", "log(x)", "sigmoid(x)"] {
        check(&format!("fn main(x) {{ {body} }}"), std::slice::from_ref(&special));
    }
}

#[test]
fn maximum_minimum_and_comparisons_with_nan() {
    let bodies = [
        "maximum(x, y)", "minimum(x, y)", "maximum(x, 0.0)", "minimum(0.0, x)", "nn::relu(x)", "max(x)", "min(x)", "x == x", "x != x", "x < y", "x <= y",
        "x > y", "x >= y", "x == y", "x != y", "!(x < y)", "where(x > 0.0, x, 0.0)",
    ];
    for body in bodies {
        check(&format!("use nn;\nfn main(x, y) {{ {body} }}"), &[edges(), edges_rotated(7)]);
    }
}

#[test]
fn each_operation_rounds_once_in_program_order() {
    // A driver may not reassociate, distribute or fuse: the interpreter rounds each op.
    let bodies = ["(x + 1.0) + 2.0", "x * 3.0 * 5.0", "x * y + x * 3.0", "x + y - x", "x / 3.0", "(x * 3.0) / 3.0", "x * y + y", "x * 0.1 + 0.2"];
    for body in bodies {
        check(&format!("fn main(x, y) {{ {body} }}"), &[ordinary(4000, 1), ordinary(4000, 2)]);
    }
}

#[test]
fn casts_saturate_and_integers_wrap() {
    for body in ["x as i32", "x as u8", "x as bool", "(x as i32) as f32"] {
        check(&format!("fn main(x) {{ {body} }}"), &[edges()]);
    }
    let i = Tensor::new(vec![8], Data::I32(vec![0, 5, -5, 7, -7, i32::MIN, i32::MAX, 1])).unwrap();
    let j = Tensor::new(vec![8], Data::I32(vec![0, 0, 3, -3, 2, -1, -1, 0])).unwrap();
    for body in ["i % 0", "i % j", "floor_div(i, j)", "floor_div(i, 0)", "-i", "abs(i)", "i * i", "i + i", "i * 7 - 1", "sign(i)", "i as f32", "i as u8", "take(j, i)", "one_hot(i, 6)"] {
        check(&format!("fn main(i, j) {{ {body} }}"), &[i.clone(), j.clone()]);
    }
}

#[test]
fn products_and_padding_with_infinities() {
    // Small integers sum exactly in any order; an infinite weight meets the zero padding
    // (0 × inf is NaN on the interpreter) and infinite inputs meet zero weights.
    let x = Tensor::new(vec![1, 1, 3, 3], Data::F32(vec![1.0, 2.0, 0.0, -1.0, f32::INFINITY, 3.0, 2.0, 0.0, 1.0])).unwrap();
    let w = Tensor::new(vec![2, 1, 2, 2], Data::F32(vec![f32::INFINITY, 1.0, 0.0, 2.0, 1.0, -1.0, 0.0, 0.0])).unwrap();
    check("fn main(x, w) { conv2d(x, w, padding=1) }", &[x, w]);
    let a = Tensor::new(vec![2, 3], Data::F32(vec![f32::INFINITY, 0.0, 1.0, -0.0, 2.0, f32::NAN])).unwrap();
    let b = Tensor::new(vec![3, 2], Data::F32(vec![0.0, 1.0, 1.0, -0.0, 2.0, 0.0])).unwrap();
    check("fn main(a, b) { a @ b }", &[a, b]);
}

#[test]
fn long_loops_run_to_the_end() {
    // Mesa's llvmpipe ends an invocation's loops after 65,535 iterations in all: a
    // product along 70,000 and a scatter of 70,000 indices must still see every term.
    let n = 70_000;
    let a = Tensor::new(vec![1, n], Data::F32(vec![1.0; n])).unwrap();
    let b = Tensor::new(vec![n, 1], Data::F32((0..n).map(|i| (i % 3) as f32).collect())).unwrap();
    check("fn main(a, b) { a @ b }", &[a, b]);
    let idx = Tensor::new(vec![n], Data::I32((0..n as i32).map(|i| i % 5 - 1).collect())).unwrap();
    let upd = Tensor::new(vec![n], Data::F32((0..n).map(|i| (i % 7) as f32).collect())).unwrap();
    // The gradient of `take` is a scatter-add of `u` (index -1 lands on the last element).
    let x = Tensor::new(vec![4], Data::F32(vec![0.0; 4])).unwrap();
    check("fn main(idx, u, x) { grad(sum(take(x, idx) * u), x) }", &[idx, upd, x]);
}

#[test]
fn reductions_of_rows_beyond_the_loop_limit() {
    // 256 invocations striding over 17.9 million points loop 70,000 times each.
    let n = 256 * 70_000;
    let x = Tensor::new(vec![n], Data::F32((0..n).map(|i| (i % 2) as f32).collect())).unwrap();
    check("fn main(x) { (sum(x), max(x - 1.0)) }", &[x]);
}

#[test]
fn integer_products_along_long_axes() {
    let n = 70_000;
    let a = Tensor::new(vec![1, n], Data::I32(vec![1; n])).unwrap();
    let b = Tensor::new(vec![n, 2], Data::I32((0..2 * n as i32).map(|i| i % 3 - 1).collect())).unwrap();
    check("fn main(a, b) { a @ b }", &[a, b]);
}

#[test]
fn average_pooling_of_negative_zeros() {
    // The interpreter's window sum starts at +0, so a window of -0 averages to +0.
    let x = Tensor::new(vec![1, 1, 2, 4], Data::F32(vec![-0.0, -0.0, 1.0, -0.0, -0.0, -0.0, 2.0, f32::INFINITY])).unwrap();
    check("fn main(x) { avg_pool2d(x, 2) }", &[x]);
}
