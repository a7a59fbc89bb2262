//! Exact literals and literal range errors (SPEC §4, v1): a literal is rounded once into
//! the dtype it takes, and one that does not fit that dtype is E0314, never wrapped.

use tc_check::{ArgValue, SpecializeError};
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Data, Tensor};

mod common;
use common::StdlibDir;

fn run(src: &str, args: &[Tensor]) -> Tensor {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{src}: compile errors: {d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
    let spec = program.specialize("main", &types).unwrap_or_else(|e| panic!("{src}: {e:#?}"));
    tc_ir::verify::verify(&spec.graph).unwrap();
    tc_interp::run(&spec.graph, args).unwrap().remove(0)
}

/// The codes and 1-based line:col of every diagnostic of `main` called with `args`.
fn errors(src: &str, args: &[Tensor]) -> Vec<String> {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(Type::new(t.dtype(), t.shape().to_vec())))).collect();
    let diags = match tc_check::compile(&mut sources, root, &StdlibDir) {
        Ok(p) => match p.specialize("main", &types) {
            Err(SpecializeError::Diagnostics(d)) => d,
            other => panic!("{src}: expected errors, got {:?}", other.map(|s| s.graph)),
        },
        Err(d) => d,
    };
    common::codes(&sources, &diags)
}

fn f64_bits(t: &Tensor) -> Vec<u64> {
    match t.data() {
        Data::F64(v) => v.iter().map(|x| x.to_bits()).collect(),
        other => panic!("expected f64, got {:?}", other.dtype()),
    }
}

fn one_f64() -> Tensor {
    Tensor::scalar(1.0f64)
}

#[test]
fn float_literals_taking_f64_are_the_nearest_f64_never_an_f32() {
    let tenth = 0.1f64.to_bits();
    let x = one_f64();
    assert_eq!(f64_bits(&run("fn main(x: f64) { x * 0.1 }", std::slice::from_ref(&x))), vec![tenth]);
    assert_eq!(f64_bits(&run("fn main(x: f64) { 0.1 * x }", std::slice::from_ref(&x))), vec![tenth]);
    assert_eq!(f64_bits(&run("fn main(x: f64) { x * -0.1 }", std::slice::from_ref(&x))), vec![(-0.1f64).to_bits()]);
    assert_eq!(f64_bits(&run("fn main() { full((2,), 0.1, dtype=f64) }", &[])), vec![tenth; 2]);
    assert_eq!(f64_bits(&run("fn main() { 0.1 as f64 }", &[])), vec![tenth]);
    assert_eq!(f64_bits(&run("fn main() { [0.1, 0.2] as f64 }", &[])), vec![tenth, 0.2f64.to_bits()]);
    assert_eq!(f64_bits(&run("fn main() { [[0.1], [0.3]] as f64 }", &[])), vec![tenth, 0.3f64.to_bits()]);
    let pair = Tensor::from_slice(vec![2], &[0.0f64, 0.0]).unwrap();
    assert_eq!(f64_bits(&run("fn main(x: f64[2]) { x + [0.1, 0.2] }", &[pair])), vec![tenth, 0.2f64.to_bits()]);
    // Through a `let` annotation, a `const` and a default.
    assert_eq!(f64_bits(&run("fn main(x: f64) { let c: f64 = 0.1; x * c }", std::slice::from_ref(&x))), vec![tenth]);
    assert_eq!(f64_bits(&run("const C = 0.1;\nfn main(x: f64) { x * C }", std::slice::from_ref(&x))), vec![tenth]);
    assert_eq!(f64_bits(&run("fn f(x, c = 0.1) { x * c }\nfn main(x: f64) { f(x) }", std::slice::from_ref(&x))), vec![tenth]);
    // Literals folded together are exact in f64 too: 0.1 + 0.2 is Python's 0.30000000000000004.
    assert_eq!(f64_bits(&run("fn main(x: f64) { x * (0.1 + 0.2) }", &[x])), vec![(0.1f64 + 0.2).to_bits()]);
}

#[test]
fn narrow_floats_round_the_decimal_once() {
    // 1 + 2^-24 lies halfway between two f32s; the decimal below is a hair above it, so it
    // rounds up, where the f64 nearest it (exactly the halfway point) would round to 1.
    let above = "1.00000005960464477539062500000001";
    let got = run(&format!("fn main() {{ {above} }}"), &[]);
    assert_eq!(got.data(), &Data::F32(vec![1.0 + f32::powi(2.0, -23)]));
    // The same for f16, halfway between 1 and 1 + 2^-10.
    let x = Tensor::from_f64_values(DType::F16, vec![], &[1.0]).unwrap();
    let got = run("fn main(x: f16) { x * 1.00048828125000000001 }", std::slice::from_ref(&x));
    assert_eq!(got.data().to_f64_vec(), vec![1.0 + f64::powi(2.0, -10)]);
    let got = run("fn main(x: f16) { x * 1.00048828125 }", &[x]);
    assert_eq!(got.data().to_f64_vec(), vec![1.0]);
}

#[test]
fn integer_literals_beyond_i32_take_i64_or_are_errors() {
    let x = Tensor::scalar(1i64);
    assert_eq!(run("fn main(x: i64) { x + 3000000000 }", std::slice::from_ref(&x)).data(), &Data::I64(vec![3000000001]));
    assert_eq!(run("fn main() { 3000000000 as i64 }", &[]).data(), &Data::I64(vec![3000000000]));
    assert_eq!(run("fn main() { full((1,), 3000000000, dtype=i64) }", &[]).data(), &Data::I64(vec![3000000000]));
    assert_eq!(run("fn main() { [3000000000, 1] as i64 }", &[]).data(), &Data::I64(vec![3000000000, 1]));
    // Literals folded together are exact: the sum is made as an i64, not wrapped as i32.
    assert_eq!(run("fn main(x: i64) { x + (2000000000 + 2000000000) }", std::slice::from_ref(&x)).data(), &Data::I64(vec![4000000001]));
    assert_eq!(run("fn main() { -2147483648 }", &[]).data(), &Data::I32(vec![i32::MIN]));
    assert_eq!(run("fn main() { random_uniform(3000000000, (1,)) }", &[]).shape(), &[1]);
    // A size beyond i32 is exact as an i64.
    let sized = "fn main(x: i64) { x + size(zeros((3000000000, 0)), 0) }";
    assert_eq!(run(sized, &[x]).data(), &Data::I64(vec![3000000001]));
}

#[test]
fn literals_that_do_not_fit_the_dtype_they_take_are_e0314() {
    let f32x = Tensor::scalar(1.0f32);
    let f16x = Tensor::from_f64_values(DType::F16, vec![], &[1.0]).unwrap();
    let cases: Vec<(&str, Vec<Tensor>, &str)> = vec![
        ("fn main() { full((2,), 300, dtype=u8) }", vec![], "E0314 1:24"),
        ("fn main() { full((2,), 3000000000, dtype=i32) }", vec![], "E0314 1:24"),
        ("fn main() { full((2,), -1, dtype=u8) }", vec![], "E0314 1:24"),
        ("fn main() { full((2,), 1e39) }", vec![], "E0314 1:24"),
        ("fn main() { 3000000000 }", vec![], "E0314 1:13"),
        ("fn main() { 2147483648 }", vec![], "E0314 1:13"),
        ("fn main() {\n  1e39\n}", vec![], "E0314 2:3"),
        ("fn main() { exp(1e39) }", vec![], "E0314 1:17"),
        ("fn main() { [1.0, 1e39] }", vec![], "E0314 1:13"),
        ("fn main() { 2000000000 + 2000000000 }", vec![], "E0314 1:13"),
        ("fn main() { size(zeros((3000000000, 0)), 0) }", vec![], "E0314 1:13"),
        ("fn main() { 300 as u8 }", vec![], "E0314 1:13"),
        ("fn main() { (-1) as u8 }", vec![], "E0314 1:14"),
        ("fn main() { [1, 300] as u8 }", vec![], "E0314 1:13"),
        ("fn main() { 1e39 as f16 }", vec![], "E0314 1:13"),
        ("fn main(x: f32) { x * 1e39 }", vec![f32x.clone()], "E0314 1:23"),
        ("fn main(x: f16) { x * 100000 }", vec![f16x], "E0314 1:23"),
        ("fn main(x: f32) { let a: f32 = 1e39; x }", vec![f32x.clone()], "E0314 1:32"),
        ("const BIG: u8 = 300;\nfn main(x: f32) { x }", vec![f32x.clone()], "E0314 1:17"),
        ("fn f(x, k: u8 = 300) { x }\nfn main(x: f32) { f(x) }", vec![f32x], "E0314 1:17"),
        ("fn f(a, k = 300) { a + k }\nfn main(a: u8[2]) { f(a) }", vec![Tensor::from_slice(vec![2], &[1u8, 2]).unwrap()], "E0314 1:20"),
    ];
    for (src, args, want) in cases {
        let got = errors(src, &args);
        assert_eq!(got.first().map(String::as_str), Some(want), "{src}: {got:?}");
    }
}

#[test]
fn a_float_literal_that_overflows_f32_is_fine_as_an_f64() {
    let got = run("fn main(x: f64) { x * 1e39 }", &[one_f64()]);
    assert_eq!(f64_bits(&got), vec![1e39f64.to_bits()]);
}

/// A cast of a value known at compile time gives what the IR's cast gives at run time:
/// float to integer truncates and saturates.
#[test]
fn compile_time_casts_agree_with_run_time_casts() {
    let folded = run("fn main() { let y = 3e9 as f64; y as i32 }", &[]);
    assert_eq!(folded.data(), &Data::I32(vec![i32::MAX]));
    let at_run_time = run("fn main(x: f64) { (x * 3e9) as i32 }", &[one_f64()]);
    assert_eq!(at_run_time.data(), folded.data());
}

/// The elements of `t` as f64, with its dtype.
fn values(t: &Tensor) -> (DType, Vec<f64>) {
    (t.dtype(), t.data().to_f64_vec())
}

/// `inf` and `nan` are weak float literals: they take the other operand's float dtype,
/// in which they are exact, and are f32 alone.
#[test]
fn inf_and_nan_take_every_float_dtype() {
    for dtype in [DType::F64, DType::F32, DType::F16, DType::BF16] {
        let x = Tensor::from_f64_values(dtype, vec![2], &[1.0, -2.0]).unwrap();
        let d = dtype.name();
        let (got, v) = values(&run(&format!("fn main(x: {d}[2]) {{ x + inf }}"), std::slice::from_ref(&x)));
        assert_eq!((got, v), (dtype, vec![f64::INFINITY; 2]), "{d}");
        let (got, v) = values(&run(&format!("fn main(x: {d}[2]) {{ x * nan }}"), std::slice::from_ref(&x)));
        assert!(got == dtype && v.iter().all(|v| v.is_nan()), "{d}: {v:?}");
        let (got, v) = values(&run(&format!("fn main(x: {d}[2]) {{ maximum(x, -inf) }}"), std::slice::from_ref(&x)));
        assert_eq!((got, v), (dtype, vec![1.0, -2.0]), "{d}");
        let (got, v) = values(&run(&format!("fn main() {{ full((2,), -inf, dtype={d}) }}"), &[]));
        assert_eq!((got, v), (dtype, vec![f64::NEG_INFINITY; 2]), "{d}");
        let (got, v) = values(&run(&format!("fn main() {{ [1.0, inf, -inf] as {d} }}"), &[]));
        assert_eq!((got, v), (dtype, vec![1.0, f64::INFINITY, f64::NEG_INFINITY]), "{d}");
        let (got, v) = values(&run(&format!("fn main() {{ let c: {d} = inf; c }}"), &[]));
        assert_eq!((got, v), (dtype, vec![f64::INFINITY]), "{d}");
    }
    assert_eq!(values(&run("fn main() { inf }", &[])), (DType::F32, vec![f64::INFINITY]));
    assert_eq!(values(&run("fn main() { -inf }", &[])), (DType::F32, vec![f64::NEG_INFINITY]));
    let (dtype, v) = values(&run("fn main() { nan }", &[]));
    assert!(dtype == DType::F32 && v[0].is_nan());
    // Folded with literals as IEEE arithmetic does, and compared.
    assert!(values(&run("fn main() { inf - inf }", &[])).1[0].is_nan());
    assert_eq!(values(&run("fn main() { inf * -2 }", &[])).1, vec![f64::NEG_INFINITY]);
    assert_eq!(run("fn main() { [inf != nan, nan == nan, -inf < -1e38] }", &[]).data(), &Data::Bool(vec![true, false, true]));
    // In a function checked only when it is specialised (an unannotated parameter).
    assert_eq!(run("fn main(x) { x < inf }", &[one_f64()]).data(), &Data::Bool(vec![true]));
}

/// A parameter, `let`, `const` or function of the file named `inf` or `nan` hides the
/// built-in constant.
#[test]
fn own_names_shadow_inf_and_nan() {
    let two = Tensor::scalar(2.0f32);
    assert_eq!(values(&run("fn main(inf: f32) { inf }", std::slice::from_ref(&two))), (DType::F32, vec![2.0]));
    assert_eq!(values(&run("fn main(nan) { nan + 1.0 }", &[two])), (DType::F32, vec![3.0]));
    assert_eq!(values(&run("fn main() { let nan = 1; nan }", &[])), (DType::I32, vec![1.0]));
    assert_eq!(values(&run("const inf = 3.0;\nfn main() { inf }", &[])), (DType::F32, vec![3.0]));
    assert_eq!(values(&run("fn inf() { 4.0 }\nfn main() { inf() }", &[])), (DType::F32, vec![4.0]));
    assert_eq!(values(&run("fn f(x, inf = 5.0) { x + inf }\nfn main() { f(1.0) }", &[])), (DType::F32, vec![6.0]));
    // Outside the `let` that hides it, the built-in is visible again.
    assert_eq!(values(&run("fn main() { let y = { let inf = 1.0; inf }; y + inf }", &[])).1, vec![f64::INFINITY]);
}

#[test]
fn inf_and_nan_errors() {
    let i32x = Tensor::scalar(1i32);
    let cases: Vec<(&str, Vec<Tensor>, &str)> = vec![
        // Cast to an integer dtype as a compile-time value: out of range, as `3e9 as i32` is.
        ("fn main() { inf as i32 }", vec![], "E0314 1:13"),
        ("fn main() { nan as u8 }", vec![], "E0314 1:13"),
        ("fn main() { (-inf) as i64 }", vec![], "E0314 1:14"),
        ("fn main() { [1.0, nan] as i32 }", vec![], "E0314 1:13"),
        // A float literal never takes an integer dtype.
        ("fn main(x: i32) { x + inf }", vec![i32x], "E0302 1:19"),
        // Arithmetic on finite literals never makes infinity or NaN.
        ("fn main() { 1.0 / 0.0 }", vec![], "E0314 1:13"),
        ("fn main() {\n  0.0 / 0.0\n}", vec![], "E0314 2:3"),
        ("fn main() { 1e300 * 1e300 }", vec![], "E0314 1:13"),
        ("fn main() { inf(1.0) }", vec![], "E0202 1:13"),
        ("fn main() { infinity }", vec![], "E0201 1:13"),
        ("fn main(x) { x + infinity }", vec![Tensor::scalar(1.0f32)], "E0201 1:18"),
    ];
    for (src, args, want) in cases {
        let got = errors(src, &args);
        assert_eq!(got.first().map(String::as_str), Some(want), "{src}: {got:?}");
    }
}

#[test]
fn inf_and_nan_errors_read_well() {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", "fn main() { (inf as i32, nan as u8, 1.0 / 0.0) }");
    // `main` has no parameters, so it is checked, and fails, when the file is compiled.
    let d = tc_check::compile(&mut sources, root, &StdlibDir).err().expect("errors");
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages, ["the literal inf does not fit in i32", "the literal nan does not fit in u8", "`/` on these literals gives inf"]);
    assert_eq!(d[0].hint.as_deref(), Some("infinity and NaN have no integer value; a cast of a tensor computed at run time saturates them (NaN gives 0)"));
}
