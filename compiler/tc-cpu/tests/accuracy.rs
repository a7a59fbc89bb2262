//! The generated f32 transcendentals are the shared routines of `tc_kernel::math`: on a
//! sweep of each function's range, large arguments and the special values, the JIT's
//! results (vector lanes and scalar code both) have the bits of `Routine::eval` with
//! this host's fused multiply-add choice. The routines' accuracy against f64 libm is
//! tested on `eval` itself (`tc-kernel/tests/math.rs`).

use tc_ir::{Graph, Type, UnaryOp};
use tc_kernel::math::Func;
use tc_tensor::{DType, Tensor};

const OPS: [UnaryOp; 7] = [UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Erf];

/// Inputs: an even sweep of [-110, 110], every 65537th bit pattern of each sign (zeros,
/// subnormals, huge values, infinities and NaNs among them) and the special values.
fn inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=220_000).map(|i| -110.0 + i as f32 / 1000.0).collect();
    xs.extend((0..=u32::MAX).step_by(65537).map(f32::from_bits));
    xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-45, -1e-45, f32::MIN_POSITIVE, f32::MAX, f32::MIN, 8192.0, -8192.0, 9.02, -9.02]);
    if xs.len() % 2 == 1 {
        xs.push(0.5);
    }
    xs
}

/// Names `x` (and the operands) where `got` and `want` differ in bits (any NaN matches).
fn mismatches(op: UnaryOp, xs: &[f32], got: &[f32], want: &[f32]) -> Vec<String> {
    xs.iter()
        .zip(got.iter().zip(want))
        .filter(|(_, (g, w))| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()))
        .take(5)
        .map(|(x, (g, w))| format!("{}({x:e}): jit {g:e}, eval {w:e}", op.name()))
        .collect()
}

#[test]
fn jit_matches_the_shared_routines_bit_for_bit() {
    let fma = tc_cpu::jit::host_fma().unwrap();
    let xs = inputs();
    let n = xs.len();
    for op in OPS {
        let want = Func::of(op).unwrap().routine().eval_all(&xs, fma);
        // Contiguous: 4 lanes at a time (and a scalar tail).
        let mut g = Graph::new("lanes");
        let x = g.param(0, Type::new(DType::F32, vec![n]));
        let y = g.unary(op, x);
        g.outputs.push(y);
        let out = tc_cpu::compile(&g).unwrap().run(&[Tensor::from_f32(vec![n], xs.clone()).unwrap()]).unwrap();
        let wrong = mismatches(op, &xs, out[0].as_f32().unwrap(), &want);
        assert!(wrong.is_empty(), "vector: {}", wrong.join("; "));
        // Through a transpose the innermost loads are strided: scalar code.
        let mut g = Graph::new("scalar");
        let x = g.param(0, Type::new(DType::F32, vec![2, n / 2]));
        let t = g.transpose(x, &[1, 0]);
        let y = g.unary(op, t);
        g.outputs.push(y);
        let out = tc_cpu::compile(&g).unwrap().run(&[Tensor::from_f32(vec![2, n / 2], xs.clone()).unwrap()]).unwrap();
        let got = out[0].as_f32().unwrap();
        // Output [j, i] is input [i, j].
        let got: Vec<f32> = (0..n).map(|k| got[(k % (n / 2)) * 2 + k / (n / 2)]).collect();
        let wrong = mismatches(op, &xs, &got, &want);
        assert!(wrong.is_empty(), "scalar: {}", wrong.join("; "));
    }
}

/// f64 kernels still compute the transcendentals with f64 libm.
#[test]
fn f64_math_is_libm() {
    let xs: Vec<f64> = vec![0.5, -1.25, 3.0, 100.0, 1e10];
    for (op, f) in [(UnaryOp::Sin, f64::sin as fn(f64) -> f64), (UnaryOp::Cos, f64::cos), (UnaryOp::Exp, f64::exp), (UnaryOp::Tanh, f64::tanh)] {
        let mut g = Graph::new("f64");
        let x = g.param(0, Type::new(DType::F64, vec![xs.len()]));
        let y = g.unary(op, x);
        g.outputs.push(y);
        let out = tc_cpu::compile(&g).unwrap().run(&[Tensor::new(vec![xs.len()], tc_tensor::Data::F64(xs.clone())).unwrap()]).unwrap();
        let want: Vec<f64> = xs.iter().map(|&x| f(x)).collect();
        assert_eq!(out[0].data().to_f64_vec(), want, "{}", op.name());
    }
}
