//! Graphs hundreds of thousands of nodes deep go through every pass from the graph onward — verify,
//! the text form, simplification, fusion, coalescing, planning, printing — on the
//! default 2 MiB test thread stack (no pass recurses on the depth of the program), and
//! fusion keeps every stage's expression within `MAX_EXPR_DEPTH` so backends that
//! compile a stage's expression DAG stay bounded too.

use tc_ir::{BinaryOp, Graph, NodeId, Type, UnaryOp};
use tc_kernel::fuse::MAX_EXPR_DEPTH;
use tc_kernel::{ExprOp, Kernel, KernelProgram};
use tc_tensor::{DType, Tensor};

/// Deep enough that a pass recursing once per node would need far more than the 2 MiB
/// stack (at even 32 bytes a frame, 200,000 frames are 6 MiB).
const DEPTH: usize = 200_000;

/// `x + 1 + 1 + ...` (`DEPTH` additions) of an f32[4] parameter.
fn add_chain() -> Graph {
    let mut g = Graph::new("chain");
    let mut x = g.param(0, Type::new(DType::F32, vec![4]));
    let one = g.full(&Type::new(DType::F32, vec![4]), 1.0);
    for _ in 0..DEPTH {
        x = g.add(x, one);
    }
    g.outputs = vec![x];
    g
}

/// `DEPTH` sines, then their reverse pass (`dy · cos(x_i)` from the last step back to
/// the first), as `grad` writes it: the backward chain rereads every forward value.
fn sin_chain_and_reverse() -> Graph {
    let mut g = Graph::new("sines");
    let mut forward: Vec<NodeId> = vec![g.param(0, Type::new(DType::F32, vec![4]))];
    for _ in 0..DEPTH / 2 {
        let x = g.unary(UnaryOp::Sin, *forward.last().expect("a value"));
        forward.push(x);
    }
    let mut dy = g.full(&Type::new(DType::F32, vec![4]), 1.0);
    for &x in forward[..forward.len() - 1].iter().rev() {
        let c = g.unary(UnaryOp::Cos, x);
        dy = g.binary(BinaryOp::Mul, dy, c);
    }
    g.outputs = vec![*forward.last().expect("a value"), dy];
    g
}

/// The longest operand chain of any stage's expression DAG.
fn deepest_stage(program: &KernelProgram) -> usize {
    let mut deepest = 0;
    for k in &program.kernels {
        let Kernel::Loop(l) = k else { continue };
        for s in &l.stages {
            let mut depth = vec![0usize; s.exprs.len()];
            for (i, e) in s.exprs.iter().enumerate() {
                let operands = match e.op {
                    ExprOp::Unary(_, a) | ExprOp::Cast(a) => vec![a],
                    ExprOp::Binary(_, a, b) => vec![a, b],
                    ExprOp::Select(c, a, b) => vec![c, a, b],
                    ExprOp::Load { .. } | ExprOp::Index { .. } | ExprOp::Const(_) | ExprOp::Slot { .. } => vec![],
                };
                depth[i] = 1 + operands.iter().map(|o| depth[o.index()]).max().unwrap_or(0);
                deepest = deepest.max(depth[i]);
            }
        }
    }
    deepest
}

fn every_pass(g: &Graph) -> KernelProgram {
    tc_ir::verify::verify(g).expect("the graph verifies");
    let text = tc_ir::text::print(g);
    let parsed = tc_ir::text::parse(&text).expect("the text form parses");
    assert!(parsed.bitwise_eq(g), "the text form round-trips");
    let simplified = tc_opt::simplify(g);
    let program = tc_kernel::lower(&simplified).expect("the graph lowers");
    assert!(!tc_kernel::print(&program).is_empty());
    let deepest = deepest_stage(&program);
    assert!(deepest <= MAX_EXPR_DEPTH + 1, "a stage {deepest} expressions deep");
    program
}

#[test]
fn a_deep_addition_chain_lowers_in_bounded_stages() {
    let g = add_chain();
    let program = every_pass(&g);
    // Split into about DEPTH / MAX_EXPR_DEPTH kernels, not one per addition.
    assert!(program.kernels.len() >= DEPTH / MAX_EXPR_DEPTH, "{} kernels", program.kernels.len());
    assert!(program.kernels.len() <= 2 * DEPTH / MAX_EXPR_DEPTH + 1, "{} kernels", program.kernels.len());
    let x = Tensor::from_f32(vec![4], vec![0.5, 1.0, 2.0, 3.0]).expect("four values");
    let out = tc_interp::run(&g, &[x]).expect("the interpreter runs it");
    assert_eq!(out[0], Tensor::from_f32(vec![4], vec![200_000.5, 200_001.0, 200_002.0, 200_003.0]).expect("four values"));
}

#[test]
fn a_deep_sine_chain_and_its_reverse_pass_lower_in_bounded_stages() {
    every_pass(&sin_chain_and_reverse());
}
