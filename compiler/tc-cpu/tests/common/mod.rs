//! Shared test helpers: graphs from tensorc source, deterministic random inputs, and
//! the comparison of CPU results with the interpreter's.

#![allow(dead_code)] // each test binary uses a subset

use half::{bf16, f16};
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

/// The optimised graph of `main` in `src` for arguments of these types.
pub fn graph(src: &str, args: &[Type]) -> Graph {
    let mut sources = SourceMap::new();
    let root = sources.add("test.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(t.clone()))).collect();
    let spec = program.specialize("main", &types).unwrap_or_else(|e| panic!("{e:#?}"));
    tc_opt::simplify(&spec.graph)
}

/// A small deterministic generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A random tensor of `ty`: floats in [-3, 3), ints in [-20, 20) (u8 in [0, 40)), bools.
pub fn random_tensor(rng: &mut Rng, ty: &Type) -> Tensor {
    let n = ty.num_elements();
    let f: Vec<f64> = (0..n).map(|_| rng.uniform(-3.0, 3.0)).collect();
    let i: Vec<i64> = (0..n).map(|_| (rng.next() % 40) as i64 - 20).collect();
    let data = match ty.dtype {
        DType::F64 => Data::F64(f),
        DType::F32 => Data::F32(f.iter().map(|&x| x as f32).collect()),
        DType::F16 => Data::F16(f.iter().map(|&x| f16::from_f64(x)).collect()),
        DType::BF16 => Data::BF16(f.iter().map(|&x| bf16::from_f64(x)).collect()),
        DType::I64 => Data::I64(i),
        DType::I32 => Data::I32(i.iter().map(|&x| x as i32).collect()),
        DType::U8 => Data::U8(i.iter().map(|&x| (x + 20) as u8).collect()),
        DType::Bool => Data::Bool(i.iter().map(|&x| x % 2 == 0).collect()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Relative tolerance for a float dtype (a few ulp of the dtype).
pub fn rtol(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => 1e-12,
        DType::F32 => 1e-5,
        DType::F16 => 4e-3,
        DType::BF16 => 3e-2,
        _ => 0.0,
    }
}

/// Check `got` against `want`: identical types; ints and bools exactly; floats within
/// `rtol` of the larger magnitude, with an absolute floor of `atol` (NaN matches NaN).
pub fn assert_close(got: &Tensor, want: &Tensor, rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    if !want.dtype().is_float() {
        assert_eq!(got.data(), want.data(), "{what}: values");
        return;
    }
    let (g, w) = (got.data().to_f64_vec(), want.data().to_f64_vec());
    for (k, (&a, &b)) in g.iter().zip(&w).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * a.abs().max(b.abs());
        assert!(ok, "{what}: element {k}: cpu {a} vs interp {b} (rtol {rtol}, atol {atol})");
    }
}

/// Compile `graph` for the CPU, run it and the interpreter on `inputs`, compare.
pub fn check_graph(graph: &Graph, inputs: &[Tensor], atol: f64, what: &str) {
    let want = tc_interp::run(graph, inputs).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let program = tc_cpu::compile(graph).unwrap_or_else(|e| panic!("{what}: compile: {e}\n{}", tc_ir::text::print(graph)));
    let got = program.run(inputs).unwrap_or_else(|e| panic!("{what}: run: {e}"));
    assert_eq!(got.len(), want.len(), "{what}: output count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_close(g, w, rtol(w.dtype()), atol, &format!("{what} (output {i})\n{}", program.kernels_text()));
    }
}

/// `check_graph` on random inputs of the graph's parameter types.
pub fn check_random(graph: &Graph, seed: u64, atol: f64, what: &str) {
    let mut rng = Rng(seed | 1);
    let inputs: Vec<Tensor> = graph.param_types().iter().map(|t| random_tensor(&mut rng, t)).collect();
    check_graph(graph, &inputs, atol, what);
}
