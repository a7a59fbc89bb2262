//! Library kernels: the graph ops that run as calls rather than generated loops.
//!
//! - `matmul` on f32 and f64 calls the `gemm` crate (threaded on the rayon pool for large
//!   products; batched products run one batch per task), reading an operand stored
//!   transposed through strides; on f16 and bf16 it widens to f64, multiplies with
//!   `gemm` and rounds each result once, as the interpreter does.
//! - `conv2d` on f32 and f64 is im2col (the padded, strided, dilated input windows as a
//!   matrix, padding taking part literally as zeros) followed by one `gemm` per image.
//! - `pool`, `pool_grad`, `pad`, `concat`, `gather`, `scatter_add` and `argreduce` run
//!   the native kernels of [`crate::kernels`] on the dtypes those cover; `argsort` runs
//!   in [`crate::sort`] (called before this module).
//! - Every other call — integer matmul (`tc_interp`'s loop) and conv, `random`, and the
//!   cases `kernels` leaves out — is evaluated by the reference interpreter's
//!   `tc_interp::eval_op` on copies of its operands: correct by construction, not optimised.

use gemm::Parallelism;
use rayon::prelude::*;
use tc_ir::{Op, Type};
use tc_tensor::{DType, Data, Tensor};

/// A buffer as a library call sees it.
#[derive(Clone, Copy)]
pub struct Buf<'a> {
    pub ptr: *mut u8,
    pub ty: &'a Type,
}

/// Raw pointers shared with worker threads; each task touches disjoint output rows.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: tasks write disjoint parts of the output and only read the inputs.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

/// Copy a buffer into a host tensor.
pub fn read(buf: Buf) -> Tensor {
    let n = buf.ty.num_elements();
    macro_rules! copy {
        ($t:ty, $v:ident) => {
            // SAFETY: the buffer holds `n` elements of this type.
            Data::$v(unsafe { std::slice::from_raw_parts(buf.ptr as *const $t, n) }.to_vec())
        };
    }
    let data = match buf.ty.dtype {
        DType::F64 => copy!(f64, F64),
        DType::F32 => copy!(f32, F32),
        DType::F16 => copy!(half::f16, F16),
        DType::BF16 => copy!(half::bf16, BF16),
        DType::I64 => copy!(i64, I64),
        DType::I32 => copy!(i32, I32),
        DType::U8 => copy!(u8, U8),
        DType::Bool => copy!(bool, Bool),
    };
    Tensor::new(buf.ty.shape.clone(), data).expect("the buffer's type fits its data")
}

/// Copy a tensor of the buffer's type into the buffer.
pub fn write(buf: Buf, t: &Tensor) {
    let bytes = t.len() * buf.ty.dtype.size_bytes();
    let src: *const u8 = match t.data() {
        Data::F64(v) => v.as_ptr().cast(),
        Data::F32(v) => v.as_ptr().cast(),
        Data::F16(v) => v.as_ptr().cast(),
        Data::BF16(v) => v.as_ptr().cast(),
        Data::I64(v) => v.as_ptr().cast(),
        Data::I32(v) => v.as_ptr().cast(),
        Data::U8(v) => v.as_ptr(),
        Data::Bool(v) => v.as_ptr().cast(),
    };
    // SAFETY: both hold `bytes` bytes and do not overlap (the tensor is a fresh copy).
    unsafe { std::ptr::copy_nonoverlapping(src, buf.ptr, bytes) };
}

/// Products at least this large (m·n·k) use all threads inside `gemm`.
const GEMM_PARALLEL_MIN: usize = 1 << 18;

/// Where the elements of a matrix operand are: strides of its column and row index.
#[derive(Clone, Copy)]
struct Strides {
    col: isize,
    row: isize,
}

impl Strides {
    /// A row-major `rows × cols` matrix, or the transpose of a row-major `cols × rows` one.
    fn of(rows: usize, cols: usize, transposed: bool) -> Strides {
        if transposed {
            Strides { col: rows as isize, row: 1 }
        } else {
            Strides { col: 1, row: cols as isize }
        }
    }
}

/// `dst[m, n] = lhs[m, k] @ rhs[k, n]`, `dst` row-major, operands with strides.
///
/// # Safety
/// The pointers hold matrices of these sizes; `dst` does not overlap the operands.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into<T: 'static + Copy + Default>(m: usize, n: usize, k: usize, dst: *mut T, lhs: *const T, ls: Strides, rhs: *const T, rs: Strides, one: T, threads: usize) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        unsafe { std::slice::from_raw_parts_mut(dst, m * n) }.fill(T::default());
        return;
    }
    let par = if m * n * k >= GEMM_PARALLEL_MIN && threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    let zero = T::default();
    unsafe { gemm::gemm(m, n, k, dst, 1, n as isize, false, lhs, ls.col, ls.row, rhs, rs.col, rs.row, zero, one, false, false, false, par) };
}

/// Batched matmul of `batch` products (operand batches contiguous).
#[allow(clippy::too_many_arguments)]
fn batched<T: 'static + Copy + Default + Send + Sync>(batch: usize, m: usize, n: usize, k: usize, dst: *mut T, lhs: *const T, ta: bool, rhs: *const T, tb: bool, one: T) {
    let threads = rayon::current_num_threads();
    let (d, l, r) = (Shared(dst), Shared(lhs as *mut T), Shared(rhs as *mut T));
    let (ls, rs) = (Strides::of(m, k, ta), Strides::of(k, n, tb));
    let one_product = move |bi: usize, threads: usize| {
        let (d, l, r) = (d, l, r);
        // SAFETY: batch `bi` of each operand is in bounds; outputs are disjoint.
        unsafe { gemm_into(m, n, k, d.0.add(bi * m * n), l.0.add(bi * m * k), ls, r.0.add(bi * k * n), rs, one, threads) };
    };
    if batch > 1 && m * n * k < GEMM_PARALLEL_MIN {
        (0..batch).into_par_iter().for_each(|bi| one_product(bi, 1));
    } else {
        (0..batch).for_each(|bi| one_product(bi, threads));
    }
}

/// A matmul operand as a host tensor, transposed back if its buffer holds it transposed.
fn operand(buf: Buf, transposed: bool) -> Result<Tensor, tc_interp::InterpError> {
    let t = read(buf);
    if !transposed {
        return Ok(t);
    }
    let r = t.rank();
    let mut perm: Vec<usize> = (0..r).collect();
    perm.swap(r - 2, r - 1);
    let mut shape = t.shape().to_vec();
    shape.swap(r - 2, r - 1);
    tc_interp::eval_op(&Op::Transpose { perm }, &[&t], &Type::new(t.dtype(), shape))
}

fn matmul(a: Buf, ta: bool, b: Buf, tb: bool, out: Buf) -> Result<(), tc_interp::InterpError> {
    let so = &out.ty.shape;
    let r = so.len();
    let (m, n) = (so[r - 2], so[r - 1]);
    let k = if ta { a.ty.shape[r - 2] } else { a.ty.shape[r - 1] };
    let batch: usize = so[..r - 2].iter().product();
    match out.ty.dtype {
        DType::F32 => batched(batch, m, n, k, out.ptr as *mut f32, a.ptr as *const f32, ta, b.ptr as *const f32, tb, 1.0f32),
        DType::F64 => batched(batch, m, n, k, out.ptr as *mut f64, a.ptr as *const f64, ta, b.ptr as *const f64, tb, 1.0f64),
        dtype if dtype.is_float() => {
            // f16/bf16: exact f64 operands, f64 products and sums, one rounding.
            let x = operand(a, ta)?.data().to_f64_vec();
            let y = operand(b, tb)?.data().to_f64_vec();
            let mut z = vec![0.0f64; batch * m * n];
            batched(batch, m, n, k, z.as_mut_ptr(), x.as_ptr(), false, y.as_ptr(), false, 1.0f64);
            let t = Tensor::new(out.ty.shape.clone(), Data::F64(z)).expect("product shape");
            write(out, &tc_interp::elementwise::cast(&t, dtype));
        }
        _ => {
            let (x, y) = (operand(a, ta)?, operand(b, tb)?);
            write(out, &tc_interp::eval_op(&Op::MatMul, &[&x, &y], out.ty)?);
        }
    }
    Ok(())
}

/// `col[(c, r, s), (i, j)] = xpad[c, i*stride0 + r*dil0, j*stride1 + s*dil1]` for one image.
#[allow(clippy::too_many_arguments)]
fn im2col<T: Copy + Default>(x: &[T], c: usize, h: usize, w: usize, kr: usize, ks: usize, ho: usize, wo: usize, stride: [usize; 2], pad: [(usize, usize); 2], dil: [usize; 2], col: &mut [T]) {
    for ci in 0..c {
        for ri in 0..kr {
            for si in 0..ks {
                let row = ((ci * kr + ri) * ks + si) * ho * wo;
                for i in 0..ho {
                    let hi = (i * stride[0] + ri * dil[0]) as isize - pad[0].0 as isize;
                    for j in 0..wo {
                        let wj = (j * stride[1] + si * dil[1]) as isize - pad[1].0 as isize;
                        col[row + i * wo + j] = if (0..h as isize).contains(&hi) && (0..w as isize).contains(&wj) {
                            x[(ci * h + hi as usize) * w + wj as usize]
                        } else {
                            T::default()
                        };
                    }
                }
            }
        }
    }
}

fn conv2d_float<T: 'static + Copy + Default + Send + Sync>(x: Buf, wt: Buf, out: Buf, stride: [usize; 2], pad: [(usize, usize); 2], dil: [usize; 2], one: T) {
    let [n, c, h, w] = <[usize; 4]>::try_from(x.ty.shape.as_slice()).expect("conv2d input is rank 4");
    let [k, _, kr, ks] = <[usize; 4]>::try_from(wt.ty.shape.as_slice()).expect("conv2d weights are rank 4");
    let (ho, wo) = (out.ty.shape[2], out.ty.shape[3]);
    let rows = c * kr * ks;
    let threads = rayon::current_num_threads();
    // SAFETY: the buffers hold these many elements of `T`.
    let xs = unsafe { std::slice::from_raw_parts(x.ptr as *const T, n * c * h * w) };
    let mut col = vec![T::default(); rows * ho * wo];
    for ni in 0..n {
        im2col(&xs[ni * c * h * w..(ni + 1) * c * h * w], c, h, w, kr, ks, ho, wo, stride, pad, dil, &mut col);
        // SAFETY: image `ni` of the output is `k * ho * wo` elements at this offset.
        unsafe { gemm_into(k, ho * wo, rows, (out.ptr as *mut T).add(ni * k * ho * wo), wt.ptr as *const T, Strides::of(k, rows, false), col.as_ptr(), Strides::of(rows, ho * wo, false), one, threads) };
    }
}

/// Run the library call `op` reading `inputs` (matmul operands possibly `transposed`)
/// and writing all of `out`.
pub fn call(op: &Op, inputs: &[Buf], transposed: &[bool], out: Buf) -> Result<(), tc_interp::InterpError> {
    match (op, out.ty.dtype) {
        (Op::MatMul, _) => matmul(inputs[0], transposed[0], inputs[1], transposed[1], out)?,
        (Op::Conv2d { stride, pad, dilation }, DType::F32) => conv2d_float(inputs[0], inputs[1], out, *stride, *pad, *dilation, 1.0f32),
        (Op::Conv2d { stride, pad, dilation }, DType::F64) => conv2d_float(inputs[0], inputs[1], out, *stride, *pad, *dilation, 1.0f64),
        _ if crate::kernels::try_call(op, inputs, out).is_some() => {}
        _ => {
            let tensors: Vec<Tensor> = inputs.iter().map(|&b| read(b)).collect();
            let refs: Vec<&Tensor> = tensors.iter().collect();
            let result = tc_interp::eval_op(op, &refs, out.ty)?;
            write(out, &result);
        }
    }
    Ok(())
}
