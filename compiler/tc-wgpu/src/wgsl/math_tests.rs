//! The generated WGSL transcendentals are the shared routines of `tc_kernel::math`: on
//! this machine's adapter (Mesa's llvmpipe in CI) their results have the bits of
//! `Routine::eval` without fused multiply-adds, on a sweep of each function's range, large
//! arguments, subnormals and the special values (any NaN matches any NaN).

use crate::compile;
use tc_ir::{Graph, Type, UnaryOp};
use tc_kernel::math::Func;
use tc_tensor::{DType, Tensor};

#[test]
fn shaders_match_the_shared_routines_bit_for_bit() {
    let mut xs: Vec<f32> = (0..=22_000).map(|i| -110.0 + i as f32 / 100.0).collect();
    xs.extend((0..=u32::MAX).step_by(1_048_583).map(f32::from_bits));
    xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 1e-45, -1e-45, 1e-40, f32::MIN_POSITIVE, f32::MAX, f32::MIN, 8192.0, -8192.0, 9.02, -9.02]);
    let ops = [UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Erf, UnaryOp::Atan];
    for op in ops {
        let want = Func::of(op).unwrap().routine().eval_all(&xs, false);
        let mut g = Graph::new("sweep");
        let x = g.param(0, Type::new(DType::F32, vec![xs.len()]));
        let y = g.unary(op, x);
        g.outputs.push(y);
        let out = compile(&g).and_then(|p| p.run(&[Tensor::from_f32(vec![xs.len()], xs.clone()).unwrap()])).unwrap();
        let got = out[0].as_f32().unwrap();
        let wrong: Vec<String> = xs
            .iter()
            .zip(got.iter().zip(&want))
            .filter(|(_, (g, w))| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()))
            .map(|(x, (g, w))| format!("{}({x:e}): gpu {g:e}, eval {w:e}", op.name()))
            .collect();
        assert!(wrong.is_empty(), "{} of {} differ: {}", wrong.len(), xs.len(), wrong[..wrong.len().min(8)].join("; "));
    }
}
