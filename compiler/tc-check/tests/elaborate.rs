//! Programs elaborated to graph IR and run on the reference interpreter: the checker's
//! lowering of each language feature, and the diagnostics of ill-typed programs.

use tc_check::{ArgValue, SpecializeError};
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Tensor};

mod common;
use common::errors;
use common::StdlibDir;

fn compile(src: &str) -> Result<tc_check::Program, Vec<tc_syntax::diag::Diagnostic>> {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    tc_check::compile(&mut sources, root, &StdlibDir)
}

fn run(src: &str, args: &[Tensor]) -> Vec<Tensor> {
    let program = compile(src).unwrap_or_else(|d| panic!("compile errors: {d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
    let spec = match program.specialize("main", &types) {
        Ok(s) => s,
        Err(e) => panic!("specialize failed: {e:#?}"),
    };
    tc_ir::verify::verify(&spec.graph).unwrap_or_else(|e| panic!("{e}\n{}", tc_ir::text::print(&spec.graph)));
    tc_interp::run(&spec.graph, args).unwrap()
}


fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), v.to_vec()).unwrap()
}

fn vals(t: &Tensor) -> Vec<f64> {
    t.data().to_f64_vec()
}

#[test]
fn broadcasting_and_weak_literals() {
    let x = f32s(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let b = f32s(&[3], &[10., 20., 30.]);
    let out = run("fn main(x, b) { x * 2 + b - 0.5 }", &[x, b]);
    assert_eq!(out[0].dtype(), DType::F32);
    assert_eq!(vals(&out[0]), vec![11.5, 23.5, 35.5, 17.5, 29.5, 41.5]);
}

#[test]
fn literals_take_the_other_operands_dtype() {
    let x = Tensor::new(vec![2], tc_tensor::Data::from_f64(DType::F16, &[1.0, 2.0])).unwrap();
    let out = run("fn main(x) { x * 2 + 0.5 }", &[x]);
    assert_eq!(out[0].dtype(), DType::F16);
    assert_eq!(vals(&out[0]), vec![2.5, 4.5]);
}

#[test]
fn shape_variables_are_compile_time_ints() {
    let x = f32s(&[2, 2], &[1., 2., 3., 4.]);
    let out = run("fn main(x: f32[N, D]) -> f32[N] { sum(x, axis = 1) / D }", &[x]);
    assert_eq!(vals(&out[0]), vec![1.5, 3.5]);
}

#[test]
fn calls_defaults_keywords_and_tuples() {
    let x = f32s(&[3], &[1., 2., 3.]);
    let src = "fn scale(x, k = 2.0, shift = 0.0) { x * k + shift }\nfn pair(x) { (x, -x) }\nfn main(x) { let (a, _) = pair(scale(x, shift = 1.0)); (a, pair(x).1) }";
    let out = run(src, &[x]);
    assert_eq!(vals(&out[0]), vec![3., 5., 7.]);
    assert_eq!(vals(&out[1]), vec![-1., -2., -3.]);
}

#[test]
fn indexing_slicing_and_matmul() {
    let m = f32s(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let out = run("fn main(m) { (m[1], m[:, 1:], m[-1, -1], m @ m.T, m[0] @ m.T) }", &[m]);
    assert_eq!(vals(&out[0]), vec![4., 5., 6.]);
    assert_eq!(out[1].shape(), &[2, 2]);
    assert_eq!(vals(&out[1]), vec![2., 3., 5., 6.]);
    assert_eq!(vals(&out[2]), vec![6.]);
    assert_eq!(vals(&out[3]), vec![14., 32., 32., 77.]);
    assert_eq!(vals(&out[4]), vec![14., 32.]);
}

#[test]
fn stdlib_functions_run() {
    let z = f32s(&[2, 3], &[1., 2., 3., 1., 1., 1.]);
    let out = run("use nn;\nfn main(z) { (nn::softmax(z), nn::relu(z - 1.5), nn::logsumexp(z)) }", &[z]);
    let s = vals(&out[0]);
    assert!((s[0] + s[1] + s[2] - 1.0).abs() < 1e-6);
    assert!((s[3] - 1.0 / 3.0).abs() < 1e-6);
    assert_eq!(vals(&out[1]), vec![0., 0.5, 1.5, 0., 0., 0.]);
    assert!((vals(&out[2])[1] - (1.0 + 3f64.ln())).abs() < 1e-6);
}

#[test]
fn grad_of_cross_entropy_is_softmax_minus_one_hot() {
    let z = f32s(&[2, 3], &[1., 2., 3., 0., 0., 0.]);
    let y = Tensor::from_i32(vec![2], vec![2, 0]).unwrap();
    let out = run("use nn;\nfn main(z, y) { grad(nn::cross_entropy(z, y), z) }", &[z, y]);
    let g = vals(&out[0]);
    let e: f64 = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let p2 = (3.0 - e).exp();
    assert!((g[2] - (p2 - 1.0) / 2.0).abs() < 1e-6, "{g:?}");
    assert!((g[3] - (1.0 / 3.0 - 1.0) / 2.0).abs() < 1e-6, "{g:?}");
}

#[test]
fn higher_order_grad() {
    let x = f32s(&[2], &[1., 2.]);
    let out = run("fn main(x) { let y = sum(x * x * x); let g = grad(y, x); grad(sum(g), x) }", &[x]);
    assert_eq!(vals(&out[0]), vec![6., 12.]);
}

#[test]
fn relu_gradient_at_zero_is_zero() {
    let x = f32s(&[3], &[-1., 0., 2.]);
    let out = run("use nn;\nfn main(x) { grad(sum(nn::relu(x)), x) }", &[x]);
    assert_eq!(vals(&out[0]), vec![0., 0., 1.]);
}

#[test]
fn every_independent_error_is_reported() {
    let src = "fn main(x: f32[2, 3], b: f32[4], i: i32[3]) {\n    let a = x + b;\n    let c = i / 2;\n    let d = q;\n    x\n}";
    assert_eq!(errors(src), vec!["E0301 2:13", "E0305 3:13", "E0201 4:13"]);
}

#[test]
fn error_codes_of_common_mistakes() {
    let cases = [
        ("fn main(x: f32[3], y: f16[3]) { x + y }", "E0302 1:33"),
        ("fn f(a: f32[N], b: f32[N]) { a + b }\nfn main(x: f32[3], y: f32[4]) { f(x, y) }", "E0303 2:38"),
        ("fn main(x: f32[2, 3]) { sum(x, axis = 2) }", "E0306 1:32"),
        ("fn main(x: f32[2, 3]) { reshape(x, (4, 2)) }", "E0307 1:36"),
        ("fn main(a: f32[2, 3], b: f32[4, 5]) { a @ b }", "E0308 1:39"),
        ("fn main(x: f32[2, 3]) { x[2] }", "E0309 1:27"),
        ("fn f(x: f32[3]) { f(x) }\nfn main(x: f32[3]) { f(x) }", "E0207 1:19"),
        ("fn main(x: f32[3]) { grad(x * 2.0, x) }", "E0209 1:27"),
        ("use nn;\nfn main(x: f32[3]) { nn::relux(x) }", "E0104 2:22"),
        ("use nnn;\nfn main(x: f32[3]) { x }", "E0101 1:5"),
        ("fn main(a: u8[2]) {\n  a + 300\n}", "E0314 2:3"),
        ("fn main(a: u8[2]) { a * -1 }", "E0314 1:21"),
        ("fn main(a: i32[2]) { a + 3000000000 }", "E0314 1:22"),
        ("const K: i32 = 2.0;\nfn main(x: f32[3]) { x }", "E0303 1:16"),
        ("const K = zz;\nfn main(x: f32[3]) { x }", "E0201 1:11"),
    ];
    for (src, want) in cases {
        let got = errors(src);
        assert_eq!(got.first().map(String::as_str), Some(want), "{src}: {got:?}");
    }
}

/// Shape variables are bound at each call (SPEC §4): a body that is valid for some sizes
/// compiles, and each call is checked with its own sizes.
#[test]
fn size_dependent_errors_wait_for_the_call() {
    let src = "fn main(x: f32[N], y: f32[M]) {\n    reshape(x * y, (2, -1))\n}";
    let program = compile(src).unwrap_or_else(|d| panic!("valid for N = M = 4, yet: {d:#?}"));
    let x = f32s(&[4], &[1., 2., 3., 4.]);
    let out = run(src, &[x.clone(), x]);
    assert_eq!(out[0].shape(), &[2, 2]);
    assert_eq!(vals(&out[0]), vec![1., 4., 9., 16.]);
    let three = Some(ArgValue::Tensor(Type::new(DType::F32, vec![3])));
    match program.specialize("main", &[three.clone(), three]) {
        Err(SpecializeError::Diagnostics(d)) => {
            assert_eq!(d[0].code, "E0307");
            assert!(d[0].message.contains("3 elements"), "{}", d[0].message);
        }
        other => panic!("{:?}", other.map(|s| s.graph)),
    }
    assert!(compile("fn main(x: f32[2, 3], b: f32[H]) { x + b }").is_ok());
    assert!(compile("fn main(x: f32[N]) { x[1500] }").is_ok());
    // An error whatever the sizes is still found without a call.
    assert_eq!(errors("fn f(x: f32[N], y: i32[N]) { x + y }\nfn main() { 0 }"), vec!["E0302 1:30"]);
}

#[test]
fn unannotated_functions_still_get_name_errors() {
    assert_eq!(errors("fn main(x) {\n  x + y\n}"), vec!["E0201 2:7"]);
}

#[test]
fn argument_mismatch_names_the_parameter() {
    let program = compile("fn main(x: f32[2, 3]) { x }").unwrap();
    let err = program.specialize("main", &[Some(ArgValue::Tensor(Type::new(DType::F32, vec![4])))]).unwrap_err();
    match err {
        SpecializeError::Argument { param, message } => {
            assert_eq!(param, "x");
            assert!(message.contains("f32[2, 3]") && message.contains("f32[4]"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
