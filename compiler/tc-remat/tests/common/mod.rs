//! Graph generators and checks shared by the remat tests: random DAGs, random training
//! graphs (a random forward DAG differentiated with `tc_grad::vjp`), pure chains, inputs,
//! and bitwise comparison of results.

#![allow(dead_code)]

use tc_ir::{BinaryOp, Donation, Graph, NodeId, Op, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const BATCH: usize = 3;
const WIDTHS: [usize; 3] = [2, 4, 8];

/// Builds forward graphs over `[BATCH, w]` f32 tensors, creating weight parameters as needed.
struct Forward {
    g: Graph,
    params: usize,
    weights: Vec<NodeId>,
}

impl Forward {
    fn new(width: usize) -> (Forward, NodeId) {
        let mut f = Forward { g: Graph::new("random"), params: 0, weights: Vec::new() };
        let x = f.param(vec![BATCH, width]);
        (f, x)
    }

    fn param(&mut self, shape: Vec<usize>) -> NodeId {
        let id = self.g.param(self.params, Type::new(DType::F32, shape));
        self.params += 1;
        id
    }

    fn width(&self, x: NodeId) -> usize {
        self.g.ty(x).shape[1]
    }

    /// `x` as width `w`: itself, or a matmul with a fresh weight.
    fn widen_to(&mut self, x: NodeId, w: usize) -> NodeId {
        if self.width(x) == w {
            return x;
        }
        let wt = self.param(vec![self.width(x), w]);
        self.weights.push(wt);
        self.g.matmul(x, wt)
    }

    /// One random op reading earlier values.
    fn step(&mut self, rng: &mut Rng, values: &[NodeId]) -> NodeId {
        let a = values[values.len() - 1 - rng.below(values.len().min(3))];
        match rng.below(6) {
            0 => {
                let op = [UnaryOp::Tanh, UnaryOp::Sin, UnaryOp::Sigmoid, UnaryOp::Neg][rng.below(4)];
                self.g.unary(op, a)
            }
            1 | 2 => {
                let w = WIDTHS[rng.below(WIDTHS.len())];
                let wt = self.param(vec![self.width(a), w]);
                self.weights.push(wt);
                self.g.matmul(a, wt)
            }
            3 => {
                let zero = self.g.full(&self.g.ty(a).clone(), 0.0);
                self.g.binary(BinaryOp::Max, a, zero)
            }
            _ => {
                let b = values[rng.below(values.len())];
                let b = self.widen_to(b, self.width(a));
                let op = [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Sub][rng.below(3)];
                self.g.binary(op, a, b)
            }
        }
    }
}

/// A random DAG of about `ops` ops; outputs: the last value and 0–2 others.
pub fn random_dag(seed: u64, ops: usize) -> Graph {
    let mut rng = Rng::new(seed);
    let (mut f, x) = Forward::new(WIDTHS[rng.below(WIDTHS.len())]);
    let mut values = vec![x];
    for _ in 0..ops {
        let v = f.step(&mut rng, &values);
        values.push(v);
    }
    let mut outputs = vec![*values.last().expect("a value")];
    for _ in 0..rng.below(3) {
        let o = values[1 + rng.below(values.len() - 1)];
        if !outputs.contains(&o) {
            outputs.push(o);
        }
    }
    f.g.outputs = outputs;
    f.g
}

/// A training step: a random forward DAG of `ops` ops, loss `sum(y * y)`, and the
/// gradients of the loss with respect to every weight. Outputs: loss, gradients.
pub fn random_training(seed: u64, ops: usize) -> Graph {
    let mut rng = Rng::new(seed);
    let (mut f, x) = Forward::new(WIDTHS[rng.below(WIDTHS.len())]);
    let mut values = vec![x];
    for _ in 0..ops {
        let v = f.step(&mut rng, &values);
        values.push(v);
    }
    let y = *values.last().expect("a value");
    let sq = f.g.mul(y, y);
    let loss = f.g.reduce(ReduceOp::Sum, sq, &[0, 1]);
    let weights = f.weights.clone();
    let grads = tc_grad::vjp(&mut f.g, loss, &weights).expect("differentiable");
    f.g.outputs = std::iter::once(loss).chain(grads).collect();
    f.g
}

/// A training step with an optimiser update: [`random_training`]'s loss and gradients,
/// then per weight `w' = w − 0.1·g` (SGD) or, with `momentum`, `v' = 0.9·v + g` and
/// `w' = w − 0.1·v'` (a velocity parameter per weight). Outputs: the loss, the new
/// weights, the new velocities (each weight and velocity donated to its update) and, for
/// every third seed, the sum of the first old weight, read last.
pub fn random_update(seed: u64, ops: usize, momentum: bool) -> Graph {
    let mut g = random_training(seed, ops);
    let weights: Vec<NodeId> = g.nodes.iter().enumerate().filter(|(_, n)| matches!(n.op, Op::Param(i) if i > 0)).map(|(k, _)| NodeId(k as u32)).collect();
    let grads = g.outputs[1..].to_vec();
    let mut params = g.param_types().len();
    let mut outputs = vec![g.outputs[0]];
    let mut donations = Vec::new();
    let mut velocities = Vec::new();
    for (&w, &gr) in weights.iter().zip(&grads) {
        let step = if momentum {
            let v = g.param(params, g.ty(w).clone());
            let decayed = g.binary_scalar(BinaryOp::Mul, v, 0.9);
            let v2 = g.binary(BinaryOp::Add, decayed, gr);
            velocities.push((params, v2));
            params += 1;
            v2
        } else {
            gr
        };
        let scaled = g.binary_scalar(BinaryOp::Mul, step, 0.1);
        let w2 = g.sub(w, scaled);
        let Op::Param(i) = g.node(w).op else { unreachable!("a weight is a parameter") };
        donations.push(Donation { param: i, output: outputs.len() });
        outputs.push(w2);
    }
    for (param, v2) in velocities {
        donations.push(Donation { param, output: outputs.len() });
        outputs.push(v2);
    }
    if seed.is_multiple_of(3) && !weights.is_empty() {
        // A reader of the first weight after its update: that donation cannot hold.
        let rank = g.ty(weights[0]).rank();
        let norm = g.reduce(ReduceOp::Sum, weights[0], &(0..rank).collect::<Vec<_>>());
        outputs.push(norm);
    }
    g.outputs = outputs;
    g.donations = donations;
    g
}

/// `g` with some outputs donated a parameter of their type (random pairs, so the
/// parameter may well be read after the output: the donation then does not hold).
pub fn with_random_donations(mut g: Graph, seed: u64) -> Graph {
    let mut rng = Rng::new(seed ^ 0xD0);
    let params = g.param_types();
    let mut taken = vec![false; params.len()];
    for (j, ty) in g.output_types().iter().enumerate() {
        let free: Vec<usize> = (0..params.len()).filter(|&i| !taken[i] && &params[i] == ty).collect();
        if !free.is_empty() && rng.below(3) > 0 {
            let i = free[rng.below(free.len())];
            taken[i] = true;
            g.donations.push(Donation { param: i, output: j });
        }
    }
    g
}

/// A pure chain of `layers` single-node layers: `f_i = op(f_{i−1})` (a cheap unary op
/// or an expensive matmul), then `b_i = b_{i+1} * f_i` or `* f_{i−1}`; output `b_1`.
pub fn pure_chain(seed: u64, layers: usize) -> Graph {
    let mut rng = Rng::new(seed);
    let mut g = Graph::new("chain");
    let ty = Type::new(DType::F32, vec![BATCH, 8]);
    let x = g.param(0, ty.clone());
    let w = g.param(1, Type::new(DType::F32, vec![8, 8]));
    let mut f = vec![x];
    for _ in 0..layers {
        let prev = *f.last().expect("a value");
        let v = if rng.below(3) == 0 { g.matmul(prev, w) } else { g.unary([UnaryOp::Tanh, UnaryOp::Sin][rng.below(2)], prev) };
        f.push(v);
    }
    let mut b = g.mul(f[layers], f[layers]);
    for i in (1..layers).rev() {
        let read = if rng.below(2) == 0 || i == 1 { f[i] } else { f[i - 1] };
        b = g.mul(b, read);
    }
    g.outputs = vec![b];
    g
}

/// Inputs for `g`'s parameters: deterministic values in [-1, 1].
pub fn inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::new(seed ^ 0xABCD);
    g.param_types()
        .iter()
        .map(|t| {
            let v: Vec<f64> = (0..t.num_elements()).map(|_| rng.unit() * 2.0 - 1.0).collect();
            Tensor::from_f64_values(t.dtype, t.shape.clone(), &v).expect("sizes match")
        })
        .collect()
}

/// Whether two lists of tensors are bitwise identical.
pub fn bitwise_equal(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| x.dtype() == y.dtype() && x.shape() == y.shape() && x.data().to_le_bytes() == y.data().to_le_bytes())
}
