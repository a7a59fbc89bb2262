//! Call kernels: the graph ops the kernel program leaves to a library routine.
//!
//! - `matmul`: `linalg.batch_matmul` on floats (operands read transposed through its
//!   `indexing_maps`, no copy), accumulating in f64 like the interpreter and rounded
//!   once; integers as a `linalg.generic` contraction accumulating in i64.
//! - `conv2d`: `tensor.pad` then `linalg.conv_2d_nchw_fchw` with strides and dilations,
//!   accumulating in f64 (floats only).
//! - `pad` is `tensor.pad`; `concat` is `tensor.insert_slice`s into `tensor.empty`.
//! - The rest are gathers written as `linalg.generic`s over their outputs (each output
//!   element a function of the inputs, as on the GPU, so no scatter and no atomics):
//!   `pool` and `pool_grad` fold their windows with extra `reduction` dimensions,
//!   `gather` and `scatter_add` index with `tensor.extract`/a compare, `arg_reduce` keeps
//!   the best value and its index, `random` runs Philox-4x32-10 per element.

use crate::loops::{generic, Operand};
use crate::module::{from_flat, to_flat, Func};
use crate::scalar;
use crate::text::{affine_map, elem, projection, tensor_ty, Block};
use crate::MlirError;
use tc_ir::{ArgOp, BinaryOp, Dist, Op, PoolKind, ReduceOp};
use tc_kernel::{BufferId, CallKernel};
use tc_tensor::DType;

pub fn emit(f: &mut Func, c: &CallKernel) -> Result<(), MlirError> {
    let out_shape = f.shape(c.output);
    let result = match &c.op {
        Op::MatMul => match f.tiles {
            Some(opts) if crate::tiles::takes(f, c, &opts) => crate::tiles::matmul(f, c, &opts)?,
            _ => matmul(f, c)?,
        },
        Op::Conv2d { stride, pad, dilation } => conv2d(f, c, *stride, *pad, *dilation)?,
        Op::Pool { kind, size, stride } => pool(f, c.inputs[0], c.output, *kind, *size, *stride)?,
        Op::PoolGrad { kind, size, stride } => pool_grad(f, c, *kind, *size, *stride)?,
        Op::Gather { axis } => gather(f, c, *axis)?,
        Op::ScatterAdd { axis } => scatter_add(f, c, *axis)?,
        Op::Pad { lo, hi } => pad(f, c, lo, hi)?,
        Op::Concat { axis } => concat(f, c, *axis)?,
        Op::ArgReduce { op, axis } => arg_reduce(f, c, *op, *axis)?,
        Op::ArgSort { axis, descending } => arg_sort(f, c, *axis, *descending)?,
        Op::Random(dist) => random(f, c, *dist)?,
        other => return Err(MlirError::Unsupported(format!("the library call {other:?}"))),
    };
    let d = f.dtype(c.output);
    let flat = to_flat(&mut f.top(), &result, &out_shape, elem(d));
    f.cur[c.output.index()] = Some(flat);
    Ok(())
}

fn op(name: &str, ty: String, map: String, elem_ty: &str) -> Operand {
    Operand { value: name.to_string(), ty, elem: elem_ty.to_string(), map }
}

/// `tensor.empty` of `shape` filled with `value` (an SSA scalar of element type `e`).
fn filled(f: &mut Func, shape: &[usize], e: &str, value: &str) -> String {
    let ty = tensor_ty(shape, e);
    let mut b = f.top();
    let t = b.op(format!("tensor.empty() : {ty}"));
    b.op(format!("linalg.fill ins({value} : {e}) outs({t} : {ty}) -> {ty}"))
}

/// Round an accumulator tensor (`acc` dtype) elementwise to `d`; nothing if they agree.
pub(crate) fn round_to(f: &mut Func, x: &str, shape: &[usize], acc: DType, d: DType) -> String {
    if acc == d {
        return x.to_string();
    }
    let r = shape.len();
    let all: Vec<usize> = (0..r).collect();
    let e = f.top().op(format!("tensor.empty() : {}", tensor_ty(shape, elem(d))));
    let args = vec![f.ssa.fresh(), f.ssa.fresh()];
    let mut body = String::new();
    let v = scalar::cast(&mut Block::new(&mut f.ssa, &mut body, 3), &args[0], acc, d);
    let ins = [op(x, tensor_ty(shape, elem(acc)), projection(r, &all), elem(acc))];
    let outs = [op(&e, tensor_ty(shape, elem(d)), projection(r, &all), elem(d))];
    generic(f, &ins, &outs, &vec!["parallel"; r], &args, &body, &[v]).remove(0)
}

fn wide(d: DType) -> DType {
    if d.is_float() {
        DType::F64
    } else {
        DType::I64
    }
}

/// A matmul call's operands as 3-D tensors (batches flattened), as stored: `a3` is
/// `[batch, k, m]` when read transposed, else `[batch, m, k]`; `b3` likewise.
pub(crate) struct MatmulOperands {
    pub batch: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a3: String,
    pub b3: String,
    pub a_shape: Vec<usize>,
    pub b_shape: Vec<usize>,
}

pub(crate) fn matmul_operands(f: &mut Func, c: &CallKernel) -> Result<MatmulOperands, MlirError> {
    let (a, b) = (c.inputs[0], c.inputs[1]);
    let os = f.shape(c.output);
    let r = os.len();
    let (m, n) = (os[r - 2], os[r - 1]);
    let batch: usize = os[..r - 2].iter().product();
    let a_phys = f.shape(a);
    let k = if c.transposed[0] { a_phys[a_phys.len() - 2] } else { a_phys[a_phys.len() - 1] };
    let a_shape = if c.transposed[0] { vec![batch, k, m] } else { vec![batch, m, k] };
    let b_shape = if c.transposed[1] { vec![batch, n, k] } else { vec![batch, k, n] };
    let (af, bf) = (f.current(a)?, f.current(b)?);
    let e = elem(f.dtype(c.output));
    let a3 = from_flat(&mut f.top(), &af, &a_shape, e);
    let b3 = from_flat(&mut f.top(), &bf, &b_shape, e);
    Ok(MatmulOperands { batch, m, n, k, a3, b3, a_shape, b_shape })
}

fn matmul(f: &mut Func, c: &CallKernel) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    let os = f.shape(c.output);
    let e = elem(d);
    let MatmulOperands { batch, m, n, k: _, a3, b3, a_shape, b_shape } = matmul_operands(f, c)?;
    // Loops (batch, m, n, k).
    let amap = if c.transposed[0] { projection(4, &[0, 3, 1]) } else { projection(4, &[0, 1, 3]) };
    let bmap = if c.transposed[1] { projection(4, &[0, 2, 3]) } else { projection(4, &[0, 3, 2]) };
    let omap = projection(4, &[0, 1, 2]);
    let acc = wide(d);
    let zero = if acc.is_float() { f.top().float(0.0, acc) } else { f.top().int(0, acc) };
    let o_shape = vec![batch, m, n];
    let init = filled(f, &o_shape, elem(acc), &zero);
    let (aty, bty, oty) = (tensor_ty(&a_shape, e), tensor_ty(&b_shape, e), tensor_ty(&o_shape, elem(acc)));
    let out = if d.is_float() {
        f.top().op(format!(
            "linalg.batch_matmul indexing_maps = [{amap}, {bmap}, {omap}] ins({a3}, {b3} : {aty}, {bty}) outs({init} : {oty}) -> {oty}"
        ))
    } else {
        if d == DType::Bool {
            return Err(MlirError::Unsupported("matmul on bool".into()));
        }
        let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
        let mut body = String::new();
        let mut b = Block::new(&mut f.ssa, &mut body, 3);
        let x = scalar::cast(&mut b, &args[0], d, acc);
        let y = scalar::cast(&mut b, &args[1], d, acc);
        let p = scalar::binary(&mut b, BinaryOp::Mul, &x, &y, acc)?;
        let s = scalar::binary(&mut b, BinaryOp::Add, &args[2], &p, acc)?;
        let ins = [op(&a3, aty, amap, e), op(&b3, bty, bmap, e)];
        let outs = [op(&init, oty, omap, elem(acc))];
        generic(f, &ins, &outs, &["parallel", "parallel", "parallel", "reduction"], &args, &body, &[s]).remove(0)
    };
    let rounded = round_to(f, &out, &o_shape, acc, d);
    let flat = to_flat(&mut f.top(), &rounded, &o_shape, e);
    Ok(from_flat(&mut f.top(), &flat, &os, e))
}

/// `x` padded by `lo`/`hi` with the scalar SSA value `value` (element type `e`).
pub(crate) fn pad_with(f: &mut Func, x: &str, shape: &[usize], lo: &[usize], hi: &[usize], e: &str, value: &str) -> String {
    if lo.iter().chain(hi).all(|&p| p == 0) {
        return x.to_string();
    }
    let out: Vec<usize> = (0..shape.len()).map(|a| lo[a] + shape[a] + hi[a]).collect();
    if shape.contains(&0) {
        // All padding; `tensor.pad` of an empty tensor would lower to a slice insertion
        // at an offset into an empty dimension, which MLIR rejects.
        return filled(f, &out, e, value);
    }
    let list = |v: &[usize]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
    let idx: Vec<String> = (0..shape.len()).map(|_| format!("{}: index", f.ssa.fresh())).collect();
    f.top().op(format!(
        "tensor.pad {x} low[{}] high[{}] {{\n    ^bb0({}):\n      tensor.yield {value} : {e}\n  }} : {} to {}",
        list(lo),
        list(hi),
        idx.join(", "),
        tensor_ty(shape, e),
        tensor_ty(&out, e)
    ))
}

fn conv2d(f: &mut Func, c: &CallKernel, stride: [usize; 2], padding: [(usize, usize); 2], dilation: [usize; 2]) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    if !d.is_float() {
        return Err(MlirError::Unsupported(format!("conv2d on {d}")));
    }
    let e = elem(d);
    let (xs, ws, os) = (f.shape(c.inputs[0]), f.shape(c.inputs[1]), f.shape(c.output));
    let x = f.shaped(c.inputs[0])?;
    let w = f.shaped(c.inputs[1])?;
    let zero = f.top().float(0.0, d);
    let lo = [0, 0, padding[0].0, padding[1].0];
    let hi = [0, 0, padding[0].1, padding[1].1];
    let xp = pad_with(f, &x, &xs, &lo, &hi, e, &zero);
    let xps: Vec<usize> = (0..4).map(|a| lo[a] + xs[a] + hi[a]).collect();
    let zero64 = f.top().float(0.0, DType::F64);
    let init = filled(f, &os, "f64", &zero64);
    let oty = tensor_ty(&os, "f64");
    let out = f.top().op(format!(
        "linalg.conv_2d_nchw_fchw {{dilations = dense<[{}, {}]> : tensor<2xi64>, strides = dense<[{}, {}]> : tensor<2xi64>}} ins({xp}, {w} : {}, {}) outs({init} : {oty}) -> {oty}",
        dilation[0],
        dilation[1],
        stride[0],
        stride[1],
        tensor_ty(&xps, e),
        tensor_ty(&ws, e)
    ));
    Ok(round_to(f, &out, &os, DType::F64, d))
}

/// Pooling over windows; loops (n, c, i, j, r, s) with the window as reductions.
fn pool(f: &mut Func, input: BufferId, output: BufferId, kind: PoolKind, size: [usize; 2], stride: [usize; 2]) -> Result<String, MlirError> {
    let d = f.dtype(output);
    let (xs, os) = (f.shape(input), f.shape(output));
    let x = f.shaped(input)?;
    let e = elem(d);
    let acc = if kind == PoolKind::Avg { DType::F64 } else { d };
    if kind == PoolKind::Avg && !d.is_float() {
        return Err(MlirError::Unsupported(format!("average pooling on {d}")));
    }
    let rop = if kind == PoolKind::Avg { ReduceOp::Sum } else { ReduceOp::Max };
    let init_v = scalar::acc_init(&mut f.top(), rop, if kind == PoolKind::Avg { d } else { acc });
    let init = filled(f, &os, elem(acc), &init_v);
    let window = f.top().op(format!("tensor.empty() : {}", tensor_ty(&size, "i8")));
    let xmap = affine_map(6, &["d0".into(), "d1".into(), format!("d2 * {} + d4", stride[0]), format!("d3 * {} + d5", stride[1])]);
    let ins = [op(&x, tensor_ty(&xs, e), xmap, e), op(&window, tensor_ty(&size, "i8"), projection(6, &[4, 5]), "i8")];
    let outs = [op(&init, tensor_ty(&os, elem(acc)), projection(6, &[0, 1, 2, 3]), elem(acc))];
    let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let v = scalar::combine(&mut Block::new(&mut f.ssa, &mut body, 3), rop, &args[2], &args[0], if kind == PoolKind::Avg { d } else { acc })?;
    let iters = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"];
    let folded = generic(f, &ins, &outs, &iters, &args, &body, &[v]).remove(0);
    if kind == PoolKind::Max {
        return Ok(folded);
    }
    // Average: the f64 sum divided by the window size, rounded once.
    let count = (size[0] * size[1]) as f64;
    let r = os.len();
    let all: Vec<usize> = (0..r).collect();
    let empty = f.top().op(format!("tensor.empty() : {}", tensor_ty(&os, e)));
    let args = vec![f.ssa.fresh(), f.ssa.fresh()];
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let n = b.float(count, DType::F64);
    let q = b.op(format!("arith.divf {}, {n} : f64", args[0]));
    let v = scalar::from_f64(&mut b, &q, d);
    let ins = [op(&folded, tensor_ty(&os, "f64"), projection(r, &all), "f64")];
    let outs = [op(&empty, tensor_ty(&os, e), projection(r, &all), e)];
    Ok(generic(f, &ins, &outs, &vec!["parallel"; r], &args, &body, &[v]).remove(0))
}

/// `arith.index_cast` of an integer value (`i32`, `i64` or unsigned `i8`) to i64.
fn to_i64(b: &mut Block, x: &str, d: DType) -> String {
    scalar::cast(b, x, d, DType::I64)
}

/// The gradient of pooling: for each input element, the sum over the windows that
/// contain it (loops (n, c, y, x, r, s), the window offsets as reductions).
fn pool_grad(f: &mut Func, c: &CallKernel, kind: PoolKind, size: [usize; 2], stride: [usize; 2]) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    if !d.is_float() {
        return Err(MlirError::Unsupported(format!("pool_grad on {d}")));
    }
    let e = elem(d);
    let (xs, ds) = (f.shape(c.inputs[0]), f.shape(c.inputs[1]));
    let (ho, wo) = (ds[2], ds[3]);
    let x = f.shaped(c.inputs[0])?;
    let dy = f.shaped(c.inputs[1])?;
    // For max pooling: each window's maximum and its number of maxima (as f64).
    let max_ties = if kind == PoolKind::Max {
        let m = pool(f, c.inputs[0], c.inputs[1], PoolKind::Max, size, stride)?;
        let zero = f.top().float(0.0, DType::F64);
        let init = filled(f, &ds, "f64", &zero);
        let window = f.top().op(format!("tensor.empty() : {}", tensor_ty(&size, "i8")));
        let xmap = affine_map(6, &["d0".into(), "d1".into(), format!("d2 * {} + d4", stride[0]), format!("d3 * {} + d5", stride[1])]);
        let ins = [
            op(&x, tensor_ty(&xs, e), xmap, e),
            op(&m, tensor_ty(&ds, e), projection(6, &[0, 1, 2, 3]), e),
            op(&window, tensor_ty(&size, "i8"), projection(6, &[4, 5]), "i8"),
        ];
        let outs = [op(&init, tensor_ty(&ds, "f64"), projection(6, &[0, 1, 2, 3]), "f64")];
        let args: Vec<String> = (0..4).map(|_| f.ssa.fresh()).collect();
        let mut body = String::new();
        let mut b = Block::new(&mut f.ssa, &mut body, 3);
        let is_max = is_window_max(&mut b, &args[0], &args[1], d);
        let (one, zero) = (b.float(1.0, DType::F64), b.float(0.0, DType::F64));
        let inc = b.op(format!("arith.select {is_max}, {one}, {zero} : f64"));
        let s = b.op(format!("arith.addf {}, {inc} : f64", args[3]));
        let iters = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"];
        let ties = generic(f, &ins, &outs, &iters, &args, &body, &[s]).remove(0);
        Some((m, ties))
    } else {
        None
    };
    let zero = f.top().float(0.0, DType::F64);
    let init = filled(f, &xs, "f64", &zero);
    let window = f.top().op(format!("tensor.empty() : {}", tensor_ty(&size, "i8")));
    let ins = [op(&x, tensor_ty(&xs, e), projection(6, &[0, 1, 2, 3]), e), op(&window, tensor_ty(&size, "i8"), projection(6, &[4, 5]), "i8")];
    let outs = [op(&init, tensor_ty(&xs, "f64"), projection(6, &[0, 1, 2, 3]), "f64")];
    let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let idx: Vec<String> = (0..6).map(|k| b.op(format!("linalg.index {k} : index"))).collect();
    // Window (i, j) = ((y - r) / stride0, (x - s) / stride1) when exact and in range.
    let mut valid = b.op("arith.constant true");
    let mut win = Vec::new();
    for (pos, off, st, lim) in [(2usize, 4usize, stride[0], ho), (3, 5, stride[1], wo)] {
        let (zero_i, st_c, lim_c) = (b.index(0), b.index(st as i64), b.index(lim as i64));
        let diff = b.op(format!("arith.subi {}, {} : index", idx[pos], idx[off]));
        let nonneg = b.op(format!("arith.cmpi sge, {diff}, {zero_i} : index"));
        let safe = b.op(format!("arith.select {nonneg}, {diff}, {zero_i} : index"));
        let q = b.op(format!("arith.divui {safe}, {st_c} : index"));
        let rem = b.op(format!("arith.remui {safe}, {st_c} : index"));
        let exact = b.op(format!("arith.cmpi eq, {rem}, {zero_i} : index"));
        let inside = b.op(format!("arith.cmpi ult, {q}, {lim_c} : index"));
        let ok1 = b.op(format!("arith.andi {nonneg}, {exact} : i1"));
        let ok2 = b.op(format!("arith.andi {ok1}, {inside} : i1"));
        valid = b.op(format!("arith.andi {valid}, {ok2} : i1"));
        let last = b.index(lim.max(1) as i64 - 1);
        win.push(b.op(format!("arith.minui {q}, {last} : index")));
    }
    let at = format!("[{}, {}, {}, {}]", idx[0], idx[1], win[0], win[1]);
    let g = b.op(format!("tensor.extract {dy}{at} : {}", tensor_ty(&ds, e)));
    let g = scalar::to_f64(&mut b, &g, d);
    let (share, take) = match &max_ties {
        Some((m, ties)) => {
            let mv = b.op(format!("tensor.extract {m}{at} : {}", tensor_ty(&ds, e)));
            let t = b.op(format!("tensor.extract {ties}{at} : {}", tensor_ty(&ds, "f64")));
            let is_max = is_window_max(&mut b, &args[0], &mv, d);
            let share = b.op(format!("arith.divf {g}, {t} : f64"));
            (share, b.op(format!("arith.andi {valid}, {is_max} : i1")))
        }
        None => {
            let n = b.float((size[0] * size[1]) as f64, DType::F64);
            (b.op(format!("arith.divf {g}, {n} : f64")), valid)
        }
    };
    let zero = b.float(0.0, DType::F64);
    let add = b.op(format!("arith.select {take}, {share}, {zero} : f64"));
    let s = b.op(format!("arith.addf {}, {add} : f64", args[2]));
    let iters = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"];
    let g = generic(f, &ins, &outs, &iters, &args, &body, &[s]).remove(0);
    Ok(round_to(f, &g, &xs, DType::F64, d))
}

/// Whether `v` is a maximum of a window whose maximum is `m` (NaN maxima are the NaNs).
fn is_window_max(b: &mut Block, v: &str, m: &str, d: DType) -> String {
    let t = elem(d);
    let eq = b.op(format!("arith.cmpf oeq, {v}, {m} : {t}"));
    let vnan = b.op(format!("arith.cmpf uno, {v}, {v} : {t}"));
    let mnan = b.op(format!("arith.cmpf uno, {m}, {m} : {t}"));
    b.op(format!("arith.select {mnan}, {vnan}, {eq} : i1"))
}

/// An index value (any integer dtype) counted from the end when negative and clamped
/// into `[0, size - 1]`, as an `index`.
fn normalized(b: &mut Block, raw: &str, d: DType, size: usize) -> String {
    let v = to_i64(b, raw, d);
    let (zero, n, last) = (b.int(0, DType::I64), b.int(size as i64, DType::I64), b.int(size.max(1) as i64 - 1, DType::I64));
    let neg = b.op(format!("arith.cmpi slt, {v}, {zero} : i64"));
    let wrapped = b.op(format!("arith.addi {v}, {n} : i64"));
    let v = b.op(format!("arith.select {neg}, {wrapped}, {v} : i64"));
    let v = b.op(format!("arith.maxsi {v}, {zero} : i64"));
    let v = b.op(format!("arith.minsi {v}, {last} : i64"));
    b.op(format!("arith.index_cast {v} : i64 to index"))
}

/// `(outer, size, inner)` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn gather(f: &mut Func, c: &CallKernel, axis: usize) -> Result<String, MlirError> {
    let (x, idx) = (c.inputs[0], c.inputs[1]);
    let d = f.dtype(x);
    let e = elem(d);
    let (o, size, inner) = split(&f.shape(x), axis);
    if size == 0 {
        return Err(MlirError::Unsupported("take from an empty axis".into()));
    }
    let nidx: usize = f.shape(idx).iter().product();
    let xf = f.current(x)?;
    let x3 = from_flat(&mut f.top(), &xf, &[o, size, inner], e);
    let idf = f.current(idx)?;
    let id = f.dtype(idx);
    let out_shape = [o, nidx, inner];
    let empty = f.top().op(format!("tensor.empty() : {}", tensor_ty(&out_shape, e)));
    let ins = [op(&idf, tensor_ty(&[nidx], elem(id)), projection(3, &[1]), elem(id))];
    let outs = [op(&empty, tensor_ty(&out_shape, e), projection(3, &[0, 1, 2]), e)];
    let args: Vec<String> = (0..2).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let at = normalized(&mut b, &args[0], id, size);
    let (i0, i2) = (b.op("linalg.index 0 : index"), b.op("linalg.index 2 : index"));
    let v = b.op(format!("tensor.extract {x3}[{i0}, {at}, {i2}] : {}", tensor_ty(&[o, size, inner], e)));
    let g = generic(f, &ins, &outs, &["parallel", "parallel", "parallel"], &args, &body, &[v]).remove(0);
    let flat = to_flat(&mut f.top(), &g, &out_shape, e);
    let os = f.shape(c.output);
    Ok(from_flat(&mut f.top(), &flat, &os, e))
}

fn scatter_add(f: &mut Func, c: &CallKernel, axis: usize) -> Result<String, MlirError> {
    let (idx, upd) = (c.inputs[0], c.inputs[1]);
    let d = f.dtype(c.output);
    let e = elem(d);
    let (o, size, inner) = split(&f.shape(c.output), axis);
    let nidx: usize = f.shape(idx).iter().product();
    let id = f.dtype(idx);
    let idf = f.current(idx)?;
    let uf = f.current(upd)?;
    let u3 = from_flat(&mut f.top(), &uf, &[o, nidx, inner], e);
    let acc = scalar::acc_dtype(ReduceOp::Sum, d);
    let zero = scalar::acc_init(&mut f.top(), ReduceOp::Sum, d);
    let out_shape = [o, size, inner];
    let init = filled(f, &out_shape, elem(acc), &zero);
    // Loops (o, along, q, t).
    let ins = [
        op(&idf, tensor_ty(&[nidx], elem(id)), projection(4, &[3]), elem(id)),
        op(&u3, tensor_ty(&[o, nidx, inner], e), projection(4, &[0, 3, 2]), e),
    ];
    let outs = [op(&init, tensor_ty(&out_shape, elem(acc)), projection(4, &[0, 1, 2]), elem(acc))];
    let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let at = normalized(&mut b, &args[0], id, size);
    let along = b.op("linalg.index 1 : index");
    let hit = b.op(format!("arith.cmpi eq, {at}, {along} : index"));
    let sum = scalar::combine(&mut b, ReduceOp::Sum, &args[2], &args[1], d)?;
    let v = b.op(format!("arith.select {hit}, {sum}, {} : {}", args[2], elem(acc)));
    let g = generic(f, &ins, &outs, &["parallel", "parallel", "parallel", "reduction"], &args, &body, &[v]).remove(0);
    let g = round_to(f, &g, &out_shape, acc, d);
    let flat = to_flat(&mut f.top(), &g, &out_shape, e);
    let os = f.shape(c.output);
    Ok(from_flat(&mut f.top(), &flat, &os, e))
}

fn pad(f: &mut Func, c: &CallKernel, lo: &[usize], hi: &[usize]) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    let e = elem(d);
    let xs = f.shape(c.inputs[0]);
    let x = f.shaped(c.inputs[0])?;
    let vf = f.current(c.inputs[1])?;
    let zero = f.top().index(0);
    let v = f.top().op(format!("tensor.extract {vf}[{zero}] : {}", tensor_ty(&[1], e)));
    Ok(pad_with(f, &x, &xs, lo, hi, e, &v))
}

fn concat(f: &mut Func, c: &CallKernel, axis: usize) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    let e = elem(d);
    let os = f.shape(c.output);
    let list = |v: &[usize]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ");
    let mut acc = f.top().op(format!("tensor.empty() : {}", tensor_ty(&os, e)));
    let mut start = 0;
    for &part in &c.inputs {
        let ps = f.shape(part);
        let offset = start;
        start += ps[axis];
        // An empty piece fills nothing (and MLIR rejects any offset into an empty dimension).
        if ps.contains(&0) {
            continue;
        }
        let p = f.shaped(part)?;
        let mut offs = vec![0; os.len()];
        offs[axis] = offset;
        acc = f.top().op(format!(
            "tensor.insert_slice {p} into {acc}[{}] [{}] [{}] : {} into {}",
            list(&offs),
            list(&ps),
            list(&vec![1; os.len()]),
            tensor_ty(&ps, e),
            tensor_ty(&os, e)
        ));
    }
    Ok(acc)
}

fn arg_reduce(f: &mut Func, c: &CallKernel, which: ArgOp, axis: usize) -> Result<String, MlirError> {
    let x = c.inputs[0];
    let d = f.dtype(x);
    let e = elem(d);
    let (o, len, inner) = split(&f.shape(x), axis);
    if len == 0 {
        return Err(MlirError::Unsupported("argmax/argmin over an empty axis".into()));
    }
    let xf = f.current(x)?;
    let x3 = from_flat(&mut f.top(), &xf, &[o, len, inner], e);
    // The first element along the axis starts the fold (comparing it with itself changes nothing).
    let first = f.top().op(format!(
        "tensor.extract_slice {x3}[0, 0, 0] [{o}, 1, {inner}] [1, 1, 1] : {} to {}",
        tensor_ty(&[o, len, inner], e),
        tensor_ty(&[o, inner], e)
    ));
    let zero = f.top().int(0, DType::I32);
    let idx0 = filled(f, &[o, inner], "i32", &zero);
    // Loops (o, q, j).
    let ins = [op(&x3, tensor_ty(&[o, len, inner], e), projection(3, &[0, 2, 1]), e)];
    let outs = [
        op(&first, tensor_ty(&[o, inner], e), projection(3, &[0, 1]), e),
        op(&idx0, tensor_ty(&[o, inner], "i32"), projection(3, &[0, 1]), "i32"),
    ];
    let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
    let (a, best, best_j) = (&args[0], &args[1], &args[2]);
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let take = if d.is_float() {
        let better = b.op(format!("arith.cmpf {}, {a}, {best} : {e}", if which == ArgOp::ArgMax { "ogt" } else { "olt" }));
        let anan = b.op(format!("arith.cmpf uno, {a}, {a} : {e}"));
        let bnan = b.op(format!("arith.cmpf uno, {best}, {best} : {e}"));
        let either = b.op(format!("arith.ori {better}, {anan} : i1"));
        let t = b.op("arith.constant true");
        let bok = b.op(format!("arith.xori {bnan}, {t} : i1"));
        b.op(format!("arith.andi {either}, {bok} : i1"))
    } else {
        let unsigned = matches!(d, DType::U8 | DType::Bool);
        let pred = match (which, unsigned) {
            (ArgOp::ArgMax, true) => "ugt",
            (ArgOp::ArgMax, false) => "sgt",
            (ArgOp::ArgMin, true) => "ult",
            (ArgOp::ArgMin, false) => "slt",
        };
        b.op(format!("arith.cmpi {pred}, {a}, {best} : {e}"))
    };
    let j = b.op("linalg.index 2 : index");
    let j = b.op(format!("arith.index_cast {j} : index to i32"));
    let nb = b.op(format!("arith.select {take}, {a}, {best} : {e}"));
    let nj = b.op(format!("arith.select {take}, {j}, {best_j} : i32"));
    let r = generic(f, &ins, &outs, &["parallel", "parallel", "reduction"], &args, &body, &[nb, nj]);
    let flat = to_flat(&mut f.top(), &r[1], &[o, inner], "i32");
    let os = f.shape(c.output);
    Ok(from_flat(&mut f.top(), &flat, &os, "i32"))
}

/// The stable sorting permutation along `axis`, as two contractions over the axis
/// (row length² work per row): each element's rank (how many elements of its row sort
/// before it: smaller, or larger when `descending`, equal ones at a lower index, NaN after
/// every number), then at each rank the index whose rank it is.
fn arg_sort(f: &mut Func, c: &CallKernel, axis: usize, descending: bool) -> Result<String, MlirError> {
    let x = c.inputs[0];
    let d = f.dtype(x);
    let e = elem(d);
    let (o, len, inner) = split(&f.shape(x), axis);
    let xf = f.current(x)?;
    let x3 = from_flat(&mut f.top(), &xf, &[o, len, inner], e);
    let zero = f.top().int(0, DType::I32);
    let t3 = tensor_ty(&[o, len, inner], e);
    let i3 = tensor_ty(&[o, len, inner], "i32");
    // Ranks. Loops (o, j, q, k): a = x[o, j, q] is ranked against b = x[o, k, q].
    let rank0 = filled(f, &[o, len, inner], "i32", &zero);
    let ins = [op(&x3, t3.clone(), projection(4, &[0, 1, 2]), e), op(&x3, t3.clone(), projection(4, &[0, 3, 2]), e)];
    let outs = [op(&rank0, i3.clone(), projection(4, &[0, 1, 2]), "i32")];
    let args: Vec<String> = (0..3).map(|_| f.ssa.fresh()).collect();
    let (a, bv, rank) = (&args[0], &args[1], &args[2]);
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 4);
    let j = b.op("linalg.index 1 : index");
    let k = b.op("linalg.index 3 : index");
    let earlier = b.op(format!("arith.cmpi ult, {k}, {j} : index"));
    let before = if d.is_float() {
        let pred = if descending { "ogt" } else { "olt" };
        let strictly = b.op(format!("arith.cmpf {pred}, {bv}, {a} : {e}"));
        let same = b.op(format!("arith.cmpf oeq, {bv}, {a} : {e}"));
        let tie = b.op(format!("arith.andi {same}, {earlier} : i1"));
        let ordered = b.op(format!("arith.ori {strictly}, {tie} : i1"));
        let anan = b.op(format!("arith.cmpf uno, {a}, {a} : {e}"));
        let bnan = b.op(format!("arith.cmpf uno, {bv}, {bv} : {e}"));
        // b NaN: before a only if a is NaN too and b comes first; a NaN: every number is before it.
        let both = b.op(format!("arith.andi {anan}, {earlier} : i1"));
        let num = b.op(format!("arith.ori {anan}, {ordered} : i1"));
        b.op(format!("arith.select {bnan}, {both}, {num} : i1"))
    } else {
        let unsigned = matches!(d, DType::U8 | DType::Bool);
        let pred = match (descending, unsigned) {
            (false, true) => "ult",
            (false, false) => "slt",
            (true, true) => "ugt",
            (true, false) => "sgt",
        };
        let strictly = b.op(format!("arith.cmpi {pred}, {bv}, {a} : {e}"));
        let same = b.op(format!("arith.cmpi eq, {bv}, {a} : {e}"));
        let tie = b.op(format!("arith.andi {same}, {earlier} : i1"));
        b.op(format!("arith.ori {strictly}, {tie} : i1"))
    };
    let one = b.op("arith.constant 1 : i32");
    let next = b.op(format!("arith.addi {rank}, {one} : i32"));
    let r = b.op(format!("arith.select {before}, {next}, {rank} : i32"));
    let ranks = generic(f, &ins, &outs, &["parallel", "parallel", "parallel", "reduction"], &args, &body, &[r]).remove(0);
    // The inverse permutation. Loops (o, r, q, j): out[o, r, q] = j where rank[o, j, q] == r.
    let out0 = filled(f, &[o, len, inner], "i32", &zero);
    let ins = [op(&ranks, i3.clone(), projection(4, &[0, 3, 2]), "i32")];
    let outs = [op(&out0, i3, projection(4, &[0, 1, 2]), "i32")];
    let args: Vec<String> = (0..2).map(|_| f.ssa.fresh()).collect();
    let (rk, acc) = (&args[0], &args[1]);
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 4);
    let r = b.op("linalg.index 1 : index");
    let r = b.op(format!("arith.index_cast {r} : index to i32"));
    let j = b.op("linalg.index 3 : index");
    let j = b.op(format!("arith.index_cast {j} : index to i32"));
    let hit = b.op(format!("arith.cmpi eq, {rk}, {r} : i32"));
    let v = b.op(format!("arith.select {hit}, {j}, {acc} : i32"));
    let perm = generic(f, &ins, &outs, &["parallel", "parallel", "parallel", "reduction"], &args, &body, &[v]).remove(0);
    let flat = to_flat(&mut f.top(), &perm, &[o, len, inner], "i32");
    let os = f.shape(c.output);
    Ok(from_flat(&mut f.top(), &flat, &os, "i32"))
}

const PHILOX_M: [u32; 2] = [0xD251_1F53, 0xCD9E_8D57];
const PHILOX_W: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];

fn u32c(b: &mut Block, x: u32) -> String {
    b.op(format!("arith.constant {} : i32", x as i32))
}

fn random(f: &mut Func, c: &CallKernel, dist: Dist) -> Result<String, MlirError> {
    let d = f.dtype(c.output);
    if !d.is_float() {
        return Err(MlirError::Unsupported(format!("random of {d}")));
    }
    let os = f.shape(c.output);
    let total: usize = os.iter().product();
    let seed = c.inputs[0];
    let sd = f.dtype(seed);
    let sf = f.current(seed)?;
    let empty = f.top().op(format!("tensor.empty() : {}", tensor_ty(&[total], elem(d))));
    let ins = [op(&sf, tensor_ty(&[1], elem(sd)), affine_map(1, &["0".into()]), elem(sd))];
    let outs = [op(&empty, tensor_ty(&[total], elem(d)), projection(1, &[0]), elem(d))];
    let args: Vec<String> = (0..2).map(|_| f.ssa.fresh()).collect();
    let mut body = String::new();
    let mut b = Block::new(&mut f.ssa, &mut body, 3);
    let s64 = to_i64(&mut b, &args[0], sd);
    let c32 = b.int(32, DType::I64);
    let shr = |b: &mut Block, x: &str| b.op(format!("arith.shrui {x}, {c32} : i64"));
    let lo32 = |b: &mut Block, x: &str| b.op(format!("arith.trunci {x} : i64 to i32"));
    let s_hi = shr(&mut b, &s64);
    let mut key = [lo32(&mut b, &s64), lo32(&mut b, &s_hi)];
    let p = b.op("linalg.index 0 : index");
    let p = b.op(format!("arith.index_cast {p} : index to i64"));
    let p_hi = shr(&mut b, &p);
    let zero = u32c(&mut b, 0);
    let mut ctr = [lo32(&mut b, &p), lo32(&mut b, &p_hi), zero.clone(), zero];
    let m = [u32c(&mut b, PHILOX_M[0]), u32c(&mut b, PHILOX_M[1])];
    let w = [u32c(&mut b, PHILOX_W[0]), u32c(&mut b, PHILOX_W[1])];
    for round in 0..10 {
        if round > 0 {
            key = [b.op(format!("arith.addi {}, {} : i32", key[0], w[0])), b.op(format!("arith.addi {}, {} : i32", key[1], w[1]))];
        }
        let p0 = b.ssa.fresh();
        let p0_hi = b.ssa.fresh();
        b.stmt(format!("{p0}, {p0_hi} = arith.mului_extended {}, {} : i32", m[0], ctr[0]));
        let p1 = b.ssa.fresh();
        let p1_hi = b.ssa.fresh();
        b.stmt(format!("{p1}, {p1_hi} = arith.mului_extended {}, {} : i32", m[1], ctr[2]));
        let x0 = b.op(format!("arith.xori {p1_hi}, {} : i32", ctr[1]));
        let x0 = b.op(format!("arith.xori {x0}, {} : i32", key[0]));
        let x2 = b.op(format!("arith.xori {p0_hi}, {} : i32", ctr[3]));
        let x2 = b.op(format!("arith.xori {x2}, {} : i32", key[1]));
        ctr = [x0, p1, x2, p0];
    }
    let eight = u32c(&mut b, 8);
    let scale = b.float(1.0 / 16_777_216.0, DType::F64);
    let top24 = |b: &mut Block, x: &str| {
        let s = b.op(format!("arith.shrui {x}, {eight} : i32"));
        b.op(format!("arith.uitofp {s} : i32 to f64"))
    };
    let v = match dist {
        Dist::Uniform => {
            let u = top24(&mut b, &ctr[0]);
            b.op(format!("arith.mulf {u}, {scale} : f64"))
        }
        Dist::Normal => {
            let one = b.float(1.0, DType::F64);
            let a = top24(&mut b, &ctr[0]);
            let a1 = b.op(format!("arith.addf {a}, {one} : f64"));
            let u1 = b.op(format!("arith.mulf {a1}, {scale} : f64"));
            let c = top24(&mut b, &ctr[1]);
            let u2 = b.op(format!("arith.mulf {c}, {scale} : f64"));
            let m2 = b.float(-2.0, DType::F64);
            let ln = b.op(format!("math.log {u1} : f64"));
            let r2 = b.op(format!("arith.mulf {m2}, {ln} : f64"));
            let r = b.op(format!("math.sqrt {r2} : f64"));
            let tau = b.float(std::f64::consts::TAU, DType::F64);
            let th = b.op(format!("arith.mulf {tau}, {u2} : f64"));
            let cs = b.op(format!("math.cos {th} : f64"));
            b.op(format!("arith.mulf {r}, {cs} : f64"))
        }
    };
    let v = scalar::from_f64(&mut b, &v, d);
    let g = generic(f, &ins, &outs, &["parallel"], &args, &body, &[v]).remove(0);
    Ok(from_flat(&mut f.top(), &g, &os, elem(d)))
}
