//! Native library kernels for the ops that are neither fused loops nor products:
//! `pool`, `pool_grad`, `pad`, `concat`, `gather`, `scatter_add` and `argreduce`.
//!
//! Each computes exactly what `tc_interp` computes (the tests compare them bit for bit):
//! window sums and shares are formed in f64 and rounded once, as the interpreter does;
//! data movement (`pad`, `concat`, `gather`) copies element bytes, so it serves every
//! dtype. Work is split over the rayon pool by disjoint output regions, never by
//! reduction order, so results do not depend on the number of threads.
//! [`try_call`] answers `None` for a dtype or case a kernel does not cover, and the
//! caller falls back to the interpreter.

use crate::library::Buf;
use rayon::prelude::*;
use tc_interp::elementwise::fmax_nan;
use tc_interp::layout::normalize_index;
use tc_ir::{ArgOp, Op, PoolKind};
use tc_tensor::DType;

/// Below this many output bytes a kernel runs on the calling thread.
const PARALLEL_MIN_BYTES: usize = 1 << 16;

/// Run `op` natively if a kernel here covers it; `Some(())` when it ran.
pub fn try_call(op: &Op, inputs: &[Buf], out: Buf) -> Option<()> {
    match op {
        Op::Pool { kind, size, stride } => pool(*kind, inputs[0], out, *size, *stride),
        Op::PoolGrad { kind, size, stride } => {
            pool_grad(*kind, inputs[0], inputs[1], out, *size, *stride)
        }
        Op::Pad { lo, hi } => pad(inputs[0], inputs[1], out, lo, hi),
        Op::Concat { axis } => concat(inputs, out, *axis),
        Op::Gather { axis } => gather(inputs[0], inputs[1], out, *axis),
        Op::ScatterAdd { axis } => scatter_add(inputs[0], inputs[1], out, *axis),
        Op::ArgReduce { op, axis } => argreduce(*op, inputs[0], out, *axis),
        _ => None,
    }
}

/// A float element type the window and scatter kernels compute on (through f64).
trait Float: Copy + Send + Sync + 'static {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}
impl Float for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}
impl Float for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// A buffer's elements as a slice.
///
/// # Safety
/// The buffer holds `buf.ty.num_elements()` elements of type `T`, and nothing writes it
/// while the slice lives.
unsafe fn slice<'a, T>(buf: Buf<'a>) -> &'a [T] {
    unsafe { std::slice::from_raw_parts(buf.ptr as *const T, buf.ty.num_elements()) }
}

/// The output buffer's elements as a mutable slice.
///
/// # Safety
/// As [`slice`], and the output overlaps no input.
unsafe fn slice_mut<'a, T>(buf: Buf<'a>) -> &'a mut [T] {
    unsafe { std::slice::from_raw_parts_mut(buf.ptr as *mut T, buf.ty.num_elements()) }
}

fn bytes<'a>(buf: Buf<'a>) -> &'a [u8] {
    // SAFETY: a buffer holds `num_elements` elements of its dtype; inputs are only read.
    unsafe {
        std::slice::from_raw_parts(buf.ptr, buf.ty.num_elements() * buf.ty.dtype.size_bytes())
    }
}

fn bytes_mut<'a>(buf: Buf<'a>) -> &'a mut [u8] {
    // SAFETY: as `bytes`; the output buffer overlaps no input.
    unsafe {
        std::slice::from_raw_parts_mut(buf.ptr, buf.ty.num_elements() * buf.ty.dtype.size_bytes())
    }
}

/// Split `out` into chunks of `chunk` elements and run `f(index, chunk)` on each, in
/// parallel when the output is large enough to pay for it.
fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if chunk == 0 || out.is_empty() {
        return;
    }
    if std::mem::size_of_val(out) >= PARALLEL_MIN_BYTES && out.len() > chunk {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    } else {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// Geometry of a pooling: planes (`N·C`), input and output plane sizes.
#[derive(Clone, Copy)]
struct PoolGeom {
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
    size: [usize; 2],
    stride: [usize; 2],
}

impl PoolGeom {
    fn of(x: Buf, out: Buf, size: [usize; 2], stride: [usize; 2]) -> Option<PoolGeom> {
        let (xs, os) = (&x.ty.shape, &out.ty.shape);
        if xs.len() != 4 || os.len() != 4 {
            return None;
        }
        Some(PoolGeom {
            h: xs[2],
            w: xs[3],
            ho: os[2],
            wo: os[3],
            size,
            stride,
        })
    }

    /// Visit the window of output position `(i, j)`: `f(offset in the plane)` in `r, s` order.
    fn window(&self, i: usize, j: usize, mut f: impl FnMut(usize)) {
        for r in 0..self.size[0] {
            let row = (i * self.stride[0] + r) * self.w + j * self.stride[1];
            for s in 0..self.size[1] {
                f(row + s);
            }
        }
    }
}

fn pool(kind: PoolKind, x: Buf, out: Buf, size: [usize; 2], stride: [usize; 2]) -> Option<()> {
    let g = PoolGeom::of(x, out, size, stride)?;
    match x.ty.dtype {
        // SAFETY: the buffers hold elements of their dtype; the output is distinct.
        DType::F32 => pool_float::<f32>(kind, unsafe { slice(x) }, unsafe { slice_mut(out) }, g),
        DType::F64 => pool_float::<f64>(kind, unsafe { slice(x) }, unsafe { slice_mut(out) }, g),
        _ => return None,
    }
    Some(())
}

fn pool_float<T: Float>(kind: PoolKind, x: &[T], out: &mut [T], g: PoolGeom) {
    let count = (g.size[0] * g.size[1]) as f64;
    for_chunks(out, g.ho * g.wo, |plane, o| {
        let xp = &x[plane * g.h * g.w..(plane + 1) * g.h * g.w];
        for i in 0..g.ho {
            for j in 0..g.wo {
                o[i * g.wo + j] = T::from_f64(match kind {
                    PoolKind::Max => {
                        let mut m = f64::NEG_INFINITY;
                        g.window(i, j, |p| m = fmax_nan(m, xp[p].to_f64()));
                        m
                    }
                    PoolKind::Avg => {
                        let mut acc = 0.0;
                        g.window(i, j, |p| acc += xp[p].to_f64());
                        acc / count
                    }
                });
            }
        }
    });
}

fn pool_grad(
    kind: PoolKind,
    x: Buf,
    dy: Buf,
    out: Buf,
    size: [usize; 2],
    stride: [usize; 2],
) -> Option<()> {
    let g = PoolGeom::of(x, dy, size, stride)?;
    if dy.ty.dtype != x.ty.dtype || out.ty.shape != x.ty.shape {
        return None;
    }
    match x.ty.dtype {
        // SAFETY: as in `pool`.
        DType::F32 => pool_grad_float::<f32>(
            kind,
            unsafe { slice(x) },
            unsafe { slice(dy) },
            unsafe { slice_mut(out) },
            g,
        ),
        DType::F64 => pool_grad_float::<f64>(
            kind,
            unsafe { slice(x) },
            unsafe { slice(dy) },
            unsafe { slice_mut(out) },
            g,
        ),
        _ => return None,
    }
    Some(())
}

/// Each plane accumulates its shares in f64 and rounds once (overlapping windows add up).
fn pool_grad_float<T: Float>(kind: PoolKind, x: &[T], dy: &[T], out: &mut [T], g: PoolGeom) {
    let count = (g.size[0] * g.size[1]) as f64;
    for_chunks(out, g.h * g.w, |plane, o| {
        let xp = &x[plane * g.h * g.w..(plane + 1) * g.h * g.w];
        let dp = &dy[plane * g.ho * g.wo..(plane + 1) * g.ho * g.wo];
        let mut acc = vec![0.0f64; g.h * g.w];
        for i in 0..g.ho {
            for j in 0..g.wo {
                let d = dp[i * g.wo + j].to_f64();
                match kind {
                    PoolKind::Max => {
                        let mut m = f64::NEG_INFINITY;
                        g.window(i, j, |p| m = fmax_nan(m, xp[p].to_f64()));
                        let is_max = |p: usize| {
                            let v = xp[p].to_f64();
                            if m.is_nan() {
                                v.is_nan()
                            } else {
                                v == m
                            }
                        };
                        let mut ties = 0usize;
                        g.window(i, j, |p| ties += is_max(p) as usize);
                        let share = d / ties as f64;
                        g.window(i, j, |p| {
                            if is_max(p) {
                                acc[p] += share;
                            }
                        });
                    }
                    PoolKind::Avg => {
                        let share = d / count;
                        g.window(i, j, |p| acc[p] += share);
                    }
                }
            }
        }
        for (o, a) in o.iter_mut().zip(&acc) {
            *o = T::from_f64(*a);
        }
    });
}

/// `pad`: every output row along the last axis is the value, or `lo` values, a row of
/// `x`, and `hi` values.
fn pad(x: Buf, value: Buf, out: Buf, lo: &[usize], hi: &[usize]) -> Option<()> {
    let shape = &x.ty.shape;
    let rank = shape.len();
    if value.ty.dtype != x.ty.dtype
        || value.ty.num_elements() != 1
        || lo.len() != rank
        || hi.len() != rank
    {
        return None;
    }
    let es = x.ty.dtype.size_bytes();
    let (src, val, dst) = (bytes(x), bytes(value), bytes_mut(out));
    if rank == 0 {
        dst.copy_from_slice(src);
        return Some(());
    }
    let out_shape = &out.ty.shape;
    let last = rank - 1;
    let row_bytes = out_shape[last] * es;
    let x_row_bytes = shape[last] * es;
    for_chunks(dst, row_bytes, |row, d| {
        // The row's index along each outer axis, last outer axis fastest.
        let mut rest = row;
        let mut src_row = 0usize;
        let mut stride = 1usize;
        let mut inside = true;
        for a in (0..last).rev() {
            let i = rest % out_shape[a];
            rest /= out_shape[a];
            if i < lo[a] || i >= lo[a] + shape[a] {
                inside = false;
                break;
            }
            src_row += (i - lo[a]) * stride;
            stride *= shape[a];
        }
        if inside {
            let (before, tail) = d.split_at_mut(lo[last] * es);
            let (middle, after) = tail.split_at_mut(x_row_bytes);
            fill(before, val);
            middle.copy_from_slice(&src[src_row * x_row_bytes..(src_row + 1) * x_row_bytes]);
            fill(after, val);
        } else {
            fill(d, val);
        }
    });
    Some(())
}

/// Fill `dst` with copies of the element `value`.
fn fill(dst: &mut [u8], value: &[u8]) {
    if value.iter().all(|&b| b == value[0]) {
        dst.fill(value[0]);
    } else {
        dst.chunks_exact_mut(value.len())
            .for_each(|c| c.copy_from_slice(value));
    }
}

/// `concat`: each output block `o` (the axes before `axis`) is the parts' blocks in turn.
fn concat(parts: &[Buf], out: Buf, axis: usize) -> Option<()> {
    let out_shape = &out.ty.shape;
    if axis >= out_shape.len()
        || parts
            .iter()
            .any(|p| p.ty.dtype != out.ty.dtype || p.ty.shape.len() != out_shape.len())
    {
        return None;
    }
    let es = out.ty.dtype.size_bytes();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let part_bytes: Vec<usize> = parts
        .iter()
        .map(|p| p.ty.shape[axis] * inner * es)
        .collect();
    let block: usize = part_bytes.iter().sum();
    if block != out_shape[axis] * inner * es {
        return None;
    }
    let srcs: Vec<&[u8]> = parts.iter().map(|&p| bytes(p)).collect();
    for_chunks(bytes_mut(out), block, |o, d| {
        let mut at = 0;
        for (src, &n) in srcs.iter().zip(&part_bytes) {
            d[at..at + n].copy_from_slice(&src[o * n..(o + 1) * n]);
            at += n;
        }
    });
    Some(())
}

/// A buffer of integer indices as i64 values.
fn index_values(idx: Buf) -> Option<Vec<i64>> {
    // SAFETY: the buffer holds elements of its dtype.
    Some(match idx.ty.dtype {
        DType::I32 => unsafe { slice::<i32>(idx) }
            .iter()
            .map(|&i| i as i64)
            .collect(),
        DType::I64 => unsafe { slice::<i64>(idx) }.to_vec(),
        DType::U8 => unsafe { slice::<u8>(idx) }
            .iter()
            .map(|&i| i as i64)
            .collect(),
        _ => return None,
    })
}

/// `gather` (`take(x, idx, axis)`): for each block `o` before `axis` and each index,
/// the `inner` elements of the indexed row.
fn gather(x: Buf, idx: Buf, out: Buf, axis: usize) -> Option<()> {
    let shape = &x.ty.shape;
    if axis >= shape.len() || shape[axis] == 0 || out.ty.dtype != x.ty.dtype {
        return None;
    }
    let ix = index_values(idx)?;
    let size = shape[axis];
    let es = x.ty.dtype.size_bytes();
    let row = shape[axis + 1..].iter().product::<usize>() * es;
    let rows: Vec<usize> = ix.iter().map(|&i| normalize_index(i, size)).collect();
    let src = bytes(x);
    for_chunks(bytes_mut(out), row * rows.len(), |o, d| {
        for (k, &r) in rows.iter().enumerate() {
            let from = (o * size + r) * row;
            d[k * row..(k + 1) * row].copy_from_slice(&src[from..from + row]);
        }
    });
    Some(())
}

/// `scatter_add` on floats: each block `o` before `axis` sums its updates into its rows
/// in f64, in the updates' order, and rounds once, as the interpreter does.
fn scatter_add(idx: Buf, updates: Buf, out: Buf, axis: usize) -> Option<()> {
    let shape = &out.ty.shape;
    if axis >= shape.len() || shape[axis] == 0 || updates.ty.dtype != out.ty.dtype {
        return None;
    }
    let ix = index_values(idx)?;
    let size = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let rows: Vec<usize> = ix.iter().map(|&i| normalize_index(i, size)).collect();
    match out.ty.dtype {
        // SAFETY: the buffers hold elements of their dtype; the output is distinct.
        DType::F32 => scatter_float::<f32>(
            &rows,
            unsafe { slice(updates) },
            unsafe { slice_mut(out) },
            size,
            inner,
        ),
        DType::F64 => scatter_float::<f64>(
            &rows,
            unsafe { slice(updates) },
            unsafe { slice_mut(out) },
            size,
            inner,
        ),
        _ => return None,
    }
    Some(())
}

fn scatter_float<T: Float>(
    rows: &[usize],
    updates: &[T],
    out: &mut [T],
    size: usize,
    inner: usize,
) {
    let n = rows.len();
    for_chunks(out, size * inner, |o, d| {
        let mut acc = vec![0.0f64; size * inner];
        for (k, &r) in rows.iter().enumerate() {
            let u = &updates[(o * n + k) * inner..(o * n + k + 1) * inner];
            for (a, &v) in acc[r * inner..(r + 1) * inner].iter_mut().zip(u) {
                *a += v.to_f64();
            }
        }
        for (d, a) in d.iter_mut().zip(&acc) {
            *d = T::from_f64(*a);
        }
    });
}

/// `argmax`/`argmin` along `axis` (i32 result): the first extreme, or the first NaN.
fn argreduce(op: ArgOp, x: Buf, out: Buf, axis: usize) -> Option<()> {
    let shape = &x.ty.shape;
    if axis >= shape.len() || shape[axis] == 0 || out.ty.dtype != DType::I32 {
        return None;
    }
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    // SAFETY: the output holds i32 elements and overlaps no input.
    let dst = unsafe { slice_mut::<i32>(out) };
    let max = op == ArgOp::ArgMax;
    match x.ty.dtype {
        // SAFETY: the input holds elements of its dtype.
        DType::F32 => arg_rows(
            unsafe { slice::<f32>(x) },
            dst,
            len,
            inner,
            |a, b| if max { a > b } else { a < b },
            |a| a.is_nan(),
        ),
        DType::F64 => arg_rows(
            unsafe { slice::<f64>(x) },
            dst,
            len,
            inner,
            |a, b| if max { a > b } else { a < b },
            |a| a.is_nan(),
        ),
        DType::I32 => arg_rows(
            unsafe { slice::<i32>(x) },
            dst,
            len,
            inner,
            |a, b| if max { a > b } else { a < b },
            |_| false,
        ),
        DType::I64 => arg_rows(
            unsafe { slice::<i64>(x) },
            dst,
            len,
            inner,
            |a, b| if max { a > b } else { a < b },
            |_| false,
        ),
        _ => return None,
    }
    Some(())
}

/// For each block of `len × inner` elements, the index along `len` of the first element
/// that no later one `beats`, stopping at the first `stops` (NaN) element.
fn arg_rows<T: Copy + Send + Sync>(
    x: &[T],
    out: &mut [i32],
    len: usize,
    inner: usize,
    beats: impl Fn(T, T) -> bool + Sync + Send,
    stops: impl Fn(T) -> bool + Sync + Send,
) {
    for_chunks(out, inner, |o, d| {
        let block = &x[o * len * inner..(o + 1) * len * inner];
        let mut best: Vec<T> = block[..inner].to_vec();
        let mut done: Vec<bool> = best.iter().map(|&v| stops(v)).collect();
        d.fill(0);
        for j in 1..len {
            let row = &block[j * inner..(j + 1) * inner];
            for i in 0..inner {
                if done[i] {
                    continue;
                }
                let a = row[i];
                if stops(a) {
                    d[i] = j as i32;
                    done[i] = true;
                } else if beats(a, best[i]) {
                    best[i] = a;
                    d[i] = j as i32;
                }
            }
        }
    });
}
