//! Data-driven pass tests. Each `tests/cases/*.ir` file holds an input graph, a line
//! `// expect after PASS:` (PASS is `simplify` or a pass name from `tc_opt::PASSES`),
//! and the expected text of the graph after it. Comments before the graph say what the
//! case is about.
//!
//! Every case is also checked against the reference interpreter: the graph before and
//! after computes the same values on deterministic inputs.
//!
//! `UPDATE_EXPECT=1 cargo test -p tc-opt --test cases` rewrites the expectations with
//! the current output (review the diff).

use std::path::{Path, PathBuf};
use tc_ir::text::{parse, print};
use tc_ir::verify::verify;
use tc_ir::{Graph, Type};
use tc_tensor::{DType, Data, Tensor};

const MARKER: &str = "// expect after ";

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|e| e == "ir"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if let Err(message) = check_case(file, update) {
            failures.push(format!("--- {name}\n{message}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}

fn check_case(file: &Path, update: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let Some(at) = text.find(MARKER) else {
        return Err(format!("no `{MARKER}PASS:` line"));
    };
    let (input, rest) = text.split_at(at);
    let (directive, expected) = rest.split_once('\n').unwrap_or((rest, ""));
    let pass = directive[MARKER.len()..].trim().trim_end_matches(':').trim();
    let graph = parse(input).map_err(|e| format!("input: {e}"))?;
    verify(&graph).map_err(|e| format!("input does not verify: {e}"))?;
    let out = match pass {
        "simplify" => tc_opt::simplify(&graph),
        pass => tc_opt::run_pass(pass, &graph).map_err(|e| e.to_string())?,
    };
    verify(&out).map_err(|e| format!("output does not verify: {e}\n{}", print(&out)))?;
    let got = print(&out);
    if got.trim() != expected.trim() {
        if update {
            let updated = format!("{input}{directive}\n{got}");
            std::fs::write(file, updated).map_err(|e| e.to_string())?;
        } else {
            return Err(format!("expected:\n{}\ngot:\n{got}", expected.trim_end()));
        }
    }
    same_values(&graph, &out)
}

/// Run both graphs on the same deterministic inputs and compare the outputs.
fn same_values(before: &Graph, after: &Graph) -> Result<(), String> {
    let inputs: Vec<Tensor> = before.param_types().iter().enumerate().map(|(k, t)| sample_input(k, t)).collect();
    let want = tc_interp::run(before, &inputs).map_err(|e| format!("interpreter on the input: {e}"))?;
    let got = tc_interp::run(after, &inputs).map_err(|e| format!("interpreter on the output: {e}"))?;
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        if !same_tensor(w, g) {
            return Err(format!("output {i} differs:\nbefore {w:?}\nafter  {g:?}"));
        }
    }
    Ok(())
}

/// Values that exercise signs, zero and fractions: `(i * 37 + k * 11) % 23 - 9` for
/// element `i` of parameter `k`; for floats halved, with -9, 12 and 13 standing for
/// `-0.0`, `inf` and `nan`.
fn sample_input(k: usize, ty: &Type) -> Tensor {
    let n = ty.num_elements();
    let ints: Vec<i64> = (0..n).map(|i| ((i * 37 + k * 11) % 23) as i64 - 9).collect();
    let float = |v: i64| match v {
        -9 => -0.0,
        12 => f64::INFINITY,
        13 => f64::NAN,
        v => v as f64 / 2.0,
    };
    let data = match ty.dtype {
        DType::Bool => Data::Bool(ints.iter().map(|v| v % 2 == 0).collect()),
        DType::U8 => Data::from_i64(DType::U8, &ints.iter().map(|v| v + 9).collect::<Vec<_>>()),
        d if d.is_int() => Data::from_i64(d, &ints),
        d => Data::from_f64(d, &ints.iter().map(|&v| float(v)).collect::<Vec<_>>()),
    };
    Tensor::new(ty.shape.clone(), data).unwrap()
}

/// Equal values: bit for bit, except that any NaN equals any NaN.
fn same_tensor(a: &Tensor, b: &Tensor) -> bool {
    if a.dtype() != b.dtype() || a.shape() != b.shape() {
        return false;
    }
    if a.dtype().is_float() {
        let (x, y) = (a.data().to_f64_vec(), b.data().to_f64_vec());
        x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
    } else {
        a.data().to_le_bytes() == b.data().to_le_bytes()
    }
}
