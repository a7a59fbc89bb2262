//! Coalescing: simplifies each loop kernel's domain without changing what it computes.
//!
//! Axes of size 1 are dropped, and two adjacent axes of the same region (both outer or
//! both inner) merge into one when every view (loads, stores, index values) walks them
//! as one: `stride[d] == stride[d + 1] * size[d + 1]`. A contiguous elementwise kernel
//! becomes a single flat loop, which is what code generators vectorise and split over
//! threads.

use crate::program::{Action, ExprOp, Kernel, KernelProgram, LoopKernel, View};

/// Every view of a loop kernel, mutably.
fn views_mut(k: &mut LoopKernel) -> Vec<&mut View> {
    let mut out = Vec::new();
    for stage in &mut k.stages {
        for e in &mut stage.exprs {
            match &mut e.op {
                ExprOp::Load { view, .. } | ExprOp::Index { view } => out.push(view),
                _ => {}
            }
        }
        match &mut stage.action {
            Action::Store(stores) => out.extend(stores.iter_mut().map(|s| &mut s.view)),
            Action::Reduce { store, .. } => out.extend(store.iter_mut().map(|(_, v)| v)),
        }
    }
    out
}

fn coalesce_loop(k: &mut LoopKernel) {
    // Drop unit axes: their index is always 0.
    let mut d = 0;
    while d < k.domain.len() {
        if k.domain[d] == 1 {
            k.domain.remove(d);
            for v in views_mut(k) {
                v.strides.remove(d);
            }
            if d < k.outer {
                k.outer -= 1;
            }
        } else {
            d += 1;
        }
    }
    // Merge adjacent axes of one region.
    let mut d = 0;
    while d + 1 < k.domain.len() {
        let same_region = (d + 1 < k.outer) || (d >= k.outer);
        let inner_size = k.domain[d + 1] as isize;
        if same_region && views_mut(k).iter().all(|v| v.strides[d] == v.strides[d + 1] * inner_size) {
            k.domain[d] *= k.domain[d + 1];
            k.domain.remove(d + 1);
            for v in views_mut(k) {
                v.strides.remove(d);
            }
            if d + 1 < k.outer {
                k.outer -= 1;
            }
        } else {
            d += 1;
        }
    }
}

/// Coalesce the domain of every loop kernel.
pub fn coalesce(mut program: KernelProgram) -> KernelProgram {
    for kernel in &mut program.kernels {
        if let Kernel::Loop(k) = kernel {
            coalesce_loop(k);
        }
    }
    program
}
