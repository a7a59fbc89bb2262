//! `tensorc bench`: a warm-up run, then repetitions; the median and minimum time with
//! the bytes and flops of [`tensorc::cost`], as text or as one JSON object.
//!
//! On the wgpu backend the warm-up is a whole call (inputs uploaded, outputs read
//! back), whose bytes each way are reported as `h2d_bytes`/`d2h_bytes`; the timed
//! repetitions run on inputs already on the device and wait for the device, without
//! reading the outputs back: the time of the kernels, as GPU benchmarks report it.

use std::time::{Duration, Instant};

use crate::cost::{self, Cost};
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
    /// Bytes uploaded and read back by the warm-up run (zero on host backends).
    pub transfers: tc_wgpu::Transfers,
    /// Every result is a constant of the optimised graph: the function was computed
    /// entirely at compile time, and the runs only hand its results back.
    pub constant: bool,
}

/// Time `compiled` on `inputs`: one warm-up run, then `reps` runs (or as many as fit
/// in about a second). With `donate` the warm-up hands a copy of the inputs over
/// (`Module::run_donated`), so the peak is that of a caller giving them up; the timed
/// runs keep theirs.
pub fn measure(module: &Module, compiled: &Compiled, inputs: &[Tensor], reps: Option<usize>, donate: bool) -> Result<Measurement, Error> {
    let handed = donate.then(|| inputs.to_vec());
    let before = tc_wgpu::thread_transfers();
    let start = Instant::now();
    let (_, peak_bytes) = match handed {
        Some(handed) => module.run_donated(compiled, handed)?,
        None => module.run_measured(compiled, inputs)?,
    };
    let warm_up = start.elapsed();
    let transfers = tc_wgpu::thread_transfers().since(before);
    let mut run = timed_run(module, compiled, inputs)?;
    let reps = reps.unwrap_or_else(|| {
        let fit = TARGET.as_nanos() / warm_up.as_nanos().max(1);
        (fit as usize).clamp(MIN_REPS, MAX_REPS)
    })
    .max(1);
    let mut times = Vec::with_capacity(reps.min(MAX_REPS));
    for _ in 0..reps {
        let start = Instant::now();
        run()?;
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
        transfers,
        constant: compiled.graph.outputs.iter().all(|&o| matches!(compiled.graph.node(o).op, tc_ir::Op::Const(_))),
    })
}

/// One timed repetition: a whole call on host backends; on the GPU, the kernels on
/// inputs uploaded once, until the device is done.
fn timed_run<'a>(module: &'a Module, compiled: &'a Compiled, inputs: &'a [Tensor]) -> Result<Box<dyn FnMut() -> Result<(), Error> + 'a>, Error> {
    let runtime = |e: tc_wgpu::WgpuError| Error::Runtime(e.to_string());
    let Some(program) = compiled.wgpu() else {
        return Ok(Box::new(move || module.run(compiled, inputs).map(drop)));
    };
    let resident: Vec<tc_wgpu::DeviceTensor> = inputs.iter().map(|t| tc_wgpu::DeviceTensor::upload(program.gpu(), t)).collect::<Result<_, _>>().map_err(runtime)?;
    Ok(Box::new(move || {
        let args: Vec<tc_wgpu::Arg> = resident.iter().map(tc_wgpu::Arg::Device).collect();
        program.run_device(&args).map_err(runtime)?;
        program.gpu().synchronize().map_err(runtime)
    }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Per second, in units of 10^9.
fn giga_per_second(amount: u64, time: Duration) -> f64 {
    amount as f64 / time.as_secs_f64().max(1e-12) / 1e9
}

impl Measurement {
    /// `{"median_ms", "min_ms", "compile_ms", "bytes", "flops", "peak_bytes", "h2d_bytes", "d2h_bytes"}`
    pub fn json(&self) -> String {
        crate::json::line(&serde_json::json!({
            "median_ms": ms(self.median),
            "min_ms": ms(self.min),
            "compile_ms": ms(self.compile),
            "bytes": self.cost.bytes,
            "flops": self.cost.flops,
            "peak_bytes": self.peak_bytes,
            "h2d_bytes": self.transfers.h2d_bytes,
            "d2h_bytes": self.transfers.d2h_bytes,
        }))
    }

    /// Why the numbers are tiny, for a function computed at compile time.
    pub fn constant_note(&self, entry: &str) -> Option<String> {
        self.constant.then(|| {
            format!(
                "note: `{entry}` is computed entirely at compile time (its inputs are constants), so the runs \
                 only hand back its results: no flops, and the time of a call that does nothing"
            )
        })
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
