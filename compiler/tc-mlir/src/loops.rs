//! Loop kernels as `linalg.generic` ops on tensors.
//!
//! Every buffer is a 1-D tensor (its elements in C order), so a kernel-program [`View`]
//! — an offset plus one stride per domain axis — is exactly an affine indexing map
//! `(d0, ..) -> (offset + Σ stride·d)`. Each stage of a loop kernel becomes one
//! `linalg.generic` over the kernel's domain:
//! - a **store** stage has one output per stored buffer, shaped by the buffer's axes in
//!   memory order and indexed by a permutation of the loop dimensions (a store view
//!   always covers its whole buffer), then collapsed back to 1-D;
//! - a **reduce** stage has one output over the outer dimensions (the slot), the inner
//!   dimensions are `reduction` iterators, float sums and products accumulate in f64;
//!   later stages read the slot through a projection map, and an optional store writes
//!   the rounded slot to its buffer with a second, elementwise generic.
//!
//! Loads read a slice of the 1-D tensor covering exactly the elements the view touches
//! (linalg checks that a bare `dN` result spans its operand exactly). A loop dimension
//! that no map names on its own (the inner dimensions of a reduction over flattened
//! loads) gets a *carrier*: an unused `i8` operand of that extent, which lets linalg
//! infer the loop bounds.

use crate::module::{to_flat, Func};
use crate::scalar;
use crate::text::{affine_expr, affine_map, elem, projection, tensor_ty, view_range, Block};
use crate::MlirError;
use tc_ir::ReduceOp;
use tc_kernel::{Action, BufferId, ExprOp, LoopKernel, Stage, View};
use tc_tensor::DType;

/// A reduce stage's result: a tensor over the outer dimensions in the accumulator dtype.
#[derive(Clone)]
struct Slot {
    tensor: String,
    pub ty: String,
    op: ReduceOp,
    dtype: DType,
}

/// One operand of a generic: its SSA value, type, element type and indexing map.
pub(crate) struct Operand {
    pub value: String,
    pub ty: String,
    pub elem: String,
    pub map: String,
}

/// The order of `axes` (outermost first) in which `view` walks its buffer in C order;
/// an error if the view is not a dense permutation of the buffer.
fn memory_order(view: &View, domain: &[usize], axes: &[usize], buffer_len: usize) -> Result<Vec<usize>, MlirError> {
    let mut order: Vec<usize> = axes.to_vec();
    // Unit axes go last: their stride is irrelevant.
    order.sort_by_key(|&a| (domain[a] == 1, std::cmp::Reverse(view.strides[a])));
    let mut expected = 1isize;
    for &a in order.iter().rev() {
        if domain[a] != 1 {
            if view.strides[a] != expected {
                return Err(MlirError::Unsupported(format!("a store view {view:?} that is not a dense permutation")));
            }
            expected *= domain[a] as isize;
        }
    }
    let count: usize = axes.iter().map(|&a| domain[a]).product();
    if view.offset != 0 || count != buffer_len {
        return Err(MlirError::Unsupported(format!("a store view {view:?} that does not cover its buffer")));
    }
    Ok(order)
}

/// Emit every stage of a loop kernel, updating the buffers it writes.
pub fn emit(f: &mut Func, k: &LoopKernel) -> Result<(), MlirError> {
    let mut slots: Vec<Option<Slot>> = vec![None; k.stages.len()];
    for (si, stage) in k.stages.iter().enumerate() {
        let total: usize = k.domain.iter().product();
        if total == 0 {
            empty_stage(f, k, stage, si, &mut slots)?;
        } else {
            generic_stage(f, k, stage, si, &mut slots)?;
        }
    }
    Ok(())
}

/// A stage over an empty domain: stored buffers are empty, a slot is the identity.
fn empty_stage(f: &mut Func, k: &LoopKernel, stage: &Stage, si: usize, slots: &mut [Option<Slot>]) -> Result<(), MlirError> {
    match &stage.action {
        Action::Store(stores) => {
            for st in stores {
                let ty = f.flat_type(st.buffer);
                let v = f.top().op(format!("tensor.empty() : {ty}"));
                f.cur[st.buffer.index()] = Some(v);
            }
        }
        Action::Reduce { op, value, store } => {
            let d = stage.exprs[value.index()].dtype;
            let a = scalar::acc_dtype(*op, d);
            let outer = &k.domain[..k.outer];
            let ty = tensor_ty(outer, elem(a));
            let mut b = f.top();
            let init = scalar::acc_init(&mut b, *op, d);
            let e = b.op(format!("tensor.empty() : {ty}"));
            let t = b.op(format!("linalg.fill ins({init} : {}) outs({e} : {ty}) -> {ty}", elem(a)));
            let slot = Slot { tensor: t, ty, op: *op, dtype: d };
            if let Some((buffer, view)) = store {
                store_slot(f, k, &slot, *buffer, view)?;
            }
            slots[si] = Some(slot);
        }
    }
    Ok(())
}

fn generic_stage(f: &mut Func, k: &LoopKernel, stage: &Stage, si: usize, slots: &mut [Option<Slot>]) -> Result<(), MlirError> {
    let rank = k.domain.len();
    let mut inputs: Vec<Operand> = Vec::new();
    let mut load_input: Vec<(BufferId, View, usize)> = Vec::new();
    let mut slot_input: Vec<(usize, usize)> = Vec::new();
    let mut covered = vec![false; rank];
    for e in &stage.exprs {
        match &e.op {
            ExprOp::Load { buffer, view } => {
                if load_input.iter().any(|(b, v, _)| b == buffer && v == view) {
                    continue;
                }
                let (op, bare) = load_operand(f, *buffer, view, &k.domain)?;
                if let Some(d) = bare {
                    covered[d] = true;
                }
                load_input.push((*buffer, view.clone(), inputs.len()));
                inputs.push(op);
            }
            ExprOp::Slot { stage } => {
                if slot_input.iter().any(|(s, _)| s == stage) {
                    continue;
                }
                let slot = slots[*stage].clone().ok_or_else(|| MlirError::Internal(format!("slot {stage} read before it is computed")))?;
                for c in covered.iter_mut().take(k.outer) {
                    *c = true;
                }
                slot_input.push((*stage, inputs.len()));
                inputs.push(Operand {
                    value: slot.tensor,
                    elem: elem(scalar::acc_dtype(slot.op, slot.dtype)).to_string(),
                    ty: slot.ty,
                    map: projection(rank, &(0..k.outer).collect::<Vec<_>>()),
                });
            }
            _ => {}
        }
    }
    // Outputs.
    let mut outputs: Vec<Operand> = Vec::new();
    let mut store_shapes: Vec<(BufferId, Vec<usize>)> = Vec::new();
    let iterators: Vec<&str>;
    match &stage.action {
        Action::Store(stores) => {
            iterators = vec!["parallel"; rank];
            covered.iter_mut().for_each(|c| *c = true);
            for st in stores {
                let d = f.program.buffer(st.buffer).ty.dtype;
                let len = f.program.buffer(st.buffer).ty.num_elements();
                let order = memory_order(&st.view, &k.domain, &(0..rank).collect::<Vec<_>>(), len)?;
                let shape: Vec<usize> = order.iter().map(|&a| k.domain[a]).collect();
                let ty = tensor_ty(&shape, elem(d));
                let e = f.top().op(format!("tensor.empty() : {ty}"));
                outputs.push(Operand { value: e, ty, elem: elem(d).to_string(), map: projection(rank, &order) });
                store_shapes.push((st.buffer, shape));
            }
        }
        Action::Reduce { op, value, .. } => {
            iterators = (0..rank).map(|d| if d < k.outer { "parallel" } else { "reduction" }).collect();
            covered.iter_mut().take(k.outer).for_each(|c| *c = true);
            let d = stage.exprs[value.index()].dtype;
            let a = scalar::acc_dtype(*op, d);
            let ty = tensor_ty(&k.domain[..k.outer], elem(a));
            let mut b = f.top();
            let init = scalar::acc_init(&mut b, *op, d);
            let e = b.op(format!("tensor.empty() : {ty}"));
            let t = b.op(format!("linalg.fill ins({init} : {}) outs({e} : {ty}) -> {ty}", elem(a)));
            outputs.push(Operand { value: t, ty, elem: elem(a).to_string(), map: projection(rank, &(0..k.outer).collect::<Vec<_>>()) });
        }
    }
    let uncovered: Vec<usize> = (0..rank).filter(|&d| !covered[d]).collect();
    if !uncovered.is_empty() {
        let shape: Vec<usize> = uncovered.iter().map(|&d| k.domain[d]).collect();
        let ty = tensor_ty(&shape, "i8");
        let e = f.top().op(format!("tensor.empty() : {ty}"));
        inputs.push(Operand { value: e, ty, elem: "i8".into(), map: projection(rank, &uncovered) });
    }

    // The body.
    let arg_names: Vec<String> = (0..inputs.len() + outputs.len()).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let mut names: Vec<String> = Vec::with_capacity(stage.exprs.len());
    let mut index_of_dim: Vec<Option<String>> = vec![None; rank];
    for e in &stage.exprs {
        let v = match &e.op {
            ExprOp::Load { buffer, view } => {
                let i = load_input.iter().find(|(bb, vv, _)| bb == buffer && vv == view).map(|x| x.2).expect("collected above");
                arg_names[i].clone()
            }
            ExprOp::Slot { stage } => {
                let i = slot_input.iter().find(|(s, _)| s == stage).map(|x| x.1).expect("collected above");
                let slot = slots[*stage].as_ref().expect("checked above");
                scalar::finalize(&mut b, slot.op, &arg_names[i], e.dtype)
            }
            ExprOp::Index { view } => index_value(&mut b, view, &mut index_of_dim, e.dtype),
            ExprOp::Const(s) => b.constant(*s, e.dtype)?,
            ExprOp::Unary(op, a) => scalar::unary(&mut b, *op, &names[a.index()], stage.exprs[a.index()].dtype)?,
            ExprOp::Binary(op, x, y) => scalar::binary(&mut b, *op, &names[x.index()], &names[y.index()], stage.exprs[x.index()].dtype)?,
            ExprOp::Select(c, x, y) => scalar::select(&mut b, &names[c.index()], &names[x.index()], &names[y.index()], e.dtype),
            ExprOp::Cast(a) => scalar::cast(&mut b, &names[a.index()], stage.exprs[a.index()].dtype, e.dtype),
        };
        names.push(v);
    }
    let yields: Vec<String> = match &stage.action {
        Action::Store(stores) => stores.iter().map(|st| names[st.value.index()].clone()).collect(),
        Action::Reduce { op, value, .. } => {
            let acc = &arg_names[inputs.len()];
            vec![scalar::combine(&mut b, *op, acc, &names[value.index()], stage.exprs[value.index()].dtype)?]
        }
    };
    let results = generic(f, &inputs, &outputs, &iterators, &arg_names, &body, &yields);

    match &stage.action {
        Action::Store(_) => {
            for ((buffer, shape), r) in store_shapes.into_iter().zip(results) {
                let d = f.program.buffer(buffer).ty.dtype;
                let flat = to_flat(&mut f.top(), &r, &shape, elem(d));
                f.cur[buffer.index()] = Some(flat);
            }
        }
        Action::Reduce { op, value, store } => {
            let slot = Slot { tensor: results[0].clone(), ty: outputs[0].ty.clone(), op: *op, dtype: stage.exprs[value.index()].dtype };
            if let Some((buffer, view)) = store {
                store_slot(f, k, &slot, *buffer, view)?;
            }
            slots[si] = Some(slot);
        }
    }
    Ok(())
}

/// Write a slot, rounded to its dtype, to `buffer` laid out as `view` over the outer axes.
fn store_slot(f: &mut Func, k: &LoopKernel, slot: &Slot, buffer: BufferId, view: &View) -> Result<(), MlirError> {
    let outer: Vec<usize> = (0..k.outer).collect();
    let len = f.program.buffer(buffer).ty.num_elements();
    if view.strides[k.outer..].iter().any(|&s| s != 0) {
        return Err(MlirError::Internal("a reduction store view moves along the reduced axes".into()));
    }
    let order = memory_order(view, &k.domain, &outer, len)?;
    let shape: Vec<usize> = order.iter().map(|&a| k.domain[a]).collect();
    let d = slot.dtype;
    let ty = tensor_ty(&shape, elem(d));
    let e = f.top().op(format!("tensor.empty() : {ty}"));
    let input = Operand {
        value: slot.tensor.clone(),
        ty: slot.ty.clone(),
        elem: elem(scalar::acc_dtype(slot.op, d)).to_string(),
        map: projection(k.outer, &outer),
    };
    let output = Operand { value: e, ty, elem: elem(d).to_string(), map: projection(k.outer, &order) };
    let args: Vec<String> = (0..2).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let v = scalar::finalize(&mut Block::new(&mut f.ssa, &mut body, 3), slot.op, &args[0], d);
    let r = generic(f, &[input], &[output], &vec!["parallel"; k.outer], &args, &body, &[v]);
    let flat = to_flat(&mut f.top(), &r[0], &shape, elem(d));
    f.cur[buffer.index()] = Some(flat);
    Ok(())
}

/// The operand reading `buffer` through `view`: the slice of its 1-D tensor the view
/// touches, and the map into that slice; and the loop dimension the map is on its own
/// (`(d0, d1) -> (d1)`), if it is.
fn load_operand(f: &mut Func, buffer: BufferId, view: &View, domain: &[usize]) -> Result<(Operand, Option<usize>), MlirError> {
    let d = f.program.buffer(buffer).ty.dtype;
    let len = f.program.buffer(buffer).ty.num_elements() as isize;
    let src = f.current(buffer)?;
    let (lo, hi) = view_range(view, domain);
    if lo < 0 || hi >= len {
        return Err(MlirError::Internal(format!("view {view:?} reads outside its buffer of {len} elements")));
    }
    let n = (hi - lo + 1) as usize;
    let ty = tensor_ty(&[n], elem(d));
    let value = if lo == 0 && n as isize == len {
        src
    } else {
        f.top().op(format!("tensor.extract_slice {src}[{lo}] [{n}] [1] : {} to {ty}", tensor_ty(&[len as usize], elem(d))))
    };
    let map = affine_map(domain.len(), &[affine_expr(view.offset - lo, &view.strides)]);
    let moving: Vec<usize> = (0..domain.len()).filter(|&a| view.strides[a] != 0).collect();
    let bare = match moving[..] {
        [a] if view.strides[a] == 1 && view.offset == lo => Some(a),
        _ => None,
    };
    Ok((Operand { value, ty, elem: elem(d).to_string(), map }, bare))
}

/// The value of an index view at the current point, as an integer of dtype `d`.
fn index_value(b: &mut Block, view: &View, dims: &mut [Option<String>], d: DType) -> String {
    let mut acc = b.index(view.offset as i64);
    for (dim, &s) in view.strides.iter().enumerate() {
        if s == 0 {
            continue;
        }
        let i = match &dims[dim] {
            Some(i) => i.clone(),
            None => {
                let i = b.op(format!("linalg.index {dim} : index"));
                dims[dim] = Some(i.clone());
                i
            }
        };
        let sc = b.index(s as i64);
        let term = b.op(format!("arith.muli {i}, {sc} : index"));
        acc = b.op(format!("arith.addi {acc}, {term} : index"));
    }
    b.op(format!("arith.index_cast {acc} : index to {}", elem(d)))
}

/// Emit a `linalg.generic` at function level and return its results' names.
pub(crate) fn generic(
    f: &mut Func,
    inputs: &[Operand],
    outputs: &[Operand],
    iterators: &[&str],
    args: &[String],
    body: &str,
    yields: &[String],
) -> Vec<String> {
    let maps: Vec<&str> = inputs.iter().chain(outputs).map(|o| o.map.as_str()).collect();
    let iters: Vec<String> = iterators.iter().map(|i| format!("\"{i}\"")).collect();
    let mut text = format!("linalg.generic {{indexing_maps = [{}], iterator_types = [{}]}}", maps.join(", "), iters.join(", "));
    if !inputs.is_empty() {
        let vals: Vec<&str> = inputs.iter().map(|o| o.value.as_str()).collect();
        let tys: Vec<&str> = inputs.iter().map(|o| o.ty.as_str()).collect();
        text.push_str(&format!(" ins({} : {})", vals.join(", "), tys.join(", ")));
    }
    let vals: Vec<&str> = outputs.iter().map(|o| o.value.as_str()).collect();
    let tys: Vec<&str> = outputs.iter().map(|o| o.ty.as_str()).collect();
    text.push_str(&format!(" outs({} : {}) {{\n", vals.join(", "), tys.join(", ")));
    let bb: Vec<String> = inputs.iter().chain(outputs).zip(args).map(|(o, a)| format!("{a}: {}", o.elem)).collect();
    text.push_str(&format!("    ^bb0({}):\n", bb.join(", ")));
    text.push_str(body);
    let ytys: Vec<&str> = outputs.iter().map(|o| o.elem.as_str()).collect();
    text.push_str(&format!("      linalg.yield {} : {}\n", yields.join(", "), ytys.join(", ")));
    let result_tys = if tys.len() == 1 { tys[0].to_string() } else { format!("({})", tys.join(", ")) };
    text.push_str(&format!("  }} -> {result_tys}"));
    let name = f.ssa.fresh();
    let count = outputs.len();
    let lhs = if count == 1 { name.clone() } else { format!("{name}:{count}") };
    f.body.push_str(&format!("  {lhs} = {text}\n"));
    if count == 1 {
        vec![name]
    } else {
        (0..count).map(|i| format!("{name}#{i}")).collect()
    }
}


