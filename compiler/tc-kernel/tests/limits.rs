//! `lower_with` keeps every kernel within a target's buffer limit, splitting fused
//! kernels (and declining row-kernel merges) instead of failing a valid graph.

use tc_ir::{Graph, ReduceOp, Type};
use tc_kernel::{Kernel, KernelProgram, Limits};
use tc_tensor::DType;

/// Distinct buffers each loop kernel reads or writes (call kernels have fixed arity).
fn loop_bindings(program: &KernelProgram) -> Vec<usize> {
    program
        .kernels
        .iter()
        .filter(|k| matches!(k, Kernel::Loop(_)))
        .map(|k| {
            let mut all = k.reads();
            all.extend(k.writes());
            all.sort();
            all.dedup();
            all.len()
        })
        .collect()
}

/// The sum of `n` parameters, then a row sum of it and the sum minus its row sums,
/// all f32[4, 8].
fn many_operands(n: usize) -> Graph {
    let ty = Type::new(DType::F32, vec![4, 8]);
    let mut g = Graph::new("many");
    let params: Vec<_> = (0..n).map(|i| g.param(i, ty.clone())).collect();
    let mut total = params[0];
    for &p in &params[1..] {
        total = g.add(total, p);
    }
    let rows = g.reduce(ReduceOp::Sum, total, &[1]);
    let spread = g.broadcast_in_dim(rows, &[4, 8], vec![0]);
    let centred = g.sub(total, spread);
    let weighted = g.add(centred, params[n / 2]);
    g.outputs = vec![weighted];
    g
}

#[test]
fn no_loop_kernel_binds_more_buffers_than_allowed() {
    let g = many_operands(125);
    let unlimited = tc_kernel::lower(&g).unwrap();
    assert!(loop_bindings(&unlimited).iter().any(|&b| b > 8), "{:?}", loop_bindings(&unlimited));
    for max in [4, 8, 32] {
        let program = tc_kernel::lower_with(&g, &Limits { max_buffers: Some(max) }).unwrap();
        let bindings = loop_bindings(&program);
        assert!(bindings.iter().all(|&b| b <= max), "limit {max}: {bindings:?}\n{}", tc_kernel::print(&program));
    }
}
