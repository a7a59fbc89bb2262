//! Property tests: random well-typed graphs (elementwise chains over every dtype,
//! broadcasts of differently shaped parameters, reductions broadcast back, reversals,
//! transposes and reshapes around computations, slices padded back, batched matmuls,
//! iotas) on random inputs give the interpreter's results on the CPU backend: ints and
//! bools exactly, floats within a few ulp (plus a small absolute slack for cancellation).
//!
//! Discontinuous ops (comparisons, rounding, float→int casts, `rem`) and the
//! ill-conditioned ones (`pow`, product reductions) are only applied to values the CPU computes bit-exactly, so a
//! last-ulp difference in `exp` cannot flip a comparison and fail the test spuriously.

mod common;

use common::{assert_close, random_tensor, rtol, Rng};
use proptest::prelude::*;
use tc_ir::{BinaryOp, Graph, NodeId, ReduceOp, Type, UnaryOp};
use tc_tensor::{DType, Tensor};

/// A value of the base shape and whether the CPU computes it bit-exactly.
#[derive(Clone, Copy)]
struct V {
    id: NodeId,
    exact: bool,
}

struct Builder {
    g: Graph,
    shape: Vec<usize>,
    pool: Vec<V>,
    params: Vec<Type>,
}

impl Builder {
    fn dtype(&self, v: V) -> DType {
        self.g.ty(v.id).dtype
    }

    fn pick(&self, i: u8) -> V {
        self.pool[i as usize % self.pool.len()]
    }

    fn param(&mut self, ty: Type) -> NodeId {
        let id = self.g.param(self.params.len(), ty.clone());
        self.params.push(ty);
        id
    }

    /// `v` as `dtype`; `None` when that would be a discontinuous cast of an inexact value.
    fn to(&mut self, v: V, dtype: DType) -> Option<V> {
        let from = self.dtype(v);
        if from == dtype {
            return Some(v);
        }
        if !v.exact && from.is_float() && !dtype.is_float() {
            return None;
        }
        Some(V { id: self.g.cast(v.id, dtype), exact: v.exact })
    }

    fn push(&mut self, v: V) {
        self.pool.push(v);
    }

    fn step(&mut self, op: [u8; 4]) {
        let [kind, a, b, c] = op;
        let rank = self.shape.len();
        match kind % 12 {
            0 => {
                // A parameter broadcast to the base shape: each axis kept, size 1, or absent.
                let dtype = DType::ALL[a as usize % 8];
                let mut shape = Vec::new();
                let mut dims = Vec::new();
                for d in 0..rank {
                    match (b >> (2 * d)) & 3 {
                        0 => {}
                        1 => {
                            shape.push(1);
                            dims.push(d);
                        }
                        _ => {
                            shape.push(self.shape[d]);
                            dims.push(d);
                        }
                    }
                }
                let p = self.param(Type::new(dtype, shape));
                let s = self.shape.clone();
                let id = self.g.broadcast_in_dim(p, &s, dims);
                self.push(V { id, exact: true });
            }
            1 => {
                let mut x = self.pick(a);
                let mut u = UnaryOp::ALL[b as usize % 16];
                let discontinuous = matches!(u, UnaryOp::Sign | UnaryOp::Floor | UnaryOp::Ceil | UnaryOp::Round);
                if discontinuous && !x.exact {
                    u = UnaryOp::Neg;
                }
                let d = self.dtype(x);
                x = match u {
                    UnaryOp::Not => match self.to(x, DType::Bool) {
                        Some(x) => x,
                        None => return,
                    },
                    u if u.float_only() && !d.is_float() => self.to(x, DType::F32).expect("int to float"),
                    _ if d == DType::Bool => self.to(x, DType::I32).expect("bool to int"),
                    _ => x,
                };
                let d = self.dtype(x);
                let poly = d == DType::F32 && matches!(u, UnaryOp::Exp | UnaryOp::Log | UnaryOp::Tanh | UnaryOp::Sigmoid | UnaryOp::Rsqrt);
                let id = self.g.unary(u, x.id);
                self.push(V { id, exact: x.exact && !poly });
            }
            2 => {
                let x = self.pick(a);
                let mut op = BinaryOp::ALL[c as usize % 16];
                let Some(mut y) = self.to(self.pick(b), self.dtype(x)) else { return };
                let exact = x.exact && y.exact;
                if !exact && (op.is_comparison() || op == BinaryOp::Rem) {
                    op = BinaryOp::Max;
                }
                if !exact && op == BinaryOp::Pow {
                    // Ill-conditioned: an ulp in the base can become many in the result.
                    op = BinaryOp::Mul;
                }
                let mut x = x;
                let d = self.dtype(x);
                let want = if op.is_logical() {
                    DType::Bool
                } else if op == BinaryOp::Pow && !d.is_float() {
                    DType::F32
                } else if d == DType::Bool && !op.is_comparison() && !matches!(op, BinaryOp::Max | BinaryOp::Min) {
                    DType::I32
                } else {
                    d
                };
                match (self.to(x, want), self.to(y, want)) {
                    (Some(a), Some(b)) => {
                        x = a;
                        y = b;
                    }
                    _ => return,
                }
                let id = self.g.binary(op, x.id, y.id);
                self.push(V { id, exact });
            }
            3 => {
                let (x, y) = (self.pick(a), self.pick(b));
                if !x.exact {
                    return;
                }
                let zero = self.g.full(&Type::new(self.dtype(x), self.shape.clone()), 1.0);
                let cond = self.g.binary(BinaryOp::Gt, x.id, zero);
                let z = self.pick(c);
                let Some(z) = self.to(z, self.dtype(y)) else { return };
                let id = self.g.select(cond, y.id, z.id);
                self.push(V { id, exact: y.exact && z.exact });
            }
            4 => {
                let x = self.pick(a);
                if let Some(v) = self.to(x, DType::ALL[b as usize % 8]) {
                    self.push(v);
                }
            }
            5 => {
                // A reduction broadcast back along the reduced axes.
                let mut op = [ReduceOp::Sum, ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min][b as usize % 4];
                let mut x = self.pick(a);
                if op == ReduceOp::Prod && !x.exact {
                    // A product of n factors multiplies their relative error by n.
                    op = ReduceOp::Max;
                }
                if self.dtype(x) == DType::Bool && matches!(op, ReduceOp::Sum | ReduceOp::Prod) {
                    x = self.to(x, DType::I32).expect("bool to int");
                }
                let axes: Vec<usize> = (0..rank).filter(|d| (c >> d) & 1 == 1).collect();
                let r = self.g.reduce(op, x.id, &axes);
                let kept: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
                let s = self.shape.clone();
                let id = self.g.broadcast_in_dim(r, &s, kept);
                let float_fold = self.dtype(x).is_float() && matches!(op, ReduceOp::Sum | ReduceOp::Prod);
                self.push(V { id, exact: x.exact && !float_fold });
            }
            6 => {
                let x = self.pick(a);
                let axes: Vec<usize> = (0..rank).filter(|d| (b >> d) & 1 == 1).collect();
                let id = self.g.reverse(x.id, axes);
                self.push(V { id, exact: x.exact });
            }
            7 => {
                // Transpose, compute, transpose back.
                let x = self.pick(a);
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.rotate_left(b as usize % rank.max(1));
                let t = self.g.transpose(x.id, &perm);
                let d = self.dtype(x);
                let t = if d == DType::Bool { self.g.unary(UnaryOp::Not, t) } else { self.g.unary(UnaryOp::Neg, t) };
                let mut inv = vec![0; rank];
                for (i, &p) in perm.iter().enumerate() {
                    inv[p] = i;
                }
                let id = self.g.transpose(t, &inv);
                self.push(V { id, exact: x.exact });
            }
            8 => {
                // Flatten, compute, restore.
                let x = self.pick(a);
                let n = self.shape.iter().product::<usize>();
                let f = self.g.reshape(x.id, &[n]);
                let f = if self.dtype(x) == DType::Bool { self.g.unary(UnaryOp::Not, f) } else { self.g.unary(UnaryOp::Abs, f) };
                let s = self.shape.clone();
                let id = self.g.reshape(f, &s);
                self.push(V { id, exact: x.exact });
            }
            9 => {
                // Drop the first element along an axis, pad it back with a constant.
                let x = self.pick(a);
                let ax = b as usize % rank;
                if self.shape[ax] < 2 {
                    return;
                }
                let mut start = vec![0; rank];
                start[ax] = 1;
                let s = self.g.slice(x.id, start, self.shape.clone());
                let v = self.g.scalar(self.dtype(x), 1.0);
                let mut lo = vec![0; rank];
                lo[ax] = 1;
                let id = self.g.pad(s, v, lo, vec![0; rank]);
                self.push(V { id, exact: x.exact });
            }
            10 => {
                // Batched matmul with a square right operand: the shape is kept.
                if rank < 2 {
                    return;
                }
                let mut x = self.pick(a);
                if self.dtype(x) == DType::Bool {
                    x = self.to(x, DType::I32).expect("bool to int");
                }
                let n = self.shape[rank - 1];
                let mut wshape = self.shape[..rank - 2].to_vec();
                wshape.extend([n, n]);
                let mut w = self.param(Type::new(self.dtype(x), wshape));
                // Operands transposed in their last two axes (read in place by the library).
                let mut perm: Vec<usize> = (0..rank).collect();
                perm.swap(rank - 2, rank - 1);
                if c & 1 == 1 {
                    w = self.g.transpose(w, &perm);
                }
                let lhs = if c & 2 == 2 && self.shape[rank - 2] == n { self.g.transpose(x.id, &perm) } else { x.id };
                let id = self.g.matmul(lhs, w);
                self.push(V { id, exact: x.exact && !self.dtype(x).is_float() });
            }
            _ => {
                let ty = Type::new([DType::I32, DType::I64, DType::F32, DType::U8][a as usize % 4], self.shape.clone());
                let id = self.g.iota(ty, b as usize % rank);
                self.push(V { id, exact: true });
            }
        }
    }
}

fn build(shape: &[usize], ops: &[[u8; 4]], outs: &[u8]) -> (Graph, Vec<Type>) {
    let mut b = Builder { g: Graph::new("random"), shape: shape.to_vec(), pool: Vec::new(), params: Vec::new() };
    b.step([0, 1, 0xff, 0]); // one f32 parameter of the full shape to start from
    for &op in ops {
        b.step(op);
    }
    let mut outputs = vec![b.pool[b.pool.len() - 1].id];
    outputs.extend(outs.iter().map(|&o| b.pick(o).id));
    b.g.outputs = outputs;
    (b.g, b.params)
}

fn check(shape: Vec<usize>, ops: Vec<[u8; 4]>, outs: Vec<u8>, seed: u64) -> Result<(), TestCaseError> {
    let (graph, params) = build(&shape, &ops, &outs);
    prop_assert!(tc_ir::verify::verify(&graph).is_ok(), "generated an ill-typed graph:\n{}", tc_ir::text::print(&graph));
    let mut rng = Rng(seed | 1);
    let inputs: Vec<Tensor> = params.iter().map(|t| random_tensor(&mut rng, t)).collect();
    let want = tc_interp::run(&graph, &inputs).unwrap();
    for (variant, g) in [("raw", graph.clone()), ("simplified", tc_opt::simplify(&graph))] {
        let program = tc_cpu::compile(&g).unwrap_or_else(|e| panic!("{e}\n{}", tc_ir::text::print(&g)));
        let got = program.run(&inputs).unwrap();
        // A value may have been rounded to the coarsest float dtype on its way.
        let coarsest = g.nodes.iter().map(|n| rtol(n.ty.dtype)).fold(0.0, f64::max);
        for (i, (a, w)) in got.iter().zip(&want).enumerate() {
            let scale = w.data().to_f64_vec().iter().filter(|v| v.is_finite()).fold(1.0f64, |m, v| m.max(v.abs()));
            let tol = coarsest.max(rtol(w.dtype()));
            let what = format!("{variant} output {i}\n{}\n{}", tc_ir::text::print(&g), program.kernels_text());
            assert_close(a, w, tol * 4.0, tol * scale, &what);
        }
    }
    Ok(())
}

fn shapes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..=4, Just(5), Just(9)], 1..=3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_match_the_interpreter(
        shape in shapes(),
        ops in prop::collection::vec(any::<[u8; 4]>(), 1..12),
        outs in prop::collection::vec(any::<u8>(), 0..3),
        seed in any::<u64>(),
    ) {
        check(shape, ops, outs, seed)?;
    }
}
