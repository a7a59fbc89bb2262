//! Benchmark: aggregate 10 client updates of McMahan et al.'s CNN (1,663,370 f32
//! parameters in 8 tensors) with each strategy, next to the memory-bandwidth floor:
//! the bytes a round must move (read 10 updates and the global model, write the new
//! model) at the bandwidth this machine's threads reach reading memory. Each repetition
//! starts with the caches flushed of the updates. The `reused` rows hand the updates'
//! buffers back through `Server::finish_round_reclaim` and reuse them for the next
//! repetition's updates instead of freeing them.
//!
//! ```text
//! cargo run --release -p tc-fed --example aggregate_bench [-- --threads N --reps N --fold N --only STRATEGY]
//! ```

use std::time::{Duration, Instant};

use tc_fed::{Server, ServerConfig, Strategy, Tensor, Update};

/// The CNN of McMahan et al.: conv 5×5×32, conv 5×5×64, dense 3136→512, dense 512→10.
const SHAPES: [&[usize]; 8] = [&[32, 1, 5, 5], &[32], &[64, 32, 5, 5], &[64], &[3136, 512], &[512], &[512, 10], &[10]];
const CLIENTS: usize = 10;

fn main() {
    let mut threads = ServerConfig::default().threads;
    let mut reps = 15;
    let mut fold = ServerConfig::default().fold;
    let mut only: Option<String> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("--threads", Some(n)) => threads = n,
            ("--reps", Some(n)) => reps = n,
            ("--fold", Some(n)) => fold = n,
            ("--only", _) if pair.len() == 2 => only = Some(pair[1].clone()),
            _ => {
                eprintln!("usage: aggregate_bench [--threads N] [--reps N] [--fold N] [--only STRATEGY]");
                std::process::exit(2);
            }
        }
    }
    let parameters: usize = SHAPES.iter().map(|s| s.iter().product::<usize>()).sum();
    assert_eq!(parameters, 1_663_370);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = |scale: f32| -> Vec<Tensor> {
        SHAPES
            .iter()
            .map(|shape| {
                let n: usize = shape.iter().product();
                let values = (0..n)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
                    })
                    .collect();
                Tensor::from_f32(shape.to_vec(), values).expect("shape matches")
            })
            .collect()
    };
    let global = random(0.1);
    let updates: Vec<Update> = (0..CLIENTS).map(|c| Update::new(c as u64, 500 + 10 * c as u64, random(0.01))).collect();

    let model_bytes = 4.0 * parameters as f64;
    let moved = (CLIENTS as f64 + 2.0) * model_bytes;
    let bandwidth = read_bandwidth(threads);
    let floor = moved / bandwidth;
    println!(
        "{CLIENTS} updates of {parameters} f32 parameters ({:.2} MB each), {threads} thread{}, folding {fold} at a time",
        model_bytes / 1e6,
        if threads == 1 { "" } else { "s" }
    );
    println!(
        "memory-bandwidth floor: {:.1} MB moved at {:.1} GB/s (measured read bandwidth) = {:.2} ms",
        moved / 1e6,
        bandwidth / 1e9,
        floor * 1e3
    );
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "strategy", "median ms", "min ms", "× floor", "offers ms", "finish ms"
    );
    let mut scratch = vec![0u8; 64 << 20];
    // `reused`: the round hands the updates' buffers back (`finish_round_reclaim`) and the
    // next repetition's updates are copied into them, as a transport that receives into
    // reused buffers would; otherwise each repetition's updates are fresh allocations,
    // dropped by `finish_round`.
    for (text, reuse) in
    [
        ("fedavg", false),
        ("fedavg", true),
        ("fedadam", false),
        ("median", false),
        ("median", true),
        ("trimmed:0.1", false),
        ("trimmed:0.1", true),
    ] {
        if only.as_ref().is_some_and(|o| o != text) {
            continue;
        }
        let strategy = Strategy::parse(text).expect("a known strategy");
        let config = ServerConfig { threads, fold, ..ServerConfig::default() };
        let mut server = Server::new(global.clone(), strategy, config).expect("a float model");
        let mut parts: Vec<(Duration, Duration)> = Vec::new();
        let mut spent: Vec<Vec<Tensor>> = Vec::new();
        let mut times: Vec<Duration> = (0..reps)
            .map(|_| {
                let batch: Vec<Update> = if spent.len() == CLIENTS {
                    spent
                        .drain(..)
                        .zip(&updates)
                        .map(|(buffers, u)| Update::new(u.client, u.examples, refill(buffers, &u.delta)))
                        .collect()
                } else {
                    updates.clone()
                };
                // Start from DRAM, not from the cache the copy just warmed.
                evict(&mut scratch);
                let start = Instant::now();
                let mut round = server.begin_round();
                for update in batch {
                    round.offer(update).expect("valid updates");
                }
                let offered = start.elapsed();
                let outcome = if reuse {
                    let (outcome, deltas) = server.finish_round_reclaim(round).expect("this server's round");
                    spent = deltas;
                    outcome
                } else {
                    server.finish_round(round).expect("this server's round")
                };
                let elapsed = start.elapsed();
                parts.push((offered, elapsed - offered));
                assert_eq!(outcome.accepted, CLIENTS);
                elapsed
            })
            .collect();
        times.sort();
        let median = times[times.len() / 2].as_secs_f64();
        let mut offers: Vec<Duration> = parts.iter().map(|p| p.0).collect();
        let mut finishes: Vec<Duration> = parts.iter().map(|p| p.1).collect();
        offers.sort();
        finishes.sort();
        let label = if reuse { format!("{text}, reused") } else { text.to_string() };
        println!(
            "{label:<16} {:>10.2} {:>10.2} {:>10.1} {:>10.2} {:>10.2}",
            median * 1e3,
            times[0].as_secs_f64() * 1e3,
            median / floor,
            offers[offers.len() / 2].as_secs_f64() * 1e3,
            finishes[finishes.len() / 2].as_secs_f64() * 1e3
        );
    }
}

/// `buffers` (tensors of the shapes of `values`) holding a copy of `values`.
fn refill(buffers: Vec<Tensor>, values: &[Tensor]) -> Vec<Tensor> {
    buffers
        .into_iter()
        .zip(values)
        .map(|(buffer, value)| {
            let shape = buffer.shape().to_vec();
            let mut data = buffer.into_vec::<f32>().expect("f32 updates");
            data.copy_from_slice(value.as_f32().expect("f32 updates"));
            Tensor::from_vec(shape, data).expect("same shape")
        })
        .collect()
}

/// Write a buffer twice the size of the last-level cache, so that it holds nothing of ours.
fn evict(scratch: &mut [u8]) {
    for (i, byte) in scratch.iter_mut().enumerate().step_by(64) {
        *byte = byte.wrapping_add(i as u8);
    }
    std::hint::black_box(scratch);
}

/// Bytes per second `threads` threads reach summing a 256 MB f32 buffer (best of 5).
fn read_bandwidth(threads: usize) -> f64 {
    let data: Vec<f32> = (0..64 << 20).map(|i| (i % 7) as f32).collect();
    let chunk = data.len().div_ceil(threads.max(1));
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            let total: f32 = std::thread::scope(|scope| {
                let handles: Vec<_> = data
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(move || {
                            let mut lanes = [0.0f32; 16];
                            for block in part.chunks_exact(16) {
                                for (l, &v) in lanes.iter_mut().zip(block) {
                                    *l += v;
                                }
                            }
                            lanes.iter().sum::<f32>()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("no panic")).sum()
            });
            std::hint::black_box(total);
            start.elapsed()
        })
        .min()
        .expect("five runs");
    (data.len() * 4) as f64 / best.as_secs_f64()
}
