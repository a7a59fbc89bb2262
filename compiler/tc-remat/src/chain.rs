//! Chains: recognising a graph as a sequence of layers, and running a plan over layers.
//!
//! "Free values" are left out of the layers: nodes that depend on no parameter
//! (constants, `iota`, broadcasts of constants) and layout ops of parameters (a
//! transposed weight, a broadcast bias). A layer's run recomputes the free values it
//! reads right before their first reader, so they are never held across layers. The other
//! nodes split into a forward part and a backward part (a split point in the order):
//! - forward layer `ℓ` is a run of nodes `F_ℓ` ending at its boundary `a_ℓ`, and the only
//!   value of layers `≤ ℓ` that later forward nodes read is `a_ℓ` (an articulation point);
//! - backward layer `B_ℓ` is a run of backward nodes, in reverse layer order, reading
//!   forward values only from `F_ℓ` and `a_{ℓ−1}`, and backward values only from
//!   `B_{≥ℓ}` (a layer may have no backward nodes).
//!
//! The split is the one giving the most layers (the true end of the forward pass does).
//! A training step of an MLP, a VGG-style CNN or a ResNet (blocks as layers) from
//! `tc_grad::vjp` is a chain; a U-Net, whose skip connections cross layers, is not.
//! A plan over layers is a sequence of [`Event`]s; [`render`] makes it a schedule, and
//! [`Costs`] gives each layer's compute and memory as the layer DP and √n see them.
//!
//! Every plan runs each backward layer once, and after `B_ℓ` only layers below `ℓ`; so a
//! backward output takes over its donated parameter's storage in every plan when the
//! parameter's other readers are forward layers `≥ ℓ`, backward layers above `ℓ`, or
//! nodes before it in `B_ℓ` ([`donated_sizes`]). Forward outputs are counted in full.

use tc_ir::donate::overwrites_operand;
use tc_ir::Op;

use crate::problem::Problem;

/// A graph's layers (`0..len`, layer 0 first).
pub(crate) struct Chain {
    /// Forward nodes of each layer, in order; the last is the boundary `a_ℓ`.
    pub fwd: Vec<Vec<usize>>,
    /// Backward nodes of each layer, in order.
    pub bwd: Vec<Vec<usize>>,
    /// Whether each node is a free value (depends on no parameter).
    pub free: Vec<bool>,
}

impl Chain {
    pub fn len(&self) -> usize {
        self.fwd.len()
    }

    pub fn boundary(&self, l: usize) -> usize {
        *self.fwd[l].last().expect("a layer has a forward node")
    }
}

/// One step of a plan over layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Run layer `ℓ`'s forward nodes.
    Fwd(usize),
    /// Run layer `ℓ`'s backward nodes.
    Bwd(usize),
}

/// The layers of `p`'s graph, or `None` when it is not a chain of at least two layers.
pub(crate) fn detect(p: &Problem) -> Option<Chain> {
    let n = p.len();
    let mut free = vec![false; n];
    for (i, node) in p.graph.nodes.iter().enumerate() {
        let layout = matches!(node.op, Op::Broadcast { .. } | Op::Transpose { .. } | Op::Reshape | Op::Reverse { .. } | Op::Cast);
        let from_params = node.inputs.iter().all(|x| free[x.index()] || p.param[x.index()]);
        free[i] = !p.param[i] && (node.inputs.iter().all(|x| free[x.index()]) || (layout && from_params));
    }
    let core: Vec<usize> = (0..n).filter(|&i| !p.param[i] && !free[i]).collect();
    let mut best: Option<Chain> = None;
    for split in 1..core.len() {
        if let Some(c) = layers_for_split(p, &free, &core, split) {
            if best.as_ref().is_none_or(|b| c.len() > b.len()) {
                best = Some(c);
            }
        }
    }
    best.filter(|c| c.len() >= 2)
}

fn layers_for_split(p: &Problem, free: &[bool], core: &[usize], split: usize) -> Option<Chain> {
    let n = p.len();
    let mut pos = vec![usize::MAX; n];
    for (k, &v) in core.iter().enumerate() {
        pos[v] = k;
    }
    // The cut after forward position q is open unless an edge u → v jumps over it
    // (pos u < q < pos v); `blocked` is a difference array of those spans.
    let mut blocked = vec![0i64; split + 1];
    for &v in &core[..split] {
        for &u in &p.inputs[v] {
            if free[u] {
                continue;
            }
            let (pu, pv) = (pos[u], pos[v]);
            if pu + 1 < pv {
                blocked[pu + 1] += 1;
                blocked[pv] -= 1;
            }
        }
    }
    let mut layer_of = vec![usize::MAX; n];
    let mut fwd: Vec<Vec<usize>> = vec![Vec::new()];
    let mut running = 0i64;
    for q in 0..split {
        running += blocked[q];
        let v = core[q];
        fwd.last_mut().expect("a current layer").push(v);
        layer_of[v] = fwd.len() - 1;
        if running == 0 && q + 1 < split {
            fwd.push(Vec::new());
        }
    }
    let layers = fwd.len();
    if layers < 2 {
        return None;
    }
    let boundary: Vec<usize> = fwd.iter().map(|f| *f.last().expect("non-empty layer")).collect();
    let mut bwd: Vec<Vec<usize>> = vec![Vec::new(); layers];
    let mut current = layers - 1;
    for &v in &core[split..] {
        let (mut lo, mut hi) = (0usize, current);
        for &u in &p.inputs[v] {
            if free[u] {
                continue;
            }
            let lu = layer_of[u];
            if pos[u] < split {
                // F_m, or a_m read by B_{m+1}.
                let top = if boundary[lu] == u { lu + 1 } else { lu };
                lo = lo.max(lu);
                hi = hi.min(top);
            } else {
                // B_ℓ reads B_{≥ℓ}: what a higher layer leaves for a lower one is
                // held across the layers between (`Costs::crossing`).
                hi = hi.min(lu);
            }
        }
        if lo > hi {
            return None;
        }
        current = hi;
        layer_of[v] = hi;
        bwd[hi].push(v);
    }
    Some(Chain { fwd, bwd, free: free.to_vec() })
}

/// The schedule running `events` in order: each event runs its layer's nodes, each
/// preceded by the free values it reads that this event has not computed yet; free
/// outputs come last.
pub(crate) fn render(p: &Problem, chain: &Chain, events: &[Event]) -> Vec<usize> {
    let mut steps = Vec::new();
    let mut stamp = vec![usize::MAX; p.len()];
    for (e, ev) in events.iter().enumerate() {
        let nodes = match *ev {
            Event::Fwd(l) => &chain.fwd[l],
            Event::Bwd(l) => &chain.bwd[l],
        };
        for &v in nodes {
            push_free_inputs(p, chain, v, e, &mut stamp, &mut steps);
            steps.push(v);
        }
    }
    for o in p.graph.outputs.iter().map(|o| o.index()) {
        if chain.free[o] && stamp[o] != events.len() {
            push_free_inputs(p, chain, o, events.len(), &mut stamp, &mut steps);
            stamp[o] = events.len();
            steps.push(o);
        }
    }
    steps
}

/// Append `v`'s free ancestors not yet stamped with `event` to `steps`, each after its
/// own free inputs (post-order on an explicit stack: free runs can be as long as the graph).
fn push_free_inputs(p: &Problem, chain: &Chain, v: usize, event: usize, stamp: &mut [usize], steps: &mut Vec<usize>) {
    // (node, index of its next input to visit)
    let mut stack = vec![(v, 0usize)];
    while let Some((w, next)) = stack.pop() {
        match p.inputs[w].get(next) {
            Some(&u) => {
                stack.push((w, next + 1));
                if chain.free[u] && stamp[u] != event {
                    stack.push((u, 0));
                }
            }
            None if w != v => {
                stamp[w] = event;
                steps.push(w);
            }
            None => {}
        }
    }
}

/// Each layer's compute and memory, as a plan over layers sees them. Memory figures are
/// exact for layers of single nodes and over-estimates otherwise (a value is counted
/// until the end of its layer's run).
pub(crate) struct Costs {
    /// Cost of running `F_ℓ` / `B_ℓ` (free values included).
    pub fwd_cost: Vec<f64>,
    pub bwd_cost: Vec<f64>,
    /// Bytes of the boundary `a_ℓ`.
    pub boundary: Vec<usize>,
    /// Bytes of the forward values of `F_ℓ` other than `a_ℓ` that backward nodes read.
    pub kept: Vec<usize>,
    /// Whether `B_ℓ` reads `a_ℓ` / `a_{ℓ−1}` (false for layer 0, whose input is a parameter).
    pub reads_boundary: Vec<bool>,
    pub reads_input: Vec<bool>,
    /// Whether a run of `F_ℓ` right before `B_ℓ` is needed when it is not the first:
    /// `B_ℓ` reads something `F_ℓ` computes, or `F_ℓ` computes an output (whose copy
    /// should be the last). Otherwise `B_ℓ` needs only `a_{ℓ−1}` and what `B_{ℓ+1}` left.
    pub bwd_needs_fwd: Vec<bool>,
    /// Peak bytes while running `F_ℓ` keeping only `a_ℓ` / keeping `a_ℓ` and what
    /// backward nodes read, over what was alive before (which includes `a_{ℓ−1}`).
    pub fwd_peak_advance: Vec<usize>,
    pub fwd_peak_keep: Vec<usize>,
    /// Peak bytes while running `B_ℓ` after `F_ℓ` kept its values, counting those, what
    /// `B_{>ℓ}` left (`crossing[ℓ+1]`) and what `B_ℓ` computes, each freed after its
    /// last reader; checkpoints held (`a_{ℓ−1}` among them) come on top.
    pub bwd_peak: Vec<usize>,
    /// Bytes alive between layers besides checkpoints: outputs computed in the forward
    /// pass, and what `B_{≥ℓ}` computed that is an output or read by `B_{<ℓ}`
    /// (`crossing[ℓ]`, with `crossing[len]` before the backward pass starts).
    pub crossing: Vec<usize>,
}

pub(crate) fn costs(p: &Problem, chain: &Chain) -> Costs {
    let layers = chain.len();
    let mut layer_bwd = vec![usize::MAX; p.len()];
    for (l, nodes) in chain.bwd.iter().enumerate() {
        for &v in nodes {
            layer_bwd[v] = l;
        }
    }
    let size = donated_sizes(p, chain);
    let read_by_bwd = |v: usize| p.users[v].iter().any(|&u| layer_bwd[u] != usize::MAX);
    // Needed once B_l is done: an output, or read by B_{<l}.
    let needed_below = |v: usize, l: usize| p.output[v] || p.users[v].iter().any(|&u| layer_bwd[u] < l);
    let fwd_outputs: usize = chain.fwd.iter().flatten().filter(|&&v| p.output[v]).map(|&v| p.size[v]).sum();
    let mut c = Costs {
        fwd_cost: Vec::with_capacity(layers),
        bwd_cost: Vec::with_capacity(layers),
        boundary: Vec::with_capacity(layers),
        kept: Vec::with_capacity(layers),
        reads_boundary: Vec::with_capacity(layers),
        reads_input: Vec::with_capacity(layers),
        bwd_needs_fwd: Vec::with_capacity(layers),
        fwd_peak_advance: Vec::with_capacity(layers),
        fwd_peak_keep: Vec::with_capacity(layers),
        bwd_peak: Vec::with_capacity(layers),
        crossing: vec![0; layers + 1],
    };
    for l in (0..layers).rev() {
        let escaping: usize = chain.bwd[l..].iter().flatten().filter(|&&v| needed_below(v, l)).map(|&v| size[v]).sum();
        c.crossing[l] = fwd_outputs + escaping;
    }
    for l in 0..layers {
        let a = chain.boundary(l);
        let fwd = render(p, chain, &[Event::Fwd(l)]);
        let kept: Vec<usize> = chain.fwd[l].iter().copied().filter(|&v| v != a && read_by_bwd(v) && !p.output[v]).collect();
        c.fwd_cost.push(p.steps_cost(&fwd));
        c.boundary.push(p.size[a]);
        c.kept.push(kept.iter().map(|&v| p.size[v]).sum());
        c.fwd_peak_advance.push(run_peak(p, &size, &fwd, &[], &|v| v == a || p.output[v]));
        c.fwd_peak_keep.push(run_peak(p, &size, &fwd, &[], &|v| v == a || kept.contains(&v) || p.output[v]));
        let reads = |x: usize| chain.bwd[l].iter().any(|&v| p.inputs[v].contains(&x));
        c.reads_boundary.push(reads(a));
        c.reads_input.push(l > 0 && reads(chain.boundary(l - 1)));
        c.bwd_needs_fwd.push(chain.fwd[l].iter().any(|&v| p.output[v] || reads(v)));
        let bwd = render(p, chain, &[Event::Bwd(l)]);
        c.bwd_cost.push(p.steps_cost(&bwd));
        // Alive when B_l starts: F_l's kept values (and a_l if B_l reads it), what B_{>l}
        // left for B_{≤l}, and forward outputs.
        let mut live_in: Vec<usize> = kept.clone();
        if c.reads_boundary[l] && !p.output[a] {
            live_in.push(a);
        }
        live_in.extend(chain.bwd[l + 1..].iter().flatten().copied().filter(|&v| needed_below(v, l + 1)));
        let base = fwd_outputs;
        c.bwd_peak.push(base + run_peak(p, &size, &bwd, &live_in, &|v| needed_below(v, l)));
    }
    c
}

/// Each node's bytes as every plan over the layers counts them: its size, or nothing for
/// a backward output that takes over its donated parameter's storage in every plan (see
/// the module docs; a free value reading the parameter is read where its readers run).
fn donated_sizes(p: &Problem, chain: &Chain) -> Vec<usize> {
    let mut size = p.size.clone();
    // Where each core node runs: (backward?, layer, position in the layer).
    let mut at: Vec<Option<(bool, usize, usize)>> = vec![None; p.len()];
    for (bwd, layers) in [(false, &chain.fwd), (true, &chain.bwd)] {
        for (l, nodes) in layers.iter().enumerate() {
            for (k, &v) in nodes.iter().enumerate() {
                at[v] = Some((bwd, l, k));
            }
        }
    }
    for (x, d) in p.donor.iter().enumerate() {
        let (Some(d), Some((true, l, kx))) = (*d, at[x]) else { continue };
        // The core nodes that read `d`, directly or through free values; `None` for a
        // free output, which runs after everything.
        let mut readers: Vec<Option<usize>> = Vec::new();
        let mut stack: Vec<usize> = p.param_users[d].clone();
        let mut seen = vec![false; p.len()];
        while let Some(r) = stack.pop() {
            if std::mem::replace(&mut seen[r], true) {
                continue;
            }
            if chain.free[r] {
                stack.extend(&p.users[r]);
                if p.output[r] {
                    readers.push(None);
                }
            } else {
                readers.push(Some(r));
            }
        }
        let direct_in_place = overwrites_operand(&p.graph.nodes[x].op) || !p.param_inputs[x].contains(&d);
        let safe = readers.iter().all(|r| match r.and_then(|r| at[r].map(|a| (r, a))) {
            Some((_, (false, m, _))) => m >= l,
            Some((r, (true, m, k))) => m > l || (m == l && (k < kx || (r == x && direct_in_place))),
            None => false,
        });
        if safe {
            size[x] = 0;
        }
    }
    size
}

/// Peak bytes of running `steps` over what was alive before, plus the values `live_in`
/// (alive at the start), each counting `size` bytes. A value lives until its last reader
/// here, or to the end if `keep(v)`; a live-in value nothing here reads and not kept
/// counts as already gone.
fn run_peak(p: &Problem, size: &[usize], steps: &[usize], live_in: &[usize], keep: &dyn Fn(usize) -> bool) -> usize {
    let mut last = vec![usize::MAX; p.len()];
    for (k, &s) in steps.iter().enumerate() {
        for &u in &p.inputs[s] {
            last[u] = k;
        }
    }
    let mut alive = vec![false; p.len()];
    let mut live = 0usize;
    for &v in live_in {
        if !alive[v] && (last[v] != usize::MAX || keep(v)) {
            alive[v] = true;
            live += size[v];
        }
    }
    let mut peak = live;
    for (k, &s) in steps.iter().enumerate() {
        live += size[s];
        peak = peak.max(live);
        alive[s] = true;
        for &u in p.inputs[s].iter().chain(std::iter::once(&s)) {
            let done = last[u] == k || (last[u] == usize::MAX && u == s);
            if alive[u] && done && !keep(u) {
                alive[u] = false;
                live -= size[u];
            }
        }
    }
    peak
}
