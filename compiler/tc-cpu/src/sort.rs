//! The native `argsort` library kernel (instead of the interpreter).
//!
//! - `argsort` maps each element to an unsigned key whose order is the op's order (a
//!   total-order transform of the float bits with `-0` made `+0` and every NaN the
//!   largest key, in both directions; signed integers with the sign bit flipped;
//!   descending as the complement of the key), packs it with the element's position, and
//!   sorts the packed values: ties fall to the lower position, so the result is the
//!   stable sort, in O(n log n) per row. Rows run in parallel on the rayon pool; a single
//!   long row is sorted with rayon's parallel sort.
//! - When the program reads only the first `k` positions of every row of an argsort's
//!   result ([`sort_prefixes`]: `top_k`'s slice of a descending argsort), only those are
//!   computed: a bounded sorted buffer of the best `k` packed keys for small `k`
//!   (O(n log k) per row, one comparison for most elements), else a selection followed
//!   by a sort of the first `k` (O(n + k log k)).

use crate::library::Buf;
use rayon::prelude::*;
use tc_ir::Op;
use tc_kernel::{BufferKind, ExprOp, Kernel, KernelProgram};
use tc_tensor::DType;

/// Raw pointers shared with worker threads; each task touches disjoint output elements.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: tasks write disjoint parts of the output and only read the inputs.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn get(self) -> *mut T {
        self.0
    }
}

/// Per kernel: for an `argsort` call, how many leading positions of each row the rest of
/// the program reads (the full axis unless the analysis proves fewer); 0 for others.
pub fn sort_prefixes(program: &KernelProgram) -> Vec<usize> {
    program
        .kernels
        .iter()
        .enumerate()
        .map(|(i, k)| match k {
            Kernel::Call(c) if matches!(c.op, Op::ArgSort { .. }) => read_prefix(program, i, c.output),
            _ => 0,
        })
        .collect()
}

/// How many leading positions along the last axis of `out` (written by kernel `writer`)
/// the other kernels read. Only a temp whose sorted axis is innermost and which only
/// loop kernels read at affine views that stay within a row's first `k` positions gets
/// `k < len`; everything else gets the full length.
fn read_prefix(program: &KernelProgram, writer: usize, out: tc_kernel::BufferId) -> usize {
    let buf = program.buffer(out);
    let shape = &buf.ty.shape;
    let Some(Op::ArgSort { axis, .. }) = (match &program.kernels[writer] {
        Kernel::Call(c) => Some(&c.op),
        _ => None,
    }) else {
        return 0;
    };
    let len = shape[*axis];
    let inner: usize = shape[axis + 1..].iter().product();
    if !matches!(buf.kind, BufferKind::Temp { .. }) || inner != 1 || len == 0 || program.outputs.contains(&out) {
        return len;
    }
    let mut needed = 0usize;
    for (i, k) in program.kernels.iter().enumerate() {
        if i == writer {
            continue;
        }
        match k {
            Kernel::Call(c) => {
                if c.inputs.contains(&out) {
                    return len;
                }
            }
            Kernel::Loop(l) => {
                for stage in &l.stages {
                    for e in &stage.exprs {
                        let ExprOp::Load { buffer, view } = &e.op else { continue };
                        if *buffer != out {
                            continue;
                        }
                        if l.domain.contains(&0) {
                            continue;
                        }
                        if view.offset < 0 {
                            return len;
                        }
                        let mut top = (view.offset as usize) % len;
                        for (&s, &d) in view.strides.iter().zip(&l.domain) {
                            if d <= 1 || s % len as isize == 0 {
                                continue;
                            }
                            if s < 0 {
                                return len;
                            }
                            top += s as usize * (d - 1);
                        }
                        if top >= len {
                            return len;
                        }
                        needed = needed.max(top + 1);
                    }
                }
            }
        }
    }
    needed
}

/// The order key of an `f32`: ascending unsigned order is the number order, `-0 == +0`,
/// NaN after everything; `descending` reverses the numbers and keeps NaN last.
fn key_f32(x: f32, descending: bool) -> u32 {
    if x.is_nan() {
        return u32::MAX;
    }
    let b = if x == 0.0 { 0 } else { x.to_bits() };
    let k = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
    if descending {
        !k
    } else {
        k
    }
}

/// [`key_f32`] for `f64`.
fn key_f64(x: f64, descending: bool) -> u64 {
    if x.is_nan() {
        return u64::MAX;
    }
    let b = if x == 0.0 { 0 } else { x.to_bits() };
    let k = if b >> 63 == 1 { !b } else { b | 0x8000_0000_0000_0000 };
    if descending {
        !k
    } else {
        k
    }
}

fn dir32(k: u32, descending: bool) -> u32 {
    if descending {
        !k
    } else {
        k
    }
}

fn dir64(k: u64, descending: bool) -> u64 {
    if descending {
        !k
    } else {
        k
    }
}

/// Packed `(key, position)` values whose unsigned order is the stable sort's order.
trait Packed: Copy + Ord + Send + Sync + std::ops::BitOr<Output = Self> + From<u32> {
    fn position(self) -> usize;
}

impl Packed for u64 {
    fn position(self) -> usize {
        (self & 0xffff_ffff) as usize
    }
}

impl Packed for u128 {
    fn position(self) -> usize {
        (self & 0xffff_ffff) as usize
    }
}

/// `argsort` of `x` into `out` (both of `x`'s type's shape, `out` `i32`), writing the
/// first `prefix` positions of every row (all when `prefix >= len`).
pub fn arg_sort(x: Buf, out: Buf, axis: usize, descending: bool, prefix: usize) -> Result<(), tc_interp::InterpError> {
    let shape = &x.ty.shape;
    if axis >= shape.len() || out.ty.dtype != DType::I32 || out.ty.shape != *shape {
        return Err(tc_interp::InterpError::Internal(format!("argsort of {} into {}", x.ty, out.ty)));
    }
    let len = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let k = prefix.min(len);
    if len == 0 || k == 0 || outer * inner == 0 {
        return Ok(());
    }
    if len > i32::MAX as usize {
        return Err(tc_interp::InterpError::Internal(format!("argsort of an axis of {len} elements")));
    }
    let n = outer * len * inner;
    macro_rules! slice {
        ($t:ty) => {
            // SAFETY: the buffer holds `n` elements of this type.
            unsafe { std::slice::from_raw_parts(x.ptr as *const $t, n) }
        };
    }
    let d = descending;
    let o = Shared(out.ptr as *mut i32);
    match x.ty.dtype {
        DType::F32 => {
            let v = slice!(f32);
            rows(outer, len, inner, k, o, |at| pack32(key_f32(v[at], d)))
        }
        DType::F16 => {
            let v = slice!(half::f16);
            rows(outer, len, inner, k, o, |at| pack32(key_f32(v[at].to_f32(), d)))
        }
        DType::BF16 => {
            let v = slice!(half::bf16);
            rows(outer, len, inner, k, o, |at| pack32(key_f32(v[at].to_f32(), d)))
        }
        DType::I32 => {
            let v = slice!(i32);
            rows(outer, len, inner, k, o, |at| pack32(dir32((v[at] as u32) ^ 0x8000_0000, d)))
        }
        DType::U8 => {
            let v = slice!(u8);
            rows(outer, len, inner, k, o, |at| pack32(dir32(v[at] as u32, d)))
        }
        DType::F64 => {
            let v = slice!(f64);
            rows(outer, len, inner, k, o, |at| pack64(key_f64(v[at], d)))
        }
        DType::I64 => {
            let v = slice!(i64);
            rows(outer, len, inner, k, o, |at| pack64(dir64((v[at] as u64) ^ 0x8000_0000_0000_0000, d)))
        }
        DType::Bool => return Err(tc_interp::InterpError::Internal("argsort of bool".into())),
    }
    Ok(())
}

/// A 32-bit key in the high half; the position goes in the low half.
fn pack32(key: u32) -> u64 {
    (key as u64) << 32
}

/// A 64-bit key above a 32-bit position.
fn pack64(key: u64) -> u128 {
    (key as u128) << 32
}

/// Rows shorter than this are sorted several to a task.
const ROW_TASK_MIN: usize = 1 << 14;

/// Sort every row (`outer × inner` rows of `len`, element `j` of row `(o, q)` at
/// `(o * len + j) * inner + q`) by `key(element index) | position`, writing the first `k`
/// positions of each row to `out`.
fn rows<P: Packed, F: Fn(usize) -> P + Sync>(outer: usize, len: usize, inner: usize, k: usize, out: Shared<i32>, key: F) {
    let lanes = outer * inner;
    let at = move |lane: usize, j: usize| (lane / inner * len + j) * inner + lane % inner;
    let one = |lane: usize, scratch: &mut Vec<P>| {
        let dst = out;
        let write = |p: usize, v: P| {
            // SAFETY: position `p < k <= len` of this lane's row; lanes are disjoint.
            unsafe { *dst.get().add(at(lane, p)) = v.position() as i32 };
        };
        if k < len && k <= 64 && k * 8 <= len {
            // The best `k` in a sorted buffer; most elements lose to its last one.
            scratch.clear();
            for j in 0..len {
                let v = key(at(lane, j)) | P::from(j as u32);
                if scratch.len() < k {
                    let pos = scratch.partition_point(|&w| w < v);
                    scratch.insert(pos, v);
                } else if v < scratch[k - 1] {
                    let pos = scratch.partition_point(|&w| w < v);
                    scratch.pop();
                    scratch.insert(pos, v);
                }
            }
            for (p, &v) in scratch.iter().enumerate() {
                write(p, v);
            }
            return;
        }
        scratch.clear();
        scratch.extend((0..len).map(|j| key(at(lane, j)) | P::from(j as u32)));
        if k < len {
            scratch.select_nth_unstable(k - 1);
            scratch.truncate(k);
        }
        if lanes == 1 && len >= ROW_TASK_MIN * 4 {
            scratch.par_sort_unstable();
        } else {
            scratch.sort_unstable();
        }
        for (p, &v) in scratch.iter().enumerate() {
            write(p, v);
        }
    };
    let per_task = ROW_TASK_MIN.div_ceil(len).max(1);
    if lanes > 1 && lanes * len >= ROW_TASK_MIN {
        (0..lanes).into_par_iter().with_min_len(per_task).for_each_init(Vec::new, |scratch, lane| one(lane, scratch));
    } else {
        let mut scratch = Vec::new();
        (0..lanes).for_each(|lane| one(lane, &mut scratch));
    }
}

/// Run `op` natively if this file has a kernel for it: `Ok(false)` leaves it to
/// [`crate::library::call`]. `prefix` is the op's entry of [`sort_prefixes`].
pub fn call(op: &Op, inputs: &[Buf], out: Buf, prefix: usize) -> Result<bool, tc_interp::InterpError> {
    match op {
        Op::ArgSort { axis, descending } => arg_sort(inputs[0], out, *axis, *descending, prefix).map(|()| true),
        _ => Ok(false),
    }
}

