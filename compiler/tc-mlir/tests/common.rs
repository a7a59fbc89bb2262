//! Shared by the tests: tensorc source to optimised graphs, inputs, comparisons, and the
//! programs whose emitted modules `emit.rs` and `llvm_tools.rs` check.
#![allow(dead_code)]

use tc_check::{ArgValue, ModuleLoader};
use tc_ir::{Graph, Type};
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Data, Tensor};

/// Loads standard-library modules from the repository's `stdlib/` folder.
struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}

/// The optimised graph of `entry` in `src` for arguments of `types`.
pub fn graph_of(src: &str, entry: &str, types: &[Type]) -> Graph {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{d:?}"));
    let args: Vec<Option<ArgValue>> = types.iter().map(|t| Some(ArgValue::Tensor(t.clone()))).collect();
    let spec = program.specialize(entry, &args).unwrap_or_else(|e| panic!("{src}: {e:?}"));
    tc_opt::simplify(&spec.graph)
}

pub fn t(dtype: DType, shape: &[usize]) -> Type {
    Type::new(dtype, shape.to_vec())
}

/// Deterministic values of `ty`: floats in [-3, 3), ints in [-20, 20), u8 in [0, 40).
pub fn values(ty: &Type, seed: u64) -> Tensor {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let n = ty.num_elements();
    let data = match ty.dtype {
        DType::Bool => Data::Bool((0..n).map(|_| next() % 2 == 0).collect()),
        d if d.is_float() => Data::from_f64(d, &(0..n).map(|_| (next() >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0).collect::<Vec<_>>()),
        DType::U8 => Data::U8((0..n).map(|_| (next() % 40) as u8).collect()),
        d => Data::from_i64(d, &(0..n).map(|_| (next() % 40) as i64 - 20).collect::<Vec<_>>()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Whether `got` equals `want`: bit for bit for ints and bools, within `rtol`/`atol` for
/// floats (NaN matches NaN).
pub fn close(got: &Tensor, want: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dtype() != want.dtype() || got.shape() != want.shape() {
        return Err(format!("got {} want {}", got.type_string(), want.type_string()));
    }
    let (g, w) = (got.data().to_f64_vec(), want.data().to_f64_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if want.dtype().is_float() { (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * b.abs() } else { a == b };
        if !ok {
            return Err(format!("element {i}: got {a}, want {b}"));
        }
    }
    Ok(())
}

/// Programs covering every kind of kernel and library call.
pub fn programs() -> Vec<(&'static str, Vec<Type>)> {
    vec![
        ("fn main(x, y) { exp(x) * y + tanh(x) }", vec![t(DType::F32, &[4, 6]), t(DType::F32, &[6])]),
        ("use nn;\nfn main(x) { nn::softmax(x) }", vec![t(DType::F32, &[5, 7])]),
        ("fn main(m) { (sum(m), max(m, axis=0), argmax(m, axis=1), prod(m, axis=1)) }", vec![t(DType::F32, &[5, 7])]),
        ("fn main(a, b) { (a @ b, a.T @ a) }", vec![t(DType::F32, &[3, 5]), t(DType::F32, &[5, 4])]),
        ("fn main(a, b) { a @ b }", vec![t(DType::I32, &[2, 3, 5]), t(DType::I32, &[2, 5, 4])]),
        ("fn main(x, w) { let y = max_pool2d(conv2d(x, w, stride=1, padding=1), 2); (y, grad(sum(y), w), grad(sum(avg_pool2d(x, 2)), x)) }", vec![t(DType::F32, &[2, 3, 8, 8]), t(DType::F32, &[4, 3, 3, 3])]),
        ("fn main(m, i) { (take(m, i, axis=1), grad(sum(take(m, i, axis=0)), m)) }", vec![t(DType::F32, &[5, 4]), t(DType::I32, &[3])]),
        ("fn main(a, b) { (pad(a, ((1, 0), (2, 1)), value=0.5), concat((a, b), 1), a[1:, :2]) }", vec![t(DType::F32, &[3, 4]), t(DType::F32, &[3, 2])]),
        ("fn main(x) { (random_uniform(7, (3, 4)), random_normal(11, (5,)) + x, x as i32, (x > 0.0) as u8, x % 1.5) }", vec![t(DType::F32, &[5])]),
        ("fn main(x) { (x * 2.0, exp(x), x as bf16) }", vec![t(DType::F16, &[9])]),
    ]
}
