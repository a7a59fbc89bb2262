//! The rematerialisation benchmark: training steps (forward, loss, `tc_grad::vjp`) of a
//! 32-layer MLP, a VGG16-shaped CNN and a U-Net-shaped CNN with skip connections, each
//! planned at budgets from the store-everything peak down to 0.3 of it and at the
//! planner's smallest feasible budget; plus planning time on a ResNet-50-sized graph.
//!
//! `cargo run --release -p tc-remat --example remat_bench [-- --milp-seconds S] [--milp-max-nodes N]`
//!
//! Columns: the budget; the extra compute (percent of one training step, under the
//! default roofline cost model) of storing everything (1.0 only), Chen's √n checkpointing
//! (chains; "over" when its fixed plan peaks above the budget), tensorc's planner, and
//! Checkmate's MILP optimum by CBC ("-" when CBC does not prove a plan optimal within
//! `S` seconds (default 10), or the graph has more than `N` nodes (default 200), so the
//! model is not built); and planning times.

use std::time::{Duration, Instant};

use tc_ir::{Graph, NodeId, PoolKind, ReduceOp, Type};
use tc_remat::{format_bytes, min_feasible_peak, plan, Options, Plan, RematError, Strategy};
use tc_tensor::DType;


struct Builder {
    g: Graph,
    params: Vec<NodeId>,
}

impl Builder {
    fn new(name: &str) -> Builder {
        Builder { g: Graph::new(name), params: Vec::new() }
    }

    fn param(&mut self, shape: &[usize]) -> NodeId {
        let id = self.g.param(self.params.len(), Type::new(DType::F32, shape.to_vec()));
        self.params.push(id);
        id
    }

    fn relu(&mut self, x: NodeId) -> NodeId {
        let zero = self.g.full(&self.g.ty(x).clone(), 0.0);
        self.g.binary(tc_ir::BinaryOp::Max, x, zero)
    }

    fn conv(&mut self, x: NodeId, out: usize, k: usize) -> NodeId {
        let c = self.g.ty(x).shape[1];
        let w = self.param(&[out, c, k, k]);
        let p = k / 2;
        self.g.conv2d(x, w, [1, 1], [(p, p), (p, p)], [1, 1])
    }

    fn conv_relu(&mut self, x: NodeId, out: usize) -> NodeId {
        let y = self.conv(x, out, 3);
        self.relu(y)
    }

    fn pool(&mut self, x: NodeId) -> NodeId {
        self.g.pool(PoolKind::Max, x, [2, 2], [2, 2])
    }

    /// Nearest-neighbour 2× upsampling with a broadcast and a reshape.
    fn upsample(&mut self, x: NodeId) -> NodeId {
        let s = self.g.ty(x).shape.clone();
        let b = self.g.broadcast_in_dim(x, &[s[0], s[1], s[2], 2, s[3], 2], vec![0, 1, 2, 4]);
        self.g.reshape(b, &[s[0], s[1], 2 * s[2], 2 * s[3]])
    }

    /// Loss `sum(y²)` and its gradients with respect to every parameter but the first
    /// (the data); outputs: the loss and the gradients.
    fn train(mut self, y: NodeId) -> Graph {
        let sq = self.g.mul(y, y);
        let axes: Vec<usize> = (0..self.g.ty(sq).rank()).collect();
        let loss = self.g.reduce(ReduceOp::Sum, sq, &axes);
        let weights = self.params[1..].to_vec();
        let grads = tc_grad::vjp(&mut self.g, loss, &weights).expect("differentiable");
        self.g.outputs = std::iter::once(loss).chain(grads).collect();
        self.g
    }
}

fn mlp(layers: usize, batch: usize, width: usize, bias: bool) -> Graph {
    let mut b = Builder::new("mlp");
    let mut h = b.param(&[batch, width]);
    for _ in 0..layers {
        let w = b.param(&[width, width]);
        let mut z = b.g.matmul(h, w);
        if bias {
            let bias = b.param(&[width]);
            let bias = b.g.broadcast(bias, &[batch, width]);
            z = b.g.add(z, bias);
        }
        h = b.relu(z);
    }
    b.train(h)
}

fn vgg16(batch: usize, size: usize, width: usize) -> Graph {
    let mut b = Builder::new("vgg16");
    let mut x = b.param(&[batch, 3, size, size]);
    for (convs, mult) in [(2, 1), (2, 2), (3, 4), (3, 8), (3, 8)] {
        for _ in 0..convs {
            x = b.conv_relu(x, width * mult);
        }
        x = b.pool(x);
    }
    let s = b.g.ty(x).shape.clone();
    let flat = b.g.reshape(x, &[batch, s[1] * s[2] * s[3]]);
    let w = b.param(&[s[1] * s[2] * s[3], 10]);
    let y = b.g.matmul(flat, w);
    b.train(y)
}

fn unet(batch: usize, size: usize, width: usize, depth: usize) -> Graph {
    let mut b = Builder::new("unet");
    let mut x = b.param(&[batch, 3, size, size]);
    let mut skips = Vec::new();
    for d in 0..depth {
        x = b.conv_relu(x, width << d);
        x = b.conv_relu(x, width << d);
        skips.push(x);
        x = b.pool(x);
    }
    x = b.conv_relu(x, width << depth);
    for d in (0..depth).rev() {
        let up = b.upsample(x);
        let up = b.conv(up, width << d, 1);
        let cat = b.g.concat(vec![up, skips[d]], 1);
        x = b.conv_relu(cat, width << d);
        x = b.conv_relu(x, width << d);
    }
    let y = b.conv(x, 2, 1);
    b.train(y)
}

/// ResNet-50's layout (stem, 3 + 4 + 6 + 3 bottleneck blocks with projection shortcuts)
/// at a small resolution: the node count of the real training graph.
fn resnet50(batch: usize, size: usize, width: usize) -> Graph {
    let mut b = Builder::new("resnet50");
    let x = b.param(&[batch, 3, size, size]);
    let x = b.conv_relu(x, width);
    let mut x = b.pool(x);
    for (blocks, mult) in [(3, 1), (4, 2), (6, 4), (3, 8)] {
        for i in 0..blocks {
            let mid = width * mult;
            let out = 4 * mid;
            let shortcut = if i == 0 { b.conv(x, out, 1) } else { x };
            let y = b.conv(x, mid, 1);
            let y = b.relu(y);
            let y = b.conv_relu(y, mid);
            let y = b.conv(y, out, 1);
            let s = b.g.add(y, shortcut);
            x = b.relu(s);
        }
    }
    b.train(x)
}

fn opts(strategy: Strategy, milp_seconds: f64) -> Options {
    Options { strategy, milp_time_limit_s: milp_seconds, ..Options::default() }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn extra(r: &Result<Plan, RematError>) -> String {
    match r {
        Ok(p) => format!("{:+.1}%", 100.0 * p.extra_cost / p.base_cost),
        Err(RematError::Infeasible { .. }) => "over".into(),
        Err(_) => "-".into(),
    }
}

fn table(name: &str, g: &Graph, milp_seconds: f64, milp_max_nodes: usize) {
    let store = plan(g, usize::MAX, &opts(Strategy::Planner, milp_seconds)).expect("an unbounded budget fits");
    let peak = store.peak_bytes;
    let nodes = store.graph.nodes.len();
    let (min, min_time) = timed(|| min_feasible_peak(g, &opts(Strategy::Planner, milp_seconds)).expect("the planner plans"));
    let try_milp = nodes <= milp_max_nodes;
    let milp_min = if try_milp { min_feasible_peak(g, &opts(Strategy::Milp, milp_seconds)).ok() } else { None };
    println!("\n### {name}: {nodes} nodes, store-everything peak {}, one step {:.1} µs (model)", format_bytes(peak), store.base_cost / 1e3);
    println!(
        "smallest feasible budget: planner {} ({:.1}% of peak, found in {:.0} ms), MILP {}",
        format_bytes(min),
        100.0 * min as f64 / peak as f64,
        min_time.as_secs_f64() * 1e3,
        milp_min.map_or("-".to_string(), |m| format!("{} ({:.1}% of peak)", format_bytes(m), 100.0 * m as f64 / peak as f64)),
    );
    println!();
    println!("| budget | bytes | store all | √n | tensorc | MILP | tensorc time | MILP time |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut budgets: Vec<(String, usize)> =
        [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3].iter().map(|f| (format!("{f:.1}"), (peak as f64 * f) as usize)).collect();
    budgets.push(("min".into(), min));
    for (label, budget) in budgets {
        let store_all = if label == "1.0" { "+0.0%" } else { "" };
        let sqrt_n = plan(g, budget, &opts(Strategy::SqrtN, milp_seconds));
        let (tensorc, t_time) = timed(|| plan(g, budget, &opts(Strategy::Planner, milp_seconds)));
        let (milp, m_time) = match try_milp {
            true => timed(|| plan(g, budget, &opts(Strategy::Milp, milp_seconds))),
            false => (Err(RematError::Milp("not tried".into())), Duration::ZERO),
        };
        let sqrt_cell = match &sqrt_n {
            Err(RematError::NotAChain) => "-".to_string(),
            r => extra(r),
        };
        let tensorc_cell = match &tensorc {
            Err(RematError::Infeasible { .. }) => "infeasible".to_string(),
            r => extra(r),
        };
        let milp_cell = match &milp {
            Err(RematError::Infeasible { .. }) => "infeasible".to_string(),
            r => extra(r),
        };
        let m_time = if try_milp { format!("{:.2} s", m_time.as_secs_f64()) } else { "-".into() };
        println!(
            "| {label} | {} | {store_all} | {sqrt_cell} | {tensorc_cell} | {milp_cell} | {:.1} ms | {m_time} |",
            format_bytes(budget),
            t_time.as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|s| s.parse::<f64>().ok());
    let milp_seconds = arg("--milp-seconds").unwrap_or(10.0);
    let milp_max_nodes = arg("--milp-max-nodes").map_or(200, |n| n as usize);
    println!("tensorc remat benchmark (cost model: roofline at 300 GFLOP/s and 29 GB/s; MILP time limit {milp_seconds} s)");
    table("MLP, 32 layers (batch 1024, width 128, bias + relu)", &mlp(32, 1024, 128, true), milp_seconds, milp_max_nodes);
    table("MLP, 3 layers (batch 1024, width 128, relu): small enough for the MILP", &mlp(3, 1024, 128, false), milp_seconds, milp_max_nodes);
    table("VGG16-shaped CNN (batch 8, 32×32 input, widths 8..64)", &vgg16(8, 32, 8), milp_seconds, milp_max_nodes);
    table("U-Net-shaped CNN (batch 4, 32×32 input, depth 3, widths 8..64)", &unet(4, 32, 8, 3), milp_seconds, milp_max_nodes);
    table("U-Net-shaped CNN (batch 4, 16×16 input, depth 1, widths 4..8): small enough for the MILP", &unet(4, 16, 4, 1), milp_seconds, milp_max_nodes);

    let g = resnet50(8, 32, 8);
    let store = plan(&g, usize::MAX, &Options::default()).expect("an unbounded budget fits");
    println!("\n### ResNet-50-sized training graph: {} nodes, peak {}", store.graph.nodes.len(), format_bytes(store.peak_bytes));
    println!();
    println!("| budget | tensorc extra | planning time |");
    println!("|---|---|---|");
    for f in [0.8, 0.5, 0.3] {
        let budget = (store.peak_bytes as f64 * f) as usize;
        let runs: Vec<(Result<Plan, RematError>, Duration)> = (0..3).map(|_| timed(|| plan(&g, budget, &Options::default()))).collect();
        let mut times: Vec<Duration> = runs.iter().map(|(_, t)| *t).collect();
        times.sort();
        let cell = match &runs[0].0 {
            Err(RematError::Infeasible { .. }) => "infeasible".to_string(),
            r => extra(r),
        };
        println!("| {f:.1} | {cell} | {:.0} ms (median of 3) |", times[1].as_secs_f64() * 1e3);
    }
}
