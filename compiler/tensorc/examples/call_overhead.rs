//! The per-call overhead of a tiny compiled function called from Rust: `x + 1` on 16
//! f32 elements, through `Module::call` (argument types looked up in the module's
//! cache) and through a held `Compiled` with `Module::run_refs` (no lookup at all).
//! Prints one line per path: `rust <path> <min ns> <median ns>` over blocks of calls.
//! `bench/call_overhead.sh` runs it beside C, Python, JAX and NumPy.

use std::time::Instant;

use tensorc::{ArgValue, Backend, Session, Tensor, Type};

const BLOCK: usize = 100;
const BLOCKS: usize = 300;

/// Nanoseconds per call: the minimum and median over `BLOCKS` blocks of `BLOCK` calls.
fn measure(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..BLOCK * 10 {
        f();
    }
    let mut per_call: Vec<f64> = (0..BLOCKS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..BLOCK {
                f();
            }
            start.elapsed().as_nanos() as f64 / BLOCK as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    (per_call[0], per_call[BLOCKS / 2])
}

fn main() -> Result<(), tensorc::Error> {
    let session = Session::new(Backend::Cpu)?;
    let module = session.compile_source("add_one.tc", "fn add_one(x) { x + 1.0 }")?;
    let x = Tensor::from_f32(vec![16], (0..16).map(|i| i as f32).collect()).expect("16 elements");
    let check = module.call("add_one", std::slice::from_ref(&x))?;
    assert_eq!(check[0].as_f32().expect("f32")[15], 16.0);

    let (min, median) = measure(|| {
        let out = module
            .call("add_one", std::slice::from_ref(&x))
            .expect("runs");
        std::hint::black_box(out);
    });
    println!("rust Module::call {min:.0} {median:.0}");

    let compiled = module.compile(
        "add_one",
        &[Some(ArgValue::Tensor(Type::new(x.dtype(), vec![16])))],
    )?;
    let views = [x.view()];
    let (min, median) = measure(|| {
        let out = module.run_refs(&compiled, &views).expect("runs");
        std::hint::black_box(out);
    });
    println!("rust Module::run_refs {min:.0} {median:.0}");
    Ok(())
}
