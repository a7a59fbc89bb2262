//! The `tensorc` binary end to end (SPEC §7): every subcommand and every exit status
//! (0 success, 1 compile error, 2 usage error, 3 runtime error).

mod common;

use std::path::Path;

use common::{expect_status, scratch, tensorc, tensorc_env, write};

use tensorc::{load_npy, save_npy, save_safetensors, Tensor};

fn npy(dir: &Path, name: &str, tensor: &Tensor) -> String {
    let path = dir.join(format!("{name}.npy"));
    save_npy(&path, tensor).expect("write npy");
    path.display().to_string()
}

fn f32s(shape: &[usize], values: &[f32]) -> Tensor {
    Tensor::from_f32(shape.to_vec(), values.to_vec()).expect("shape fits")
}

const ADD: &str = "fn main(x: f32[2, 3], b: f32[3]) -> f32[2, 3] { x + b }\n";

#[test]
fn check_ok_and_error() {
    let dir = scratch("check");
    let good = write(&dir, "good.tc", ADD);
    expect_status(&tensorc(&["check", &good]), 0);

    let bad = write(&dir, "bad.tc", "fn main(x) {\n  x + y\n}\n");
    let out = tensorc(&["check", &good, &bad]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("error[E"), "{}", out.stderr);
    assert!(out.stderr.contains("bad.tc:2:7"), "{}", out.stderr);
    assert!(out.stderr.contains("could not compile"), "{}", out.stderr);
    assert!(!out.stderr.contains("good.tc"), "{}", out.stderr);
}

#[test]
fn check_missing_file_is_a_runtime_error() {
    let dir = scratch("check-missing");
    let out = tensorc(&["check", &dir.join("nope.tc").display().to_string()]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("nope.tc"), "{}", out.stderr);
}

#[test]
fn run_prints_and_writes_results() {
    let dir = scratch("run");
    let prog = write(&dir, "prog.tc", ADD);
    let x = npy(&dir, "x", &f32s(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]));
    let b = npy(&dir, "b", &f32s(&[3], &[10.0, 20.0, 30.0]));
    let out_dir = dir.join("out");
    let out = tensorc(&["run", &prog, &format!("x={x}"), &format!("b={b}"), "-o", &out_dir.display().to_string()]);
    expect_status(&out, 0);
    assert!(out.stdout.starts_with("f32[2, 3]\n"), "{}", out.stdout);
    let result = load_npy(out_dir.join("0.npy")).expect("0.npy");
    assert_eq!(result, f32s(&[2, 3], &[10.0, 21.0, 32.0, 13.0, 24.0, 35.0]));
    assert!(!out_dir.join("1.npy").exists());
}

#[test]
fn run_flattens_nested_tuples_depth_first() {
    let dir = scratch("run-tuples");
    let prog = write(&dir, "prog.tc", "fn step(x) { (sum(x), (x * 2.0, x + 1.0)) }\n");
    let x = npy(&dir, "x", &f32s(&[2], &[1.0, 2.0]));
    let out_dir = dir.join("out");
    let out = tensorc(&["run", &prog, "-e", "step", &format!("x={x}"), "-o", &out_dir.display().to_string()]);
    expect_status(&out, 0);
    assert_eq!(load_npy(out_dir.join("0.npy")).expect("0.npy"), Tensor::scalar_f32(3.0));
    assert_eq!(load_npy(out_dir.join("1.npy")).expect("1.npy"), f32s(&[2], &[2.0, 4.0]));
    assert_eq!(load_npy(out_dir.join("2.npy")).expect("2.npy"), f32s(&[2], &[2.0, 3.0]));
    assert!(!out_dir.join("3.npy").exists());
}

#[test]
fn run_writes_no_result_when_one_cannot_be_written() {
    let dir = scratch("run-bf16");
    // .npy has no bf16: the second result cannot be written, so the first is not either.
    let prog = write(&dir, "prog.tc", "fn main(x: f32[2]) { (x * 2.0, x as bf16) }\n");
    let x = npy(&dir, "x", &f32s(&[2], &[1.0, 2.0]));
    let out_dir = dir.join("out");
    let out = tensorc(&["run", &prog, &format!("x={x}"), "-o", &out_dir.display().to_string()]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("1.npy") && out.stderr.contains("bf16"), "{}", out.stderr);
    assert!(!out_dir.exists(), "nothing written: {:?}", std::fs::read_dir(&out_dir).map(|d| d.count()));
}

#[test]
fn run_scalars_defaults_and_safetensors_tuples() {
    let dir = scratch("run-args");
    let prog = write(&dir, "prog.tc", "fn main(p, s: f32, k = 2.0) {\n    let (a, b) = p;\n    (a + b) * s * k\n}\n");
    let p = dir.join("p.safetensors");
    let tensors = vec![("p.1".to_string(), f32s(&[2], &[10.0, 20.0])), ("p.0".to_string(), f32s(&[2], &[1.0, 2.0]))];
    save_safetensors(&p, &tensors).expect("write safetensors");
    let out_dir = dir.join("out");
    let out = tensorc(&["run", &prog, &format!("p={}", p.display()), "s=0.5", "-o", &out_dir.display().to_string()]);
    expect_status(&out, 0);
    assert_eq!(load_npy(out_dir.join("0.npy")).expect("0.npy"), f32s(&[2], &[11.0, 22.0]));
}

/// A number for an unannotated parameter is typed like a literal: it takes the other
/// operand's dtype, on every command that specialises with it.
#[test]
fn numbers_for_unannotated_parameters_take_the_other_operands_dtype() {
    let dir = scratch("weak-scalars");
    let prog = write(&dir, "prog.tc", "fn main(x, s) { x * s }\n");
    let x64 = npy(&dir, "x64", &Tensor::from_f64_values(tensorc::DType::F64, vec![2], &[1.0, 2.0]).unwrap());
    let x32 = npy(&dir, "x32", &f32s(&[2], &[1.0, 2.0]));
    for backend in ["interp", "cpu"] {
        let out_dir = dir.join(format!("out-{backend}"));
        let out = tensorc(&["run", &prog, &format!("x={x64}"), "s=0.1", "-o", &out_dir.display().to_string(), "--backend", backend]);
        expect_status(&out, 0);
        let result = load_npy(out_dir.join("0.npy")).expect("0.npy");
        assert_eq!(result.dtype(), tensorc::DType::F64);
        // 0.1 reaches f64 through f32, as a literal of the default dtype would not: the
        // value is the f32 nearest 0.1, widened.
        assert_eq!(result.data().to_f64_vec(), vec![f64::from(0.1f32), 2.0 * f64::from(0.1f32)]);
        let out = tensorc(&["run", &prog, &format!("x={x32}"), "s=2", "--backend", backend]);
        expect_status(&out, 0);
        assert!(out.stdout.contains("f32[2]") && out.stdout.contains("[2., 4.]"), "{}", out.stdout);
    }
    let out = tensorc(&["emit", &prog, &format!("x={x32}"), "s=2", "--stage", "ir"]);
    expect_status(&out, 0);
    assert!(out.stdout.contains("cast %1 : f32"), "{}", out.stdout);
    // Annotated, the number takes the annotation's dtype and stays strong.
    let annotated = write(&dir, "annotated.tc", "fn main(x, s: f32) { x * s }\n");
    let out = tensorc(&["run", &annotated, &format!("x={x64}"), "s=2"]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("E0302"), "{}", out.stderr);
}

#[test]
fn backends() {
    let dir = scratch("backends");
    let prog = write(&dir, "prog.tc", "fn main() { 1.0 }\n");
    expect_status(&tensorc(&["run", &prog, "--backend", "interp"]), 0);
    expect_status(&tensorc(&["run", &prog, "--backend", "cpu"]), 0);
    let out = tensorc(&["run", &prog, "--backend", "wgpu"]);
    expect_status(&out, 0);
    assert_eq!(out.stdout, tensorc(&["run", &prog, "--backend", "cpu"]).stdout);
    let out = tensorc(&["run", &prog, "--backend", "mlir"]);
    if cfg!(feature = "mlir") {
        expect_status(&out, 0);
        assert_eq!(out.stdout, tensorc(&["run", &prog, "--backend", "cpu"]).stdout);
    } else {
        expect_status(&out, 2);
        assert!(out.stderr.contains("backend `mlir` is not available in this build; available: cpu, interp, wgpu"), "{}", out.stderr);
    }
    let out = tensorc(&["run", &prog, "--backend", "tpu"]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("tpu"), "{}", out.stderr);
}

#[test]
fn no_gpu_adapter_is_a_clear_error() {
    let dir = scratch("no_gpu");
    let prog = write(&dir, "prog.tc", "fn main() { 1.0 }\n");
    // No Vulkan driver manifest: the loader finds no device.
    let out = tensorc_env(&["run", &prog, "--backend", "wgpu"], &[("VK_ICD_FILENAMES", "/nonexistent.json"), ("VK_DRIVER_FILES", "/nonexistent.json")]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("no GPU adapter found") && out.stderr.contains("mesa-vulkan-drivers"), "{}", out.stderr);
    let out = tensorc_env(&["run", &prog, "--backend", "wgpu"], &[("TENSORC_WGPU_ADAPTER", "no such gpu")]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("TENSORC_WGPU_ADAPTER=\"no such gpu\" matches no adapter; available: 0: "), "{}", out.stderr);
}

#[test]
fn usage_errors_name_the_argument() {
    let dir = scratch("usage");
    let prog = write(&dir, "prog.tc", ADD);
    let x = npy(&dir, "x", &f32s(&[2, 3], &[0.0; 6]));
    let b = npy(&dir, "b", &f32s(&[3], &[0.0; 3]));

    let out = tensorc(&["run", &prog, &format!("x={x}"), &format!("b={b}"), &format!("bias={b}")]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("`bias`"), "{}", out.stderr);

    let out = tensorc(&["run", &prog, &format!("x={x}")]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("`b`"), "{}", out.stderr);

    let out = tensorc(&["run", &prog, "x"]);
    expect_status(&out, 2);

    expect_status(&tensorc(&["run", &prog, "--no-such-flag"]), 2);
    expect_status(&tensorc(&[]), 2);
    expect_status(&tensorc(&["--help"]), 0);
}

#[test]
fn missing_entry_is_a_compile_error() {
    let dir = scratch("entry");
    let prog = write(&dir, "prog.tc", ADD);
    let out = tensorc(&["run", &prog, "-e", "nope"]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
}

#[test]
fn bad_input_files_are_runtime_errors_naming_the_argument() {
    let dir = scratch("bad-input");
    let prog = write(&dir, "prog.tc", "fn main(x) { x }\n");
    let garbage = write(&dir, "garbage.npy", "\u{93}NUMPY garbage");
    let out = tensorc(&["run", &prog, &format!("x={garbage}")]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("`x`"), "{}", out.stderr);

    let good = dir.join("good.npy");
    save_npy(&good, &f32s(&[4], &[1.0, 2.0, 3.0, 4.0])).expect("write npy");
    let bytes = std::fs::read(&good).expect("read npy");
    let truncated = dir.join("truncated.npy");
    std::fs::write(&truncated, &bytes[..bytes.len() - 3]).expect("write truncated");
    let out = tensorc(&["run", &prog, &format!("x={}", truncated.display())]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("`x`"), "{}", out.stderr);

    let out = tensorc(&["run", &prog, &format!("x={}", dir.join("absent.npy").display())]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("`x`"), "{}", out.stderr);
}

#[test]
fn shape_mismatch_is_a_runtime_error() {
    let dir = scratch("mismatch");
    let prog = write(&dir, "prog.tc", "fn main(x: f32[2, 3]) { x }\n");
    let x = npy(&dir, "x", &f32s(&[4], &[0.0; 4]));
    let out = tensorc(&["run", &prog, &format!("x={x}")]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("`x`"), "{}", out.stderr);
    assert!(out.stderr.contains("f32[4]"), "{}", out.stderr);
}

#[test]
fn compile_errors_exit_1_with_location() {
    let dir = scratch("compile-error");
    let prog = write(&dir, "prog.tc", "fn main(x: f32[2, 3], b: f32[4]) {\n    x + b\n}\n");
    let x = npy(&dir, "x", &f32s(&[2, 3], &[0.0; 6]));
    let b = npy(&dir, "b", &f32s(&[4], &[0.0; 4]));
    let out = tensorc(&["run", &prog, &format!("x={x}"), &format!("b={b}")]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("error[E"), "{}", out.stderr);
    assert!(out.stderr.contains(":2:5"), "{}", out.stderr);
}

#[test]
fn emit_stages() {
    let dir = scratch("emit");
    let prog = write(&dir, "prog.tc", "fn main(x, y) { exp(x) * 1.0 + y }\n");

    let out = tensorc(&["emit", &prog, "--stage", "ast"]);
    expect_status(&out, 0);
    assert!(out.stdout.contains("main"), "{}", out.stdout);

    let y = npy(&dir, "y", &f32s(&[3], &[1.0, 2.0, 3.0]));
    let ir = tensorc(&["emit", &prog, "-e", "main", "--stage", "ir", "x=f32[2,3]", &format!("y={y}")]);
    expect_status(&ir, 0);
    assert!(ir.stdout.contains("exp"), "{}", ir.stdout);
    let opt = tensorc(&["emit", &prog, "-e", "main", "--stage", "opt", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&opt, 0);
    assert!(opt.stdout.contains("exp"), "{}", opt.stdout);

    let kernels = tensorc(&["emit", &prog, "-e", "main", "--stage", "kernels", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&kernels, 0);
    assert!(kernels.stdout.contains("loop") && kernels.stdout.contains("exp"), "{}", kernels.stdout);
    let clif = tensorc(&["emit", &prog, "-e", "main", "--stage", "clif", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&clif, 0);
    assert!(clif.stdout.contains("function"), "{}", clif.stdout);

    expect_status(&tensorc(&["emit", &prog, "--stage", "ir", "x=f32[2,3]"]), 2);
    let wgsl = tensorc(&["emit", &prog, "-e", "main", "--stage", "wgsl", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&wgsl, 0);
    assert!(wgsl.stdout.contains("@compute") && wgsl.stdout.contains("exp_f("), "{}", wgsl.stdout);
    let mlir = tensorc(&["emit", &prog, "--stage", "mlir", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&mlir, 0);
    assert!(mlir.stdout.contains("linalg.generic") && mlir.stdout.contains("math.exp"), "{}", mlir.stdout);
    let hlo = tensorc(&["emit", &prog, "--stage", "stablehlo", "x=f32[2, 3]", "y=f32[3]"]);
    expect_status(&hlo, 0);
    assert!(hlo.stdout.contains("stablehlo.exponential"), "{}", hlo.stdout);
    let out = tensorc(&["emit", &prog, "--stage", "nonsense"]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("ast, ir, opt, kernels, clif, wgsl, mlir, stablehlo"), "{}", out.stderr);
    let bad = write(&dir, "bad.tc", "fn main( {\n");
    expect_status(&tensorc(&["emit", &bad, "--stage", "ast"]), 1);

    let help = tensorc(&["emit", "--help"]);
    expect_status(&help, 0);
    assert!(help.stdout.contains(&tensorc::emit::STAGES.join(", ")), "the help lists every stage: {}", help.stdout);
}

#[test]
fn a_byte_order_mark_is_skipped_and_takes_no_column() {
    let dir = scratch("bom");
    let good = write(&dir, "good.tc", format!("\u{feff}{ADD}"));
    expect_status(&tensorc(&["check", &good]), 0);
    let bad = write(&dir, "bad.tc", "\u{feff}fn main() { [1.0, 2.0] + [1.0, 2.0, 3.0] }\n");
    let out = tensorc(&["check", &bad]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("bad.tc:1:13"), "the column of the text without the mark: {}", out.stderr);
    assert!(!out.stderr.contains("E0002"), "{}", out.stderr);
    let out = tensorc(&["emit", &good, "--stage", "ast"]);
    expect_status(&out, 0);
    assert!(out.stdout.starts_with("(fn main"), "{}", out.stdout);
}

#[test]
fn repl_errors_in_a_loaded_file_name_the_file() {
    let dir = scratch("repl-file");
    let bad = write(&dir, "bad.tc", "fn f() {\n    let y = [1.0, 2.0] + [1.0, 2.0, 3.0];\n    y\n}\n");
    let out = tensorc(&["repl", &bad]);
    expect_status(&out, 0);
    assert!(out.stderr.contains(&format!("--> {bad}:2:13")), "{}", out.stderr);
}

/// The keys and numbers of a flat JSON object of numbers.
fn parse_flat_json(text: &str) -> Vec<(String, f64)> {
    let inner = text.trim().strip_prefix('{').and_then(|t| t.strip_suffix('}')).expect("a JSON object");
    inner
        .split(',')
        .map(|pair| {
            let (key, value) = pair.split_once(':').expect("key: value");
            let key = key.trim().strip_prefix('"').and_then(|k| k.strip_suffix('"')).expect("quoted key");
            (key.to_string(), value.trim().parse().expect("a number"))
        })
        .collect()
}

#[test]
fn bench_json() {
    let dir = scratch("bench");
    let prog = write(&dir, "prog.tc", "fn main(a, b) { a @ b }\n");
    let a = npy(&dir, "a", &f32s(&[4, 5], &[1.0; 20]));
    let b = npy(&dir, "b", &f32s(&[5, 6], &[1.0; 30]));
    let out = tensorc(&["bench", &prog, "-e", "main", &format!("a={a}"), &format!("b={b}"), "--json", "--reps", "3"]);
    expect_status(&out, 0);
    let fields = parse_flat_json(&out.stdout);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["median_ms", "min_ms", "compile_ms", "bytes", "flops", "peak_bytes", "h2d_bytes", "d2h_bytes"]);
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v).expect("key");
    assert!(get("min_ms") <= get("median_ms"));
    assert_eq!(get("bytes"), (4.0 * 5.0 + 5.0 * 6.0 + 4.0 * 6.0) * 4.0);
    assert_eq!(get("flops"), 2.0 * 4.0 * 6.0 * 5.0);
    assert_eq!((get("h2d_bytes"), get("d2h_bytes")), (0.0, 0.0), "the CPU moves nothing to a device");

    // On the GPU, one call uploads both inputs and reads the product back.
    let gpu = tensorc(&["bench", &prog, &format!("a={a}"), &format!("b={b}"), "--json", "--reps", "3", "--backend", "wgpu"]);
    expect_status(&gpu, 0);
    let fields = parse_flat_json(&gpu.stdout);
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v).expect("key");
    assert_eq!(get("h2d_bytes"), (20.0 + 30.0) * 4.0);
    assert_eq!(get("d2h_bytes"), 24.0 * 4.0);

    let text = tensorc(&["bench", &prog, &format!("a={a}"), &format!("b={b}"), "--reps", "2"]);
    expect_status(&text, 0);
    assert!(text.stdout.contains("GFLOP/s"), "{}", text.stdout);
}

#[test]
fn donate_gives_arguments_up_to_results() {
    let dir = scratch("donate");
    let prog = write(&dir, "sgd.tc", "fn main(w, g) { w - 0.5 * g }\n");
    let w = npy(&dir, "w", &f32s(&[64, 64], &[1.0; 4096]));
    let g = npy(&dir, "g", &f32s(&[64, 64], &[2.0; 4096]));
    let (w, g) = (format!("w={w}"), format!("g={g}"));
    let out_dir = dir.join("out");
    let out = tensorc(&["run", &prog, &w, &g, "--donate", "w", "-o", &out_dir.display().to_string()]);
    expect_status(&out, 0);
    assert_eq!(load_npy(out_dir.join("0.npy")).expect("0.npy"), f32s(&[64, 64], &[0.0; 4096]));
    // The result goes into `w`'s storage: the CPU program allocates nothing else.
    let peak = |extra: &[&str]| {
        let out = tensorc(&[&["bench", prog.as_str(), w.as_str(), g.as_str(), "--json", "--reps", "1"], extra].concat());
        expect_status(&out, 0);
        parse_flat_json(&out.stdout).into_iter().find(|(k, _)| k == "peak_bytes").map(|(_, v)| v).expect("peak_bytes")
    };
    assert_eq!(peak(&[]), 4096.0 * 4.0);
    assert_eq!(peak(&["--donate", "w"]), 0.0);
    let bad = tensorc(&["run", &prog, &w, &g, "--donate", "x"]);
    expect_status(&bad, 2);
    assert!(bad.stderr.contains("--donate x"), "{}", bad.stderr);
}

#[test]
fn precision_bf16_rounds_matmul_operands_on_every_backend() {
    let dir = scratch("precision");
    // 1 + 2^-9 has no bf16 form: under bf16 precision it is 1, so the product is 3.
    let prog = write(&dir, "prog.tc", "fn main(x: f32[1, 1], w: f32[1, 1]) { (x @ w, x + 0.0) }\n");
    let x = format!("x={}", npy(&dir, "x", &f32s(&[1, 1], &[1.0 + 2f32.powi(-9)])));
    let w = format!("w={}", npy(&dir, "w", &f32s(&[1, 1], &[3.0])));
    let mut backends = vec!["interp", "cpu"];
    if cfg!(feature = "mlir") {
        backends.push("mlir");
    }
    for backend in backends {
        let exact = tensorc(&["run", &prog, "--backend", backend, &x, &w]);
        expect_status(&exact, 0);
        assert!(exact.stdout.contains("3.0058"), "{backend}: {}", exact.stdout);
        let low = tensorc(&["run", &prog, "--backend", backend, "--precision", "bf16", &x, &w]);
        expect_status(&low, 0);
        assert!(low.stdout.contains("[[3.]]") && low.stdout.contains("1.0019"), "{backend}: {}", low.stdout);
    }
    let out = tensorc(&["run", &prog, "--backend", "wgpu", "--precision", "bf16", &x, &w]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("--precision bf16 is not available on --backend wgpu (WGSL has no bf16)"), "{}", out.stderr);
    let out = tensorc(&["run", &prog, "--precision", "f8", &x, &w]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("unknown precision `f8`; choose f32 or bf16"), "{}", out.stderr);
}

#[test]
fn amx_needs_the_mlir_backend_and_an_amx_cpu() {
    let dir = scratch("amx");
    let prog = write(&dir, "prog.tc", "fn main(a: f32[2, 2], b: f32[2, 2]) { a @ b }\n");
    let a = npy(&dir, "a", &f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]));
    let b = npy(&dir, "b", &f32s(&[2, 2], &[1.0, 0.0, 0.0, 1.0]));
    let (a, b) = (format!("a={a}"), format!("b={b}"));
    let out = tensorc(&["run", &prog, "--amx", &a, &b]);
    expect_status(&out, 2);
    assert!(out.stderr.contains("--amx needs --backend mlir (this is --backend cpu)"), "{}", out.stderr);
    if !cfg!(feature = "mlir") {
        return;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let has_amx = cpuinfo.lines().any(|l| l.starts_with("flags") && l.contains(" amx_tile") && l.contains(" amx_bf16"));
    let out = tensorc(&["run", &prog, "--backend", "mlir", "--amx", "--precision", "bf16", &a, &b]);
    if has_amx {
        expect_status(&out, 0);
        assert!(out.stdout.contains("[[1.0, 2.0], [3.0, 4.0]]"), "{}", out.stdout);
    } else {
        expect_status(&out, 3);
        assert!(out.stderr.contains("--amx: this CPU (") && out.stderr.contains("has no AMX: it lacks amx-tile"), "{}", out.stderr);
    }
}

#[test]
fn a_file_that_is_not_utf8_is_a_compile_error_at_its_first_bad_byte() {
    let dir = scratch("not-utf8");
    // 0xE9 is Latin-1 `é`: not UTF-8 on its own, here in a comment.
    let bad = write(&dir, "bad.tc", b"fn main() {\n    1.0 // caf\xe9\n}\n");
    for command in [&["check", &bad][..], &["run", &bad], &["emit", &bad, "--stage", "ast"]] {
        let out = tensorc(command);
        expect_status(&out, 1);
        assert!(out.stderr.contains("error[E0002]: invalid UTF-8"), "{command:?}: {}", out.stderr);
        assert!(out.stderr.contains("bad.tc:2:15"), "{command:?}: {}", out.stderr);
    }
    // The same for a module that `use` loads.
    write(&dir, "helper.tc", b"// Helpers.\npub fn one() {\n    1.0 \xff\xfe\n}\n");
    let main = write(&dir, "main.tc", "use helper;\nfn main() { helper::one() }\n");
    let out = tensorc(&["check", &main]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("error[E0002]: invalid UTF-8"), "{}", out.stderr);
    assert!(out.stderr.contains("helper.tc:3:9"), "{}", out.stderr);
    assert!(!out.stderr.contains("E0101"), "the module is found: {}", out.stderr);
}

#[test]
fn run_writes_all_results_to_one_safetensors_file() {
    let dir = scratch("run-safetensors");
    let prog = write(&dir, "prog.tc", "fn main(x: f32[2]) { (x * 2.0, (x as bf16, sum(x))) }\n");
    let x = npy(&dir, "x", &f32s(&[2], &[1.0, 2.0]));
    let path = dir.join("results.safetensors");
    let out = tensorc(&["run", &prog, &format!("x={x}"), "-o", &path.display().to_string()]);
    expect_status(&out, 0);
    let mut tensors = tensorc::load_safetensors(&path).expect("one safetensors file");
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0", "1", "2"]);
    assert_eq!(tensors[0].1, f32s(&[2], &[2.0, 4.0]));
    assert_eq!(tensors[1].1.dtype(), tensorc::DType::BF16);
    assert_eq!(tensors[1].1.data().to_f64_vec(), [1.0, 2.0]);
    assert_eq!(tensors[2].1, Tensor::scalar_f32(3.0));
    // A directory still gets .npy files, and a bf16 result names the way out.
    let out = tensorc(&["run", &prog, &format!("x={x}"), "-o", &dir.join("npy").display().to_string()]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("-o PATH.safetensors"), "{}", out.stderr);
}

#[test]
fn bench_says_when_a_function_was_computed_at_compile_time() {
    let dir = scratch("bench-constant");
    let prog = write(&dir, "prog.tc", "fn main() { sum([1.0, 2.0, 3.0]) * 2.0 }\nfn twice(x: f32[4]) { x * 2.0 }\n");
    let out = tensorc(&["bench", &prog, "--reps", "3"]);
    expect_status(&out, 0);
    assert!(out.stderr.contains("`main` is computed entirely at compile time"), "{}", out.stderr);
    let x = npy(&dir, "x", &f32s(&[4], &[1.0, 2.0, 3.0, 4.0]));
    let out = tensorc(&["bench", &prog, "-e", "twice", &format!("x={x}"), "--reps", "3", "--json"]);
    expect_status(&out, 0);
    assert!(!out.stderr.contains("compile time"), "{}", out.stderr);
}

#[test]
fn emit_help_mentions_types_without_data() {
    let out = tensorc(&["emit", "--help"]);
    expect_status(&out, 0);
    assert!(out.stdout.contains("NAME=f32[2,3]"), "{}", out.stdout);
}

#[test]
fn a_floor_division_written_as_a_comment_gets_a_hint() {
    let dir = scratch("floor-div-hint");
    let bad = write(&dir, "bad.tc", "fn main(x) {\n    let y = x // 2;\n    y\n}\n");
    let out = tensorc(&["check", &bad]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("bad.tc:3:5"), "{}", out.stderr);
    assert!(out.stderr.contains("floor_div(a, b)"), "{}", out.stderr);
    let operator = write(&dir, "operator.tc", "fn main(x) {\n    let y = x * // 2\n    ;\n    y\n}\n");
    let out = tensorc(&["check", &operator]);
    expect_status(&out, 1);
    assert!(out.stderr.contains("floor_div(a, b)"), "{}", out.stderr);
    // A comment in prose after a complete line is no such suspect.
    let prose = write(&dir, "prose.tc", "fn main(x) {\n    let y = x + 1 // add one\n    y\n}\n");
    let out = tensorc(&["check", &prose]);
    expect_status(&out, 1);
    assert!(!out.stderr.contains("floor_div"), "{}", out.stderr);
}

#[test]
fn inputs_larger_than_memory_are_refused_before_reading() {
    let dir = scratch("huge-input");
    let prog = write(&dir, "prog.tc", "fn main(x) { x * 2.0 }\n");
    // 8 TiB, sparse: no disk space taken, but more than any test machine's memory.
    let huge = dir.join("huge.npy");
    std::fs::File::create(&huge).and_then(|f| f.set_len(1 << 43)).expect("a sparse file");
    let out = tensorc(&["run", &prog, &format!("x={}", huge.display())]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("huge.npy needs 8.8 TB of memory"), "{}", out.stderr);
    let out = tensorc(&["bench", &prog, "x=1.0", "--reps", "18446744073709551615"]);
    expect_status(&out, 3);
    assert!(out.stderr.contains("--reps 18446744073709551615 needs"), "{}", out.stderr);
}

#[test]
fn gpu_runs_print_no_driver_error_without_xdg_runtime_dir() {
    let dir = scratch("xdg-runtime-dir");
    let prog = write(&dir, "prog.tc", "fn main(x) { x * 2.0 }\n");
    // Mesa's Vulkan drivers complain about an unset XDG_RUNTIME_DIR; tensorc sets one.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tensorc")).args(["run", &prog, "x=1.5", "--backend", "wgpu"]).env_remove("XDG_RUNTIME_DIR").output().expect("run tensorc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "f32\n3.");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}
