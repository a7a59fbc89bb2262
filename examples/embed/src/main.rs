//! Embedding tensorc in a Rust program (SPEC §9): compile a `.tc` model, build tensors
//! from slices, call a function twice (the second call with the same input types is
//! served from the module's cache) and write a result as `.npy`.
//!
//! `cargo run -p tensorc-embed-example -- [OUT.npy]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tensorc::{Backend, Error, Session, Tensor};

fn main() -> ExitCode {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tensorc-embed-probabilities.npy"));
    match run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Compile(diagnostics)) => {
            eprint!("{}", diagnostics.render(false));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A tensor from a shape and f32 values; the shapes below are written to fit.
fn tensor(shape: &[usize], values: &[f32]) -> Result<Tensor, Error> {
    Tensor::from_slice(shape.to_vec(), values).map_err(|e| Error::Runtime(e.to_string()))
}

fn run(out: &Path) -> Result<(), Error> {
    let session = Session::new(Backend::default())?;
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("model.tc");
    let module = session.compile_file(&model)?;

    // Two features, three classes.
    let w = tensor(&[2, 3], &[1.0, 0.0, -1.0, 0.5, 0.5, 0.5])?;
    let b = tensor(&[3], &[0.0, 0.1, 0.2])?;

    let first = tensor(&[2, 2], &[1.0, 2.0, -1.0, 0.5])?;
    let probabilities = module.call("classify", &[first, w.clone(), b.clone()])?;
    println!("first batch: {}", probabilities[0].type_string());
    println!("compiled specialisations: {}", module.compile_count());

    // Same types, new values: no compilation.
    let second = tensor(&[2, 2], &[0.0, 0.0, 3.0, -3.0])?;
    let probabilities = module.call("classify", &[second, w, b])?;
    println!("compiled specialisations after the second call: {}", module.compile_count());
    if let Some(rows) = probabilities[0].as_slice::<f32>() {
        for (i, row) in rows.chunks(3).enumerate() {
            println!("example {i}: {row:?}");
        }
    }

    tensorc::save_npy(out, &probabilities[0])?;
    println!("wrote {}", out.display());
    Ok(())
}
