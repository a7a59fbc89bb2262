//! Memory planning: places every intermediate (`Temp`) buffer in one arena.
//!
//! A temp is live from the first kernel that writes it to the last kernel that reads
//! it. Temps are placed largest first, each at the lowest 64-byte-aligned offset that
//! does not overlap a placed temp whose live range intersects its own, so buffers whose
//! lifetimes do not overlap share memory. The arena's size is the highest end offset.
//! Outputs have their own allocations (they are handed to the caller); parameters and
//! constants are not the program's to place.

use crate::program::{BufferKind, KernelProgram};

/// Alignment of every temp's offset, in bytes (a cache line).
pub const ALIGN: usize = 64;

fn align_up(x: usize) -> usize {
    x.div_ceil(ALIGN) * ALIGN
}

/// Assign arena offsets to the temps and set `arena_bytes`.
pub fn plan(mut program: KernelProgram) -> KernelProgram {
    let n = program.buffers.len();
    // Live range [first, last] over kernel indices.
    let mut first = vec![usize::MAX; n];
    let mut last = vec![0usize; n];
    for (k, kernel) in program.kernels.iter().enumerate() {
        for b in kernel.writes().into_iter().chain(kernel.reads()) {
            first[b.index()] = first[b.index()].min(k);
            last[b.index()] = last[b.index()].max(k);
        }
    }
    let mut temps: Vec<usize> = (0..n).filter(|&b| matches!(program.buffers[b].kind, BufferKind::Temp { .. })).collect();
    temps.sort_by_key(|&b| (std::cmp::Reverse(program.buffers[b].ty.size_bytes()), b));
    let mut placed: Vec<(usize, usize, usize)> = Vec::new(); // (buffer, offset, end)
    let mut arena = 0;
    for b in temps {
        let size = program.buffers[b].ty.size_bytes();
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
        program.buffers[b].kind = BufferKind::Temp { offset };
    }
    program.arena_bytes = align_up(arena);
    program
}
