//! Accuracy of the generated f32 math against f64 libm rounded to f32, on a dense sweep
//! of each function's interesting range (vector lanes and scalar tails both run). The
//! inline approximations must stay within a few ulp (`exp`, `log` 2; `sigmoid` 3; the
//! rational `tanh` 5); the functions computed through f64 (`erf`, `sin`, `cos`) round
//! the f64 result once, so they match the reference exactly. Run with `--nocapture` to see the measured maxima.

use tc_ir::{Graph, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

/// Distance in units in the last place between two finite f32 values (or equal specials).
fn ulps(a: f32, b: f32) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if !a.is_finite() || !b.is_finite() {
        return u64::MAX;
    }
    let ord = |x: f32| {
        let i = x.to_bits() as i32;
        if i < 0 {
            i32::MIN as i64 - i as i64
        } else {
            i as i64
        }
    };
    (ord(a) - ord(b)).unsigned_abs()
}

/// Maximum ulp error of the CPU's `op` on `xs`, and the worst input.
fn max_ulps(op: UnaryOp, xs: &[f32], reference: fn(f64) -> f64) -> (u64, f32) {
    let mut g = Graph::new("sweep");
    let x = g.param(0, Type::new(DType::F32, vec![xs.len()]));
    let y = g.unary(op, x);
    g.outputs.push(y);
    let program = tc_cpu::compile(&g).unwrap();
    let out = program.run(&[Tensor::from_f32(vec![xs.len()], xs.to_vec()).unwrap()]).unwrap();
    let got = out[0].as_f32().unwrap();
    let mut worst = (0, 0.0);
    for (&x, &y) in xs.iter().zip(got) {
        let want = reference(x as f64) as f32;
        let e = ulps(y, want);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

/// `n` points evenly spaced in `[lo, hi]`, plus a few extra (not a multiple of 4).
fn linear(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    (0..n + 3).map(|i| lo + (hi - lo) * (i as f32 / n as f32)).collect()
}

/// Every 97th positive f32 bit pattern: subnormals to the largest finite value.
fn positive_floats() -> Vec<f32> {
    (1..0x7f80_0000u32).step_by(97).map(f32::from_bits).collect()
}

fn sigmoid(x: f64) -> f64 {
    tc_interp::elementwise::sigmoid(x)
}

#[test]
fn polynomial_and_extern_math_accuracy() {
    let wide = linear(-100.0, 100.0, 400_000);
    type Case = (&'static str, UnaryOp, Vec<f32>, fn(f64) -> f64, u64);
    let cases: Vec<Case> = vec![
        ("exp", UnaryOp::Exp, linear(-104.0, 88.7, 1_000_000), f64::exp, 2),
        ("log", UnaryOp::Log, positive_floats(), f64::ln, 2),
        ("tanh", UnaryOp::Tanh, linear(-10.0, 10.0, 1_000_000), f64::tanh, 5),
        ("sigmoid", UnaryOp::Sigmoid, linear(-87.0, 30.0, 1_000_000), sigmoid, 3),
        ("erf", UnaryOp::Erf, linear(-6.0, 6.0, 400_000), tc_interp::elementwise::erf, 0),
        ("sin", UnaryOp::Sin, wide.clone(), f64::sin, 0),
        ("cos", UnaryOp::Cos, wide, f64::cos, 0),
    ];
    for (name, op, xs, reference, bound) in cases {
        let (err, at) = max_ulps(op, &xs, reference);
        println!("{name:8} max {err} ulp (at x = {at:e}) over {} points", xs.len());
        assert!(err <= bound, "{name}: {err} ulp at x = {at:e} (bound {bound})");
    }
}

#[test]
fn special_values() {
    let xs = [0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-45, -1e-45, 88.72, 89.0, -104.0, -200.0, 1e30, -1e30];
    for (op, reference) in [(UnaryOp::Exp, f64::exp as fn(f64) -> f64), (UnaryOp::Log, f64::ln), (UnaryOp::Tanh, f64::tanh), (UnaryOp::Sigmoid, sigmoid)] {
        let (err, at) = max_ulps(op, &xs, reference);
        assert!(err <= 4, "{}: {err} ulp at {at:e}", op.name());
    }
}

/// Where tanh rounds to ±1 in f32 it is exactly ±1, not the clamped rational's
/// ±0.99999976: `1 + tanh(-inf)` must be 0 (`nn::gelu(-inf)` is NaN, not -inf).
#[test]
fn tanh_saturates_exactly() {
    let xs = [9.02f32, 10.0, 30.0, 1e30, f32::INFINITY, -9.02, -10.0, -30.0, -1e30, f32::NEG_INFINITY];
    let (err, at) = max_ulps(UnaryOp::Tanh, &xs, f64::tanh);
    assert_eq!(err, 0, "tanh: {err} ulp at {at:e}");
}
