//! The emitted text, without LLVM: snapshots of representative modules, the StableHLO form
//! of every program in `common::programs`, and a clear error for what the backend lacks.
//! The checks by LLVM 22's own tools are in `llvm_tools.rs`.

mod common;
use common::{graph_of, programs, t};
use tc_tensor::DType;

const F32: DType = DType::F32;

#[test]
fn every_program_has_a_stablehlo_form() {
    for (src, types) in programs() {
        let text = tc_mlir::emit_stablehlo(&graph_of(src, "main", &types)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(text.starts_with("module {\nfunc.func @main("), "{text}");
    }
}

#[test]
fn integer_sign_is_stablehlo_sign() {
    // Only float zeros need the select that makes sign(-0.0) +0; integers have no -0.
    for dtype in [DType::I32, DType::I64] {
        let g = graph_of("fn main(x) { sign(x) }", "main", &[t(dtype, &[4])]);
        let text = tc_mlir::emit_stablehlo(&g).unwrap_or_else(|e| panic!("{dtype}: {e}"));
        assert!(text.contains("stablehlo.sign") && !text.contains("select"), "{text}");
    }
}

#[test]
fn snapshots() {
    let g = graph_of("use nn;\nfn main(x, w) { nn::softmax(x @ w) }", "main", &[t(F32, &[2, 3]), t(F32, &[3, 4])]);
    insta::assert_snapshot!("softmax_matmul_mlir", tc_mlir::emit_mlir(&g).unwrap());
    insta::assert_snapshot!("softmax_matmul_stablehlo", tc_mlir::emit_stablehlo(&g).unwrap());
    // Where StableHLO's ops differ from tensorc's: a saturating float→int cast, sign(-0.0).
    let g = graph_of("fn main(x) { (x as u8, sign(x)) }", "main", &[t(F32, &[3])]);
    insta::assert_snapshot!("cast_sign_stablehlo", tc_mlir::emit_stablehlo(&g).unwrap());
}

#[test]
fn unsupported_is_a_clear_error() {
    // The front end only makes float convolutions; the graph IR also allows integers.
    let mut g = tc_ir::Graph::new("main");
    let x = g.param(0, t(DType::I32, &[1, 1, 4, 4]));
    let w = g.param(1, t(DType::I32, &[1, 1, 3, 3]));
    let y = g.push(tc_ir::Op::Conv2d { stride: [1, 1], pad: [(0, 0), (0, 0)], dilation: [1, 1] }, vec![x, w], t(DType::I32, &[1, 1, 2, 2]));
    g.outputs.push(y);
    tc_ir::verify::verify(&g).unwrap();
    let e = tc_mlir::emit_mlir(&g).unwrap_err();
    assert_eq!(e.to_string(), "the MLIR backend does not support conv2d on i32");
}
