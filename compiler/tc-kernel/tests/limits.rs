//! `lower_with` keeps every kernel within a target's buffer limit, splitting fused
//! kernels (and declining row-kernel merges, narrowing wide concatenations) instead of
//! failing a valid graph.

use tc_ir::{Graph, ReduceOp, Type};
use tc_kernel::{KernelProgram, Limits};
use tc_tensor::DType;

/// Distinct buffers each kernel reads or writes.
fn bindings(program: &KernelProgram) -> Vec<usize> {
    program
        .kernels
        .iter()
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
fn no_fused_kernel_binds_more_buffers_than_allowed() {
    let g = many_operands(125);
    let unlimited = tc_kernel::lower(&g).unwrap();
    assert!(bindings(&unlimited).iter().any(|&b| b > 8), "{:?}", bindings(&unlimited));
    for max in [4, 8, 32] {
        let program = tc_kernel::lower_with(&g, &Limits { max_buffers: Some(max) }).unwrap();
        let bindings = bindings(&program);
        assert!(bindings.iter().all(|&b| b <= max), "limit {max}: {bindings:?}\n{}", tc_kernel::print(&program));
    }
}

#[test]
fn a_wide_concat_becomes_a_concat_of_narrow_ones() {
    let ty = Type::new(DType::F32, vec![2, 3]);
    let mut g = Graph::new("cat");
    let x = g.param(0, ty);
    let parts: Vec<_> = (0..40).map(|i| g.binary_scalar(tc_ir::BinaryOp::Mul, x, i as f64)).collect();
    let all = g.concat(parts, 1);
    g.outputs = vec![all];
    assert!(bindings(&tc_kernel::lower(&g).unwrap()).contains(&41));
    for max in [4, 8, 32] {
        let program = tc_kernel::lower_with(&g, &Limits { max_buffers: Some(max) }).unwrap();
        let bindings = bindings(&program);
        assert!(bindings.iter().all(|&b| b <= max), "limit {max}: {bindings:?}\n{}", tc_kernel::print(&program));
    }
}
