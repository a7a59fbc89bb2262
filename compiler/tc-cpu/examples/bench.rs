//! The CPU backend's side of `bench/cpu_bench.sh`: compiles the benchmark programs from
//! tensorc source (the real standard library), runs each after warm-up, and prints one
//! JSON object per line: `{"name", "compile_ms", "median_ms", "min_ms", "bytes",
//! "flops", "peak_bytes"}`, plus `{"name": "triad", "gbps"}`, the measured bandwidth
//! of a two-array-read, one-write loop on all threads (the memory-bandwidth floor).
//!
//! `cargo run --release -p tc-cpu --example bench [-- REPS [NAME...]]` (NAME: `triad`,
//! `gelu`, `softmax`, `layernorm`, `matmul`, `mlp_step`, and the language-v1 operations
//! of `bench/v1_ops.sh`: `sort`, `top_k`, `cumsum`, `einsum`; all by default).

use std::time::Instant;
use tc_check::{ArgValue, ModuleLoader};
use tc_ir::Type;
use tc_syntax::diag::SourceMap;
use tc_tensor::{DType, Data, Tensor};

struct StdlibDir;

impl ModuleLoader for StdlibDir {
    fn load(&self, name: &str, _from: &str) -> Option<(String, String)> {
        let path = format!("{}/../../stdlib/{name}.tc", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(path).ok().map(|t| (format!("<stdlib>/{name}.tc"), t))
    }
}

fn graph(src: &str, args: &[Type]) -> tc_ir::Graph {
    let mut sources = SourceMap::new();
    let root = sources.add("bench.tc", src);
    let program = tc_check::compile(&mut sources, root, &StdlibDir).unwrap_or_else(|d| panic!("{d:#?}"));
    let types: Vec<Option<ArgValue>> = args.iter().map(|t| Some(ArgValue::Tensor(t.clone()))).collect();
    let spec = program.specialize("main", &types).unwrap_or_else(|e| panic!("{e:#?}"));
    tc_opt::simplify(&spec.graph)
}

/// Deterministic inputs: floats in [-1, 1) (scaled by `scale`), labels in [0, 10).
fn input(ty: &Type, seed: u64, scale: f32) -> Tensor {
    let n = ty.num_elements();
    let mut s = seed | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let data = match ty.dtype {
        DType::I32 => Data::I32((0..n).map(|_| (next() % 10) as i32).collect()),
        _ => Data::F32((0..n).map(|_| scale * ((next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0)).collect()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

fn f32t(shape: &[usize]) -> Type {
    Type::new(DType::F32, shape.to_vec())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Case {
    name: &'static str,
    src: &'static str,
    args: Vec<Type>,
    bytes: f64,
    flops: f64,
}

const MLP_STEP: &str = "use nn;
fn predict(x, w1, b1, w2, b2, w3, b3) {
    let h1 = nn::relu(x @ w1 + b1);
    let h2 = nn::relu(h1 @ w2 + b2);
    h2 @ w3 + b3
}
fn main(w1, b1, w2, b2, w3, b3, x, y: i32[B]) {
    let l = nn::cross_entropy(predict(x, w1, b1, w2, b2, w3, b3), y);
    let (g1, gb1, g2, gb2, g3, gb3) = grad(l, (w1, b1, w2, b2, w3, b3));
    let lr = 0.01;
    (w1 - lr * g1, b1 - lr * gb1, w2 - lr * g2, b2 - lr * gb2, w3 - lr * g3, b3 - lr * gb3, l)
}";

fn cases() -> Vec<Case> {
    let n = 16 * 1024 * 1024;
    let sq = 4096 * 4096;
    let m = 2048;
    let (b, i, h, o) = (256usize, 784usize, 512usize, 10usize);
    let params = (i * h + h + h * h + h + h * o + o) as f64;
    let mlp_flops = 3.0 * 2.0 * (b * (i * h + h * h + h * o)) as f64;
    vec![
        Case { name: "gelu", src: "use nn;\nfn main(x) { nn::gelu(x) }", args: vec![f32t(&[n])], bytes: 8.0 * n as f64, flops: 0.0 },
        Case { name: "softmax", src: "use nn;\nfn main(x) { nn::softmax(x) }", args: vec![f32t(&[4096, 4096])], bytes: 8.0 * sq as f64, flops: 0.0 },
        Case {
            name: "layernorm",
            src: "use nn;\nfn main(x, g, b) { nn::layernorm(x, g, b) }",
            args: vec![f32t(&[4096, 4096]), f32t(&[4096]), f32t(&[4096])],
            bytes: 8.0 * sq as f64,
            flops: 0.0,
        },
        Case { name: "matmul", src: "fn main(a, b) { a @ b }", args: vec![f32t(&[m, m]), f32t(&[m, m])], bytes: 12.0 * (m * m) as f64, flops: 2.0 * (m * m * m) as f64 },
        Case {
            name: "mlp_step",
            src: MLP_STEP,
            args: vec![f32t(&[i, h]), f32t(&[h]), f32t(&[h, h]), f32t(&[h]), f32t(&[h, o]), f32t(&[o]), f32t(&[b, i]), Type::new(DType::I32, vec![b])],
            bytes: 4.0 * (3.0 * params + (b * i) as f64),
            flops: mlp_flops,
        },
        // Language v1 operations (bench/v1_ops.sh). Bytes: the input read once and the
        // result written once; `flops` of the einsum: its multiply-adds.
        Case { name: "sort", src: "fn main(x) { sort(x) }", args: vec![f32t(&[1 << 20])], bytes: 8.0 * (1 << 20) as f64, flops: 0.0 },
        Case {
            name: "top_k",
            src: "fn main(x) { top_k(x, 10) }",
            args: vec![f32t(&[4096, 32000])],
            bytes: 4.0 * (4096 * 32000) as f64 + 8.0 * (4096 * 10) as f64,
            flops: 0.0,
        },
        Case { name: "cumsum", src: "fn main(x) { cumsum(x) }", args: vec![f32t(&[n])], bytes: 8.0 * n as f64, flops: 0.0 },
        Case {
            name: "einsum",
            src: "fn main(q, k) { einsum(\"bqhd,bkhd->bhqk\", q, k) }",
            args: vec![f32t(&[8, 512, 8, 64]), f32t(&[8, 512, 8, 64])],
            bytes: 4.0 * (2 * 8 * 512 * 8 * 64 + 8 * 8 * 512 * 512) as f64,
            flops: 2.0 * (8 * 8 * 512 * 512 * 64) as f64,
        },
    ]
}

/// Bandwidth of `a[i] = b[i] + s * c[i]` over 3 × 128 MiB on the rayon pool, in GB/s.
fn triad(reps: usize) -> f64 {
    use rayon::prelude::*;
    let n = 32 * 1024 * 1024;
    let b = vec![1.0f32; n];
    let c = vec![2.0f32; n];
    let mut a = vec![0.0f32; n];
    let chunk = 1 << 16;
    let mut times = Vec::new();
    for _ in 0..reps + 2 {
        let t = Instant::now();
        a.par_chunks_mut(chunk).zip(b.par_chunks(chunk)).zip(c.par_chunks(chunk)).for_each(|((a, b), c)| {
            for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                *a = b + 3.0 * c;
            }
        });
        times.push(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&a);
    12.0 * n as f64 / median(times[2..].to_vec()) / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let reps: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20);
    let only = &args[args.len().min(1)..];
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if wanted("triad") {
        println!("{{\"name\": \"triad\", \"gbps\": {:.2}, \"threads\": {}}}", triad(reps), rayon::current_num_threads());
    }
    for case in cases().into_iter().filter(|c| wanted(c.name)) {
        let g = graph(case.src, &case.args);
        let t = Instant::now();
        let program = tc_cpu::compile(&g).unwrap();
        let compile_ms = t.elapsed().as_secs_f64() * 1e3;
        let scale = if case.name == "mlp_step" { 0.05 } else { 1.0 };
        let inputs: Vec<Tensor> = case.args.iter().enumerate().map(|(k, ty)| input(ty, k as u64 + 1, scale)).collect();
        for _ in 0..3 {
            std::hint::black_box(program.run(&inputs).unwrap());
        }
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            let out = program.run(&inputs).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(out);
        }
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{{\"name\": \"{}\", \"compile_ms\": {:.3}, \"median_ms\": {:.3}, \"min_ms\": {:.3}, \"bytes\": {}, \"flops\": {}, \"peak_bytes\": {}}}",
            case.name,
            compile_ms,
            median(times),
            min,
            case.bytes,
            case.flops,
            program.peak_bytes()
        );
    }
}
