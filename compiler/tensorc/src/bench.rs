//! `tensorc bench`: a warm-up run, then repetitions; the median and minimum time with
//! the bytes and flops of [`tensorc::cost`], as text or as one JSON object.

use std::time::{Duration, Instant};

use tensorc::cost::{self, Cost};
use tensorc::{Compiled, Error, Module, Tensor};

/// Without `--reps`: as many repetitions as fit in about this long ...
const TARGET: Duration = Duration::from_secs(1);
/// ... but at least this many, and at most this many.
const MIN_REPS: usize = 5;
const MAX_REPS: usize = 100_000;

pub struct Measurement {
    pub median: Duration,
    pub min: Duration,
    pub reps: usize,
    pub compile: Duration,
    pub cost: Cost,
    /// Measured by the backend on the warm-up run.
    pub peak_bytes: usize,
}

/// Time `compiled` on `inputs`: one warm-up run, then `reps` runs (or as many as fit
/// in about a second).
pub fn measure(module: &Module, compiled: &Compiled, inputs: &[Tensor], reps: Option<usize>) -> Result<Measurement, Error> {
    let start = Instant::now();
    let (_, peak_bytes) = module.run_measured(compiled, inputs)?;
    let warm_up = start.elapsed();
    let reps = reps.unwrap_or_else(|| {
        let fit = TARGET.as_nanos() / warm_up.as_nanos().max(1);
        (fit as usize).clamp(MIN_REPS, MAX_REPS)
    })
    .max(1);
    let mut times = Vec::with_capacity(reps.min(MAX_REPS));
    for _ in 0..reps {
        let start = Instant::now();
        module.run(compiled, inputs)?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(Measurement {
        median: times[times.len() / 2],
        min: times[0],
        reps,
        compile: compiled.compile_time,
        cost: cost::estimate(&compiled.graph),
        peak_bytes,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Per second, in units of 10^9.
fn giga_per_second(amount: u64, time: Duration) -> f64 {
    amount as f64 / time.as_secs_f64().max(1e-12) / 1e9
}

impl Measurement {
    /// `{"median_ms": .., "min_ms": .., "compile_ms": .., "bytes": .., "flops": .., "peak_bytes": ..}`
    pub fn json(&self) -> String {
        format!(
            "{{\"median_ms\": {:.6}, \"min_ms\": {:.6}, \"compile_ms\": {:.6}, \"bytes\": {}, \"flops\": {}, \"peak_bytes\": {}}}",
            ms(self.median),
            ms(self.min),
            ms(self.compile),
            self.cost.bytes,
            self.cost.flops,
            self.peak_bytes
        )
    }

    pub fn text(&self, entry: &str) -> String {
        format!(
            "{entry}: median {:.4} ms, min {:.4} ms over {} runs (compile {:.3} ms)\n\
             {:.3} GB/s ({} bytes), {:.3} GFLOP/s ({} flops), peak {} bytes",
            ms(self.median),
            ms(self.min),
            self.reps,
            ms(self.compile),
            giga_per_second(self.cost.bytes, self.median),
            self.cost.bytes,
            giga_per_second(self.cost.flops, self.median),
            self.cost.flops,
            self.peak_bytes
        )
    }
}
