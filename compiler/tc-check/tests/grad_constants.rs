//! `grad` with respect to values known at compile time: literals, casts of literals,
//! constants, shape variables made floats, tuples of them, and such values passed to a
//! function. The elaborator folds arithmetic on them into constants; the derivative
//! must still be the one of the computation as written (JAX's, as if `x` were a traced
//! input), and the values the program computes must still be the folded, exact ones.

use tc_check::ArgValue;
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Tensor};

mod common;
use common::errors;
use common::StdlibDir;

/// The results of `main` on the interpreter, with its graph verified first.
fn run(src: &str, args: &[Tensor]) -> Vec<Tensor> {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{src}: compile errors: {d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
    let spec = program.specialize("main", &types).unwrap_or_else(|e| panic!("{src}: specialize failed: {e:#?}"));
    tc_ir::verify::verify(&spec.graph).unwrap_or_else(|e| panic!("{src}: {e}\n{}", tc_ir::text::print(&spec.graph)));
    tc_interp::run(&spec.graph, args).unwrap()
}

/// Each result of `main` (no arguments) as its dtype and values.
fn results(src: &str) -> Vec<(DType, Vec<f64>)> {
    run(src, &[]).iter().map(|t| (t.dtype(), t.data().to_f64_vec())).collect()
}

/// The single scalar result of `main`, which must have `dtype`.
fn scalar(src: &str, dtype: DType) -> f64 {
    let out = results(src);
    assert_eq!(out.len(), 1, "{src}: {out:?}");
    assert_eq!(out[0].0, dtype, "{src}");
    assert_eq!(out[0].1.len(), 1, "{src}: {out:?}");
    out[0].1[0]
}


#[test]
fn derivative_by_a_cast_literal() {
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(x * x, x) }", DType::F32), 6.0);
    assert_eq!(scalar("fn main() { let x = 3 as f32; grad(x * x, x) }", DType::F32), 6.0);
    assert_eq!(scalar("fn main() { let x = 3 as f64; grad(x * x * x, x) }", DType::F64), 27.0);
    assert_eq!(scalar("fn main() { let w = 3.0; grad((w as f32) * (w as f64 as f32), w) }", DType::F32), 6.0);
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(-x * x, x) }", DType::F32), -6.0);
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(x / 2.0 - 1.0, x) }", DType::F32), 0.5);
    assert_eq!(scalar("fn main() { let x = 2.0 as f32; grad(x ** 3.0, x) }", DType::F32), 12.0);
}

#[test]
fn derivative_by_a_weak_literal() {
    assert_eq!(scalar("fn main() { let x = 3.0; grad(x * x, x) }", DType::F32), 6.0);
    assert_eq!(scalar("fn main() { let x = 3.0; let y = x * x; let z = y + x; grad(z, x) }", DType::F32), 7.0);
    // The literal takes f64 from the other operand: the derivative goes back to `x`.
    assert_eq!(scalar("fn main() { let x = 0.5; let y = x * (2.0 as f64); grad(y * y, x) }", DType::F32), 4.0);
}

#[test]
fn a_value_differentiated_by_itself_is_one() {
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(x, x) }", DType::F32), 1.0);
    assert_eq!(scalar("fn main() { let x = 3.0; grad(x, x) }", DType::F32), 1.0);
    assert_eq!(scalar("const C = 2.0;\nfn main() { grad(C, C) }", DType::F32), 1.0);
}

#[test]
fn derivative_by_a_constant_item() {
    assert_eq!(scalar("const C = 2.0;\nfn main() { let x = C as f32; grad(x * x * x, x) }", DType::F32), 12.0);
    assert_eq!(scalar("const C = 2.0;\nfn main() { let x = C; grad(x * x * x, x) }", DType::F32), 12.0);
    // A constant is one value wherever it is used.
    assert_eq!(scalar("const C: f32 = 2.0;\nfn main() { grad(C * C, C) }", DType::F32), 4.0);
    assert_eq!(scalar("const C = 2.0;\nconst D = C * C;\nfn main() { grad(D + C, C) }", DType::F32), 5.0);
}

#[test]
fn derivative_by_a_shape_variable_made_a_float() {
    let t = Tensor::zeros(DType::F32, vec![4]);
    let out = run("fn main(t: f32[N]) { let n = N as f32; grad(n * n, n) }", std::slice::from_ref(&t));
    assert_eq!(out[0].data().to_f64_vec(), [8.0]);
    let out = run("fn main(t) { let n = size(t, 0) as f32; grad(n * n * n, n) }", &[t]);
    assert_eq!(out[0].data().to_f64_vec(), [48.0]);
}

#[test]
fn derivative_by_a_tuple_of_constants() {
    let out = results("fn main() { let a = 3.0 as f32; let b = 2.0 as f32; grad(a * b + a, (a, b)) }");
    assert_eq!(out, [(DType::F32, vec![3.0]), (DType::F32, vec![3.0])]);
    let out = results("fn main() { let (a, b) = (3.0, 2.0 as f64); grad(a * b, (a, b)) }");
    assert_eq!(out, [(DType::F32, vec![2.0]), (DType::F64, vec![3.0])]);
}

#[test]
fn derivative_through_a_called_function() {
    let sq = "fn sq(x) { x * x }\n";
    assert_eq!(scalar(&format!("{sq}fn main() {{ let x = 3.0 as f32; grad(sq(x), x) }}"), DType::F32), 6.0);
    assert_eq!(scalar(&format!("{sq}fn main() {{ let x = 3.0; let y = sq(x); grad(sq(y), x) }}"), DType::F32), 108.0);
    // `grad` inside a function whose argument is a literal.
    let d = "fn d(x) { grad(x * x * x, x) }\n";
    assert_eq!(scalar(&format!("{d}fn main() {{ d(2.0 as f32) }}"), DType::F32), 12.0);
    assert_eq!(scalar(&format!("{d}fn main() {{ d(2.0) }}"), DType::F32), 12.0);
    let annotated = "fn d(x: f64) -> f64 { grad(x * x * x, x) }\n";
    assert_eq!(scalar(&format!("{annotated}fn main() {{ d(2.0) }}"), DType::F64), 12.0);
}

#[test]
fn derivative_through_tensor_literals_of_constants() {
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(sum([x, 2.0 * x]), x) }", DType::F32), 3.0);
    assert_eq!(scalar("fn main() { let x = 3.0; grad(sum([[x, 1.0], [x * x, 0.0]]), x) }", DType::F32), 7.0);
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(sum([1, 2] * x), x) }", DType::F32), 3.0);
}

#[test]
fn higher_derivatives_of_a_constant() {
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(grad(x * x * x, x), x) }", DType::F32), 18.0);
    assert_eq!(scalar("fn main() { let x = 3.0; let d = grad(x * x * x, x); grad(d * x, x) }", DType::F32), 81.0);
}

#[test]
fn what_does_not_depend_on_the_value_has_zero_gradient() {
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; let y = 2.0 as f32; grad(y * y, x) }", DType::F32), 0.0);
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; grad(2.0, x) }", DType::F32), 0.0);
    // `x` is rebound after `y` is computed from the first one.
    assert_eq!(scalar("fn main() { let x = 3.0 as f32; let y = x * x; let x = 1.0 as f32; grad(y, x) }", DType::F32), 0.0);
}

#[test]
fn folded_values_stay_exact() {
    // `x * x` on the literal 0.1 is folded exactly and rounded once to f32, which f32
    // arithmetic on f32(0.1) is not; the derivative beside it does not change that.
    let out = results("fn main() { let x = 0.1; (x * x, grad(x * x, x)) }");
    assert_eq!(out[0], (DType::F32, vec![f64::from(0.01f32)]));
    assert_ne!(f64::from(0.1f32 * 0.1f32), f64::from(0.01f32));
    assert_eq!(out[1], (DType::F32, vec![f64::from(2.0 * 0.1f32)]));
    let out = results("fn main() { let x = 0.1 as f64; (x * 3.0, grad(x * 3.0, x)) }");
    assert_eq!(out, [(DType::F64, vec![0.1 * 3.0]), (DType::F64, vec![3.0])]);
}

#[test]
fn integer_values_are_not_differentiable() {
    assert_eq!(errors("fn main() { let x = 3; grad(x * x, x) }"), ["E0209 1:29"]);
    assert_eq!(errors("fn main() { let x = 3 as f32; let k = 2; grad(x * x, k) }"), ["E0209 1:54"]);
    assert_eq!(errors("fn d(x) { grad(x * x * x, x) }\nfn main() { d(2) }").first().map(String::as_str), Some("E0209 1:16"));
    assert_eq!(errors("fn main() { let n = size(zeros((4,)), 0); grad((n * n) as f32, n) }"), ["E0209 1:64"]);
}
