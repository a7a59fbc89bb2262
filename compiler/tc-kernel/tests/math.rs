//! Accuracy of the shared f32 transcendentals (`tc_kernel::math`), evaluated in Rust,
//! against f64 libm rounded to f32: a dense sweep of each function's interesting range,
//! with and without fused multiply-adds, within a bound in ulp per function (2 for
//! `exp`, `log`, `sin`, `cos`; 3 for `sigmoid`; 5–7 for the rational `tanh` and `erf`);
//! and the IEEE special values exactly. Run with `--nocapture` to see the measured maxima.

use tc_kernel::math::Func;

/// Distance in units in the last place between two f32 values (0 for two NaNs; any
/// other mismatch of specials is infinitely far).
fn ulps(a: f32, b: f32) -> u64 {
    if a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if !a.is_finite() || !b.is_finite() || a.is_nan() != b.is_nan() {
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

fn reference(f: Func) -> fn(f64) -> f64 {
    match f {
        Func::Exp => f64::exp,
        Func::Log => f64::ln,
        Func::Tanh => f64::tanh,
        Func::Sigmoid => tc_interp::elementwise::sigmoid,
        Func::Sin => f64::sin,
        Func::Cos => f64::cos,
        Func::Erf => tc_interp::elementwise::erf,
        Func::Atan => f64::atan,
    }
}

/// `n` points evenly spaced in `[lo, hi]`.
fn linear(lo: f32, hi: f32, n: usize) -> Vec<f32> {
    (0..=n).map(|i| lo + (hi - lo) * (i as f32 / n as f32)).collect()
}

/// Every `step`th f32 bit pattern from `lo` to `hi`, both signs.
fn patterns(lo: u32, hi: u32, step: usize) -> Vec<f32> {
    (lo..hi).step_by(step).flat_map(|b| [f32::from_bits(b), -f32::from_bits(b)]).collect()
}

/// The largest error of `f` on `xs` and where it occurs.
fn max_ulps(f: Func, xs: &[f32], fma: bool) -> (u64, f32) {
    let got = f.routine().eval_all(xs, fma);
    let want = reference(f);
    let mut worst = (0, 0.0);
    for (&x, &y) in xs.iter().zip(&got) {
        let e = ulps(y, want(x as f64) as f32);
        if e > worst.0 {
            worst = (e, x);
        }
    }
    worst
}

#[test]
fn accuracy_over_the_range() {
    let trig = [linear(-100.0, 100.0, 400_000), patterns(0x4600_0000, 0x7f80_0000, 4099)].concat();
    // Bounds with and without fused multiply-adds.
    let cases: Vec<(Func, Vec<f32>, [u64; 2])> = vec![
        (Func::Exp, linear(-104.0, 88.7, 1_000_000), [2, 2]),
        (Func::Log, patterns(1, 0x7f80_0000, 997).into_iter().filter(|x| *x > 0.0).collect(), [2, 2]),
        (Func::Tanh, linear(-10.0, 10.0, 1_000_000), [5, 7]),
        (Func::Sigmoid, linear(-87.0, 30.0, 1_000_000), [3, 3]),
        (Func::Erf, linear(-6.0, 6.0, 400_000), [6, 7]),
        (Func::Atan, [linear(-20.0, 20.0, 400_000), patterns(1, 0x7f80_0000, 997)].concat(), [3, 3]),
        (Func::Sin, trig.clone(), [2, 2]),
        (Func::Cos, trig, [2, 2]),
    ];
    let mut failures = Vec::new();
    for (f, xs, bounds) in cases {
        for (fma, bound) in [(true, bounds[0]), (false, bounds[1])] {
            let (err, at) = max_ulps(f, &xs, fma);
            println!("{:8} fma {fma:5}: max {err} ulp (at x = {at:e}) over {} points", f.name(), xs.len());
            if err > bound {
                failures.push(format!("{} (fma {fma}): {err} ulp at x = {at:e} (bound {bound})", f.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

#[test]
fn special_values_are_exact() {
    let xs = [0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, 1e-45, -1e-45, 1e-40, f32::MIN_POSITIVE, 1.0, -1.0, f32::MAX, f32::MIN];
    for f in Func::ALL {
        for fma in [true, false] {
            let got = f.routine().eval_all(&xs, fma);
            for (&x, &y) in xs.iter().zip(&got) {
                let want = reference(f)(x as f64) as f32;
                let exact = !x.is_finite() || x == 0.0;
                let bound = if exact { 0 } else { 4 };
                assert!(ulps(y, want) <= bound, "{}({x:e}) = {y:e}, want {want:e}", f.name());
            }
        }
    }
}

/// Where tanh rounds to ±1 in f32 it is exactly ±1, not the clamped rational's
/// ±0.99999976: `1 + tanh(-inf)` must be 0 (`nn::gelu(-inf)` is NaN, not -inf).
#[test]
fn tanh_saturates_exactly() {
    let xs = [9.02f32, 10.0, 30.0, 1e30, f32::INFINITY, -9.02, -10.0, -30.0, -1e30, f32::NEG_INFINITY];
    for fma in [true, false] {
        assert_eq!(max_ulps(Func::Tanh, &xs, fma).0, 0);
    }
}
