//! Memory planning: places every intermediate (`Temp`) buffer in one arena.
//!
//! First, in-place updates: a temp whose last reader is a loop kernel that reads it
//! always at the same points, and that is written either by an earlier kernel (and read
//! by no other) or by an earlier stage of that kernel, shares the memory of a buffer of
//! the same type that the reading kernel stores at those same points, in a stage no
//! earlier than the temp's last read. A softmax's exponentials are written into the
//! output, then divided in place; a matmul's product is biased and activated in place.
//!
//! Donations (`tc_ir::Graph::donations`) work the same way across the program's
//! boundary: an output is written into the storage of the parameter donated to it when
//! one kernel writes it, every read of the parameter is in an earlier kernel or in that
//! one at the points it stores (in a stage no later than its store), the parameter is
//! not itself an output, and no temp shares the output's memory. The caller that hands
//! its input over gets the output in that storage; one that keeps its inputs gets a
//! fresh output as usual. Donations are decided before in-place updates, and no temp
//! shares a donated output's memory (it would overwrite the parameter before its last
//! read): a matmul whose product is updated into a donated parameter (`w - lr * g`)
//! keeps its product in the arena and writes the parameter's storage in its epilogue.
//!
//! A temp is live from the first kernel that writes it to the last kernel that reads
//! it. Temps are placed largest first, each at the lowest 64-byte-aligned offset that
//! does not overlap a placed temp whose live range intersects its own, so buffers whose
//! lifetimes do not overlap share memory. The arena's size is the highest end offset.
//! Outputs have their own allocations (they are handed to the caller); parameters and
//! constants are not the program's to place.

use tc_ir::Donation;

use crate::program::{Action, Buffer, BufferId, BufferKind, ExprOp, Kernel, KernelProgram, View};

/// Alignment of every temp's offset, in bytes (a cache line).
pub const ALIGN: usize = 64;

/// Assign arena offsets to the temps, set `arena_bytes`, and decide which `donations`
/// write their output into the parameter's storage (`donated`).
pub fn plan(mut program: KernelProgram, donations: &[Donation]) -> KernelProgram {
    let (first, last) = kernel_ranges(&program);
    // Donations first: an output written over a donated input saves a fresh allocation
    // at every call, while a temp shared with it would only save arena bytes.
    donate(&mut program, donations, &last);
    share_in_place(&mut program, &first, &last);
    let (offsets, arena) = place_temps(&program, |b| b.ty.size_bytes(), ALIGN);
    for (b, offset) in offsets.into_iter().enumerate() {
        if let Some(offset) = offset {
            program.buffers[b].kind = BufferKind::Temp { offset };
        }
    }
    program.arena_bytes = arena;
    program
}

/// Per buffer, the first and last kernel that accesses it (`usize::MAX..0` if none).
fn kernel_ranges(program: &KernelProgram) -> (Vec<usize>, Vec<usize>) {
    let n = program.buffers.len();
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    for (k, kernel) in program.kernels.iter().enumerate() {
        for b in kernel.writes().into_iter().chain(kernel.reads()) {
            first[b.index()] = first[b.index()].min(k);
            last[b.index()] = last[b.index()].max(k);
        }
    }
    (first, last)
}

/// Place every `Temp` buffer of a program whose in-place sharing is decided, with
/// `size_of` bytes each at offsets aligned to `align`: the placement of [`plan`], for
/// backends whose element sizes or alignment differ from the host's (a GPU widens
/// `u8` and aligns bindings to 256 bytes). Returns each buffer's offset (`None` for
/// buffers that are not temps) and the arena's size.
pub fn place_temps(program: &KernelProgram, size_of: impl Fn(&Buffer) -> usize, align: usize) -> (Vec<Option<usize>>, usize) {
    let n = program.buffers.len();
    let (mut first, mut last) = kernel_ranges(program);
    // A shared buffer's memory is live for both buffers' ranges.
    for t in 0..n {
        if let BufferKind::Shares(o) = program.buffers[t].kind {
            first[o.index()] = first[o.index()].min(first[t]);
            last[o.index()] = last[o.index()].max(last[t]);
        }
    }
    let align_up = |x: usize| x.div_ceil(align) * align;
    let mut temps: Vec<usize> = (0..n).filter(|&b| matches!(program.buffers[b].kind, BufferKind::Temp { .. })).collect();
    temps.sort_by_key(|&b| (std::cmp::Reverse(size_of(&program.buffers[b])), b));
    let mut offsets = vec![None; n];
    let mut placed: Vec<(usize, usize, usize)> = Vec::new(); // (buffer, offset, end)
    let mut arena = 0;
    for b in temps {
        let size = size_of(&program.buffers[b]);
        let overlaps_in_time = |o: usize| first[o] <= last[b] && first[b] <= last[o];
        let mut busy: Vec<(usize, usize)> = placed.iter().filter(|&&(o, _, _)| overlaps_in_time(o)).map(|&(_, s, e)| (s, e)).collect();
        busy.sort();
        let mut offset = 0;
        for (s, e) in busy {
            if offset + size <= s {
                break;
            }
            offset = offset.max(align_up(e));
        }
        placed.push((b, offset, offset + size));
        arena = arena.max(offset + size);
        offsets[b] = Some(offset);
    }
    (offsets, align_up(arena))
}

/// Every access of `b` in a loop kernel: (stage index, view, is it a store).
fn accesses(k: &crate::program::LoopKernel, b: BufferId) -> Vec<(usize, View, bool)> {
    let mut out = Vec::new();
    for (si, stage) in k.stages.iter().enumerate() {
        for e in &stage.exprs {
            if let ExprOp::Load { buffer, view } = &e.op {
                if *buffer == b {
                    out.push((si, view.clone(), false));
                }
            }
        }
        match &stage.action {
            Action::Store(stores) => out.extend(stores.iter().filter(|s| s.buffer == b).map(|s| (si, s.view.clone(), true))),
            // A reduction's store is per outer point, never an in-place candidate.
            Action::Reduce { store: Some((buffer, view)), .. } if *buffer == b => out.push((si, view.clone(), false)),
            Action::Reduce { .. } => {}
        }
    }
    out
}

/// Turn temps into [`BufferKind::Shares`] where an in-place update is safe (module docs).
fn share_in_place(program: &mut KernelProgram, first: &[usize], last: &[usize]) {
    let mut taken = vec![false; program.buffers.len()];
    for t in 0..program.buffers.len() {
        // No chains: a buffer is shared at most once, either way.
        if taken[t] || !matches!(program.buffers[t].kind, BufferKind::Temp { .. }) {
            continue;
        }
        // The kernel that reads the temp last; every other access must be its write.
        let Kernel::Loop(k) = &program.kernels[last[t]] else { continue };
        let tid = BufferId(t as u32);
        let acc = accesses(k, tid);
        let Some(view) = acc.first().map(|a| a.1.clone()) else { continue };
        let writes: Vec<usize> = acc.iter().filter(|a| a.2).map(|a| a.0).collect();
        let written = match (first[t] == last[t], writes.as_slice()) {
            (true, [w]) => Some(*w),
            // Written by an earlier kernel (its only writer), read only here.
            (false, []) if (first[t] + 1..last[t]).all(|j| !program.kernels[j].reads().contains(&tid)) => None,
            _ => continue,
        };
        if acc.iter().any(|a| a.1 != view) {
            continue;
        }
        let last_read = acc.iter().filter(|a| !a.2).map(|a| a.0).max().unwrap_or(0);
        let ty = program.buffers[t].ty.clone();
        let target = (0..program.buffers.len()).find(|&o| {
            let oid = BufferId(o as u32);
            o != t
                && !taken[o]
                && !program.donated.iter().any(|&(d, _)| d == oid)
                && program.buffers[o].ty == ty
                && matches!(program.buffers[o].kind, BufferKind::Temp { .. } | BufferKind::Output)
                && {
                    let oacc = accesses(k, oid);
                    !oacc.is_empty() && oacc.iter().all(|(si, v, store)| *store && written.is_none_or(|w| *si > w) && *si >= last_read && *v == view)
                }
        });
        if let Some(o) = target {
            taken[o] = true;
            taken[t] = true;
            program.buffers[t].kind = BufferKind::Shares(BufferId(o as u32));
        }
    }
}

/// Record in `donated` the donations whose output can go into the parameter's storage
/// (module docs).
fn donate(program: &mut KernelProgram, donations: &[Donation], last: &[usize]) {
    for d in donations {
        let (Some(&o), Some(&b)) = (program.outputs.get(d.output), program.params.get(d.param)) else { continue };
        let taken = program.donated.iter().any(|&(x, _)| x == o);
        if program.buffer(o).kind != BufferKind::Output || taken || program.outputs.contains(&b) {
            continue;
        }
        let writers: Vec<usize> = (0..program.kernels.len()).filter(|&k| program.kernels[k].writes().contains(&o)).collect();
        let [w] = writers[..] else { continue };
        let read_by_writer = program.kernels[w].reads().contains(&b);
        if last[b.index()] > w || (read_by_writer && !reads_where_it_stores(&program.kernels[w], b, o)) {
            continue;
        }
        program.donated.push((o, d.param));
    }
}

/// Whether loop kernel `k` reads `b` only at the points where it stores `o`, and no
/// later than the stage of its first store of `o`.
fn reads_where_it_stores(k: &Kernel, b: BufferId, o: BufferId) -> bool {
    let Kernel::Loop(k) = k else { return false };
    let stores: Vec<(usize, View)> = accesses(k, o).into_iter().filter(|a| a.2).map(|a| (a.0, a.1)).collect();
    let Some((stage, view)) = stores.iter().min_by_key(|s| s.0).cloned() else { return false };
    stores.iter().all(|s| s.1 == view) && accesses(k, b).iter().all(|(si, v, _)| *si <= stage && *v == view)
}
