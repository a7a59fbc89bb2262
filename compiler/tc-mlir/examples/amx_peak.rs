//! The measured AMX peak of this machine: bf16 GFLOP/s on one thread and on every core.
//! `cargo run --release -p tc-mlir --features jit --example amx_peak [ITERATIONS]`
//! (needs an AMX CPU; elsewhere it says what the CPU lacks).

fn main() {
    let iterations: u64 = std::env::args().nth(1).map(|s| s.parse().expect("ITERATIONS is a number")).unwrap_or(2_000_000);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    for threads in [1, cores] {
        match tc_mlir::jit::amx_peak_gflops(iterations, threads) {
            Ok(gflops) => println!("{{\"threads\": {threads}, \"gflops\": {gflops:.1}}}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
