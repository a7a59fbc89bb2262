//! Dealing a training set to K clients: IID, label shards, or Dirichlet label skew.

use std::collections::BinaryHeap;

use tensorc::Error;

use super::SplitSpec;
use crate::data::Rng;

const SPLIT_SALT: u64 = 0x5b11_7c1e_a7d5_0001;

/// Deal the `n` training examples (labels `labels`) to `k` clients.
pub fn split(labels: &[u8], k: usize, spec: SplitSpec, seed: u64) -> Result<Vec<Vec<usize>>, Error> {
    let n = labels.len();
    check_clients(k, spec, n)?;
    let mut rng = Rng::new(seed ^ SPLIT_SALT);
    let even = |order: &[usize], parts: usize| -> Vec<Vec<usize>> {
        (0..parts).map(|i| order[i * order.len() / parts..(i + 1) * order.len() / parts].to_vec()).collect()
    };
    Ok(match spec {
        SplitSpec::Iid => {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            even(&order, k)
        }
        SplitSpec::Shards(s) => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| labels[i]);
            let shards = even(&order, k * s);
            let mut ids: Vec<usize> = (0..k * s).collect();
            rng.shuffle(&mut ids);
            ids.chunks(s).map(|mine| mine.iter().flat_map(|&id| shards[id].iter().copied()).collect()).collect()
        }
        SplitSpec::Dirichlet(alpha) => {
            let mut clients: Vec<Vec<usize>> = vec![Vec::new(); k];
            let classes = labels.iter().map(|&l| usize::from(l) + 1).max().unwrap_or(0);
            for class in 0..classes {
                let mut members: Vec<usize> = (0..n).filter(|&i| usize::from(labels[i]) == class).collect();
                rng.shuffle(&mut members);
                let weights: Vec<f64> = (0..k).map(|_| gamma(&mut rng, alpha)).collect();
                let total: f64 = weights.iter().sum();
                let mut cumulative = 0.0;
                let mut start = 0;
                for (client, w) in weights.iter().enumerate() {
                    cumulative += w;
                    let end = if client + 1 == k {
                        members.len()
                    } else {
                        ((cumulative / total) * members.len() as f64).round() as usize
                    };
                    let end = end.clamp(start, members.len());
                    clients[client].extend_from_slice(&members[start..end]);
                    start = end;
                }
            }
            // Every client gets at least one example, taken from the largest shard (the
            // last of equals). A heap of (size, client), whose entries for sizes that
            // have changed since are skipped, keeps this O(K log K).
            let mut by_size: BinaryHeap<(usize, usize)> = clients.iter().map(Vec::len).zip(0..).collect();
            for c in 0..k {
                if clients[c].is_empty() {
                    let largest = loop {
                        let (size, j) = by_size.pop().expect("n ≥ k examples, so some shard has two");
                        if clients[j].len() == size {
                            break j;
                        }
                    };
                    let moved = clients[largest].pop().expect("n ≥ k examples, so the largest shard has two");
                    clients[c].push(moved);
                    by_size.push((clients[largest].len(), largest));
                    by_size.push((1, c));
                }
            }
            clients
        }
    })
}

/// A usage error naming the option unless `k` clients can each get at least one of the
/// `n` training examples (and, for `shards:S`, one per shard): more clients than
/// examples would leave clients with nothing to train on.
pub fn check_clients(k: usize, spec: SplitSpec, n: usize) -> Result<(), Error> {
    if k == 0 || k > n {
        return Err(Error::Usage(format!(
            "--clients {k}: must be between 1 and the {n} training examples, so that every client has one"
        )));
    }
    if let SplitSpec::Shards(s) = spec {
        if k.checked_mul(s).is_none_or(|shards| shards > n) {
            return Err(Error::Usage(format!("--split shards:{s}: {k} clients × {s} shards exceed the {n} examples")));
        }
    }
    Ok(())
}

/// Gamma(α, 1) by Marsaglia and Tsang (with the α < 1 boost).
fn gamma(rng: &mut Rng, alpha: f64) -> f64 {
    if alpha < 1.0 {
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        return gamma(rng, alpha + 1.0) * u.powf(1.0 / alpha);
    }
    let d = alpha - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.next_f64();
        if u < 1.0 - 0.0331 * x.powi(4) || u.max(f64::MIN_POSITIVE).ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// A standard normal number (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = rng.next_f64().max(f64::MIN_POSITIVE);
    let v = rng.next_f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
