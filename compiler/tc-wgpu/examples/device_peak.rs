//! The device's copy bandwidth, the reference for `bench/gpu_bench.sh`: bandwidth-bound
//! kernels are reported as a percentage of it.
//!
//! `cargo run --release -p tc-wgpu --example device_peak [-- MIB [REPS]]` (defaults:
//! 256 MiB, 20 repetitions) opens the process's GPU (`tc_wgpu::gpu()`, so
//! `TENSORC_WGPU_ADAPTER` chooses), copies one MIB-sized buffer into another with
//! `copy_buffer_to_buffer` and prints one JSON line:
//!
//! - `gbps`: read + write bytes (2 × MIB) per second of the median repetition, where
//!   one repetition is `COPIES` copies in one submission followed by a wait, so the
//!   submission and wait overhead is amortised: the peak;
//! - `single_gbps`: the same for one copy per submission and wait, as `tensorc bench`
//!   times one program run (the overhead included);
//! - `submit_wait_ms`: the median time of an empty submission and a wait, the fixed
//!   cost every timed run pays.

use std::time::Instant;

/// Copies per submission for the peak figure.
const COPIES: usize = 8;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20).max(1);
    let gpu = match tc_wgpu::gpu() {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("device_peak: {e}");
            std::process::exit(1);
        }
    };
    let limit = gpu.limits.max_buffer_size;
    let bytes = (mib << 20).min(limit) / 4 * 4;
    let usage = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let buffer = |label| gpu.device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: bytes, usage, mapped_at_creation: false });
    let (src, dst) = (buffer("peak-src"), buffer("peak-dst"));
    // Non-zero contents, written once.
    gpu.queue.write_buffer(&src, 0, &vec![0x3fu8; bytes as usize]);

    let wait = || gpu.device.poll(wgpu::PollType::wait_indefinitely()).expect("waiting for the device");
    let submit = |copies: usize| {
        let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("peak") });
        for _ in 0..copies {
            encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, bytes);
        }
        gpu.queue.submit([encoder.finish()]);
        wait();
    };
    let time = |copies: usize| {
        submit(copies); // warm-up
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                submit(copies);
                t.elapsed().as_secs_f64()
            })
            .collect();
        median(times)
    };
    let empty = time(0);
    let batched = time(COPIES) / COPIES as f64;
    let single = time(1);
    let gbps = |seconds: f64| 2.0 * bytes as f64 / seconds / 1e9;
    println!(
        "{{\"adapter\": {}, \"backend\": {}, \"device_type\": {}, \"driver\": {}, \"bytes\": {bytes}, \"copies_per_submit\": {COPIES}, \"reps\": {reps}, \"median_ms\": {:.6}, \"gbps\": {:.3}, \"single_gbps\": {:.3}, \"submit_wait_ms\": {:.6}}}",
        json_string(&gpu.info.name),
        json_string(&format!("{:?}", gpu.info.backend)),
        json_string(&format!("{:?}", gpu.info.device_type)),
        json_string(format!("{} {}", gpu.info.driver, gpu.info.driver_info).trim()),
        batched * 1e3,
        gbps(batched),
        gbps(single),
        empty * 1e3,
    );
}
