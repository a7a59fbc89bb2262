//! Running a compiled program: memory for every buffer, then the kernels in order.
//!
//! Parameters are read in place from the caller's tensors and constants from the
//! program; temps live in one arena of `arena_bytes` (kept by the program between
//! runs, so its pages are not faulted in again); each output is allocated as the
//! `Vec` of the tensor handed back (uninitialised until its kernel writes it, in huge
//! pages when large), so results are never copied. When the caller hands its inputs
//! over ([`Inputs::Owned`]), an output that planning placed in a donated parameter
//! (`KernelProgram::donated`) takes that input's `Vec` instead; when it lends them
//! ([`Inputs::Lent`], a host's writable buffers), such an output is written into the
//! lent buffer and returned as [`Returned::InLent`]. A loop kernel whose
//! first axis may be split runs on the rayon pool in chunks of that axis when it is
//! big enough to pay for the fork.

use crate::jit::KernelFn;
use crate::library::{self, Buf};
use rayon::prelude::*;
use tc_kernel::target::Returned;
use tc_kernel::{Buffer, BufferKind, Kernel, KernelProgram, LoopKernel};
use tc_tensor::{Arg, DType, Data, Tensor, TensorRef};

/// Loops with fewer domain points than this run on the calling thread.
const PARALLEL_MIN_POINTS: usize = 1 << 15;

/// How a loop kernel may be split over threads: the extent of axis 0, if splittable.
pub fn split_extent(k: &LoopKernel) -> Option<usize> {
    let single_store = k.stages.len() == 1 && matches!(k.stages[0].action, tc_kernel::Action::Store(_));
    if k.domain.is_empty() || (k.outer == 0 && !single_store) {
        None
    } else {
        Some(k.domain[0])
    }
}

/// Outputs at least this large are advised into transparent huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// Empty storage of `dtype` with room for `n` elements. Large buffers are advised to
/// use huge pages: fresh memory is faulted in as the kernels first write it, and 2 MiB
/// pages make that several times cheaper than 4 KiB ones.
fn with_capacity(dtype: DType, n: usize) -> Data {
    let data = match dtype {
        DType::F64 => Data::F64(Vec::with_capacity(n)),
        DType::F32 => Data::F32(Vec::with_capacity(n)),
        DType::F16 => Data::F16(Vec::with_capacity(n)),
        DType::BF16 => Data::BF16(Vec::with_capacity(n)),
        DType::I64 => Data::I64(Vec::with_capacity(n)),
        DType::I32 => Data::I32(Vec::with_capacity(n)),
        DType::U8 => Data::U8(Vec::with_capacity(n)),
        DType::Bool => Data::Bool(Vec::with_capacity(n)),
    };
    let bytes = n * dtype.size_bytes();
    if bytes >= HUGE_PAGE_MIN_BYTES {
        let start = data.base_ptr() as usize;
        let huge = 1usize << 21;
        let (lo, hi) = (start.next_multiple_of(huge), (start + bytes) & !(huge - 1));
        if hi > lo {
            // SAFETY: [lo, hi) lies inside the allocation; the advice is only a hint.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        }
    }
    data
}

/// Mark all `n` elements of storage from [`with_capacity`] as initialised.
///
/// # Safety
/// Every element has been written.
unsafe fn set_len(data: &mut Data, n: usize) {
    match data {
        Data::F64(v) => unsafe { v.set_len(n) },
        Data::F32(v) => unsafe { v.set_len(n) },
        Data::F16(v) => unsafe { v.set_len(n) },
        Data::BF16(v) => unsafe { v.set_len(n) },
        Data::I64(v) => unsafe { v.set_len(n) },
        Data::I32(v) => unsafe { v.set_len(n) },
        Data::U8(v) => unsafe { v.set_len(n) },
        Data::Bool(v) => unsafe { v.set_len(n) },
    }
}

/// Buffer base addresses, shared with worker threads.
struct Ptrs(Vec<*mut u8>);
// SAFETY: kernels split over threads write disjoint elements (distinct chunks of axis
// 0) and only read what earlier kernels finished writing.
unsafe impl Sync for Ptrs {}
unsafe impl Send for Ptrs {}

/// A 64-byte-aligned arena.
pub struct Arena {
    words: Vec<u64>,
}

impl Arena {
    pub fn new(bytes: usize) -> Arena {
        Arena { words: vec![0u64; bytes.div_ceil(8) + 8] }
    }

    fn base(&mut self) -> *mut u8 {
        let p = self.words.as_mut_ptr() as *mut u8;
        // SAFETY: 64 spare bytes were allocated for the alignment.
        unsafe { p.add(p.align_offset(64)) }
    }
}

fn call_loop(f: KernelFn, args: &[*mut u8], lo: usize, hi: usize) {
    // SAFETY: `f` was compiled for exactly these buffers, whose memory is live and
    // sized by their types; `[lo, hi)` is within axis 0.
    unsafe { f(args.as_ptr(), lo as i64, hi as i64) };
}

fn run_loop(f: KernelFn, args: Vec<*mut u8>, k: &LoopKernel) {
    let points: usize = k.domain.iter().product::<usize>() * k.stages.len().max(1);
    let threads = rayon::current_num_threads();
    match split_extent(k) {
        Some(d0) if points >= PARALLEL_MIN_POINTS && threads > 1 && d0 > 1 => {
            let chunks = (threads * 4).min(d0);
            let args = Ptrs(args);
            (0..chunks).into_par_iter().for_each(|c| {
                let args = &args;
                call_loop(f, &args.0, d0 * c / chunks, d0 * (c + 1) / chunks);
            });
        }
        _ => call_loop(f, &args, 0, k.domain.first().copied().unwrap_or(1)),
    }
}

/// The caller's inputs, one per parameter.
pub enum Inputs<'a> {
    /// Read only, in place (a caller's tensors, or buffers it borrows to the call).
    Borrowed(&'a [TensorRef<'a>]),
    /// Handed over: donated outputs are written into their storage.
    Owned(Vec<Tensor>),
    /// Read in place; donated outputs are written into the lent ones ([`Arg::Lent`]).
    Lent(&'a [Arg<'a>]),
}

/// Where an output is written: memory of its own, or a lent parameter's buffer.
enum Store {
    Own(Data),
    Lent { param: usize, ptr: *mut u8 },
}

impl Store {
    fn base_ptr(&self) -> *mut u8 {
        match self {
            Store::Own(data) => data.base_ptr(),
            Store::Lent { ptr, .. } => *ptr,
        }
    }
}

/// Run every kernel; returns the outputs.
///
/// `sort_prefixes` is [`crate::sort::sort_prefixes`] of the program.
pub fn execute(program: &KernelProgram, fns: &[Option<(KernelFn, Vec<tc_kernel::BufferId>)>], sort_prefixes: &[usize], inputs: Inputs<'_>, arena: &mut Arena) -> Result<Vec<Returned>, tc_interp::InterpError> {
    let base = arena.base();
    let (borrowed, mut owned, lent): (&[TensorRef<'_>], Vec<Option<Tensor>>, &[Arg<'_>]) = match inputs {
        Inputs::Borrowed(t) => (t, Vec::new(), &[]),
        Inputs::Owned(v) => (&[], v.into_iter().map(Some).collect(), &[]),
        Inputs::Lent(a) => (&[], Vec::new(), a),
    };
    // Per parameter, the output buffer that took its storage.
    let mut taken_by: Vec<Option<usize>> = vec![None; program.params.len()];
    let mut outputs: Vec<Option<Store>> = Vec::with_capacity(program.buffers.len());
    for (i, b) in program.buffers.iter().enumerate() {
        if b.kind != BufferKind::Output {
            outputs.push(None);
            continue;
        }
        let donor = program.donated.iter().find(|d| d.0.index() == i).map(|&(_, p)| p).filter(|&p| taken_by[p].is_none());
        let store = match donor {
            Some(p) => match (owned.get_mut(p).and_then(Option::take), lent.get(p)) {
                (Some(input), _) => Some(Store::Own(input.into_data())),
                (None, Some(Arg::Lent(t))) => Some(Store::Lent { param: p, ptr: t.base_ptr() }),
                _ => None,
            },
            None => None,
        };
        if let Some(p) = donor.filter(|_| store.is_some()) {
            taken_by[p] = Some(i);
        }
        outputs.push(Some(store.unwrap_or_else(|| Store::Own(with_capacity(b.ty.dtype, b.ty.num_elements())))));
    }
    let param_ptr = |p: usize| match (taken_by[p], owned.get(p), lent.get(p)) {
        (Some(o), _, _) => outputs[o].as_ref().expect("a donated output has the input's storage").base_ptr(),
        (None, Some(Some(t)), _) => t.data().base_ptr(),
        (None, _, Some(Arg::Lent(t))) => t.base_ptr(),
        // Compiled code never writes a parameter it was not handed or lent.
        (None, _, Some(Arg::Read(t))) => t.data().base_ptr().cast_mut(),
        _ => borrowed[p].data().base_ptr().cast_mut(),
    };
    let ptrs: Vec<*mut u8> = program
        .buffers
        .iter()
        .zip(&outputs)
        .map(|(b, out): (&Buffer, &Option<Store>)| match &b.kind {
            BufferKind::Param(p) => param_ptr(*p),
            BufferKind::Const(t) => t.data().base_ptr(),
            // SAFETY: planning keeps every temp within `arena_bytes`.
            BufferKind::Temp { offset } => unsafe { base.add(*offset) },
            BufferKind::Output => out.as_ref().expect("outputs are allocated").base_ptr(),
            BufferKind::Shares(_) => std::ptr::null_mut(),
        })
        .collect();
    let ptrs: Vec<*mut u8> = program
        .buffers
        .iter()
        .zip(&ptrs)
        .map(|(b, &p)| match b.kind {
            BufferKind::Shares(o) => ptrs[o.index()],
            _ => p,
        })
        .collect();
    for ((kernel, f), &prefix) in program.kernels.iter().zip(fns).zip(sort_prefixes) {
        match (kernel, f) {
            (Kernel::Loop(k), Some((f, bufs))) => run_loop(*f, bufs.iter().map(|b| ptrs[b.index()]).collect(), k),
            (Kernel::Call(c), _) => {
                let ins: Vec<Buf> = c.inputs.iter().map(|b| Buf { ptr: ptrs[b.index()], ty: &program.buffer(*b).ty }).collect();
                let out = Buf { ptr: ptrs[c.output.index()], ty: &program.buffer(c.output).ty };
                if !crate::sort::call(&c.op, &ins, out, prefix)? {
                    library::call(&c.op, &ins, &c.transposed, out)?;
                }
            }
            (Kernel::Loop(_), None) => return Err(tc_interp::InterpError::Internal("a loop kernel was not compiled".into())),
        }
    }
    for (store, b) in outputs.iter_mut().zip(&program.buffers) {
        if let Some(Store::Own(data)) = store {
            // SAFETY: every kernel writes all of its output buffer (a donated input's
            // storage is already initialised), and all have run.
            unsafe { set_len(data, b.ty.num_elements()) };
        }
    }
    Ok(program
        .outputs
        .iter()
        .map(|&b| {
            let buf = program.buffer(b);
            match outputs[b.index()].take() {
                Some(Store::Own(data)) => Returned::Tensor(Tensor::new(buf.ty.shape.clone(), data).expect("output sized by its type")),
                Some(Store::Lent { param, .. }) => Returned::InLent(param),
                // A parameter, a constant, or an output listed twice: copy it.
                None => Returned::Tensor(library::read(Buf { ptr: ptrs[b.index()], ty: &buf.ty })),
            }
        })
        .collect())
}
