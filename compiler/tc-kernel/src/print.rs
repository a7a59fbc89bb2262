//! The text form of a kernel program (`tensorc emit --stage kernels`), stable enough to
//! snapshot:
//!
//! ```text
//! kernels main(b0: f32[4, 8]) -> (b1) {
//!   b0 = param 0 : f32[4, 8]
//!   b1 = output : f32[4, 8]
//!   k0 = loop [4 | 8] {
//!     stage 0 reduce max {
//!       e0 = load b0[8i0 + i1] : f32
//!     } -> reduce max e0
//!     ...
//!   }
//!   arena 0 bytes, peak 128 bytes
//! }
//! ```
//!
//! A loop's domain prints as `[outer axes | inner axes]`; its index variables are
//! `i0, i1, ...` in domain order, and a view prints as the affine expression of its
//! element index. A library call's operand read transposed prints as `b3ᵀ`. Constants
//! print their type only (their values are in the graph IR).

use crate::program::{Action, BufferKind, ExprOp, Kernel, KernelProgram, LoopKernel, Scalar, Stage, View};
use std::fmt::Write as _;
use tc_ir::{Node, NodeId, Op, Type};
use tc_tensor::{type_string, DType};

fn dims(d: &[usize]) -> String {
    d.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// `12i0 + i1 + 3`, or `0` for the constant zero.
pub fn affine(view: &View) -> String {
    let mut terms = Vec::new();
    for (d, &s) in view.strides.iter().enumerate() {
        match s {
            0 => {}
            1 => terms.push(format!("i{d}")),
            -1 => terms.push(format!("-i{d}")),
            s => terms.push(format!("{s}i{d}")),
        }
    }
    if view.offset != 0 || terms.is_empty() {
        terms.push(view.offset.to_string());
    }
    terms.join(" + ").replace("+ -", "- ")
}

fn scalar(s: &Scalar) -> String {
    match s {
        Scalar::F(x) => format!("{x:?}"),
        Scalar::I(x) => x.to_string(),
        Scalar::B(x) => x.to_string(),
    }
}

fn print_stage(out: &mut String, index: usize, stage: &Stage) {
    let what = match &stage.action {
        Action::Store(_) => "store".to_string(),
        Action::Reduce { op, .. } => format!("reduce {}", op.name()),
    };
    let _ = writeln!(out, "    stage {index} {what} {{");
    for (i, e) in stage.exprs.iter().enumerate() {
        let rhs = match &e.op {
            ExprOp::Load { buffer, view } => format!("load b{}[{}]", buffer.0, affine(view)),
            ExprOp::Index { view } => format!("index {}", affine(view)),
            ExprOp::Const(s) => format!("const {}", scalar(s)),
            ExprOp::Slot { stage } => format!("slot {stage}"),
            ExprOp::Unary(u, a) => format!("{} e{}", u.name(), a.0),
            ExprOp::Binary(b, x, y) => format!("{} e{}, e{}", b.name(), x.0, y.0),
            ExprOp::Select(c, x, y) => format!("select e{}, e{}, e{}", c.0, x.0, y.0),
            ExprOp::Cast(a) => format!("cast e{}", a.0),
        };
        let _ = writeln!(out, "      e{i} = {rhs} : {}", e.dtype);
    }
    let tail = match &stage.action {
        Action::Store(stores) => stores.iter().map(|s| format!("store b{}[{}] = e{}", s.buffer.0, affine(&s.view), s.value.0)).collect::<Vec<_>>().join(", "),
        Action::Reduce { op, value, store } => {
            let mut t = format!("reduce {} e{}", op.name(), value.0);
            if let Some((b, v)) = store {
                let _ = write!(t, " into b{}[{}]", b.0, affine(v));
            }
            t
        }
    };
    let _ = writeln!(out, "    }} -> {tail}");
}

fn print_loop(out: &mut String, k: &LoopKernel) {
    let _ = writeln!(out, "loop [{} | {}] {{", dims(&k.domain[..k.outer]), dims(&k.domain[k.outer..]));
    for (i, s) in k.stages.iter().enumerate() {
        print_stage(out, i, s);
    }
    out.push_str("  }\n");
}

/// An op's mnemonic and attributes as the graph IR prints them: `conv2d[stride=[1, 1], ...]`.
fn op_text(op: &Op) -> String {
    let node = Node { op: op.clone(), inputs: vec![], ty: Type::scalar(DType::F32) };
    let line = tc_ir::text::print_node(NodeId(0), &node);
    let line = line.strip_prefix("%0 = ").unwrap_or(&line);
    line.split(" : ").next().unwrap_or(line).to_string()
}

/// The text form of `program`.
pub fn print(program: &KernelProgram) -> String {
    let mut out = String::new();
    let params: Vec<String> = program.params.iter().map(|b| format!("b{}: {}", b.0, program.buffer(*b).ty)).collect();
    let outputs: Vec<String> = program.outputs.iter().map(|b| format!("b{}", b.0)).collect();
    let _ = writeln!(out, "kernels {}({}) -> ({}) {{", program.name, params.join(", "), outputs.join(", "));
    for (i, b) in program.buffers.iter().enumerate() {
        let kind = match &b.kind {
            BufferKind::Param(p) => format!("param {p}"),
            BufferKind::Const(_) => "const".to_string(),
            BufferKind::Temp { offset } => format!("temp @{offset}"),
            BufferKind::Output => match program.donated.iter().find(|&&(o, _)| o.index() == i) {
                Some((_, p)) => format!("output in param {p}"),
                None => "output".to_string(),
            },
            BufferKind::Shares(o) => format!("shares b{}", o.0),
        };
        let _ = writeln!(out, "  b{i} = {kind} : {}", type_string(b.ty.dtype, &b.ty.shape));
    }
    for (i, k) in program.kernels.iter().enumerate() {
        let _ = write!(out, "  k{i} = ");
        match k {
            Kernel::Loop(l) => print_loop(&mut out, l),
            Kernel::Call(c) => {
                let ins: Vec<String> = c.inputs.iter().zip(&c.transposed).map(|(b, &t)| format!("b{}{}", b.0, if t { "^T" } else { "" })).collect();
                let _ = writeln!(out, "call {}({}) -> b{}", op_text(&c.op), ins.join(", "), c.output.0);
            }
        }
    }
    let _ = write!(out, "  arena {} bytes, peak {} bytes", program.arena_bytes, program.peak_bytes());
    if !program.donated.is_empty() {
        let _ = write!(out, " ({} with the donated inputs handed over)", program.donated_peak_bytes());
    }
    out.push('\n');
    out.push_str("}\n");
    out
}
