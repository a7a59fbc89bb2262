//! `--precision bf16`: the operands of every f32 matmul and convolution rounded to
//! bf16 (to nearest even), their products accumulated as before. This is what a
//! bf16 matrix unit computes (Intel AMX, a TPU's MXU: bf16 in, f32 accumulate), written
//! as plain casts so that every backend, the interpreter first, gives its meaning;
//! the MLIR backend's tile path then runs those matmuls on the unit (the rounding it
//! repeats when packing the operands is exact).

use crate::rebuild::Rebuild;
use tc_ir::{Graph, Op};
use tc_tensor::DType;

/// `graph` with `x as bf16 as f32` in front of each operand of each f32 `matmul` and
/// `conv2d`. Parameters, outputs and donations are unchanged.
pub fn bf16_contractions(graph: &Graph) -> Graph {
    let mut r = Rebuild::new(graph);
    for node in &graph.nodes {
        let contraction = matches!(node.op, Op::MatMul | Op::Conv2d { .. }) && node.ty.dtype == DType::F32;
        if !contraction {
            r.copy(node);
            continue;
        }
        let inputs = r
            .inputs(node)
            .into_iter()
            .map(|x| {
                let ty = r.new.ty(x).clone();
                let low = r.push(Op::Cast, vec![x], ty.with_dtype(DType::BF16));
                r.push(Op::Cast, vec![low], ty)
            })
            .collect();
        let id = r.push(node.op.clone(), inputs, node.ty.clone());
        r.map_next(Some(id));
    }
    let mut out = r.finish();
    out.donations = graph.donations.clone();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_ir::Type;
    use tc_tensor::{Data, Tensor};

    #[test]
    fn operands_are_rounded_and_the_rest_is_untouched() {
        let mut g = Graph::new("main");
        let a = g.param(0, Type::new(DType::F32, vec![1, 2]));
        let b = g.param(1, Type::new(DType::F32, vec![2, 1]));
        let m = g.push(Op::MatMul, vec![a, b], Type::new(DType::F32, vec![1, 1]));
        let s = g.push(Op::Binary(tc_ir::BinaryOp::Add), vec![a, a], Type::new(DType::F32, vec![1, 2]));
        g.outputs = vec![m, s];
        let r = bf16_contractions(&g);
        tc_ir::verify::verify(&r).unwrap();
        assert_eq!(r.nodes.iter().filter(|n| n.op == Op::Cast).count(), 4);
        // 1 + 2^-9 is not a bf16 (8 significant bits): it rounds to 1.
        let x = 1.0 + 2f32.powi(-9);
        let ins = [Tensor::new(vec![1, 2], Data::F32(vec![x, 0.0])).unwrap(), Tensor::new(vec![2, 1], Data::F32(vec![1.0, 5.0])).unwrap()];
        let out = tc_interp::run(&r, &ins).unwrap();
        assert_eq!(out[0].data().to_f64_vec(), vec![1.0]);
        assert_eq!(out[1].data().to_f64_vec(), vec![2.0 * x as f64, 0.0]);
    }
}
